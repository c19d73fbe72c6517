/**
 * The parts of one run that the engine's modules share. The engine builds
 * them once, per run, and hands this object to the modules it is made of
 * (`outcomes.ts`, `creation.ts`, `declarations.ts`, `rehosting.ts`,
 * `cache/cache-steps.ts`, `run-end.ts`, `resume-entry.ts`): each reads and
 * changes the run through these parts, and the plan only through `log`.
 * What is not here (how the run ended, its error, the step loop) stays with
 * the engine, which alone decides when things happen.
 */
import type { Plan, PlanNode } from "../plan/plan.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { Attempts } from "./attempts.ts";
import type { Committer } from "./committer.ts";
import type { EngineOptions, ResumeEntry } from "./engine-types.ts";
import type { Waits } from "./waits.ts";

export interface RunParts {
  /** The run's plan (the fold of every event committed so far; the same object as `log.plan`). */
  readonly plan: Plan;
  /** The one way the plan changes: commit an event. */
  readonly log: Committer;
  readonly options: EngineOptions;
  /** Slots, label caps and the ready queue: plan nodes to start, resume entries of suspended tasks. */
  readonly scheduler: Scheduler<PlanNode | ResumeEntry>;
  /** The live attempt of each running or suspended instance, and the pending retries. */
  readonly attempts: Attempts;
  /** Who waits on what, and the waits' armed time limits. */
  readonly waits: Waits;
}
