// Every default slowlane has, in one place: the library, the demo server and
// the CLIs all read them from here. Each says why it has that value.
import { availableParallelism } from 'node:os';

const cores = availableParallelism();

/** ChildPool's options, when left out. */
export const POOL_DEFAULTS = Object.freeze({
  /** One child per core: CPU-bound tasks gain nothing from more, and each child costs ~45 MiB. */
  maxChildren: cores,
  /** No child is kept warm unless asked: a pool that is never used costs nothing. */
  minChildren: 0,
  /** One idle child started ahead of demand hides Node's start-up (~45 ms here) from the next task. */
  spares: 1,
  /**
   * Runs a busy child holds: the one it runs, and none sent ahead. More
   * (Celery's prefetch) halves the messages of tiny tasks, but a run sent
   * ahead waits for the ones before it in its child, however long they take:
   * a fast request behind a slow one, which a server must never have.
   */
  prefetch: 1,
  /** A child serves tasks until the pool ends it, as a classic pool does; 1 is a process per task. */
  tasksPerChild: Infinity,
  /**
   * No bound: a script's Promise.all over 20 000 runs must simply wait its
   * turn, as it does with piscina. Servers keep one through offload() and the
   * Fastify plugin (OFFLOAD_DEFAULTS.maxQueue), where waiting is a client's.
   */
  maxQueue: Infinity,
  /** No limit: only the caller knows how long its tasks may take. */
  timeoutMs: Infinity,
  /** No limit on waiting either, for the same reason; servers should set one (the demo uses its --timeout). */
  deadlineMs: Infinity,
  /** The lowest CPU priority: make bench measured /fast p99 at 12.5x idle for 0, 2.4x for 10, 1.07x for 19. */
  niceness: 19,
  /** Long enough for a child to run its exit handlers, short enough that a stuck one does not linger. */
  killGraceMs: 500,
  /** A child starts in ~0.1 s; one not ready after 30 s (a top-level await that never settles) never will be. */
  startTimeoutMs: 30_000,
  /** No memory cap: only the caller knows what its tasks need (uWSGI's evil-reload-on-rss is off by default too). */
  maxMemoryMb: Infinity,
  /** No recycling on size either (Celery's worker_max_memory_per_child is off by default). */
  recycleMemoryMb: Infinity,
  /** No age limit (uWSGI's max-worker-lifetime is off by default). */
  maxChildAgeMs: Infinity,
  /** A child above minChildren (and the spares) idle this long leaves: a start costs ~0.13 s of CPU, so 30 s idle is surplus, not a gap between tasks. */
  idleTimeoutMs: 30_000,
  /**
   * Child starts a second, four per core: about what the cores can start
   * (~0.13 s of CPU each), so more would only queue for the CPU while fork()
   * blocks this loop each time. Tasks that need a start beyond it wait.
   */
  maxStartsPerSecond: 4 * cores,
  /**
   * Chunks a stream run's child may send ahead of its reader. The byte window
   * below is what bounds memory; the count matters for tiny values, which go
   * out as one message per loop turn: a generator yielding 100 000 CSV rows
   * one at a time took 1 771-2 446 ms at 16 (one message a row), 587-967 ms
   * at 16 batched, 150 ms at 1024, against 50-77 ms for 32 KiB batches
   * (2026-12-06, this 2-core box).
   */
  streamWindow: 1024,
  /**
   * Bytes a stream run's child may send ahead of its reader, whatever the
   * chunks' count: 4 MiB keeps a pipe busy, and a stalled reader of 50 MB
   * chunks then costs this process one chunk, not a window of them (900 MB).
   */
  streamWindowBytes: 4 * 1024 * 1024,
  /**
   * A stream run whose reader takes nothing for 60 s (an iterator dropped
   * after one next(), an HTTP client that stopped reading) is cancelled, so it
   * does not hold its child and close() forever; nginx's send_timeout is 60 s too.
   */
  streamIdleTimeoutMs: 60_000,
  /** No size limit on results: only the caller knows what its tasks return (the demo server sets one). */
  maxResultBytes: Infinity,
  /**
   * Off until it wins everywhere: on the machine this was measured on (a VM
   * whose fresh pages cost ~13 us each to touch) a 10 MB Buffer result took
   * 78 ms through /dev/shm against 32 ms on the channel, though arguments and
   * strings gained 1.1-1.8x (docs/performance.md, 2026-12-06). Measure yours.
   */
  sharedMemoryBytes: Infinity,
  /**
   * Children get the server's whole environment, as child_process does;
   * false passes none but what `env` adds, a list passes those names only.
   */
  inheritEnv: true as boolean | readonly string[],
  /**
   * Children are started by a small spawner process (Linux), so a child start
   * never stalls a server that holds gigabytes: fork() from a 4 GiB process
   * stalled its loop 166 ms here, from the spawner 9 ms (bench/spawn-stall.ts).
   */
  spawner: true,
});

