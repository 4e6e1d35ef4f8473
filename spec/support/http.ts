// The tests' HTTP client: the one the prototype's client uses, plus a burst.
import { httpRequest, type HttpAnswer } from '../../lib/client/http-get.js';

export type Answer = HttpAnswer;

export function request(url: string, options: { method?: string; signal?: AbortSignal } = {}): Promise<Answer> {
  return httpRequest(url, { ...options, timeoutMs: 30_000 });
}

/** Sends every request at once and returns the answers in arrival order. */
export async function burst(urls: readonly string[]): Promise<{ url: string; answer: Answer }[]> {
  const arrived: { url: string; answer: Answer }[] = [];
  await Promise.all(urls.map(async (url) => arrived.push({ url, answer: await request(url) })));
  return arrived;
}
