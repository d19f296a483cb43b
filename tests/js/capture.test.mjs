import assert from "node:assert/strict";
import { test } from "node:test";

import {
  captureDefaults, hasNameKey, nameKey, namesakeOf, parseNames, parseReferrals, parseWho, planCapture, searchPeople,
  stageAfter,
} from "../../web/js/capture.js";
import { Records, view } from "../../web/js/model.js";
import { rec, store } from "./fixtures.mjs";

const ctx = () => {
  let i = 0;
  return { newId: () => `new-${++i}`, today: "2026-11-26", now: "2026-11-26T13:30:00.000Z", base: () => 0 };
};
const apply = (records, plan) =>
  view(records, plan.mutations.map((m, i) => ({ id: i + 1, hlc: "h", ...m })));

test("a lunch defaults when a place is given, a call otherwise", () => {
  const now = new Date("2026-11-26T12:31:45Z");
  assert.equal(captureDefaults({ now, place: "APS March Meeting" }).kind, "lunch");
  assert.equal(captureDefaults({ now }).kind, "call");
  assert.equal(captureDefaults({ now }).at, "2026-11-26T12:31:00.000Z");
});

test("search finds people by name start, word start, then organization", () => {
  const helios = rec("organization", { name: "Helios Photonics" });
  const records = store(helios,
    rec("person", { name: "Dana Ortiz" }),
    rec("person", { name: "Sam Danvers" }),
    rec("person", { name: "Lee Park", organization_id: helios.id }),
    { ...rec("person", { name: "Dan Deleted" }), deleted: true });
  assert.deepEqual(searchPeople(records, "dan").map((p) => p.fields.name), ["Dana Ortiz", "Sam Danvers"]);
  assert.deepEqual(searchPeople(records, "helios").map((p) => p.fields.name), ["Lee Park"]);
  assert.deepEqual(searchPeople(records, "  "), []);
});

test("names split on lines and semicolons, without repeats (case and accents ignored)", () => {
  assert.deepEqual(parseNames("Ruth Castellano\n  tomasz W ; ruth castellano;\nRúth Castellano\n"), ["Ruth Castellano", "tomasz W"]);
});

test("a referral line with a role makes one person with that title", () => {
  for (const line of ["Ben Ortiz, hiring manager", "Ben Ortiz — hiring manager", "Ben Ortiz – hiring manager",
    "Ben Ortiz - hiring manager", "Ben Ortiz (hiring manager)", "  Ben   Ortiz ,  hiring manager  "]) {
    assert.deepEqual(parseReferrals(line), [{ name: "Ben Ortiz", title: "hiring manager" }], line);
  }
  assert.deepEqual(parseReferrals("Ben Ortiz"), [{ name: "Ben Ortiz", title: null }]);
  assert.deepEqual(parseReferrals("Mary-Jane Watson"), [{ name: "Mary-Jane Watson", title: null }]);
});

test("commas inside quotes stay in the name; honorifics and suffixes stay with it", () => {
  assert.deepEqual(parseReferrals('"Ortiz, Ben", hiring manager'), [{ name: "Ortiz, Ben", title: "hiring manager" }]);
  assert.deepEqual(parseReferrals("“Smith, Anne” (CTO); Lee"), [{ name: "Smith, Anne", title: "CTO" }, { name: "Lee", title: null }]);
  assert.deepEqual(parseReferrals("Dr. Jane Smith, CTO"), [{ name: "Dr. Jane Smith", title: "CTO" }]);
  assert.deepEqual(parseReferrals("John Smith, Jr., VP Optics"), [{ name: "John Smith, Jr.", title: "VP Optics" }]);
  assert.deepEqual(parseReferrals("- Lena Okafor\n2. Ruth Castellano (optics lead)"),
    [{ name: "Lena Okafor", title: null }, { name: "Ruth Castellano", title: "optics lead" }]);
});

