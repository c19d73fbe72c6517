// Workers on separate hosts: two network namespaces joined to this host by
// veth pairs, each running `trellis worker`, against a Redis of this test's
// own that listens on the veth addresses and wants a password.
import { execFileSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { run } from "trellis";
import { distFlow } from "../../.tmp/fixtures/dist-flow.js";
import { eventsOf } from "../executors/helpers.ts";
import type { WorkerProcess } from "../helpers/bullmq.ts";
import { freePort, startRedisServer, startWorker, stopWorkers, uniqueQueue } from "../helpers/bullmq.ts";

const n = process.pid % 250;
const password = `pw-${process.pid}`;
const hosts = ["a", "b"].map((side, i) => ({
  name: `host-${side}`,
  ns: `trellis-t${process.pid}${side}`,
  hostDev: `tv${process.pid % 100000}${side}0`,
  nsDev: `tv${process.pid % 100000}${side}1`,
  // A /30 of each pair: the host end .1 (.5), the namespace end .2 (.6).
  hostAddr: `10.213.${n}.${i * 4 + 1}`,
  nsAddr: `10.213.${n}.${i * 4 + 2}`,
}));
let redis: ChildProcess | undefined;
let port = 0;
let workers: WorkerProcess[] = [];

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

beforeAll(async () => {
  for (const h of hosts) {
    try {
      ip("netns", "add", h.ns);
    } catch (error) {
      throw new Error(
        `this test runs workers in network namespaces and needs root and iproute2 (\`ip netns add\` failed: ${String((error as { stderr?: unknown }).stderr ?? error)})`,
        { cause: error },
      );
    }
    ip("link", "add", h.hostDev, "type", "veth", "peer", "name", h.nsDev);
    ip("link", "set", h.nsDev, "netns", h.ns);
    ip("addr", "add", `${h.hostAddr}/30`, "dev", h.hostDev);
    ip("link", "set", h.hostDev, "up");
    ip("netns", "exec", h.ns, "ip", "addr", "add", `${h.nsAddr}/30`, "dev", h.nsDev);
    ip("netns", "exec", h.ns, "ip", "link", "set", h.nsDev, "up");
    ip("netns", "exec", h.ns, "ip", "link", "set", "lo", "up");
  }
  port = await freePort();
  redis = await startRedisServer(
    port,
    hosts.map((h) => h.hostAddr),
    ["--requirepass", password],
  );
}, 60_000);

afterAll(async () => {
  await stopWorkers(workers);
  redis?.kill("SIGKILL");
  for (const h of hosts) {
    try {
      ip("netns", "del", h.ns); // takes its end of the veth pair, and so the pair, with it
    } catch {
      // not created
    }
    try {
      ip("link", "del", h.hostDev);
    } catch {
      // gone with the namespace
    }
  }
}, 60_000);

test("a run's tasks land on workers in two network namespaces, through a Redis that wants a password", {
  timeout: 240_000,
}, async () => {
  const queue = uniqueQueue("hosts");
  workers = await Promise.all(
    hosts.map((h) =>
      startWorker({
        fixture: "dist-flow",
        queue,
        name: h.name,
        concurrency: 4,
        redis: `redis://:${password}@${h.hostAddr}:${port}`,
        prefix: ["ip", "netns", "exec", h.ns],
      }),
    ),
  );
  const result = await run(
    distFlow,
    { n: 200, group: 20, cap: 8, ms: 5, journal: "" },
    { executor: "bullmq", redis: `redis://:${password}@127.0.0.1:${port}`, queue, keepEvents: true },
  );
  expect(result.error).toBeNull();
  expect(result.status).toBe("succeeded");
  expect(result.output).toEqual({ sums: 10, total: 200 * 199 });
  const where = new Set(eventsOf(result, "task.placed").map((e) => e.data.worker));
  expect([...where].sort()).toEqual(["host-a", "host-b"]);
});
