/**
 * Forms over one record: a control per field, each keystroke queued as a `set` whose base is
 * the version the control was last filled from, so a pull that lands while someone types is
 * merged by the server, never overwritten. `fill()` rewrites every control but one being typed
 * or picked in, or whose own edit is still on its way to the record: a focused text not typed
 * into since focus follows the record; one typed into keeps its text and says when another
 * device changed the field meanwhile.
 */

import { searchOrganizations } from "../capture.js";
import { isoDate } from "../dates.js";
import { h } from "../dom.js";
import { compareText, live } from "../model.js";
import { ENTITIES } from "../schema.js";

const label = (value) => value.replaceAll("_", " ");

/** "YYYY-MM-DDTHH:MM" in local time, for a datetime-local input. */
export const toLocalInput = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${isoDate(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

/** A control for one field of an entity, with how to read and write its value. */
function control(entity, name, attrs = {}) {
  const spec = ENTITIES[entity][name];
  if (spec.type === "enum") {
    const el = h("select", attrs, h("option", { value: "" }, "—"),
      spec.choices.map((v) => h("option", { value: v }, label(v))));
    return { el, event: "change", read: () => el.value || null, write: (v) => { el.value = v ?? ""; } };
  }
  if (spec.type === "bool") {
    const el = h("input", { type: "checkbox", ...attrs });
    return { el, event: "change", read: () => el.checked, write: (v) => { el.checked = v === true; } };
  }
  if (spec.type === "int") {
    const el = h("input", { type: "number", inputmode: "numeric", min: spec.minimum ?? 0, max: spec.maximum, ...attrs });
    return {
      el, event: "input",
      read: () => (el.value === "" || !Number.isInteger(Number(el.value)) ? null : Number(el.value)),
      write: (v) => { el.value = v === null || v === undefined ? "" : String(v); },
    };
  }
  if (spec.type === "datetime") {
    const el = h("input", { type: "datetime-local", ...attrs });
    return {
      el, event: "change",
      read: () => (el.value ? new Date(el.value).toISOString() : null),
      write: (v) => { el.value = toLocalInput(v); },
    };
  }
  if (spec.type === "date") {
    const el = h("input", { type: "date", ...attrs });
    return { el, event: "change", read: () => el.value || null, write: (v) => { el.value = v ?? ""; } };
  }
  if (spec.type === "ref") {
    const el = h("select", attrs, h("option", { value: "" }, "—"));
    return { el, event: "change", read: () => el.value || null, write: (v) => { el.value = v ?? ""; } };
  }
  const el = spec.type === "text"
    ? h("textarea", { rows: 3, ...attrs })
    : h("input", { autocomplete: "off", ...attrs });
  return { el, event: "input", read: () => (el.value === "" ? null : el.value), write: (v) => { el.value = v ?? ""; } };
}

/**
 * @param {import('../state.js').State} state
 * @param {string} entity
 * @param {string} id
 * @param {Record<string, object>} fields field name -> extra attributes of its control
 * @returns {{controls: Record<string, HTMLElement>, fill: () => void}}
 */
export function recordForm(state, entity, id, fields) {
  const made = {};
  const bases = {};
  const serverValue = (name) => state.server.get(id)?.fields?.[name] ?? null;
  for (const [name, attrs] of Object.entries(fields)) {
    const c = control(entity, name, attrs);
    made[name] = c;
    // While focused: has the user typed since focusing, what the server held then, what this
    // control sent (its own edits coming back are not another device's).
    c.typed = false;
    c.seen = null;
    c.sent = new Set();
    c.unapplied = 0; // edits of this control not yet applied to the record shown
    c.el.addEventListener(c.event, () => {
      const value = c.read();
      if (ENTITIES[entity][name].required && (value === null || value === "" ||
        (typeof value === "string" && !value.trim()))) return;
      c.typed = true;
      c.sent.add(value);
      if (c.sent.size > 200) c.sent.delete(c.sent.values().next().value); // the latest are what come back
      // Until the edit is in the outbox, the record shown does not have it yet: a refill meanwhile
      // (another field's edit landing, a pull) would put the old value back under the user's
      // finger: a box just ticked unticked, a number just typed blanked.
      c.unapplied += 1;
      Promise.resolve(state.set(entity, id, { [name]: value }, bases[name])).finally(() => {
        c.unapplied -= 1;
        const record = state.records.get(id);
        if (!c.unapplied && record) fillOne(name, c, record);
      });
    });
    c.el.addEventListener("focus", () => {
      c.typed = false;
      c.seen = serverValue(name);
      c.sent = new Set();
    });
    // Left without an edit: show what the record holds now (a change may have come meanwhile).
    c.el.addEventListener("blur", () => {
      if (!c.typed) fillOne(name, c, state.records.get(id));
    });
  }

  /** "Changed on another device": the other value, to see and take (or to keep one's own). */
  function markRemote(c, name, theirs) {
    if (!c.note) {
      c.note = h("div", { class: "remote-change", role: "status" });
      c.el.after(c.note);
    }
    c.note.hidden = false;
    c.note.replaceChildren(
      h("p", {}, "Changed on another device to: ", h("span", { class: "theirs" }, `“${show(theirs)}”`)),
      h("p", { class: "hint" }, "Yours is kept and merged with it when synced."),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "small", onclick: () => {
          c.write(theirs);
          c.typed = false;
          c.seen = theirs;
          c.note.hidden = true;
          state.set(entity, id, { [name]: theirs }, state.base(id));
          bases[name] = state.base(id);
          c.el.focus();
        } }, "Use theirs"),
        h("button", { type: "button", class: "small", onclick: () => {
          c.seen = theirs;
          c.note.hidden = true;
          c.el.focus();
        } }, "Keep mine")));
  }

  function fillOne(name, c, record) {
    const current = record.fields[name];
    const focused = document.activeElement === c.el && c.el.type !== "checkbox";
    if (focused) {
      // Never rewrite what is being picked (a date typed part by part, an open list); text not
      // typed into since focus follows the record; text being typed stays, marked if the
      // other devices' value changed meanwhile.
      if (c.event !== "input") return;
      const server = serverValue(name);
      if (c.typed) {
        if (server !== c.seen && !c.sent.has(server) && server !== c.read()) markRemote(c, name, server);
        return;
      }
      c.seen = server;
    }
    if (c.unapplied) return; // its own edit is on its way to the record: what shows is newer
    if (c.note && !c.typed) c.note.hidden = true;
    if (c.read() !== (current ?? (c.el.type === "checkbox" ? false : null))) c.write(current);
    bases[name] = state.base(id);
  }

  function fill() {
    const record = state.records.get(id);
    if (!record) return;
    for (const [name, c] of Object.entries(made)) fillOne(name, c, record);
  }
  return { controls: Object.fromEntries(Object.entries(made).map(([k, c]) => [k, c.el])), fill };
}

