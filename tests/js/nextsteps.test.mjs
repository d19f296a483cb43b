import assert from "node:assert/strict";
import { test } from "node:test";

import { nextSteps, snoozeFor } from "../../web/js/nextsteps.js";
import { rec, store } from "./fixtures.mjs";

const when = { today: "2026-11-26", now: "2026-11-26T15:00:00.000Z" };
const keys = (records) => nextSteps(records, when).map((a) => a.key.split(":")[0]);

test("a target organization with nobody known: find a connection", () => {
  const org = rec("organization", { name: "Helios", status: "target" });
  const actions = nextSteps(store(org), when);
  assert.equal(actions[0].key, `find:${org.id}`);
  assert.match(actions[0].title, /Find a connection at Helios/);
});

test("identified but not contacted: reach out", () => {
  const p = rec("person", { name: "Dana", stage: "identified", found_via: "alumni" });
  const [action] = nextSteps(store(p), when);
  assert.equal(action.key, `reach:${p.id}`);
  assert.match(action.why, /connection/);
  assert.deepEqual(action.quick.mutations[0].fields, { stage: "contacted" });
});

test("a conversation tomorrow: do your homework; prepared stops it", () => {
  const org = rec("organization", { name: "Helios", status: "exploring" });
  const p = rec("person", { name: "Ruth", stage: "scheduled", organization_id: org.id });
  const c = rec("conversation", { person_id: p.id, at: "2026-11-27T17:00:00.000Z" });
  const actions = nextSteps(store(org, p, c), when);
  assert.equal(actions[0].key, `homework:${c.id}`);
  assert.match(actions[0].title, /homework on Helios/);
  c.fields.prepared = true;
  assert.ok(!keys(store(org, p, c)).includes("homework"));
});

test("talked but not thanked, and no referral asked: thank them, ask who else", () => {
  const p = rec("person", { name: "Lena", stage: "talked" });
  const c = rec("conversation", { person_id: p.id, at: "2026-11-25T12:00:00.000Z" });
  const actions = nextSteps(store(p, c), when);
  assert.deepEqual(actions.map((a) => a.key.split(":")[0]), ["thank", "ask"]);
  c.fields.thanked_at = "2026-11-25";
  c.fields.asked_for_referrals = true;
  assert.deepEqual(keys(store(p, c)), []);
});

test("a referral named but not contacted: contact them and tell the referrer", () => {
  const a = rec("person", { name: "Lena", stage: "thanked" });
  const b = rec("person", { name: "Tomasz", stage: "identified", found_via: "referral" });
  const r = rec("referral", { from_person_id: a.id, to_person_id: b.id, status: "suggested" });
  const actions = nextSteps(store(a, b, r), when);
  assert.equal(actions[0].key, `referral:${r.id}`);
  assert.match(actions[0].title, /Contact Tomasz, referred by Lena/);
  assert.match(actions[0].why, /tell Lena how it went/);
  assert.ok(!actions.some((x) => x.key === `reach:${b.id}`));
});

test("no hiring authority known at a target: aim for the prospective supervisor", () => {
  const org = rec("organization", { name: "Helios", status: "target" });
  const p = rec("person", { name: "Lena", stage: "thanked", organization_id: org.id });
  assert.ok(keys(store(org, p)).includes("aim"));
  p.fields.hiring_authority = true;
  assert.ok(!keys(store(org, p)).includes("aim"));
});

test("talked with a supervisor and no opening: connect and follow up in a few months", () => {
  const p = rec("person", { name: "Ruth", stage: "thanked", hiring_authority: true });
  const [action] = nextSteps(store(p), when);
  assert.equal(action.key, `supervisor:${p.id}`);
  assert.equal(action.quick.mutations[0].fields.due, "2027-02-26");
  const f = rec("followup", { person_id: p.id, kind: "follow_up", due: "2027-02-26" });
  assert.ok(!keys(store(p, f)).includes("supervisor"));
});

