import assert from "node:assert/strict";
import { test } from "node:test";

import {
  closeNames, compareFields, defaultChoices, defaultKeep, dismissEdits, findDuplicates, findOrganizationDuplicates,
  mergeEdits, normalizeName, organizationKey, websiteHost,
} from "../../web/js/duplicates.js";
import { view } from "../../web/js/model.js";
import { rec, store } from "./fixtures.mjs";

const acme = rec("organization", { name: "Acme" }, "o-acme");
const globex = rec("organization", { name: "Globex" }, "o-globex");

test("names compare without case, accents or punctuation", () => {
  assert.equal(normalizeName("  Zoë O'Neil "), "zoe o neil");
  assert.equal(normalizeName("RENÉE"), normalizeName("renee"));
  assert.ok(closeNames("dana ortiz", "dana ortis"));
  assert.ok(closeNames("dana ortiz", "dana m ortiz"));
  assert.ok(!closeNames("dana ortiz", "diana ortega"));
});

test("pairs by email, LinkedIn, name and organization, and close names at one organization", () => {
  const records = store(
    acme, globex,
    rec("person", { name: "Dana Ortiz", emails: ["Dana@Acme.example"] }, "p1"),
    rec("person", { name: "D. Ortiz", emails: ["dana@acme.example"] }, "p2"),
    rec("person", { name: "Sam Lee", linkedin_url: "https://www.linkedin.com/in/samlee/" }, "p3"),
    rec("person", { name: "Samuel Lee", linkedin_url: "http://linkedin.com/in/SamLee?trk=x" }, "p4"),
    rec("person", { name: "Renée Ørla", organization_id: "o-acme" }, "p5"),
    rec("person", { name: "renee ørla", organization_id: "o-acme" }, "p6"),
    rec("person", { name: "Renée Ørla", organization_id: "o-globex" }, "p7"),
    rec("person", { name: "Priya Raman", organization_id: "o-globex" }, "p8"),
    rec("person", { name: "Priya Ramen", organization_id: "o-globex" }, "p9"),
    rec("person", { name: "Priya Raman" }, "p10"),
  );
  const pairs = findDuplicates(records).map((p) => [`${p.a.id}+${p.b.id}`, p.reasons]);
  assert.deepEqual(Object.fromEntries(pairs), {
    "p1+p2": ["same email dana@acme.example"],
    "p3+p4": ["same LinkedIn profile"],
    "p5+p6": ["same name and organization"],
    "p8+p9": ["close names at the same organization"],
    "p10+p8": ["same name"],
  });
});

test("dismissed pairs stay dismissed, from either side", () => {
  const a = rec("person", { name: "Kim Park", emails: ["k@x.example"] }, "a");
  const b = rec("person", { name: "Kim Park", emails: ["k@x.example"] }, "b");
  assert.equal(findDuplicates(store(a, b)).length, 1);
  const shown = view(store(a, b), dismissEdits(a, b));
  assert.equal(findDuplicates(shown).length, 0);
  const oneSided = store(a, { ...b, fields: { ...b.fields, not_duplicates: ["a"] } });
  assert.equal(findDuplicates(oneSided).length, 0);
});

test("merge edits give both records the chosen values, then merge: no conflict left to make", () => {
  const keep = rec("person", { name: "Dana Ortiz", title: "CTO", notes: "met at PyCon", emails: ["a@x.example"] }, "k");
  const drop = rec("person", { name: "Dana M. Ortiz", title: "VP", notes: "likes tea", phones: ["555"], emails: ["b@x.example"] }, "d");
  const rows = Object.fromEntries(compareFields(keep, drop).map((r) => [r.name, r.differs]));
  assert.deepEqual(rows, { name: true, title: true, emails: false, phones: false, notes: true });
  const edits = mergeEdits(keep, drop, { title: "drop", notes: "both" }, () => 1);
  assert.deepEqual(edits, [
    { name: "set", args: { entity: "person", id: "k", base: 1, fields: { title: "VP", notes: "met at PyCon\n\nlikes tea" } } },
    { name: "set", args: { entity: "person", id: "d", base: 1, fields: { name: "Dana Ortiz", notes: "met at PyCon\n\nlikes tea" } } },
    { name: "merge", args: { entity: "person", id: "d", into: "k" } },
  ]);
  const shown = view(store(keep, drop), edits);
  const merged = shown.get("k").fields;
  assert.equal(merged.name, "Dana Ortiz");
  assert.equal(merged.title, "VP");
  assert.deepEqual(merged.emails, ["a@x.example", "b@x.example"]);
  assert.deepEqual(merged.phones, ["555"]);
  assert.equal(shown.get("d").deleted, true);
  assert.equal(shown.get("d").fields.merged_into, "k");
  assert.equal(findDuplicates(shown).length, 0);
});

