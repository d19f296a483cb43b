/**
 * What the app shows: the server's copy of each record with the pending mutations applied.
 * Pure functions over plain objects; the server remains the authority and its next pull
 * replaces whatever these guessed.
 *
 * A record: {entity, id, version, deleted, fields}. A mutation: {id, hlc, name, args}.
 */

import { ENTITIES, emptyFields } from "./schema.js";

const sorted = (values) => [...new Set(values)].sort();

/** The names of the reference fields of each entity. */
const REFS = Object.fromEntries(Object.entries(ENTITIES).map(([entity, spec]) => [
  entity, Object.entries(spec).filter(([, f]) => f.type === "ref").map(([name]) => name),
]));

/**
 * Records by id, kept indexed as they change: by entity (so `live` reads one entity, not the
 * whole store) and by what they refer to (so "this person's conversations" reads a handful;
 * built on first use, then kept up to date). A record changed in place must be `reindex`ed
 * with the record it replaced; `applyMutation` does it for what it touches.
 */
export class Records extends Map {
  /** @param {Iterable<[string, object]>} [entries] */
  constructor(entries) {
    super();
    /** @type {Map<string, Map<string, object>>} */
    this.entities = new Map();
    /** @type {Object<string, Object<string, Map<string, string[]>>>|null} entity -> field ->
     * target id -> ids of the records of that entity whose field holds it */
    this.referrers = null;
    if (entries) for (const [id, record] of entries) this.set(id, record);
  }

  set(id, record) {
    const old = super.get(id);
    if (old && old.entity !== record.entity) this.entities.get(old.entity)?.delete(id);
    let bucket = this.entities.get(record.entity);
    if (!bucket) this.entities.set(record.entity, (bucket = new Map()));
    bucket.set(id, record);
    super.set(id, record);
    if (this.referrers) this.#move(id, old, record);
    return this;
  }

  delete(id) {
    const old = super.get(id);
    if (!old) return false;
    this.entities.get(old.entity)?.delete(id);
    if (this.referrers) this.#move(id, old, null);
    return super.delete(id);
  }

  clear() {
    this.entities.clear();
    this.referrers = null;
    super.clear();
  }

  /** Records of one entity (deleted ones included). */
  of(entity) {
    return this.entities.get(entity)?.values() ?? [].values();
  }

  /**
   * Keep the reference index from now on (built at once if records are already here): a store
   * loaded record by record after this pays for it as it comes, never in one long block.
   * @returns {this}
   */
  indexed() {
    if (!this.referrers) this.#build();
    return this;
  }

  /** Ids of the records of `entity` whose `field` holds `id` (deleted ones included). */
  referring(entity, field, id) {
    if (!this.referrers) this.#build();
    return this.referrers[entity]?.[field]?.get(id) ?? [];
  }

  /**
   * A record was changed in place after it was set: index what it refers to now instead of
   * what `before` (the record it replaced, or undefined when new) referred to.
   */
  reindex(id, before) {
    if (this.referrers) this.#move(id, before, super.get(id) ?? null);
  }

  #build() {
    this.referrers = {};
    for (const [entity, fields] of Object.entries(REFS)) {
      this.referrers[entity] = Object.fromEntries(fields.map((field) => [field, new Map()]));
    }
    for (const [id, record] of this) this.#move(id, null, record);
  }

  #move(id, before, after) {
    if (before && after && before.entity !== after.entity) {
      this.#move(id, before, null);
      before = null;
    }
    const entity = (after ?? before)?.entity;
    for (const field of REFS[entity] ?? []) {
      const was = before ? before.fields[field] : null;
      const now = after ? after.fields[field] : null;
      if (was === now) continue;
      const index = this.referrers[entity][field];
      if (typeof was === "string") {
        const list = index.get(was);
        const at = list ? list.indexOf(id) : -1;
        if (at >= 0) list.splice(at, 1);
        if (list?.length === 0) index.delete(was);
      }
      if (typeof now === "string") {
        const list = index.get(now);
        // A record new to the map is in no list yet (a load: no search of the list).
        if (!list) index.set(now, [id]);
        else if (!before || !list.includes(id)) list.push(id);
      }
    }
  }
}

