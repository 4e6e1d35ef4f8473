// Argument checks shared by the CLIs: each failure is one line and exit 2.
import type { LogStream } from '../demo/log-writer.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Where the server's access log goes (process.stderr); without it, lines go through err. */
  logStream?: LogStream;
}

export function wholeNumber(flag: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return value;
}

/** Seconds from `min` (by default 0.001, 1 ms, the smallest timer) to one day. */
export function positiveSeconds(flag: string, raw: string | undefined, min = 0.001): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= 86_400)) throw new UsageError(`--${flag} must be a number of seconds from ${min} to 86400, got "${raw}"`);
  return value;
}

/** A queue's Redis key prefix: BullMQ's characters, braces for a Cluster's hash tag ("{slowlane}"). */
export function queuePrefix(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[\w.:{}-]{1,100}$/.test(raw)) throw new UsageError(`--${flag} takes letters, digits, ".", ":", "_", "-" and braces (up to 100), e.g. {slowlane} for a Redis Cluster, got "${raw}"`);
  return raw;
}

/** node:util parseArgs' own messages are long; keep the first sentence and the fix. */
export function usageMessage(error: unknown, command: string): string {
  const text = error instanceof Error ? error.message : String(error);
  return `${text.split('\n')[0]!.replace(/\. To specify .*$/, '')} - see "${command} --help"`;
}
