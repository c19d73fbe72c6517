/**
 * `trellis worker <module...> --redis <url>`: a remote worker of the `bullmq`
 * executor. It imports the workflow modules, then runs the attempts that
 * `trellis run --executor bullmq` dispatches on the same queue, until Ctrl-C
 * or SIGTERM. Only definitions those modules register can run here.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import { registry } from "../../task/registry.ts";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes } from "../../report/exit-codes.ts";

export interface WorkerFlags {
  readonly redis?: string;
  readonly queue?: string;
  readonly concurrency?: number;
  readonly name?: string;
}

/** How long the worker tries to reach Redis at start before it gives up. */
const CONNECT_TIMEOUT_MS = 30_000;

export async function workerCommand(modules: readonly string[], flags: WorkerFlags): Promise<ExitCode> {
  const redis = flags.redis ?? process.env["TRELLIS_REDIS"];
  if (redis === undefined || redis === "")
    throw new CliError(
      ExitCodes.USAGE,
      "trellis worker needs --redis <url> (redis://host:6379, rediss:// for TLS) or the TRELLIS_REDIS environment variable",
    );
  const urls = modules.map((spec) => {
    const path = resolve(spec);
    if (!existsSync(path))
      throw new CliError(
        ExitCodes.NO_INPUT,
        `cannot find the workflow module "${spec}" (looked for ${path}); check the path, which is relative to the current folder`,
      );
    return pathToFileURL(path).href;
  });
  const { BullWorker } = await import("../../runtime/bullmq/bullmq-worker.ts");
  const { safeUrl } = await import("../../runtime/bullmq/wire.ts");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const starting = BullWorker.start({
    redis,
    modules: urls,
    loadPackageEntry: () => import("../../index.ts"),
    ...(flags.queue !== undefined ? { queue: flags.queue } : {}),
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliError(
            ExitCodes.UNAVAILABLE,
            `could not reach Redis at ${safeUrl(redis)} within ${CONNECT_TIMEOUT_MS / 1000} s; check the URL, the password and that Redis listens on that address`,
          ),
        ),
      CONNECT_TIMEOUT_MS,
    );
  });
  let worker;
  try {
    worker = await Promise.race([starting, timeout]);
  } catch (error) {
    if (error instanceof CliError) throw error;
    // Redis answered but will not serve this worker (an untrusted TLS certificate, a wrong password): the message says what to fix.
    if (error instanceof TrellisError && error.code === ErrorCodes.REDIS_UNREACHABLE)
      throw new CliError(ExitCodes.UNAVAILABLE, error.message, { cause: error });
    throw new CliError(
      ExitCodes.DATA,
      `the worker could not start: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
  const names = registry.all().map((d) => d.name);
  process.stderr.write(
    `trellis worker: ${worker.name} serves queue "${worker.queue}" at ${safeUrl(redis)} with ${worker.concurrency} slots; ` +
      `${names.length} task definitions (${names.slice(0, 8).join(", ")}${names.length > 8 ? ", …" : ""}); Ctrl-C to stop\n`,
  );
  const { untilInterrupted } = await import("./view.ts");
  await untilInterrupted();
  await worker.close();
  return ExitCodes.OK;
}
