// The bullmq executor over TLS (rediss://) with a password: a redis-server of
// this test's own that serves only TLS, with a certificate signed by a
// throwaway CA made here with openssl. The CA reaches `trellis run` and
// `trellis worker` the standard Node way, NODE_EXTRA_CA_CERTS; a CA that did
// not sign the certificate (or a wrong password) fails at once with an error
// that says what to do, instead of retrying forever.
import { execFileSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { TrellisEvent } from "trellis";
import { trellis } from "../cli/cli-process.ts";
import type { WorkerProcess } from "../helpers/bullmq.ts";
import { REPO, freePort, startRedisServer, startWorker, stopWorkers, uniqueQueue } from "../helpers/bullmq.ts";

const password = `tls-${process.pid}`;
const queue = uniqueQueue("tls");
const dir = mkdtempSync(join(tmpdir(), "trellis-tls-"));
const ca = join(dir, "ca.pem");
const otherCa = join(dir, "other-ca.pem");
let redis: ChildProcess | undefined;
let url = "";
const workers: WorkerProcess[] = [];

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** A CA certificate (`out`) named `cn`, with its key in `keyFile`, valid for a day. */
function selfSignedCa(cn: string, keyFile: string, out: string): void {
  const subject = ["-subj", `/CN=${cn}`, "-keyout", keyFile, "-out", out];
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", ...subject);
}

beforeAll(async () => {
  // A CA, a server certificate it signs for 127.0.0.1, and a second CA that signed nothing here.
  selfSignedCa("Trellis test CA", "ca.key", ca);
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  );
  writeFileSync(join(dir, "san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    ca,
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "san.cnf",
    "-out",
    "server.pem",
  );
  selfSignedCa("Another CA", "other.key", otherCa);
  const port = await freePort();
  // No plain port at all: only TLS, and a password.
  redis = await startRedisServer(
    port,
    [],
    [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      join(dir, "server.pem"),
      "--tls-key-file",
      join(dir, "server.key"),
      "--tls-ca-cert-file",
      ca,
      "--tls-auth-clients",
      "no",
      "--requirepass",
      password,
    ],
  );
  url = `rediss://:${password}@127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await stopWorkers(workers);
  redis?.kill("SIGKILL");
}, 60_000);

const fixture = join(REPO, ".tmp", "fixtures", "dist-flow.js");
const input = JSON.stringify({ n: 30, group: 10, cap: 4, ms: 0, journal: "" });

/** `trellis run` of the fixture's flow on the bullmq executor through `redisUrl`, logging to `out`. */
function runArgs(redisUrl: string, out: string): string[] {
  const where = ["--redis", redisUrl, "--queue", queue, "--out", out];
  return [
    "run",
    fixture,
    "--task",
    "dist_flow",
    "--input",
    input,
    "--executor",
    "bullmq",
    ...where,
    "--formats",
    "none",
    "--progress",
    "off",
  ];
}

/** `trellis run` over `redisUrl` trusting `caFile`: Redis refuses it for good, so it fails at once (exit 1); its output. */
async function refusedRun(redisUrl: string, out: string, caFile: string): Promise<string> {
  const r = await trellis(runArgs(redisUrl, out), { env: { NODE_EXTRA_CA_CERTS: caFile }, timeoutMs: 25_000 });
  expect(r.code).toBe(1);
  const summary = r.stdout + r.stderr;
  expect(summary).toContain("REDIS_UNREACHABLE");
  return summary;
}

/** `trellis worker` over `redisUrl` trusting `caFile`: it refuses to start (exit 69); its stderr. */
async function refusedWorker(redisUrl: string, caFile: string): Promise<string> {
  const worker = await trellis(["worker", fixture, "--redis", redisUrl, "--queue", queue], {
    env: { NODE_EXTRA_CA_CERTS: caFile },
    timeoutMs: 25_000,
  });
  expect(worker.code).toBe(69);
  return worker.stderr;
}

test("trellis run and trellis worker over rediss:// with a password, the CA given by NODE_EXTRA_CA_CERTS: the run succeeds on the worker", {
  timeout: 120_000,
}, async () => {
  workers.push(
    await startWorker({
      fixture: "dist-flow",
      queue,
      name: "tls-worker",
      redis: url,
      env: { NODE_EXTRA_CA_CERTS: ca },
    }),
  );
  const out = join(dir, "out-ok");
  const r = await trellis(runArgs(url, out), { env: { NODE_EXTRA_CA_CERTS: ca }, timeoutMs: 100_000 });
  expect(r.stderr).not.toContain(password);
  expect(r.code).toBe(0);
  const events = readFileSync(join(out, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as TrellisEvent);
  const finished = events.find((e) => e.type === "run.finished");
  expect(finished?.type === "run.finished" && finished.data.status).toBe("succeeded");
  const placed = events.filter((e) => e.type === "task.placed");
  expect(placed.length).toBe(1 + 30 + 3);
  expect(new Set(placed.map((e) => e.type === "task.placed" && e.data.worker))).toEqual(new Set(["tls-worker"]));
});

test("a CA that did not sign Redis's certificate: trellis run fails at once with REDIS_UNREACHABLE saying to set NODE_EXTRA_CA_CERTS; trellis worker exits 69 saying the same", {
  timeout: 60_000,
}, async () => {
  // Both end well before the 30 s a lost connection is waited for (redisDownMs, the worker's start timeout): nothing retries an untrusted certificate.
  const summary = await refusedRun(url, join(dir, "out-bad-ca"), otherCa);
  expect(summary).toContain("is not trusted");
  expect(summary).toContain("NODE_EXTRA_CA_CERTS");
  expect(summary).not.toContain(password);

  const stderr = await refusedWorker(url, otherCa);
  expect(stderr).toContain("is not trusted");
  expect(stderr).toContain("NODE_EXTRA_CA_CERTS");
  expect(stderr).not.toContain(password);
});

test("the right CA but a wrong password: both fail at once, saying where the password goes", {
  timeout: 60_000,
}, async () => {
  const wrong = url.replace(password, "not-the-password");
  const stderr = await refusedWorker(wrong, ca);
  expect(stderr).toContain("WRONGPASS");
  expect(stderr).toContain("rediss://:password@host:port");
  expect(stderr).not.toContain("not-the-password");

  const summary = await refusedRun(wrong, join(dir, "out-bad-password"), ca);
  expect(summary).toContain("WRONGPASS");
  expect(summary).not.toContain("not-the-password");
});
