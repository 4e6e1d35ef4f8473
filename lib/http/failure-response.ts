// Turns a failed run into the answer a client gets: a status and one line,
// never a stack trace.
import { ExecutorClosedError, QueueFullError, TaskCrashedError, TaskError, TaskLoadError, TaskTimeoutError } from '../offload/errors.js';
import { HttpError } from './http-error.js';

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

export function failureResponse(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof QueueFullError) return new HttpError(503, 'server busy: too many slow requests are waiting; retry in a second', { 'retry-after': '1' });
  if (error instanceof ExecutorClosedError) return new HttpError(503, 'server is shutting down; retry on another instance', { 'retry-after': '1' });
  if (error instanceof TaskTimeoutError) return new HttpError(504, oneLine(error.message));
  if (error instanceof TaskCrashedError || error instanceof TaskLoadError) return new HttpError(500, oneLine(error.message));
  if (error instanceof TaskError) return new HttpError(500, oneLine(`task "${error.task}" failed: ${error.name}: ${error.message}`));
  return new HttpError(500, 'internal server error');
}
