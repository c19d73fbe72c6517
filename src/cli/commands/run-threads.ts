/**
 * `trellis run`'s first worker thread, started ahead of the run: bin/trellis.mjs
 * calls {@link startThreadsEarly} with the command line before it loads the
 * CLI, so the thread loads Trellis while this thread loads the CLI, the
 * engine and the workflow (through tsx for a .ts file on Node 20). The run
 * command takes it as one of its executor's workers, or stops it if the run
 * does not use the threads executor. Kept apart from run.ts, whose imports
 * are the whole engine, and from main.ts, which loads the flag parser.
 */
import { isTypeScriptModule } from "../../runtime/loader/typescript.ts";
import { prestartThreads } from "../../runtime/threads/thread-transport.ts";

/**
 * Starts the first thread of the default executor when `argv` (the
 * arguments after `trellis`) is a `run` that names no other executor with
 * `--executor`: the pool starts the others with the run, which begins once
 * one worker is ready (worker/pool.ts). The flags are not parsed yet, so
 * this only reads what it needs: a .ts argument has the thread get tsx ready
 * (Node 20); a wrong guess costs time, never correctness, since a worker
 * loads tsx whenever a module needs it.
 */
export function startThreadsEarly(argv: readonly string[]): void {
  if (argv[0] !== "run" || argv.includes("-h") || argv.includes("--help")) return;
  let executor = "threads";
  argv.forEach((arg, i) => {
    if (arg === "--executor") executor = argv[i + 1] ?? "";
    else if (arg.startsWith("--executor=")) executor = arg.slice("--executor=".length);
  });
  if (executor !== "threads") return;
  const typescript = argv.slice(1).some((arg) => !arg.startsWith("-") && isTypeScriptModule(arg));
  prestartThreads(1, typescript);
}
