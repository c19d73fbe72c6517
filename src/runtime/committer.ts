/**
 * The one way a run's plan changes (docs/architecture.md): an event is
 * stamped (version, sequence number, time, run id), appended to the log,
 * shown to the observers that draw the state before it (`beforeEvent`),
 * folded into the plan with the same `applyEvent` a replay uses, and shown
 * to the observers, in that order.
 */
import type { EventDataMap, EventType, TrellisEvent } from "../events/types.ts";
import { EVENT_VERSION } from "../events/types.ts";
import type { EventSink } from "../events/writer.ts";
import { applyEvent } from "../plan/fold.ts";
import type { RunObserver } from "../plan/observer.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { createPlan } from "../plan/plan.ts";

export class Committer {
  /** The run's plan: the fold of every event committed so far. */
  readonly plan: Plan;
  #seq = 0;
  #lastMs = Number.NaN;
  #lastTs = "";
  /** The observers with a `beforeEvent` (usually none): the per-event path skips them with one length check. */
  readonly #before: readonly RunObserver[];

  constructor(
    private readonly runId: string,
    private readonly sink: EventSink,
    private readonly observers: readonly RunObserver[],
    /** Epoch milliseconds for event timestamps. */
    private readonly now: () => number,
    /** A resumed run's plan, folded from its log: `seq` continues after its last event. */
    from?: Plan,
  ) {
    this.plan = from ?? createPlan(runId);
    this.#seq = this.plan.seq;
    this.#before = observers.filter((o) => o.beforeEvent !== undefined);
  }

  /** Appends an event and folds it; `about` is the instance it is about, when the caller holds it (see {@link applyEvent}). */
  commit<K extends EventType>(type: K, data: EventDataMap[K], about?: PlanNode): void {
    const event = {
      v: EVENT_VERSION,
      seq: ++this.#seq,
      ts: this.#timestamp(),
      runId: this.runId,
      type,
      data,
    } as unknown as TrellisEvent;
    this.sink.write(event);
    const before = this.#before;
    for (let i = 0; i < before.length; i++) (before[i] as RunObserver).beforeEvent?.(event, this.plan);
    applyEvent(this.plan, event, about);
    const observers = this.observers; // indexed loops on the per-event path: no iterator object per event
    for (let i = 0; i < observers.length; i++) (observers[i] as RunObserver).onEvent?.(event, this.plan);
  }

  /** ISO time of now; formatted once per millisecond (many events share one). */
  #timestamp(): string {
    const ms = this.now();
    if (ms !== this.#lastMs) {
      this.#lastMs = ms;
      this.#lastTs = new Date(ms).toISOString();
    }
    return this.#lastTs;
  }
}