test("non-Latin names and punctuation", () => {
  assert.deepEqual(parseReferrals("王小明，工程师"), [{ name: "王小明", title: "工程师" }]);
  assert.deepEqual(parseReferrals("佐藤 花子（部長）"), [{ name: "佐藤 花子", title: "部長" }]);
  assert.deepEqual(parseReferrals("Ирина Петрова — руководитель группы"), [{ name: "Ирина Петрова", title: "руководитель группы" }]);
  assert.deepEqual(parseReferrals("Zoë Ng"), [{ name: "Zoë Ng", title: null }]);
});

test("a referral with a role: one person, titled, at the organization when they work there", () => {
  const helios = rec("organization", { name: "Helios Photonics" });
  const marcus = rec("person", { name: "Marcus", organization_id: helios.id, stage: "contacted" });
  const records = store(helios, marcus);
  const plan = planCapture(records, {
    personId: marcus.id, kind: "lunch", at: "2026-11-26T12:00:00.000Z",
    referrals: parseReferrals("Ben Ortiz, hiring manager\nDr. Ana Lima (elsewhere)"), followups: [],
  }, ctx());
  const after = apply(records, plan);
  const people = [...after.values()].filter((r) => r.entity === "person").map((p) => p.fields);
  assert.equal(people.length, 3);
  const ben = people.find((p) => p.name === "Ben Ortiz");
  assert.equal(ben.title, "hiring manager");
  assert.equal(ben.organization_id, helios.id);
  const away = apply(records, planCapture(records, {
    personId: marcus.id, kind: "lunch", at: "2026-11-26T12:00:00.000Z", referralsAtOrganization: false,
    referrals: parseReferrals("Ben Ortiz, hiring manager"), followups: [],
  }, ctx()));
  assert.equal([...away.values()].find((r) => r.fields.name === "Ben Ortiz").fields.organization_id, null);
});

test("a conversation in the future schedules: stage scheduled, no follow-up closed, no referrals", () => {
  const dana = rec("person", { name: "Dana", stage: "contacted" });
  const open = rec("followup", { person_id: dana.id, kind: "follow_up", due: "2026-11-20" });
  const records = store(dana, open);
  const plan = planCapture(records, { personId: dana.id, kind: "call", at: "2026-11-27T17:00:00.000Z",
    referrals: ["Someone"], followups: [] }, ctx());
  const after = apply(records, plan);
  assert.equal(after.get(dana.id).fields.stage, "scheduled");
  assert.equal(after.get(open.id).fields.done_at, null);
  assert.equal([...after.values()].filter((r) => r.entity === "referral").length, 0);
  // in the past, the same capture means it happened
  const held = apply(records, planCapture(records, { personId: dana.id, kind: "call", at: "2026-11-25T17:00:00.000Z", followups: [] }, ctx()));
  assert.equal(held.get(dana.id).fields.stage, "talked");
  assert.equal(held.get(open.id).fields.done_at, "2026-11-26T13:30:00.000Z");
  // a new person met in the future is scheduled as well, and someone already further along keeps their stage
  assert.equal(stageAfter(null, "2026-11-27T17:00:00.000Z", "2026-11-26T13:30:00.000Z"), "scheduled");
  assert.equal(stageAfter("thanked", "2026-11-27T17:00:00.000Z", "2026-11-26T13:30:00.000Z"), null);
});

test("a new organization from capture is created engaged, and the person works there", () => {
  const plan = planCapture(new Map(), { personName: "Zoë Ng", newOrganization: { id: "org-new", name: " Lumen Labs " },
    kind: "lunch", at: "2026-11-26T12:00:00.000Z", followups: [] }, ctx());
  const after = apply(new Map(), plan);
  assert.deepEqual([after.get("org-new").fields.name, after.get("org-new").fields.status], ["Lumen Labs", "engaged"]);
  assert.equal(after.get(plan.personId).fields.organization_id, "org-new");
  assert.ok(plan.created.includes("org-new") && plan.created.includes(plan.personId) && plan.created.includes(plan.conversationId));
});

test("a known person is found by name whatever the case or accents", () => {
  const zoe = rec("person", { name: "Zoë Ng", stage: "identified" });
  const plan = planCapture(store(zoe), { personName: "zoe ng", kind: "call", at: "2026-11-25T12:00:00.000Z", followups: [] }, ctx());
  assert.equal(plan.personId, zoe.id);
});

