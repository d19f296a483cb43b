import assert from "node:assert/strict";
import { test } from "node:test";

import { indicatorText } from "../../web/js/views/status.js";

const syncer = (status, lastSyncedAt = null) => ({
  status, lastSyncedAt, describe: (waiting) => (waiting ? `${waiting} waiting` : lastSyncedAt ? "Synced at …" : "Not synced yet"),
});
const now = new Date(2026, 10, 29, 18, 5);
const earlier = new Date(2026, 10, 29, 10, 40);

test("before this start's first round, a device that synced says when, never 'Not synced yet'", () => {
  const text = indicatorText(syncer("idle"), { waiting: 0, online: true, remembered: earlier, now });
  assert.match(text, /^Last synced 10:40/);
  const pending = indicatorText(syncer("idle"), { waiting: 2, online: true, remembered: earlier, now });
  assert.match(pending, /^Last synced 10:40.* · 2 changes waiting$/);
  const yesterday = new Date(2026, 10, 28, 9, 0);
  assert.match(indicatorText(syncer("idle"), { waiting: 0, online: true, remembered: yesterday, now }), /^Last synced Nov 28, 09:00/);
});

test("before the first round offline, it says offline and what waits", () => {
  assert.equal(indicatorText(syncer("idle"), { waiting: 0, online: false, remembered: earlier, now }), "Offline");
  assert.equal(indicatorText(syncer("idle"), { waiting: 1, online: false, remembered: null, now }), "Offline · 1 change waiting");
});

test("a new device, and every round once started, are the syncer's words", () => {
  assert.equal(indicatorText(syncer("idle"), { waiting: 0, online: true, remembered: null, now }), "Not synced yet");
  assert.equal(indicatorText(syncer("syncing"), { waiting: 0, online: true, remembered: earlier, now }), "Not synced yet");
  assert.equal(indicatorText(syncer("idle", now), { waiting: 0, online: true, remembered: earlier, now }), "Synced at …");
});
