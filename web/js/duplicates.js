/**
 * Possible duplicate people and organizations, and the edits that merge a pair the way the
 * user chose. Pure functions over the records the app shows (no DOM), tested with node.
 *
 * People: a pair is listed when two share an email or a LinkedIn profile, have the same name
 * at the same organization (or one of them has none), or close names (a typo or a middle
 * initial apart) at the same organization. Organizations: the same name once case, accents,
 * a leading "The" and legal forms ("Inc.", "GmbH", "Ltd") are set aside, or the same website
 * (an import of LinkedIn and one of contacts easily makes "Helios Labs" and "Helios Labs,
 * Inc."). Pairs the user said are different are kept in each record's `not_duplicates` set,
 * which syncs like any field.
 */

import { live } from "./model.js";
import { ENTITIES, STAGES } from "./schema.js";

/** "Zoë  O'Neil" → "zoe o neil": case, accents and punctuation aside. */
export function normalizeName(value) {
  return (value ?? "").normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** linkedin.com/in/<slug>, whatever the scheme, host, query or trailing slash. */
export function normalizeLinkedin(url) {
  return (url ?? "").trim().toLowerCase().replace(/^[a-z]+:\/\//, "").split(/[?#]/)[0]
    .replace(/\/+$/, "").replace(/^([a-z]{2,3}\.)?(www\.)?linkedin\.com/, "linkedin.com");
}

function distance(a, b) {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

/** Close names: a typo or two apart, or the same first and last word (a middle name). */
export function closeNames(a, b) {
  if (!a || !b || a === b) return false;
  if (Math.min(a.length, b.length) >= 5 && distance(a, b) <= 2) return true;
  const x = a.split(" ");
  const y = b.split(" ");
  return x.length > 1 && y.length > 1 && x[0] === y[0] && x.at(-1) === y.at(-1);
}

const MAX_GROUP = 300; // close names are compared within one organization, up to this many

/**
 * Pairs noted with their reasons (a pair the user dismissed is never noted), then listed most
 * certain first (lowest rank), by name.
 */
function pairCollector() {
  const found = new Map();
  const note = (a, b, reason, rank) => {
    if (a.id === b.id) return;
    const [x, y] = a.id < b.id ? [a, b] : [b, a];
    if ((x.fields.not_duplicates ?? []).includes(y.id)) return;
    if ((y.fields.not_duplicates ?? []).includes(x.id)) return;
    const key = `${x.id} ${y.id}`;
    const pair = found.get(key) ?? { a: x, b: y, reasons: [], rank: 9 };
    if (!pair.reasons.includes(reason)) pair.reasons.push(reason);
    pair.rank = Math.min(pair.rank, rank);
    found.set(key, pair);
  };
  const pairs = () => [...found.values()]
    .sort((x, y) => x.rank - y.rank || normalizeName(x.a.fields.name).localeCompare(normalizeName(y.a.fields.name)))
    .map(({ a, b, reasons }) => ({ a, b, reasons }));
  return { note, pairs };
}

/**
 * Pairs of people that may be one person, most certain first.
 * @param {Map<string, object>} records
 * @returns {{a: object, b: object, reasons: string[]}[]}
 */
export function findDuplicates(records) {
  const people = live(records, "person").sort((x, y) => (x.id < y.id ? -1 : 1));
  const { note, pairs } = pairCollector();
  const groups = (key) => {
    const map = new Map();
    for (const person of people) {
      for (const k of key(person)) {
        if (!k) continue;
        if (!map.has(k)) map.set(k, []);
        map.get(k).push(person);
      }
    }
    return map;
  };
  const eachPair = (map, reason, rank) => {
    for (const [key, group] of map) {
      for (let i = 0; i < group.length; i++) {
        for (let j = i + 1; j < group.length; j++) note(group[i], group[j], reason(key), rank);
      }
    }
  };
  eachPair(groups((p) => (p.fields.emails ?? []).map((e) => e.trim().toLowerCase())),
    (email) => `same email ${email}`, 0);
  eachPair(groups((p) => [p.fields.linkedin_url ? normalizeLinkedin(p.fields.linkedin_url) : ""]),
    () => "same LinkedIn profile", 0);
  // The same name at the same organization, or with no organization on one side (a person
  // added by hand before the import that knew where they work).
  for (const group of groups((p) => [normalizeName(p.fields.name)]).values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const x = group[i].fields.organization_id ?? "";
        const y = group[j].fields.organization_id ?? "";
        if (x === y) note(group[i], group[j], "same name and organization", 1);
        else if (!x || !y) note(group[i], group[j], "same name", 1);
      }
    }
  }
  for (const group of groups((p) => [p.fields.organization_id ?? ""]).values()) {
    if (group.length > MAX_GROUP) continue;
    const normalized = group.map((p) => normalizeName(p.fields.name));
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        if (group[i].fields.organization_id && closeNames(normalized[i], normalized[j])) {
          note(group[i], group[j], "close names at the same organization", 2);
        }
      }
    }
  }
  return pairs();
}

// Legal forms and the like, set aside at the end of an organization's name (after
// normalizeName: lower case, punctuation gone, so "S.A." is "s a" and "& Co." is "co").
const LEGAL_FORMS = new Set([
  "inc", "incorporated", "llc", "l l c", "ltd", "limited", "corp", "corporation", "co", "company",
  "plc", "gmbh", "ag", "sa", "s a", "sas", "sarl", "nv", "bv", "oy", "ab", "asa", "spa", "srl",
  "pty", "pte", "kk", "lp", "llp", "pllc",
]);

