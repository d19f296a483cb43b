/** People: search, list, and add a person in one step. */

import { h } from "../dom.js";
import { live } from "../model.js";

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 */
export function peopleView(state, go) {
  const search = h("input", {
    type: "search", id: "people-search", placeholder: "Search people", autocomplete: "off",
    "aria-label": "Search people",
  });
  const list = h("ul", { class: "list", "aria-label": "People" });
  const newName = h("input", { id: "new-person", placeholder: "Name", autocomplete: "off",
    "aria-label": "New person's name", required: true });
  const add = h("form", { class: "inline-form" }, newName,
    h("button", { type: "submit", class: "primary" }, "Add person"));
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = newName.value.trim();
    if (!name) return;
    const id = crypto.randomUUID();
    await state.set("person", id, { name, stage: "identified" });
    go(`/people/${id}`);
  });

  function render() {
    const query = search.value.trim().toLowerCase();
    const orgs = new Map(live(state.records, "organization").map((o) => [o.id, o.fields.name]));
    const people = live(state.records, "person")
      .map((p) => ({ p, org: orgs.get(p.fields.organization_id) ?? "" }))
      .filter(({ p, org }) =>
        !query || `${p.fields.name} ${p.fields.title ?? ""} ${org}`.toLowerCase().includes(query))
      .sort((a, b) => (a.p.fields.name ?? "").localeCompare(b.p.fields.name ?? ""));
    list.replaceChildren(...people.map(({ p, org }) =>
      h("li", {}, h("a", { href: `/people/${p.id}`, "data-link": true, class: "row" },
        h("span", { class: "row-title" }, p.fields.name),
        h("span", { class: "row-sub" }, [p.fields.title, org].filter(Boolean).join(" · ") || " "))),
    ));
    if (people.length === 0) {
      list.append(h("li", { class: "empty" }, query ? "Nobody matches." : "Nobody yet: add the first person you want to talk to."));
    }
  }
  search.addEventListener("input", render);
  render();
  const el = h("section", {}, h("h1", {}, "People"), add, search, list);
  return { el, update: render };
}