test("a namesake is looked for once: by the view when a name is picked, not again in the plan", () => {
  const zoe = rec("person", { name: "Dr. Zoë Ng", stage: "identified" });
  const gone = { ...rec("person", { name: "Zoe Ng" }), deleted: true };
  const records = store(gone, rec("person", { name: "Zoe Ngo" }), zoe);
  assert.equal(namesakeOf(records, "zoe  ng")?.id, zoe.id, "honorific, accents, spaces, the deleted one");
  assert.equal(namesakeOf(new Records(records), "Zoë Ng")?.id, zoe.id, "the app's indexed records");
  assert.equal(namesakeOf(records, "Zoe N"), null);
  // The view found none (personIsNew): the plan makes someone new without looking again.
  const form = { personName: "zoe ng", kind: "call", at: "2026-11-25T12:00:00.000Z", followups: [] };
  const plan = planCapture(records, { ...form, personIsNew: true }, ctx());
  assert.equal(plan.personId, "new-1");
  assert.equal(plan.mutations[0].args.fields.name, "zoe ng");
  assert.equal(planCapture(records, form, ctx()).personId, zoe.id, "without it, the plan looks");
});

test("a lunch with a new person, two referrals and a follow-up", () => {
  const helios = rec("organization", { name: "Helios Photonics", status: "target" });
  const records = store(helios);
  const plan = planCapture(records, {
    personName: "Tomasz Wierzbicki", organizationId: helios.id, kind: "lunch",
    at: "2026-11-26T12:30:00.000Z", place: "APS March Meeting", notes: "Met at lunch.",
    culture: "Flat", fit: "good", referrals: ["Ruth Castellano", "Dev Raman"],
    followups: ["thanks", "three_months"],
  }, ctx());
  const after = apply(records, plan);
  const met = after.get(plan.personId);
  assert.equal(met.fields.name, "Tomasz Wierzbicki");
  assert.equal(met.fields.organization_id, helios.id);
  assert.equal(met.fields.stage, "talked");
  const conv = after.get(plan.conversationId);
  assert.equal(conv.fields.person_id, plan.personId);
  assert.equal(conv.fields.kind, "lunch");
  assert.equal(conv.fields.asked_for_referrals, true);
  assert.equal(conv.fields.culture, "Flat");
  const refs = [...after.values()].filter((r) => r.entity === "referral");
  assert.equal(refs.length, 2);
  for (const r of refs) {
    assert.equal(r.fields.from_person_id, plan.personId);
    assert.equal(r.fields.conversation_id, plan.conversationId);
    const to = after.get(r.fields.to_person_id);
    assert.equal(to.fields.found_via, "referral");
    assert.equal(to.fields.stage, "identified");
    assert.equal(to.fields.organization_id, helios.id);
    assert.match(to.fields.found_via_detail, /Tomasz/);
  }
  const dues = [...after.values()].filter((r) => r.entity === "followup").map((f) => [f.fields.kind, f.fields.due]).sort();
  assert.deepEqual(dues, [["follow_up", "2027-02-26"], ["thank_you", "2026-11-26"]]);
});

test("a referral to someone already known links them instead of duplicating", () => {
  const ruth = rec("person", { name: "Ruth Castellano", stage: "identified" });
  const dana = rec("person", { name: "Dana", stage: "contacted" });
  const records = store(ruth, dana);
  const plan = planCapture(records, { personId: dana.id, kind: "call", at: "2026-11-26T10:00:00Z",
    referrals: ["ruth castellano"], followups: [] }, ctx());
  const after = apply(records, plan);
  assert.equal([...after.values()].filter((r) => r.entity === "person").length, 2);
  const ref = [...after.values()].find((r) => r.entity === "referral");
  assert.equal(ref.fields.to_person_id, ruth.id);
  assert.equal(after.get(dana.id).fields.stage, "talked");
});

