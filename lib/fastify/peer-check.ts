// slowlane/fastify needs Fastify, an optional peer dependency: say which
// package to install, not "Cannot find module".
import { createRequire } from 'node:module';

export const FASTIFY_MAJOR = 5;

/** Throws if Fastify cannot be found from this package (as the user's app would load it). */
export function assertFastifyInstalled(resolve: (id: string) => string = createRequire(import.meta.url).resolve): void {
  try {
    resolve('fastify');
  } catch {
    throw new Error(`slowlane/fastify needs Fastify ${FASTIFY_MAJOR}: install it with \`npm install fastify@${FASTIFY_MAJOR}\``);
  }
}
