// src/main.ts: a NestJS app whose CPU-heavy routes run in a pool of child processes.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FailureFilter } from './failure.filter.js';
import { HashController } from './hash.controller.js';
import { TaskPool } from './task-pool.js';

@Module({ controllers: [HashController], providers: [TaskPool] })
class AppModule {}

const app = await NestFactory.create(AppModule);
app.useGlobalFilters(new FailureFilter());
app.enableShutdownHooks(); // SIGTERM: the pool closes (TaskPool.onModuleDestroy), then the server
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
console.log(`listening on ${await app.getUrl()}`);
