/**
 * IndexedDB: the server's copy of each record, the outbox of pending mutations, refused
 * mutations kept for the user, and the client's own state (session, counter, clock, cursor).
 * Every edit is one transaction that numbers it and queues it before anything else happens.
 */

import { Clock } from "./hlc.js";
import { coalesce, makeMutation } from "./outbox.js";

const VERSION = 1;

/** @param {IDBRequest} request */
const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** @param {IDBTransaction} tx */
const finished = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });

/**
 * A sync round's session was replaced under it: another store opened, another sign-in, a
 * sign-out. What the round brings or sends from then on belongs to the old session; the
 * transactions that would have written it check the client first and write nothing.
 */
export class Superseded extends Error {
  constructor() {
    super("this device's session changed during the sync");
    this.name = "Superseded";
  }
}

/**
 * Within `tx` (which has `meta` in its scope), before it writes: the sync round working for
 * client `clientId` is still this device's, or the transaction is aborted and Superseded thrown.
 * In the same transaction as the writes, so a session started meanwhile (Db#startSession, in a
 * transaction of its own) comes either wholly before the check or wholly after the writes.
 */
async function stillClient(tx, clientId) {
  const client = await done(tx.objectStore("meta").get("client"));
  if (client?.client_id === clientId) return client;
  tx.abort();
  throw new Superseded();
}

/**
 * An edit's mutations on the outbox's state (see Db#enqueueAll): a `set` folds into the last
 * one queued where it can. It reads nothing but `edits`, the four values of `state` and the
 * time: what Db#enqueueAll checks a guess by is exactly those four.
 * @returns {{queued: object[], client: object, clock: object, sent: number|undefined,
 *   last: object|undefined}} the mutations, and the state they leave
 */
function planEdits(edits, state) {
  const client = { ...state.client };
  const clock = new Clock(client.client_id, state.clock ?? undefined);
  const queued = [];
  let previous = state.last;
  for (const { name, args } of edits) {
    const draft = { hlc: clock.tick(), name, args };
    let mutation = coalesce(previous ? [previous] : [], draft, state.sent ?? 0);
    if (!mutation) mutation = makeMutation(client, clock, name, args);
    queued.push(mutation);
    previous = mutation;
  }
  return { queued, client, clock: clock.toJSON(), sent: state.sent, last: previous };
}

/** The requests reading what an edit reads: the client, the clock, `sent`, the last mutation. */
const stateReads = (meta, outbox) =>
  [meta.get("client"), meta.get("clock"), meta.get("sent"), outbox.openCursor(null, "prev")];

/**
 * What an edit reads before it writes, as values (copies, where kept: nothing outside changes
 * them) and as one text, to compare with what a transaction reads.
 */
function outboxState(client, clock, sent, last, copy = true) {
  const values = { client, clock, sent, last };
  return { ...(copy ? structuredClone(values) : values), text: JSON.stringify(values) };
}

export class Db {
  /** What an edit reads, as this page last knew it (see #enqueueAll), or null */
  #known = null;
  /** Edits made by this page so far */
  #edits = 0;
  /** The client this page's edits are for (its session's), once known, or null */
  #client = null;

  /** @param {IDBDatabase} idb */
  constructor(idb) {
    this.idb = idb;
    /** outbox writes under way (edits being saved): a long read gives way to them */
    this.writing = 0;
    this.waiting = [];
  }

  /** @param {string} [name] */
  static async open(name = "grapevine") {
    const request = indexedDB.open(name, VERSION);
    request.onupgradeneeded = () => {
      const idb = request.result;
      idb.createObjectStore("records", { keyPath: "id" });
      idb.createObjectStore("outbox", { keyPath: "id" });
      idb.createObjectStore("refused", { keyPath: "key", autoIncrement: true });
      idb.createObjectStore("meta");
    };
    return new Db(await done(request));
  }

  async get(store, key) {
    return done(this.idb.transaction(store).objectStore(store).get(key));
  }

