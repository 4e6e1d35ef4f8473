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
