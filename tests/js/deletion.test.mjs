import assert from "node:assert/strict";
import { test } from "node:test";

import { planDeletion } from "../../web/js/deletion.js";
import { view } from "../../web/js/model.js";
import { nextSteps } from "../../web/js/nextsteps.js";
import { referralPaths } from "../../web/js/paths.js";
import { rec, store } from "./fixtures.mjs";

const base = () => 3;
const apply = (records, mutations) => view(records, mutations.map((m, i) => ({ id: i + 1, hlc: "h", ...m })));
const when = { today: "2026-11-26", now: "2026-11-26T15:00:00.000Z" };

function network() {
  const org = rec("organization", { name: "Helios", status: "target" });
  const marcus = rec("person", { name: "Marcus", organization_id: org.id, stage: "thanked" });
  const lena = rec("person", { name: "Lena", organization_id: org.id, stage: "identified", found_via: "referral" });
  const talk = rec("conversation", { person_id: marcus.id, organization_id: org.id, at: "2026-11-20T12:00:00.000Z" });
  const due = rec("followup", { person_id: marcus.id, kind: "follow_up", due: "2026-11-25", note: "Follow up: Marcus" });
  const done = rec("followup", { person_id: marcus.id, kind: "thank_you", due: "2026-11-20", done_at: "2026-11-20T20:00:00.000Z" });
  const orgTask = rec("followup", { organization_id: org.id, kind: "send_info", due: "2026-11-26", note: "Read the annual report" });
  const lenaTask = rec("followup", { person_id: lena.id, organization_id: org.id, kind: "connect", due: "2026-12-01" });
  const referral = rec("referral", { from_person_id: marcus.id, to_person_id: lena.id, conversation_id: talk.id, status: "suggested" });
  return { org, marcus, lena, talk, due, done, orgTask, lenaTask, referral,
    records: store(org, marcus, lena, talk, due, done, orgTask, lenaTask, referral) };
}

test("deleting a person takes their conversations and follow-ups, keeps the referral edges", () => {
  const n = network();
  const { mutations, summary } = planDeletion(n.records, "person", n.marcus.id, base);
  const deleted = mutations.filter((m) => m.name === "delete").map((m) => m.args.id).sort();
  assert.deepEqual(deleted, [n.marcus.id, n.talk.id, n.due.id, n.done.id].sort());
  assert.ok(mutations.every((m) => m.args.base === 3), "each with the base the device saw");
  assert.equal(mutations.at(-1).args.id, n.marcus.id, "the person goes last");
  assert.equal(summary, "1 conversation, 1 open follow-up");
  const after = apply(n.records, mutations);
  assert.equal(after.get(n.referral.id).deleted, false);
  // Today no longer asks to follow up with someone who is gone…
  assert.ok(!nextSteps(after, when).some((a) => a.title.includes("Marcus")));
  // …and the referral is still asked for, named as coming from a removed person.
  assert.ok(nextSteps(after, when).some((a) => a.title === "Contact Lena, referred by a removed person"));
  // The path keeps the edge, drawn from a "removed person".
  const graph = referralPaths(after, n.org.id);
  const removed = graph.nodes.find((x) => x.id === n.marcus.id);
  assert.deepEqual([removed.name, removed.removed], ["removed person", true]);
  assert.ok(graph.edges.some((e) => e.from === n.marcus.id && e.to === n.lena.id));
});

test("deleting an organization keeps its people and conversations, without it", () => {
  const n = network();
  const { mutations, summary } = planDeletion(n.records, "organization", n.org.id, base);
  const after = apply(n.records, mutations);
  assert.equal(after.get(n.org.id).deleted, true);
  for (const id of [n.marcus.id, n.lena.id, n.talk.id, n.lenaTask.id]) {
    assert.equal(after.get(id).deleted, false);
    assert.equal(after.get(id).fields.organization_id, null);
  }
  assert.equal(after.get(n.orgTask.id).deleted, true, "the organization's own to-do goes with it");
  assert.equal(summary, "1 open follow-up, 2 people kept without it");
});

test("nothing to delete: an unknown or already deleted record", () => {
  const n = network();
  assert.deepEqual(planDeletion(n.records, "person", "nobody", base).mutations, []);
  const gone = apply(n.records, planDeletion(n.records, "person", n.lena.id, base).mutations);
  assert.deepEqual(planDeletion(gone, "person", n.lena.id, base).mutations, []);
  assert.deepEqual(planDeletion(n.records, "organization", n.lena.id, base).mutations, [], "wrong entity");
});

test("a conversation goes by itself; its referral stays, from the person who gave it", () => {
  const n = network();
  const { mutations } = planDeletion(n.records, "conversation", n.talk.id, base);
  assert.deepEqual(mutations, [
    { name: "set", args: { entity: "referral", id: n.referral.id, base: 3, fields: { conversation_id: null } } },
    { name: "delete", args: { entity: "conversation", id: n.talk.id, base: 3 } },
  ]);
});

test("deleting a conversation moves its referrals to the giver's nearest other one, or to none", () => {
  const n = network();
  const later = rec("conversation", { person_id: n.marcus.id, at: "2026-11-21T12:00:00.000Z" });
  const far = rec("conversation", { person_id: n.marcus.id, at: "2026-06-01T12:00:00.000Z" });
  const records = store(...n.records.values(), later, far);
  const { mutations, summary } = planDeletion(records, "conversation", n.talk.id, base);
  let after = apply(records, mutations);
  assert.equal(after.get(n.talk.id).deleted, true);
  assert.equal(after.get(n.referral.id).deleted, false);
  assert.equal(after.get(n.referral.id).fields.conversation_id, later.id, "the nearest in time");
  assert.equal(summary, "1 referral moved to another conversation");
  // The last conversation with them: the referral stays, from Marcus, with no conversation.
  const rest = planDeletion(store(...n.records.values()), "conversation", n.talk.id, base);
  after = apply(n.records, rest.mutations);
  assert.equal(after.get(n.referral.id).fields.conversation_id, null);
  assert.equal(after.get(n.referral.id).fields.from_person_id, n.marcus.id);
});

test("deleting a person leaves no referral pointing at their deleted conversations", () => {
  const n = network();
  const after = apply(n.records, planDeletion(n.records, "person", n.marcus.id, base).mutations);
  const dangling = [...after.values()].filter((r) => r.entity === "referral" && !r.deleted &&
    r.fields.conversation_id && after.get(r.fields.conversation_id)?.deleted !== false);
  assert.deepEqual(dangling, []);
});
