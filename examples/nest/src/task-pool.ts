// The provider that owns the pool: Nest creates one, and closes it on
// shutdown (enableShutdownHooks), letting running tasks finish first.
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ChildPool } from 'slowlane';

@Injectable()
export class TaskPool implements OnModuleDestroy {
  readonly pool = new ChildPool({
    tasks: new URL('../../tasks.mjs', import.meta.url), // examples/tasks.mjs, from src/ or dist/
    maxChildren: 2,                                     // children computing at once
    timeoutMs: Number(process.env.TIMEOUT_MS ?? 5000),  // a task running longer is killed: 504
  });

  onModuleDestroy(): Promise<void> {
    return this.pool.close();
  }
}
