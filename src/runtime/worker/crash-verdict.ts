/**
 * Who pays for a worker that died (pure). A worker hosts many attempts: the
 * one that was running and broke it (the culprit), parents suspended in
 * `waitForAll`, pipelined siblings. Only the culprit may fail; every other
 * attempt is run again from the start on a healthy worker (a replay, not a
 * failed attempt). When the culprit cannot be told apart (out of memory, a
 * worker stuck in a loop, a kill from outside), the attempts that were running
 * are suspects: each runs again alone on a worker, so the next crash names
 * its culprit. A task that has been the culprit or a suspect of
 * `maxWorkerCrashes` dying workers fails for good (Dask's `allowed-failures`).
 *
 * The pool gathers the facts ({@link Death}); {@link judgeDeath} decides.
 */

/** One attempt the dead worker hosted, as the pool saw it. */
export interface HostedAttempt {
  readonly id: string;
  readonly attempt: number;
  /**
   * `running`: started or resumed and not suspended (it may have been executing);
   * `waiting`: suspended in `waitForAll` (its code was not running);
   * `aborted`: the engine already settled it (a timeout, a cancel) and only told the worker to stop.
   */
  readonly state: "running" | "waiting" | "aborted";
}

/** What the pool knows about a worker that died. */
export interface Death {
  readonly hosted: readonly HostedAttempt[];
  /** The attempt whose code ended the worker, when the worker could say (its `process.exit`, its uncaught error); null when it could not. */
  readonly culprit: { readonly id: string; readonly attempt: number } | null;
}

/**
 * What happens to one hosted attempt:
 * - `culprit`: it broke the worker: it fails with `WORKER_CRASH`, a failed attempt (its `retries` apply);
 * - `limit`: it has now been on `limit` dying workers: it fails with `WORKER_CRASH` and is not retried;
 * - `suspect`: it may have broken the worker: it runs again, alone on a worker, not counted as a failed attempt;
 * - `innocent`: it did not: it runs again on a healthy worker, not counted;
 * - `settled`: the engine already ended it (aborted): nothing to do.
 */
export type VerdictKind = "culprit" | "limit" | "suspect" | "innocent" | "settled";

export interface Verdict {
  readonly id: string;
  readonly attempt: number;
  readonly kind: VerdictKind;
  /** Dying workers this task (any attempt) has been the culprit or a suspect of, this one included. */
  readonly crashes: number;
}

/**
 * Decides the fate of each attempt the dead worker hosted. `crashes` holds
 * each task's count of dying workers so far (by id); the returned verdicts
 * carry the new counts, which the caller stores. `limit` ≥ 1.
 */
export function judgeDeath(death: Death, crashes: ReadonlyMap<string, number>, limit: number): Verdict[] {
  const { hosted, culprit } = death;
  let charged: (a: HostedAttempt) => boolean;
  let alone: boolean;
  if (culprit !== null) {
    // The worker named it: every other attempt is innocent (also when the culprit itself had been settled or had finished).
    charged = (a) => a.id === culprit.id && a.attempt === culprit.attempt;
    alone = true;
  } else {
    const running = hosted.filter((a) => a.state === "running").length;
    const aborted = hosted.filter((a) => a.state === "aborted").length;
    // An aborted attempt may still be executing (a loop that ignores its signal), so it hides the culprit too.
    // Only when nothing was executing could a suspended attempt have done it (a callback it left behind).
    charged = running + aborted > 0 ? (a) => a.state === "running" : () => true;
    alone = running === 1 && aborted === 0;
  }
  return hosted.map((a): Verdict => {
    const before = crashes.get(a.id) ?? 0;
    if (a.state === "aborted") return { id: a.id, attempt: a.attempt, kind: "settled", crashes: before };
    if (!charged(a)) return { id: a.id, attempt: a.attempt, kind: "innocent", crashes: before };
    const now = before + 1;
    return { id: a.id, attempt: a.attempt, kind: now >= limit ? "limit" : alone ? "culprit" : "suspect", crashes: now };
  });
}
