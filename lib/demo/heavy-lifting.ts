// The prototype's CPU-bound work: factorial(k) for every k below n, each from
// scratch, with BigInt. Returns the seconds the computation itself took.
import { performance } from 'node:perf_hooks';

export const DEFAULT_N = 2000;

export function factorial(k: number): bigint {
  let product = 1n;
  for (let i = 2n; i <= BigInt(k); i += 1n) product *= i;
  return product;
}

export function heavyLifting(n: number = DEFAULT_N): number {
  const started = performance.now();
  for (let k = 0; k < n; k += 1) factorial(k);
  return (performance.now() - started) / 1000;
}
