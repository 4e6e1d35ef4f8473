// One child process seen from the parent: it starts the child, hands it one
// job at a time once the child says it is ready, and turns the child's
// `message` and `close` events into the job's result. No polling: every state
// change is a Node event.
import { EventEmitter } from 'node:events';
import type { ForkOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ChildStartError, describeExit, ResultTooLargeError, TaskCrashedError, TaskError, TaskLoadError } from './errors.js';
import type { GroupGuard } from './group-guard.js';
import type { Launcher } from './parent-death.js';
import type { Job } from './job.js';
import { isChildMessage, type ChildMessage, type ParentMessage, type RunMessage } from './protocol.js';
import type { RecycleReason } from './recycling.js';

/** The part of a ChildProcess a worker uses; lets unit tests hand in a fake. */
export interface ChildLike extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdout?: Readable | null;
  readonly stderr?: Readable | null;
  send(message: ParentMessage, callback?: (error: Error | null) => void): boolean;
  kill(signal?: NodeJS.Signals | number): boolean;
}

export type ForkFn = (modulePath: string, args: readonly string[], options: ForkOptions) => ChildLike;

export interface ChildWorkerDeps {
  fork: ForkFn;
  /** Where children's output is copied; default this process's stdout and stderr. */
  output?: { stdout: Writable; stderr: Writable } | undefined;
  setPriority: (pid: number, priority: number) => void;
  /** Starts node so that the child dies with its parent; undefined: plain node. */
  launcher: Launcher | undefined;
  /** Signals a child's whole process group (what its task started too); false if the group is gone. */
  killGroup: (pgid: number, signal: NodeJS.Signals) => boolean;
  /** Kills the groups still alive if this process dies; undefined: none. */
  groupGuard: GroupGuard | undefined;
}

export interface ChildWorkerSpec {
  entry: string;
  tasksUrl: string;
  /** The child exits by itself after this many answers (Infinity: never): the pool's tasksPerChild with this child's jitter. */
  tasksPerChild: number;
  execArgv: readonly string[];
  niceness: number;
  /** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
  killGraceMs: number;
  /** How long it may take to say ready. */
  startTimeoutMs: number;
  /** The child's whole environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** A result larger than this (serialized) is refused in the child with ResultTooLargeError. */
  maxResultBytes: number;
}

export interface WorkerExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The child said it was ready before it died. */
  wasReady: boolean;
  /** We asked it to go (kill, close), so its death is no failure. */
  wasKilled: boolean;
  /** It died while running a job (that job has been failed as crashed). */
  hadJob: boolean;
  loadError: TaskLoadError | undefined;
  /** No child process could be started at all (EMFILE, EAGAIN): the machine is out of something. */
  startError: ChildStartError | undefined;
  /** A job it was handed but never began (it died while starting, or said so as it left): not failed, for the pool to run elsewhere. */
  unstarted: Job | undefined;
  /** That job had reached the child (which said it never began it), so it may go elsewhere only once. */
  unstartedWasSent: boolean;
}

export interface ChildWorkerEvents {
  /** Loaded its tasks module; can take a job. */
  ready: [];
  /** Answered its job (or could not be sent it); takes another unless it has served its tasksPerChild. */
  done: [];
  exit: [WorkerExit];
}

/** How long a dead child's last output may take to arrive. */
const OUTPUT_GRACE_MS = 500;

/** Output a child writes while ours is this far behind is dropped: a stalled reader must not cost memory here. */
const MAX_OUTPUT_BACKLOG = 1024 * 1024;

/** Outputs whose reader has gone (EPIPE): copying to them stops, and their error is not left uncaught. */
const brokenOutputs = new WeakSet<Writable>();
const watchedOutputs = new WeakSet<Writable>();

// Copies with plain 'data' listeners: piping every child into process.stderr
// would add listeners there per child (MaxListenersExceededWarning). A reader
// that exits (a log shipper restarting, `| head`) must not take the server
// with it: one 'error' listener per output marks it broken.
function copyOutput(from: Readable | null | undefined, to: Writable): void {
  if (from == null) return;
  if (!watchedOutputs.has(to)) {
    watchedOutputs.add(to);
    to.on('error', () => brokenOutputs.add(to));
  }
  from.on('data', (chunk: Buffer) => {
    if (!brokenOutputs.has(to) && !to.destroyed && to.writableLength < MAX_OUTPUT_BACKLOG) to.write(chunk);
  });
}

