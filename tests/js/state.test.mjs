import assert from "node:assert/strict";
import { test } from "node:test";

import { State } from "../../web/js/state.js";

/** An outbox in memory that numbers mutations and notes when each write was started. */
function fakeDb() {
  const outbox = [];
  const meta = new Map();
  return {
    outbox,
    meta,
    setMeta(key, value) {
      meta.set(key, value);
      return Promise.resolve();
    },
    started: [],
    enqueueAll(edits) {
      this.started.push(edits.map((e) => e.args.fields));
      const queued = edits.map((e) => ({ id: outbox.length + 1, hlc: "0", ...e }));
      outbox.push(...queued);
      return Promise.resolve(queued);
    },
  };
}

const syncer = { soon() {}, edited() {}, readFrom() {}, addEventListener() {} };

test("an edit is written to the outbox in the keystroke's task, even while the state is busy", async () => {
  const db = fakeDb();
  const state = new State(db, syncer);
  state.session = { role: "owner" };
  // Something slow holds the queue (a refresh, a load): the keystroke must not wait for it.
  let finish;
  const gate = new Promise((resolve) => { finish = resolve; });
  state.serial(() => gate);
  const typed = state.run([{ name: "set", entity: "person", id: "p1", fields: { name: "Ada" } }]);
  assert.deepEqual(db.started, [[{ name: "Ada" }]], "the write started before the queue was free");
  finish();
  await typed;
  assert.equal(state.records.get("p1").fields.name, "Ada");
  assert.equal(state.pending.length, 1);
});

test("an outbox read that already saw the edit does not show it twice", async () => {
  const db = fakeDb();
  const state = new State(db, syncer);
  state.session = { role: "owner" };
  let finish;
  const gate = new Promise((resolve) => { finish = resolve; });
  state.serial(() => gate);
  const typed = state.run([{ name: "set", entity: "person", id: "p1", fields: { name: "Ada" } }]);
  // A refresh ahead of the edit in the queue read the outbox after the write committed.
  state.serial(() => {});
  state.pending = [...db.outbox];
  finish();
  await typed;
  assert.deepEqual(state.pending.map((m) => m.id), [1]);
});

test("settled() waits for every record of a load under way, and answers at once after it", async () => {
  const person = (id) => ({ id, entity: "person", version: 1, deleted: false, fields: { name: id } });
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const db = {
    ...fakeDb(),
    async *stream() {
      yield [person("p1")];
      await held; // the rest of the store is still being read
      yield [person("p2"), person("p3")];
    },
    all: async () => [],
    get: async (store, key) => (key === "session" ? { role: "owner", store_id: "s1" } : undefined),
  };
  const state = new State(db, syncer);
  const loaded = state.load();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(state.loading, true);
  assert.equal(state.records.size, 1, "the first slice is shown while the rest is read");
  // An export asked for now: it must not read what is there so far.
  const seen = state.settled().then(() => [...state.records.keys()].sort());
  release();
  assert.deepEqual(await seen, ["p1", "p2", "p3"]);
  await loaded;
  assert.equal(state.loading, false);
  let now = false;
  await state.settled().then(() => { now = true; });
  assert.ok(now);
});

