// One child process seen from the parent: it starts the child, sends it runs
// once the child says it is ready (one at a time, or a few ahead with the
// pool's prefetch; the child begins them in order), and turns the child's
// `message` and `exit` events into one 'answer' or one 'exit' for the pool.
// It never settles a run itself: the pool does, from those two events. No
// polling: every state change is a Node event.
import { EventEmitter } from 'node:events';
import { holdProcess, OUT_OF_RESOURCES, releaseOutput, SPAWNER_LOST, startChild, whenGone, whenStarted, type ChildLike } from '../launch/fork.js';
import { ChildStartError, describeExit, taskErrorOf, TaskLoadError } from '../errors.js';
import type { Job } from './job.js';
import { isChildMessage, runMessage, type ChildMessage } from '../wire/protocol.js';
import { uncloneable } from '../wire/serialized-error.js';
import { childPrefix, dropShared, removeByPrefix, takeShared, tryPutShared, type SharedRef } from '../wire/shared-memory.js';
import { exitCause, type ChildWorkerEvents } from './worker-events.js';
import type { ChildWorkerDeps, ChildWorkerSpec } from './worker-spec.js';

export type { ChildLike, ForkFn } from '../launch/fork.js';
export type { Answer, ChildWorkerEvents, ExitCause, WorkerExit } from './worker-events.js';
export type { ChildWorkerDeps, ChildWorkerSpec } from './worker-spec.js';

/** What #unshare returns for a value it could not read (the run has failed already). */
const UNREADABLE = Symbol('unreadable');

export class ChildWorker extends EventEmitter<ChildWorkerEvents> {
  /** When fork() was called (performance.now()). */
  readonly startedAt = performance.now();
  readonly ageLimitMs: number;
  #idleSince = this.startedAt;
  readonly #child: ChildLike;
  readonly #spec: ChildWorkerSpec;
  readonly #deps: ChildWorkerDeps;
  #state: 'starting' | 'ready' | 'exited' = 'starting';
  /** The runs it holds, in the order sent: the first has begun; the rest (prefetch) wait for it in the child. */
  #jobs: Job[] = [];
  /** Its first run is a stream run: nothing is sent ahead of one. */
  #streaming = false;
  #loadError: TaskLoadError | undefined;
  #startError: ChildStartError | undefined;
  /** We asked it to go (kill, stop, its task limit). */
  #asked = false;
  #killTimer: NodeJS.Timeout | undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #served = 0;
  /** The runs the child had begun when it announced it was leaving; undefined until then. */
  #leavingWith: readonly number[] | undefined;
  /** Its group got its last SIGKILL at its exit: never signalled after (its pid may be another's). */
  #groupEnded = false;
  /** A run it began was cancelled (a stream's, or one sent ahead and dropped) and it has not answered yet: SIGKILL after the grace. */
  #cancelling = false;