  async all(store) {
    return done(this.idb.transaction(store).objectStore(store).getAll());
  }

  /**
   * Every value of a store, `size` at a time in key order (after the key `after`), each batch
   * its own transaction: between batches the page can answer the user. An edit being saved
   * goes first: no batch is asked for, nor decoded (its structured clone is decoded when the
   * result is read), until no outbox write is under way.
   * @returns {AsyncGenerator<object[]>}
   */
  async *chunks(store, size, keyPath = "id", after = null) {
    for (;;) {
      await this.quiet();
      const range = after === null ? null : IDBKeyRange.lowerBound(after, true);
      const request = this.idb.transaction(store).objectStore(store).getAll(range, size);
      const batch = await new Promise((resolve, reject) => {
        request.onsuccess = () => {
          const wait = this.quiet();
          if (wait) wait.then(() => resolve(request.result));
          else resolve(request.result);
        };
        request.onerror = () => reject(request.error);
      });
      if (batch.length) yield batch;
      if (batch.length < size) return;
      after = batch.at(-1)[keyPath];
    }
  }

  /**
   * Every value of a store keyed by `id`, `size` at a time in key order, for the start's load:
   * read by a worker (load-worker.js), so that IndexedDB's decoding of the values is not the
   * page's work, and handed over as JSON text, parsed here once no edit is being saved. Where
   * there is no worker, or it fails, the rest is read here (`chunks`).
   * @returns {AsyncGenerator<object[]>}
   */
  async *stream(store, size) {
    let after = null;
    if (typeof Worker === "function") {
      try {
        for await (const batch of this.#fromWorker(store, size)) {
          after = batch.at(-1).id;
          yield batch;
        }
        return;
      } catch {
        // The worker could not start or read (its file not cached, say): go on from here.
      }
    }
    yield* this.chunks(store, size, "id", after);
  }

