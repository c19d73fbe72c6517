/**
 * The `processes` executor: task functions run in a pool of child processes,
 * for isolation (a crash, `process.exit` or native fault stays in its
 * process). Slower to start and to talk to than threads (JSON over IPC).
 */
import type { PoolOptions } from "../worker/pool.ts";
import { PoolExecutor } from "../worker/pool.ts";
import { processTransport } from "./process-transport.ts";

/**
 * Runs tasks in child processes.
 *
 * @example
 * await run(root, inputs, { executor: new ProcessExecutor({ workers: 2 }) });
 */
export class ProcessExecutor extends PoolExecutor {
  constructor(options: PoolOptions = {}) {
    super(processTransport(options), options);
  }
}
