/**
 * `trellis preview <module>`: draws the declared shape of a task (its calls,
 * edges and promises, expanded recursively) without running anything.
 */
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../exit-codes.ts";
import { ExitCodes } from "../exit-codes.ts";
import { loadWorkflowModule, pickEntry } from "../load-workflow.ts";
import type { ImageFormat } from "../parse-flags.ts";

export interface PreviewFlags {
  readonly task?: string;
  readonly out?: string;
  readonly formats?: ImageFormat[];
}

export async function previewCommand(moduleSpec: string, flags: PreviewFlags): Promise<ExitCode> {
  const mod = await loadWorkflowModule(moduleSpec);
  pickEntry(mod, flags.task);
  throw new CliError(ExitCodes.SOFTWARE, "drawing is not available yet in this build");
}
