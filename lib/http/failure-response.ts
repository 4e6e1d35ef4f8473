// Turns a failed run into the answer a client gets: a status, one line and
// the headers it needs, never a stack trace. offload() and the demo server
// both answer through it.
import { PoolClosedError, QueueFullError, TaskCrashedError, TaskError, TaskLoadError, TaskTimeoutError } from '../pool/errors.js';

export interface FailureResponse {
  status: number;
  /** One line, newline-terminated. */
  body: string;
  headers: Record<string, string>;
}

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

const answer = (status: number, text: string, headers: Record<string, string> = {}): FailureResponse => ({
  status,
  body: `${oneLine(text)}\n`,
  headers,
});

/** An error that carries its own HTTP status, as HttpError and the `http-errors` package's errors do. */
function ownStatus(error: unknown): FailureResponse | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode, expose, message, headers } = error as Record<string, unknown>;
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 599) return undefined;
  // Client errors say what was wrong; server errors keep their message to the log unless marked safe.
  const show = typeof expose === 'boolean' ? expose : code < 500;
  const text = show && typeof message === 'string' && message !== '' ? message : code < 500 ? 'bad request' : 'internal server error';
  const extra = typeof headers === 'object' && headers !== null ? (headers as Record<string, string>) : {};
  return answer(code, text, extra);
}

export function failureResponse(error: unknown): FailureResponse {
  const own = ownStatus(error);
  if (own !== undefined) return own;
  if (error instanceof QueueFullError) return answer(503, 'server busy: too many slow requests are waiting; retry in a second', { 'retry-after': '1' });
  if (error instanceof PoolClosedError) return answer(503, 'server is shutting down; retry on another instance', { 'retry-after': '1' });
  if (error instanceof TaskTimeoutError) return answer(504, error.message);
  if (error instanceof TaskCrashedError || error instanceof TaskLoadError) return answer(500, error.message);
  if (error instanceof TaskError) return answer(500, `task "${error.task}" failed: ${error.name}: ${error.message}`);
  return answer(500, 'internal server error');
}
