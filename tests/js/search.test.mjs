import assert from "node:assert/strict";
import { test } from "node:test";

import { view } from "../../web/js/model.js";
import { SearchIndex, normalize, terms, words } from "../../web/js/search.js";
import { rec, store } from "./fixtures.mjs";

test("the normalizer ignores case and accents, spells ligatures out, collapses spaces", () => {
  assert.equal(normalize("Zoë"), "zoe");
  assert.equal(normalize("  SÃO   Paulo\n"), "sao paulo");
  assert.equal(normalize("Ångström Straße"), "angstrom strasse");
  assert.equal(normalize("Łukasz Øberg Œuvre Æsir"), "lukasz oberg oeuvre aesir");
  assert.equal(normalize("Ｆｕｌｌ ｗｉｄｔｈ"), "full width");
  assert.equal(normalize("Đorđe"), "dorde");
  assert.equal(normalize("王小明"), "王小明");
  assert.equal(normalize("Ирина"), "ирина");
  assert.equal(normalize("İstanbul"), "istanbul");
  assert.equal(normalize(null), "");
  assert.deepEqual(terms("  Zoë   HELIOS "), ["zoe", "helios"]);
});

function sample() {
  const helios = rec("organization", { name: "Hélios Photonics", tags: ["optics"], location: "Zürich" });
  const zoe = rec("person", { name: "Zoë Ng", title: "Optics Lead", organization_id: helios.id, tags: ["alumni"] });
  const ana = rec("person", { name: "Ana Lima", notes: "Met at the APS meeting" });
  const sam = rec("person", { name: "Sam Zoeller" });
  const lunch = rec("conversation", { person_id: ana.id, place: "Café Müller", notes: "Talked about lasers", culture: "Flat" });
  return { helios, zoe, ana, sam, lunch, records: store(helios, zoe, ana, sam, lunch) };
}

test("people are found by name, title, organization, tags, places and conversation text", () => {
  const s = sample();
  const index = new SearchIndex();
  index.build(s.records);
  const find = (q) => index.searchPeople(q);
  assert.deepEqual(find("zoe"), [s.zoe.id, s.sam.id], "name start first, then inside a word");
  assert.deepEqual(find("ZOË"), [s.zoe.id, s.sam.id]);
  assert.deepEqual(find("optics lead"), [s.zoe.id]);
  assert.deepEqual(find("helios"), [s.zoe.id]);
  assert.deepEqual(find("alumni"), [s.zoe.id]);
  assert.deepEqual(find("cafe muller"), [s.ana.id], "a conversation's place");
  assert.deepEqual(find("lasers"), [s.ana.id], "a conversation's notes");
  assert.deepEqual(find("aps"), [s.ana.id], "the person's own notes");
  assert.deepEqual(find("zoe helios"), [s.zoe.id], "every word must match");
  assert.deepEqual(find("   "), []);
  assert.deepEqual(index.searchOrganizations("zurich"), [s.helios.id]);
  assert.deepEqual(index.searchOrganizations("OPTICS"), [s.helios.id]);
});

