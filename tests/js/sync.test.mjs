/**
 * sync.js's timing of pushes after edits, with fake timers: a push once the typing pauses,
 * and at least every few seconds while it goes on (not one round per ~0.8 s of typing, each
 * sending the whole note again); the edits waiting go at once when the page is hidden.
 * Those rounds are replaced by a counter; in Chromium they are what the browser tests sync
 * through. Last, a real round over a fake fetch and database whose session is replaced in the
 * middle of its pull (another store opened): what it brings after that is not shown.
 */
import assert from "node:assert/strict";
import { mock, test } from "node:test";

const page = new EventTarget();
globalThis.addEventListener = page.addEventListener.bind(page);
globalThis.document = Object.assign(new EventTarget(), { visibilityState: "visible" });
Object.defineProperty(globalThis, "navigator", { value: { onLine: true }, configurable: true });

const { Syncer } = await import("../../web/js/sync.js");
const { Superseded } = await import("../../web/js/db.js");

/** A Syncer whose rounds are only counted (at the fake clock's time). */
function counted() {
  const syncer = new Syncer(null);
  syncer.rounds = [];
  syncer.sync = async () => {
    syncer.rounds.push(Date.now());
    syncer.tookEdits(); // as a round does first
  };
  return syncer;
}

/** Advance the fake clock a millisecond at a time (a tick dates what it runs at its end). */
function advance(t, ms) {
  for (let i = 0; i < ms; i += 1) t.mock.timers.tick(1);
}

test("edits typed on and on are pushed every 5 s, and 1 s after the typing pauses", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  t.after(() => mock.timers.reset());
  const syncer = counted();
  // 80 keystrokes, one every 150 ms (12 s of typing), then nothing.
  for (let key = 0; key < 80; key += 1) {
    syncer.edited();
    advance(t, 150);
  }
  // 5 s after the first key, then 5 s after the first key the first round did not take.
  assert.deepEqual(syncer.rounds, [5000, 10_100], "a round per pause or 5 s of typing");
  advance(t, 2000);
  // The last key was typed at 11,850 ms: pushed a second after it.
  assert.deepEqual(syncer.rounds, [5000, 10_100, 12_850]);
  t.mock.timers.tick(60_000);
  assert.equal(syncer.rounds.length, 3, "a round without an edit to push");
});

test("one edit is pushed a second after it; a round meanwhile pushes it instead", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  t.after(() => mock.timers.reset());
  const syncer = counted();
  syncer.edited();
  t.mock.timers.tick(999);
  assert.deepEqual(syncer.rounds, []);
  t.mock.timers.tick(1);
  assert.deepEqual(syncer.rounds, [1000]);
  // A round for another reason (a poke, back online) takes the edit along: none after it.
  syncer.edited();
  syncer.soon(0);
  t.mock.timers.tick(0);
  assert.deepEqual(syncer.rounds, [1000, 1000]);
  t.mock.timers.tick(10_000);
  assert.deepEqual(syncer.rounds, [1000, 1000]);
});

test("hidden with edits waiting for a pause, the page pushes them at once", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  t.after(() => mock.timers.reset());
  const syncer = counted();
  syncer.start();
  t.mock.timers.tick(0); // start's own round
  assert.deepEqual(syncer.rounds, [0]);
  t.mock.timers.tick(1000);
  syncer.edited();
  t.mock.timers.tick(300);
  document.visibilityState = "hidden";
  document.dispatchEvent(new Event("visibilitychange"));
  t.mock.timers.tick(0);
  assert.deepEqual(syncer.rounds, [0, 1300], "the edit waited for a pause while hidden");
  // Hidden with nothing waiting: no round.
  document.dispatchEvent(new Event("visibilitychange"));
  t.mock.timers.tick(0);
  assert.deepEqual(syncer.rounds, [0, 1300]);
  document.visibilityState = "visible";
});

