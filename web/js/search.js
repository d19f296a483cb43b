/**
 * Search that forgives case and accents ("zoe" finds Zoë, "sao" finds São), over everything a
 * person types about someone: name, title, organization, tags, places, notes and the text of
 * conversations. The index keeps one normalized text per person and per organization, rebuilt
 * per changed record, so a keystroke scans prepared strings instead of raw records.
 */

import { firstNotBelow, mergeSorted } from "./model.js";

const FOLDS = { ß: "ss", æ: "ae", œ: "oe", ø: "o", ł: "l", đ: "d", ð: "d", þ: "th", ı: "i", ħ: "h" };
const FOLD_RE = new RegExp(`[${Object.keys(FOLDS).join("")}]`, "g");
const ASCII = /^[\x00-\x7f]*$/;
const ASCII_SPACE = /[\s\x00-\x1f\x7f]+/g;
const ASCII_BREAK = /[^a-z0-9]+/;
const WORD_BREAK = /[^\p{L}\p{N}]+/u;

/**
 * Lower case, without accents or other marks, ligatures spelled out, whitespace collapsed.
 * @param {unknown} text
 * @returns {string}
 */
export function normalize(text) {
  if (text === null || text === undefined) return "";
  const raw = String(text);
  // Plain ASCII (most notes) needs no Unicode work: lower case and collapsed space.
  if (ASCII.test(raw)) return raw.toLowerCase().replace(ASCII_SPACE, " ").trim();
  return raw
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(FOLD_RE, (c) => FOLDS[c])
    .replace(/[\s\p{Cc}]+/gu, " ")
    .trim();
}

/** The words of a text, normalized: runs of letters and digits. */
export function words(text) {
  if (text === null || text === undefined || text === "") return [];
  const raw = String(text);
  const parts = ASCII.test(raw) ? raw.toLowerCase().split(ASCII_BREAK) : normalize(raw).split(WORD_BREAK);
  return parts.filter(Boolean);
}

/** The words of a query, normalized; a record matches when it contains every one. */
export function terms(query) {
  return normalize(query).split(" ").filter(Boolean);
}

const HEAD_FIELDS = ["name", "title", "department"];
const BODY_FIELDS = ["found_via_detail", "linkedin_url", "notes"];
const SHORT = 3; // words shorter than this look at names, titles, organizations and tags only
const ORG_FIELDS = ["name", "field", "location", "website", "why", "homework"];
const TALK_FIELDS = ["place", "notes", "culture", "prospects", "projects"];
const END = "\u0001"; // ends each person's text in a chunk (normalize never leaves one)
const CHUNK = 256; // people per chunk: a change re-joins one chunk, not the whole index
const SLICE_MS = 8; // the longest the idle warm-up of the index keeps the page busy at once
const TELL_MS = 1000; // how often a search on screen is asked again while the index warms

/** The letters a-z in a normalized text, as bits (a: 1, b: 2, c: 4…). */
function lettersOf(text) {
  let mask = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 97;
    if (c >= 0 && c < 26) mask |= 1 << c;
  }
  return mask;
}

/**
 * People's short text (name, title, organization, tags, contacts), joined into a few long
 * strings: one `indexOf` pass over a chunk finds everyone whose text holds a word (anywhere
 * in it), far faster than testing people one by one.
 */
class Chunk {
  constructor() {
    this.pids = [];
    this.starts = [0]; // text of pids[k] is text.slice(starts[k], starts[k + 1] - 1)
    this.text = "";
    this.pending = new Map(); // pid -> new text, or null when removed
    this.size = 0; // people in it once pending changes are applied
    this.letters = new Uint32Array(0); // letters[k]: the letters a-z in the text of pids[k], a bit each
  }

  flush() {
    if (this.pending.size === 0) return;
    const pids = [];
    const parts = [];
    const letters = [];
    for (let k = 0; k < this.pids.length; k++) {
      const pid = this.pids[k];
      let text;
      let mask = this.letters[k];
      if (this.pending.has(pid)) {
        text = this.pending.get(pid);
        this.pending.delete(pid);
        if (text === null) continue;
        mask = lettersOf(text);
      } else {
        text = this.text.slice(this.starts[k], this.starts[k + 1] - 1);
      }
      pids.push(pid);
      parts.push(text);
      letters.push(mask);
    }
    for (const [pid, text] of this.pending) {
      if (text === null) continue;
      pids.push(pid);
      parts.push(text);
      letters.push(lettersOf(text));
    }
    this.pending.clear();
    const starts = [0];
    for (const part of parts) starts.push(starts.at(-1) + part.length + 1);
    this.pids = pids;
    this.starts = starts;
    this.letters = Uint32Array.from(letters);
    this.text = parts.length ? `${parts.join(END)}${END}` : "";
  }

  /** Take person number `n` out of this chunk. */
  drop(n) {
    this.pending.set(n, null);
    this.size -= 1;
  }

