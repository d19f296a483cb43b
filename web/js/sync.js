/**
 * The sync loop: push the outbox, then pull every page, on start, when back online, when the
 * page becomes visible, shortly after each edit and on a timer; backing off after failures.
 */

import { ApiError, api } from "./api.js";
import { Superseded } from "./db.js";
import { refusals } from "./outbox.js";
import { storedPages } from "./pages.js";

const BATCH = 500;
const PAGE = 1000;
const EVERY_MS = 60_000;
// An edit is pushed once the edits pause this long, or this long after the first edit not
// yet on its way when they go on (a note typed for a minute): not a push a keystroke.
const EDIT_QUIET_MS = 1000;
const EDIT_MAX_WAIT_MS = 5000;
const MAX_BACKOFF_MS = 5 * 60_000;

export class Syncer extends EventTarget {
  /** @param {import('./db.js').Db} db */
  constructor(db) {
    super();
    this.db = db;
    this.status = "idle"; // idle | syncing | offline | unreachable | error | signed-out
    this.error = "";
    this.lastSyncedAt = null;
    this.failures = 0;
    this.running = null;
    this.again = false;
    this.timer = null;
    this.editTimer = null;
    this.editedSince = null; // when the first edit the edit timer waits to push was made
    this.every = EVERY_MS; // the polling period (live.js stretches it while a stream is held)
    /** @type {{received: number, total: number|null}|null} the pull under way */
    this.progress = null;
    this.epoch = 0; // which session a round works for (see supersede)
    this.requests = null; // the AbortController of the round under way's pull requests
    // The cursor of what this page has shown (null: the copy's). A device's tabs share the
    // copy and its cursor; a page pulls on from its own, or it would miss what another tab
    // pulled (stored, but never shown here).
    this.cursor = null;
    this.shown = 0; // pages shown so far (see readFrom)
  }

  /**
   * This page's records were read from the copy at `cursor` (State#load), which began when
   * `shown` pages had been shown: pull on from there, unless pages were shown meanwhile (the
   * last one's cursor is further on, and what it brought is shown too).
   */
  readFrom(cursor, shown) {
    if (shown === this.shown) this.cursor = cursor;
  }

  /**
   * This device's session is about to be replaced (another store opened, a sign-in, a
   * sign-out): a round under way belongs to the old one. From now on it shows no page and
   * stops at its next step; its writes to IndexedDB are refused by the client check in the
   * transactions that make them (db.js), so nothing of the old store lands in the new copy.
   * The round for the new session follows it.
   */
  supersede() {
    this.epoch += 1;
    this.cursor = null; // (the new session's load says where its pulls begin)
    if (this.running) this.again = true;
    // A pull on its way for the old session is not waited for. (A push is: its answer says
    // what the server applied, which the outbox must know; db.js checks the client first.)
    this.requests?.abort();
    this.stopPull?.(); // nor the old store's next page from the pull worker
  }

  /** @param {number} epoch a round's: throws Superseded when the session changed since */
  current(epoch) {
    if (epoch !== this.epoch) throw new Superseded();
  }

  start() {
    addEventListener("online", () => this.soon(0));
    addEventListener("offline", () => this.set("offline"));
    document.addEventListener("visibilitychange", () => {
      // Hidden (another app, the screen off), a page may be frozen or closed at any time:
      // the edits waiting for a pause in the typing go now (they are on disk either way).
      if (document.visibilityState === "visible" || this.editTimer) this.soon(0);
    });
    this.soon(0);
  }

  /**
   * An edit was queued: push it soon. Each keystroke of a note is an edit; a push per pause
   * in the typing (EDIT_QUIET_MS), and at least every EDIT_MAX_WAIT_MS while it goes on,
   * instead of a round every ~0.8 s: a keystroke folds into the mutation queued before it
   * until that one is taken by a push, so each round sent the whole note again (a version
   * and a text history row on the server), and its IndexedDB transactions on the outbox
   * queued with the keystrokes' own (~25 a round, four writing), making those slow to save.
   */
  edited() {
    const now = Date.now();
    this.editedSince ??= now;
    clearTimeout(this.editTimer);
    const wait = Math.max(0, Math.min(EDIT_QUIET_MS, this.editedSince + EDIT_MAX_WAIT_MS - now));
    this.editTimer = setTimeout(() => {
      this.tookEdits();
      this.soon(0);
    }, wait);
  }

