import assert from "node:assert/strict";
import { test } from "node:test";

import { Clock, formatHlc, parseHlc } from "../../web/js/hlc.js";

test("stamps have the server's format and compare as strings", () => {
  assert.equal(formatHlc(1764174724123, 0, "c-1"), "1764174724123-0000-c-1");
  assert.equal(formatHlc(5, 255, "x"), "0000000000005-00ff-x");
  assert.deepEqual(parseHlc("1764174724123-00ff-c-7f3a"), { ms: 1764174724123, counter: 255, node: "c-7f3a" });
  assert.throws(() => parseHlc("yesterday"));
  assert.ok(formatHlc(2, 0, "a") > formatHlc(1, 0xffff, "z"));
});

test("the clock never goes back, even when the wall clock does", () => {
  let now = 1000;
  const clock = new Clock("c", undefined, () => now);
  const first = clock.tick();
  now = 500;
  const second = clock.tick();
  const third = clock.tick();
  assert.ok(second > first && third > second);
  assert.equal(parseHlc(third).counter, 2);
});

test("the clock moves past a stamp it observes, then ticks after it", () => {
  const clock = new Clock("c", undefined, () => 1000);
  clock.observe("0000000009000-0003-server");
  const next = clock.tick();
  assert.ok(next > "0000000009000-0003-server");
  assert.equal(parseHlc(next).ms, 9000);
});

test("the counter rolls into the next millisecond when spent", () => {
  const clock = new Clock("c", { ms: 10, counter: 0xffff }, () => 10);
  assert.equal(clock.tick(), formatHlc(11, 0, "c"));
});

test("a clock restored from toJSON goes on from where it was", () => {
  const clock = new Clock("c", undefined, () => 7000);
  const stamp = clock.tick();
  const again = new Clock("c", clock.toJSON(), () => 6000);
  assert.ok(again.tick() > stamp);
});