test("a chain idle for weeks: a dead end, start over", () => {
  const org = rec("organization", { name: "Northwind", status: "target" });
  const p = rec("person", { name: "Hannah", stage: "thanked", organization_id: org.id, hiring_authority: true });
  const c = rec("conversation", { person_id: p.id, organization_id: org.id, at: "2026-10-01T12:00:00.000Z",
    thanked_at: "2026-10-01", asked_for_referrals: true });
  const f = rec("followup", { person_id: p.id, kind: "follow_up", due: "2027-01-01" });
  assert.ok(!keys(store(org, p, c, f)).includes("idle"));
  assert.ok(keys(store(org, p, c)).includes("idle"));
});

test("overdue follow-ups come first, the most overdue first", () => {
  const p = rec("person", { name: "Dev", stage: "following_up" });
  const soon = rec("followup", { person_id: p.id, kind: "connect", due: "2026-11-26", note: "Connect on LinkedIn" });
  const late = rec("followup", { person_id: p.id, kind: "send_info", due: "2026-11-20", note: "Send the paper" });
  const later = rec("followup", { person_id: p.id, kind: "follow_up", due: "2026-12-20" });
  const actions = nextSteps(store(p, soon, late, later), when);
  assert.deepEqual(actions.slice(0, 2).map((a) => a.key), [`followup:${late.id}`, `followup:${soon.id}`]);
  assert.match(actions[0].why, /Overdue by 6 days/);
  assert.ok(!actions.some((a) => a.key === `followup:${later.id}`));
});

test("one step per person and action: two lunches with Zoë, one thanks, one ask", () => {
  const zoe = rec("person", { name: "Zoë", stage: "talked" });
  const a = rec("conversation", { person_id: zoe.id, at: "2026-11-24T12:00:00.000Z" });
  const b = rec("conversation", { person_id: zoe.id, at: "2026-11-25T12:00:00.000Z" });
  const actions = nextSteps(store(zoe, a, b), when);
  assert.deepEqual(actions.map((x) => x.title), ["Thank Zoë", "Ask Zoë who else you should talk to"]);
  const thanks = actions[0].quick.mutations.filter((m) => m.entity === "conversation").map((m) => m.id).sort();
  assert.deepEqual(thanks, [a.id, b.id].sort(), "one tap thanks for both");
});

test("one step per person and action: follow-ups of one kind, and a name given twice", () => {
  const lee = rec("person", { name: "Lee", stage: "following_up" });
  const f1 = rec("followup", { person_id: lee.id, kind: "follow_up", due: "2026-11-20", note: "Follow up: Lee" });
  const f2 = rec("followup", { person_id: lee.id, kind: "follow_up", due: "2026-11-24", note: "Follow up: Lee" });
  const f3 = rec("followup", { person_id: lee.id, kind: "send_info", due: "2026-11-24", note: "Send the paper" });
  const ana = rec("person", { name: "Ana", stage: "thanked" });
  const ben = rec("person", { name: "Ben", stage: "identified" });
  const r1 = rec("referral", { from_person_id: lee.id, to_person_id: ben.id, status: "suggested" });
  const r2 = rec("referral", { from_person_id: ana.id, to_person_id: ben.id, status: "suggested" });
  const actions = nextSteps(store(lee, f1, f2, f3, ana, ben, r1, r2), when);
  const titles = actions.map((x) => x.title);
  assert.equal(titles.filter((t) => t.startsWith("Follow up: Lee")).length, 1);
  assert.equal(titles.filter((t) => t === "Send the paper (Lee)").length, 1);
  const follow = actions.find((x) => x.title.startsWith("Follow up: Lee"));
  assert.equal(follow.key, `followup:${f1.id}`, "the most overdue one speaks for the group");
  assert.equal(follow.why, "Overdue by 6 days. (1 more like it, done together.)", "one other, not two");
  assert.deepEqual(follow.quick.mutations.map((m) => m.id).sort(), [f1.id, f2.id].sort());
  const contact = actions.filter((x) => x.title.startsWith("Contact Ben"));
  assert.equal(contact.length, 1);
  assert.match(contact[0].title, /referred by (Lee and Ana|Ana and Lee)/);
  assert.equal(contact[0].quick.mutations.filter((m) => m.entity === "referral").length, 2);
  assert.equal(new Set(actions.map((x) => x.key)).size, actions.length, "keys are unique");
});

