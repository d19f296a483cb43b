/**
 * Live sync. While the page is visible, online and signed in, hold one Server-Sent Events
 * stream for the open store and pull when the server pokes (docs/protocol.md §6.4): an edit
 * on another device shows here within a fraction of a second. The stream opens with a
 * single-use ticket (EventSource cannot send the token, and the token never goes in a URL).
 * After every (re)connection the app pulls, which covers whatever happened meanwhile; when the
 * stream fails it reconnects after a growing delay and polls more often until it is back.
 *
 * A stream can also die without failing: a NAT or a proxy forgets the connection, a laptop
 * sleeps and wakes, and nothing ever arrives again, not even an error. The server sends a
 * `heartbeat` event every few seconds (`ready` says how often), so silence is news: after
 * SILENT_BEATS heartbeats' worth of it the stream counts as dead (the status stops saying
 * "live"), the app pulls once and reconnects. Coming back into view or online, it reconnects
 * at once if it has heard nothing for a while.
 *
 * Also asks the service worker to push the outbox by Background Sync when edits are waiting
 * and the app cannot send them now, so they leave even if the app is closed (sw.js).
 */

import { ApiError, api } from "./api.js";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;
// With a stream held, polling is only a safety net; without one, it is how news arrives.
const POLL_LIVE_MS = 5 * 60_000;
const POLL_DOWN_MS = 30_000;
// The server's heartbeat period until its `ready` says otherwise (docs/protocol.md §6.4).
const HEARTBEAT_MS = 15_000;
// Silence for this many heartbeat periods: the stream is dead, whatever the socket says.
const SILENT_BEATS = 2.5;
// Coming back into view or online: reconnect at once after this much silence.
const STALE_BEATS = 1.5;
// Pokes arriving this close together become one pull.
const GATHER_MS = 30;
export const PUSH_TAG = "grapevine-push";

export class Live extends EventTarget {
  /**
   * @param {import('./db.js').Db} db
   * @param {import('./sync.js').Syncer} syncer
   */
  constructor(db, syncer) {
    super();
    this.db = db;
    this.syncer = syncer;
    this.defaultPoll = syncer.every;
    this.connected = false;
    this.source = null;
    this.key = null; // which session and store the stream (or the attempt) is for
    this.generation = 0;
    this.failures = 0;
    this.retryTimer = null;
    this.pokes = 0; // pokes received, for tests and the curious
    this.heartbeatMs = HEARTBEAT_MS;
    this.heardAt = 0; // Date.now() of the last sign of life: an event, or the attempt's start
    this.watchdog = null;
    this.silences = 0; // streams dropped for silence, for tests and the curious
  }

  start() {
    // Waking up (shown again, back online) is when a stream is most likely to have died quietly.
    document.addEventListener("visibilitychange", () => this.check({ waking: true }));
    addEventListener("online", () => this.check({ waking: true }));
    addEventListener("offline", () => this.check());
    addEventListener("pagehide", () => this.close());
    addEventListener("pageshow", () => this.check({ waking: true }));
    // A sign-in, a sign-out or a switch of store shows up as a sync status change.
    this.syncer.addEventListener("status", () => this.check());
    this.check();
  }

  /**
   * Open, keep or close the stream to match the page: visible, online, signed in. When
   * `waking`, a stream (or an attempt at one) that has been silent for a while is replaced.
   */
  async check({ waking = false } = {}) {
    const [session, client] = await Promise.all([
      this.db.get("meta", "session"),
      this.db.get("meta", "client"),
    ]);
    const wanted = session && client && document.visibilityState === "visible" && navigator.onLine;
    const key = wanted ? `${session.store_id} ${client.client_id} ${session.token}` : null;
    if (key === this.key) {
      if (key && waking && Date.now() - this.heardAt > STALE_BEATS * this.heartbeatMs) {
        this.drop();
        this.connect(session, client, key);
      }
      return;
    }
    this.close();
    this.key = key;
    if (key) this.connect(session, client, key);
  }

  /** Stop listening (hidden, offline, signed out). */
  close() {
    this.generation += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.drop();
    this.key = null;
    this.failures = 0;
    this.syncer.every = this.defaultPoll;
    this.setConnected(false);
  }