// fork() reports EMFILE, EAGAIN and a few others as an 'error' event but
// throws others (ENOMEM): both become an 'error' on a child that never started.
function forkOrFailLater(fork: ForkFn, modulePath: string, args: readonly string[], options: ForkOptions): ChildLike {
  try {
    return fork(modulePath, args, options);
  } catch (error) {
    const never = Object.assign(new EventEmitter(), { pid: undefined, send: () => false, kill: () => false }) as ChildLike;
    process.nextTick(() => never.emit('error', error));
    return never;
  }
}

/** Errors of fork() that mean the machine is out of processes, files or memory: overload, not a broken module. */
const OUT_OF_RESOURCES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

export class ChildWorker extends EventEmitter<ChildWorkerEvents> {
  /** When fork() was called (performance.now()). */
  readonly startedAt = performance.now();
  /** When it last became free for a task: ready, or done with one. */
  idleSince = this.startedAt;
  /** Its RSS in MiB when last read. */
  rssMb: number | undefined;
  /** Replaced once older than this (ms); the pool sets it with jitter. */
  ageLimitMs = Infinity;
  readonly #child: ChildLike;
  readonly #spec: ChildWorkerSpec;
  readonly #deps: ChildWorkerDeps;
  #state: 'starting' | 'ready' | 'exited' = 'starting';
  #job: Job | undefined;
  #loadError: TaskLoadError | undefined;
  #killed = false;
  #killTimer: NodeJS.Timeout | undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #served = 0;
  /** Why it leaves, when it leaves gracefully (told to stop, or its task limit reached). */
  #leaveReason: RecycleReason | 'close' | undefined;
  /** The current job's message has gone to the child (so it may have begun). */
  #jobSent = false;
  /** The runs the child had begun when it announced it was leaving; undefined until then. */
  #leavingWith: readonly number[] | undefined;
  #startError: ChildStartError | undefined;

