// A tasks module for the type test: which tasks can cross the IPC channel.
export interface Order {
  id: number;
  placed: Date;
  tags: Set<string>;
  lines: Map<string, number[]>;
  note?: string;
}

export function summarize(orders: Order[], raw: Uint8Array): { total: number; first: Order | undefined; bytes: Buffer } {
  return { total: orders.length, first: orders[0], bytes: Buffer.from(raw) };
}

export function takesCallback(done: () => void): number {
  done();
  return 1;
}

export function returnsUrl(): URL {
  return new URL('https://example.com/');
}

export class Counter {
  count = 0;
  increment(): number {
    return (this.count += 1);
  }
}

export async function returnsCounter(): Promise<Counter> {
  return new Counter();
}

export function takesOptions(options: { onProgress: (n: number) => void }): number {
  options.onProgress(1);
  return 1;
}
