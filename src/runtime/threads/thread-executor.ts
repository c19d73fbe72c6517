/**
 * The `threads` executor (the default): task functions run in a pool of
 * worker_threads. See `worker/pool.ts` for how attempts are placed and how
 * dead or stuck workers are replaced.
 */
import type { PoolOptions } from "../worker/pool.ts";
import { PoolExecutor } from "../worker/pool.ts";
import { threadTransport } from "./thread-transport.ts";

/**
 * Runs tasks in worker_threads.
 *
 * @example
 * await run(root, inputs, { executor: new ThreadExecutor({ workers: 4, maxOldGenerationSizeMb: 512 }) });
 */
export class ThreadExecutor extends PoolExecutor {
  constructor(options: PoolOptions = {}) {
    super(threadTransport(options), options);
  }
}