test("a round whose session is replaced during its pull shows nothing more of it", async (t) => {
  // A database as db.js keeps it, down to the client check of the writes of a pull.
  const meta = new Map([
    ["session", { store_id: "big", token: "t-big" }],
    ["client", { client_id: "c-big" }],
    ["cursor", ""],
  ]);
  const stored = [];
  const db = {
    get: async (_, key) => meta.get(key),
    takeBatch: async () => [],
    dropAcknowledged: async () => {},
    savePull: async (changes, cursor, _hlc, _reset, clientId) => {
      if (meta.get("client").client_id !== clientId) throw new Superseded();
      stored.push(...changes.map((c) => c.id));
      meta.set("cursor", cursor);
    },
  };
  const asked = [];
  globalThis.fetch = async (path, { body }) => {
    const { cursor } = JSON.parse(body);
    asked.push(`${path} ${cursor}`);
    const n = Number(cursor || 0);
    const changes = [{ id: `${path}-${n}` }];
    const answer = { changes, cursor: String(n + 1), more: n < 3, hlc: "0", total: 4 };
    return { ok: true, status: 200, text: async () => JSON.stringify(answer) };
  };
  const syncer = new Syncer(db);
  t.after(() => clearTimeout(syncer.timer)); // the next round's, a minute on
  const shown = [];
  const pulled = [];
  syncer.addEventListener("page", ({ detail }) => {
    shown.push(...detail.changes.map((c) => c.id));
    if (shown.length === 2) {
      // Another store opened, as app.js does it: supersede, then the new session.
      syncer.supersede();
      meta.set("session", { store_id: "small", token: "t-small" });
      meta.set("client", { client_id: "c-small" });
      meta.set("cursor", "");
    }
  });
  syncer.addEventListener("pulled", ({ detail }) => pulled.push(detail.failure));
  await syncer.sync();
  assert.deepEqual(shown, ["/api/stores/big/pull-0", "/api/stores/big/pull-1"]);
  assert.deepEqual(pulled, [], "the old pull's end is not the new store's");
  assert.equal(syncer.failures, 0);
  assert.notEqual(syncer.status, "error");
  assert.deepEqual(stored, ["/api/stores/big/pull-0", "/api/stores/big/pull-1"]);
  // The new session's round follows at once, from its own start.
  await new Promise((resolve) => setTimeout(resolve, 10));
  await syncer.running;
  assert.deepEqual(asked.filter((a) => a.includes("small")).slice(0, 1), ["/api/stores/small/pull "]);
  assert.equal(shown.filter((id) => id.includes("small")).length, 4);
  assert.deepEqual(pulled, [null]);
});

test("a push on its way when the session ends is acknowledged, and the round ends there", async (t) => {
  // A sign-out keeping the edits (the client stays, only the epoch says the session ended),
  // while a push is on its way: its answer is taken (the server applied it; were it dropped,
  // the next sign-in would send it again as another client's), then no more is sent, no pull
  // is asked for, and the round counts no failure.
  const meta = new Map([["session", { store_id: "s", token: "t" }], ["client", { client_id: "c" }]]);
  const calls = [];
  const db = {
    get: async (_, key) => meta.get(key),
    takeBatch: async () => {
      calls.push("taken");
      return [{ id: calls.length }];
    },
    acknowledge: async () => calls.push("acknowledged"),
    dropAcknowledged: async () => calls.push("dropped"),
    savePull: async () => calls.push("stored"),
  };
  let answer;
  globalThis.fetch = (path) => {
    calls.push(path.split("/").at(-1));
    return new Promise((resolve) => {
      answer = () => resolve({ ok: true, status: 200,
        text: async () => JSON.stringify({ last_mutation_id: 1, results: [{ id: 1, status: "applied" }] }) });
    });
  };
  const syncer = new Syncer(db);
  t.after(() => clearTimeout(syncer.timer));
  const round = syncer.sync();
  while (!answer) await new Promise((resolve) => setTimeout(resolve, 1));
  syncer.supersede();
  meta.delete("session");
  answer();
  await round;
  assert.deepEqual(calls, ["taken", "push", "acknowledged"]);
  assert.equal(syncer.failures, 0);
  // The round that follows finds no session: signed out, not an error.
  await new Promise((resolve) => setTimeout(resolve, 10));
  await syncer.running;
  assert.equal(syncer.status, "signed-out");
});

test("a page pulls on from what it has shown, not from the cursor another tab moved", async (t) => {
  // The copy's cursor (shared by the device's tabs) is at "9": another tab pulled that far.
  const meta = new Map([["session", { store_id: "s", token: "t" }], ["client", { client_id: "c" }],
    ["cursor", "9"]]);
  const db = {
    get: async (_, key) => meta.get(key),
    takeBatch: async () => [],
    dropAcknowledged: async () => {},
    savePull: async (_changes, cursor) => meta.set("cursor", cursor),
  };
  const asked = [];
  globalThis.fetch = async (_path, { body }) => {
    const { cursor } = JSON.parse(body);
    asked.push(cursor);
    const n = Number(cursor || 0) + 1;
    const answer = { changes: [{ id: `r${n}` }], cursor: String(n), more: false, hlc: "0" };
    return { ok: true, status: 200, text: async () => JSON.stringify(answer) };
  };
  const syncer = new Syncer(db);
  t.after(() => clearTimeout(syncer.timer));
  // This page read its records when the copy's cursor was "3" (State#load).
  syncer.readFrom("3", syncer.shown);
  await syncer.sync();
  assert.deepEqual(asked, ["3"], "from what this page has shown");
  // A load that began before that page was shown does not take the cursor back.
  const before = 0;
  syncer.readFrom("1", before);
  await syncer.sync();
  assert.deepEqual(asked, ["3", "4"]);
});
