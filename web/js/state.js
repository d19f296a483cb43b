/**
 * The app's state: the server copy and the outbox from IndexedDB, and the view of both.
 * Views read `state.records`; edits go through `state.edit`, which queues first, then shows.
 *
 * Nothing here reloads the whole store after the first `load()`: a pull page is applied to the
 * maps as it arrives, an edit is applied over what is shown, and a change of the outbox (a push
 * answered, a pull finished) re-applies only the pending mutations. Each `change` event says
 * what changed: `event.detail` is {ids, entities, source}, where `ids` and `entities` are Sets
 * (null after a full load: anything may have changed) and `source` is "load", "pull", "edit"
 * or "outbox". Views and indexes update from it instead of rebuilding.
 */

import { newId } from "./ids.js";
import { Records, applyMutation } from "./model.js";
import { NextSteps } from "./nextsteps.js";

// Records per slice of the start's load: each slice is parsed and shown in its own task, short
// enough that a keystroke meanwhile waits little for it.
const LOAD_SLICE = 250;
// A pull from the start bringing more records than this is a first sync (`arriving`).
const ARRIVING = 2000;
// Mutations that change only the record they name (args.id): a merge or a resolve reaches others.
const OWN_RECORD = new Set(["set", "delete", "add", "remove"]);

export class State extends EventTarget {
  /** @param {import('./db.js').Db} db @param {import('./sync.js').Syncer} syncer */
  constructor(db, syncer) {
    super();
    this.db = db;
    this.syncer = syncer;
    /** @type {Map<string, object>} records as pulled */
    this.server = new Map();
    this.pending = [];
    this.refused = [];
    /** @type {Records} what is shown: the server copy with the pending mutations applied */
    this.records = new Records().indexed();
    /** ids whose shown record is not the server copy: pending mutations touched them */
    this.overlaid = new Set();
    this.session = null;
    /** true until every record is read (Today then shows `today`, what it showed last) */
    this.loading = false;
    this.today = null;
    this.queue = Promise.resolve();
    // Mutations shown but not yet queued, while the user can still undo them (deletions).
    this.held = new Map();
    /** Today's next steps, kept up to date from what changes (read with `steps.read`) */
    this.steps = new NextSteps();
    /**
     * A first sync under way ({received, total}): a pull from the start bringing more than a
     * few pages, or the first pull after a sign-in (its total not known yet: null). Today
     * waits for its end to work out the steps, once, from the whole store: worked out as
     * pages came, they were redone at each page (a third of the phone's time during a first
     * sync of 76,000 records) and meanwhile said things the records not yet here would
     * contradict.
     */
    this.arriving = null;
    syncer?.addEventListener("page", (event) => this.applyPage(event.detail));
    syncer?.addEventListener("pulled", ({ detail }) => {
      // A connection lost midway: the next pull goes on from there (without a total: the
      // count goes on from here). Refused, or the server failing: the steps from what is here.
      if (!this.arriving || detail?.failure instanceof TypeError) return;
      this.arriving = null;
      this.db.setMeta("arriving", null);
      this.changed(new Set(), new Set(), "pull");
    });
  }