test("an organization being explored with a conversation held there gets the supervisor rule", () => {
  const org = rec("organization", { name: "Lumen", status: "exploring" });
  const p = rec("person", { name: "Zoë", stage: "thanked", organization_id: org.id });
  assert.ok(!keys(store(org, p)).includes("aim"), "nothing held there yet");
  const c = rec("conversation", { person_id: p.id, at: "2026-11-25T12:00:00.000Z", thanked_at: "2026-11-25", asked_for_referrals: true });
  assert.ok(keys(store(org, p, c)).includes("aim"));
  org.fields.status = "engaged";
  assert.ok(keys(store(org, p)).includes("aim"), "engaged counts like target");
  org.fields.status = "not_a_fit";
  assert.ok(!keys(store(org, p, c)).includes("aim"));
});

test("last contacted: the latest conversation not in the future", async () => {
  const { lastContacted } = await import("../../web/js/nextsteps.js");
  const p = rec("person", { name: "Zoë" });
  const old = rec("conversation", { person_id: p.id, at: "2026-10-01T12:00:00.000Z" });
  const recent = rec("conversation", { person_id: p.id, at: "2026-11-20T12:00:00.000Z" });
  const planned = rec("conversation", { person_id: p.id, at: "2026-12-01T12:00:00.000Z" });
  const gone = { ...rec("conversation", { person_id: p.id, at: "2026-11-25T12:00:00.000Z" }), deleted: true };
  assert.equal(lastContacted(store(p, old, recent, planned, gone), p.id, when.now), "2026-11-20T12:00:00.000Z");
  assert.equal(lastContacted(store(p, planned), p.id, when.now), null);
});

test("thanks not sent grow more pressing and say how late they are", () => {
  const p = rec("person", { name: "Priya", stage: "talked" });
  const late = rec("followup", { person_id: p.id, kind: "follow_up", due: "2026-11-24", note: "Send the paper" });
  const at = (day) => rec("conversation", { person_id: p.id, at: `${day}T12:00:00.000Z`, asked_for_referrals: true }, "c");
  const thanks = (day) => nextSteps(store(p, at(day)), when).find((a) => a.key === "thank:c");
  assert.match(thanks("2026-11-26").why, /same day/);
  assert.match(thanks("2026-11-25").why, /yesterday/);
  assert.match(thanks("2026-11-05").why, /21 days ago/);
  assert.ok(thanks("2026-11-05").urgency > thanks("2026-11-23").urgency, "three weeks late before three days");
  // ... but today's and yesterday's come first of all: the same day or the next is what counts.
  assert.ok(thanks("2026-11-25").urgency > thanks("2026-11-05").urgency);
  assert.ok(thanks("2026-11-26").urgency > thanks("2026-11-05").urgency);
  // three weeks late, it stands beside an overdue follow-up, not below every one of them
  const both = nextSteps(store(p, at("2026-11-05"), late), when).map((a) => a.key.split(":")[0]);
  assert.deepEqual(both.slice(0, 2).sort(), ["followup", "thank"]);
});

test("a thank-you comes first: due today, it ranks above follow-ups overdue for weeks", () => {
  // Sent the same day or the next, a thank-you counts; an overdue follow-up can wait a day. It
  // ranked below every follow-up a few days overdue, so the lunch's thanks were not at the top.
  const dev = rec("person", { name: "Dev", stage: "following_up" });
  const overdue = rec("followup", { person_id: dev.id, kind: "follow_up", due: "2026-11-02", note: "Send Dev the paper" });
  const mira = rec("person", { name: "Mira", stage: "talked" });
  const lunch = rec("conversation", { person_id: mira.id, at: "2026-11-26T12:00:00.000Z", asked_for_referrals: true });
  const thanks = rec("followup", { person_id: mira.id, kind: "thank_you", due: "2026-11-26", note: "Send a thank-you: Mira" });
  const ana = rec("person", { name: "Ana", stage: "talked" });
  const call = rec("conversation", { person_id: ana.id, at: "2026-11-25T12:00:00.000Z", asked_for_referrals: true });
  // At real size hundreds of thanks are late: today's lunch was below all of them.
  const olga = rec("person", { name: "Olga", stage: "talked" });
  const late = rec("conversation", { person_id: olga.id, at: "2026-11-12T12:00:00.000Z", asked_for_referrals: true });
  const bare = rec("followup", { person_id: dev.id, kind: "thank_you", due: "2026-11-20" });
  assert.deepEqual(nextSteps(store(dev, overdue, mira, lunch, thanks, ana, call, olga, late, bare), when).map((a) => a.title), [
    "Thank Ana", // a day late: more pressing than today's
    "Send a thank-you: Mira",
    "Thank Olga", // two weeks late
    "Send a thank-you (Dev)", // no note: said by its kind, not "Follow up"
    "Send Dev the paper",
  ]);
  // A month late, a thank-you is backlog like any other step.
  const old = rec("followup", { person_id: mira.id, kind: "thank_you", due: "2026-10-01", note: "Send a thank-you: Mira" });
  assert.deepEqual(nextSteps(store(dev, overdue, mira, lunch, old), when).map((a) => a.title),
    ["Send Dev the paper", "Send a thank-you: Mira"]);
});

