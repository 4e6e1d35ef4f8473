// Turns a failed run into the answer a client gets: a status, one line and
// the headers it needs, never a stack trace. offload() and the demo server
// both answer through it.
import { STATUS_CODES } from 'node:http';
import { ChildStartError, DeadlineError, describeExit, PoolClosedError, QueueFullError, SlowlaneError, TaskCrashedError, TaskError, TaskLoadError, TaskMemoryError, UnknownTaskError } from '../pool/errors.js';
import { withoutCredentials } from './without-credentials.js';

export interface FailureResponse {
  status: number;
  /** One line, newline-terminated. */
  body: string;
  headers: Record<string, string>;
}

/** The same answer as JSON, for APIs whose clients parse every body: `{ status, error, code?, message }`. */
export function failureJson(error: unknown): FailureResponse {
  const failure = failureResponse(error);
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : undefined;
  const body = { status: failure.status, error: STATUS_CODES[failure.status] ?? 'Error', ...(code === undefined ? {} : { code }), message: failure.body.trimEnd() };
  return { status: failure.status, body: `${JSON.stringify(body)}\n`, headers: failure.headers };
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
const CONTROLS = /[\x00-\x1f\x7f\u2028\u2029]/g;

/** One line, with any other control character (an escape sequence a client sent) shown as \xNN, never written raw to a terminal. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim().replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

// Every body goes through here, so none quotes a password from a connection string.
const answer = (status: number, text: string, headers: Record<string, string> = {}): FailureResponse => ({
  status,
  body: `${oneLine(withoutCredentials(text))}\n`,
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
  const extra: Record<string, string> = {};
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) if (typeof value === 'string' && !/[\r\n]/.test(value)) extra[name] = value;
  }
  return answer(code, text, extra);
}

/** Absolute paths and file URLs say how the server is laid out: the client gets `<path>` instead. */
export function withoutPaths(text: string): string {
  return text.replace(/file:\/\/\S+|(?<![\w.:/-])\/(?:[\w.@+-]+\/)+[\w.@+-]*/g, '<path>');
}

/** What the client reads for each of the pool's errors: what happened and what to do, never a path, a pid or a password. */
function poolFailureText(error: SlowlaneError): string {
  if (error instanceof QueueFullError) return 'server busy: too many slow requests are waiting; retry in a second';
  if (error instanceof DeadlineError) return 'server busy: no child was free before the request\'s deadline; retry in a second';
  if (error instanceof ChildStartError) return 'server busy: it cannot start another process right now; retry in a second';
  if (error instanceof PoolClosedError) return 'server is shutting down; retry on another instance';
  if (error instanceof TaskMemoryError) return `task "${error.task}" ran out of its memory allowance (${error.maxMemoryMb} MiB) and was stopped`;
  if (error instanceof TaskCrashedError) return `task "${error.task}" crashed: its child process ${describeExit(error.exitCode, error.signal)} before answering`;
  if (error instanceof TaskLoadError) return 'the server cannot load its tasks module; see its log';
  // A misspelt task name: the module's list of exports is for the log, not for any client.
  if (error instanceof UnknownTaskError) return `task "${error.task}" is not a task of the server's tasks module; see its log`;
  if (error instanceof TaskError && error.name === 'UnknownTaskError') return `task "${error.task}" is not a task of the server's tasks module; see its log`;
  if (error instanceof TaskError) return withoutPaths(`task "${error.task}" failed: ${error.name}: ${error.message}`);
  // The rest (a timeout, a result too large) say nothing of the server's layout.
  return error.message;
}

/**
 * The answer for a failed run. Bodies say what happened and what to do, never
 * a stack, a path, a pid or a password; log the error itself on the server side. The
 * status and headers are the error's own (errors.ts), so a framework's error
 * handling reading `status` gives the same.
 */
export function failureResponse(error: unknown): FailureResponse {
  if (error instanceof SlowlaneError) return answer(error.status, poolFailureText(error), { ...error.headers });
  return ownStatus(error) ?? answer(500, 'internal server error');
}