test("the index follows changes record by record", () => {
  const s = sample();
  const index = new SearchIndex();
  index.build(s.records);
  const edit = (records, mutations) => view(records, mutations.map((m, i) => ({ id: i + 1, hlc: "h", ...m })));
  // a new conversation with Sam mentions quantum
  let records = edit(s.records, [{ name: "set", args: { entity: "conversation", id: "c-new", base: 0,
    fields: { person_id: s.sam.id, notes: "Quantum sensors" } } }]);
  index.update(records, ["c-new"]);
  assert.deepEqual(index.searchPeople("quantum"), [s.sam.id]);
  // the organization is renamed: its people are found by the new name, not the old
  records = edit(records, [{ name: "set", args: { entity: "organization", id: s.helios.id, base: 1, fields: { name: "Lumen" } } }]);
  index.update(records, [s.helios.id]);
  assert.deepEqual(index.searchPeople("lumen"), [s.zoe.id]);
  assert.deepEqual(index.searchPeople("helios"), []);
  // the conversation moves to Ana; then is deleted
  records = edit(records, [{ name: "set", args: { entity: "conversation", id: "c-new", base: 0, fields: { person_id: s.ana.id } } }]);
  index.update(records, ["c-new"]);
  assert.deepEqual(index.searchPeople("quantum"), [s.ana.id]);
  records = edit(records, [{ name: "delete", args: { entity: "conversation", id: "c-new", base: 0 } }]);
  index.update(records, ["c-new"]);
  assert.deepEqual(index.searchPeople("quantum"), []);
  // a person deleted is not found; one added is
  records = edit(records, [{ name: "delete", args: { entity: "person", id: s.zoe.id, base: 1 } },
    { name: "set", args: { entity: "person", id: "p-new", base: 0, fields: { name: "Zoé Martin" } } }]);
  index.update(records, [s.zoe.id, "p-new"]);
  assert.deepEqual(index.searchPeople("zoe"), ["p-new", s.sam.id]);
  // the same answers as an index built from scratch
  const fresh = new SearchIndex();
  fresh.build(records);
  for (const q of ["zoe", "quantum", "lumen", "lasers", "cafe", "optics"]) {
    assert.deepEqual(index.searchPeople(q), fresh.searchPeople(q), q);
  }
});

test("sync re-indexes only what a new view changed, and finds the same as a fresh build", () => {
  const s = sample();
  const index = new SearchIndex();
  index.sync(s.records);
  assert.deepEqual(index.searchPeople("lasers"), [s.ana.id]);
  const next = view(s.records, [
    { id: 1, hlc: "h", name: "set", args: { entity: "conversation", id: s.lunch.id, base: 1, fields: { notes: "Talked about quantum" } } },
    { id: 2, hlc: "h", name: "delete", args: { entity: "person", id: s.sam.id, base: 1 } },
  ]);
  let updated = [];
  const original = index.update.bind(index);
  index.update = (records, ids) => { updated = [...ids]; return original(records, ids); };
  index.sync(next);
  assert.deepEqual(updated.sort(), [s.lunch.id, s.sam.id].sort(), "only the changed records");
  assert.deepEqual(index.searchPeople("lasers"), []);
  assert.deepEqual(index.searchPeople("quantum"), [s.ana.id]);
  assert.deepEqual(index.searchPeople("zoeller"), []);
  updated = [];
  index.sync(next);
  assert.deepEqual(updated, [], "the same view again: nothing to do");
});

test("built a slice at a time, the index answers as one built at once", () => {
  const s = sample();
  const sliced = new SearchIndex();
  sliced.begin(s.records);
  let steps = 0;
  while (!sliced.step(0)) steps += 1;
  assert.ok(steps >= 0);
  const whole = new SearchIndex();
  whole.build(s.records);
  for (const q of ["zoe", "helios", "lasers", "cafe muller", "optics lead", "zurich"]) {
    assert.deepEqual(sliced.searchPeople(q), whole.searchPeople(q), q);
    assert.deepEqual(sliced.searchOrganizations(q), whole.searchOrganizations(q), q);
  }
});

test("a search during the warm-up answers from names at once; the words of notes follow as it goes on", () => {
  const s = sample();
  const early = new SearchIndex();
  early.begin(s.records);
  assert.deepEqual(early.searchPeople("zoe"), [s.zoe.id, s.sam.id], "names are searchable at once");
  assert.deepEqual(early.searchPeople("helios"), [s.zoe.id], "and organizations");
  assert.deepEqual(early.searchPeople("lasers"), [], "a conversation's words are not indexed yet");
  assert.equal(early.built, false);
  while (!early.step(0)) { /* the idle warm-up */ }
  assert.deepEqual(early.searchPeople("lasers"), [s.ana.id], "they are once it is done");
  assert.deepEqual(early.searchPeople("aps"), [s.ana.id]);
});