  /**
   * The people whose text holds `word` and who matched the words before it (`hits[n] ===
   * step`) match this one too (`hits[n] = step + 1`). @returns {number} how many did
   */
  find(word, hits, step) {
    this.flush();
    const { text, starts, pids } = this;
    let found = 0;
    const letter = word.length === 1 ? word.charCodeAt(0) - 97 : -1;
    if (letter >= 0 && letter < 26) {
      // One letter (the first keystroke of a search, held by nearly everyone): who has it is
      // known without reading the text.
      const bit = 1 << letter;
      const { letters } = this;
      for (let k = 0; k < pids.length; k++) {
        if ((letters[k] & bit) !== 0 && hits[pids[k]] === step) {
          hits[pids[k]] = step + 1;
          found += 1;
        }
      }
      return found;
    }
    let k = 0; // the person whose text holds `i`: found walking on (a match is often in most)
    let i = text.indexOf(word);
    while (i !== -1) {
      while (starts[k + 1] <= i) k++;
      if (hits[pids[k]] === step) {
        hits[pids[k]] = step + 1;
        found += 1;
      }
      i = text.indexOf(word, starts[k + 1]);
    }
    return found;
  }
}

/**
 * The words of people's long text (notes, places, what was said in conversations): each
 * person's distinct words, and for each word who has it. A query word matches the words it
 * starts ("sens" finds "sensing"), found by a binary search in the sorted vocabulary, so a
 * keystroke never scans the text itself. Lists of who has a word may hold people who no
 * longer do; they are checked against each person's current words when read.
 *
 * Indexing allocates next to nothing per word: ASCII text (most notes) is read a character at
 * a time and each word looked up by its hash in an open-addressing table of the vocabulary,
 * compared in place; only a word never seen before becomes a string. (Splitting 50,000 notes
 * into arrays of lower-cased strings made hundreds of megabytes of garbage at every start.)
 */
class Words {
  constructor() {
    this.vocab = []; // id -> word
    this.sorted = []; // ids in the order of their words (merged from `fresh` when read)
    this.fresh = []; // ids of words added since `sorted` was last merged
    this.postings = []; // id -> person numbers that had the word (may repeat or be stale)
    this.of = []; // person number -> Uint32Array of their word ids, ascending
    this.hashes = new Int32Array(1024); // id -> hash of its word
    this.slots = new Int32Array(4096); // open addressing: id + 1, or 0 for an empty slot
    this.marks = new Int32Array(1024); // id -> the last `set` that counted it
    this.stamp = 0;
    this.scratch = new Uint32Array(256); // the word ids of the person being set
  }

  /** The id of the word `text[start, end)` (lower case for A-Z), made when new. */
  idOf(text, start, end) {
    let hash = -2128831035; // FNV-1a
    for (let i = start; i < end; i++) {
      let c = text.charCodeAt(i);
      if (c >= 65 && c <= 90) c += 32;
      hash = Math.imul(hash ^ c, 16777619);
    }
    const { slots, hashes, vocab } = this;
    const mask = slots.length - 1;
    const length = end - start;
    let at = hash & mask;
    for (let id = slots[at] - 1; id >= 0; at = (at + 1) & mask, id = slots[at] - 1) {
      if (hashes[id] !== hash) continue;
      const word = vocab[id];
      if (word.length !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) {
        let c = text.charCodeAt(start + i);
        if (c >= 65 && c <= 90) c += 32;
        same = word.charCodeAt(i) === c;
      }
      if (same) return id;
    }
    const id = vocab.length;
    vocab.push(text.slice(start, end).toLowerCase());
    this.postings.push([]);
    this.fresh.push(id);
    if (id >= hashes.length) {
      this.hashes = grow(hashes, Int32Array);
      this.marks = grow(this.marks, Int32Array);
    }
    this.hashes[id] = hash;
    slots[at] = id + 1;
    if (vocab.length * 2 > slots.length) this.rehash();
    return id;
  }

