/**
 * The app's state: the server copy and the outbox from IndexedDB, and the view of both.
 * Views read `state.records`; edits go through `state.edit`, which queues first, then shows.
 */

import { view } from "./model.js";

export class State extends EventTarget {
  /** @param {import('./db.js').Db} db @param {import('./sync.js').Syncer} syncer */
  constructor(db, syncer) {
    super();
    this.db = db;
    this.syncer = syncer;
    this.server = new Map();
    this.pending = [];
    this.refused = [];
    this.records = new Map();
    this.session = null;
  }

  async load() {
    const [records, pending, refused, session] = await Promise.all([
      this.db.all("records"),
      this.db.all("outbox"),
      this.db.all("refused"),
      this.db.get("meta", "session"),
    ]);
    this.server = new Map(records.map((r) => [r.id, r]));
    this.pending = pending.sort((a, b) => a.id - b.id);
    this.refused = refused;
    this.session = session ?? null;
    this.records = view(this.server, this.pending);
    this.dispatchEvent(new Event("change"));
  }

  /** The version of a record this client last pulled: the `base` of its writes. */
  base(id) {
    return this.server.get(id)?.version ?? 0;
  }

  /** Edits not yet acknowledged by the server. */
  get waiting() {
    return this.pending.filter((m) => !m.acked).length;
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
    const edits = mutations.map((m) => (m.args ? m : {
      name: m.name,
      args: { entity: m.entity, id: m.id ?? crypto.randomUUID(), base: this.base(m.id), fields: m.fields },
    }));
    await this.db.enqueueAll(edits);
    this.pending = (await this.db.all("outbox")).sort((a, b) => a.id - b.id);
    this.records = view(this.server, this.pending);
    this.dispatchEvent(new Event("change"));
    this.syncer.soon();
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