  constructor(spec: ChildWorkerSpec, deps: ChildWorkerDeps) {
    super();
    this.#spec = spec;
    const { launcher } = deps;
    this.#deps = deps;
    this.#child = forkOrFailLater(deps.fork, spec.entry, [spec.tasksUrl, String(spec.tasksPerChild), String(spec.maxResultBytes)], {
      serialization: 'advanced',
      env: spec.env,
      ...(launcher === undefined ? { execArgv: [...spec.execArgv] } : { execPath: launcher.execPath, execArgv: [...launcher.args, ...spec.execArgv] }),
      // A session of its own: a terminal's Ctrl-C (SIGINT to the foreground
      // group) reaches the server, which drains, not the child, which ends
      // when the server ends it. See child-priority.ts for what that asks of
      // its niceness.
      detached: true,
      // Its output comes through pipes of its own, copied to ours. Sharing our
      // stdout and stderr would let each fork switch them to blocking mode
      // (libuv does that to a child's stdio), and then a log reader that
      // stalls would block the server's loop on a write.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    copyOutput(this.#child.stdout, deps.output?.stdout ?? process.stdout);
    copyOutput(this.#child.stderr, deps.output?.stderr ?? process.stderr);
    if (this.#child.pid !== undefined) deps.groupGuard?.add(this.#child.pid);
    if (spec.niceness !== 0 && this.#child.pid !== undefined) {
      try {
        deps.setPriority(this.#child.pid, spec.niceness);
      } catch {
        // Lowering priority is best effort (the child may already be gone).
      }
    }
    if (spec.startTimeoutMs !== Infinity) {
      this.#startTimer = setTimeout(() => {
        this.#loadError ??= new TaskLoadError(spec.tasksUrl, `child process ${this.pid} was not ready ${spec.startTimeoutMs} ms after it started (does the module await something that never settles?)`);
        this.#signal('SIGKILL');
      }, spec.startTimeoutMs);
      this.#startTimer.unref();
    }
    this.#child.on('message', (message: unknown) => this.#onMessage(message));
    this.#child.on('error', (error: Error) => this.#onError(error));
    // Its death is handled once it has exited and its IPC channel has closed,
    // so every message it sent has arrived first. Not 'close': that also waits
    // for its stdout and stderr, which a grandchild could hold open.
    let exited: [number | null, NodeJS.Signals | null] | undefined;
    let disconnected = false;
    this.#child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      exited = [code, signal];
      if (disconnected) this.#onClose(code, signal);
    });
    this.#child.on('disconnect', () => {
      disconnected = true;
      if (exited !== undefined) this.#onClose(...exited);
    });
    this.#child.on('close', (code: number | null, signal: NodeJS.Signals | null) => this.#onClose(code, signal));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Answers given. */
  get served(): number {
    return this.#served;
  }

  get leaveReason(): RecycleReason | 'close' | undefined {
    return this.#leaveReason;
  }

  /** Killed, retired or leaving by itself: it will take no job again. */
  get leaving(): boolean {
    return this.#killed || this.#leavingWith !== undefined;
  }

  /** Has a job, or was killed, retired or is leaving: either way it cannot take another. */
  get busy(): boolean {
    return this.#job !== undefined || this.#killed || this.#leavingWith !== undefined || this.#state === 'exited';
  }

  /** Hands the child a job; a starting child gets it as soon as it is ready. */
  run(job: Job): void {
    if (this.busy) throw new Error(`child ${this.pid} is busy`);
    this.#job = job;
    this.#jobSent = false;
    if (this.#state === 'ready') this.#send(job);
  }

  /** Takes back a job not yet sent (the child is still starting); false if the child has it already. */
  unassign(job: Job): boolean {
    if (this.#job !== job || this.#jobSent) return false;
    this.#job = undefined;
    return true;
  }

  /**
   * SIGTERM now, SIGKILL if the child is still there after the grace period.
   * Its job, if any, is abandoned: whoever kills a busy child settles that job.
   */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.#state === 'exited') return;
    this.#job = undefined;
    this.#killed = true;
    this.#signal(signal);
    if (signal !== 'SIGKILL') this.#armKillTimer();
  }

  /** A child that must not become ready (its setup() went past the memory cap): SIGKILL, and it counts as a load failure. */
  failStart(reason: string): void {
    if (this.#state !== 'starting') return;
    this.#loadError ??= new TaskLoadError(this.#spec.tasksUrl, reason);
    this.#signal('SIGKILL');
  }

  /** The child is expected to exit by itself now (it served its tasksPerChild); make sure it does. */
  retire(): void {
    if (this.#state === 'exited') return;
    this.#killed = true;
    this.#leaveReason ??= 'tasks';
    this.#armKillTimer();
  }

  /**
   * A graceful end for an idle child: it runs its tasks module's teardown()
   * and exits; SIGKILL if it is still there after the kill grace. A child
   * still starting cannot hear it yet and gets SIGTERM.
   */
  stop(reason: RecycleReason | 'close'): void {
    if (this.#state === 'exited' || this.#killed) return;
    if (this.#job !== undefined) throw new Error(`child ${this.pid} is running a task`);
    this.#leaveReason = reason;
    if (this.#state !== 'ready') {
      this.kill();
      return;
    }
    this.#killed = true;
    try {
      this.#child.send({ type: 'stop' }, () => {});
    } catch {
      // The channel is gone: the child is on its way out already.
    }
    this.#armKillTimer();
  }

  #armKillTimer(): void {
    if (this.#killTimer !== undefined) return;
    this.#killTimer = setTimeout(() => this.#signal('SIGKILL'), this.#spec.killGraceMs);
    this.#killTimer.unref();
  }

  // The child and everything its task started (its process group: the child
  // leads one of its own, see the fork options) get the same signal.
  #signal(signal: NodeJS.Signals): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone: its 'close' event is on the way.
    }
    if (this.#child.pid !== undefined) this.#deps.killGroup(this.#child.pid, signal);
  }

  #send(job: Job): void {
    // Its deadline passed while it waited (a blocked loop, a late pump): it
    // expires here, before it costs a child a kill, and the child is free again.
    if (job.expireIfLate()) {
      if (this.#job === job) this.#job = undefined;
      return;
    }
    const message: RunMessage = { type: 'run', id: job.id, task: job.task, args: job.args };
    try {
      // The callback catches a channel closed under us (EPIPE, ERR_IPC_CHANNEL_CLOSED);
      // the child's death then fails the job as a crash.
      this.#child.send(message, () => {});
      this.#jobSent = true;
      job.start();
    } catch (error) {
      // Arguments the serializer cannot copy (a function, a socket) fail this job, not the child.
      this.#job = undefined;
      job.fail(error, 'failed');
      this.emit('done');
    }
  }

  #onMessage(raw: unknown): void {
    if (!isChildMessage(raw)) return;
    const message: ChildMessage = raw;
    switch (message.type) {
      case 'ready':
        // Said once, by child-entry; a second one must not send the run again.
        if (this.#state !== 'starting') return;
        clearTimeout(this.#startTimer);
        this.#state = 'ready';
        this.idleSince = performance.now();
        if (this.#job !== undefined) this.#send(this.#job);
        this.emit('ready');
        return;
      case 'load-error':
        if (this.#state !== 'starting') return;
        this.#loadError = new TaskLoadError(this.#spec.tasksUrl, `${message.error.name}: ${message.error.message}`);
        return;
      case 'exiting':
        this.#leavingWith = message.started;
        this.#armKillTimer();
        return;
      case 'result': {
        const job = this.#job;
        // An answer for a job that is not ours (one already timed out) is dropped.
        if (job === undefined || job.id !== message.id) return;
        this.#job = undefined;
        this.#served += 1;
        this.idleSince = performance.now();
        // The child leaves by itself after its last answer (child-entry.ts).
        if (this.#served >= this.#spec.tasksPerChild) this.retire();
        if (message.ok) job.resolve(message.value);
        else if (message.error.name === 'ResultTooLargeError') job.fail(new ResultTooLargeError(job.task, Number(message.error.props['bytes']), this.#spec.maxResultBytes), 'failed');
        else job.fail(new TaskError(job.task, message.error), 'failed');
        this.emit('done');
        return;
      }
    }
  }

  #onError(error: Error): void {
    // A child that never started emits 'error' and maybe no 'close'.
    if (this.#child.pid === undefined) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== undefined && OUT_OF_RESOURCES.has(code)) this.#startError = new ChildStartError(code, error.message);
      else this.#loadError ??= new TaskLoadError(this.#spec.tasksUrl, `cannot start a child process: ${error.message}`);
      this.#onClose(null, null);
    }
  }

  #onClose(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this.#state === 'exited') return;
    const wasReady = this.#state === 'ready';
    this.#state = 'exited';
    if (!wasReady && !this.#killed && this.#startError === undefined) {
      this.#loadError ??= new TaskLoadError(this.#spec.tasksUrl, `child process ${this.pid} ${describeExit(exitCode, signal)} before it was ready`);
    }
    clearTimeout(this.#killTimer);
    clearTimeout(this.#startTimer);
    // A grandchild may hold the child's output pipes open: stop reading them
    // shortly after its death, so they never keep this process alive.
    const { stdout, stderr } = this.#child;
    if (stdout || stderr) {
      setTimeout(() => {
        stdout?.destroy();
        stderr?.destroy();
      }, OUTPUT_GRACE_MS).unref();
    }
    // What its task started and left behind goes with it.
    if (this.#child.pid !== undefined) {
      this.#deps.killGroup(this.#child.pid, 'SIGKILL');
      this.#deps.groupGuard?.remove(this.#child.pid);
    }
    const job = this.#job;
    this.#job = undefined;
    // Handed back when the child never had it (it died while starting), or
    // said as it left that it never began it; a fork that failed fails it.
    const begun = this.#jobSent && (this.#leavingWith === undefined || this.#leavingWith.includes(job?.id ?? -1));
    const unstarted = job !== undefined && !begun && this.#startError === undefined ? job : undefined;
    if (job !== undefined && unstarted === undefined) {
      if (this.#startError !== undefined) job.fail(this.#startError, 'failed');
      else if (this.#loadError !== undefined) job.fail(this.#loadError, 'failed');
      else job.fail(new TaskCrashedError(job.task, this.pid, exitCode, signal), 'crashed');
    }
    this.emit('exit', {
      exitCode,
      signal,
      wasReady,
      wasKilled: this.#killed,
      hadJob: job !== undefined && unstarted === undefined,
      loadError: this.#loadError,
      startError: this.#startError,
      unstarted,
      unstartedWasSent: unstarted !== undefined && this.#jobSent,
    });
  }
}
