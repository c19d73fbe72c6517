/** Starts pool workers as child processes (`fork`); batches travel over the IPC channel as JSON. */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { serializeError } from "../../errors.ts";
import type { SerializedError } from "../../errors.ts";
import type { Transport, WorkerHandle } from "../worker/pool.ts";
import type { WorkerToHost } from "../worker/protocol.ts";
import { LAST_WORDS } from "./last-words.ts";

const ENTRY = fileURLToPath(new URL("../worker/entry.mjs", import.meta.url));
const STDERR_TAIL = 4000;

/**
 * The first line of a report Node or V8 prints when a process dies in native
 * code (out of memory, a fatal error, an abort). From that line on, the
 * worker's stderr goes to the crash error only (its `details.stderr`, in the
 * log), not to the terminal: 17 to 25 lines of native frames would bury the
 * one-line error that says what happened.
 */
const CRASH_REPORT =
  /^(<--- Last few GCs --->|FATAL ERROR:|----- Native stack trace -----|# Fatal error in |node\[\d+\]: |\s*\d+: 0x[0-9a-f]+ )/;

/**
 * Passes a worker's stderr through line by line until a crash report starts,
 * and keeps the end of all of it to explain the crash. A line that starts
 * with {@link LAST_WORDS} is the worker's last message (a task called
 * `process.exit`): it goes to `onLastWords`, not to the terminal or the tail.
 */
export class WorkerStderr {
  tail = "";
  #pending = "";
  #crashing = false;
  readonly #out: { write(text: string): unknown };
  readonly #onLastWords: (message: WorkerToHost) => void;

  constructor(out: { write(text: string): unknown }, onLastWords: (message: WorkerToHost) => void = () => undefined) {
    this.#out = out;
    this.#onLastWords = onLastWords;
  }

  push(text: string): void {
    if (this.#crashing) {
      this.tail = (this.tail + text).slice(-STDERR_TAIL);
      return;
    }
    this.#pending += text;
    for (let nl = this.#pending.indexOf("\n"); nl >= 0; nl = this.#pending.indexOf("\n")) {
      const line = this.#pending.slice(0, nl + 1);
      this.#pending = this.#pending.slice(nl + 1);
      if (line.startsWith(LAST_WORDS)) {
        this.#onLastWords(JSON.parse(line.slice(LAST_WORDS.length)) as WorkerToHost);
        continue;
      }
      this.tail = (this.tail + line).slice(-STDERR_TAIL);
      if (CRASH_REPORT.test(line)) {
        this.#crashing = true;
        this.tail = (this.tail + this.#pending).slice(-STDERR_TAIL);
        this.#pending = "";
        return;
      }
      this.#out.write(line);
    }
  }

  /** The worker is gone: a last line without a newline goes out too. */
  end(): void {
    if (!this.#crashing && this.#pending !== "") {
      this.tail = (this.tail + this.#pending).slice(-STDERR_TAIL);
      this.#out.write(this.#pending);
    }
    this.#pending = "";
  }
}

export function processTransport(options: { readonly maxOldGenerationSizeMb?: number }): Transport {
  const execArgv =
    options.maxOldGenerationSizeMb === undefined ? [] : [`--max-old-space-size=${options.maxOldGenerationSizeMb}`];
  return {
    kind: "processes",
    spawn(boot, events): WorkerHandle {
      // execArgv is explicit so loader flags of the host are not replayed; entry.mjs registers tsx itself.
      const child = fork(ENTRY, [JSON.stringify(boot)], {
        execArgv,
        serialization: "json",
        stdio: ["ignore", "inherit", "pipe", "ipc"],
      });
      let error: SerializedError | null = null;
      let exited = false;
      // Pass the worker's stderr through, and keep its end to explain a crash (V8 prints out-of-memory there).
      const stderr = new WorkerStderr(process.stderr, (message) => events.message([message]));
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (text: string) => stderr.push(text));
      const gone = new Promise<void>((resolve) => {
        // "close" comes after "exit" and after stderr ended, so the tail is complete.
        child.on("close", (code, signal) => {
          exited = true;
          stderr.end();
          events.exit({ code, signal, error, stderr: stderr.tail });
          resolve();
        });
      });
      child.on("message", (batch: readonly WorkerToHost[]) => events.message(batch));
      child.on("error", (e) => {
        error = serializeError(e);
      });
      return {
        label: `process ${child.pid ?? "?"}`,
        send: (batch) => {
          if (!exited && child.connected) child.send(batch);
        },
        terminate: async () => {
          if (!exited && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          await gone;
        },
      };
    },
  };
}
