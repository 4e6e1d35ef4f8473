// Tasks for the large-values comparison: the same module serves slowlane's
// children and piscina's threads (named exports).
export function bufferOf(bytes: number): Buffer {
  return Buffer.alloc(bytes, 1);
}

export function stringOf(chars: number): string {
  return 'x'.repeat(chars);
}

export function sizeOf(value: Buffer | Uint8Array | string): number {
  return value.length;
}

/** Nothing: what a run costs by itself (bench/noop-runs.ts). */
export function noop(): number {
  return 0;
}

/** n CSV rows, one value each (bench/stream-rows.ts). */
export async function* csvRows(n: number): AsyncGenerator<string> {
  for (let i = 0; i < n; i += 1) yield `${i},region-${i % 7},product-${i % 13},${(i * 3.7).toFixed(2)}\n`;
}

/** The same rows in batches of about 32 KiB. */
export async function* csvBatches(n: number): AsyncGenerator<string> {
  let batch = '';
  for (let i = 0; i < n; i += 1) {
    batch += `${i},region-${i % 7},product-${i % 13},${(i * 3.7).toFixed(2)}\n`;
    if (batch.length >= 32 * 1024) {
      yield batch;
      batch = '';
    }
  }
  if (batch !== '') yield batch;
}