  rehash() {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.vocab.length; id++) {
      let at = this.hashes[id] & mask;
      while (slots[at] !== 0) at = (at + 1) & mask;
      slots[at] = id + 1;
    }
    this.slots = slots;
  }

  /** Count word `id` for the person being set (once). @returns {number} how many now */
  count(id, n) {
    if (this.marks[id] === this.stamp) return n;
    this.marks[id] = this.stamp;
    if (n === this.scratch.length) this.scratch = grow(this.scratch, Uint32Array);
    this.scratch[n] = id;
    return n + 1;
  }

  /** A person's long text is now these pieces (raw: they are normalized here). */
  set(person, pieces) {
    this.stamp += 1;
    let n = 0;
    for (const piece of pieces) {
      if (piece === null || piece === undefined || piece === "") continue;
      const text = String(piece);
      if (!ASCII.test(text)) {
        // Accents, other scripts: the words as `words` makes them (normalized), then looked up.
        for (const word of words(text)) n = this.count(this.idOf(word, 0, word.length), n);
        continue;
      }
      // The same words as `words`: runs of ASCII letters and digits, lower case.
      let start = -1;
      for (let i = 0; i <= text.length; i++) {
        const c = i < text.length ? text.charCodeAt(i) : 0;
        const inWord = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
        if (inWord) {
          if (start < 0) start = i;
        } else if (start >= 0) {
          n = this.count(this.idOf(text, start, i), n);
          start = -1;
        }
      }
    }
    const ids = this.scratch.slice(0, n).sort();
    const before = this.of[person];
    for (const id of ids) if (!before || !has(before, id)) this.postings[id].push(person);
    this.of[person] = ids;
  }

  remove(person) {
    this.of[person] = undefined;
  }

  /** Merge the words added since into the sorted vocabulary. */
  settle() {
    if (this.fresh.length === 0) return;
    const { vocab } = this;
    const byWord = (a, b) => (vocab[a] < vocab[b] ? -1 : vocab[a] > vocab[b] ? 1 : 0);
    this.sorted = mergeSorted(this.sorted, this.fresh.sort(byWord), byWord);
    this.fresh = [];
  }

  /** Like Chunk.find, for the people with a word starting with `prefix`. */
  find(prefix, hits, step) {
    this.settle();
    const { sorted, vocab } = this;
    const lo = firstNotBelow(sorted, (id) => vocab[id] < prefix);
    let found = 0;
    for (let i = lo; i < sorted.length; i++) {
      const id = sorted[i];
      if (!vocab[id].startsWith(prefix)) break;
      for (const person of this.postings[id]) {
        if (hits[person] !== step) continue;
        const current = this.of[person];
        if (current && has(current, id)) {
          hits[person] = step + 1;
          found += 1;
        }
      }
    }
    return found;
  }
}

/** The values of one iterator, then of the next. */
function* chain(...iterators) {
  for (const iterator of iterators) yield* iterator;
}

