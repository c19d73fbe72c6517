/**
 * Live progress of a run, fed by the engine as a {@link RunObserver}. On a
 * terminal: one spinner line (ora) with the counts by status and the elapsed
 * time. In CI or a pipe: plain lines, one when something goes wrong (a broken
 * promise, a failed task, a deadlock) and a counts line every few seconds for
 * long runs. `ctx.log(...)` lines show as they happen, prefixed with the
 * task's id (`logs: false` hides them). Either way it records what the summary
 * needs: the violations, the task that failed first, and how long each task
 * ran.
 */
import type { Ora } from "ora";
import { ErrorCodes } from "../errors.ts";
import { decode } from "../events/codec.ts";
import type { EventOf, TrellisEvent } from "../events/types.ts";
import type { Plan } from "../plan/plan.ts";
import type { RunObserver } from "../plan/observer.ts";
import { describeCounts, describeDuration, describeValue, describeViolation } from "./summary.ts";
import type { FailureNote, TaskTime, ViolationNote } from "./summary.ts";

/** `tty`: a live spinner line; `plain`: log lines; `off`: nothing (the summary still prints). */
export type ProgressMode = "tty" | "plain" | "off";

/** A terminal that can redraw a line, and not CI (where logs are kept as text). */
export function detectProgressMode(
  stream: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): ProgressMode {
  // A pseudo-terminal that reports no width (some CI runners) cannot redraw a line: ora would miscount the lines to erase.
  if (!stream.isTTY || !(stream.columns > 0)) return "plain";
  if (env["CI"] && env["CI"] !== "false" && env["CI"] !== "0") return "plain";
  if (env["TERM"] === "dumb") return "plain";
  return "tty";
}

export interface ProgressOptions {
  readonly mode: ProgressMode;
  /** What is running, shown first on each line. */
  readonly label: string;
  /** Where progress goes. Default stderr (the summary goes to stdout). */
  readonly stream?: NodeJS.WriteStream;
  /** Seconds between counts lines in plain mode. Default 5. */
  readonly plainEverySeconds?: number;
  /** Show `ctx.log(...)` lines as they happen (`--quiet` turns them off), whatever the mode. Default `true`. */
  readonly logs?: boolean;
  /** Clock for task durations, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** One `ctx.log` line: `[root/square#3] reduced { sum: 91 }`. */
export function describeLog(id: string, message: string, fields: unknown): string {
  const empty =
    fields === null || fields === undefined || (typeof fields === "object" && Object.keys(fields).length === 0);
  return `[${id}] ${message}${empty ? "" : ` ${describeValue(fields)}`}`;
}

export class ProgressReporter implements RunObserver {
  readonly violations: ViolationNote[] = [];
  /** The task that failed first with an error of its own (not a child's failure passed up), if any. */
  failure: FailureNote | null = null;
  /** The run's end as the log recorded it, once it did. */
  finished: EventOf<"run.finished">["data"] | null = null;
  /** Per task: since when it runs (while it holds a slot) and for how long it ran before. */
  readonly #times = new Map<string, { since: number; ms: number }>();
  readonly #now: () => number;
  readonly #o: ProgressOptions;
  readonly #stream: NodeJS.WriteStream;
  #plan: Plan | null = null;
  #startedAt = 0;
  #spinner: Ora | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ended = false;

  constructor(options: ProgressOptions) {
    this.#stream = options.stream ?? process.stderr;
    const canRedraw = this.#stream.isTTY === true && this.#stream.columns > 0;
    this.#o = options.mode === "tty" && !canRedraw ? { ...options, mode: "plain" } : options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The `n` tasks that ran longest (time holding a slot: a parent suspended in `waitForAll` is not counted), longest first. */
  slowest(n = 3): TaskTime[] {
    const now = this.#now();
    const all: TaskTime[] = [];
    for (const [id, t] of this.#times) all.push({ id, ms: Number.isNaN(t.since) ? t.ms : t.ms + now - t.since });
    return all.sort((a, b) => b.ms - a.ms || (a.id < b.id ? -1 : 1)).slice(0, n);
  }

  #ran(id: string): void {
    const t = this.#times.get(id);
    if (t) t.since = this.#now();
    else this.#times.set(id, { since: this.#now(), ms: 0 });
  }

  #paused(id: string): void {
    const t = this.#times.get(id);
    if (!t || Number.isNaN(t.since)) return;
    t.ms += this.#now() - t.since;
    t.since = Number.NaN;
  }

