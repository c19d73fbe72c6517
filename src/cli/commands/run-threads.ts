/**
 * `trellis run`'s worker threads, started ahead of the run: the CLI calls
 * {@link startThreadsEarly} before it imports the run command, so the threads
 * load Trellis while this thread loads the engine and the workflow (through
 * tsx for a .ts file on Node 20). The run command stops those the run does
 * not take. Kept apart from run.ts, whose imports are the whole engine.
 */
import { availableParallelism } from "node:os";
import { isTypeScriptModule } from "../../runtime/loader/typescript.ts";
import { prestartThreads } from "../../runtime/threads/thread-transport.ts";
import type { RunFlags } from "./run.ts";

/** Starts the threads of the default executor, unless --executor names another. */
export function startThreadsEarly(moduleSpec: string, flags: RunFlags): void {
  if ((flags.executor ?? "threads") === "threads")
    prestartThreads(flags.workers ?? Math.max(1, availableParallelism()), isTypeScriptModule(moduleSpec));
}
