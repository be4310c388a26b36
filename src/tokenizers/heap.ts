/**
 * A small binary min-heap, used by BPE training (most frequent pair next) and BPE encoding
 * (lowest-rank merge next).
 */

/**
 * Binary heap ordered by `less`: `pop()` returns an item that no other item is `less` than.
 *
 * @example
 * ```ts
 * const h = new MinHeap<number>((a, b) => a < b);
 * h.push(3); h.push(1); h.push(2);
 * h.pop(); // 1
 * ```
 */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  /** Number of items in the heap. */
  get size(): number {
    return this.items.length;
  }

  /** Add an item. */
  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  /** Remove and return the smallest item, or `undefined` when empty. */
  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(items[left], items[smallest])) smallest = left;
        if (right < items.length && this.less(items[right], items[smallest])) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest], items[i]];
        i = smallest;
      }
    }
    return top;
  }
}
