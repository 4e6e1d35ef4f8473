// Text that arrives from Redis (a job's name and label: anyone who can write
// to the queue chooses them) on its way into a worker host's log line: it
// cannot start a line of its own, move a terminal's cursor or flip the text's
// direction, and it is capped.

/** C0 and C1 control characters, DEL, line and paragraph separators, and the bidirectional overrides and isolates. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Longest name or label a log line prints; the rest is cut and marked. */
export const MAX_LOGGED_TEXT = 200;

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}...(${text.length - max} more)` : text);

/** A quoted string, every unprintable character as \uXXXX (JSON's own escapes for the rest): `"GET /slow_pool?id=1"`. */
export function quotedForLog(text: string, max = MAX_LOGGED_TEXT): string {
  return JSON.stringify(cut(text, max)).replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A name as it is when it is a plain word (`heavyLifting`, `orders.report`), quoted as above when it is not: one word in the line whatever it holds. */
export function nameForLog(text: string, max = MAX_LOGGED_TEXT): string {
  return /^[\w.$:-]{1,200}$/.test(text) && text.length <= max ? text : quotedForLog(text, max);
}
