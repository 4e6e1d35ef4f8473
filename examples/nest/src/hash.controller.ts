// src/hash.controller.ts: routes whose work runs in a child process. @Req()
// and @Res() are the node:http request and response (Express's extend them),
// and passthrough leaves sending the returned value to Nest: the signal
// aborts the run, and kills its child, if the client goes away.
import { Controller, Get, Header, Query, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, requestSignal } from 'slowlane';
import { TaskPool } from './task-pool.js';

@Controller()
export class HashController {
  constructor(private readonly tasks: TaskPool) {}

  @Get('hash')
  @Header('content-type', 'text/plain; charset=utf-8')
  hash(@Query('text') text: string | undefined, @Query('rounds') roundsText: string | undefined, @Req() req: IncomingMessage, @Res({ passthrough: true }) res: ServerResponse): Promise<unknown> {
    const rounds = Number(roundsText ?? 100_000);
    if (!text) throw new HttpError(400, 'missing query argument: text');
    if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50_000_000)) throw new HttpError(400, 'rounds must be a whole number from 1 to 50000000');
    return this.tasks.pool.run('hashMany', [text, rounds], { signal: requestSignal(req, res) });
  }

  @Get('entries')
  entries(@Query('json') json: string | undefined, @Req() req: IncomingMessage, @Res({ passthrough: true }) res: ServerResponse): Promise<unknown> {
    if (json === undefined) throw new HttpError(400, 'missing query argument: json');
    return this.tasks.pool.run('countEntries', [json], { signal: requestSignal(req, res) });
  }
}
