/**
 * `trellis preview <module>`: draws the declared shape of a task (its calls,
 * edges and promises, expanded recursively) without running anything, and
 * says where it wrote it.
 */
import { join, relative } from "node:path";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import { renderPreview } from "../../render/render-preview.ts";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes } from "../../report/exit-codes.ts";
import { loadWorkflowModule, pickEntry } from "../load-workflow.ts";
import type { ImageFormat } from "../parse-flags.ts";

export interface PreviewFlags {
  readonly task?: string;
  readonly out?: string;
  readonly formats?: ImageFormat[];
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

export async function previewCommand(moduleSpec: string, flags: PreviewFlags): Promise<ExitCode> {
  const mod = await loadWorkflowModule(moduleSpec);
  const entry = pickEntry(mod, flags.task);
  const out = flags.out ?? join("outputs", mod.name);
  let result;
  try {
    result = await renderPreview(entry, {
      out,
      name: flags.task === undefined ? "preview" : `preview-${entry.name}`,
      ...(flags.formats !== undefined ? { formats: flags.formats } : {}),
    });
  } catch (error) {
    if (error instanceof TrellisError && error.code === ErrorCodes.OUTPUT_DIR)
      throw new CliError(ExitCodes.CANT_CREATE, error.message);
    if (error instanceof TrellisError)
      throw new CliError(ExitCodes.SOFTWARE, `${error.code}: ${error.message.split("\n")[0] ?? ""}`);
    throw error;
  }
  const files = [result.dot, result.png, result.svg].filter((f): f is string => f !== null).map(shown);
  process.stdout.write(`preview of ${entry.name} (nothing was run): ${files.join(", ")}\n`);
  return ExitCodes.OK;
}
