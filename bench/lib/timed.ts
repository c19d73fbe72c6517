/**
 * Wall and CPU time of a whole command and every process it starts: the
 * command runs under bash, whose `times` builtin then prints the CPU time of
 * its waited-for children (user + system, worker threads included, and every
 * descendant that was waited for). Used by the start-up and test-suite
 * groups.
 */
import { spawn } from "node:child_process";
import { prioritise } from "./child.ts";

export interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/**
 * Runs `argv` in `cwd` with its output sent to `logFile` (its last three
 * lines become the error when it fails) and times it.
 */
export function timeCommand(
  argv: readonly string[],
  cwd: string,
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Timing> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const log = `'${logFile.replace(/'/g, "'\\''")}'`;
  // On failure: the command's own exit code, and its last lines on stderr.
  const script = `${quoted} >${log} 2>&1; s=$?; if [ $s -ne 0 ]; then tail -n 3 ${log} >&2; exit $s; fi; times`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { cwd, stdio: ["ignore", "pipe", "pipe"], env });
    prioritise(child.pid);
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("close", (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0)
        return reject(new Error(`${argv.join(" ")} failed (exit ${code}): ${err.trim().split("\n").join(" | ")}`));
      // `times`: the shell's user/sys, then its children's user/sys, as 0m0.123s.
      const children = out.trim().split("\n").at(-1) ?? "";
      const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      resolve({ wallMs, cpuMs: ((secs[0] ?? 0) + (secs[1] ?? 0)) * 1000 });
    });
  });
}
