import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { Cap } from "../../dist/scheduler/scheduler.js";
import { Scheduler } from "../../dist/scheduler/scheduler.js";
import { ReadyQueue } from "../../dist/scheduler/ready-queue.js";

const entry = (id: string, order: number, priority = 0) => ({ id, order, priority });

describe("scheduler", () => {
  test("ready instances start by priority, then creation order", () => {
    const s = new Scheduler(10, () => []);
    s.push(entry("c", 3));
    s.push(entry("a", 1));
    s.push(entry("hi", 9, 5));
    s.push(entry("b", 2));
    expect([s.next(), s.next(), s.next(), s.next()].map((e) => e?.id)).toEqual(["hi", "a", "b", "c"]);
  });

  test("slots bound running instances and are given back", () => {
    const s = new Scheduler(2, () => []);
    for (let i = 1; i <= 3; i++) s.push(entry(`t${i}`, i));
    expect(s.next()?.id).toBe("t1");
    expect(s.next()?.id).toBe("t2");
    expect(s.next()).toBeUndefined();
    s.release("t1");
    expect(s.next()?.id).toBe("t3");
  });

  test("an instance under several caps needs a place under every one, and a blocked one does not hold up others", () => {
    const caps: Record<string, Cap[]> = {
      ab: [
        { key: "A", limit: 1 },
        { key: "B", limit: 1 },
      ],
      a: [{ key: "A", limit: 1 }],
      b: [{ key: "B", limit: 1 }],
      free: [],
    };
    const s = new Scheduler(10, (id) => caps[id.split("#")[0] as string] ?? []);
    s.push(entry("b#1", 1));
    s.push(entry("ab#1", 2));
    s.push(entry("a#1", 3));
    s.push(entry("free#1", 4));
    // b#1 takes B; ab#1 is blocked by B (and must not take A meanwhile); a#1 takes A; free runs.
    expect([s.next()?.id, s.next()?.id, s.next()?.id, s.next()?.id]).toEqual(["b#1", "a#1", "free#1", undefined]);
    s.release("b#1");
    expect(s.next()).toBeUndefined(); // ab#1 now waits for A
    s.release("a#1");
    expect(s.next()?.id).toBe("ab#1");
  });
});

describe("ready queue", () => {
  test("pops in priority then creation order for any mix of pushes and pops", () => {
    // Pushes are mostly in order (the FIFO path) with some that jump ahead (the heap path).
    const op = fc.oneof(
      fc.record({ push: fc.constant(true), priority: fc.constantFrom(0, 0, 0, 1, -1, 5), back: fc.nat({ max: 3 }) }),
      fc.record({ push: fc.constant(false) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const queue = new ReadyQueue();
        const model: { id: string; priority: number; order: number }[] = [];
        let next = 1000;
        for (const o of ops) {
          if ("priority" in o) {
            next += 1;
            const entry = { id: `e${next}`, priority: o.priority, order: o.back === 0 ? next - 2000 : next }; // back 0: an older entry (a resume)
            queue.push(entry);
            model.push(entry);
          } else {
            model.sort((a, b) => b.priority - a.priority || a.order - b.order);
            expect(queue.pop()?.id).toBe(model.shift()?.id);
          }
          expect(queue.size).toBe(model.length);
        }
        model.sort((a, b) => b.priority - a.priority || a.order - b.order);
        expect(
          queue
            .drain()
            .map((e) => e.id)
            .sort(),
        ).toEqual(model.map((e) => e.id).sort());
      }),
      { numRuns: 500 },
    );
  });
});