  /** Run `work` after what was queued before it: outbox reads and edits never interleave. */
  serial(work) {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * At start, before the records: the session, the outbox and what Today showed last, so the
   * first screen draws at once. `load()` then brings the records.
   */
  open() {
    return this.serial(async () => {
      const [pending, refused, session, today] = await Promise.all([
        this.db.all("outbox"),
        this.db.all("refused"),
        this.db.get("meta", "session"),
        this.db.get("meta", "today"),
      ]);
      this.pending = pending.sort((a, b) => a.id - b.id);
      this.refused = refused;
      this.session = session ?? null;
      this.today = today ?? null;
      this.loading = true;
      this.rebase();
    });
  }

  /**
   * Read every record from IndexedDB: at start, and after the store was swapped or cleared.
   * Records come in slices, read by a worker (`Db.stream`), shown as they come (like pull pages)
   * with the page answering in between; edits made meanwhile are queued and shown as usual, and
   * saved first (the load waits while one is). Ends with one `change`.
   */
  async load() {
    this.loading = true;
    this.server = new Map();
    this.records = new Records().indexed();
    this.overlaid = new Set();
    // What this device made and has not had back from the server (someone met at lunch,
    // offline) is in no slice the load reads: shown, and searchable, from the load's start,
    // not once every record is read (~5 s of a throttled phone at 10,000 people).
    const made = this.madeHere();
    if (made.length) {
      this.dispatchEvent(new CustomEvent("slice", { detail: { records: this.records, slice: made, made: true } }));
    }
    // Where this page's pulls go on from: the copy's cursor before its records are read (what
    // another tab stores meanwhile is pulled again, not missed: the cursor is shared).
    const shown = this.syncer?.shown;
    const cursor = (await this.db.get("meta", "cursor")) ?? "";
    for await (const chunk of this.db.stream("records", LOAD_SLICE)) {
      for (const record of chunk) {
        this.server.set(record.id, record);
        if (!this.overlaid.has(record.id)) this.records.set(record.id, record);
      }
      // For the search index, fed names as they are read (search.js `indexWhileLoading`).
      this.dispatchEvent(new CustomEvent("slice", { detail: { records: this.records, slice: chunk } }));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    this.syncer?.readFrom(cursor, shown);
    return this.serial(async () => {
      const [pending, refused, session, arriving] = await Promise.all([
        this.db.all("outbox"),
        this.db.all("refused"),
        this.db.get("meta", "session"),
        this.db.get("meta", "arriving"),
      ]);
      this.pending = pending.sort((a, b) => a.id - b.id);
      this.refused = refused;
      this.session = session ?? null;
      // A first sync the app was closed in the middle of: still arriving (the records here so
      // far of the total then known), until a pull ends.
      if (arriving && session && !this.arriving) this.arriving = { received: this.server.size, total: arriving.total };
      this.rebase();
      this.loading = false;
      performance.mark("grapevine:records-loaded", { detail: { records: this.server.size } });
      this.changed(null, null, "load");
    });
  }

  /**
   * Over the records (while a load has read none), the pending edits of the records they
   * create: those whose first pending mutation is a `set` from version 0. (The end of the
   * load applies the whole outbox again, on what it read.)
   * @returns {object[]} those records, as shown
   */
  madeHere() {
    const first = new Map(); // record id -> whether its first pending mutation creates it
    for (const m of this.pending) {
      const id = m.args?.id;
      if (typeof id === "string" && !first.has(id)) first.set(id, m.name === "set" && m.args.base === 0);
    }
    const ids = new Set();
    for (const m of this.pending) {
      if (first.get(m.args?.id) && OWN_RECORD.has(m.name)) this.overlay(m, ids, new Set());
    }
    return [...ids].map((id) => this.records.get(id)).filter(Boolean);
  }

  /** Resolves once every record is read (at once when they are): an export waits for it. */
  settled() {
    if (!this.loading) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (this.loading) return;
        this.removeEventListener("change", done);
        resolve();
      };
      this.addEventListener("change", done);
    });
  }

  /**
   * Some records now, while `load()` still reads the rest (a page opened by its address at
   * start): each read from IndexedDB by its id and shown as the load would show it, with the
   * pending mutations on it applied. Returns at once when every record is already here.
   * @param {string[]} ids
   */
  async early(ids) {
    const wanted = ids.filter((id) => id && !this.server.has(id));
    if (!this.loading || wanted.length === 0) return;
    const read = await Promise.all(wanted.map((id) => this.db.get("records", id)));
    const found = new Set();
    for (const record of read) {
      if (!record || this.server.has(record.id)) continue;
      this.server.set(record.id, record);
      if (!this.overlaid.has(record.id)) this.records.set(record.id, record);
      found.add(record.id);
    }
    // The load's end applies the whole outbox again: this is only what is shown until then.
    for (const mutation of this.pending) {
      if (found.has(mutation.args?.id)) this.overlay(mutation, new Set(), new Set());
    }
  }

  /**
   * The outbox, refused edits or session changed (a push was answered, a pull finished, a
   * sign-out): read those (they are small) and apply the pending mutations again.
   */
  refresh() {
    return this.serial(async () => {
      const [pending, refused, session] = await Promise.all([
        this.db.all("outbox"),
        this.db.all("refused"),
        this.db.get("meta", "session"),
      ]);
      this.pending = pending.sort((a, b) => a.id - b.id);
      this.refused = refused;
      this.session = session ?? null;
      const { ids, entities } = this.rebase();
      this.changed(ids, entities, "outbox");
    });
  }

  /**
   * A device just signed in (or opened another store), its copy empty: the first sync is
   * on its way, and Today says so until it ends rather than "Nothing pressing" (nor
   * remembers that of an empty store).
   */
  expectFirstSync() {
    if (this.server.size > 0) return;
    this.arriving = { received: 0, total: null };
    this.db.setMeta("arriving", { total: null });
  }

  /**
   * A pull page the syncer has just stored: replace those records in memory and show them.
   * @param {{changes: object[], reset: boolean, progress?: {received: number, total: number|null}}} page
   *   (`progress`: how far the pull is; a large one from the start is a first sync, `arriving`)
   */
  applyPage({ changes, reset, progress }) {
    if (progress?.total > ARRIVING && (this.arriving || progress.received <= changes.length)) {
      // (Kept on the device: the app closed midway, its next start still knows, and how many.)
      if (this.arriving?.total !== progress.total) this.db.setMeta("arriving", { total: progress.total });
      this.arriving = { received: progress.received, total: progress.total };
    } else if (this.arriving && progress && !progress.total) {
      this.arriving = { received: this.arriving.received + changes.length, total: this.arriving.total };
    }
    if (reset) {
      this.server = new Map();
      this.records = new Records().indexed();
      this.overlaid = new Set();
      this.rebase();
      this.changed(null, null, "pull");
      return;
    }
    const ids = new Set();
    const entities = new Set();
    for (const change of changes) {
      this.server.set(change.id, change);
      if (!this.overlaid.has(change.id)) this.records.set(change.id, change);
      ids.add(change.id);
      entities.add(change.entity);
    }
    if (this.pending.length || this.overlaid.size) {
      const again = this.rebase();
      for (const id of again.ids) ids.add(id);
      for (const entity of again.entities) entities.add(entity);
    }
    this.changed(ids, entities, "pull");
  }

  /**
   * Show the server copy again where pending mutations had changed it, then apply them all:
   * the same as building the view anew, at the cost of the outbox, not of the store.
   */
  rebase() {
    const ids = new Set(this.overlaid);
    const entities = new Set();
    for (const id of this.overlaid) {
      const shown = this.records.get(id);
      if (shown) entities.add(shown.entity);
      const pulled = this.server.get(id);
      if (pulled) this.records.set(id, pulled);
      else this.records.delete(id);
    }
    this.overlaid = new Set();
    for (const mutation of this.pending) this.overlay(mutation, ids, entities);
    for (const mutations of this.held.values()) for (const m of mutations) this.overlay(m, ids, entities);
    return { ids, entities };
  }

  /** Apply one mutation over what is shown, noting what it changed. */
  overlay(mutation, ids, entities) {
    for (const id of applyMutation(this.records, mutation)) {
      this.overlaid.add(id);
      ids.add(id);
      entities.add(this.records.get(id).entity);
    }
  }

  changed(ids, entities, source) {
    this.steps.note(this.records, ids);
    this.dispatchEvent(new CustomEvent("change", { detail: { ids, entities, source } }));
  }

  /** Keep what Today shows, for the next start to show before the records are read. */
  rememberToday(today) {
    const text = JSON.stringify(today);
    if (text === this.todayText) return;
    this.todayText = text;
    this.today = today;
    this.db.setMeta("today", today);
  }

  /** The version of a record this client last pulled: the `base` of its writes. */
  base(id) {
    return this.server.get(id)?.version ?? 0;
  }

  /** Edits not yet acknowledged by the server. */
  get waiting() {
    let n = 0;
    for (const m of this.pending) if (!m.acked) n += 1;
    return n;
  }

  /**
   * Queue a mutation (durably, before anything else), show it, and sync soon.
   * @param {string} name
   * @param {object} args
   */
  async edit(name, args) {
    return this.run([{ name, args }]);
  }

  /**
   * Queue mutations together. Each is {name, args}, or the short form next-step actions use:
   * {name: "set", entity, id, fields} (base filled in; a null id makes a new record).
   * @param {object[]} mutations
   */
  async run(mutations) {
    if (this.session?.role === "viewer") {
      // The server would refuse it; say so now instead of queueing what cannot be saved.
      this.dispatchEvent(new CustomEvent("readonly"));
      return;
    }
    const edits = this.expand(mutations);
    // The IndexedDB transaction starts now, in the keystroke's own task: waiting for the queue
    // first would leave the last keystrokes in memory only, lost if the page closes meanwhile.
    // Read-write transactions on the outbox commit in the order they were started.
    const saved = this.db.enqueueAll(edits);
    await this.serial(async () => {
      const queued = await saved;
      const ids = new Set();
      const entities = new Set();
      for (const mutation of queued) {
        // A keystroke folded into a queued `set` replaces it (as may a `refresh` that read the
        // outbox after this write); applying the folded one over what is shown gives what
        // applying the outbox anew would.
        const at = this.pending.findLastIndex((m) => m.id === mutation.id);
        if (at >= 0) this.pending[at] = mutation;
        else this.pending.push(mutation);
        this.overlay(mutation, ids, entities);
      }
      this.changed(ids, entities, "edit");
    });
    this.syncer.edited();
  }

  /** The long form of mutations: {name, args}, bases filled in, new ids made. */
  expand(mutations) {
    return mutations.map((m) => (m.args ? m : {
      name: m.name,
      args: { entity: m.entity, id: m.id ?? newId(), base: this.base(m.id), fields: m.fields },
    }));
  }

  /**
   * Show mutations without queueing them yet, after the outbox: `release(key, true)` queues
   * them, `release(key, false)` forgets them (undo). Nothing held survives a reload: undone is
   * the safe default.
   * @returns {string} the key
   */
  hold(mutations) {
    const key = crypto.randomUUID();
    const held = this.expand(mutations);
    this.held.set(key, held);
    const ids = new Set();
    const entities = new Set();
    for (const m of held) this.overlay(m, ids, entities);
    this.changed(ids, entities, "edit");
    return key;
  }

  async release(key, commit) {
    const mutations = this.held.get(key);
    if (!mutations) return;
    this.held.delete(key);
    if (commit) return this.run(mutations);
    await this.serial(async () => {
      const { ids, entities } = this.rebase();
      this.changed(ids, entities, "edit");
    });
  }

  /**
   * Set fields of a record (creating it when new). `base` is the version the user saw the
   * value at: a form field being typed into keeps the base it was filled at, so the server
   * merges a pull that arrived meanwhile instead of being told it was seen.
   */
  set(entity, id, fields, base = this.base(id)) {
    return this.edit("set", { entity, id, base, fields });
  }
}
