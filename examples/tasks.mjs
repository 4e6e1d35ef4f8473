// Your tasks module: every exported function is a task. Plain functions, sync or async.
import { createHash } from 'node:crypto';

export function hashMany(text, rounds) {
  let digest = text;
  for (let i = 0; i < rounds; i += 1) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}