/** The smallest memory cap accepted: a bare child with its tasks module loaded takes about 45 MiB. */
export const MIN_MEMORY_MB = 64;

/** How often a busy child's RSS is read while maxMemoryMb is set: well within the half second a cap must take. */
export const MEMORY_SAMPLE_MS = 100;

/** The longest label a run carries (offload() gives the request's method and URL): log lines, spans and a worker host's line need no more. */
export const MAX_LABEL_CHARS = 200;

/** Largest maxChildren accepted: far past what one machine can run, small enough to catch a typo. */
export const MAX_CHILDREN_LIMIT = 1024;

/** Restart back-off for children that die before they are ready (a broken tasks module). */
export const BACKOFF_DEFAULTS = Object.freeze({
  /** First retry soon: a transient failure (EAGAIN) often clears within a moment. */
  initialMs: 200,
  /** Doubling stops here, so a fixed module is picked up within seconds. */
  maxMs: 5000,
});

/** The spawner (lib/pool/launch/spawner): limits on what its socket and its answers may cost. */
export const SPAWNER_DEFAULTS = Object.freeze({
  /** A child's hello is its id and a 32-character secret, under 100 bytes: a connection announcing more is a stranger, cut off at once. */
  helloMaxBytes: 256,
  /** A child says hello as soon as it connects: a connection silent this long is a stranger. */
  helloTimeoutMs: 3000,
  /**
   * A spawner answers a start in milliseconds (a spawn() call) and reports a
   * killed child's exit once the kernel does (which can take seconds for a
   * child at niceness 19 on a busy machine: it must run to die). An answer
   * this late makes the server ping the spawner, and a spawner that does not
   * answer the ping in as long again is stopped or wedged: it is killed and
   * replaced, so runs settle instead of waiting on it.
   */
  answerTimeoutMs: 2000,
  /** Spawners that die or hang this many times in a row, none having started a child that became ready: children are forked directly from then on. */
  maxFailures: 3,
});

/** offload()'s options, when left out. */
export const OFFLOAD_DEFAULTS = Object.freeze({
  /** An argsFrom that returns a promise (reading a body) gets this long, then 408: a client that sends half a body must not hold a request forever. */
  argsTimeoutMs: 10_000,
  /**
   * A stream that fails midway (its timeout) ends without its final chunk;
   * its client gets this long to take what was already written, then the
   * connection is destroyed: one that reads nothing must not keep megabytes queued.
   */
  brokenStreamFlushMs: 2000,
  /**
   * Past 100 runs waiting for a child, an answer comes later than most
   * clients wait: refuse with 503 and Retry-After instead (QueueFullError).
   * The Fastify plugin and the demo's --max-queue use it too.
   */
  maxQueue: 100,
});

/** The demo server (`slowlane start`). */
export const SERVER_DEFAULTS = Object.freeze({
  /** The prototype's port. */
  port: 8888,
  /** The queue's name with --queue-redis, as `slowlane worker --queue` takes it. */
  queue: 'slowlane',
  /** Loopback only: a demo should not be reachable from the network unless asked. */
  host: '127.0.0.1',
  /** /slow_threaded: a process per request, up to two per core, as the prototype forked one per request. */
  forkMaxChildren: 2 * cores,
  /** /slow_threaded: one spare keeps Node's start-up off the next request. */
  forkSpares: 1,
  /** /slow_pool: one warm child per core. */
  poolSize: cores,
  /** A slow request that runs past 30 s is stuck, not slow: 504. */
  timeoutMs: 30_000,
  /** SIGTERM or Ctrl-C: up to 10 s to answer requests already received. */
  graceMs: 10_000,
  /**
   * The report pool's children start with the first report, not with the
   * server, and leave after --idle-timeout: an idle demo then holds 3
   * children, not 5 (see docs/demo.md, the orders database, for the figures).
   */
  warmReports: false,
  /** The demo's answers are a few KiB; a task returning more than 64 MiB is a bug, and would stall this loop to receive. */
  maxResultMb: 64,
});

