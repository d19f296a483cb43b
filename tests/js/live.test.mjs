/**
 * live.js's watchdog, with a fake EventSource and fake timers: a stream that falls silent
 * (no heartbeat, no error: a NAT that forgot the connection, a laptop back from sleep) is
 * dropped, the status stops saying live, the app pulls and reconnects; coming back online
 * after a silence reconnects at once. The real thing, in Chromium through a proxy that
 * blackholes the stream, is tests/test_live_browser.py.
 */
import assert from "node:assert/strict";
import { mock, test } from "node:test";

const page = new EventTarget();
globalThis.addEventListener = page.addEventListener.bind(page);
globalThis.dispatchEvent = page.dispatchEvent.bind(page);
globalThis.document = Object.assign(new EventTarget(), { visibilityState: "visible" });
Object.defineProperty(globalThis, "navigator", { value: { onLine: true }, configurable: true });

class FakeEventSource extends EventTarget {
  static all = [];
  constructor(url) {
    super();
    this.url = url;
    this.closed = false;
    FakeEventSource.all.push(this);
  }
  close() {
    this.closed = true;
  }
  emit(type, data = {}) {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
}
globalThis.EventSource = FakeEventSource;
let tickets = 0;
globalThis.fetch = async () => {
  tickets += 1;
  const ticket = { ticket: `t${tickets}`, expires_at: 0, url: `/events?ticket=t${tickets}` };
  return new Response(JSON.stringify(ticket), { status: 201 });
};

const { Live } = await import("../../web/js/live.js");

const meta = { session: { store_id: "s-1", token: "tok" }, client: { client_id: "c-1" } };
const db = { get: async (_store, key) => meta[key] };

class FakeSyncer extends EventTarget {
  every = 30_000;
  pulls = 0;
  soon(delay) {
    if (delay === 0) this.pulls += 1;
  }
}

/** Let promises, the fake fetch and its body run (real macrotasks, fake timers untouched). */
async function settle() {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

test("a silent stream is dropped, pulled after and replaced; waking after silence reconnects", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  t.after(() => mock.timers.reset());
  const syncer = new FakeSyncer();
  const live = new Live(db, syncer);
  live.start();
  await settle();
  assert.equal(FakeEventSource.all.length, 1);
  const first = FakeEventSource.all[0];
  first.emit("ready", { seq: 3, heartbeat_ms: 1000 });
  assert.equal(live.connected, true);
  assert.equal(syncer.every, 5 * 60_000, "polling stretched while the stream is held");

  // Heartbeats keep it: silence is measured from the last one, whatever came before.
  for (let i = 0; i < 5; i += 1) {
    t.mock.timers.tick(2000);
    first.emit("heartbeat");
  }
  t.mock.timers.tick(2400);
  assert.equal(live.connected, true);
  assert.equal(first.closed, false);

  // 2.5 heartbeats of nothing: dead, even though no error came.
  const pulls = syncer.pulls;
  t.mock.timers.tick(200);
  assert.equal(live.connected, false, "still saying live");
  assert.equal(first.closed, true);
  assert.equal(syncer.pulls, pulls + 1, "no pull for what the stream missed");
  assert.equal(syncer.every, 30_000, "polling not back to often");
  t.mock.timers.tick(1300); // the first retry: a second, give or take a quarter
  await settle();
  assert.equal(FakeEventSource.all.length, 2);
  const second = FakeEventSource.all[1];
  assert.notEqual(second.url, first.url, "a used ticket again");
  second.emit("ready", { seq: 4, heartbeat_ms: 1000 });
  assert.equal(live.connected, true);

  // Back online shortly after an event: the stream is kept.
  t.mock.timers.tick(1000);
  dispatchEvent(new Event("online"));
  await settle();
  assert.equal(FakeEventSource.all.length, 2);
  // Back online (or shown again) after more than a heartbeat and a half of silence, as after
  // a sleep that froze the timers too: replaced at once, without waiting for the watchdog.
  t.mock.timers.tick(1000);
  dispatchEvent(new Event("online"));
  await settle();
  assert.equal(FakeEventSource.all.length, 3);
  assert.equal(second.closed, true);
  assert.equal(live.connected, false);
  FakeEventSource.all[2].emit("ready", { seq: 4, heartbeat_ms: 1000 });
  assert.equal(live.connected, true);
  t.mock.timers.tick(2000);
  document.dispatchEvent(new Event("visibilitychange"));
  await settle();
  assert.equal(FakeEventSource.all.length, 4);
  live.close();
});

test("`closed` (server stopping) reconnects with a new ticket; close() stops for good", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 2_000_000 });
  t.after(() => mock.timers.reset());
  FakeEventSource.all.length = 0;
  const live = new Live(db, new FakeSyncer());
  live.start();
  await settle();
  FakeEventSource.all[0].emit("ready", { seq: 1, heartbeat_ms: 1000 });
  FakeEventSource.all[0].emit("closed", { reason: "server stopping" });
  assert.equal(live.connected, false);
  t.mock.timers.tick(1300);
  await settle();
  assert.equal(FakeEventSource.all.length, 2);
  live.close();
  t.mock.timers.tick(60_000);
  await settle();
  assert.equal(FakeEventSource.all.length, 2, "closed, yet it reconnected");
});