  /** Starts the spinner (tty) or the periodic counts line (plain). */
  async start(): Promise<void> {
    this.#startedAt = performance.now();
    if (this.#o.mode === "tty") {
      const { default: ora } = await import("ora");
      this.#spinner = ora({ text: this.#text(), stream: this.#stream, discardStdin: false }).start();
      this.#timer = setInterval(() => this.#refresh(), 100);
    } else if (this.#o.mode === "plain") {
      const every = (this.#o.plainEverySeconds ?? 5) * 1000;
      this.#timer = setInterval(() => this.#line(this.#text()), every);
    }
    this.#timer?.unref();
  }

  onEvent(event: TrellisEvent, plan: Plan): void {
    this.#plan = plan;
    switch (event.type) {
      case "task.started":
      case "task.resumed":
      case "task.rehosted":
        this.#ran(event.data.id);
        return;
      case "task.waiting":
      case "task.succeeded":
      case "task.cancelled":
      case "task.retrying":
        this.#paused(event.data.id);
        return;
      case "task.log":
        if (this.#o.logs !== false)
          this.#print(describeLog(event.data.id, event.data.message, decode(event.data.fields)));
        return;
      case "task.warning":
        this.#line(`warning: ${event.data.id}: ${event.data.code}: ${event.data.message}`);
        return;
      case "promise.violated":
        this.violations.push(event.data);
        this.#line(`broken promise: ${describeViolation(event.data)}`);
        return;
      case "task.failed":
        this.#paused(event.data.id);
        // A parent that re-throws a child's TaskFailedError is not where it went wrong.
        if (
          this.failure === null ||
          (this.failure.error.code === ErrorCodes.TASK_FAILED && event.data.error.code !== ErrorCodes.TASK_FAILED)
        )
          this.failure = { id: event.data.id, attempt: event.data.attempt, error: event.data.error };
        this.#line(
          `task failed: ${event.data.id}: ${event.data.error.code}: ${event.data.error.message.split("\n")[0] ?? ""}`,
        );
        return;
      case "run.deadlock": {
        // The engine's message already starts with "deadlock:".
        const text = event.data.message.split("\n")[0] ?? "";
        this.#line(text.startsWith("deadlock") ? text : `deadlock: ${text}`);
        return;
      }
      case "run.finished":
        this.#ended = true;
        this.finished = event.data;
        return;
      default:
        return;
    }
  }

  onStep(plan: Plan): void {
    this.#plan = plan;
  }

  /** Stops the spinner and timers; call before printing the summary. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#spinner?.stop();
    this.#spinner = null;
  }

  async close(): Promise<void> {
    this.stop();
  }

  #text(): string {
    const plan = this.#plan;
    const counts = plan && plan.nodes.size > 0 ? describeCounts(plan.counts, plan.cached) : "starting";
    // After run.finished the run still waits for the last snapshot images.
    const phase = this.#ended ? "  · drawing the last snapshots" : "";
    return `${this.#o.label}  ${counts}  ${describeDuration(performance.now() - this.#startedAt)}${phase}`;
  }

  #refresh(): void {
    if (this.#spinner) this.#spinner.text = this.#text();
  }

  /** A progress line that stays: above the spinner on a terminal, as is in plain mode, nothing when progress is off. */
  #line(text: string): void {
    if (this.#o.mode === "off") return;
    this.#print(text);
  }

  /** A line above the spinner, whatever the mode. */
  #print(text: string): void {
    if (this.#spinner) {
      this.#spinner.clear();
      this.#stream.write(`${text}\n`);
      this.#spinner.render();
    } else this.#stream.write(`${text}\n`);
  }
}
