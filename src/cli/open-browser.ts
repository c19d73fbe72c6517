/**
 * Opens a URL in the user's browser (`--open`), best effort: a machine
 * without one only gets a note, and the caller goes on serving.
 *
 * The `BROWSER` environment variable, when set, names the browser, as for
 * Python's `webbrowser` and many CLIs: one command or
 * several separated by `:` (`;` on Windows), tried in order until one
 * starts and does not fail; each is a program with its arguments (quotes
 * group words), where `%s` stands for the URL (else the URL is added as the
 * last argument); the default browser is not tried after them (the user
 * chose). Without it: `open` (macOS), `start` (Windows), `xdg-open`.
 */
import { spawn } from "node:child_process";

/** A command to run: program and arguments. */
export type OpenCommand = readonly [string, ...string[]];

/** Splits a command line into words: spaces separate them, single or double quotes group them (no shell). */
export function commandWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | null = null;
  for (const ch of line) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The commands that may open `url`, in the order to try them: those of
 * `BROWSER` when it names any, else the platform's opener.
 *
 * @example
 * openCommands("http://127.0.0.1:8080/", { BROWSER: "firefox --new-window" }, "linux");
 * // [["firefox", "--new-window", "http://127.0.0.1:8080/"]]
 */
export function openCommands(
  url: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): OpenCommand[] {
  const fromEnv: OpenCommand[] = [];
  for (const entry of (env["BROWSER"] ?? "").split(platform === "win32" ? ";" : ":")) {
    const words = commandWords(entry);
    if (words.length === 0) continue;
    const withUrl = words.some((w) => w.includes("%s")) ? words.map((w) => w.replaceAll("%s", url)) : [...words, url];
    fromEnv.push(withUrl as unknown as OpenCommand);
  }
  if (fromEnv.length > 0) return fromEnv;
  if (platform === "darwin") return [["open", url]];
  if (platform === "win32") return [["cmd", "/c", "start", "", url]];
  return [["xdg-open", url]];
}

/**
 * Opens `url` with the first of {@link openCommands} that starts and does
 * not exit with an error; when none does, calls `onFail` once with a note
 * naming what was tried and the URL to open by hand. Never throws, never
 * waits: the browser (or the opener) runs on its own.
 */
export function openBrowser(
  url: string,
  onFail: (message: string) => void,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  const commands = openCommands(url, env);
  const failures: string[] = [];
  const attempt = (i: number): void => {
    const command = commands[i];
    if (command === undefined) {
      const via = env["BROWSER"]?.trim() ? " (from BROWSER)" : "";
      onFail(`could not open a browser${via}: ${failures.join("; ")}; open ${url} yourself`);
      return;
    }
    const [program, ...args] = command;
    let settled = false;
    const failed = (why: string): void => {
      if (settled) return;
      settled = true;
      failures.push(`${program} ${why}`);
      attempt(i + 1);
    };
    try {
      const child = spawn(program, args, { stdio: "ignore", detached: true });
      child.once("error", (error) => failed(`did not start (${error.message})`));
      child.once("exit", (code) => {
        if (code !== null && code !== 0) failed(`exited with code ${code}`);
        else settled = true;
      });
      child.unref();
    } catch (error) {
      failed(`did not start (${(error as Error).message})`);
    }
  };
  attempt(0);
}