const show = (value) => (value === null || value === undefined || value === "" ? "(empty)" : String(value));

/** More organizations than this, and an organization field gets a box to find one by name. */
const MANY_ORGANIZATIONS = 12;

/**
 * Under an organization <select>, when there are many: type a few letters, tap the match. (On
 * a phone the select is a list of every organization to scroll, 1,000 names at real size.)
 * The choice is set on the select with its change event, so the form saves it as if picked
 * there. Null when there are few organizations: the select alone is quicker.
 * @param {import('../state.js').State} state
 * @param {HTMLSelectElement} select
 */
export function organizationFinder(state, select) {
  const few = () => live(state.records, "organization").length <= MANY_ORGANIZATIONS;
  // Drawn while the records are still read (a page opened at a start), it is not yet known how
  // many there are: it is there, hidden, and shown once they are all read, if it is needed.
  if (!state.loading && few()) return null;
  const input = h("input", { type: "search", autocomplete: "off", enterkeyhint: "done",
    placeholder: "Or type to find one", "aria-label": "Find an organization" });
  const results = h("ul", { class: "list picks", "aria-label": "Organizations to pick" });
  const choose = (o) => {
    if (![...select.options].some((option) => option.value === o.id)) {
      select.append(h("option", { value: o.id }, o.fields.name));
    }
    select.value = o.id;
    select.dispatchEvent(new Event("change"));
    input.value = "";
    results.replaceChildren();
  };
  input.addEventListener("input", () => {
    const found = searchOrganizations(state.records, input.value.trim(), 8);
    results.replaceChildren(...found.map((o) => h("li", {},
      h("button", { type: "button", class: "pick", onclick: () => choose(o) }, o.fields.name))));
  });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    results.querySelector("button")?.click();
  });
  const el = h("div", { class: "org-finder" }, input, results);
  if (state.loading) {
    el.hidden = true;
    state.settled().then(() => { el.hidden = few(); });
  }
  return el;
}

