// A stand-in for a ChildProcess, driven by the test: it records what the
// worker sends and lets the test answer, crash or exit it.
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import type { PoolDeps } from '../../lib/pool/child-pool.js';
import type { ChildLike, ForkFn } from '../../lib/pool/launch/fork.js';
import { marked, type ChildMessage, type ParentMessage, type RunMessage } from '../../lib/pool/wire/protocol.js';

let nextPid = 10_000;

export class FakeChild extends EventEmitter implements ChildLike {
  readonly pid = nextPid++;
  connected = true;
  /** Runs it was sent. */
  readonly sent: RunMessage[] = [];
  /** How many times it was told to stop gracefully. */
  stops = 0;
  /** Stream control it was sent: credit and cancels. */
  readonly control: ParentMessage[] = [];
  readonly kill = sinon.spy((_signal?: NodeJS.Signals | number) => true);

  constructor(readonly args: readonly string[]) {
    super();
  }

  send(message: ParentMessage, callback?: (error: Error | null) => void): boolean {
    if (message.type === 'stop') this.stops += 1;
    else if (message.type === 'run') this.sent.push(message);
    else this.control.push(message);
    callback?.(null);
    return true;
  }

  /** The task limit the child was started with: '1', 'Infinity', ... */
  get mode(): string | undefined {
    return this.args[1];
  }

  /** A message from the child's entry (in-child/entry.ts), with the protocol's mark. */
  say(message: ChildMessage): void {
    this.emit('message', marked(message));
  }

  ready(): void {
    this.say({ type: 'ready' });
  }

  answer(value: unknown, id = this.sent.at(-1)!.id): void {
    this.say({ type: 'result', id, ok: true, value });
  }

  fail(error: { name: string; message: string; stack?: string; props?: Record<string, unknown> }, id = this.sent.at(-1)!.id): void {
    this.say({ type: 'result', id, ok: false, error: { props: {}, ...error } });
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.connected = false;
    this.emit('exit', code, signal);
    this.emit('close', code, signal);
  }
}

export interface FakeProcesses {
  deps: Partial<PoolDeps>;
  children: FakeChild[];
  fork: sinon.SinonSpy;
  setPriority: sinon.SinonSpy;
  /** Group signals the pool sent: never real ones for fake pids. */
  killGroup: sinon.SinonSpy;
}

export function fakeProcesses(): FakeProcesses {
  const children: FakeChild[] = [];
  const fork = sinon.spy(((_entry: string, args: readonly string[]) => {
    const child = new FakeChild(args);
    children.push(child);
    return child;
  }) as ForkFn);
  const setPriority = sinon.spy();
  const killGroup = sinon.spy((_pgid: number, _signal: NodeJS.Signals) => true);
  return { deps: { fork, setPriority, killGroup, groupGuard: undefined, entry: '/fake/child-entry.js', parentExecArgv: [], launcher: undefined, sharedMemory: false }, children, fork, setPriority, killGroup };
}

/** Fresh fake processes and a sinon fake clock around each test of the calling suite. */
export function useFakeProcessesAndClock(): { fakes: FakeProcesses; clock: sinon.SinonFakeTimers } {
  const env = {} as { fakes: FakeProcesses; clock: sinon.SinonFakeTimers };
  beforeEach(() => {
    env.fakes = fakeProcesses();
    env.clock = sinon.useFakeTimers();
  });
  afterEach(() => env.clock.restore());
  return env;
}

/** Lets promise callbacks run (microtasks only: safe under fake timers). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}