test("talking with someone resets their open follow-up", () => {
  const dana = rec("person", { name: "Dana", stage: "following_up" });
  const due = rec("followup", { person_id: dana.id, kind: "follow_up", due: "2026-11-20" });
  const thanks = rec("followup", { person_id: dana.id, kind: "thank_you", due: "2026-11-20" });
  const records = store(dana, due, thanks);
  const after = apply(records, planCapture(records, { personId: dana.id, kind: "call",
    at: "2026-11-26T10:00:00Z", followups: [] }, ctx()));
  assert.equal(after.get(due.id).fields.done_at, "2026-11-26T13:30:00.000Z");
  assert.equal(after.get(thanks.id).fields.done_at, null);
  assert.equal(after.get(dana.id).fields.stage, "following_up");
});

test("who was met, typed with a role, is a name and a title (as a referral line is)", () => {
  assert.deepEqual(parseWho("Priya Nair, cell process engineer"), { name: "Priya Nair", title: "cell process engineer" });
  assert.deepEqual(parseWho("Priya Nair (cell process engineer)"), { name: "Priya Nair", title: "cell process engineer" });
  assert.deepEqual(parseWho("Voltaic Cells"), { name: "Voltaic Cells", title: null });
  assert.equal(parseWho("   "), null);
  const plan = planCapture(new Map(), { personName: "Priya Nair", personTitle: "cell process engineer",
    kind: "lunch", at: "2026-11-26T12:00:00.000Z", referrals: [], followups: [] }, ctx());
  const person = apply(new Map(), plan).get(plan.personId);
  assert.deepEqual([person.fields.name, person.fields.title], ["Priya Nair", "cell process engineer"]);
});

test("one date format for the user: days and datetimes alike", async () => {
  const { formatDay } = await import("../../web/js/dates.js");
  const local = (y, m, d) => new Date(y, m - 1, d, 12).toISOString();
  assert.equal(formatDay("2026-12-01"), formatDay(local(2026, 12, 1)), "a day and a time on it read the same");
  assert.match(formatDay("2026-12-01"), /Dec/);
  assert.equal(formatDay(null), "");
  assert.equal(formatDay("not a date"), "");
});

test("a name is told to have a key exactly when its nameKey is that key", () => {
  const names = [
    "Ada Lovelace", "ada lovelace", "  Ada   Lovelace ", "Ada\tLovelace", "Ada\u0000Lovelace", "ADA LOVELACE",
    "Dr. Ada Lovelace", "dr ada lovelace", "Dr\u00a0Ada Lovelace", "Prof Ada Lovelace", "Mrs. Ada Lovelace",
    "Drew Smith", "Dr.Drew", "Sam", "Sir", "Sir ", "Dame Ada", "Ms Ada", "Mx. Ada", "Mr Ada", "Dr.  Ada Lovelace",
    "Zoë Ada", "Zoe Ada", "ZOË ADA", "Zoe\u00a0Ada", "Zoe Ada\u00a0", "Strauß", "Strauss", "ﬁona", "fiona",
    "Ａda", "Ada Lovelace 12", "Ada Lovelace 1", "Ada Lovelac", "Ada Lovelace\u0301", "Adá Lovelace",
    "ΣΑΣ", "σας", "Øyvind", "oyvind", "\u007fAda\u007f", "", " ", "\u00a0", null, undefined, 12,
    "İstanbul", "istanbul", "Ada-Lovelace", "Ada  Lovelace\u2003", "São Paulo", "Sao  Paulo",
  ];
  const keys = [...new Set([...names.map((n) => nameKey(n ?? "")), "ada lovelace ", " ada", "ada  lovelace", "a"])];
  let shared = 0;
  for (const key of keys) {
    const test = hasNameKey(key);
    let matches = 0;
    for (const name of names) {
      const expected = nameKey(name ?? "") === key;
      assert.equal(test(name), expected, `${JSON.stringify(name)} against key ${JSON.stringify(key)}`);
      if (expected) matches += 1;
    }
    if (matches > 1) shared += 1;
  }
  assert.ok(shared > 5, "names that share a key are among them");
});
