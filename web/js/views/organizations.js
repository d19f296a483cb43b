/** Organizations: status at a glance; add one in a step. */

import { h } from "../dom.js";
import { live } from "../model.js";

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
  function render() {
    const people = live(state.records, "person");
    const orgs = live(state.records, "organization").sort((a, b) =>
      ORDER.indexOf(a.fields.status) - ORDER.indexOf(b.fields.status) ||
      a.fields.name.localeCompare(b.fields.name));
    list.replaceChildren(...orgs.map((o) => {
      const there = people.filter((p) => p.fields.organization_id === o.id);
      const boss = there.some((p) => p.fields.hiring_authority);
      return h("li", {}, h("a", { href: `/organizations/${o.id}`, "data-link": true, class: "row" },
        h("span", { class: "row-title" }, o.fields.name),
        h("span", { class: "row-sub" }, `${label(o.fields.status)} · ${there.length} known${boss ? " · supervisor identified" : ""}`)));
    }));
    if (orgs.length === 0) list.append(h("li", { class: "empty" }, "No organizations yet."));
  }
  render();
  return { el: h("section", {}, h("h1", {}, "Organizations"), add, list), update: render };
}
