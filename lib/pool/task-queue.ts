// A bounded FIFO. A Set keeps insertion order and deletes in O(1), which an
// aborted task waiting in the middle of the queue needs.

export class TaskQueue<T> {
  readonly #items = new Set<T>();

  constructor(readonly maxSize: number) {}

  get size(): number {
    return this.#items.size;
  }

  get full(): boolean {
    return this.#items.size >= this.maxSize;
  }

  push(item: T): void {
    if (this.full) throw new RangeError('queue is full');
    this.#items.add(item);
  }

  /** Puts an item at the head, even past maxSize: it was already accepted once (a run handed back by a child). */
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
