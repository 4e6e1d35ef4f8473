// src/task-pool.ts: the provider that owns the pool. Nest creates one, and
// closes it on shutdown (enableShutdownHooks), letting running tasks finish
// first.
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ChildPool } from 'slowlane';

@Injectable()
export class TaskPool implements OnModuleInit, OnModuleDestroy {
  readonly pool = new ChildPool({
    tasks: new URL('../tasks.mjs', import.meta.url),   // beside package.json: this file runs as dist/task-pool.js
    maxChildren: 2,                                    // children computing at once
    timeoutMs: Number(process.env.TIMEOUT_MS ?? 5000), // a task running longer is killed: 504
  });

  // Nest awaits this before it listens: a tasks module that cannot load (a
  // wrong URL), or that lacks a task the routes run, stops the start-up here
  // instead of failing the first request.
  async onModuleInit(): Promise<void> {
    for (const task of ['hashMany', 'countEntries']) this.pool.expectTask(task);
    await this.pool.ready();
  }

  onModuleDestroy(): Promise<void> {
    return this.pool.close();
  }
}