  async connect(session, client, key) {
    const generation = ++this.generation;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.heard(key); // silence counts from the attempt's start: a ticket can hang as well
    let ticket;
    try {
      ticket = await api(`/api/stores/${session.store_id}/events/ticket`, {
        method: "POST",
        token: session.token,
        body: { client_id: client.client_id },
        // A request stuck on a connection that died quietly is given up (which closes it).
        signal: AbortSignal.timeout(SILENT_BEATS * this.heartbeatMs),
      });
    } catch (error) {
      if (generation !== this.generation) return;
      // Signed out or no longer a member: the sync round finds out and says so.
      if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
        this.syncer.soon(0);
      }
      return this.retryLater(key);
    }
    if (generation !== this.generation) return;
    const source = new EventSource(ticket.url);
    this.source = source;
    const current = () => source === this.source;
    source.addEventListener("ready", (event) => {
      if (!current()) return;
      const every = safeJson(event.data)?.heartbeat_ms;
      if (Number.isFinite(every) && every > 0) this.heartbeatMs = every;
      this.heard(key);
      this.failures = 0;
      this.syncer.every = POLL_LIVE_MS;
      this.setConnected(true);
      this.syncer.soon(0); // whatever changed while not connected
    });
    source.addEventListener("poke", () => {
      if (!current()) return;
      this.heard(key);
      this.pokes += 1;
      this.syncer.soon(GATHER_MS);
    });
    source.addEventListener("heartbeat", () => {
      if (current()) this.heard(key);
    });
    source.addEventListener("closed", (event) => {
      if (!current()) return;
      const reason = safeJson(event.data)?.reason;
      this.drop();
      if (reason === "revoked" || reason === "not a member") this.syncer.soon(0);
      else this.retryLater(key);
    });
    source.addEventListener("error", () => {
      if (!current()) return;
      // The browser would retry with the same (used) ticket: reconnect with a new one instead.
      this.drop();
      this.retryLater(key);
    });
  }

  /** A sign of life from the stream: silence is counted from now. */
  heard(key) {
    this.heardAt = Date.now();
    clearTimeout(this.watchdog);
    const generation = this.generation;
    this.watchdog = setTimeout(() => {
      if (generation !== this.generation || key !== this.key) return;
      // Nothing at all for several heartbeats: the connection is gone, even if no error says so.
      this.silences += 1;
      this.generation += 1; // a ticket still on its way is abandoned too
      this.drop();
      this.syncer.soon(0); // whatever the stream did not say
      this.retryLater(key);
    }, SILENT_BEATS * this.heartbeatMs);
  }

  drop() {
    clearTimeout(this.watchdog);
    this.watchdog = null;
    this.source?.close();
    this.source = null;
    this.setConnected(false);
  }

  retryLater(key) {
    if (key !== this.key) return;
    clearTimeout(this.watchdog);
    this.watchdog = null;
    this.syncer.every = POLL_DOWN_MS;
    const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures);
    this.failures += 1;
    clearTimeout(this.retryTimer);
    const generation = this.generation;
    this.retryTimer = setTimeout(async () => {
      if (generation !== this.generation) return;
      const [session, client] = await Promise.all([
        this.db.get("meta", "session"),
        this.db.get("meta", "client"),
      ]);
      if (generation !== this.generation || !session || !client) return this.check();
      this.connect(session, client, key);
    }, wait * (0.75 + Math.random() / 2));
  }

  setConnected(connected) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.dispatchEvent(new Event("status"));
  }
}

/**
 * Edits waiting and no way to send them now (offline, a failed round, the page going away):
 * ask the service worker to push them when the browser has a connection again, even if the
 * app is closed by then. Where Background Sync is missing, the next open pushes at once.
 * @param {import('./sync.js').Syncer} syncer
 * @param {() => number} waiting edits not yet acknowledged
 */
export function pushInBackground(syncer, waiting) {
  const register = async () => {
    if (!waiting() || !("serviceWorker" in navigator)) return;
    try {
      const registration = await navigator.serviceWorker.ready;
      await registration.sync?.register(PUSH_TAG);
    } catch {
      // not allowed here (a private window, a denied permission): the next open pushes
    }
  };
  syncer.addEventListener("status", () => {
    if (syncer.status === "offline" || syncer.status === "error") register();
  });
  addEventListener("pagehide", register);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") register();
  });
  // The worker asks an open, visible app to push itself rather than race it. A failed push
  // registers a Background Sync, which fires at once while online: answering it with a sync
  // now would loop (push 500, register, fire, push…) several times a second. A round waiting
  // out its backoff keeps waiting.
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data === "sync") syncer.nudge();
  });
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