/** "The Helios Labs, Inc." → "helios labs": what two organizations' names are compared by. */
export function organizationKey(name) {
  let words = normalizeName(name).split(" ").filter(Boolean);
  if (words.length > 1 && words[0] === "the") words = words.slice(1);
  for (let changed = true; changed && words.length > 1;) {
    changed = false;
    for (const n of [2, 1]) {
      if (words.length > n && LEGAL_FORMS.has(words.slice(-n).join(" "))) {
        words = words.slice(0, -n);
        changed = true;
        break;
      }
    }
  }
  return words.join(" ");
}

/** "https://www.Helios.example/about" → "helios.example". */
export function websiteHost(url) {
  return (url ?? "").trim().toLowerCase().replace(/^[a-z]+:\/\//, "").split(/[/?#]/)[0]
    .replace(/^www\./, "").replace(/:\d+$/, "");
}

/**
 * Pairs of organizations that may be one, most certain first (same website, then same name).
 * Grouped by key, so 1,000 organizations cost one pass, not a million comparisons.
 * @param {Map<string, object>} records
 * @returns {{a: object, b: object, reasons: string[]}[]}
 */
export function findOrganizationDuplicates(records) {
  const orgs = live(records, "organization").sort((x, y) => (x.id < y.id ? -1 : 1));
  const { note, pairs } = pairCollector();
  const byKey = (key, reason, rank) => {
    const groups = new Map();
    for (const org of orgs) {
      const k = key(org);
      if (!k) continue;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(org);
    }
    for (const [k, group] of groups) {
      if (group.length > MAX_GROUP) continue;
      for (let i = 0; i < group.length; i++) {
        for (let j = i + 1; j < group.length; j++) note(group[i], group[j], reason(k), rank);
      }
    }
  };
  byKey((o) => websiteHost(o.fields.website), (host) => `same website ${host}`, 0);
  byKey((o) => organizationKey(o.fields.name), () => "same name", 1);
  return pairs();
}

const isEmpty = (v) => v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
const same = (x, y) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);

/** Fields of a pair side by side: {name, type, keep, drop, differs} for each field either has. */
export function compareFields(keep, drop) {
  const rows = [];
  for (const [name, spec] of Object.entries(ENTITIES[keep.entity ?? "person"])) {
    if (name === "not_duplicates") continue;
    const x = keep.fields[name];
    const y = drop.fields[name];
    if (isEmpty(x) && isEmpty(y)) continue;
    const differs = spec.type !== "set" && !isEmpty(x) && !isEmpty(y) && !same(x, y);
    rows.push({ name, type: spec.type, keep: x, drop: y, differs });
  }
  return rows;
}

/**
 * The edits that merge `drop` into `keep` with the user's choices, queued together.
 * `choices` maps a differing field to "keep", "drop" or (text fields) "both". Both records
 * are first given the chosen values, so the engine's merge finds nothing to disagree on and
 * records no conflict for what the user decided; sets are united by the merge itself.
 * @param {object} keep @param {object} drop @param {Record<string, string>} choices
 * @param {(id: string) => number} base
 */
export function mergeEdits(keep, drop, choices, base) {
  const chosen = {};
  for (const row of compareFields(keep, drop)) {
    if (!row.differs) continue;
    const choice = choices[row.name] ?? "keep";
    if (choice === "drop") chosen[row.name] = row.drop;
    else if (choice === "both" && row.type === "text") chosen[row.name] = `${row.keep}\n\n${row.drop}`;
    else chosen[row.name] = row.keep;
  }
  const toKeep = {};
  const toDrop = {};
  for (const [name, value] of Object.entries(chosen)) {
    if (!same(keep.fields[name], value)) toKeep[name] = value;
    if (!same(drop.fields[name], value)) toDrop[name] = value;
  }
  const entity = keep.entity ?? "person";
  const edits = [];
  if (Object.keys(toKeep).length) {
    edits.push({ name: "set", args: { entity, id: keep.id, base: base(keep.id), fields: toKeep } });
  }
  if (Object.keys(toDrop).length) {
    edits.push({ name: "set", args: { entity, id: drop.id, base: base(drop.id), fields: toDrop } });
  }
  edits.push({ name: "merge", args: { entity, id: drop.id, into: keep.id } });
  return edits;
}

/** The edits that say two records are not the same (on both, so either device knows). */
export function dismissEdits(a, b) {
  const entity = a.entity ?? "person";
  return [
    { name: "add", args: { entity, id: a.id, field: "not_duplicates", value: b.id } },
    { name: "add", args: { entity, id: b.id, field: "not_duplicates", value: a.id } },
  ];
}

/** Which of two records to keep by default: the one with more filled fields, then the older. */
export function defaultKeep(a, b) {
  const filled = (r) => Object.values(r.fields).filter((v) => !isEmpty(v)).length;
  return filled(b) > filled(a) ? [b, a] : [a, b];
}

/**
 * The value each differing field takes by default ("keep" or "drop"), before the user picks:
 * what a merge would otherwise lose. A person met is never set back to "identified" by a
 * namesake imported from LinkedIn: the later stage, a known way of finding them over "other",
 * hiring authority if either has it, the stronger connection. Other fields: the kept one's.
 * @returns {Record<string, "keep"|"drop">}
 */
export function defaultChoices(keep, drop) {
  const prefer = {
    stage: (x, y) => STAGES.indexOf(y) > STAGES.indexOf(x),
    found_via: (x, y) => x === "other" && y !== "other",
    hiring_authority: (x, y) => y === true && x !== true,
    strength: (x, y) => y > x,
  };
  const choices = {};
  for (const row of compareFields(keep, drop)) {
    if (row.differs && prefer[row.name]) choices[row.name] = prefer[row.name](row.keep, row.drop) ? "drop" : "keep";
  }
  return choices;
}
