/**
 * Slots and label caps (SPEC section 4). Pure bookkeeping: the run loop
 * pushes entries that are ready to start or resume, and asks for the next one
 * that fits; nothing here knows about workers or clocks.
 *
 * - `slots` bounds the instances running at once. A task suspended in
 *   `waitForAll` holds no slot (the run loop calls {@link Scheduler.release}
 *   when it suspends and pushes a `resume` entry when its wait is satisfied).
 * - A cap (from `MaxParallelism(label, k)`) bounds the running instances it
 *   applies to. An instance under several caps needs a free place under every
 *   one; an entry blocked by a full cap waits in that cap's queue and goes
 *   back to the ready queue when the cap frees a place, so a blocked entry
 *   never holds up the others.
 */
import type { ReadyEntry } from "./ready-queue.ts";
import { ReadyQueue } from "./ready-queue.ts";

/** One running-instance limit; `key` identifies it (e.g. the promise id). */
export interface Cap {
  readonly key: string;
  readonly limit: number;
}

interface CapState<E> {
  limit: number;
  used: number;
  readonly blocked: E[];
}

/** Entries are any objects with an id, a priority and a creation order (the run loop queues plan nodes themselves). */
export class Scheduler<E extends ReadyEntry = ReadyEntry> {
  readonly #ready = new ReadyQueue<E>();
  readonly #caps = new Map<string, CapState<E>>();
  readonly #held = new Map<string, readonly string[]>();
  #running = 0;

  /**
   * @param slots how many may run at once; the run loop may change it between
   *   steps (an executor that pipelines short tasks). Lowering it stops new
   *   starts until enough running instances give theirs back.
   */
  constructor(
    public slots: number,
    private readonly capsFor: (id: string) => readonly Cap[],
  ) {}

  /** Instances holding a slot now. */
  get running(): number {
    return this.#running;
  }

  /** Entries waiting for a slot or a cap place. */
  get queued(): number {
    let n = this.#ready.size;
    for (const c of this.#caps.values()) n += c.blocked.length;
    return n;
  }

  push(entry: E): void {
    this.#ready.push(entry);
  }

  /** The next entry that fits, with its slot and cap places taken; `undefined` when none fits now. */
  next(): E | undefined {
    while (this.#running < this.slots) {
      const entry = this.#ready.pop();
      if (!entry) return undefined;
      const caps = this.capsFor(entry.id);
      if (caps.length === 0) {
        this.#running++;
        return entry;
      }
      let full: CapState<E> | undefined;
      const states: CapState<E>[] = [];
      for (const cap of caps) {
        let s = this.#caps.get(cap.key);
        if (!s) {
          s = { limit: cap.limit, used: 0, blocked: [] };
          this.#caps.set(cap.key, s);
        }
        states.push(s);
        if (s.used >= s.limit) {
          full = s;
          break;
        }
      }
      if (full) {
        full.blocked.push(entry);
        continue;
      }
      for (const s of states) s.used++;
      this.#held.set(
        entry.id,
        caps.map((c) => c.key),
      );
      this.#running++;
      return entry;
    }
    return undefined;
  }

  /** Gives back the slot and cap places `id` holds (it finished or suspended). */
  release(id: string): void {
    this.#running--;
    if (this.#held.size === 0) return;
    const keys = this.#held.get(id);
    if (!keys) return;
    this.#held.delete(id);
    for (const key of keys) {
      const s = this.#caps.get(key);
      if (!s) continue;
      s.used--;
      const entry = s.blocked.shift();
      if (entry) this.#ready.push(entry);
    }
  }

  /**
   * Counts a running instance under caps it did not take when it started (a
   * `MaxParallelism` declared while it runs): it holds those places until it
   * suspends or ends. A cap may be over its limit until then; nothing new
   * starts under it meanwhile. Caps it already holds are ignored.
   */
  adopt(id: string, caps: readonly Cap[]): void {
    const held = this.#held.get(id) ?? [];
    const added: string[] = [];
    for (const cap of caps) {
      if (held.includes(cap.key) || added.includes(cap.key)) continue;
      let s = this.#caps.get(cap.key);
      if (!s) {
        s = { limit: cap.limit, used: 0, blocked: [] };
        this.#caps.set(cap.key, s);
      }
      s.used++;
      added.push(cap.key);
    }
    if (added.length > 0) this.#held.set(id, [...held, ...added]);
  }

  /** Removes every queued entry (a halted run); returns them. */
  drain(): E[] {
    const out = this.#ready.drain();
    for (const s of this.#caps.values()) out.push(...s.blocked.splice(0));
    return out;
  }
}
