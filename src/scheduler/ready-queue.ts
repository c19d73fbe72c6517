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

/**
 * Entries usually arrive already in ready order (same priority, increasing
 * creation order: a parent spawning children), so they go to a FIFO at O(1);
 * only an entry that would jump the FIFO's tail goes to a binary heap.
 * `pop` takes the earlier of the two heads. The order is exactly the heap's.
 */
export class ReadyQueue<E extends ReadyEntry = ReadyEntry> {
  readonly #heap: E[] = [];
  #fifo: E[] = [];
  #head = 0;

  get size(): number {
    return this.#heap.length + this.#fifo.length - this.#head;
  }

  push(entry: E): void {
    const fifo = this.#fifo;
    if (fifo.length === this.#head || !before(entry, fifo[fifo.length - 1] as E)) fifo.push(entry);
    else this.#heapPush(entry);
  }

  peek(): E | undefined {
    const f = this.#fifo[this.#head];
    const h = this.#heap[0];
    if (f === undefined) return h;
    return h !== undefined && before(h, f) ? h : f;
  }

  pop(): E | undefined {
    const f = this.#fifo[this.#head];
    if (f === undefined) return this.#heapPop();
    const h = this.#heap[0];
    if (h !== undefined && before(h, f)) return this.#heapPop();
    this.#head++;
    if (this.#head === this.#fifo.length) {
      this.#fifo = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#fifo.length) {
      this.#fifo = this.#fifo.slice(this.#head);
      this.#head = 0;
    }
    return f;
  }

  /** Removes every entry (used when a run halts). */
  drain(): E[] {
    const out = this.#fifo.slice(this.#head);
    this.#fifo = [];
    this.#head = 0;
    out.push(...this.#heap.splice(0));
    return out;
  }

  #heapPush(entry: E): void {
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

  #heapPop(): E | undefined {
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
}
