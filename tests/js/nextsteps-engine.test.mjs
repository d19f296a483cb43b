import assert from "node:assert/strict";
import { test } from "node:test";

import { dayOf } from "../../web/js/dates.js";
import { NextSteps, compareActions, nextSteps, stepsOf } from "../../web/js/nextsteps.js";
import { Records } from "../../web/js/model.js";
import { rec } from "./fixtures.mjs";
import { random, randomEdit, randomStore } from "./randomstore.mjs";

/** Steps as Today shows them; `done_at` is stamped when tapped, so it is left out. */
const shown = (actions) => JSON.stringify(actions.map((a) => (a.quick ? {
  ...a, quick: { ...a.quick, mutations: a.quick.mutations.map((m) => (m.fields.done_at ? { ...m, fields: { ...m.fields, done_at: "tap" } } : m)) },
} : a)));

/** What is coming up, from scratch: open follow-ups due after today, then by day and time
 * conversations still to come, soonest first. */
function upcoming(records, { today, now }) {
  const key = (r) => (r.entity === "conversation" ? `${dayOf(r.fields.at)} ${r.fields.at}` : r.fields.due);
  return [...records.values()]
    .filter((r) => !r.deleted && (r.entity === "followup"
      ? !r.fields.done_at && r.fields.due > today
      : r.entity === "conversation" && Boolean(r.fields.at) && r.fields.at > now))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id < b.id ? -1 : 1))
    .map((r) => r.id);
}

function same(engine, store, when, what) {
  const kept = engine.read(store.records, when);
  assert.equal(shown(kept.actions), shown(nextSteps(store.records, when)), what);
  assert.deepEqual(kept.upcoming, upcoming(store.records, when), `${what}: coming up`);
}

test("the kept steps equal a computation from scratch after random edits", () => {
  let reads = 0;
  let steps = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const rnd = random(seed);
    const store = randomStore(rnd, 30 + rnd.int(120));
    const engine = new NextSteps();
    engine.note(store.records, null);
    let hour = 6;
    let when = { today: "2026-11-26", now: "2026-11-26T06:00:00.000Z" };
    same(engine, store, when, `seed ${seed}: first`);
    for (let step = 1; step <= 150; step++) {
      engine.note(store.records, randomEdit(rnd, store));
      if (rnd.chance(0.1) && hour < 23) {
        // Time passes: conversations planned for earlier today have now happened.
        hour += 1 + rnd.int(3);
        when = { today: when.today, now: `2026-11-26T${String(Math.min(hour, 23)).padStart(2, "0")}:30:00.000Z` };
      }
      if (rnd.chance(0.3)) {
        same(engine, store, when, `seed ${seed}, edit ${step}`);
        reads += 1;
        steps += engine.actions.length;
      }
    }
    same(engine, store, when, `seed ${seed}: last`);
  }
  assert.ok(reads > 1000 && steps > 10 * reads, "the comparisons covered many steps");
});

test("a change recomputes what it touches, not the store", () => {
  const rnd = random(7);
  const store = randomStore(rnd, 3000);
  const engine = new NextSteps();
  const when = { today: "2026-11-26", now: "2026-11-26T12:00:00.000Z" };
  engine.read(store.records, when);
  const units = engine.units.size;
  assert.ok(units > 1000);
  let computed = 0;
  for (let i = 0; i < 50; i++) {
    const ids = randomEdit(rnd, store);
    engine.note(store.records, ids);
    const before = new Map([...engine.units].map(([key, unit]) => [key, unit]));
    engine.read(store.records, when);
    for (const [key, unit] of engine.units) if (before.get(key) !== unit) computed += 1;
  }
  assert.ok(computed < 50 * 40, `${computed} units computed again for 50 edits of ${units}`);
  assert.equal(shown(engine.actions), shown(nextSteps(store.records, when)));
});

test("a conversation planned for later today becomes one to thank once it has happened", () => {
  const p = rec("person", { name: "Ruth", stage: "scheduled" });
  const c = rec("conversation", { person_id: p.id, at: "2026-11-26T16:00:00.000Z", prepared: true });
  const records = new Records([[p.id, p], [c.id, c]]);
  const engine = new NextSteps();
  const before = engine.read(records, { today: "2026-11-26", now: "2026-11-26T15:00:00.000Z" });
  assert.ok(!before.actions.some((a) => a.key.startsWith("thank:")));
  const after = engine.read(records, { today: "2026-11-26", now: "2026-11-26T17:00:00.000Z" });
  assert.ok(after.actions.some((a) => a.key === `thank:${c.id}`));
});

