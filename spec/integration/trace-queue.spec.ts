// Traces across the queue lane, against a real Redis: the requester's span
// context travels in the job's data, so the worker host's run span (and the
// spans its child's task makes) join the requester's trace; checked with a
// host in this process (its spans in the in-memory exporter) and with a
// `slowlane worker` process (the context its child sees).
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { expect } from 'chai';
import { ChildPool } from '../../lib/pool/child-pool.js';
import { QueueRunner } from '../../lib/queue/queue-runner.js';
import { startQueueWorker, type QueueWorker } from '../../lib/queue/queue-worker.js';
import { startRedis, type RedisServer } from '../../tools/redis.js';
import { startWorkerProcess, type WorkerProcess } from '../../tools/worker-process.js';
import { runSpans, setUpTracing, TRACE_TASKS, underSpan } from '../support/tracing.js';

type Tasks = typeof import('../fixtures/trace-tasks.js');

describe('traces across slowlane/queue: real Redis, a host here and a host process', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let tracing: ReturnType<typeof setUpTracing>;
  let pool: ChildPool;
  let worker: QueueWorker;
  let hostProcess: WorkerProcess;
  let runner: QueueRunner<Tasks>;
  let remoteRunner: QueueRunner<Tasks>;
  const queue = `trace${process.pid}`;
  const remoteQueue = `trace-remote${process.pid}`;

  before(async () => {
    tracing = setUpTracing();
    redis = await startRedis();
    const connection = { host: '127.0.0.1', port: redis.port };
    pool = new ChildPool({ tasks: TRACE_TASKS, niceness: 0, maxChildren: 1 });
    worker = startQueueWorker({ connection: { ...connection, maxRetriesPerRequest: null }, queue, pool });
    hostProcess = await startWorkerProcess(redis.port, remoteQueue, TRACE_TASKS, ['--niceness', '0']);
    runner = new QueueRunner<Tasks>({ connection, queue });
    remoteRunner = new QueueRunner<Tasks>({ connection, queue: remoteQueue });
    await Promise.all([pool.ready(), worker.ready(), runner.ready(), remoteRunner.ready()]);
  });
  after(async () => {
    await Promise.allSettled([runner?.close(), remoteRunner?.close()]);
    await worker?.close();
    await pool?.destroy();
    await hostProcess?.stop();
    await redis?.stop();
    await tracing?.undo();
  });
  beforeEach(() => tracing.exporter.reset());

  it('the host\'s run span is a child of the requester\'s span, and the task runs in the host\'s run span', async () => {
    const { span, value: seen } = await underSpan(() => runner.run('activeSpanContext'));
    const [run, ...more] = runSpans(tracing.exporter, 'activeSpanContext');
    expect(more).to.have.length(0);
    expect(run!.spanContext().traceId).to.equal(span.spanContext().traceId);
    expect(run!.parentSpanContext).to.include({ spanId: span.spanContext().spanId, isRemote: true });
    expect(seen).to.deep.equal({ traceId: span.spanContext().traceId, spanId: run!.spanContext().spanId, traceFlags: 1 });
  });

  it('run option trace: only the job\'s data can bring that trace to the host', async () => {
    const named = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    expect(await context.with(ROOT_CONTEXT, () => runner.run('add', [2, 3], { trace: named }))).to.equal(5);
    const [run, ...more] = runSpans(tracing.exporter, 'add');
    expect(more).to.have.length(0);
    expect(run!.spanContext().traceId).to.equal(named.traceId);
    expect(run!.parentSpanContext?.spanId).to.equal(named.spanId);
  });

  it('a `slowlane worker` process (the API there, no tracer provider): its child runs in the requester\'s span context', async () => {
    const { span, value: seen } = await underSpan(() => remoteRunner.run('activeSpanContext'));
    const { traceId, spanId, traceFlags } = span.spanContext();
    expect(seen).to.deep.equal({ traceId, spanId, traceFlags });
    expect(await context.with(ROOT_CONTEXT, () => remoteRunner.run('activeSpanContext'))).to.equal(null);
  });
});
