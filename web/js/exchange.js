/**
 * Export from the device's own copy, with no server: CSV tables, vCard 4.0 and the JSON
 * backup (docs/backup.md), written exactly as the server's server/exporters.py writes them
 * (a test compares the bytes). Pure functions over the records the app shows.
 */

import { ENTITIES, emptyFields } from "./schema.js";

export const BACKUP_FORMAT = "grapevine-backup";
export const BACKUP_VERSION = 1;
export const CSV_TABLES = {
  people: "person",
  organizations: "organization",
  conversations: "conversation",
  followups: "followup",
  referrals: "referral",
};
const SET_SEPARATOR = "; ";

/** {entity: [{id, fields}]} of the records not deleted, sorted by id, every field present. */
export function liveRecords(records) {
  const out = {};
  for (const entity of Object.keys(ENTITIES)) out[entity] = [];
  for (const record of records.values()) {
    if (record.deleted || !ENTITIES[record.entity]) continue;
    const fields = emptyFields(record.entity);
    for (const name of Object.keys(fields)) {
      if (record.fields[name] !== undefined) fields[name] = record.fields[name];
    }
    out[record.entity].push({ id: record.id, fields });
  }
  for (const list of Object.values(out)) list.sort((a, b) => compare(a.id, b.id));
  return out;
}

/** Code-point order, as Python sorts strings. */
function compare(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort(compare)) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

/**
 * The complete JSON backup of the store as this device has it.
 * @param {Map<string, object>} records @param {{id: string, name: string}} store
 */
export function backupText(records, store) {
  const document = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    store: { id: store.id, name: store.name },
    records: liveRecords(records),
  };
  return `${JSON.stringify(sortKeys(document), null, 1)}\n`;
}

function cell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return defuse(value.join(SET_SEPARATOR));
  return defuse(String(value));
}

// A spreadsheet runs a cell that starts with = or @ (or + or - followed by more than a
// number) as a formula: such a cell gets a leading apostrophe, which `import csv` takes off
// again. The same rule as server/exporters.py's `defuse`.
const FORMULA = /^(?:[=@\t\r]|[+-](?![\d\s().,;/#*x+-]*$))/;

/** "=HYPERLINK(…)" → "'=HYPERLINK(…)"; "+1 555 0100" stays. */
export function defuse(text) {
  return FORMULA.test(text) ? `'${text}` : text;
}

function quote(text) {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** id, then each field; a reference also gets a column with the name it points to. */
export function csvColumns(table) {
  const columns = ["id"];
  for (const [name, spec] of Object.entries(ENTITIES[CSV_TABLES[table]])) {
    if (name === "not_duplicates") continue; // record ids: the backup has them
    if (spec.type === "ref" && (spec.ref === "person" || spec.ref === "organization")) {
      columns.push(name.replace(/_id$/, ""));
    }
    columns.push(name);
  }
  return columns;
}

function names(live) {
  const out = new Map();
  for (const entity of ["person", "organization"]) {
    for (const r of live[entity]) out.set(r.id, r.fields.name ?? "");
  }
  return out;
}

const byName = (a, b) => {
  const x = (a.fields.name ?? "").toLocaleLowerCase("en");
  const y = (b.fields.name ?? "").toLocaleLowerCase("en");
  return x < y ? -1 : x > y ? 1 : compare(a.id, b.id);
};

/** One table as CSV (RFC 4180, CRLF). */
export function toCsv(records, table) {
  const entity = CSV_TABLES[table];
  const live = liveRecords(records);
  const named = names(live);
  const spec = ENTITIES[entity];
  const columns = csvColumns(table);
  let rows = live[entity];
  if (entity === "person" || entity === "organization") rows = [...rows].sort(byName);
  const lines = [columns.map(quote).join(",")];
  for (const record of rows) {
    lines.push(columns.map((column) => {
      if (column === "id") return quote(record.id);
      if (spec[column]) return quote(cell(record.fields[column]));
      return quote(named.get(record.fields[`${column}_id`] ?? "") ?? "");
    }).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

function escape(value) {
  return value.replaceAll("\\", "\\\\").replaceAll(",", "\\,").replaceAll(";", "\\;")
    .replaceAll("\r\n", "\n").replaceAll("\n", "\\n");
}

const encoder = new TextEncoder();

/** RFC 6350 folding: lines of at most 75 octets, never splitting a character. */
function fold(line) {
  const out = [];
  let current = "";
  let size = 0;
  for (const char of line) {
    const bytes = encoder.encode(char).length;
    if (size + bytes > (out.length ? 74 : 75)) {
      out.push(current);
      current = "";
      size = 0;
    }
    current += char;
    size += bytes;
  }
  out.push(current);
  return out.join("\r\n ");
}

/** Every person as a vCard 4.0 card. */
export function toVcard(records) {
  const live = liveRecords(records);
  const named = names(live);
  const cards = [];
  for (const record of [...live.person].sort(byName)) {
    const f = record.fields;
    const name = f.name ?? "";
    const cut = name.lastIndexOf(" ");
    const [given, family] = cut > 0 ? [name.slice(0, cut), name.slice(cut + 1)] : [name, ""];
    const lines = [
      "BEGIN:VCARD", "VERSION:4.0", `UID:urn:uuid:${record.id}`, `FN:${escape(name)}`,
      `N:${escape(family)};${escape(given)};;;`,
    ];
    const org = named.get(f.organization_id ?? "") ?? "";
    if (org || f.department) {
      const units = (f.department ?? "").split(" / ").map((u) => u.trim()).filter(Boolean);
      lines.push(`ORG:${[org, ...units].map(escape).join(";")}`);
    }
    if (f.title) lines.push(`TITLE:${escape(f.title)}`);
    for (const e of f.emails ?? []) lines.push(`EMAIL:${escape(e)}`);
    for (const p of f.phones ?? []) lines.push(`TEL:${escape(p)}`);
    if (f.linkedin_url) lines.push(`URL;TYPE=linkedin:${f.linkedin_url}`);
    if (f.tags?.length) lines.push(`CATEGORIES:${f.tags.map(escape).join(",")}`);
    if (f.notes) lines.push(`NOTE:${escape(f.notes)}`);
    lines.push("END:VCARD");
    cards.push(lines.map((line) => `${fold(line)}\r\n`).join(""));
  }
  return cards.join("");
}

/**
 * A file's text as the server reads one: UTF-16 only with its byte-order mark, else UTF-8 if
 * it is that, else Windows-1252 (older Excel and Outlook exports), so "García" stays García.
 * @param {ArrayBuffer} buffer
 */
export function decodeText(buffer) {
  const bytes = new Uint8Array(buffer);
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return new TextDecoder(bytes[0] === 0xff ? "utf-16le" : "utf-16be").decode(bytes);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes); // drops a BOM
  } catch {
    return new TextDecoder("windows-1252").decode(bytes);
  }
}

/** Guess an import file's format from its name and first bytes. */
export function guessFormat(name, text) {
  const head = text.slice(0, 4000);
  if (/\.vcf$/i.test(name) || /^\s*BEGIN:VCARD/im.test(head)) return "vcard";
  if (/First Name,Last Name,URL/i.test(head) || /Connected On/.test(head)) return "linkedin";
  return "csv";
}