  constructor(spec: ChildWorkerSpec, deps: ChildWorkerDeps) {
    super();
    this.#spec = spec;
    this.#deps = deps;
    this.ageLimitMs = spec.ageLimitMs;
    this.#child = startChild(deps, spec);
    whenStarted(this.#child, (pid) => {
      deps.groupGuard?.add(pid);
      if (spec.niceness !== 0) deps.setPriority(pid, spec.niceness);
    });
    if (spec.startTimeoutMs !== Infinity) {
      this.#startTimer = setTimeout(() => this.failStart(`child process ${this.pid} was not ready ${spec.startTimeoutMs} ms after it started (does the module await something that never settles?)`), spec.startTimeoutMs);
      this.#startTimer.unref();
    }
    this.#child.on('message', (message: unknown) => this.#onMessage(message));
    this.#child.on('error', (error: Error) => this.#onError(error));
    // What its task started goes with it at its exit: a program holding the
    // IPC channel open would otherwise keep its end (and #onClose) away.
    whenGone(this.#child, () => this.#endGroup(), (code, signal) => this.#onClose(code, signal));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** When it last became free for a task: ready, or done with one. */
  get idleSince(): number {
    return this.#idleSince;
  }

  /** Answers given. */
  get served(): number {
    return this.#served;
  }

  /** Killed, stopped, past its task limit or leaving by itself: it will take no run again. */
  get leaving(): boolean {
    return this.#asked || this.#leavingWith !== undefined || this.#state === 'exited';
  }

  /** Has a run. */
  get busy(): boolean {
    return this.#jobs.length > 0;
  }

  /** Runs it holds, begun or sent ahead. */
  get held(): number {
    return this.#jobs.length;
  }

  /** Ready, with no run, not leaving: it can take a run now. */
  get free(): boolean {
    return this.#state === 'ready' && this.#jobs.length === 0 && !this.leaving;
  }

  /** Free; or, for a plain run, busy with plain runs below the prefetch and its task limit. */
  canTake(stream: boolean): boolean {
    if (this.free) return true;
    const { prefetch, tasksPerChild } = this.#spec;
    return !stream && this.#state === 'ready' && !this.leaving && !this.#streaming && !this.#cancelling && this.#jobs.length < prefetch && this.#served + this.#jobs.length < tasksPerChild;
  }

  /** Sends a run (a stream run with its credit: `window` chunks, `windowBytes` bytes); it begins at once on a free child, else after the runs sent before it. Throws, and holds nothing more, if the arguments cannot be serialized. */
  run(job: Job, stream?: { window: number; windowBytes: number }): void {
    if (!this.canTake(stream !== undefined)) throw new Error(`child ${this.pid} cannot take a run now`);
    const message = runMessage(job.id, job.run, stream, job.trace?.carrier);
    // Big arguments go through shared memory, in files named for this child.
    const shared = this.#spec.sharedMemoryBytes === Infinity ? undefined : tryPutShared(message.args, this.#spec.sharedMemoryBytes, childPrefix(process.pid, this.pid!));
    if (shared !== undefined) [message.args, message.shared] = [shared.values, shared.refs];
    // The callback catches a channel closed under us (EPIPE, ERR_IPC_CHANNEL_CLOSED);
    // the child's death then fails the run as a crash. A serializer error
    // (a function, a socket among the arguments) is thrown here, at once.
    try {
      this.#child.send(message, () => {});
    } catch {
      dropShared(message.shared);
      throw uncloneable(`the arguments of task "${job.task}"`);
    }
    this.#jobs.push(job);
    if (this.#jobs.length === 1) this.#begin(stream !== undefined);
  }

  /** A run sent ahead was cancelled before its turn: the child skips it and answers. */
  drop(job: Job): void {
    if (this.#jobs.includes(job)) this.#child.send({ type: 'drop', id: job.id }, () => {});
  }

  /** Its first run begins: on a free child when sent, else as the run before it answers (the child runs them in order). */
  #begin(stream: boolean): void {
    const job = this.#jobs[0]!;
    this.#streaming = stream;
    // Dropped while it waited, but the drop may have come too late: killed unless it answers within the grace.
    if (job.settled) {
      this.#cancelling = true;
      this.#armKillTimer();
      return;
    }
    job.trace?.began(this.pid);
    job.start();
  }

  /** Whether this child keeps the parent process alive (the pool holds it only while it has work). */
  hold(on: boolean): void {
    if (this.#state !== 'exited') holdProcess(this.#child, on);
  }

  /** The reader took `n` more chunks of its stream run: the child may send as many more. */
  credit(job: Job, n: number): void {
    if (this.#jobs[0] === job) this.#child.send({ type: 'more', id: job.id, n }, () => {});
  }

  /** Nobody reads its stream run: the child closes the generator and answers (it stays), or gets SIGKILL after the grace. The canceller settles the run. */
  cancel(job: Job): void {
    if (this.#jobs[0] !== job) return;
    this.#child.send({ type: 'cancel', id: job.id }, () => {});
    this.#cancelling = true;
    this.#armKillTimer();
  }

  /**
   * SIGTERM now (to its whole process group), SIGKILL after the grace. Its
   * run, if any, is the killer's to settle; runs sent ahead are handed to other
   * children when it has exited, unless it answered the ones before them first.
   */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.#state === 'exited') return;
    this.#asked = true;
    this.#signal(signal);
    if (signal !== 'SIGKILL') this.#armKillTimer();
  }

  /** A graceful end for a child with no run: its teardown() runs and it exits (SIGKILL after the kill grace); one still starting gets SIGTERM. */
  stop(): void {
    if (this.#state === 'exited' || this.#asked) return;
    if (this.#jobs.length > 0) throw new Error(`child ${this.pid} is running a task`);
    if (this.#state !== 'ready') {
      this.kill();
      return;
    }
    this.#asked = true;
    try {
      this.#child.send({ type: 'stop' }, () => {});
    } catch {
      // The channel is gone: the child is on its way out already.
    }
    this.#armKillTimer();
  }

  /** A child that must not become ready (not ready in time, or its setup() past the memory cap): SIGKILL, and it counts as a load failure (a failed start if no process ever came). */
  failStart(reason: string): void {
    if (this.#state !== 'starting') return;
    // No process was started at all (its spawner never answered): a start that failed, not a module that does not load.
    if (this.#child.pid === undefined) this.#startError ??= new ChildStartError('ETIMEDOUT', `no child process was started within ${this.#spec.startTimeoutMs} ms`);
    else this.#loadError ??= new TaskLoadError(this.#spec.tasksUrl, reason);
    this.#asked = true;
    this.#signal('SIGKILL');
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
      // Already gone: its 'exit' event is on the way.
    }
    // Never after it exited: its pid (and group id) may be another's by then.
    if (this.#child.pid !== undefined && !this.#groupEnded) this.#deps.killGroup(this.#child.pid, signal);
  }

  /** Once, when the child has exited: SIGKILL to what is left of its group, the guard forgets it, and its files in shared memory go. */
  #endGroup(): void {
    const { pid } = this.#child;
    if (this.#groupEnded || pid === undefined) return;
    this.#groupEnded = true;
    this.#deps.killGroup(pid, 'SIGKILL');
    this.#deps.groupGuard?.remove(pid);
    if (this.#spec.sharedMemoryBytes !== Infinity) removeByPrefix(childPrefix(process.pid, pid));
  }

  /** A value the child put in shared memory, read back (and its file removed); a file that cannot be read fails the run, and the child goes. */
  #unshare(job: Job, value: unknown, shared: SharedRef[] | undefined): unknown {
    if (shared === undefined) return value;
    try {
      return takeShared([value], shared)[0];
    } catch (error) {
      this.kill();
      this.emit('answer', job, { ok: false, error: new Error(`task "${job.task}" answered, but its value could not be read from shared memory (${(error as Error).message})`) });
      return UNREADABLE;
    }
  }


  #onMessage(raw: unknown): void {
    if (!isChildMessage(raw)) return;
    const message: ChildMessage = raw;
    switch (message.type) {
      case 'ready':
        // Said once, by the child's entry (in-child/entry.ts); a second one, or one from a child already told to go, changes nothing.
        if (this.#state !== 'starting' || this.#asked) return;
        clearTimeout(this.#startTimer);
        this.#state = 'ready';
        this.#idleSince = performance.now();
        this.emit('ready', message.tasks);
        return;
      case 'load-error':
        if (this.#state !== 'starting') return;
        this.#loadError = new TaskLoadError(this.#spec.tasksUrl, `${message.error.name}: ${message.error.message}`);
        return;
      case 'chunk':
      case 'chunks': {
        const job = this.#jobs[0];
        if (job === undefined || job.id !== message.id || this.#cancelling || this.#asked) return void dropShared(message.type === 'chunk' ? message.shared : undefined);
        if (message.type === 'chunks') return message.values.forEach((value, i) => void (this.#jobs[0] === job && !this.#cancelling && !this.#asked && this.emit('chunk', job, value, message.bytes[i] ?? 0)));
        const value = this.#unshare(job, message.value, message.shared);
        if (value !== UNREADABLE) this.emit('chunk', job, value, message.bytes);
        return;
      }
      case 'exiting':
        this.#leavingWith = message.started;
        this.#armKillTimer();
        return;
      case 'result': {
        const job = this.#jobs[0];
        // An answer for a run that is not ours is dropped.
        if (job === undefined || job.id !== message.id) return void dropShared(message.ok ? message.shared : undefined);
        // Settled already (timed out, its child killed; or dropped): its value is not read, only the run after it begins.
        if (job.settled && message.ok) dropShared(message.shared);
        const value = message.ok && !job.settled ? this.#unshare(job, message.value, message.shared) : undefined;
        if (value === UNREADABLE) return;
        const asked = this.#asked;
        this.#jobs.shift();
        if (this.#cancelling && !this.#asked) {
          // It closed the cancelled stream (or skipped the dropped run) in time: it stays.
          clearTimeout(this.#killTimer);
          this.#killTimer = undefined;
        }
        this.#cancelling = false;
        this.#served += 1;
        this.#idleSince = performance.now();
        // The child leaves by itself after its last answer (in-child/entry.ts); make sure it does.
        if (this.#served >= this.#spec.tasksPerChild) {
          this.#asked = true;
          this.#armKillTimer();
        }
        if (this.#jobs.length > 0) this.#begin(false);
        // A settled run's answer still frees the child (a cancelled stream, a dropped run), unless it was told to go before.
        if (!job.settled || !asked) this.emit('answer', job, message.ok ? { ok: true, value } : { ok: false, error: taskErrorOf(job.task, message.error, this.#spec.maxResultBytes) });
        return;
      }
    }
  }


  #onError(error: Error): void {
    const code = (error as NodeJS.ErrnoException).code;
    // Its spawner died: the child is gone (or never came) through no fault of
    // its tasks module. As if asked to go: the pool starts another, and only
    // a run it had begun fails (as crashed).
    if (code === SPAWNER_LOST) {
      this.#asked = true;
      if (this.#child.pid === undefined) this.#onClose(null, null);
      return;
    }
    // A child that never started emits 'error' and maybe no 'close'.
    if (this.#child.pid !== undefined) return;
    if (code !== undefined && OUT_OF_RESOURCES.has(code)) this.#startError = new ChildStartError(code, error.message);
    else this.#loadError ??= new TaskLoadError(this.#spec.tasksUrl, `cannot start a child process: ${error.message}`);
    this.#onClose(null, null);
  }

  #onClose(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this.#state === 'exited') return;
    const wasReady = this.#state === 'ready';
    this.#state = 'exited';
    clearTimeout(this.#killTimer);
    clearTimeout(this.#startTimer);
    this.#endGroup();
    releaseOutput(this.#child);
    const [job, ...waiting] = this.#jobs;
    this.#jobs = [];
    // Begun unless the child said, as it left, that it never began it.
    const begun = job !== undefined && (this.#leavingWith === undefined || this.#leavingWith.includes(job.id));
    const cause = exitCause({ started: this.#startError === undefined, crashedInRun: job !== undefined && begun, wasReady, loadError: this.#loadError !== undefined, asked: this.#asked });
    if (cause === 'not-loaded') this.#loadError ??= new TaskLoadError(this.#spec.tasksUrl, `child process ${this.pid} ${describeExit(exitCode, signal)} before it was ready`);
    this.emit('exit', { cause, exitCode, signal, job, begun, waiting, loadError: this.#loadError, startError: this.#startError });
  }
}
