import assert from "node:assert/strict";
import { test } from "node:test";

import { backupText, csvColumns, guessFormat, toCsv, toVcard } from "../../web/js/exchange.js";
import { rec, store } from "./fixtures.mjs";

const org = rec("organization", { name: "Acme, Inc." }, "00000000-0000-4000-8000-000000000001");
const dana = rec("person", {
  name: "Dana Ortiz", organization_id: org.id, department: "Platform / SRE",
  emails: ["dana@acme.example", "d@home.example"], notes: "Line one; with, commas\nLine two",
  hiring_authority: true, tags: ["sre"],
}, "00000000-0000-4000-8000-000000000002");
const gone = { ...rec("person", { name: "Gone" }, "00000000-0000-4000-8000-000000000003"), deleted: true };
const talk = rec("conversation", { person_id: dana.id, kind: "lunch", at: "2026-12-03T12:30:00Z" },
  "00000000-0000-4000-8000-000000000004");

test("the backup is sorted, complete, and leaves deleted records out", () => {
  const text = backupText(store(talk, dana, org, gone), { id: "s1", name: "Ana's network" });
  assert.ok(text.endsWith("}\n"));
  const doc = JSON.parse(text);
  assert.equal(doc.format, "grapevine-backup");
  assert.equal(doc.version, 1);
  assert.deepEqual(Object.keys(doc), ["format", "records", "store", "version"]);
  assert.deepEqual(Object.keys(doc.records),
    ["conflict", "conversation", "followup", "organization", "person", "referral"]);
  assert.deepEqual(doc.records.person.map((p) => p.id), [dana.id]);
  assert.deepEqual(Object.keys(doc.records.person[0].fields), Object.keys(dana.fields).sort());
  assert.match(text, /\n "format": "grapevine-backup",\n/);
});

test("CSV names what references point to and quotes what needs it", () => {
  assert.deepEqual(csvColumns("followups").slice(0, 6),
    ["id", "person", "person_id", "organization", "organization_id", "due"]);
  const people = toCsv(store(dana, org, gone), "people").split("\r\n");
  assert.equal(people[0].split(",").slice(0, 4).join(","), "id,name,organization,organization_id");
  assert.ok(people[1].startsWith(`${dana.id},Dana Ortiz,"Acme, Inc.",${org.id},`));
  assert.ok(people[1].includes(",dana@acme.example; d@home.example,"));
  assert.ok(people[1].includes(',true,'));
  assert.ok(people[1].endsWith('"Line one; with, commas\nLine two"'));
  assert.equal(people.length, 3); // header, Dana, and the final CRLF
  const talks = toCsv(store(dana, talk), "conversations").split("\r\n");
  assert.ok(talks[1].startsWith(`${talk.id},Dana Ortiz,${dana.id},,,lunch,2026-12-03T12:30:00Z`));
});

test("vCard 4.0 escapes, folds at 75 octets and keeps units", () => {
  const long = rec("person", { name: "Zoë Brandt", notes: "é".repeat(100) }, "00000000-0000-4000-8000-000000000005");
  const text = toVcard(store(dana, org, long));
  for (const line of text.split("\r\n")) assert.ok(new TextEncoder().encode(line).length <= 75, line);
  assert.match(text, /\r\nORG:Acme\\, Inc\.;Platform;SRE\r\n/);
  assert.match(text, /\r\nNOTE:Line one\\; with\\, commas\\nLine two\r\n/);
  assert.match(text, /\r\nN:Ortiz;Dana;;;\r\n/);
  assert.equal(text.match(/BEGIN:VCARD/g).length, 2);
});

test("an import's format is guessed from the file", () => {
  assert.equal(guessFormat("contacts.vcf", ""), "vcard");
  assert.equal(guessFormat("x.txt", "BEGIN:VCARD\r\n"), "vcard");
  assert.equal(guessFormat("Connections.csv", "Notes:\n\"…\"\n\nFirst Name,Last Name,URL,Email Address"), "linkedin");
  assert.equal(guessFormat("google.csv", "First Name,Middle Name,Last Name"), "csv");
});
