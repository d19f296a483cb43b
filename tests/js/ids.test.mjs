import assert from "node:assert/strict";
import { test } from "node:test";

import { idAt, newId } from "../../web/js/ids.js";

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a new id is a canonical UUIDv7 holding the millisecond it was made", () => {
  const ms = 1764499200123; // 2025-11-30T10:40:00.123Z
  const id = idAt(ms);
  assert.match(id, CANONICAL);
  assert.equal(parseInt(id.replaceAll("-", "").slice(0, 12), 16), ms);
  assert.equal(idAt(0).slice(0, 13), "00000000-0000");
  assert.equal(idAt(2 ** 48 - 1).slice(0, 13), "ffffffff-ffff");
  const before = Date.now();
  const now = parseInt(newId().replaceAll("-", "").slice(0, 12), 16);
  assert.ok(now >= before && now <= Date.now());
});

test("ids made later sort after, and ids of one millisecond differ", () => {
  const ids = [idAt(1000), idAt(1001), idAt(70000), idAt(1764499200123)];
  assert.deepEqual([...ids].sort(), ids);
  const same = new Set(Array.from({ length: 1000 }, () => idAt(5)));
  assert.equal(same.size, 1000);
  for (const id of same) assert.match(id, CANONICAL);
});