/**
 * Apply pending mutations over the server copy.
 * @param {Map<string, object>} server records by id, as pulled (not modified)
 * @param {object[]} pending mutations in id order
 * @returns {Records} the records to show (unchanged ones are shared)
 */
export function view(server, pending) {
  const records = new Records(server);
  for (const mutation of pending) applyMutation(records, mutation);
  return records;
}

/**
 * Apply one mutation to `records` in place, copying each record it touches first.
 * @param {Map<string, object>} records
 * @param {{name: string, args: object}} mutation
 * @returns {Set<string>} the ids of the records it changed
 */
export function applyMutation(records, mutation) {
  const replaced = new Map(); // id -> the record it was before this mutation (undefined: new)
  const tracked = {
    get: (id) => records.get(id),
    set: (id, record) => {
      if (!replaced.has(id)) replaced.set(id, records.get(id));
      records.set(id, record);
    },
    values: () => records.values(),
  };
  apply(tracked, mutation);
  if (records.reindex) for (const [id, before] of replaced) records.reindex(id, before);
  return new Set(replaced.keys());
}

function apply(records, { name, args }) {
  const touch = (id) => {
    const record = records.get(id);
    if (!record) return undefined;
    const copy = { ...record, fields: { ...record.fields } };
    records.set(id, copy);
    return copy;
  };
  const survivor = (id) => {
    let record = records.get(id);
    const seen = new Set();
    while (record && record.deleted && record.fields.merged_into && !seen.has(record.id)) {
      seen.add(record.id);
      record = records.get(record.fields.merged_into);
    }
    return record;
  };
  switch (name) {
    case "set": {
      const target = survivor(args.id);
      let record = target ? touch(target.id) : undefined;
      if (!record) {
        record = { entity: args.entity, id: args.id, version: 0, deleted: false,
          fields: emptyFields(args.entity) };
        records.set(args.id, record);
      }
      record.deleted = false;
      for (const [field, value] of Object.entries(args.fields)) {
        const spec = ENTITIES[record.entity][field];
        if (!spec) continue;
        record.fields[field] = spec.type === "set" ? sorted(value ?? []) : value;
      }
      return;
    }
    case "delete": {
      const record = records.get(args.id);
      if (record && !record.deleted) touch(args.id).deleted = true;
      return;
    }
    case "add":
    case "remove": {
      const target = survivor(args.id);
      if (!target) return;
      const record = touch(target.id);
      const current = record.fields[args.field] ?? [];
      record.fields[args.field] =
        name === "add" ? sorted([...current, args.value]) : current.filter((v) => v !== args.value);
      return;
    }
    case "merge": {
      const duplicate = survivor(args.id);
      const into = survivor(args.into);
      if (!duplicate || !into || duplicate === into) return;
      const kept = touch(into.id);
      for (const [field, spec] of Object.entries(ENTITIES[kept.entity])) {
        const theirs = duplicate.fields[field];
        const ours = kept.fields[field];
        if (spec.type === "set") kept.fields[field] = sorted([...(ours ?? []), ...(theirs ?? [])]);
        else if (isEmpty(ours) && !isEmpty(theirs)) kept.fields[field] = theirs;
      }
      for (const record of [...records.values()]) {
        for (const [field, spec] of Object.entries(ENTITIES[record.entity] ?? {})) {
          if (spec.type === "ref" && spec.ref === kept.entity && record.fields[field] === duplicate.id) {
            touch(record.id).fields[field] = kept.id;
          }
        }
      }
      const gone = touch(duplicate.id);
      gone.deleted = true;
      gone.fields.merged_into = kept.id;
      return;
    }
    case "resolve": {
      const conflict = records.get(args.conflict);
      if (!conflict || conflict.fields.status !== "open") return;
      const { record_id: recordId, field, lost } = conflict.fields;
      touch(args.conflict).fields.status = "resolved";
      const target = survivor(recordId);
      if (!target || args.choose === "kept") return;
      const record = touch(target.id);
      if (field === null) record.deleted = true;
      else record.fields[field] = args.choose === "lost" ? lost : args.value;
      return;
    }
    default:
  }
}