test("a record edited during the warm-up is found at once, by name and by the words of its notes", () => {
  const s = sample();
  const index = new SearchIndex();
  index.begin(s.records);
  index.step(0);
  const records = new Map(s.records);
  records.set(s.sam.id, { ...s.sam, version: 2, fields: { ...s.sam.fields, name: "Samuel Okafor", notes: "Spectroscopy" } });
  records.set(s.lunch.id, { ...s.lunch, version: 2, fields: { ...s.lunch.fields, notes: "Talked about holography" } });
  index.update(records, [s.sam.id, s.lunch.id]);
  assert.deepEqual(index.searchPeople("okafor"), [s.sam.id]);
  assert.deepEqual(index.searchPeople("spectro"), [s.sam.id]);
  assert.deepEqual(index.searchPeople("holography"), [s.ana.id]);
  while (!index.step(0)) { /* the warm-up goes on over the edited view */ }
  assert.deepEqual(index.searchPeople("okafor"), [s.sam.id]);
  assert.deepEqual(index.searchPeople("spectro"), [s.sam.id]);
  assert.deepEqual(index.searchPeople("holography"), [s.ana.id]);
  assert.deepEqual(index.searchPeople("lasers"), [], "the old notes are gone");
});

test("the words of notes match as a plain scan of each person's words would, in any script and case", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const pieces = ["Laser", "LASERS", "laserline", "optics", "Optik", "über", "Über-cool", "café", "CAFE", "naïve",
    "x9000", "9000x", "a1b2", "sensing", "Sensor", "王小明", "Ирина", "straße", "strasse", "co-op", "e-mail", "l'été"];
  const seps = [" ", "  ", ", ", ".", "\n", "—", "/", "(", ")", "'", "_", "\t"];
  const text = (n) => Array.from({ length: n }, () => pick(pieces) + pick(seps)).join("");
  const people = [];
  const talks = [];
  for (let i = 0; i < 40; i++) {
    const p = rec("person", { name: `Person ${i}`, notes: random() < 0.5 ? text(4) : null });
    people.push(p);
    for (let k = 0; k < 2; k++) talks.push(rec("conversation", { person_id: p.id, notes: text(6), place: text(1) }));
  }
  const records = store(...people, ...talks);
  const index = new SearchIndex();
  index.build(records);
  // What a person's long text holds, the slow way.
  const wordsOf = (p) => {
    const all = [p.fields.notes, ...talks.filter((c) => c.fields.person_id === p.id)
      .flatMap((c) => [c.fields.place, c.fields.notes])];
    return new Set(all.flatMap((t) => words(t ?? "")));
  };
  const queries = new Set();
  for (const piece of pieces) for (const w of words(piece)) for (let n = 3; n <= w.length; n++) queries.add(w.slice(0, n));
  queries.add("zzz");
  for (const q of queries) {
    const expected = people.filter((p) => [...wordsOf(p)].some((w) => w.startsWith(q))).map((p) => p.id).sort();
    assert.deepEqual([...index.searchPeople(q)].sort(), expected, q);
  }
});

/** A state holding the sample's records, its search index warmed while idle. */
async function warmedSample() {
  const { searchIndexOf, warmSearchIndex } = await import("../../web/js/search.js");
  const s = sample();
  const state = new EventTarget();
  state.records = s.records;
  warmSearchIndex(state);
  await new Promise((ok) => setTimeout(ok, 100));
  return { s, state, searchIndexOf };
}