test("a new store, a new day: computed again", () => {
  const p = rec("person", { name: "Ruth", stage: "identified" });
  const f = rec("followup", { person_id: p.id, due: "2026-11-27", kind: "connect" });
  const records = new Records([[p.id, p], [f.id, f]]);
  const engine = new NextSteps();
  const first = engine.read(records, { today: "2026-11-26", now: "2026-11-26T15:00:00.000Z" });
  assert.deepEqual(first.upcoming, [f.id]);
  assert.ok(!first.actions.some((a) => a.key === `followup:${f.id}`));
  const next = engine.read(records, { today: "2026-11-27", now: "2026-11-27T08:00:00.000Z" });
  assert.deepEqual(next.upcoming, []);
  assert.ok(next.actions.some((a) => a.key === `followup:${f.id}`));
  const other = new Records([[p.id, p]]);
  engine.note(other, null);
  assert.ok(!engine.read(other, { today: "2026-11-27", now: "2026-11-27T08:00:00.000Z" })
    .actions.some((a) => a.key === `followup:${f.id}`));
});

test("computed a slice at a time while edits arrive, then the same as from scratch", async () => {
  const rnd = random(11);
  const store = randomStore(rnd, 3000);
  const engine = new NextSteps({ slice: 0 }); // 16 units a slice
  const when = { today: "2026-11-26", now: "2026-11-26T12:00:00.000Z" };
  engine.note(store.records, null);
  let done = 0;
  assert.equal(engine.readSoon(store.records, when, () => { done += 1; }), null, "not at once");
  while (!done) {
    engine.note(store.records, randomEdit(rnd, store));
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.equal(done, 1);
  // The edits made meanwhile, a slice at a time too.
  let kept;
  while (!(kept = engine.readSoon(store.records, when, () => {}))) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.equal(shown(kept.actions), shown(nextSteps(store.records, when)));
  assert.deepEqual(kept.upcoming, upcoming(store.records, when));
});

test("awaited while a view waits for work under way; not once it is done or abandoned", async () => {
  const rnd = random(12);
  const store = randomStore(rnd, 1000);
  const engine = new NextSteps({ slice: 0 });
  const when = { today: "2026-11-26", now: "2026-11-26T12:00:00.000Z" };
  assert.equal(engine.awaited, false);
  let done = 0;
  assert.equal(engine.readSoon(store.records, when, () => { done += 1; }), null);
  assert.equal(engine.awaited, true);
  while (!done) await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(engine.awaited, false);
  // A new copy of the store while a view waits: the job is dropped, and nobody waits for it
  // (the search's warm-up, which gives way to it, would wait for ever).
  const other = randomStore(random(13), 1000).records;
  assert.equal(engine.readSoon(other, when, () => {}), null);
  assert.equal(engine.awaited, true);
  engine.note(new Records(), null);
  assert.equal(engine.awaited, false);
});

test("read a slice at a time between random edits, what it answers is current", async () => {
  let answered = 0;
  for (let seed = 100; seed < 115; seed++) {
    const rnd = random(seed);
    const store = randomStore(rnd, 200 + rnd.int(400));
    const engine = new NextSteps({ slice: 0 }); // 16 units a slice: most reads wait for slices
    engine.note(store.records, null);
    const when = { today: "2026-11-26", now: "2026-11-26T12:00:00.000Z" };
    for (let step = 0; step < 120; step++) {
      for (let n = rnd.int(4); n > 0; n--) engine.note(store.records, randomEdit(rnd, store));
      const kept = engine.readSoon(store.records, when, () => {});
      if (kept) {
        answered += 1;
        assert.equal(shown(kept.actions), shown(nextSteps(store.records, when)), `seed ${seed}, step ${step}`);
      }
      if (rnd.chance(0.5)) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.equal(shown(engine.read(store.records, when).actions), shown(nextSteps(store.records, when)));
  }
  assert.ok(answered > 100, `${answered} answers compared`);
});

test("a person's and an organization's own steps are theirs of Today's, none missing", () => {
  let compared = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const rnd = random(seed);
    const store = randomStore(rnd, 30 + rnd.int(120));
    const when = { today: "2026-11-26", now: "2026-11-26T12:00:00.000Z" };
    const all = nextSteps(store.records, when);
    const own = [];
    for (const r of store.records.values()) {
      if (r.deleted || !["person", "organization"].includes(r.entity)) continue;
      own.push(...stepsOf(store.records, r.entity, r.id, when));
      compared += 1;
    }
    // What no page of a live person or organization shows: the follow-ups of a deleted one or
    // of nobody (Today alone has them).
    const pages = new Set(own.map((a) => a.key));
    const elsewhere = all.filter((a) => !pages.has(a.key));
    for (const a of elsewhere) assert.ok(a.key.startsWith("followup:"), `seed ${seed}: ${a.key} is on no page`);
    assert.equal(shown(own.sort(compareActions)),
      shown(all.filter((a) => pages.has(a.key))), `seed ${seed}`);
  }
  assert.ok(compared > 1000, "many pages compared");
});