  /** Sync after `delay` ms (an earlier request wins). */
  soon(delay = 800) {
    if (this.timer && this.timerAt <= Date.now() + delay) return;
    clearTimeout(this.timer);
    this.timerAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sync();
    }, delay);
  }

  /**
   * Sync now, unless the last round failed: the retry it scheduled after its backoff stands
   * (a Background Sync firing on each failure must not turn the backoff into a tight loop).
   */
  nudge() {
    if (this.failures > 0) return;
    this.soon(0);
  }

  set(status, error = "") {
    this.status = status;
    this.error = error;
    this.dispatchEvent(new Event("status"));
  }

  /** One full round; concurrent calls share it and ask for one more round after. */
  async sync() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.round().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.soon(0);
      }
    });
    return this.running;
  }

  /** A round begins: it pushes the edits queued so far, so the wait for a pause starts anew. */
  tookEdits() {
    clearTimeout(this.editTimer);
    this.editTimer = null;
    this.editedSince = null;
  }

  async round() {
    this.tookEdits();
    const epoch = this.epoch;
    this.requests = new AbortController();
    const [session, client] = await Promise.all([this.db.get("meta", "session"), this.db.get("meta", "client")]);
    if (epoch !== this.epoch) return; // read while another session began: the next round
    if (!session) return this.set("signed-out", this.status === "signed-out" ? this.error : "");
    if (!navigator.onLine) {
      this.set("offline");
      return this.soon(this.every);
    }
    this.set("syncing");
    try {
      // A push that fails must not stop the pull: the device still learns what others did.
      let pushError = null;
      try {
        await this.push(session, client.client_id, epoch);
      } catch (error) {
        const fatal = error instanceof TypeError || error instanceof Superseded;
        if (fatal || (error instanceof ApiError && error.status === 401)) {
          throw error;
        }
        pushError = error;
      }
      await this.pull(session, client.client_id, epoch);
      if (pushError) throw pushError;
      this.failures = 0;
      this.lastSyncedAt = new Date();
      // The connection may have gone while this round finished: say so, not "Synced".
      this.set(navigator.onLine ? "idle" : "offline");
      this.soon(this.every);
    } catch (error) {
      // Another session began during the round (here or in another tab): its round follows.
      if (error instanceof Superseded || epoch !== this.epoch) {
        this.again = true;
        return;
      }
      if (error instanceof ApiError && error.status === 401) {
        // Signed out elsewhere: the token goes, every unsynced edit stays for the next sign-in.
        try {
          await this.db.endSession(client.client_id);
        } catch (ended) {
          if (!(ended instanceof Superseded)) throw ended;
          this.again = true; // that token was replaced by a new session: not this one's end
          return;
        }
        this.failures += 1;
        this.set("signed-out", "This device was signed out. Sign in again: your unsynced edits are kept.");
        return;
      }
      this.failures += 1;
      const wait = Math.min(MAX_BACKOFF_MS, 2000 * 2 ** (this.failures - 1));
      // A failed fetch while the device says it is online: the network is up, the server is not.
      if (!navigator.onLine) this.set("offline");
      else if (error instanceof TypeError) this.set("unreachable");
      else this.set("error", error.message);
      this.soon(wait);
    } finally {
      this.dispatchEvent(new Event("change"));
    }
  }

  async push(session, clientId, epoch) {
    let size = BATCH;
    for (;;) {
      this.current(epoch);
      const batch = await this.db.takeBatch(size, clientId);
      if (batch.length === 0) return;
      // Taken just before another session began: not sent (that session kept it aside, or
      // renumbered it for its own client, which sends it).
      this.current(epoch);
      let answer;
      try {
        answer = await api(`/api/stores/${session.store_id}/push`, {
          method: "POST",
          token: session.token,
          body: { client_id: clientId, mutations: batch },
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.status === 413 && size > 1) {
          size = Math.max(1, Math.floor(size / 2));
          continue;
        }
        if (error.status === 409 && Number.isInteger(error.body?.last_mutation_id)) {
          // The server lost mutations it had (a restored backup): renumber what is pending.
          await this.db.renumberFrom(error.body.last_mutation_id, clientId);
          continue;
        }
        if (error.status === 403) {
          await this.db.refusePending(`Not saved: ${error.message}`, clientId);
          this.dispatchEvent(new Event("change"));
          return;
        }
        throw error;
      }
      await this.db.acknowledge(answer.last_mutation_id, refusals(batch, answer), clientId);
      this.dispatchEvent(new Event("change"));
    }
  }

  /**
   * Pull every page from the stored cursor. Each page is stored (by the pull worker), then
   * handed to listeners as a `page` event ({changes, reset, progress}) to apply in memory;
   * a `pulled` event ({failure}) follows the last page, or a failure. `progress` counts the
   * records of this pull ({received, total}, this page's included; the total is known when
   * the server sends it, on a pull from the start). Neither event is sent for a pull whose
   * session was replaced under it (`supersede`).
   */
  async pull(session, clientId, epoch) {
    const cursor = this.cursor ?? (await this.db.get("meta", "cursor")) ?? "";
    this.current(epoch); // (that cursor may be the new session's)
    const from = { storeId: session.store_id, token: session.token, clientId, cursor, limit: PAGE };
    this.progress = { received: 0, total: null };
    let failure = null;
    try {
      for await (const page of this.pages(from, epoch)) {
        this.current(epoch);
        if (page.reset) {
          this.dispatchEvent(new CustomEvent("page", { detail: { changes: [], reset: true } }));
          if (epoch === this.epoch) {
            this.cursor = "";
            this.shown += 1;
          }
          this.progress = { received: 0, total: null };
          continue;
        }
        if (Number.isInteger(page.total)) this.progress.total = this.progress.received + page.total;
        this.progress.received += page.changes.length;
        this.dispatchEvent(new CustomEvent("page", {
          detail: { changes: page.changes, reset: false, progress: { ...this.progress } } }));
        if (epoch === this.epoch) {
          this.cursor = page.cursor;
          this.shown += 1;
        }
        if (page.changes.length) this.dispatchEvent(new Event("status"));
      }
      // Everything pushed before this pull is in the server copy now.
      await this.db.dropAcknowledged(clientId);
      this.dispatchEvent(new Event("change"));
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      this.progress = null;
      // Ended, or given up (`failure`: the next pull goes on from the last page stored).
      if (epoch === this.epoch && !(failure instanceof Superseded)) {
        this.dispatchEvent(new CustomEvent("pulled", { detail: { failure } }));
      }
    }
  }

  /** Stored pull pages, from the pull worker (or from here, where workers are missing). */
  async *pages(from, epoch) {
    if (typeof Worker !== "function") {
      yield* storedPages(this.db, { ...from, signal: this.requests?.signal });
      return;
    }
    this.worker ??= new Worker("/js/pull-worker.js", { type: "module" });
    const worker = this.worker;
    const inbox = [];
    let wake = null;
    worker.onmessage = ({ data }) => {
      inbox.push(data);
      wake?.();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      inbox.push({ error: { message: event.message || "the pull worker failed" } });
      wake?.();
    };
    worker.postMessage(from);
    this.stopPull = () => {
      inbox.push({ error: { superseded: true } });
      wake?.();
    };
    let finished = false;
    try {
      for (;;) {
        while (!inbox.length) await new Promise((resolve) => { wake = resolve; });
        wake = null;
        const message = inbox.shift();
        if (message.error) {
          const { status, body, network, superseded, message: text } = message.error;
          // (Stopped below: that worker's pull may still be running, for the old store.)
          if (superseded) throw new Superseded();
          finished = true;
          throw status ? new ApiError(status, body) : network ? new TypeError(text) : new Error(text);
        }
        if (message.done) {
          finished = true;
          return;
        }
        yield message.page;
      }
    } finally {
      this.stopPull = null;
      worker.onmessage = null;
      worker.onerror = null;
      if (!finished) {
        // Left before the end: the worker may have stored pages not shown. Stop it; what is
        // shown is read again from IndexedDB (unless it is another session's copy by now).
        worker.terminate();
        this.worker = null;
        if (epoch === this.epoch) this.dispatchEvent(new Event("stale"));
      }
    }
  }

  /** For the indicator: offline / syncing / synced at HH:MM / N changes waiting / error. */
  describe(waiting) {
    if (this.status === "offline") {
      return waiting ? `Offline · ${plural(waiting, "change")} waiting` : "Offline";
    }
    if (this.status === "unreachable") {
      return `Server unreachable${waiting ? ` · ${plural(waiting, "change")} waiting` : ""}`;
    }
    if (this.status === "syncing") {
      const p = this.progress;
      if (p?.total) return `Syncing… ${count(Math.min(p.received, p.total))} of ${count(p.total)}`;
      return p?.received ? `Syncing… ${count(p.received)}` : "Syncing…";
    }
    if (this.status === "error") return `Sync error: ${this.error}`;
    if (this.status === "signed-out") return "Signed out";
    if (waiting) return `${plural(waiting, "change")} waiting`;
    if (this.lastSyncedAt) {
      const time = this.lastSyncedAt.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      return `Synced at ${time}`;
    }
    return "Not synced yet";
  }
}

let numbers = null; // made when first used, not as the module loads
const count = (n) => (numbers ??= new Intl.NumberFormat("en-US")).format(n);

export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
