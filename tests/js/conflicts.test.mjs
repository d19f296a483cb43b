import assert from "node:assert/strict";
import { test } from "node:test";

import {
  conflictLabel, keepBoth, mergeParagraphs, sideLabels, wordDiff,
} from "../../web/js/views/conflicts.js";
import { rec, store } from "./fixtures.mjs";

test("keep both: one device edited the line, the other appended one", () => {
  assert.equal(keepBoth("Met Zoë at APS\nSend her the paper", "Met Zoë at APS in March"),
    "Met Zoë at APS in March\nSend her the paper");
  assert.equal(keepBoth("Met Zoë at APS in March", "Met Zoë at APS\nSend her the paper"),
    "Met Zoë at APS in March\nSend her the paper");
});

test("keep both: different texts are both kept, each line once", () => {
  assert.equal(keepBoth("Flat team", "Hiring in spring"), "Flat team\nHiring in spring");
  assert.equal(keepBoth("a\nb", "b\nc"), "a\nb\nc");
  assert.equal(keepBoth("", "only theirs"), "only theirs");
  assert.equal(keepBoth("only ours", null), "only ours");
  assert.equal(keepBoth("ab", "a"), "ab\na", "too short to call one an edit of the other");
});

test("the words that differ are marked on each side; the rest is common", () => {
  const { a, b } = wordDiff("Hiring is frozen until Q4 (maybe) for now", "Hiring is frozen until Q3 for now");
  assert.deepEqual(a.filter((r) => r.changed).map((r) => r.text), ["Q4 (maybe)"]);
  assert.deepEqual(b.filter((r) => r.changed).map((r) => r.text), ["Q3"]);
  assert.equal(a.map((r) => r.text).join(""), "Hiring is frozen until Q4 (maybe) for now", "nothing lost");
  assert.deepEqual(wordDiff("same", "same").a, [{ text: "same", changed: false }]);
  assert.deepEqual(wordDiff("", "new words").b, [{ text: "new words", changed: true }]);
});

test("a merged draft has each paragraph once, an edited one beside its kept version", () => {
  const kept = "Priya runs the line.\n\nHiring is frozen until Q4 (maybe).\n\nCulture: shifts on the line.";
  const lost = "Priya runs the line.\n\nHiring is frozen until Q3.\n\nCulture: shifts on the line.\n\nMet Tomas too.";
  assert.equal(mergeParagraphs(kept, lost),
    "Priya runs the line.\n\nHiring is frozen until Q4 (maybe).\n\nHiring is frozen until Q3.\n\n" +
    "Culture: shifts on the line.\n\nMet Tomas too.");
  assert.equal(keepBoth(kept, lost), mergeParagraphs(kept, lost), "texts in paragraphs are kept by paragraphs");
  assert.equal(mergeParagraphs("", "only theirs"), "only theirs");
});

test("a conflict is titled by what it is about and its sides by what was kept and when the other was written", () => {
  const priya = rec("person", { name: "Priya Nair" });
  const talk = rec("conversation", { person_id: priya.id, kind: "lunch", at: "2026-11-28T12:00:00.000Z" });
  const records = store(priya, talk);
  const about = (record) => rec("conflict", { entity: record.entity, record_id: record.id, field: "notes",
    lost_hlc: `${String(Date.UTC(2026, 10, 29, 7, 36)).padStart(13, "0")}-0001-c-phone`, lost_client: "c-phone" });
  assert.equal(conflictLabel(records, about(talk)), "Lunch with Priya Nair, Nov 28");
  assert.equal(conflictLabel(records, about(priya)), "Priya Nair");
  const labels = sideLabels(about(talk));
  assert.equal(labels.kept, "Kept (current)");
  assert.match(labels.lost, /^Not kept \(edited .*Nov 29, 2026.*\)$/);
  assert.deepEqual(sideLabels(rec("conflict", {})), { kept: "Kept (current)", lost: "Not kept" });
});
