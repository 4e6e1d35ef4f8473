// Runs on their way: the bounded queue, the runs children hold, the abort
// signals watched, and how each run ends. Which child takes a run comes
// from the injected pick; starting and ending children is the pool's (a
// cancelled run's child is handed to it through the end hook).
import { TaskCrashedError } from '../errors.js';
import type { Exit } from './exits.js';
import type { ChildWorker, WorkerExit } from './worker.js';
import { Job } from './job.js';
import type { Outcome } from '../../trace/outcome.js';
import { TaskQueue } from './task-queue.js';
import type { RunTrace } from '../../trace/run-trace.js';
import type { Run } from '../run-options.js';

export interface DispatcherHooks {
  /** A child that can take the next run now (a stream run needs a free one), or undefined. */
  pick(stream: boolean): ChildWorker | undefined;
  /** A ready child got `job`. */
  started(job: Job): void;
  /** `job` settled (counted here once); `child` held it, if one did. */
  ended(job: Job, outcome: Outcome, child: ChildWorker | undefined): void;
  /** A cancelled run's child must go (or, for a stream, close its generator): the pool carries it out. */
  end(child: ChildWorker, exit: Exit): void;
}

/** A stream run: where its chunks go (with their size), and how many chunks and bytes the child may send ahead. */
export interface StreamSpec {
  sink: (value: unknown, bytes: number) => void;
  window: number;
  windowBytes: number;
}

export class Dispatcher {
  readonly #queue: TaskQueue<Job>;
  readonly #running = new Map<Job, ChildWorker>();
  /** Runs a leaving child handed back once: a second time they fail. */
  readonly #handedBack = new WeakSet<Job>();
  /** One 'abort' listener per signal, however many runs share it. */
  readonly #watched = new WeakMap<AbortSignal, Set<Job>>();
  readonly #streams = new WeakMap<Job, StreamSpec>();
  readonly #hooks: DispatcherHooks;

  // Unbounded here: runs waiting for a child that is starting are queued too,
  // and the pool bounds only those beyond them (maxQueue).
  constructor(hooks: DispatcherHooks) {
    this.#queue = new TaskQueue();
    this.#hooks = hooks;
  }

  get queued(): number {
    return this.#queue.size;
  }

  get running(): number {
    return this.#running.size;
  }

  /** The run's job, watching its signal; not queued yet. */
  create(run: Run, stream: StreamSpec | undefined, trace: RunTrace | undefined): Job {
    const { signal } = run;
    const job = new Job(run, {
      trace,
      onStart: (started) => this.#hooks.started(started),
      onCancel: (cancelled) => this.#cancel(cancelled),
      onEnd: (ended, outcome) => {
        if (signal !== undefined) this.#watched.get(signal)?.delete(ended);
        const child = this.#running.get(ended);
        this.#running.delete(ended);
        this.#queue.remove(ended);
        this.#hooks.ended(ended, outcome, child);
      },
    });
    if (signal !== undefined) this.#watch(signal, job);
    if (stream !== undefined) this.#streams.set(job, stream);
    return job;
  }

  enqueue(job: Job): void {
    this.#queue.push(job);
  }

  /** Sends waiting runs to free children while there are both; a run whose deadline passed meanwhile expires here, taking no child. */
  pump(): void {
    for (let job = this.#queue.peek(); job !== undefined; job = this.#queue.peek()) {
      const child = this.#hooks.pick(this.#streams.has(job));
      if (child === undefined) return;
      this.#queue.remove(job);
      // Settled while it waited (a cancelled run handed back), or expired: it takes no child.
      if (job.settled || job.expireIfLate()) continue;
      try {
        this.#running.set(job, child);
        child.run(job, this.#streams.get(job));
      } catch (error) {
        // Arguments the serializer cannot copy (a function, a socket) fail this run, not the child.
        job.fail(error, 'failed');
      }
    }
  }

  /** The run `child` holds and has begun. */
  jobOf(child: ChildWorker): Job | undefined {
    for (const [job, holder] of this.#running) if (holder === child && job.started) return job;
    return undefined;
  }

  /** A child answered its run. */
  answered(job: Job, value: { ok: true; value: unknown } | { ok: false; error: Error }): void {
    if (value.ok) job.resolve(value.value);
    else job.fail(value.error, 'failed');
  }

  /** A chunk of a stream run arrived. */
  chunk(job: Job, value: unknown, bytes: number): void {
    if (!job.settled) this.#streams.get(job)?.sink(value, bytes);
  }

  /** The reader of a stream run took `n` more chunks. */
  credit(job: Job, n: number): void {
    this.#running.get(job)?.credit(job, n);
  }

  /**
   * A child is gone: a run it had begun failed as a crash; one it never began
   * goes first to another child, once; runs sent ahead of their turn (never
   * begun) go back to the front of the queue too, in their order.
   */
  childExited(child: ChildWorker, exit: WorkerExit): void {
    const { job, waiting } = exit;
    for (const ahead of [...waiting].reverse()) {
      this.#running.delete(ahead);
      if (!ahead.settled) this.#queue.pushFront(ahead);
    }
    if (job === undefined) return;
    this.#running.delete(job);
    // Already settled (a stream run cancelled before its child left): nothing to fail, nothing to hand back.
    if (job.settled) return;
    if (exit.begun || this.#handedBack.has(job)) job.fail(new TaskCrashedError(job.task, child.pid, exit.exitCode, exit.signal), 'crashed');
    else {
      this.#handedBack.add(job);
      this.#queue.pushFront(job);
    }
  }

  /** Fails the oldest waiting run (the one a start that failed was for). */
  failOldest(error: unknown): void {
    this.#queue.peek()?.fail(error, 'failed');
  }

  /** Fails every waiting run. */
  failQueued(error: unknown, outcome: Exclude<Outcome, 'completed'>): void {
    for (const job of this.#queue.drain()) job.fail(error, outcome);
  }

  /** Fails every run a child holds (their children are killed by the caller). */
  failRunning(error: unknown, outcome: Exclude<Outcome, 'completed'>): void {
    for (const job of [...this.#running.keys()]) job.fail(error, outcome);
  }

  // A timeout, a deadline or an abort: out of the queue, or its child is
  // killed; a stream run's child is asked to close its generator first; a
  // run sent ahead and not begun is skipped by its child.
  #cancel(job: Job): void {
    this.#queue.remove(job);
    const child = this.#running.get(job);
    if (child === undefined) return;
    if (!job.started) return child.drop(job);
    this.#hooks.end(child, this.#streams.has(job) ? { how: 'cancel', job } : { how: 'kill' });
  }

  #watch(signal: AbortSignal, job: Job): void {
    let jobs = this.#watched.get(signal);
    if (jobs === undefined) {
      const watching = new Set<Job>();
      jobs = watching;
      this.#watched.set(signal, watching);
      signal.addEventListener('abort', () => {
        this.#watched.delete(signal);
        for (const each of [...watching]) each.abort(signal.reason);
      }, { once: true });
    }
    jobs.add(job);
  }
}
