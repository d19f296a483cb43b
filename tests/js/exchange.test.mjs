import assert from "node:assert/strict";
import { test } from "node:test";

import { backupText, csvColumns, decodeText, defuse, guessFormat, toCsv, toVcard } from "../../web/js/exchange.js";
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

test("CSV cells a spreadsheet would run as formulas get an apostrophe, as the server's do", () => {
  assert.equal(defuse('=HYPERLINK("http://evil.example")'), `'=HYPERLINK("http://evil.example")`);
  assert.equal(defuse("@SUM(1+1)"), "'@SUM(1+1)");
  assert.equal(defuse("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
  assert.equal(defuse("- a bullet"), "'- a bullet");
  for (const safe of ["+1 555 0100 x23", "-5", "+1 555; -5", "Dana", "x-ray", "+", ""]) {
    assert.equal(defuse(safe), safe);
  }
  const evil = rec("person", { name: "=1+1", title: "@cmd", phones: ["+1 555"] }, "00000000-0000-4000-8000-000000000009");
  const row = toCsv(store(evil), "people").split("\r\n")[1];
  assert.ok(row.startsWith(`${evil.id},'=1+1,`), row);
  assert.ok(row.includes(",'@cmd,") && row.includes(",+1 555,"), row);
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

test("an import file is read as UTF-8, UTF-16 with its mark, or else Windows-1252", () => {
  // (Node's windows-1252 decoder is ISO-8859-1's, so 0x80-0x9f are left out of this test.)
  const cp1252 = Uint8Array.from([0x4a, 0x6f, 0x73, 0xe9, 0x20, 0x47, 0x61, 0x72, 0x63, 0xed, 0x61]);
  assert.equal(decodeText(cp1252.buffer), "José García");
  const utf8 = new TextEncoder().encode("\ufeffJosé");
  assert.equal(decodeText(utf8.buffer), "José");
  const utf16 = Uint8Array.from([0xff, 0xfe, 0x4a, 0x00, 0xe9, 0x00]);
  assert.equal(decodeText(utf16.buffer), "Jé");
  // even-length bytes are not taken for UTF-16 without the mark
  assert.equal(decodeText(Uint8Array.from([0x41, 0xe9]).buffer), "Aé");
});