/** A typed array twice as long, holding `array`'s values. */
function grow(array, Type) {
  const bigger = new Type(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** Whether the ascending `ids` hold `id`. */
function has(ids, id) {
  return ids[firstNotBelow(ids, (x) => x < id)] === id;
}

/**
 * The people a search found, ranked as they are read (`slice`), by name within each rank:
 * the name starts with the query, a word of it starts with the first word, it holds the
 * query, anything else. Ranking the first rows reads the order of names only until it has
 * them. `length` is how many were found.
 *
 * The first rank is found by a binary search: names are in order, so those that start with
 * the query are side by side. The others take one walk through the order, as far as read:
 * the second rank is listed as it is met, the third and fourth kept aside until the walk
 * ends. (A walk per rank, each testing every name found, made a search that shows 8 or 50
 * half as dear again: 0.28 against 0.19 ms over 17 queries, unthrottled, at 10,000 people.)
 */
export class Found {
  constructor(index, hits, words, count) {
    this.pidOf = index.pidOf;
    // The order and keys as they are now: a change meanwhile (a person renamed) does not
    // move the reading.
    this.order = count ? index.order.slice() : [];
    this.keys = count ? index.keys.slice() : [];
    this.hits = hits;
    this.full = words.length;
    this.start = ` ${words.join(" ")}`; // keys start with a space
    this.wordStart = ` ${words[0]}`;
    this.whole = words.join(" ");
    this.ranked = []; // person ids, best first, as far as read
    // 0: not read; 1: reading the first rank, the names in `order` from `from` to `to` (on
    // to the end of the names that start with the query); 2: walking `order` from `at` for
    // the others; 3: all read
    this.phase = count ? 0 : 3;
    this.from = 0;
    this.to = 0;
    this.at = 0;
    this.later = [[], []]; // person numbers of the third and fourth ranks met so far
    this.length = count;
  }

  /** Rank until `count` people are ranked (or everyone found is). */
  read(count) {
    const { order, hits, full, keys, ranked, pidOf, start } = this;
    if (this.phase === 0) {
      // In sorted order the keys that start with `start` follow the last key below it.
      this.from = this.to = firstNotBelow(order, (n) => keys[n] < start);
      this.phase = 1;
    }
    if (this.phase === 1) {
      // The first rank: on through that run of keys, as far as needed.
      let { to } = this;
      while (ranked.length < count) {
        const n = order[to];
        if (to >= order.length || !keys[n]?.startsWith(start)) {
          this.phase = 2;
          break;
        }
        to += 1;
        if (hits[n] === full) ranked.push(pidOf[n]);
      }
      this.to = to;
    }
    if (this.phase !== 2) return;
    const { from, to, wordStart, whole, later } = this;
    while (ranked.length < count) {
      if (this.at === from) this.at = to; // the first rank, listed already
      if (this.at >= order.length) break;
      const n = order[this.at++];
      if (hits[n] !== full) continue;
      const key = keys[n];
      if (key === undefined) continue; // no longer indexed
      if (key.includes(wordStart)) ranked.push(pidOf[n]);
      else later[key.includes(whole) ? 0 : 1].push(n);
    }
    if (this.at >= order.length) {
      for (const n of later[0]) ranked.push(pidOf[n]);
      for (const n of later[1]) ranked.push(pidOf[n]);
      this.later = [[], []];
      this.phase = 3;
      this.length = ranked.length;
    }
  }

  /** @returns {string[]} the ids of the people ranked `start` to `end` (excluded) */
  slice(start = 0, end = this.length) {
    if (end > this.ranked.length) this.read(end);
    return this.ranked.slice(start, end);
  }

  [Symbol.iterator]() {
    return this.slice()[Symbol.iterator]();
  }
}

/**
 * A normalized index over people and organizations. `update(records, ids)` re-indexes what
 * the changed records touch (a conversation its person; an organization its people);
 * `build(records)` starts over; `sync(records)` finds what changed by itself. Searching reads
 * only prepared strings: a handful of `indexOf` passes per keystroke.
 */
export class SearchIndex {
  constructor() {
    this.chunks = [];
    this.chunkOf = new Map(); // person id -> its chunk (short text)
    this.words = new Words(); // long text
    this.numbers = new Map(); // person id -> person number (in `words`)
    this.pidOf = []; // person number -> person id
    this.keys = []; // person number -> " " + normalized name (for ranking), or undefined
    this.order = []; // person numbers sorted by key, then id
    this.orgs = new Map(); // organization id -> {key, text}
    this.talksOf = new Map(); // person id -> Set of conversation ids
    this.personOfTalk = new Map(); // conversation id -> person id
    this.peopleAt = new Map(); // organization id -> Set of person ids
    this.orgOf = new Map(); // person id -> organization id
    this.built = false;
    this.seen = null; // id -> the record object last indexed, kept for `sync` only
    this.records = null;
    this.waiting = new Set(); // searches on screen to ask again as the warm-up learns words
  }

  /**
   * While the index warms (a search meanwhile answers from names and the words indexed so
   * far), `refresh` is called as the words of more notes arrive (at most every TELL_MS) and
   * once they all have, so that a search on screen finds what it could not yet: until it
   * answers false (its view is gone). Once the index is warm, nothing is kept.
   * @param {() => boolean} refresh
   */
  whileWarming(refresh) {
    if (this.building) this.waiting.add(refresh);
  }

  /** Ask the searches on screen again (the words indexed since they ran may find more). */
  tell() {
    const waiting = [...this.waiting];
    if (!this.building) this.waiting.clear();
    for (const refresh of waiting) if (refresh() === false) this.waiting.delete(refresh);
  }

  /**
   * Bring the index up to date with a view: only records whose object changed are re-indexed
   * (a view shares the objects of unchanged records), so a keystroke after no change costs
   * nothing and a change costs one pass of identity checks plus the changed records.
   * @param {Map<string, object>} records
   * @param {Iterable<string>} [changed] the ids that changed, when the caller knows them
   */
  sync(records, changed) {
    if (records === this.records && !changed && this.seen) return;
    if (this.building && this.seen) this.step(Infinity, true);
    if (!this.named || !this.seen) {
      this.build(records, true);
      return;
    }
    let ids;
    if (changed) {
      ids = [...changed];
      for (const id of ids) {
        const r = records.get(id);
        if (r) this.seen.set(id, r);
        else this.seen.delete(id);
      }
    } else {
      ids = [];
      for (const [id, r] of records) {
        if (this.seen.get(id) !== r) {
          ids.push(id);
          this.seen.set(id, r);
        }
      }
      if (this.seen.size !== records.size) {
        for (const id of this.seen.keys()) {
          if (!records.has(id)) {
            ids.push(id);
            this.seen.delete(id);
          }
        }
      }
    }
    this.records = records;
    if (ids.length) this.update(records, ids);
  }

  /** Index every record from scratch, at once (`tracking`: noting each for `sync`). */
  build(records, tracking = false) {
    this.begin(records, tracking);
    this.step(Infinity);
  }

  /**
   * Start indexing every record from scratch, a slice at a time (`step`): the app does it
   * while idle after loading, so the first keystroke finds it ready. Names, titles,
   * organizations, tags and contacts come first, then the words of notes and conversations:
   * a search before the end finishes the first part only (a moment) and answers from it and
   * from the words indexed so far; the rest goes on while idle.
   */
  begin(records, tracking = false) {
    this.seen = tracking ? new Map() : null;
    this.records = records;
    this.chunks = [];
    this.chunkOf.clear();
    this.words = new Words();
    this.numbers.clear();
    this.pidOf = [];
    this.keys = [];
    this.orgs.clear();
    this.talksOf.clear();
    this.personOfTalk.clear();
    this.peopleAt.clear();
    this.orgOf.clear();
    this.fed = null; // while a load feeds it (`beginLoad`): id -> the record indexed
    this.orphans = null; // while a load feeds it: organization not read yet -> its people read
    this.unlisted = null; // while a load feeds it: people indexed, not yet in `order`
    this.flushed = null; // once the names are sorted: how many chunks are joined
    this.todo = []; // people to index by name (first part)
    this.wordsTodo = []; // people whose words are still to index (second part)
    // Read in slices too (`step`): records set meanwhile are met on the way, or are changes.
    // A store kept by entity (model.js's Records) is read by entity: organizations and people
    // for the names, conversations (linked to their people) only for the words.
    const byEntity = !tracking && typeof records.of === "function";
    this.scan = byEntity ? chain(records.of("organization"), records.of("person")) : records.values();
    this.talks = byEntity ? records.of("conversation") : null;
    this.named = false;
    this.built = false;
    this.building = true;
  }

  /**
   * Index the names as a load reads the records, slice by slice (`feed`), instead of all at
   * once after it: a search typed the moment the load ends (or during it) finds names at once
   * (it waited 400-650 ms of a throttled phone for all 10,000 of them). `endLoad` then brings
   * in what changed meanwhile and leaves the words of notes to the idle warm-up. Until then,
   * a search answers from the people read so far.
   * @param {import('./model.js').Records} records the load's records, filled as it reads
   */
  beginLoad(records) {
    this.begin(records);
    this.scan = null;
    this.talks = null;
    this.order = [];
    this.fed = new Map();
    this.orphans = new Map();
    this.unlisted = [];
    this.named = true; // searchable from the start: a search answers from the people read so far
    this.building = false;
  }

  /**
   * Index the organizations and people of a slice the load has just read. `made`: records
   * this device made, shown before the load reads anything (State#madeHere): a person of
   * those is searchable at once, by name, and again with the organization's name once that is
   * read (other people wait for their organization, to be indexed once).
   */
  feed(slice, made = false) {
    const { records, fed, orphans } = this;
    if (!fed) return;
    const added = this.unlisted;
    for (const r of slice) {
      // Records shown as something else (an edit waiting in the outbox, a page pulled
      // meanwhile) are indexed as shown at the end (`endLoad`).
      if (records.get(r.id) !== r || fed.get(r.id) === r) continue;
      if (r.entity === "organization") {
        fed.set(r.id, r);
        this.indexOrg(r);
        const waiting = orphans.get(r.id);
        orphans.delete(r.id);
        for (const p of waiting ?? []) if (records.get(p.id) === p) this.feedPerson(p, added);
      } else if (r.entity === "person") {
        fed.set(r.id, r);
        if (r.deleted) continue;
        const org = r.fields.organization_id;
        if (org && !records.has(org)) {
          // Its organization's name is part of its text: indexed once that is read, not twice.
          if (!orphans.has(org)) orphans.set(org, []);
          orphans.get(org).push(r);
          if (made) this.feedPerson(r, added);
        } else {
          this.feedPerson(r, added);
        }
      }
    }
  }

  feedPerson(p, added) {
    const number = this.numbers.get(p.id);
    const listed = number !== undefined && this.keys[number] !== undefined;
    const chunks = this.chunks.length;
    this.indexPerson(this.records, p, false, false);
    if (!listed) {
      added.push(this.numbers.get(p.id));
      this.wordsTodo.push(p.id);
    }
    // A chunk filled: its text joined now, a slice at a time, not at the first keystroke.
    if (this.chunks.length > chunks && chunks > 0) this.chunks[chunks - 1].flush();
  }

  /**
   * Put the people fed since into `order`: when it is read (a search during the load, an
   * edit), and at the end. (Merged at every slice, it cost the load a pass over everyone
   * read so far each time: a second of a throttled phone at 10,000 people.)
   */
  listFed() {
    if (!this.unlisted?.length) return;
    const compare = (a, b) => this.compare(a, b);
    this.order = mergeSorted(this.order, this.unlisted.sort(compare), compare);
    this.unlisted = [];
  }

  /**
   * The load has ended: its people whose organization never came, then whatever is shown
   * otherwise than it was read (edits, pulls meanwhile); the words are left to `step`.
   * @param {import('./model.js').Records} records what the load ended with
   */
  endLoad(records) {
    const { fed, orphans } = this;
    if (!fed) return;
    this.records = records;
    for (const waiting of orphans.values()) {
      for (const p of waiting) if (records.get(p.id) === p) this.feedPerson(p, this.unlisted);
    }
    this.listFed();
    const changed = [];
    for (const [id, r] of fed) if (records.get(id) !== r) changed.push(id);
    for (const entity of ["organization", "person"]) {
      for (const r of records.of(entity)) if (!fed.has(r.id)) changed.push(r.id);
    }
    this.fed = null;
    this.orphans = null;
    this.talks = records.of("conversation");
    this.building = true; // the words, while idle
    performance.mark("grapevine:search-names", { detail: { people: this.order.length } });
    if (changed.length) this.update(records, changed);
  }

  /**
   * Index for about `budget` ms; with `namesOnly`, stop once names are searchable.
   * @returns {boolean} whether the index is complete
   */
  step(budget, namesOnly = false) {
    if (!this.building) return this.built;
    const end = performance.now() + budget;
    for (let n = 1; this.scan; n++) {
      const next = this.scan.next();
      if (next.done) {
        this.scan = null;
        break;
      }
      const r = next.value;
      this.seen?.set(r.id, r);
      if (r.deleted) continue;
      if (r.entity === "conversation") this.linkTalk(r);
      else if (r.entity === "organization") this.indexOrg(r);
      else if (r.entity === "person") this.todo.push(r.id);
      if (n % 100 === 0 && performance.now() >= end) return false;
    }
    while (this.todo.length) {
      for (let k = 0; k < 100 && this.todo.length; k++) {
        const p = this.records.get(this.todo.pop());
        if (p && !p.deleted && p.entity === "person") {
          this.indexPerson(this.records, p, false, false);
          this.wordsTodo.push(p.id);
        }
      }
      if (performance.now() >= end) return false;
    }
    if (!this.named) {
      if (this.flushed === null) {
        this.order = [];
        for (let n = 0; n < this.keys.length; n++) if (this.keys[n] !== undefined) this.order.push(n);
        this.order.sort((a, b) => this.compare(a, b));
        this.flushed = 0;
        if (performance.now() >= end) return false;
      }
      // The chunks' texts joined a few at a time (in one block with the sort, they kept an
      // idle slice 180 ms long on a throttled phone, and a keystroke waited for it).
      while (this.flushed < this.chunks.length) {
        this.chunks[this.flushed++].flush();
        if (performance.now() >= end) return false;
      }
      this.flushed = null;
      this.named = true;
      performance.mark("grapevine:search-names", { detail: { people: this.order.length } });
    }
    if (namesOnly) return false;
    for (let n = 1; this.talks; n++) {
      const next = this.talks.next();
      if (next.done) {
        this.talks = null;
        break;
      }
      if (next.value.entity === "conversation") this.linkTalk(next.value);
      if (n % 100 === 0 && performance.now() >= end) return false;
    }
    while (this.wordsTodo.length) {
      for (let k = 0; k < 10 && this.wordsTodo.length; k++) {
        const pid = this.wordsTodo.pop();
        const p = this.records.get(pid);
        const number = this.numbers.get(pid);
        if (p && !p.deleted && p.entity === "person" && this.keys[number] !== undefined) {
          this.words.set(number, this.longText(this.records, p));
        }
      }
      if (performance.now() >= end) return false;
    }
    this.words.settle();
    this.building = false;
    this.built = true;
    performance.mark("grapevine:search-ready", { detail: { people: this.order.length } });
    return true;
  }

  /**
   * Re-index what changed records touch.
   * @param {Map<string, object>} records the view after the change
   * @param {Iterable<string>} ids the records that changed (added, edited or deleted)
   */
  update(records, ids) {
    this.listFed();
    if (this.building) this.step(Infinity, true);
    if (!this.named) return this.build(records);
    this.records = records; // the warm-up goes on over the view after the change
    const people = new Set();
    for (const id of ids) {
      const r = records.get(id);
      const before = this.personOfTalk.get(id);
      if (before) people.add(before);
      if (this.numbers.has(id) || r?.entity === "person") people.add(id);
      if (this.orgs.has(id) || r?.entity === "organization") {
        if (r && !r.deleted) this.indexOrg(r);
        else this.orgs.delete(id);
        for (const pid of this.peopleAt.get(id) ?? []) people.add(pid);
      }
      if (r?.entity === "conversation") {
        this.linkTalk(r);
        if (r.fields.person_id) people.add(r.fields.person_id);
      }
    }
    for (const pid of people) {
      const p = records.get(pid);
      if (p && !p.deleted && p.entity === "person") this.indexPerson(records, p, true);
      else this.dropPerson(pid);
    }
  }

  /** Order of person numbers: by key, then by id. */
  compare(a, b) {
    const ka = this.keys[a];
    const kb = this.keys[b];
    if (ka !== kb) return ka < kb ? -1 : 1;
    const ia = this.pidOf[a];
    const ib = this.pidOf[b];
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  }

  linkTalk(c) {
    const before = this.personOfTalk.get(c.id);
    if (before) this.talksOf.get(before)?.delete(c.id);
    if (c.deleted || !c.fields.person_id) {
      this.personOfTalk.delete(c.id);
      return;
    }
    const person = c.fields.person_id;
    this.personOfTalk.set(c.id, person);
    if (!this.talksOf.has(person)) this.talksOf.set(person, new Set());
    this.talksOf.get(person).add(c.id);
  }

  indexOrg(o) {
    if (o.deleted) {
      this.orgs.delete(o.id);
      return;
    }
    const text = normalize([...ORG_FIELDS.map((f) => o.fields[f] ?? ""), ...(o.fields.tags ?? [])].join(" "));
    this.orgs.set(o.id, { key: normalize(o.fields.name), text });
  }

  dropPerson(pid) {
    const number = this.numbers.get(pid);
    if (number !== undefined && this.keys[number] !== undefined) {
      this.words.remove(number);
      this.chunkOf.get(pid)?.drop(number);
      this.chunkOf.delete(pid);
      const at = this.order.indexOf(number);
      if (at >= 0) this.order.splice(at, 1);
      this.keys[number] = undefined;
    }
    const org = this.orgOf.get(pid);
    if (org) this.peopleAt.get(org)?.delete(pid);
    this.orgOf.delete(pid);
  }

  indexPerson(records, p, ordered, withWords = true) {
    let number = this.numbers.get(p.id);
    if (number === undefined) {
      number = this.pidOf.length;
      this.pidOf.push(p.id);
      this.numbers.set(p.id, number);
    }
    const key = ` ${normalize(p.fields.name)}`; // a leading space: " word" finds a word start
    if (ordered && this.keys[number] !== key) {
      // Keep `order` sorted: out of its old place, into its new one.
      if (this.keys[number] !== undefined) this.order.splice(this.order.indexOf(number), 1);
      this.keys[number] = key;
      this.order.splice(firstNotBelow(this.order, (n) => this.compare(n, number) < 0), 0, number);
    }
    this.keys[number] = key;
    const oldOrg = this.orgOf.get(p.id);
    if (oldOrg) this.peopleAt.get(oldOrg)?.delete(p.id);
    const orgId = p.fields.organization_id;
    if (orgId) {
      this.orgOf.set(p.id, orgId);
      if (!this.peopleAt.has(orgId)) this.peopleAt.set(orgId, new Set());
      this.peopleAt.get(orgId).add(p.id);
    } else {
      this.orgOf.delete(p.id);
    }
    const org = orgId ? records.get(orgId) : null;
    const head = normalize([
      ...HEAD_FIELDS.map((f) => p.fields[f] ?? ""),
      ...(p.fields.tags ?? []), ...(p.fields.emails ?? []), ...(p.fields.phones ?? []),
      org && !org.deleted ? org.fields.name ?? "" : "",
    ].join(" "));
    if (withWords) this.words.set(number, this.longText(records, p));
    let chunk = this.chunkOf.get(p.id);
    if (!chunk) {
      chunk = this.chunks.at(-1);
      if (!chunk || chunk.size >= CHUNK) {
        chunk = new Chunk();
        this.chunks.push(chunk);
      }
      chunk.size += 1;
      this.chunkOf.set(p.id, chunk);
    }
    chunk.pending.set(number, head);
  }

  /** A person's long text: their notes and what was said in their conversations, in pieces. */
  longText(records, p) {
    const parts = BODY_FIELDS.map((f) => p.fields[f] ?? "");
    for (const cid of this.talksOf.get(p.id) ?? []) {
      const c = records.get(cid);
      if (c && !c.deleted) for (const f of TALK_FIELDS) parts.push(c.fields[f] ?? "");
    }
    return parts;
  }

  /**
   * People matching every word of the query (anywhere in the name, title, organization, tags
   * or contacts; from three letters on, also the start of a word in their notes, places and
   * conversations), best first: the name starts with the query, a word of the name starts
   * with its first word, the name holds it, then anything else (title, organization, tags,
   * places, notes, conversations); by name within each.
   * @returns {string[]} person ids
   */
  searchPeople(query, limit = Infinity) {
    return this.findPeople(query).slice(0, limit);
  }

  /**
   * The people `searchPeople` finds, as a list ranked only as far as it is read: how many is
   * known at once, and a screenful of them costs a screenful's ranking, not everyone's (the
   * first letter of a search matches nearly everyone).
   * @returns {Found}
   */
  findPeople(query) {
    this.listFed();
    if (this.building) this.step(Infinity, true);
    const words = terms(query).slice(0, 64);
    if (words.length === 0) return new Found(this, null, words, 0);
    // hits[n] counts the words person n matched so far: a word only moves on those who
    // matched every word before it.
    const hits = new Uint8Array(this.pidOf.length);
    let found = 0;
    for (let step = 0; step < words.length; step++) {
      const word = words[step];
      found = 0;
      for (const chunk of this.chunks) found += chunk.find(word, hits, step);
      if (word.length >= SHORT) found += this.words.find(word, hits, step);
      if (found === 0) break;
    }
    return new Found(this, hits, words, found);
  }

  /** @returns {string[]} organization ids */
  searchOrganizations(query, limit = Infinity) {
    if (this.building) this.step(Infinity, true);
    const words = terms(query);
    if (words.length === 0) return [];
    const whole = words.join(" ");
    const scored = [];
    for (const [id, { key, text }] of this.orgs) {
      if (!words.every((w) => text.includes(w))) continue;
      scored.push({ id, key, score: key.startsWith(whole) ? 0 : ` ${key}`.includes(` ${words[0]}`) ? 1 : 2 });
    }
    scored.sort((a, b) => a.score - b.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return (limit < scored.length ? scored.slice(0, limit) : scored).map((s) => s.id);
  }
}

const indexes = new WeakMap();
// Records changed since the index was last brought up to date past which it is built again
// while idle (see entryOf), instead of re-indexed one by one at the next search.
const REINDEX_AFTER = 2000;
const REINDEX_QUIET_MS = 1000;

function reindexLater(state, entry) {
  clearTimeout(entry.reindexTimer);
  entry.reindexTimer = setTimeout(() => {
    entry.reindexTimer = null;
    warmSearchIndex(state);
  }, REINDEX_QUIET_MS);
}

/** The index of a state and what changed since it was last brought up to date. */
function entryOf(state) {
  let entry = indexes.get(state);
  if (!entry) {
    // changed: null = everything; warming: a warm-up is on its way (it does the words)
    // feeding: the records a load is reading into the index (`SearchIndex.beginLoad`)
    // reindexTimer: a rebuild waiting for the pulled pages to stop
    entry = { index: new SearchIndex(), changed: null, records: null, warming: false, feeding: null,
      reindexTimer: null };
    state.addEventListener("slice", ({ detail: { records, slice, made } }) => {
      if (entry.feeding !== records) {
        entry.index.beginLoad(records);
        entry.feeding = records;
        entry.records = records;
        entry.changed = new Set();
      }
      entry.index.feed(slice, made);
    });
    state.addEventListener("change", (event) => {
      const { ids, source } = event.detail ?? {};
      if (source === "load" && entry.feeding && entry.feeding === state.records) {
        // Everything changed, but the index was fed the records as they were read: it takes
        // the differences itself.
        entry.feeding = null;
        entry.index.endLoad(state.records);
        entry.records = state.records;
        entry.changed = new Set();
        return;
      }
      if (entry.reindexTimer !== null) reindexLater(state, entry); // pages still coming
      if (!ids || entry.changed === null) entry.changed = null;
      else {
        for (const id of ids) entry.changed.add(id);
        // Many pulled at once (a first sync, weeks offline): indexed again while idle once
        // the pages stop, not one by one at the next keystroke (76,000 took a throttled
        // phone's first 2.4 s). A search before then indexes the names only (`warming`).
        if (entry.changed.size > Math.max(REINDEX_AFTER, entry.index.numbers.size)) {
          entry.changed = null;
          entry.warming = true;
          reindexLater(state, entry);
        }
      }
    });
    indexes.set(state, entry);
  }
  return entry;
}

/**
 * The search index of an app state, created on first use and kept up to date by the state's
 * change events, which say which records changed (`detail.ids`; none after a full load): a
 * search re-indexes only those, and only when it runs.
 * @param {import('./state.js').State} state
 * @returns {SearchIndex}
 */
export function searchIndexOf(state) {
  const entry = entryOf(state);
  if (entry.feeding && entry.feeding === state.records) {
    // The records are being read into it: it answers from those read so far (and edits).
    if (entry.changed?.size) entry.index.update(state.records, entry.changed);
    entry.changed = new Set();
    return entry.index;
  }
  if (entry.changed === null || entry.records !== state.records) {
    if (entry.warming) {
      // Asked before the warm-up began (a keystroke right after a load): the names now, the
      // words of notes left to it, while idle (it took the first keystroke 400-700 ms of a
      // throttled phone to index every conversation's words in it).
      entry.index.begin(state.records);
      entry.index.step(Infinity, true);
    } else {
      entry.index.build(state.records);
    }
  } else {
    if (entry.index.building) entry.index.step(Infinity, true); // names now, words while idle
    if (entry.changed.size) entry.index.update(state.records, entry.changed);
  }
  entry.records = state.records;
  entry.changed = new Set();
  return entry.index;
}

/**
 * Have the index fed the records as every later load of `state` reads them (names searchable
 * the moment it ends): called before the first.
 * @param {import('./state.js').State} state
 */
export function indexWhileLoading(state) {
  entryOf(state);
}

/**
 * Build the index while the page is idle (after a load, a sign-in, a reset), a slice at a
 * time, so that neither a keystroke nor the page waits for it. Changes meanwhile are applied
 * when it is done.
 * @param {import('./state.js').State} state
 */
export function warmSearchIndex(state) {
  const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(() => {
    const end = performance.now() + SLICE_MS;
    f({ timeRemaining: () => Math.max(0, end - performance.now()) });
  }, 1));
  const entry = entryOf(state);
  entry.warming = true;
  // Where the browser says whether input is waiting, the idle period is used to its end in
  // short slices and given back at once to a keystroke (which waits for one slice at most);
  // elsewhere, to its end (at most 50 ms).
  const pending = globalThis.navigator?.scheduling?.isInputPending?.bind(navigator.scheduling);
  let told = performance.now();
  const tell = (index) => {
    told = performance.now();
    if (!index.building) entry.warming = false;
    if (index.waiting.size) setTimeout(() => index.tell(), 0); // in a task of its own
  };
  const tick = (deadline) => {
    const { index } = entry;
    // Today's steps, when Today waits for them, go first (unless a search on screen waits
    // for the words of notes).
    if (index.building && state.steps?.awaited && index.waiting.size === 0) return idle(tick);
    for (;;) {
      if (!index.building) return tell(index); // (finished by a search that could not wait)
      const left = deadline.timeRemaining();
      if (left <= 0 || pending?.()) break;
      if (index.step(pending ? Math.min(SLICE_MS, left) : Math.max(4, left))) return tell(index);
    }
    if (performance.now() - told >= TELL_MS) tell(index);
    idle(tick);
  };
  // Started once the event that asked for it has reached every listener.
  idle((deadline) => {
    if (entry.changed !== null && entry.records === state.records) {
      // Begun by a search meanwhile (the words are left to do), or up to date.
      if (entry.index.building) tick(deadline);
      else entry.warming = false;
      return;
    }
    entry.index.begin(state.records);
    entry.records = state.records;
    entry.changed = new Set();
    tick(deadline);
  });
}
