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

export class Db {
  /** @param {IDBDatabase} idb */
  constructor(idb) {
    this.idb = idb;
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
    const tx = this.idb.transaction(["meta", "outbox"], "readwrite");
    const meta = tx.objectStore("meta");
    const outbox = tx.objectStore("outbox");
    const [client, clockState, sent, last] = await Promise.all([
      done(meta.get("client")),
      done(meta.get("clock")),
      done(meta.get("sent")),
      done(outbox.openCursor(null, "prev")).then((cursor) => cursor?.value),
    ]);
    const clock = new Clock(client.client_id, clockState ?? undefined);
    const queued = [];
    let previous = last;
    for (const { name, args } of edits) {
      const draft = { hlc: clock.tick(), name, args };
      let mutation = coalesce(previous ? [previous] : [], draft, sent ?? 0);
      if (!mutation) mutation = makeMutation(client, clock, name, args);
      outbox.put(mutation);
      queued.push(mutation);
      previous = mutation;
    }
    meta.put(client, "client");
    meta.put(clock.toJSON(), "clock");
    await finished(tx);
    return queued;
  }

  /**
   * Store a pull page: changed records, the cursor, the clock moved past the server's.
   * @param {object[]} changes
   * @param {string} cursor
   * @param {string} hlc
   * @param {boolean} reset drop the whole copy first
   */
  async savePull(changes, cursor, hlc, reset) {
    const tx = this.idb.transaction(["records", "meta"], "readwrite");
    const records = tx.objectStore("records");
    const meta = tx.objectStore("meta");
    if (reset) records.clear();
    for (const change of changes) records.put(change);
    meta.put(cursor, "cursor");
    const [client, clockState] = await Promise.all([done(meta.get("client")), done(meta.get("clock"))]);
    const clock = new Clock(client.client_id, clockState ?? undefined);
    clock.observe(hlc);
    meta.put(clock.toJSON(), "clock");
    await finished(tx);
  }

  /**
   * The server has processed up to `lastMutationId`: drop those, keep refused ones aside.
   * @param {number} lastMutationId
   * @param {{mutation: object, error: string}[]} refused
   */
  async acknowledge(lastMutationId, refused) {
    const tx = this.idb.transaction(["outbox", "refused"], "readwrite");
    tx.objectStore("outbox").delete(IDBKeyRange.upperBound(lastMutationId));
    for (const entry of refused) {
      tx.objectStore("refused").put({ ...entry, at: new Date().toISOString() });
    }
    return finished(tx);
  }

  /** Note, before a push goes out, the highest mutation id it carries. */
  async markSent(id) {
    const tx = this.idb.transaction("meta", "readwrite");
    const meta = tx.objectStore("meta");
    const sent = await done(meta.get("sent"));
    meta.put(Math.max(sent ?? 0, id), "sent");
    return finished(tx);
  }

  async dismissRefused(key) {
    const tx = this.idb.transaction("refused", "readwrite");
    tx.objectStore("refused").delete(key);
    return finished(tx);
  }

  /** Start over as a new install: everything goes (used at sign-out). */
  async clearAll() {
    const stores = ["records", "outbox", "refused", "meta"];
    const tx = this.idb.transaction(stores, "readwrite");
    for (const store of stores) tx.objectStore(store).clear();
    return finished(tx);
  }

  /** Sign in: the session, and a fresh client identity for this store. */
  async startSession(session) {
    const tx = this.idb.transaction(["meta", "records", "outbox"], "readwrite");
    const meta = tx.objectStore("meta");
    meta.put(session, "session");
    meta.put({ client_id: `c-${crypto.randomUUID()}`, nextId: 1 }, "client");
    meta.put("", "cursor");
    meta.put(0, "sent");
    tx.objectStore("records").clear();
    return finished(tx);
  }
}
