/**
 * `trellis run`'s first worker thread, started ahead of the run: the CLI calls
 * {@link startThreadsEarly} before it imports the run command, so the thread
 * loads Trellis while this thread loads the engine and the workflow (through
 * tsx for a .ts file on Node 20). The run command stops it if the run does
 * not take it. Kept apart from run.ts, whose imports are the whole engine.
 */
import { isTypeScriptModule } from "../../runtime/loader/typescript.ts";
import { prestartThreads } from "../../runtime/threads/thread-transport.ts";
import type { RunFlags } from "./run.ts";

/**
 * Starts the first thread of the default executor, unless --executor names
 * another: the pool starts with one worker and adds the others when the run
 * has work for them (worker/pool.ts).
 */
export function startThreadsEarly(moduleSpec: string, flags: RunFlags): void {
  if ((flags.executor ?? "threads") === "threads") prestartThreads(1, isTypeScriptModule(moduleSpec));
}