  async *#fromWorker(store, size, ahead = 8) {
    const worker = new Worker("/js/load-worker.js", { type: "module" });
    const inbox = [];
    let wake = null;
    worker.onmessage = ({ data }) => {
      inbox.push(data);
      wake?.();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      inbox.push({ error: event.message || "the load worker failed" });
      wake?.();
    };
    try {
      worker.postMessage({ open: { name: this.idb.name, store, size, ahead } });
      for (;;) {
        await this.quiet();
        while (!inbox.length) await new Promise((resolve) => { wake = resolve; });
        wake = null;
        await this.quiet();
        const message = inbox.shift();
        if (message.error) throw new Error(message.error);
        if (message.done) return;
        worker.postMessage({ credit: 1 });
        yield JSON.parse(message.text);
      }
    } finally {
      worker.terminate();
    }
  }

  /** Resolves once no outbox write is under way; null (nothing to wait for) when none is. */
  quiet() {
    if (!this.writing) return null;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async setMeta(key, value) {
    const tx = this.idb.transaction("meta", "readwrite");
    tx.objectStore("meta").put(value, key);
    return finished(tx);
  }

  /**
   * Number, stamp and queue one mutation, in one transaction with the counter and the clock.
   * A mutation that was ever part of a push is never rewritten (the server may have it).
   * @param {string} name
   * @param {object} args
   * @returns {Promise<object>} the queued mutation
   */
  async enqueue(name, args) {
    return (await this.enqueueAll([{ name, args }]))[0];
  }

  /**
   * Queue several mutations in one transaction: a capture is saved whole or not at all.
   * @param {{name: string, args: object}[]} edits
   * @returns {Promise<object[]>} the queued mutations
   */
  async enqueueAll(edits) {
    // The transaction starts in this task (the caller's keystroke); a load reading meanwhile
    // waits for it to end (`quiet`).
    this.writing += 1;
    try {
      return await this.#enqueueAll(edits);
    } finally {
      this.writing -= 1;
      if (!this.writing) for (const resolve of this.waiting.splice(0)) resolve();
    }
  }

  /**
   * An edit's transaction: it reads the client's counter and clock, how far a push has taken
   * the outbox, and its last mutation (a keystroke folds into it), then queues the edit.
   *
   * Once this page knows that state (it wrote the last edit, or read it ahead at start), the
   * edit is written at once, in the caller's task, behind the reads, and what it replaces is
   * read too. Where the reads find the state otherwise than known (another tab's edit, a push
   * taken, a pull's clock), the same transaction puts back what it replaced and writes the
   * edit again on what it read: the outbox ends as if it had waited for the reads, and edits
   * keep their order. Without it, the edit is written once the reads are in: a round trip to
   * IndexedDB, and a task of a page that may be busy (a start's load), before the writing.
   */
  async #enqueueAll(edits) {
    const tx = this.idb.transaction(["meta", "outbox", "refused"], "readwrite");
    const meta = tx.objectStore("meta");
    const outbox = tx.objectStore("outbox");
    // Another tab of this device began another session (a store opened, a sign-in) since this
    // page's last edit: the edit is of the old one's records, kept aside for the user as
    // refused, never queued for the new one (this page reloads: app.js).
    const elsewhere = (state) => {
      const client = state.client?.client_id;
      if (this.#client === null || client === this.#client) return false;
      // (No client at all: the other tab signed out and had everything forgotten; so is this.)
      if (client !== undefined) {
        for (const { name, args } of edits) {
          tx.objectStore("refused").put({ mutation: { name, args }, at: new Date().toISOString(),
            error: "Not saved: another tab of this device opened another store or account as it was typed." });
        }
      }
      this.#known = null;
      return true;
    };
    const reads = stateReads(meta, outbox);
    // Requests end in the order made: when the last read is in, so are the others.
    const read = () => outboxState(reads[0].result, reads[1].result, reads[2].result, reads[3].result?.value, false);
    const write = (plan) => {
      try {
        for (const mutation of plan.queued) outbox.put(mutation);
        meta.put(plan.client, "client");
        meta.put(plan.clock, "clock");
      } catch (error) {
        tx.abort(); // a value IndexedDB cannot store: none of the edit, not a part of it
        throw error;
      }
    };
    const mine = ++this.#edits;
    const guess = this.#known;
    let plan;
    const after = () => outboxState(plan.client, plan.clock, plan.sent, plan.last); // once it commits
    if (guess) {
      plan = planEdits(edits, guess);
      const replaced = plan.queued.map((m) => outbox.get(m.id));
      write(plan);
      this.#known = after();
      (replaced.at(-1) ?? reads[3]).onsuccess = () => {
        const state = read();
        if (state.text === guess.text) return;
        for (let k = replaced.length - 1; k >= 0; k--) {
          const before = replaced[k].result;
          if (before === undefined) outbox.delete(plan.queued[k].id);
          else outbox.put(before);
        }
        if (elsewhere(state)) {
          // (and the other session's client and clock, which the guess overwrote, put back)
          for (const [key, value] of [["client", state.client], ["clock", state.clock]]) {
            if (value === undefined) meta.delete(key);
            else meta.put(value, key);
          }
          plan = null;
          return;
        }
        plan = planEdits(edits, state);
        write(plan);
        // Edits made since were written on this one's guess: they find it stale in turn.
        this.#known = mine === this.#edits ? after() : null;
      };
    } else {
      await done(reads[3]);
      const state = read();
      if (!elsewhere(state)) {
        plan = planEdits(edits, state);
        write(plan);
        this.#client = plan.client.client_id;
        if (mine === this.#edits) this.#known = after();
      }
    }
    try {
      await finished(tx);
    } catch (error) {
      this.#known = null;
      throw error;
    }
    return plan?.queued ?? [];
  }

  /**
   * Read ahead what an edit reads (at start, while the page waits for nothing): the first
   * keystroke's save is then written in its own task (see #enqueueAll).
   */
  async prepareEdits() {
    const tx = this.idb.transaction(["meta", "outbox"]);
    const reads = stateReads(tx.objectStore("meta"), tx.objectStore("outbox"));
    await done(reads[3]); // requests end in the order made
    const [client, clock, sent, cursor] = reads.map((r) => r.result);
    if (client && !this.#known && !this.writing) this.#known = outboxState(client, clock, sent, cursor?.value);
    if (client) this.#client ??= client.client_id;
  }

  /**
   * Store a pull page: changed records, the cursor, the clock moved past the server's.
   * @param {object[]} changes
   * @param {string} cursor
   * @param {string} hlc
   * @param {boolean} reset drop the whole copy first
   * @param {string} clientId the client the pull is for (Superseded, and nothing stored, if
   *   another session began since)
   */
  async savePull(changes, cursor, hlc, reset, clientId) {
    const tx = this.idb.transaction(["records", "meta"], "readwrite");
    const records = tx.objectStore("records");
    const meta = tx.objectStore("meta");
    const [client, clockState] = await Promise.all([stillClient(tx, clientId), done(meta.get("clock"))]);
    if (reset) records.clear();
    for (const change of changes) records.put(change);
    meta.put(cursor, "cursor");
    const clock = new Clock(client.client_id, clockState ?? undefined);
    clock.observe(hlc);
    meta.put(clock.toJSON(), "clock");
    await finished(tx);
  }

  /**
   * The next batch to push, and the note that it went out, in one transaction: an edit made
   * meanwhile can no longer fold into a mutation that is on its way.
   * @param {number} size
   * @param {string} clientId the client pushing (Superseded if another session began since)
   * @returns {Promise<object[]>}
   */
  async takeBatch(size, clientId) {
    const tx = this.idb.transaction(["outbox", "meta"], "readwrite");
    const meta = tx.objectStore("meta");
    const [, all, sent] = await Promise.all([
      stillClient(tx, clientId),
      done(tx.objectStore("outbox").getAll()),
      done(meta.get("sent")),
    ]);
    const batch = all.filter((m) => !m.acked).slice(0, size);
    if (batch.length) meta.put(Math.max(sent ?? 0, batch.at(-1).id), "sent");
    await finished(tx);
    return batch.map(({ acked, ...mutation }) => mutation);
  }

  /**
   * The server has processed up to `lastMutationId`. Refused mutations go aside for the user;
   * the others stay in the view, marked acknowledged, until a pull brings their result.
   * @param {number} lastMutationId
   * @param {{mutation: object, error: string}[]} refused
   * @param {string} clientId the client that pushed them (another's outbox is not touched)
   */
  async acknowledge(lastMutationId, refused, clientId) {
    const tx = this.idb.transaction(["outbox", "refused", "meta"], "readwrite");
    const outbox = tx.objectStore("outbox");
    const refusedIds = new Set(refused.map((r) => r.mutation.id));
    const [, acknowledged] = await Promise.all([
      stillClient(tx, clientId),
      done(outbox.getAll(IDBKeyRange.upperBound(lastMutationId))),
    ]);
    for (const m of acknowledged) {
      if (refusedIds.has(m.id)) outbox.delete(m.id);
      else if (!m.acked) outbox.put({ ...m, acked: true });
    }
    for (const entry of refused) {
      tx.objectStore("refused").put({ ...entry, at: new Date().toISOString() });
    }
    return finished(tx);
  }

  /** A pull has brought everything up to now: acknowledged mutations are in the server copy. */
  async dropAcknowledged(clientId) {
    const tx = this.idb.transaction(["outbox", "meta"], "readwrite");
    const outbox = tx.objectStore("outbox");
    const [, all] = await Promise.all([stillClient(tx, clientId), done(outbox.getAll())]);
    for (const m of all) if (m.acked) outbox.delete(m.id);
    return finished(tx);
  }

  /**
   * The server has processed only up to `last` (a restored backup): number what is still
   * pending from last + 1, so none of it is refused as a gap.
   */
  async renumberFrom(last, clientId) {
    const tx = this.idb.transaction(["outbox", "meta"], "readwrite");
    const outbox = tx.objectStore("outbox");
    const meta = tx.objectStore("meta");
    const [client, all] = await Promise.all([stillClient(tx, clientId), done(outbox.getAll())]);
    outbox.clear();
    let id = last;
    for (const m of all) if (!m.acked) outbox.put({ ...m, id: ++id });
    meta.put({ ...client, nextId: id + 1 }, "client");
    meta.put(last, "sent");
    return finished(tx);
  }

  /** Refuse what is pending, keeping it for the user (a store this user cannot write). */
  async refusePending(error, clientId) {
    const tx = this.idb.transaction(["outbox", "refused", "meta"], "readwrite");
    const outbox = tx.objectStore("outbox");
    const [, all] = await Promise.all([stillClient(tx, clientId), done(outbox.getAll())]);
    for (const m of all) {
      if (m.acked) continue;
      outbox.delete(m.id);
      const { acked, ...mutation } = m;
      tx.objectStore("refused").put({ mutation, error, at: new Date().toISOString() });
    }
    return finished(tx);
  }

  async dismissRefused(key) {
    const tx = this.idb.transaction("refused", "readwrite");
    tx.objectStore("refused").delete(key);
    return finished(tx);
  }

  /** Start over as a new install: everything goes (a sign-out the user confirmed). */
  async clearAll() {
    this.#client = null; // (the next session's edits are this page's)
    this.#known = null;
    const stores = ["records", "outbox", "refused", "meta"];
    const tx = this.idb.transaction(stores, "readwrite");
    for (const store of stores) tx.objectStore(store).clear();
    return finished(tx);
  }

  /**
   * The server no longer knows this device: forget the token, keep every unsynced edit.
   * @param {string} [clientId] only if this is still that client's session (a sync round's
   *   401 for a token replaced meanwhile must not end the new session)
   */
  async endSession(clientId) {
    const tx = this.idb.transaction("meta", "readwrite");
    if (clientId !== undefined) await stillClient(tx, clientId);
    tx.objectStore("meta").delete("session");
    return finished(tx);
  }

  /**
   * Sign in: the session, and a fresh client identity. Edits still pending from an earlier
   * session of the same user and store carry over (renumbered and restamped for the new
   * client); those of anyone else are kept aside as refused, never sent to another store.
   */
  async startSession(session) {
    const stores = ["meta", "records", "outbox", "refused"];
    const tx = this.idb.transaction(stores, "readwrite");
    const meta = tx.objectStore("meta");
    const outbox = tx.objectStore("outbox");
    const [owner, pending] = await Promise.all([done(meta.get("owner")), done(outbox.getAll())]);
    const same = owner && owner.user_id === session.user_id && owner.store_id === session.store_id;
    const client = { client_id: `c-${crypto.randomUUID()}`, nextId: 1 };
    const clock = new Clock(client.client_id);
    outbox.clear();
    for (const { acked, ...m } of pending) {
      if (acked) continue;
      if (same) {
        outbox.put({ ...m, id: client.nextId++, hlc: clock.tick() });
      } else {
        tx.objectStore("refused").put({
          mutation: m, at: new Date().toISOString(),
          error: "Not sent: this device switched to another store or account before it synced.",
        });
      }
    }
    meta.put(session, "session");
    meta.put({ user_id: session.user_id, store_id: session.store_id }, "owner");
    meta.put(client, "client");
    this.#client = client.client_id; // this page's edits are the new session's from now on
    this.#known = null;
    meta.put(clock.toJSON(), "clock");
    meta.put("", "cursor");
    meta.put(0, "sent");
    tx.objectStore("records").clear();
    return finished(tx);
  }
}
