/** Opens a URL in the user's browser (`--open`), best effort: a machine without one only gets a note. */
import { spawn } from "node:child_process";

export function openBrowser(url: string, onFail: (message: string) => void): void {
  const [cmd, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  try {
    const child = spawn(cmd, args as string[], { stdio: "ignore", detached: true });
    child.once("error", (error) => onFail(`could not open a browser (${error.message}); open ${url} yourself`));
    child.unref();
  } catch (error) {
    onFail(`could not open a browser (${(error as Error).message}); open ${url} yourself`);
  }
}
