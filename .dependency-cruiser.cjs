// The layers of src/, bottom to top, and the rules `npm test` holds them to
// (`npm run deps`; test/architecture/layers.test.ts runs the same rules on
// src/ and on a fixture tree that breaks them). A module may import its own
// layer and the layers below it, never one above; no import cycle anywhere.
// Type-only imports count: a type that points up a layer is moved down.
// docs/architecture.md explains each layer.
const LAYERS = [
  ["errors", "^src/errors\\.ts$"],
  ["events", "^src/events/"],
  ["task", "^src/task/"],
  ["plan", "^src/plan/"],
  ["scheduler", "^src/scheduler/"],
  ["promises", "^src/promises/"],
  ["preview", "^src/preview/"],
  ["runtime", "^src/runtime/"],
  ["render", "^src/render/"],
  ["run", "^src/run\\.ts$"],
  ["report", "^src/report/"],
  ["view", "^src/view/"],
  ["index", "^src/index\\.(ts|cjs)$"],
  ["cli", "^src/cli/"],
];

/** Pure layers: data in, data out; no Node built-ins (no clock, files or workers). */
const PURE = ["task", "plan", "scheduler", "promises", "preview"];

const layerRules = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name}`,
  comment: `${name} imports a layer above it (${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(", ")}): move the shared piece down, or let the caller wire the upper layer in`,
  severity: "error",
  from: { path },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, p]) => `(${p})`)
      .join("|"),
  },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "an import cycle: move the shared piece into a module both sides import",
      severity: "error",
      from: {},
      // index.ts imports itself once, on purpose (it publishes its own namespace for index.cjs).
      to: { circular: true, via: { pathNot: "^src/index\\.ts$" } },
    },
    ...layerRules,
    {
      name: "pure-no-io",
      comment:
        "a pure layer (task, plan, scheduler, promises, preview) imports a Node built-in: I/O belongs in runtime/, events/ I/O, render/ images or cli/",
      severity: "error",
      from: {
        path: PURE.map((n) => `(${LAYERS.find(([l]) => l === n)[1]})`).join("|"),
        pathNot: "^src/task/module-of-caller\\.ts$",
      },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "not-to-unresolvable",
      comment: "an import that does not resolve",
      severity: "error",
      // index.cjs loads ./index.js, which exists once src/ is compiled to dist/.
      from: { pathNot: "^src/index\\.cjs$" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.d\\.mts$" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
