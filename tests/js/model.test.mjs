import assert from "node:assert/strict";
import { test } from "node:test";

import { applyMutation, excerptOf, openConflicts, respell, view } from "../../web/js/model.js";

const person = (id, fields, extra = {}) => ({
  entity: "person", id, version: 1, deleted: false,
  fields: { name: null, title: null, tags: [], organization_id: null, ...fields }, ...extra,
});
const set = (entity, id, fields, base = 0) => ({ name: "set", args: { entity, id, base, fields } });

test("the view is the server copy with pending mutations applied, the copy untouched", () => {
  const server = new Map([["p1", person("p1", { name: "Dana", title: "CTO" })]]);
  const shown = view(server, [set("person", "p1", { title: "CEO" }, 1)]);
  assert.equal(shown.get("p1").fields.title, "CEO");
  assert.equal(shown.get("p1").fields.name, "Dana");
  assert.equal(server.get("p1").fields.title, "CTO");
});

test("a set creates a record with every schema field", () => {
  const shown = view(new Map(), [set("person", "p2", { name: "Sam" })]);
  const rec = shown.get("p2");
  assert.equal(rec.version, 0);
  assert.equal(rec.fields.name, "Sam");
  assert.deepEqual(rec.fields.emails, []);
  assert.equal(rec.fields.hiring_authority, null);
});

test("add and remove change set fields; sets stay sorted and unique", () => {
  const server = new Map([["p1", person("p1", { name: "Dana", tags: ["b"] })]]);
  const shown = view(server, [
    { name: "add", args: { entity: "person", id: "p1", field: "tags", value: "a" } },
    { name: "add", args: { entity: "person", id: "p1", field: "tags", value: "b" } },
    { name: "remove", args: { entity: "person", id: "p1", field: "tags", value: "b" } },
    { name: "add", args: { entity: "person", id: "p1", field: "tags", value: "c" } },
  ]);
  assert.deepEqual(shown.get("p1").fields.tags, ["a", "c"]);
});

test("delete hides a record; an edit after it shows it again, as the server would", () => {
  const server = new Map([["p1", person("p1", { name: "Dana" })]]);
  const del = { name: "delete", args: { entity: "person", id: "p1", base: 1 } };
  assert.equal(view(server, [del]).get("p1").deleted, true);
  assert.equal(view(server, [del, set("person", "p1", { title: "x" }, 1)]).get("p1").deleted, false);
});

test("merge folds the duplicate into the survivor and re-points references", () => {
  const server = new Map([
    ["keep", person("keep", { name: "Dana Ortiz", tags: ["a"] })],
    ["dup", person("dup", { name: "Dana O.", title: "CTO", tags: ["b"] })],
    ["c1", { entity: "conversation", id: "c1", version: 1, deleted: false,
      fields: { person_id: "dup", notes: "lunch" } }],
  ]);
  const shown = view(server, [{ name: "merge", args: { entity: "person", id: "dup", into: "keep" } }]);
  assert.equal(shown.get("dup").deleted, true);
  assert.equal(shown.get("dup").fields.merged_into, "keep");
  assert.equal(shown.get("keep").fields.title, "CTO");
  assert.equal(shown.get("keep").fields.name, "Dana Ortiz");
  assert.deepEqual(shown.get("keep").fields.tags, ["a", "b"]);
  assert.equal(shown.get("c1").fields.person_id, "keep");
  // a later write naming the duplicate lands on the survivor
  const later = view(server, [
    { name: "merge", args: { entity: "person", id: "dup", into: "keep" } },
    set("person", "dup", { department: "R&D" }),
  ]);
  assert.equal(later.get("keep").fields.department, "R&D");
});

test("resolve closes the conflict and applies the chosen value", () => {
  const conflict = {
    entity: "conflict", id: "k1", version: 1, deleted: false,
    fields: { entity: "person", record_id: "p1", field: "title", kept: "B", lost: "A",
      lost_hlc: "x", lost_client: "phone", status: "open" },
  };
  const server = new Map([["p1", person("p1", { name: "Dana", title: "B" })], ["k1", conflict]]);
  assert.equal(openConflicts(server).length, 1);
  assert.equal(openConflicts(server)[0].record.id, "p1");
  const lost = view(server, [{ name: "resolve", args: { conflict: "k1", choose: "lost" } }]);
  assert.equal(lost.get("p1").fields.title, "A");
  assert.equal(openConflicts(lost).length, 0);
  const kept = view(server, [{ name: "resolve", args: { conflict: "k1", choose: "kept" } }]);
  assert.equal(kept.get("p1").fields.title, "B");
  const value = view(server, [{ name: "resolve", args: { conflict: "k1", choose: "value", value: "C" } }]);
  assert.equal(value.get("p1").fields.title, "C");
});

test("rebase after a pull: the new server copy with the still-pending edits on top", () => {
  const pending = [set("person", "p1", { notes: "typed offline" }, 1)];
  const before = new Map([["p1", person("p1", { name: "Dana", title: "old" })]]);
  const pulled = new Map([["p1", person("p1", { name: "Dana", title: "from desktop" }, { version: 2 })]]);
  assert.equal(view(before, pending).get("p1").fields.title, "old");
  const after = view(pulled, pending);
  assert.equal(after.get("p1").fields.title, "from desktop");
  assert.equal(after.get("p1").fields.notes, "typed offline");
  assert.equal(after.get("p1").version, 2);
});

test("applyMutation ignores a record it does not know for add/remove", () => {
  const records = new Map();
  applyMutation(records, { name: "add", args: { entity: "person", id: "nope", field: "tags", value: "x" } });
  assert.equal(records.size, 0);
});

test("a corrected name is respelled only where the note spells it as a word", () => {
  assert.equal(respell("Send a thank-you: Mira Kowalsky", "Mira Kowalsky", "Mira Kowalski"),
    "Send a thank-you: Mira Kowalski");
  assert.equal(respell("Ask Al about Alabama and Al's team", "Al", "Alex"),
    "Ask Alex about Alabama and Alex's team");
  assert.equal(respell("Call Zoë", "Zo", "Zoe"), null, "a letter beyond ASCII ends no word");
  assert.equal(respell("Lunch with J.R. (maybe)", "J.R.", "JR"), "Lunch with JR (maybe)");
  assert.equal(respell("Pay $5 to Ann", "$5", "$6"), "Pay $6 to Ann", "no pattern from a name");
  assert.equal(respell("Call Mira", "Dana", "Dane"), null);
  assert.equal(respell(null, "Dana", "Dane"), null);
});

test("an excerpt is a note's first line, cut between words when it is long", () => {
  assert.equal(excerptOf("Runs the pilot line.\nTeam of six."), "Runs the pilot line.");
  const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(" "); // 589 characters
  const cut = excerptOf(long);
  assert.ok(cut.length <= 161 && cut.length > 80, cut.length);
  assert.ok(cut.endsWith("…"));
  assert.ok(long.startsWith(cut.slice(0, -1)) && long[cut.length - 1] === " ", "cut between words");
  const unbroken = "x".repeat(400);
  assert.equal(excerptOf(unbroken), `${"x".repeat(160)}…`);
  assert.equal(excerptOf("y".repeat(160)), "y".repeat(160));
});
