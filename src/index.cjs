// CommonJS entry (`require("trellis")`). Trellis is an ES module: this returns
// the ES module instance of ./index.js, so CommonJS and ESM callers share one
// task registry. index.js publishes itself under a per-file key when it is
// imported; otherwise it is loaded here through require(esm) (Node 20.19+,
// 22.12+). Where that is unsupported, one clear error says what to do.
"use strict";
const { pathToFileURL } = require("node:url");
const { join } = require("node:path");

const key = Symbol.for(`trellis.esm ${pathToFileURL(join(__dirname, "index.js")).href}`);
function load() {
  let exported;
  try {
    exported = require("./index.js");
  } catch (error) {
    if (error && (error.code === "ERR_REQUIRE_ESM" || error.code === "ERR_REQUIRE_ASYNC_MODULE")) {
      const e = new Error(
        `trellis is an ES module and this Node.js (${process.version}) cannot require() it; ` +
          'use `import { task, run } from "trellis"` (or `await import("trellis")` from CommonJS), or Node.js 20.19 or later',
      );
      e.code = "ERR_REQUIRE_ESM";
      e.cause = error;
      throw e;
    }
    throw error;
  }
  return globalThis[key] ?? exported;
}
module.exports = globalThis[key] ?? load();
