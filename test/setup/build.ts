/**
 * Global setup: the suite tests the compiled package (dist/), as users get
 * it, so build it first, with the fixtures workers import (.tmp/fixtures/).
 * Incremental: ~1 s when nothing changed.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function build(): void {
  const script = fileURLToPath(new URL("../../scripts/build.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [script, "--test"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`the build failed (exit ${r.status ?? r.signal}); see the errors above`);
}
