// The runs waiting for a child, first in first out. A Set keeps insertion
// order and deletes in O(1), which an aborted run waiting in the middle of
// the queue needs. How many may wait is the dispatcher's check (maxQueue).

export class TaskQueue<T> {
  readonly #items = new Set<T>();

  get size(): number {
    return this.#items.size;
  }

  push(item: T): void {
    this.#items.add(item);
  }

  /** Puts an item at the head: a run handed back by a child was accepted once already. */
  pushFront(item: T): void {
    const rest = [...this.#items];
    this.#items.clear();
    this.#items.add(item);
    for (const other of rest) this.#items.add(other);
  }

  peek(): T | undefined {
    return this.#items.values().next().value;
  }

  remove(item: T): boolean {
    return this.#items.delete(item);
  }

  /** Empties the queue and returns what it held, oldest first. */
  drain(): T[] {
    const items = [...this.#items];
    this.#items.clear();
    return items;
  }
}
