// src/failure.filter.ts: any failure becomes a status and one line, never a
// stack trace. A client that left is neither answered nor logged: its run was
// aborted on purpose.
import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { failureResponse } from 'slowlane';

@Catch()
export class FailureFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    if (res.destroyed || res.headersSent) return;
    const { status, headers, body } = failureResponse(error);
    if (status >= 500) Logger.error(error, 'FailureFilter'); // the log gets the stack
    res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(body);
  }
}
