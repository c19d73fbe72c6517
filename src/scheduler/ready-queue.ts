/**
 * A binary heap of runnable entries: higher `priority` first, then creation
 * order (`order`), so the ready order is deterministic.
 */
export interface ReadyEntry {
  readonly id: string;
  readonly priority: number;
  readonly order: number;
}

function before(a: ReadyEntry, b: ReadyEntry): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.order < b.order;
}

export class ReadyQueue<E extends ReadyEntry = ReadyEntry> {
  readonly #heap: E[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(entry: E): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as E;
      if (!before(entry, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = entry;
  }

  peek(): E | undefined {
    return this.#heap[0];
  }

  pop(): E | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r] as E, h[l] as E) ? r : l;
      if (!before(h[c] as E, last)) break;
      h[i] = h[c] as E;
      i = c;
    }
    h[i] = last;
    return top;
  }

  /** Removes every entry (used when a run halts). */
  drain(): E[] {
    return this.#heap.splice(0);
  }
}
