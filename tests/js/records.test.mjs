import assert from "node:assert/strict";
import { test } from "node:test";

import { Records, applyMutation, linked, live, view } from "../../web/js/model.js";
import { rec, store } from "./fixtures.mjs";

/** What `linked` answers through the index, next to what a scan of a plain Map answers. */
function same(records, entity, field, id) {
  const ids = (list) => list.map((r) => r.id).sort();
  const scanned = linked(new Map(records), entity, field, id);
  assert.deepEqual(ids(linked(records, entity, field, id)), ids(scanned), `${entity}.${field} = ${id}`);
  return ids(scanned);
}

test("the reference index answers what a scan answers, as records are set and deleted", () => {
  const org = rec("organization", { name: "Acme" }, "o1");
  const ada = rec("person", { name: "Ada", organization_id: "o1" }, "p1");
  const bo = rec("person", { name: "Bo" }, "p2");
  const talk = rec("conversation", { person_id: "p1", organization_id: "o1" }, "c1");
  const records = new Records(store(org, ada, bo, talk));
  assert.deepEqual(same(records, "person", "organization_id", "o1"), ["p1"]);
  assert.deepEqual(same(records, "conversation", "person_id", "p1"), ["c1"]);

  // Bo joins Acme (a new object replaces the record), Ada leaves it.
  records.set("p2", { ...bo, fields: { ...bo.fields, organization_id: "o1" } });
  records.set("p1", { ...ada, fields: { ...ada.fields, organization_id: null } });
  assert.deepEqual(same(records, "person", "organization_id", "o1"), ["p2"]);
  // A conversation now about Bo; then deleted outright.
  records.set("c1", { ...talk, fields: { ...talk.fields, person_id: "p2" } });
  assert.deepEqual(same(records, "conversation", "person_id", "p1"), []);
  assert.deepEqual(same(records, "conversation", "person_id", "p2"), ["c1"]);
  records.delete("c1");
  assert.deepEqual(same(records, "conversation", "person_id", "p2"), []);
  assert.deepEqual(same(records, "conversation", "organization_id", "o1"), []);
});

test("mutations applied in place keep the index true, merges included", () => {
  const records = view(store(
    rec("organization", { name: "Acme" }, "o1"),
    rec("person", { name: "Ada" }, "p1"),
    rec("person", { name: "Ada L." }, "dup"),
    rec("referral", { from_person_id: "dup", to_person_id: "p1" }, "r1"),
  ), []);
  linked(records, "person", "organization_id", "o1"); // the index exists from here on
  applyMutation(records, { name: "set", args: { entity: "person", id: "p1", base: 1, fields: { organization_id: "o1" } } });
  assert.deepEqual(same(records, "person", "organization_id", "o1"), ["p1"]);
  applyMutation(records, { name: "set", args: { entity: "conversation", id: "c9", base: 0,
    fields: { person_id: "dup", organization_id: "o1" } } });
  assert.deepEqual(same(records, "conversation", "person_id", "dup"), ["c9"]);
  // Merging dup into p1 repoints the referral and the conversation.
  applyMutation(records, { name: "merge", args: { entity: "person", id: "dup", into: "p1" } });
  assert.deepEqual(same(records, "conversation", "person_id", "dup"), []);
  assert.deepEqual(same(records, "conversation", "person_id", "p1"), ["c9"]);
  assert.deepEqual(same(records, "referral", "from_person_id", "p1"), ["r1"]);
  // A deleted record is indexed but not linked.
  applyMutation(records, { name: "delete", args: { entity: "conversation", id: "c9", base: 0 } });
  assert.deepEqual(same(records, "conversation", "person_id", "p1"), []);
  assert.deepEqual(live(records, "person").map((p) => p.id).sort(), ["p1"]);
});
