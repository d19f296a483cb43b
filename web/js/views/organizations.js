/** Organizations: status at a glance; add one in a step. */

import { h } from "../dom.js";
import { linked, live } from "../model.js";
import { byName, incrementalList } from "./list.js";

const label = (v) => (v ? v.replaceAll("_", " ") : "no status");
const ORDER = ["target", "engaged", "exploring", null, "not_a_fit", "archived"];

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 */
export function organizationsView(state, go) {
  const list = h("ul", { class: "list", "aria-label": "Organizations" });
  const name = h("input", { autocomplete: "off", placeholder: "Organization", "aria-label": "New organization's name" });
  const add = h("form", { class: "inline-form" }, name, h("button", { type: "submit", class: "primary" }, "Add"));
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) return;
    const id = crypto.randomUUID();
    await state.set("organization", id, { name: name.value.trim(), status: "exploring" });
    go(`/organizations/${id}`);
  });
  const rows = incrementalList({
    el: list,
    key: (o) => o.id,
    row: (o) => {
      const there = linked(state.records, "person", "organization_id", o.id);
      const boss = there.some((p) => p.fields.hiring_authority);
      return h("li", {}, h("a", { href: `/organizations/${o.id}`, "data-link": true, class: "row" },
        h("span", { class: "row-title" }, o.fields.name),
        h("span", { class: "row-sub" }, `${label(o.fields.status)} · ${there.length} known${boss ? " · supervisor identified" : ""}`)));
    },
  });
  /** @param {{entities: Set<string>|null}} [changes] what changed since the last render */
  function render(changes) {
    if (changes?.entities && !changes.entities.has("organization") && !changes.entities.has("person")) return;
    const orgs = live(state.records, "organization").sort((a, b) =>
      ORDER.indexOf(a.fields.status) - ORDER.indexOf(b.fields.status) || byName(a.fields.name, b.fields.name));
    // A row shows who is known there: people changing redraw the rows, not just new ones.
    rows.set(orgs, "No organizations yet.", { redraw: !changes?.entities || changes.entities.has("person") });
  }
  render();
  return { el: h("section", {}, h("h1", {}, "Organizations"), add, list), update: render };
}
