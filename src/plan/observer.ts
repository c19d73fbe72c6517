/**
 * The observer interface of a run. It lives here, below runtime/ and render/,
 * so the engine can call observers and the layers above (snapshots in
 * render/, the progress line in report/) can implement them without either
 * importing the other: whoever starts a run attaches the observers it wants.
 */
import type { TrellisEvent } from "../events/types.ts";
import type { Plan } from "./plan.ts";

/** Watches a run: gets every event after it is folded, and a call at the end of each scheduler step. */
export interface RunObserver {
  /**
   * Gets every event just before the engine folds it, with the run's plan as
   * it is before that event (the snapshot observer draws the state a change
   * ends from it, so no observer needs a plan of its own). Must not change the plan.
   */
  beforeEvent?(event: TrellisEvent, plan: Plan): void;
  onEvent?(event: TrellisEvent, plan: Plan): void;
  onStep?(plan: Plan): void;
  /** Called once when the run ended; the run waits for it (e.g. pending images). */
  close?(plan: Plan): Promise<void>;
}