test("a thank-you follow-up done thanks the conversation and moves the stage on, as 'Thanked' does", () => {
  // Done alone left the lunch "not thanked yet" on the person's page and the stage at "talked".
  const mira = rec("person", { name: "Mira", stage: "talked" });
  const lunch = rec("conversation", { person_id: mira.id, at: "2026-11-25T12:00:00.000Z", asked_for_referrals: true });
  const earlier = rec("conversation", { person_id: mira.id, at: "2026-10-01T12:00:00.000Z", thanked_at: "2026-10-01" });
  const later = rec("conversation", { person_id: mira.id, at: "2026-12-10T12:00:00.000Z" }); // still to come
  const thanks = rec("followup", { person_id: mira.id, kind: "thank_you", due: "2026-11-25", note: "Send a thank-you: Mira" });
  const [step] = nextSteps(store(mira, lunch, earlier, later, thanks), when);
  assert.equal(step.key, `followup:${thanks.id}`);
  assert.deepEqual(step.quick.mutations, [
    { name: "set", entity: "followup", id: thanks.id, fields: { done_at: when.now } },
    { name: "set", entity: "conversation", id: lunch.id, fields: { thanked_at: "2026-11-26" } },
    { name: "set", entity: "person", id: mira.id, fields: { stage: "thanked" } },
  ]);
  // Any other follow-up done is just done.
  const call = rec("followup", { person_id: mira.id, kind: "follow_up", due: "2026-11-25", note: "Call Mira" });
  assert.deepEqual(nextSteps(store(mira, lunch, call), when).find((a) => a.key === `followup:${call.id}`).quick.mutations,
    [{ name: "set", entity: "followup", id: call.id, fields: { done_at: when.now } }]);
});

test("a follow-up already planned for someone not yet contacted is their one step", () => {
  const dev = rec("person", { name: "Dev Raman", stage: "identified" });
  const connect = rec("followup", { person_id: dev.id, kind: "connect", due: "2026-11-20", note: "LinkedIn connection request to Dev" });
  assert.deepEqual(keys(store(dev, connect)), ["followup"]);
  assert.deepEqual(keys(store(dev)), ["reach"]);
});

test("a due follow-up can be snoozed a week from Today", () => {
  const p = rec("person", { name: "Lena", stage: "following_up" });
  const f = rec("followup", { person_id: p.id, kind: "follow_up", due: "2026-11-20" });
  const [step] = nextSteps(store(p, f), when);
  assert.equal(step.key, `followup:${f.id}`);
  assert.deepEqual(step.snooze.mutations, [{ name: "set", entity: "followup", id: f.id, fields: { due: "2026-12-03" } }]);
});

test("a thank-you due is put off to tomorrow, not a week: a week later thanks are late", () => {
  const p = rec("person", { name: "Lena", stage: "talked" });
  const f = rec("followup", { person_id: p.id, kind: "thank_you", due: "2026-11-26", note: "Send a thank-you: Lena" });
  const [step] = nextSteps(store(p, f), when);
  assert.equal(step.key, `followup:${f.id}`);
  assert.equal(step.snooze.label, "Tomorrow");
  assert.deepEqual(step.snooze.mutations, [{ name: "set", entity: "followup", id: f.id, fields: { due: "2026-11-27" } }]);
  assert.deepEqual(snoozeFor("thank_you", "2026-11-30", "2026-11-26"),
    { label: "A day later", said: "Put off a day", due: "2026-12-01" });
  assert.equal(snoozeFor("connect", "2026-11-26").due, "2026-12-03");
});

