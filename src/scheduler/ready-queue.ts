/**
 * A binary heap of runnable entries: higher `priority` first, then creation
 * order (`order`), so the ready order is deterministic.
 */
export interface ReadyEntry {
  readonly id: string;
  readonly kind: "start" | "resume";
  readonly priority: number;
  readonly order: number;
}

function before(a: ReadyEntry, b: ReadyEntry): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.order < b.order;
}

export class ReadyQueue {
  readonly #heap: ReadyEntry[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(entry: ReadyEntry): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as ReadyEntry;
      if (!before(entry, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = entry;
  }

  peek(): ReadyEntry | undefined {
    return this.#heap[0];
  }

  pop(): ReadyEntry | undefined {
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
      const c = r < n && before(h[r] as ReadyEntry, h[l] as ReadyEntry) ? r : l;
      if (!before(h[c] as ReadyEntry, last)) break;
      h[i] = h[c] as ReadyEntry;
      i = c;
    }
    h[i] = last;
    return top;
  }

  /** Removes every entry (used when a run halts). */
  drain(): ReadyEntry[] {
    return this.#heap.splice(0);
  }
}