test("what this device made and has not synced is shown and found from a load's start", async () => {
  const { indexWhileLoading, searchIndexOf } = await import("../../web/js/search.js");
  const record = (id, entity, fields, version = 1) => ({ id, entity, version, deleted: false, fields });
  const org = record("o1", "organization", { name: "Lovelace Yield" });
  const dana = record("p1", "person", { name: "Dana Ortiz", title: "engineer" }, 3);
  // The outbox: Ines met at lunch (made here) at Lovelace Yield (not read yet), Dana edited
  // (made elsewhere: version 3), a deleted draft, and Ines's title typed later.
  const pending = [
    { id: 1, name: "set", args: { entity: "person", id: "p9", base: 0, fields: { name: "Ines Moreau", organization_id: "o1" } } },
    { id: 2, name: "set", args: { entity: "person", id: "p1", base: 3, fields: { title: "lead" } } },
    { id: 3, name: "set", args: { entity: "person", id: "p8", base: 0, fields: { name: "Typo Person" } } },
    { id: 4, name: "delete", args: { entity: "person", id: "p8", base: 0 } },
    { id: 5, name: "set", args: { entity: "person", id: "p9", base: 0, fields: { title: "process engineer" } } },
  ];
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const db = {
    ...fakeDb(),
    async *stream() {
      await held; // nothing read yet
      yield [dana, org];
    },
    all: async (store) => (store === "outbox" ? pending : []),
    get: async (store, key) => (key === "session" ? { role: "owner", store_id: "s1" } : undefined),
  };
  const state = new State(db, syncer);
  indexWhileLoading(state);
  state.pending = [...pending];
  const loaded = state.load();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(state.loading, true);
  assert.deepEqual([...state.records.keys()].sort(), ["p8", "p9"], "only what was made here");
  assert.equal(state.records.get("p9").fields.title, "process engineer");
  assert.equal(state.records.get("p8").deleted, true);
  assert.deepEqual(searchIndexOf(state).searchPeople("ines mor"), ["p9"], "not searchable while loading");
  assert.deepEqual(searchIndexOf(state).searchPeople("typo"), []);
  release();
  await loaded;
  // Read and rebased: Dana with the edit on the server's copy; Ines now found by her
  // organization's name too.
  assert.equal(state.records.get("p1").fields.title, "lead");
  assert.equal(state.records.get("p1").fields.name, "Dana Ortiz");
  assert.deepEqual(searchIndexOf(state).searchPeople("lovelace"), ["p9"]);
  assert.deepEqual(searchIndexOf(state).searchPeople("ines"), ["p9"]);
});

test("a first sync is 'arriving' until a pull ends; a lost connection keeps it, counting on", () => {
  const events = new EventTarget();
  const db = fakeDb();
  const state = new State(db, Object.assign(events, { soon() {}, edited() {}, readFrom() {} }));
  const person = (id) => ({ id, entity: "person", version: 1, deleted: false, fields: { name: id } });
  const page = (ids, progress) => events.dispatchEvent(new CustomEvent("page",
    { detail: { changes: ids.map(person), reset: false, progress } }));
  const pulled = (failure = null) => events.dispatchEvent(new CustomEvent("pulled", { detail: { failure } }));
  const changes = [];
  state.addEventListener("change", (event) => changes.push(event.detail));

  // Signed in, the copy empty: arriving before any page, its total not known yet.
  state.expectFirstSync();
  assert.deepEqual(state.arriving, { received: 0, total: null });
  // A pull from the start with a total: counted.
  page(["a", "b"], { received: 2, total: 5000 });
  assert.deepEqual(state.arriving, { received: 2, total: 5000 });
  assert.deepEqual(db.meta.get("arriving"), { total: 5000 }, "kept on the device");
  // The connection lost: still arriving. The next pull goes on without a total.
  pulled(new TypeError("Failed to fetch"));
  assert.deepEqual(state.arriving, { received: 2, total: 5000 });
  page(["c"], { received: 1, total: null });
  assert.deepEqual(state.arriving, { received: 3, total: 5000 });
  // It ends: the steps can be worked out, and the views are told.
  const before = changes.length;
  pulled();
  assert.equal(state.arriving, null);
  assert.equal(db.meta.get("arriving"), null);
  assert.equal(changes.length, before + 1);
  // Another store opened with records already here: nothing arriving; a small pull from the
  // start neither.
  state.expectFirstSync();
  assert.equal(state.arriving, null);
  page(["d"], { received: 1, total: 40 });
  assert.equal(state.arriving, null);
  // A refusal (not the connection): the steps from what is here.
  page(["e"], { received: 1, total: 3000 });
  assert.deepEqual(state.arriving, { received: 1, total: 3000 });
  pulled(new Error("403"));
  assert.equal(state.arriving, null);
});

test("a first sync the app was closed in the middle of is still arriving at the next start", async () => {
  const person = (id) => ({ id, entity: "person", version: 1, deleted: false, fields: { name: id } });
  const stored = { session: { role: "owner", store_id: "s1" }, arriving: { total: 5000 } };
  const db = {
    ...fakeDb(),
    async *stream() {
      yield [person("p1"), person("p2"), person("p3")];
    },
    all: async () => [],
    get: async (store, key) => stored[key],
  };
  const state = new State(db, syncer);
  await state.load();
  assert.deepEqual(state.arriving, { received: 3, total: 5000 });
  // Ended (or never begun) on this device: nothing arriving.
  stored.arriving = null;
  const again = new State(db, syncer);
  await again.load();
  assert.equal(again.arriving, null);
});
