/**
 * Starts the worker side: picks the channel of this kind of worker (for a
 * thread started ahead of the run, once its boot arrives), installs
 * the handlers that turn an uncaught error into a `fatal` message, and
 * imports the task modules. Called by `entry.mjs`, which passes the import of
 * the package entry (a layer above this one) for the TypeScript loader.
 */
import { parentPort } from "node:worker_threads";
import { prepareTypeScript } from "../loader/typescript.ts";
import { processChannel } from "../processes/process-channel.ts";
import { threadBoot, threadChannel } from "../threads/thread-channel.ts";
import { WorkerHost } from "./worker-host.ts";

export async function main(loadPackageEntry: () => Promise<unknown>): Promise<void> {
  // A thread started ahead of the run loads what every run needs while it waits for its modules.
  const preload = (typescript: boolean) => (typescript ? prepareTypeScript(loadPackageEntry) : loadPackageEntry());
  const channel = parentPort ? threadChannel(parentPort, await threadBoot(parentPort, preload)) : processChannel();
  const host = new WorkerHost(channel);
  // An error no task awaits (a throw from a timer, a floating rejection) may
  // have left any attempt half done: report it and leave; the pool fails the
  // attempts this worker hosted and replaces it.
  let dying = false;
  const die = (error: unknown): void => {
    if (dying) return;
    dying = true;
    host.fatal(error);
    channel.exit(1);
  };
  process.on("uncaughtException", die);
  process.on("unhandledRejection", die);
  // A task that calls process.exit() ends the worker as it asked, but first
  // names itself, so the pool fails it alone and runs the others again.
  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => {
    const culprit = dying ? null : host.culprit();
    if (culprit !== null) {
      dying = true;
      host.exiting(typeof code === "number" ? code : Number(code ?? process.exitCode ?? 0) || 0, culprit);
    }
    return exit(code);
  }) as typeof process.exit;
  void host.load(channel.boot.modules, loadPackageEntry);
}
