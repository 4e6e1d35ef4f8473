// The task names a pool has been asked for, checked against what its tasks
// module exports once a child has said so: a misspelt name is found at
// ready(), or at run() without a trip to a child, with the module's exports
// in the error for the developer's log.
import { UnknownTaskError } from '../errors.js';

export class TaskNames {
  readonly #expected = new Set<string>();
  #known: ReadonlySet<string> | undefined;

  constructor(readonly tasksUrl: string) {}

  expect(name: string): void {
    this.#expected.add(name);
  }

  /** What a ready child said the module exports (ignored unless a list of strings). */
  learn(names: unknown): void {
    if (this.#known === undefined && Array.isArray(names) && names.every((name) => typeof name === 'string')) this.#known = new Set(names as string[]);
  }

  /** The error for `name` if the module is known not to export it. */
  unknown(name: string): UnknownTaskError | undefined {
    return this.#known === undefined || this.#known.has(name) ? undefined : new UnknownTaskError([name], this.tasksUrl, [...this.#known]);
  }

  /** The error for every expected name the module does not export, once known. */
  missing(): UnknownTaskError | undefined {
    if (this.#known === undefined) return undefined;
    const missing = [...this.#expected].filter((name) => !this.#known!.has(name));
    return missing.length === 0 ? undefined : new UnknownTaskError(missing, this.tasksUrl, [...this.#known]);
  }
}
