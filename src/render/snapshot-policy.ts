/**
 * The snapshot policies: the one list of the `snapshots` option (of `run()`,
 * `trellis run` and `trellis render`), kept apart from the frame selector so
 * the CLI can offer the choices without loading it.
 */

/**
 * When snapshots are taken:
 * - `all`: after every change.
 * - `steps`: once per scheduler wave (the tasks the scheduler started, after
 *   the results and spawns that let them start), read from the log.
 * - `final`: the end state only.
 * - `none`: no snapshot.
 * - `auto` (default): every change while the plan has at most 30 instances;
 *   a burst of spawns that takes the plan past 30 is one frame; beyond 30,
 *   frames spaced by run time, read from the event timestamps: at least 4×
 *   what the frame costs to draw and 1/8 of the run so far (so frames grow
 *   with the log of the run's length), and past 200 frames further and
 *   further apart; always the end state. Drawing stays a small share of the
 *   run, and the frames are still a pure function of the log.
 */
export const SNAPSHOT_POLICIES = ["auto", "all", "steps", "final", "none"] as const;
export type SnapshotPolicy = (typeof SNAPSHOT_POLICIES)[number];
