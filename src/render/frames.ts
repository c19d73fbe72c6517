/**
 * Which states of a run become snapshots. A pure function of the event
 * sequence: the live observer and `renderLog` feed the same events to a
 * {@link FrameSelector} and get the same frames, numbered the same, with
 * byte-identical DOT. Nothing here looks at the clock: the spacing of
 * frames in big plans uses the timestamps written in the events.
 *
 * Events are read in *changes*: an event that changes the drawing starts a
 * change (`task.created`, a status change, a violation, the end of the run)
 * and the events that complete it join it (the new node's edges and
 * preview, pruned placeholders, promises). A frame is the state at the end
 * of a change, so a node is never drawn without its edges.
 *
 * A change is known to have ended only when the next one starts, so a frame
 * is drawn from the plan as it was *before* that event. The selector keeps no
 * plan for a live run: the snapshot observer hands it the run's own plan just
 * before the engine folds each event ({@link FrameSelector.before}), so every
 * event is folded once. A replay ({@link FrameSelector.push}) folds into a
 * plan the selector makes for it.
 */
import type { EventType, TrellisEvent } from "../events/types.ts";
import { applyEvent } from "../plan/fold.ts";
import type { Plan } from "../plan/plan.ts";
import { createPlan } from "../plan/plan.ts";
import type { DotOptions } from "./dot.ts";
import { DEFAULT_GROUP_ABOVE, buildDot } from "./dot.ts";
import type { RefusedSpawn } from "./refused.ts";
import { refusedSpawns } from "./refused.ts";
import type { SnapshotPolicy } from "./snapshot-policy.ts";

export { SNAPSHOT_POLICIES } from "./snapshot-policy.ts";
export type { SnapshotPolicy } from "./snapshot-policy.ts";

/** `auto` draws every change up to this many instances. */
export const AUTO_SMALL_PLAN = 30;
/** `auto` spaces frames further apart after this many. */
export const AUTO_FRAME_CAP = 200;
/** `auto` beyond the small plan: run time between frames, in multiples of the estimated drawing time. */
export const AUTO_COST_SPACING = 4;
/** `auto` beyond the small plan: run time between frames, at least this fraction (1/n) of the run so far. */
export const AUTO_TIME_SLICES = 8;

/** One snapshot: its number (1, 2, ...), the last event it includes, and its DOT (empty when not asked for). */
export interface Frame {
  readonly n: number;
  readonly seq: number;
  readonly dot: string;
}

export interface FrameSelectorOptions {
  readonly policy?: SnapshotPolicy;
  /** Passed to the DOT builder. */
  readonly dot?: Omit<DotOptions, "ghosts">;
  /** Build DOT only for this frame number (the others come back with `dot: ""`). */
  readonly only?: number;
}

type EventClass = "change" | "joins" | "none";

/** How each event type counts; unknown types (a newer log) change nothing. */
export function classOf(type: string): EventClass {
  switch (type as EventType) {
    case "task.created":
    case "task.started":
    case "task.resumed":
    case "task.rehosted":
    case "task.waiting":
    case "task.retrying":
    case "task.succeeded":
    case "task.cached":
    case "task.failed":
    case "task.skipped":
    case "task.cancelled":
    case "promise.violated":
    case "run.resumed":
    case "run.finished":
      return "change";
    case "edge.created":
    case "preview.materialized":
    case "preview.pruned":
    case "promise.declared":
      return "joins";
    case "run.started":
    case "task.log":
    case "task.warning":
    case "task.emitted":
    case "run.deadlock":
      return "none";
    default:
      return "none";
  }
}

function isStart(type: string): boolean {
  return type === "task.started" || type === "task.resumed";
}

const NO_FRAMES: readonly Frame[] = Object.freeze([]);

/**
 * Run time `auto` leaves between two frames of a plan of `n` instances,
 * `elapsed` ms into the run, after `frames` frames: at least
 * {@link AUTO_COST_SPACING} times what the frame costs to draw (so drawing
 * takes a small share of the cores), and at least 1/{@link AUTO_TIME_SLICES}
 * of the run so far (so the number of frames grows with the log of the run's
 * length); past {@link AUTO_FRAME_CAP} frames, twice as long every 10 frames.
 */
export function autoGapMs(n: number, elapsed: number, frames: number, groupAbove = DEFAULT_GROUP_ABOVE): number {
  const over = frames - AUTO_FRAME_CAP;
  const factor = over < 0 ? 1 : 2 ** (1 + Math.floor(over / 10));
  return Math.max(AUTO_COST_SPACING * estimatedDrawMs(n, groupAbove), elapsed / AUTO_TIME_SLICES) * factor;
}

/** Estimated cost in ms of drawing a plan of `n` instances (layout + PNG), used to space `auto` frames. */
export function estimatedDrawMs(n: number, groupAbove: number): number {
  return n <= groupAbove ? 30 + 4 * n : 40 + n / 50;
}

/** Says which states of a plan are snapshots, event by event, and draws them (see the module docs). */
export class FrameSelector {
  /** The plan {@link push} folds into (a replay); never made in a live run. */
  #own: Plan | null = null;
  readonly #policy: SnapshotPolicy;
  readonly #dot: Omit<DotOptions, "ghosts">;
  readonly #only: number | undefined;
  readonly #groupAbove: number;
  /** Type of the event that started the open change, or null when none is open. */
  #open: string | null = null;
  #count = 0;
  #ended = false;
  #lastTs = "";
  #startMs = Number.NaN;
  #lastFrameMs = Number.NaN;
  // auto: a burst of consecutive creations
  #inBurst = false;
  #burstFromSmall = false;
  #burst: string[] = [];
  #burstSeqs: number[] = [];
  #burstOverflow = false;
  readonly #refused: RefusedSpawn[] = [];

