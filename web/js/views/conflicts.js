/** The conflict inbox: values that lost a concurrent edit, side by side with what was kept. */

import { h } from "../dom.js";
import { openConflicts } from "../model.js";

const show = (value) =>
  value === null || value === undefined || value === "" ? "(empty)"
    : Array.isArray(value) ? value.join(", ") : String(value);

/** @param {import('../state.js').State} state */
export function conflictsView(state) {
  const list = h("div", { class: "conflicts" });

  function render() {
    const open = openConflicts(state.records);
    list.replaceChildren(...open.map(({ conflict, record }) => {
      const c = conflict.fields;
      const name = record?.fields?.name ?? record?.fields?.title ?? c.record_id;
      const what = c.field === null ? "kept or deleted" : c.field.replaceAll("_", " ");
      const choose = (choice) => () =>
        state.edit("resolve", { conflict: conflict.id, choose: choice });
      return h("article", { class: "card conflict", "aria-label": `Conflict on ${name}` },
        h("h2", {}, `${c.entity} · ${name}`),
        h("p", { class: "hint" }, `Two devices changed ${what} at the same time.`),
        h("div", { class: "sides" },
          h("div", { class: "side" }, h("h3", {}, "Kept"), h("p", { class: "value kept" }, show(c.kept)),
            h("button", { type: "button", onclick: choose("kept") }, "Keep this")),
          h("div", { class: "side" }, h("h3", {}, "Other device"),
            h("p", { class: "value lost" }, show(c.lost)),
            h("button", { type: "button", onclick: choose("lost") }, "Use this instead"))));
    }));
    if (open.length === 0) list.append(h("p", { class: "empty" }, "No conflicts. Every edit is merged."));
  }
  render();
  return { el: h("section", {}, h("h1", {}, "Conflicts"), list), update: render };
}
