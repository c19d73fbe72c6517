/**
 * The `trellis` command line: `run`, `resume`, `worker`, `preview`, `render`, `view` and `demos`, built
 * with commander. Every error a user can cause is one line on stderr that
 * names the problem and the fix, with a usage exit code (see exit-codes.ts);
 * only a bug in Trellis prints a stack (exit 70).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { TrellisError } from "../errors.ts";
import { CliError } from "./cli-error.ts";
import { ExitCodes } from "../report/exit-codes.ts";
import type { ExitCode } from "../report/exit-codes.ts";
import {
  EXECUTORS,
  PROGRESS_MODES,
  SNAPSHOT_POLICIES,
  VIOLATION_POLICIES,
  parseFormats,
  parsePort,
  parsePositiveInt,
  parseStep,
} from "./parse-flags.ts";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/** Where the CLI writes; tests and embedders may pass their own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

const EXAMPLES_RUN = `
Examples:
  trellis run demos/map_reduce.ts
  trellis run flow.ts --task square_batch --input '{"numbers":[1,2,3]}'
  trellis run flow.ts --input @inputs.json --executor processes --workers 4
  trellis run flow.ts --executor bullmq --redis redis://queue-host:6379
  trellis run demos/branch_violation.ts --on-violation reject

Exit codes: 0 succeeded, 1 failed, 2 halted by a promise, 64 bad usage,
65 malformed data, 66 missing file or module, 69 Redis unreachable, 70 a bug in Trellis,
73 cannot write --out, 130 interrupted.`;

const EXAMPLES_RESUME = `
Examples:
  trellis resume outputs/map_reduce
  trellis resume outputs/flow --retry-failed --executor processes
  trellis resume outputs/flow --module flow.ts

Succeeded tasks keep their output and do not run again; tasks that were
running or pending run again; failed tasks stay failed unless --retry-failed.
Exit codes as for run; a run that already finished is not resumed: one line
says so, with its own exit code (0 succeeded, 1 failed, 2 halted).`;
const EXAMPLES_WORKER = `
Examples:
  trellis worker flow.ts --redis redis://queue-host:6379 --concurrency 16
  trellis worker flow.ts --redis rediss://:secret@queue-host:6380 --queue genomes
  trellis run flow.ts --executor bullmq --redis redis://queue-host:6379   (on the coordinator)`;

function buildProgram(io: CliIo, setCode: (code: ExitCode) => void, setCommand: (name: string) => void): Command {
  const program = new Command("trellis")
    .description("Run, preview and draw Trellis workflows: DAGs that grow while they run.")
    .version(pkg.version, "-v, --version")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {},
    });

  // Each subcommand records its name when commander reports an error, so the
  // one-line message can point at the right --help.
  const sub = (name: string) =>
    program.command(name).configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => setCommand(name),
    });

  sub("run")
    .description("run a workflow module's entry task, with live progress and a summary")
    .argument("<module>", "workflow file (.ts or .js) whose default export is the entry task")
    .option("--task <name>", "entry task instead of the default export: a named export or a registered task name")
    .option(
      "--input <json>",
      "inputs as JSON, or @file.json (default: the module's `inputs` export for the default entry, else {})",
    )
    .option("--out <dir>", "output folder for events.jsonl, dots/, pngs/ (default: outputs/<module name>)")
    .addOption(new Option("--executor <kind>", "where tasks run (default: threads)").choices(EXECUTORS))
    .addOption(new Option("--workers <n>", "worker slots (default: available parallelism)").argParser(parsePositiveInt))
    .addOption(
      new Option(
        "--max-worker-crashes <n>",
        "threads/processes/bullmq: a task on this many workers that died fails for good (default: 3)",
      ).argParser(parsePositiveInt),
    )
    .option(
      "--redis <url>",
      "Redis of the bullmq executor: redis://[:password@]host:port, rediss:// for TLS (default: $TRELLIS_REDIS)",
    )
    .option("--queue <name>", "queue of the bullmq executor; its workers serve the same one (default: trellis)")
    .addOption(new Option("--snapshots <policy>", "which steps are drawn (default: auto)").choices(SNAPSHOT_POLICIES))
    .addOption(
      new Option(
        "--formats <list>",
        "image formats beside the DOT files: png, svg, png,svg or none (default: png)",
      ).argParser(parseFormats),
    )
    .addOption(
      new Option("--on-violation <policy>", "what a broken promise does (default: halt)").choices(VIOLATION_POLICIES),
    )
    .option(
      "--cache <dir>",
      "results cache: reuse the outputs of earlier runs stored in <dir> for every task that has the same code and inputs, and store new ones there",
    )
    .option("--no-cache", "use no results cache, not even for tasks defined with cache: true")
    .addOption(
      new Option("--progress <mode>", "live progress: a spinner on a terminal, plain lines otherwise")
        .choices(PROGRESS_MODES)
        .default("auto"),
    )
    .option("-q, --quiet", "hide the tasks' ctx.log(...) lines (they stay in events.jsonl)")
    .option("--view", "watch the run live in the browser: serve the viewer while it runs, and after it until Ctrl-C")
    .addOption(new Option("--port <n>", "the viewer's port with --view (default: a free one)").argParser(parsePort))
    .option("--host <address>", "the viewer's address with --view (default: 127.0.0.1, this machine only)")
    .option("--open", "with --view, open the viewer in the browser BROWSER names, else the default one")
    .addHelpText("after", EXAMPLES_RUN)
    .action(async (module: string, flags: Record<string, unknown>) => {
      const { runCommand } = await import("./commands/run.ts");
      setCode(await runCommand(module, flags));
    });

  sub("resume")
    .description("continue a run that died (kill -9, power loss, out of memory) from its event log, in the same log")
    .argument("<out-dir>", "the run's output folder, which holds events.jsonl")
    .option("--module <file...>", "workflow module(s) to load (default: the modules the log's run.started records)")
    .option(
      "--retry-failed",
      "give failed tasks (and those skipped or cancelled because of them) a new attempt; also resumes a run that finished failed",
    )
    .addOption(new Option("--executor <kind>", "where tasks run (default: the one the run used)").choices(EXECUTORS))
    .addOption(new Option("--workers <n>", "worker slots (default: available parallelism)").argParser(parsePositiveInt))
    .addOption(
      new Option(
        "--max-worker-crashes <n>",
        "threads/processes/bullmq: a task on this many workers that died fails for good (default: 3)",
      ).argParser(parsePositiveInt),
    )
    .option("--redis <url>", "Redis of the bullmq executor (default: $TRELLIS_REDIS)")
    .option("--queue <name>", "queue of the bullmq executor (default: trellis)")
    .addOption(
      new Option("--snapshots <policy>", "which steps are drawn, from frame 1 again (default: auto)").choices(
        SNAPSHOT_POLICIES,
      ),
    )
    .addOption(
      new Option(
        "--formats <list>",
        "image formats beside the DOT files: png, svg, png,svg or none (default: png)",
      ).argParser(parseFormats),
    )
    .addOption(
      new Option("--progress <mode>", "live progress: a spinner on a terminal, plain lines otherwise")
        .choices(PROGRESS_MODES)
        .default("auto"),
    )
    .option("-q, --quiet", "hide the tasks' ctx.log(...) lines (they stay in events.jsonl)")
    .addHelpText("after", EXAMPLES_RESUME)
    .action(async (outDir: string, flags: Record<string, unknown>) => {
      const { resumeCommand } = await import("./commands/resume.ts");
      setCode(await resumeCommand(outDir, flags));
    });
  sub("worker")
    .description(
      "serve the bullmq executor: run the attempts a `trellis run --executor bullmq` dispatches, on this machine",
    )
    .argument(
      "<modules...>",
      "workflow files (.ts or .js) whose task definitions this worker runs (the same code as the run)",
    )
    .option("--redis <url>", "Redis URL: redis://[:password@]host:port, rediss:// for TLS (default: $TRELLIS_REDIS)")
    .option("--queue <name>", "queue to serve; the run uses the same (default: trellis)")
    .addOption(
      new Option("--concurrency <n>", "attempts run at once; suspended ones do not count (default: 8)").argParser(
        parsePositiveInt,
      ),
    )
    .option("--name <name>", "the worker's name in the log's task.placed events (default: <hostname>/<pid>)")
    .addHelpText("after", EXAMPLES_WORKER)
    .action(async (modules: string[], flags: Record<string, unknown>) => {
      const { workerCommand } = await import("./commands/worker.ts");
      setCode(await workerCommand(modules, flags));
    });

  sub("preview")
    .description("draw a task's declared shape (calls, edges, promises) without running anything")
    .argument("<module>", "workflow file (.ts or .js)")
    .option("--task <name>", "task to draw instead of the default export")
    .option("--out <dir>", "output folder for preview.dot and its images (default: outputs/<module name>)")
    .addOption(
      new Option(
        "--formats <list>",
        "image formats beside the DOT file: png, svg, png,svg or none (default: png)",
      ).argParser(parseFormats),
    )
    .action(async (module: string, flags: Record<string, unknown>) => {
      const { previewCommand } = await import("./commands/preview.ts");
      setCode(await previewCommand(module, flags));
    });

  sub("render")
    .description("redraw the snapshots of a run from its event log")
    .argument("<events>", "an events.jsonl written by a run")
    .option("--out <dir>", "output folder (default: the log's folder)")
    .addOption(
      new Option("--step <n>", "draw only snapshot <n>, as numbered in dots/ (default: every snapshot)").argParser(
        parseStep,
      ),
    )
    .addOption(
      new Option(
        "--snapshots <policy>",
        "the snapshot policy the run used, so the numbering matches (default: auto)",
      ).choices(SNAPSHOT_POLICIES),
    )
    .addOption(
      new Option(
        "--formats <list>",
        "image formats beside the DOT files: png, svg, png,svg or none (default: png)",
      ).argParser(parseFormats),
    )
    .action(async (events: string, flags: Record<string, unknown>) => {
      const { renderCommand } = await import("./commands/render.ts");
      setCode(await renderCommand(events, flags));
    });

  sub("view")
    .description("watch a run's plan grow in the browser, step by step, live while the log grows")
    .argument("<out>", "a run's output folder (or its events.jsonl)")
    .addOption(new Option("--port <n>", "port to listen on (default: a free one)").argParser(parsePort))
    .option(
      "--host <address>",
      "address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 shares the log with your network)",
    )
    .option("--open", "open the viewer in the browser BROWSER names, else the default one")
    .action(async (out: string, flags: Record<string, unknown>) => {
      const { viewCommand } = await import("./commands/view.ts");
      setCode(await viewCommand(out, flags));
    });

  sub("demos")
    .description("run the six demos, each in its own process, and check that each ended as expected")
    .argument("[names...]", "demos to run (default: all six)")
    .option("--out-root <dir>", "folder for the demos' output folders (default: outputs)")
    .addOption(new Option("--executor <kind>", "where tasks run (default: threads)").choices(EXECUTORS))
    .addOption(new Option("--workers <n>", "worker slots per demo").argParser(parsePositiveInt))
    .addOption(
      new Option("--timeout <seconds>", "give up on a demo after this long (default: 300)").argParser(parsePositiveInt),
    )
    .option("--verbose", "print each demo's own output")
    .addOption(
      new Option("--progress <mode>", "a spinner on a terminal, plain lines otherwise")
        .choices(PROGRESS_MODES)
        .default("auto"),
    )
    .action(async (names: string[], flags: Record<string, unknown>) => {
      const { demosCommand } = await import("./commands/demos.ts");
      setCode(await demosCommand(names, flags));
    });

  return program;
}

/** Commander's message as one line: `unknown option '--bogus' (Did you mean --out?)`. */
function commanderLine(error: CommanderError): string {
  return error.message
    .replace(/^error:\s*/i, "")
    .replace(/\s*\n\s*/g, " ")
    .trim()
    .replace(/\.$/, "");
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and resolves with
 * the exit code. Never calls `process.exit`.
 */
export async function main(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let code: ExitCode = ExitCodes.OK;
  let command = "";
  const program = buildProgram(
    io,
    (c) => (code = c),
    (name) => (command = name),
  );
  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return ExitCodes.USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return ExitCodes.OK;
      if (error.code === "commander.help") return ExitCodes.USAGE;
      const help = command ? `trellis ${command} --help` : "trellis --help";
      io.stderr.write(`trellis: error: ${commanderLine(error)}; see \`${help}\`\n`);
      return ExitCodes.USAGE;
    }
    if (error instanceof CliError) {
      io.stderr.write(`trellis: error: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof TrellisError) {
      // A Trellis error the commands did not map is still about the user's setup: one line, its code.
      io.stderr.write(`trellis: error: ${error.code}: ${error.message.split("\n")[0] ?? ""}\n`);
      return ExitCodes.DATA;
    }
    io.stderr.write(
      `trellis: internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCodes.SOFTWARE;
  }
}