  constructor(options: FrameSelectorOptions = {}) {
    this.#policy = options.policy ?? "auto";
    this.#dot = options.dot ?? {};
    this.#only = options.only;
    this.#groupAbove = this.#dot.groupAbove ?? DEFAULT_GROUP_ABOVE;
  }

  /** Frames taken so far. */
  get count(): number {
    return this.#count;
  }

  /** A replay: returns the frames `event` completed (states before it), then folds it into the selector's own plan. */
  push(event: TrellisEvent | { readonly type: string; readonly seq: number; readonly ts: string }): readonly Frame[] {
    if (this.#policy === "none") return NO_FRAMES;
    const plan = (this.#own ??= createPlan());
    const frames = this.before(event, plan);
    applyEvent(plan, event as TrellisEvent);
    return frames;
  }

  /**
   * A live run: `plan` is the run's plan as it is before `event`, which the
   * caller folds into it next. Returns the frames `event` completed, drawn
   * from `plan`; changes nothing in it.
   */
  before(
    event: TrellisEvent | { readonly type: string; readonly seq: number; readonly ts: string },
    plan: Plan,
  ): readonly Frame[] {
    if (this.#policy === "none") return NO_FRAMES;
    const cls = classOf(event.type);
    let frames: Frame[] | null = null;
    if (cls === "change" && this.#open !== null) frames = this.#close(event.type, plan);
    // A refused spawn never reaches the plan: it is drawn from its violation, as a red ghost, from then on.
    if (event.type === "promise.violated") this.#refused.push(...refusedSpawns([event as TrellisEvent]));
    this.#lastTs = event.ts;
    if (Number.isNaN(this.#startMs)) this.#startMs = Date.parse(event.ts);
    if (cls === "change") this.#open = event.type;
    else if (cls === "joins" && this.#open === null) this.#open = "joins";
    return frames ?? NO_FRAMES;
  }

  /** The end of the events: returns the last frames, drawn from `plan`, the final state (by default the plan {@link push} folded). Idempotent. */
  end(plan: Plan = (this.#own ??= createPlan())): readonly Frame[] {
    if (this.#ended || this.#policy === "none") return NO_FRAMES;
    this.#ended = true;
    const frames = this.#open !== null ? this.#close(null, plan) : [];
    this.#open = null;
    return frames;
  }

  #frame(out: Frame[], plan: Plan, dot?: string, seq = plan.seq): void {
    const n = ++this.#count;
    const wanted = this.#only === undefined || this.#only === n;
    out.push({ n, seq, dot: wanted ? (dot ?? this.#buildDot(plan)) : "" });
    this.#lastFrameMs = Date.parse(this.#lastTs);
  }

  /** The open change ended; `next` is the type of the change that follows (null at the end). */
  #close(next: string | null, plan: Plan): Frame[] {
    const started = this.#open as string;
    this.#open = null;
    const out: Frame[] = [];
    switch (this.#policy) {
      case "all":
        this.#frame(out, plan);
        break;
      case "steps":
        if (next === null || (isStart(started) && !isStart(next))) this.#frame(out, plan);
        break;
      case "final":
        if (next === null) this.#frame(out, plan);
        break;
      case "auto":
        this.#auto(out, started, next, plan);
        break;
      case "none":
        break;
      default: {
        const never: never = this.#policy;
        void never;
      }
    }
    return out;
  }

  #auto(out: Frame[], started: string, next: string | null, plan: Plan): void {
    const n = plan.nodes.size;
    const small = n <= AUTO_SMALL_PLAN;
    if (started !== "task.created") {
      if (next === null || small || this.#due(n)) this.#frame(out, plan);
      return;
    }
    if (!this.#inBurst) {
      this.#inBurst = true;
      this.#burstFromSmall = n - 1 <= AUTO_SMALL_PLAN;
    }
    if (next === "task.created") {
      // Inside a burst of spawns: keep its small states, decide when it ends.
      if (!this.#burstFromSmall) {
        if (this.#due(n)) this.#frame(out, plan);
      } else if (small && !this.#burstOverflow) {
        this.#burst.push(this.#buildDot(plan));
        this.#burstSeqs.push(plan.seq);
      } else {
        this.#burstOverflow = true;
        this.#burst = [];
        this.#burstSeqs = [];
      }
      return;
    }
    // The burst ended. One that took a small plan past the limit is one frame.
    const grewPastSmall = this.#burstFromSmall && (this.#burstOverflow || !small);
    if (!grewPastSmall) this.#burst.forEach((dot, i) => this.#frame(out, plan, dot, this.#burstSeqs[i]));
    this.#burst = [];
    this.#burstSeqs = [];
    this.#burstOverflow = false;
    this.#inBurst = false;
    if (next === null || small || grewPastSmall || this.#due(n)) this.#frame(out, plan);
  }

  #buildDot(plan: Plan): string {
    return buildDot(plan, this.#refused.length === 0 ? this.#dot : { ...this.#dot, refused: this.#refused });
  }

  /** `auto` beyond the small plan: has enough run time passed since the last frame (see {@link autoGapMs})? */
  #due(n: number): boolean {
    const now = Date.parse(this.#lastTs);
    if (Number.isNaN(now) || Number.isNaN(this.#lastFrameMs)) return Number.isNaN(this.#lastFrameMs);
    const elapsed = Number.isNaN(this.#startMs) ? 0 : now - this.#startMs;
    return now - this.#lastFrameMs >= autoGapMs(n, elapsed, this.#count, this.#groupAbove);
  }
}
