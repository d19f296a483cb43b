/**
 * The conflict inbox: values that lost a concurrent edit, side by side with what was kept.
 * A text can also be resolved by keeping both (each line once) or by editing a merged text.
 */

import { h } from "../dom.js";
import { openConflicts } from "../model.js";
import { ENTITIES } from "../schema.js";

const show = (value) =>
  value === null || value === undefined || value === "" ? "(empty)"
    : Array.isArray(value) ? value.join(", ") : String(value);

/**
 * Both texts in one: the kept text, then each line of the other that it does not have, in
 * the other's order. "Met Zoë" + "Met Zoë at APS" keeps the longer line only once.
 */
export function keepBoth(kept, lost) {
  const a = (kept ?? "").split("\n");
  const b = (lost ?? "").split("\n");
  if (!kept) return lost ?? "";
  if (!lost) return kept;
  const out = [...a];
  for (const line of b) {
    if (!line.trim() || out.includes(line)) continue;
    // An edited line (one contains the other): the longer one stands for both.
    const i = out.findIndex((x) => Math.min(x.trim().length, line.trim().length) >= 4 &&
      (line.includes(x) || x.includes(line)));
    if (i >= 0) {
      if (line.length > out[i].length) out[i] = line;
      continue;
    }
    out.push(line);
  }
  return out.join("\n");
}

/** @param {import('../state.js').State} state */
export function conflictsView(state) {
  const list = h("div", { class: "conflicts" });
  const editing = new Set(); // conflict ids whose editor is open (kept across updates)

  function render() {
    if (list.contains(document.activeElement) && document.activeElement.tagName === "TEXTAREA") return;
    const open = openConflicts(state.records);
    list.replaceChildren(...open.map(({ conflict, record }) => {
      const c = conflict.fields;
      const name = record?.fields?.name ?? record?.fields?.title ?? c.record_id;
      const what = c.field === null ? "kept or deleted" : c.field.replaceAll("_", " ");
      const type = c.field ? ENTITIES[c.entity]?.[c.field]?.type : null;
      const textual = (type === "text" || type === "str") && typeof (c.kept ?? "") === "string" &&
        typeof (c.lost ?? "") === "string";
      const resolve = (choose, value) => state.edit("resolve", value === undefined
        ? { conflict: conflict.id, choose } : { conflict: conflict.id, choose, value });
      const choose = (choice) => () => resolve(choice);
      const both = textual ? keepBoth(c.kept, c.lost) : null;
      const editor = h("textarea", { rows: Math.min(12, both ? both.split("\n").length + 2 : 3),
        "aria-label": `Merged ${what}` });
      editor.value = both ?? "";
      const editBox = h("div", { class: "merge-edit", hidden: !editing.has(conflict.id) }, editor,
        h("div", { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: () => {
            editing.delete(conflict.id);
            const value = editor.value;
            if (type === "str" && !value.trim() && ENTITIES[c.entity][c.field].required) return;
            resolve("value", value === "" ? null : value);
          } }, "Save merged text"),
          h("button", { type: "button", onclick: () => { editing.delete(conflict.id); editBox.hidden = true; } }, "Cancel")));
      return h("article", { class: "card conflict", "aria-label": `Conflict on ${name}` },
        h("h2", {}, h("a", { href: `/conflicts/${c.record_id}`, "data-link": true, "data-record": true },
          `${c.entity} · ${name}`)),
        h("p", { class: "hint" }, `Two devices changed ${what} at the same time.`),
        h("div", { class: "sides" },
          h("div", { class: "side" }, h("h3", {}, "Kept"), h("p", { class: "value kept" }, show(c.kept)),
            h("button", { type: "button", onclick: choose("kept") }, "Keep this")),
          h("div", { class: "side" }, h("h3", {}, "Other device"),
            h("p", { class: "value lost" }, show(c.lost)),
            h("button", { type: "button", onclick: choose("lost") }, "Use this instead"))),
        textual ? h("div", { class: "actions merge" },
          h("button", { type: "button", onclick: () => resolve("value", both) }, "Keep both"),
          h("button", { type: "button", onclick: () => {
            editing.add(conflict.id);
            editBox.hidden = false;
            editor.focus();
          } }, "Edit a merged text")) : null,
        textual ? editBox : null);
    }));
    if (open.length === 0) list.append(h("p", { class: "empty" }, "No conflicts. Every edit is merged."));
  }
  render();
  return { el: h("section", {}, h("h1", {}, "Conflicts"), list), update: render };
}