test("warmed while idle after a load, then kept current by change events", async () => {
  const { s, state, searchIndexOf } = await warmedSample();
  const build = SearchIndex.prototype.build;
  SearchIndex.prototype.build = () => assert.fail("warm already built it: no build on the first search");
  try {
    assert.deepEqual(searchIndexOf(state).searchPeople("lasers"), [s.ana.id]);
  } finally {
    SearchIndex.prototype.build = build;
  }
  assert.deepEqual(searchIndexOf(state).searchPeople("lasers"), [s.ana.id]);
  // an edit, as State announces it: only its record is re-indexed
  const lunch = state.records.get(s.lunch.id);
  state.records.set(s.lunch.id, { ...lunch, fields: { ...lunch.fields, notes: "Talked about quantum" } });
  state.dispatchEvent(new CustomEvent("change", { detail: { ids: new Set([s.lunch.id]), entities: new Set(["conversation"]) } }));
  assert.deepEqual(searchIndexOf(state).searchPeople("quantum"), [s.ana.id]);
  assert.deepEqual(searchIndexOf(state).searchPeople("lasers"), []);
});

test("many records pulled at once (a first sync) are indexed again while idle, not one by one at the next search", async () => {
  const { s, state, searchIndexOf } = await warmedSample();
  // A few records pulled: the search re-indexes those, as before.
  const one = rec("person", { name: "Ines Early" });
  state.records.set(one.id, one);
  state.dispatchEvent(new CustomEvent("change", { detail: { ids: new Set([one.id]), entities: new Set(["person"]) } }));
  assert.deepEqual(searchIndexOf(state).searchPeople("ines"), [one.id]);
  // Pages of a first sync: 3,000 people, 500 a page.
  const pulled = Array.from({ length: 3000 }, (_, n) => rec("person", { name: `Pulled Person ${n}` }));
  for (let start = 0; start < pulled.length; start += 500) {
    const page = pulled.slice(start, start + 500);
    for (const r of page) state.records.set(r.id, r);
    state.dispatchEvent(new CustomEvent("change", { detail: { ids: new Set(page.map((r) => r.id)), entities: new Set(["person"]), source: "pull" } }));
  }
  await new Promise((ok) => setTimeout(ok, 1500)); // the pages stopped a second ago: rebuilt
  const update = SearchIndex.prototype.update;
  SearchIndex.prototype.update = () => assert.fail("indexed while idle: nothing left to re-index at the search");
  try {
    assert.deepEqual(searchIndexOf(state).searchPeople("pulled person 2999"), [pulled[2999].id]);
    assert.equal(searchIndexOf(state).findPeople("pulled").length, 3000);
    assert.deepEqual(searchIndexOf(state).searchPeople("lasers"), [s.ana.id]);
  } finally {
    SearchIndex.prototype.update = update;
  }
});

test("results are ranked as far as they are read: the same people, in the same order, their number known first", () => {
  const first = ["Ada", "Adam", "Dana", "Sam", "Lee", "Maria", "Ana", "Zoë"];
  const last = ["Lovelace", "Adams", "Haddad", "Costa", "Madan", "Berg"];
  const people = [];
  for (let i = 0; i < 900; i++) {
    people.push(rec("person", { name: `${first[i % first.length]} ${last[(i * 7) % last.length]} ${i}`,
      title: i % 5 === 0 ? "Data lead" : null, notes: i % 9 === 0 ? "adaptive optics" : null }));
  }
  const index = new SearchIndex();
  index.build(store(...people));
  for (const q of ["a", "e", "9", "d 1", "ad", "ada", "ada l", "dan", "an", "zoe", "adap", "nobody"]) {
    const whole = index.findPeople(q).slice();
    const found = index.findPeople(q);
    assert.equal(found.length, whole.length, `${q}: its number before any is read`);
    const read = [...found.slice(0, 5), ...found.slice(5, 40), ...found.slice(40)];
    assert.deepEqual(read, whole, `${q}: read in pieces as at once`);
    assert.deepEqual(index.searchPeople(q, 7), whole.slice(0, 7), q);
    // The ranking: the name starts with the query, a word of it starts with its first word, it
    // holds the query, anything else; by name within each.
    const ws = terms(q);
    const rank = (id) => {
      const key = ` ${normalize(people.find((p) => p.id === id).fields.name)}`;
      return key.startsWith(` ${ws.join(" ")}`) ? 0 : key.includes(` ${ws[0]}`) ? 1 : key.includes(ws.join(" ")) ? 2 : 3;
    };
    const key = (id) => ` ${normalize(people.find((p) => p.id === id).fields.name)}`;
    for (let i = 1; i < whole.length; i++) {
      const [a, b] = [whole[i - 1], whole[i]];
      assert.ok(rank(a) <= rank(b), `${q}: ranked`);
      if (rank(a) === rank(b)) assert.ok(key(a) < key(b) || (key(a) === key(b) && a < b), `${q}: by name within a rank`);
    }
    const matching = people.filter((p) => ws.every((w) => normalize([p.fields.name, p.fields.title].join(" ")).includes(w) ||
      (w.length >= 3 && words(p.fields.notes ?? "").some((x) => x.startsWith(w)))));
    assert.equal(whole.length, matching.length, `${q}: everyone matching`);
  }
});

