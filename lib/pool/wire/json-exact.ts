// Whether JSON carries a message exactly as V8's serializer would: plain
// objects and arrays of strings, booleans, null and finite numbers, small
// enough that checking costs less than the serializer saves. Anything else
// (undefined in an array, -0, NaN, a BigInt, a Buffer, a Map, a Date, a class
// instance, a function or a Proxy, which must fail as they would there) goes
// through V8.
import { types } from 'node:util';

/** Values looked at before giving up: a bigger message gains little from JSON. */
const MOST_VALUES = 64;
/** String characters looked at before giving up, for the same reason. */
const MOST_CHARACTERS = 4096;

/**
 * True when `message` is a plain object whose fields JSON writes and reads
 * back unchanged. A field of the message itself may be undefined (JSON leaves
 * it out, and reading it back gives undefined again); deeper, undefined is
 * a value JSON would lose.
 */
export function jsonExact(message: unknown): boolean {
  if (!isPlainObject(message)) return false;
  const budget = { values: MOST_VALUES, characters: MOST_CHARACTERS };
  for (const key of Object.keys(message)) {
    const value = (message as Record<string, unknown>)[key];
    if (value !== undefined && !exact(value, budget)) return false;
  }
  return true;
}

function exact(value: unknown, budget: { values: number; characters: number }): boolean {
  if ((budget.values -= 1) < 0) return false;
  switch (typeof value) {
    case 'string':
      return (budget.characters -= value.length) >= 0;
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object':
      if (value === null) return true;
      if (Array.isArray(value)) {
        if (types.isProxy(value)) return false;
        // Holes and named properties on an array are V8's to carry.
        if (Object.getPrototypeOf(value) !== Array.prototype || Object.keys(value).length !== value.length) return false;
        for (const item of value) if (!exact(item, budget)) return false;
        return true;
      }
      if (!isPlainObject(value)) return false;
      for (const key of Object.keys(value)) if (!exact((value as Record<string, unknown>)[key], budget)) return false;
      return true;
    default:
      return false;
  }
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || types.isProxy(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
