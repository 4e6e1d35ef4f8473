// tasks.mjs: every exported function is a task, sync or async.
import { createHash } from 'node:crypto';

export function hashMany(text, rounds) {
  let digest = text;
  for (let i = 0; i < rounds; i += 1) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

// A generator task: pool.stream() (and offload's stream option) sends each
// value as it is yielded, and the child waits while the reader is behind.
export async function* digests(text, count) {
  let digest = text;
  for (let i = 0; i < count; i += 1) {
    digest = createHash('sha256').update(digest).digest('hex');
    yield `${i},${digest}\n`;
  }
}

// Parsing a big document blocks the loop as surely as hashing does. A
// malformed one throws SyntaxError here, in the child: the route answers 500
// with one line naming it, never the stack.
export function countEntries(json) {
  const value = JSON.parse(json);
  return { entries: typeof value === 'object' && value !== null ? Object.keys(value).length : 0 };
}