test("a search on screen during the warm-up is asked again once the words of notes are in", async () => {
  const { searchIndexOf, warmSearchIndex } = await import("../../web/js/search.js");
  const s = sample();
  const state = new EventTarget();
  state.records = s.records;
  const queued = [];
  const saved = globalThis.requestIdleCallback;
  globalThis.requestIdleCallback = (f) => queued.push(f);
  try {
    warmSearchIndex(state);
    queued.shift()({ timeRemaining: () => 0 }); // begun, not a word indexed yet
    const index = searchIndexOf(state);
    let asked = 0;
    let found = index.searchPeople("lasers");
    assert.deepEqual(found, [], "names only so far");
    index.whileWarming(() => {
      asked += 1;
      found = searchIndexOf(state).searchPeople("lasers");
      return true;
    });
    while (queued.length) queued.shift()({ timeRemaining: () => 50 });
    await new Promise((ok) => setTimeout(ok, 10));
    assert.equal(asked, 1, "asked again once the index is warm");
    assert.deepEqual(found, [s.ana.id], "and then it finds the words of a conversation");
    index.whileWarming(() => assert.fail("warm: nothing to wait for"));
    assert.equal(index.waiting.size, 0, "nothing kept once warm");
  } finally {
    globalThis.requestIdleCallback = saved;
  }
});

test("a search before the warm-up begins indexes the names only; the warm-up does the words", async () => {
  const { searchIndexOf, warmSearchIndex } = await import("../../web/js/search.js");
  const s = sample();
  const state = new EventTarget();
  state.records = s.records;
  const queued = [];
  const saved = globalThis.requestIdleCallback;
  globalThis.requestIdleCallback = (f) => queued.push(f);
  try {
    warmSearchIndex(state); // after a load: its idle callback has not run yet
    const index = searchIndexOf(state);
    assert.deepEqual(index.searchPeople("zoe"), [s.zoe.id, s.sam.id], "names at once");
    assert.deepEqual(index.searchPeople("lasers"), [], "the words of conversations not in the keystroke");
    assert.equal(index.building, true);
    while (queued.length) queued.shift()({ timeRemaining: () => 50 });
    assert.equal(index.built, true, "the warm-up went on with the words");
    assert.deepEqual(searchIndexOf(state).searchPeople("lasers"), [s.ana.id]);
  } finally {
    globalThis.requestIdleCallback = saved;
  }
});