test("a merge with nothing to choose is one mutation", () => {
  const a = rec("person", { name: "Kim Park", title: "CTO" }, "a");
  const b = rec("person", { name: "Kim Park", phones: ["1"] }, "b");
  assert.deepEqual(mergeEdits(a, b, {}, () => 0), [
    { name: "merge", args: { entity: "person", id: "b", into: "a" } },
  ]);
  assert.deepEqual(defaultKeep(b, a).map((r) => r.id), ["b", "a"]);
});

test("organizations: the same name but for 'The' and legal forms, or the same website", () => {
  assert.equal(organizationKey("The Helios Labs, Inc."), "helios labs");
  assert.equal(organizationKey("Société Générale S.A."), "societe generale");
  assert.equal(organizationKey("Acme & Co."), "acme");
  assert.equal(organizationKey("The Limited"), "limited"); // a name is never emptied
  assert.equal(websiteHost("https://www.Helios.example:8080/about?x=1"), "helios.example");
  const records = store(
    rec("organization", { name: "Helios Labs" }, "o1"),
    rec("organization", { name: "The Helios Labs, Inc." }, "o2"),
    rec("organization", { name: "Photon", website: "photon.example" }, "o3"),
    rec("organization", { name: "Photon Research", website: "https://www.photon.example/" }, "o4"),
    rec("organization", { name: "Helios Energy" }, "o5"),
    rec("person", { name: "Helios Labs" }, "p1"), // people are not organizations
  );
  const pairs = findOrganizationDuplicates(records).map((p) => [`${p.a.id}+${p.b.id}`, p.reasons]);
  assert.deepEqual(pairs, [["o3+o4", ["same website photon.example"]], ["o1+o2", ["same name"]]]);
  assert.equal(findDuplicates(records).length, 0);
});

test("organizations merge and stay dismissed like people", () => {
  const keep = rec("organization", { name: "Helios Labs", website: "helios.example", tags: ["solar"] }, "k");
  const drop = rec("organization", { name: "Helios Labs, Inc.", location: "Oslo", tags: ["target"] }, "d");
  const dana = rec("person", { name: "Dana", organization_id: "d" }, "p");
  const rows = Object.fromEntries(compareFields(keep, drop).map((r) => [r.name, r.differs]));
  assert.deepEqual(rows, { name: true, website: false, location: false, tags: false });
  const edits = mergeEdits(keep, drop, {}, () => 1);
  assert.deepEqual(edits, [
    { name: "set", args: { entity: "organization", id: "d", base: 1, fields: { name: "Helios Labs" } } },
    { name: "merge", args: { entity: "organization", id: "d", into: "k" } },
  ]);
  const shown = view(store(keep, drop, dana), edits);
  assert.deepEqual(shown.get("k").fields.tags.sort(), ["solar", "target"]);
  assert.equal(shown.get("d").deleted, true);
  assert.equal(shown.get("p").fields.organization_id, "k"); // Dana moves to the one kept
  assert.equal(findOrganizationDuplicates(shown).length, 0);
  const dismissed = view(store(keep, drop), dismissEdits(keep, drop));
  assert.equal(dismissed.get("k").fields.not_duplicates[0], "d");
  assert.equal(findOrganizationDuplicates(dismissed).length, 0);
});

test("merging a namesake import never sets a person met back: later stage, known source, authority", () => {
  // The import has more fields filled, so it is kept by default; Mira's lunch must not be undone.
  const met = rec("person", { name: "Mira Kowalski", stage: "talked", found_via: "other", title: "process engineer" });
  const imported = rec("person", { name: "Mira Kowalski", stage: "identified", found_via: "linkedin",
    emails: ["mira@costa.example"], linkedin_url: "https://linkedin.com/in/mira", hiring_authority: false, strength: 1 });
  const [keep, drop] = defaultKeep(met, imported);
  assert.equal(keep.id, imported.id);
  const choices = defaultChoices(keep, drop);
  assert.deepEqual(choices, { stage: "drop", found_via: "keep" });
  const [set] = mergeEdits(keep, drop, choices, () => 1);
  assert.deepEqual(set.args.fields, { stage: "talked" });
  const boss = rec("person", { name: "Ruth", hiring_authority: true, strength: 4, stage: "not_a_fit" });
  const other = rec("person", { name: "Ruth", hiring_authority: false, strength: 2, stage: "thanked" });
  assert.deepEqual(defaultChoices(other, boss), { stage: "drop", hiring_authority: "drop", strength: "drop" });
});