/**
 * Floors of the server's limit flags: below them a limit does harm, not good.
 * A child start costs ~0.13 s of CPU, so replacing children every few seconds
 * would spend a core on starts (--max-child-age 0.05 started 16 a second).
 */
export const SERVER_FLAG_FLOORS = Object.freeze({
  maxChildAgeS: 10,
  idleTimeoutS: 1,
});

/** The demo's orders database (/report, /report_pool). */
export const ORDERS_DB_DEFAULTS = Object.freeze({
  /** Half a million orders: a report scans enough to block a loop for ~0.1 s, and the file builds in a few seconds. */
  rows: 500_000,
  /** Seeded, so every machine builds the same orders and every report gives the same answer. */
  seed: 20_261_125,
  /** In the user's data folder, never in the checkout; the version changes when the data's shape does. */
  fileName: 'orders-v1.sqlite',
  /** A report looks this many days back unless asked. */
  days: 90,
  /** The data spans one year. */
  maxDays: 365,
  /** Products per report. */
  top: 10,
});

/** The prototype's client (`slowlane-call-multi`). */
export const CALL_MULTI_DEFAULTS = Object.freeze({
  url: 'http://localhost:8888',
  /** The prototype's 3 slow requests, then 20 fast ones. */
  slow: 3,
  fast: 20,
});

/** slowlane/queue: slow work on BullMQ and Redis. */
export const QUEUE_DEFAULTS = Object.freeze({
  /**
   * A worker host's lock on a job lasts 5 s and is renewed every 2.5 s (its
   * event loop is free: the work runs in children). A host killed mid-job is
   * found by another host's stalled check within lock + interval, about 7 s,
   * instead of BullMQ's 30 s + 30 s.
   */
  lockDurationMs: 5000,
  stalledIntervalMs: 2000,
  /** Events kept in Redis's events stream (approximately). No answer travels in it (each requester has its own inbox), so it only serves BullMQ's own tools. */
  eventsMaxLen: 1000,
  /**
   * A requester's inbox (a Redis list of its answers) lives this long after
   * the last answer put in it: a requester held busy for seconds still finds
   * every answer, and one that died leaves nothing behind for long.
   */
  inboxTtlMs: 60_000,
  /** Answers taken from the inbox in one blocking read. */
  inboxReadCount: 256,
  /**
   * An answer larger than this (serialized) is kept under its own key and
   * only its name goes through the inbox: the requester fetches and deletes
   * it, so a burst of big results is not held in one list.
   */
  inlineAnswerBytes: 64 * 1024,
  /** A big result not fetched within this long (its requester died) is dropped by Redis itself. */
  resultTtlMs: 60_000,
  /**
   * QueueRunner.close() and a worker's close() wait this long for Redis to
   * acknowledge; after it (Redis is away) their connections are cut, so a
   * server still ends on SIGTERM.
   */
  closeTimeoutMs: 2000,
  /** A worker host whose Redis failed tries again after this long (BullMQ's runRetryDelay, 15 s by default, which also held a host's exit on SIGTERM that long). */
  retryDelayMs: 1000,
  /** An idempotent task whose hosts die under it is started at most this many times; then its requester gets TaskCrashedError. */
  maxStarts: 3,
  /** A job whose requester left is marked for this long: a host that takes it within that time does not run it. */
  cancelMarkMs: 60_000,
  /** A new QueueRunner's first runs wait this long for its connection; after it, no Redis is a 503 at once. */
  connectWaitMs: 1000,
  /** A result larger than this is refused in the child (ResultTooLargeError): each one is held in Redis until its requester reads it. */
  maxResultBytes: 16 * 1024 * 1024,
  /**
   * A host whose tasks module stops loading gives its jobs back and stops
   * taking them; it tries the module again after 0.5 s, doubling to 4 s, so a
   * fixed file puts it back to work within seconds without a busy loop.
   */
  reloadFirstMs: 500,
  reloadMaxMs: 4000,
  /**
   * The start of every Redis key of a queue (BullMQ's own default). A Redis
   * Cluster needs a hash tag here, such as "{slowlane}", so that all of a
   * queue's keys live on one node.
   */
  prefix: 'bull',
  /** A queue's depth (waiting, prioritized, active, the oldest wait) is read this often for /metrics: fresh enough for an autoscaler polling every 15-30 s; a reading is 3 Lua calls and up to 4 HGETALLs, about 85 us of Redis CPU (measured 2026-12-05). */
  depthEveryMs: 2000,
  /** Closing that reader waits this long for Redis before it drops the connection: it has nothing to finish. */
  depthCloseMs: 1000,
});