test("fed the records as a load reads them, the index answers as one built after it, edits meanwhile included", async () => {
  const { State } = await import("../../web/js/state.js");
  const { indexWhileLoading, searchIndexOf } = await import("../../web/js/search.js");
  const { random, randomStore } = await import("./randomstore.mjs");
  for (const seed of [1, 2, 3, 4, 5]) {
    const rnd = random(seed);
    const { records: stored } = randomStore(rnd, 300);
    // Read in the store's key order, which is random (ids are UUIDs): people come before their
    // organization as often as after. In slices, with the page answering in between.
    const read = [...stored.values()];
    for (let i = read.length - 1; i > 0; i--) {
      const j = rnd.int(i + 1);
      [read[i], read[j]] = [read[j], read[i]];
    }
    read.push({ ...read[0], deleted: !read[0].deleted }); // a record read twice, as a later copy
    let gate = null;
    const outbox = [];
    const db = {
      async *stream() {
        for (let at = 0; at < read.length; at += 25) {
          yield read.slice(at, at + 25).map((r) => structuredClone(r));
          if (at === 100) await new Promise((resolve) => { gate = resolve; });
        }
      },
      all: async (name) => (name === "outbox" ? outbox.map((m) => ({ ...m })) : []),
      get: async (store, key) => (key === "session" ? { role: "owner", store_id: "s1" } : undefined),
      enqueueAll(edits) {
        const queued = edits.map((e) => ({ id: outbox.length + 1, hlc: "0", ...e }));
        outbox.push(...queued);
        return Promise.resolve(queued);
      },
    };
    const state = new State(db, { soon() {}, edited() {}, readFrom() {}, addEventListener() {} });
    state.session = { role: "owner" };
    indexWhileLoading(state);
    const loaded = state.load();
    while (!gate) await new Promise((resolve) => setTimeout(resolve, 0));
    // Mid-load: a search answers from the people read so far (fed to the index, not built
    // over what is read at the time of the search), and only with people who match.
    assert.ok(searchIndexOf(state).fed, "the load feeds the index");
    const early = searchIndexOf(state).searchPeople("labs");
    // Someone read before their organization (both read by now) is found by its name.
    const readSoFar = new Map(read.slice(0, 125).map((r, at) => [r.id, at]));
    const before = read.slice(0, 125).find((r) => r.entity === "person" && !r.deleted &&
      readSoFar.get(r.fields.organization_id) > readSoFar.get(r.id) && !stored.get(r.fields.organization_id).deleted);
    if (before) assert.ok(early.includes(before.id), `seed ${seed}: read before its organization`);
    for (const id of early) {
      const p = state.records.get(id);
      assert.equal(p.entity, "person", `seed ${seed}`);
      assert.match(state.records.get(p.fields.organization_id)?.fields.name ?? "", /Labs/);
    }
    // Edits while it reads: a person renamed (read already, or not yet), an organization
    // renamed, someone new.
    const people = read.filter((r) => r.entity === "person");
    const org = read.find((r) => r.entity === "organization");
    await state.run([
      { name: "set", entity: "person", id: people[0].id, fields: { name: "Quincy Renamed" } },
      { name: "set", entity: "person", id: people.at(-1).id, fields: { name: "Quentin Later" } },
      { name: "set", entity: "organization", id: org.id, fields: { name: "Zephyr Works" } },
      { name: "set", entity: "person", id: null, fields: { name: "Quade New", organization_id: org.id } },
    ]);
    assert.ok(searchIndexOf(state).searchPeople("quade").length === 1, "someone new is found during the load");
    // One more, with no search after it before the load ends.
    await state.run([{ name: "set", entity: "person", id: people[1].id, fields: { name: "Quiller Unsearched" } }]);
    gate();
    await loaded;
    const fed = searchIndexOf(state);
    const fresh = new SearchIndex();
    fresh.build(state.records);
    const queries = ["ada", "bo", "cy", "dee", "eli", "fay", "gus", "hal", "labs", "1", "4 ", "quincy", "quentin", "quiller",
      "quade", "zephyr", "zephyr works", "ada labs", "a", "e"];
    for (const q of queries) {
      assert.deepEqual(fed.searchPeople(q), fresh.searchPeople(q), `seed ${seed}: ${q}`);
      assert.deepEqual(fed.searchOrganizations(q), fresh.searchOrganizations(q), `seed ${seed}: ${q}`);
    }
    assert.equal(fed.searchPeople("zephyr").length, read.filter((r) => r.entity === "person" && !r.deleted &&
      state.records.get(r.id)?.fields.organization_id === org.id && !state.records.get(r.id).deleted).length + 1);
  }
});
