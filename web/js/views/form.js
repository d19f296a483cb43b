/**
 * Forms over one record: a control per field, each keystroke queued as a `set` whose base is
 * the version the control was last filled from, so a pull that lands while someone types is
 * merged by the server, never overwritten. `fill()` rewrites every control but the focused one.
 */

import { isoDate } from "../dates.js";
import { h } from "../dom.js";
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
  for (const [name, attrs] of Object.entries(fields)) {
    const c = control(entity, name, attrs);
    made[name] = c;
    c.el.addEventListener(c.event, () => {
      const value = c.read();
      if (ENTITIES[entity][name].required && (value === null || value === "" ||
        (typeof value === "string" && !value.trim()))) return;
      state.set(entity, id, { [name]: value }, bases[name]);
    });
  }
  function fill() {
    const record = state.records.get(id);
    if (!record) return;
    for (const [name, c] of Object.entries(made)) {
      // Never rewrite what is being typed or picked (a date typed part by part, an open list).
      if (document.activeElement === c.el && c.el.type !== "checkbox") continue;
      const current = record.fields[name];
      if (c.read() !== (current ?? (c.el.type === "checkbox" ? false : null))) c.write(current);
      bases[name] = state.base(id);
    }
  }
  return { controls: Object.fromEntries(Object.entries(made).map(([k, c]) => [k, c.el])), fill };
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
