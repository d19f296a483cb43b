import assert from "node:assert/strict";
import { test } from "node:test";

import { Clock } from "../../web/js/hlc.js";
import { coalesce, makeMutation, refusals } from "../../web/js/outbox.js";

const clock = () => new Clock("c-1", undefined, () => 1000);

test("mutations are numbered 1, 2, 3 and stamped with the client's clock", () => {
  const counter = { nextId: 1 };
  const c = clock();
  const a = makeMutation(counter, c, "set", { entity: "person", id: "p", base: 0, fields: {} });
  const b = makeMutation(counter, c, "delete", { entity: "person", id: "p", base: 0 });
  assert.deepEqual([a.id, b.id, counter.nextId], [1, 2, 3]);
  assert.ok(b.hlc > a.hlc && a.hlc.endsWith("-c-1"));
});

test("typing folds into the last unsent set of the same record and base", () => {
  const pending = [{ id: 4, hlc: "h1", name: "set", args: { entity: "person", id: "p", base: 2, fields: { notes: "Hel" } } }];
  const next = { hlc: "h2", name: "set", args: { entity: "person", id: "p", base: 2, fields: { notes: "Hello", title: "x" } } };
  const merged = coalesce(pending, next, 3);
  assert.equal(merged.id, 4);
  assert.equal(merged.hlc, "h2");
  assert.deepEqual(merged.args.fields, { notes: "Hello", title: "x" });
});

test("a mutation that may have been sent is never rewritten", () => {
  const pending = [{ id: 4, hlc: "h1", name: "set", args: { entity: "person", id: "p", base: 2, fields: {} } }];
  const next = { hlc: "h2", name: "set", args: { entity: "person", id: "p", base: 2, fields: { notes: "x" } } };
  assert.equal(coalesce(pending, next, 4), null);
});

test("a different record, base or mutation name starts a new mutation", () => {
  const last = { id: 4, hlc: "h1", name: "set", args: { entity: "person", id: "p", base: 2, fields: {} } };
  const other = (args, name = "set") => coalesce([last], { hlc: "h2", name, args }, 0);
  assert.equal(other({ entity: "person", id: "q", base: 2, fields: {} }), null);
  assert.equal(other({ entity: "person", id: "p", base: 3, fields: {} }), null);
  assert.equal(other({ entity: "person", id: "p", base: 2 }, "delete"), null);
  assert.equal(coalesce([], { hlc: "h", name: "set", args: last.args }, 0), null);
});

test("refused mutations come back with their data and the server's reason", () => {
  const sent = [{ id: 1, args: { a: 1 } }, { id: 2, args: { title: "x".repeat(3) } }];
  const out = refusals(sent, { results: [
    { id: 1, status: "applied" },
    { id: 2, status: "rejected", error: "person.title is 2,100 characters; the limit is 2,000" },
  ] });
  assert.equal(out.length, 1);
  assert.equal(out[0].mutation.args.title, "xxx");
  assert.match(out[0].error, /person\.title/);
});