test("a follow-up overdue for months is backlog: today's lunch and its referral come first", () => {
  // At real size hundreds of old follow-ups were left open; each ranked above every thank-you
  // and referral, so Today (25 steps) never showed the lunch just captured.
  const mira = rec("person", { name: "Mira", stage: "talked" });
  const jonas = rec("person", { name: "Jonas", stage: "identified", found_via: "referral" });
  const lunch = rec("conversation", { person_id: mira.id, at: "2026-11-26T12:00:00.000Z", asked_for_referrals: true });
  const named = rec("referral", { from_person_id: mira.id, to_person_id: jonas.id, status: "suggested" });
  const old = (name, due) => [rec("person", { name, stage: "following_up" }), due];
  const stale = [old("Ada", "2026-02-01"), old("Ben", "2026-06-01")].flatMap(([p, due]) =>
    [p, rec("followup", { person_id: p.id, kind: "follow_up", due, note: `Follow up: ${p.fields.name}` })]);
  const dev = rec("person", { name: "Dev", stage: "following_up" });
  const recent = rec("followup", { person_id: dev.id, kind: "follow_up", due: "2026-11-23", note: "Send Dev the paper" });
  const actions = nextSteps(store(mira, jonas, lunch, named, ...stale, dev, recent), when);
  assert.deepEqual(actions.map((a) => a.title), [
    "Thank Mira",
    "Send Dev the paper",
    "Contact Jonas, referred by Mira",
    "Follow up: Ada",
    "Follow up: Ben",
  ]);
  assert.match(actions[3].why, /^Overdue by 298 days\./);
});

test("backlog: old thanks, asks and referrals wait below today's; of one kind, the freshest first", () => {
  const step = (name, at, extra = {}) => {
    const p = rec("person", { name, stage: "talked" });
    return [p, rec("conversation", { person_id: p.id, at: `${at}T12:00:00.000Z`, ...extra })];
  };
  const [old, oldTalk] = step("Olga", "2025-04-01", { asked_for_referrals: true });
  const [quiet, quietTalk] = step("Quinn", "2025-05-01", { thanked_at: "2025-05-01" });
  const [yan, yanTalk] = step("Yan", "2026-11-20", { thanked_at: "2026-11-20", asked_for_referrals: true });
  const [zed, zedTalk] = step("Zed", "2026-11-25", { thanked_at: "2026-11-25", asked_for_referrals: true });
  const named = (from, talk, name) => {
    const to = rec("person", { name, stage: "identified", found_via: "referral" });
    return [to, rec("referral", { from_person_id: from.id, to_person_id: to.id, conversation_id: talk.id, status: "suggested" })];
  };
  const imported = named(yan, { id: null }, "Ada");
  const actions = nextSteps(store(old, oldTalk, quiet, quietTalk, yan, yanTalk, zed, zedTalk,
    ...named(yan, yanTalk, "Abe"), ...named(zed, zedTalk, "Bea"), ...named(old, oldTalk, "Cal"), ...imported), when);
  const titles = actions.map((a) => a.title);
  assert.deepEqual(titles.filter((t) => t.startsWith("Contact")), [
    "Contact Bea, referred by Zed", // named yesterday, before one named a week ago (not by name)
    "Contact Abe, referred by Yan",
    "Contact Ada, referred by Yan", // from no conversation: after those of a date
    "Contact Cal, referred by Olga", // named 600 days ago: backlog
  ]);
  const at = (t) => titles.indexOf(t);
  const fresh = actions.filter((a) => a.urgency >= 20).length;
  assert.ok(at("Contact Cal, referred by Olga") >= fresh, "an old referral is backlog");
  assert.ok(at("Thank Olga") >= fresh && at("Ask Quinn who else you should talk to") >= fresh);
  assert.match(actions[at("Thank Olga")].why, /never thanked them: a short note may still be welcome/);
});
