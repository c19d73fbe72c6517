#!/usr/bin/env node
// Writes schema/events.schema.json from the one definition of the event
// log's shape (src/events/schema.ts, built to dist/). `npm run schema` runs
// it after a build; test/core/schema.test.ts fails when the shipped file
// differs from what this writes.
import { writeFileSync } from "node:fs";

const { eventLogSchema } = await import(new URL("../dist/events/schema.js", import.meta.url).href);
const target = new URL("../schema/events.schema.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(eventLogSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
