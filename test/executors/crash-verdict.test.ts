// Who pays for a worker that died: the pure decision behind crash isolation.
import { describe, expect, test } from "vitest";
import { judgeDeath } from "../../dist/runtime/worker/crash-verdict.js";
import type { HostedAttempt } from "../../dist/runtime/worker/crash-verdict.js";
import { WorkerStderr } from "../../dist/runtime/processes/process-transport.js";
import { LAST_WORDS } from "../../dist/runtime/processes/last-words.js";

const at = (id: string, state: HostedAttempt["state"], attempt = 1): HostedAttempt => ({ id, attempt, state });
const kinds = (verdicts: ReturnType<typeof judgeDeath>) =>
  Object.fromEntries(verdicts.map((v) => [v.id, `${v.kind}:${v.crashes}`]));
const none = new Map<string, number>();

describe("judgeDeath", () => {
  test("a culprit the worker named fails alone: the waiting parent and running siblings are innocent, and not counted", () => {
    const hosted = [at("p", "waiting"), at("s1", "running"), at("c", "running"), at("s2", "running")];
    expect(kinds(judgeDeath({ hosted, culprit: { id: "c", attempt: 1 } }, none, 3))).toEqual({
      p: "innocent:0",
      s1: "innocent:0",
      c: "culprit:1",
      s2: "innocent:0",
    });
  });

  test("a named culprit that already finished or is another attempt: everyone hosted is innocent", () => {
    const hosted = [at("p", "waiting"), at("c", "running", 2)];
    expect(kinds(judgeDeath({ hosted, culprit: { id: "c", attempt: 1 } }, none, 3))).toEqual({
      p: "innocent:0",
      c: "innocent:0",
    });
  });

  test("nobody named: the one running attempt is the culprit; waiting ones are innocent", () => {
    const hosted = [at("p", "waiting"), at("c", "running")];
    expect(kinds(judgeDeath({ hosted, culprit: null }, none, 3))).toEqual({ p: "innocent:0", c: "culprit:1" });
  });

  test("nobody named and several running: each running attempt is a suspect, counted, run again alone", () => {
    const hosted = [at("p", "waiting"), at("a", "running"), at("b", "running")];
    expect(kinds(judgeDeath({ hosted, culprit: null }, none, 3))).toEqual({
      p: "innocent:0",
      a: "suspect:1",
      b: "suspect:1",
    });
  });

  test("an aborted attempt (timed out, maybe still looping) is settled, and hides the culprit: the one running attempt is only a suspect", () => {
    const hosted = [at("p", "waiting"), at("loop", "aborted"), at("a", "running")];
    expect(kinds(judgeDeath({ hosted, culprit: null }, none, 3))).toEqual({
      p: "innocent:0",
      loop: "settled:0",
      a: "suspect:1",
    });
  });

  test("nothing was executing (a kill from outside, a callback left behind): the suspended attempts are the suspects", () => {
    expect(kinds(judgeDeath({ hosted: [at("p", "waiting"), at("q", "waiting")], culprit: null }, none, 3))).toEqual({
      p: "suspect:1",
      q: "suspect:1",
    });
    // Alone, it is still only a suspect: it was not running.
    expect(kinds(judgeDeath({ hosted: [at("p", "waiting")], culprit: null }, none, 3))).toEqual({ p: "suspect:1" });
  });

  test("the limit: a task on its Nth dying worker fails for good, as culprit or as suspect; innocents never reach it", () => {
    const crashes = new Map([
      ["c", 2],
      ["p", 2],
    ]);
    expect(
      kinds(
        judgeDeath(
          { hosted: [at("p", "waiting"), at("c", "running", 3)], culprit: { id: "c", attempt: 3 } },
          crashes,
          3,
        ),
      ),
    ).toEqual({
      p: "innocent:2",
      c: "limit:3",
    });
    expect(kinds(judgeDeath({ hosted: [at("c", "running"), at("d", "running")], culprit: null }, crashes, 3))).toEqual({
      c: "limit:3",
      d: "suspect:1",
    });
    expect(kinds(judgeDeath({ hosted: [at("c", "running")], culprit: null }, none, 1))).toEqual({ c: "limit:1" });
  });
});

describe("a process worker's last words", () => {
  test("a marked stderr line is taken out of the stream and handed over; the lines around it pass through", () => {
    let shown = "";
    const heard: unknown[] = [];
    const stderr = new WorkerStderr({ write: (t: string) => (shown += t) }, (m) => heard.push(m));
    const message = { type: "exiting", code: 3, culprit: { id: "a/b#1", attempt: 1 } };
    const line = `${LAST_WORDS}${JSON.stringify(message)}\n`;
    stderr.push(`before\n${line.slice(0, 10)}`);
    stderr.push(`${line.slice(10)}after\n`);
    stderr.end();
    expect(heard).toEqual([message]);
    expect(shown).toBe("before\nafter\n");
    expect(stderr.tail).toBe("before\nafter\n");
  });
});
