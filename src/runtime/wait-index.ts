/**
 * Who waits on which instance. Indexed by the instance's creation order
 * (`PlanNode.order`, a small integer) rather than by id: a parent waiting on
 * 100,000 children registers 100,000 waits, and an array slot holding the
 * record itself costs neither a hash-table insert nor an array per child.
 * A slot holds one record, or a list when several waits share the instance.
 */
export class WaitIndex<R extends object> {
  readonly #at: (R | R[] | undefined)[] = [];

  /** Registers `record` on the instance at `order`; false when it is already its latest waiter (an id twice in one wait). */
  add(order: number, record: R): boolean {
    const slot = this.#at[order];
    if (slot === undefined) {
      this.#fill(order);
      this.#at[order] = record;
      return true;
    }
    if (Array.isArray(slot)) {
      if (slot[slot.length - 1] === record) return false;
      slot.push(record);
      return true;
    }
    if (slot === record) return false;
    this.#at[order] = [slot, record];
    return true;
  }

  /** Un-registers `record` from the instance at `order` if it is its latest waiter (a wait refused half way). */
  removeLatest(order: number, record: R): void {
    const slot = this.#at[order];
    if (slot === record) this.#at[order] = undefined;
    else if (Array.isArray(slot) && slot[slot.length - 1] === record) slot.pop();
  }

  /** Un-registers `record` from the instance at `order`, wherever it is in the list (a wait that ended early). */
  remove(order: number, record: R): void {
    const slot = this.#at[order];
    if (slot === record) this.#at[order] = undefined;
    else if (Array.isArray(slot)) {
      const i = slot.indexOf(record);
      if (i >= 0) slot.splice(i, 1);
    }
  }

  /** Removes and returns the waiters of the instance at `order`: one record, a list, or `undefined`. */
  take(order: number): R | R[] | undefined {
    const slot = this.#at[order];
    if (slot !== undefined) this.#at[order] = undefined;
    return slot;
  }

  /** Every registered record (deadlock reports). */
  *records(): Generator<R> {
    for (const slot of this.#at) {
      if (slot === undefined) continue;
      if (Array.isArray(slot)) yield* slot;
      else yield slot;
    }
  }

  /** Grows the array with explicit `undefined`s so it never becomes sparse (slow, dictionary-backed). */
  #fill(order: number): void {
    const at = this.#at;
    while (at.length < order) at.push(undefined);
  }
}
