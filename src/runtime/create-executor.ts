/**
 * The executors by name: what `run()`'s `executor` option and the CLI's
 * `--executor` pick. Light to import (the package entry exports it, and every
 * worker imports the entry): the thread, process and bullmq executors load
 * when chosen.
 */
import type { BullMQExecutorOptions } from "./bullmq/bullmq-executor.ts";
import type { Executor, ExecutorKind } from "./executor.ts";
import { InlineExecutor } from "./inline-executor.ts";
import { invalidOption } from "./invalid-option.ts";
import type { TaskRegistry } from "../task/registry.ts";

/** What {@link createExecutor} passes on: the pools' crash limit, the `bullmq` executor's Redis and queue. */
export interface ExecutorSettings {
  readonly maxWorkerCrashes?: number | undefined;
  readonly redis?: string | undefined;
  readonly queue?: string | undefined;
}

/** Creates the executor named by `kind`. Threads, processes and bullmq are loaded lazily. */
export async function createExecutor(
  kind: ExecutorKind,
  workers: number,
  registry: TaskRegistry,
  settings: ExecutorSettings = {},
): Promise<Executor> {
  const { maxWorkerCrashes, ...remote } = settings;
  const pool = maxWorkerCrashes === undefined ? { workers } : { workers, maxWorkerCrashes };
  switch (kind) {
    case "inline":
      return new InlineExecutor({ concurrency: workers, registry });
    case "threads": {
      const { ThreadExecutor } = await import("./threads/thread-executor.ts");
      return new ThreadExecutor(pool);
    }
    case "processes": {
      const { ProcessExecutor } = await import("./processes/process-executor.ts");
      return new ProcessExecutor(pool);
    }
    case "bullmq": {
      const redis = remote.redis ?? process.env["TRELLIS_REDIS"];
      if (redis === undefined || redis === "")
        invalidOption(
          "redis",
          "a Redis URL for the bullmq executor (redis://host:6379, rediss:// for TLS; or set TRELLIS_REDIS)",
          redis,
        );
      return bullmqExecutor({
        redis,
        ...(remote.queue !== undefined ? { queue: remote.queue } : {}),
        ...(maxWorkerCrashes !== undefined ? { maxWorkerCrashes } : {}),
      });
    }
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/**
 * The `bullmq` executor with every option (`run(..., { executor: await
 * bullmqExecutor({ redis, maxOutputBytes }) })`). BullMQ and ioredis are
 * loaded only here, so programs that never use them do not pay for them.
 */
export async function bullmqExecutor(options: BullMQExecutorOptions): Promise<Executor> {
  const { BullMQExecutor } = await import("./bullmq/bullmq-executor.ts");
  return new BullMQExecutor(options);
}