/** @param {unknown} value */
export function isEmpty(value) {
  return value === null || value === undefined || value === "" ||
    (Array.isArray(value) && value.length === 0);
}

/** Where in ascending `sorted` the first item not `below` is (its length if none). */
export function firstNotBelow(sorted, below) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (below(sorted[mid])) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Two lists sorted by `compare` as one (the first's first among equals; either one itself when the other is empty). */
export function mergeSorted(a, b, compare) {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = compare(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Records of one entity, not deleted, from a view. */
export function live(records, entity) {
  const out = [];
  for (const record of records.of ? records.of(entity) : records.values()) {
    if (record.entity === entity && !record.deleted) out.push(record);
  }
  return out;
}

/**
 * Records of `entity`, not deleted, whose `field` refers to `id`: read from the index of a
 * `Records`, or by a scan of a plain Map.
 */
export function linked(records, entity, field, id) {
  const out = [];
  if (id === null || id === undefined) return out;
  if (records.referring) {
    for (const from of records.referring(entity, field, id)) {
      const record = records.get(from);
      if (record && record.entity === entity && !record.deleted && record.fields[field] === id) out.push(record);
    }
    return out;
  }
  for (const record of records.values()) {
    if (record.entity === entity && !record.deleted && record.fields[field] === id) out.push(record);
  }
  return out;
}

/** Open conflicts, each with the record it is about (if that record is known). */
export function openConflicts(records) {
  return live(records, "conflict")
    .filter((c) => c.fields.status === "open")
    .map((conflict) => ({ conflict, record: records.get(conflict.fields.record_id) }));
}

// Made when first needed, not as the module loads (it reads the locale's collation data).
let collator = null;

/** Lower case of a text made of ASCII letters, digits and spaces only, else null. */
function plainKey(text) {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(c === 32 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return null;
  }
  return text.toLowerCase();
}

/**
 * Texts (names, titles) in the user's order, as `localeCompare` would put them, quickly: texts
 * of ASCII letters, digits and spaces that differ in more than case compare without the
 * (slower) collator.
 */
export function compareText(a, b) {
  const x = a ?? "";
  const y = b ?? "";
  const lx = plainKey(x);
  const ly = lx === null ? null : plainKey(y);
  if (ly !== null && lx !== ly) return lx < ly ? -1 : 1;
  collator ??= new Intl.Collator();
  return collator.compare(x, y);
}

// The most of a note's first line a one-line excerpt shows (a wide screen's row holds ~120
// characters): the rest is cut here, not laid out whole and hidden by the ellipsis, nor read
// whole by a screen reader as the summary of the conversation's card.
const EXCERPT = 160;

/** A note's first line, for a one-line excerpt: past EXCERPT characters, cut between words. */
export function excerptOf(notes) {
  const line = notes.split("\n", 1)[0];
  if (line.length <= EXCERPT) return line;
  const space = line.lastIndexOf(" ", EXCERPT);
  return `${line.slice(0, space > EXCERPT / 2 ? space : EXCERPT)}…`;
}

/**
 * `text` with each whole-word `before` spelled `after` (a corrected name in a note that spells
 * it): "Al" → "Alex" leaves "Alabama" alone. Null when `before` is not in `text` as a word.
 */
export function respell(text, before, after) {
  if (!text || !before || before === after) return null;
  const escaped = before.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const word = new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "gu");
  const out = text.replace(word, () => after);
  return out === text ? null : out;
}
