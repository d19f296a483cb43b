import assert from "node:assert/strict";
import { test } from "node:test";

import { mostPressing } from "../../web/js/nextsteps.js";

const step = (kind, n, urgency) => ({ key: `${kind}:${n}`, urgency, title: `${kind} ${String(n).padStart(3, "0")}` });

test("Today shows at most 8 of a kind while other kinds wait, most urgent first", () => {
  const followups = Array.from({ length: 90 }, (_, n) => step("followup", n, 130 - n / 10));
  const referrals = Array.from({ length: 30 }, (_, n) => step("referral", n, 70));
  const thanks = [step("thank", 1, 85)];
  const shown = mostPressing([...followups, ...thanks, ...referrals]);
  assert.equal(shown.length, 25);
  const kinds = shown.map((a) => a.key.split(":")[0]);
  assert.deepEqual(kinds.slice(0, 9), [...Array(8).fill("followup"), "thank"]);
  assert.equal(kinds.filter((k) => k === "referral").length, 8, "referrals get their 8");
  assert.equal(kinds.filter((k) => k === "followup").length, 16, "the room left goes to the next in line");
  assert.deepEqual(kinds.slice(17), Array(8).fill("followup"), "the room left over comes last");
  assert.deepEqual(shown.slice(17).map((a) => a.key), followups.slice(8, 16).map((a) => a.key));
});

test("with one kind only, Today still shows 25 of it", () => {
  const followups = Array.from({ length: 40 }, (_, n) => step("followup", n, 100 + n));
  assert.equal(mostPressing(followups.sort((a, b) => b.urgency - a.urgency)).length, 25);
});