/**
 * An organization <select> that lists every organization only once it is used (focused or
 * pressed): until then it holds the one chosen. Listed, it is sorted once; an update then adds,
 * renames (moving it into place) or removes only the organizations that changed: at 1,000
 * organizations, sorting them again at every keystroke typed elsewhere on the page was most of
 * a keystroke's work.
 * @param {import('../state.js').State} state
 * @param {HTMLSelectElement} select
 * @param {() => string|null|undefined} chosen the organization the record has now
 * @returns {{update: (changes?: {ids: Set<string>|null}) => void}}
 */
export function organizationSelect(state, select, chosen) {
  let options = null; // organization id -> its option, once listed
  const isOrganization = (r) => r && !r.deleted && r.entity === "organization";
  const option = (o) => {
    const el = h("option", { value: o.id }, o.fields.name);
    options.set(o.id, el);
    return el;
  };
  function list() {
    options = new Map();
    const orgs = live(state.records, "organization").sort((a, b) => compareText(a.fields.name, b.fields.name));
    select.replaceChildren(h("option", { value: "" }, "—"), ...orgs.map(option));
  }
  /** Its option at its place by name (after the "—" at index 0). */
  function place(o) {
    options.get(o.id)?.remove();
    let lo = 1;
    let hi = select.options.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareText(select.options[mid].textContent, o.fields.name) <= 0) lo = mid + 1;
      else hi = mid;
    }
    select.insertBefore(option(o), select.options[lo] ?? null);
  }
  function update(changes) {
    const current = chosen() ?? "";
    if (!options) {
      const org = state.records.get(current);
      fillOptions(select, isOrganization(org) ? [org] : [], current);
      return;
    }
    if (!changes?.ids) list();
    else {
      for (const id of changes.ids) {
        const r = state.records.get(id);
        const shown = options.get(id);
        if (isOrganization(r)) {
          if (shown?.textContent !== r.fields.name) place(r);
        } else if (shown && (!r || r.entity === "organization")) {
          shown.remove();
          options.delete(id);
        }
      }
    }
    select.value = current;
  }
  for (const type of ["focus", "pointerdown"]) {
    select.addEventListener(type, () => {
      if (options) return;
      list();
      select.value = chosen() ?? "";
    });
  }
  update();
  return { update };
}

/** Fill a select with records as options (kept when the list is unchanged). */
export function fillOptions(select, records, current) {
  const wanted = ["", ...records.map((r) => r.id)];
  const have = [...select.options].map((o) => o.value);
  const names = [...select.options].map((o) => o.textContent);
  const wantedNames = ["—", ...records.map((r) => r.fields.name)];
  if (wanted.join("\n") !== have.join("\n") || wantedNames.join("\n") !== names.join("\n")) {
    select.replaceChildren(h("option", { value: "" }, "—"),
      ...records.map((r) => h("option", { value: r.id }, r.fields.name)));
  }
  select.value = current ?? "";
}

/**
 * Keep a list's rows across updates (so a row being typed in keeps its focus): rows are made
 * once per key, refilled on each update, and the list is rebuilt only when its rows change.
 * @param {HTMLElement} list
 * @param {Map<string, {el: HTMLElement, fill?: () => void}>} cache
 * @param {{key: string}[]} items
 * @param {(item: object) => {el: HTMLElement, fill?: () => void}} make
 * @param {HTMLElement} [empty] shown when there are no items
 */
export function keyedRows(list, cache, items, make, empty) {
  const rows = items.map((item) => {
    let row = cache.get(item.key);
    if (!row) {
      row = make(item);
      cache.set(item.key, row);
    }
    row.fill?.(item);
    return row.el;
  });
  const keep = new Set(items.map((i) => i.key));
  for (const key of [...cache.keys()]) if (!keep.has(key)) cache.delete(key);
  const wanted = rows.length ? rows : empty ? [empty] : [];
  const have = [...list.children];
  if (have.length !== wanted.length || have.some((el, i) => el !== wanted[i])) list.replaceChildren(...wanted);
}
