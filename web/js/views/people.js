/** People: search and filter by stage, organization, tag and how found; add in one step. */

import { h } from "../dom.js";
import { live } from "../model.js";
import { FOUND_VIA, STAGES } from "../schema.js";

const label = (v) => v.replaceAll("_", " ");

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 */
export function peopleView(state, go) {
  const search = h("input", {
    type: "search", id: "people-search", placeholder: "Search people", autocomplete: "off",
    "aria-label": "Search people",
  });
  const select = (name, first) => h("select", { "aria-label": name }, h("option", { value: "" }, first));
  const stage = select("Filter by stage", "Any stage");
  stage.append(...STAGES.map((s) => h("option", { value: s }, label(s))));
  const org = select("Filter by organization", "Any organization");
  const tag = select("Filter by tag", "Any tag");
  const via = select("Filter by how found", "Found any way");
  via.append(...FOUND_VIA.map((s) => h("option", { value: s }, label(s))));
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

  function refillChoices() {
    const orgs = live(state.records, "organization").sort((a, b) => a.fields.name.localeCompare(b.fields.name));
    const keepOrg = org.value;
    org.replaceChildren(h("option", { value: "" }, "Any organization"), ...orgs.map((o) => h("option", { value: o.id }, o.fields.name)));
    org.value = keepOrg;
    const tags = [...new Set(live(state.records, "person").flatMap((p) => p.fields.tags ?? []))].sort();
    const keepTag = tag.value;
    tag.replaceChildren(h("option", { value: "" }, "Any tag"), ...tags.map((t) => h("option", { value: t }, t)));
    tag.value = keepTag;
  }

  function render() {
    refillChoices();
    const query = search.value.trim().toLowerCase();
    const orgs = new Map(live(state.records, "organization").map((o) => [o.id, o.fields.name]));
    const people = live(state.records, "person")
      .filter((p) => !stage.value || p.fields.stage === stage.value)
      .filter((p) => !org.value || p.fields.organization_id === org.value)
      .filter((p) => !tag.value || (p.fields.tags ?? []).includes(tag.value))
      .filter((p) => !via.value || p.fields.found_via === via.value)
      .map((p) => ({ p, org: orgs.get(p.fields.organization_id) ?? "" }))
      .filter(({ p, org: o }) =>
        !query || `${p.fields.name} ${p.fields.title ?? ""} ${o}`.toLowerCase().includes(query))
      .sort((a, b) => (a.p.fields.name ?? "").localeCompare(b.p.fields.name ?? ""));
    list.replaceChildren(...people.map(({ p, org: o }) =>
      h("li", {}, h("a", { href: `/people/${p.id}`, "data-link": true, class: "row" },
        h("span", { class: "row-title" }, p.fields.name, p.fields.hiring_authority ? " ★" : ""),
        h("span", { class: "row-sub" },
          [p.fields.title, o, p.fields.stage && label(p.fields.stage)].filter(Boolean).join(" · ") || " ")))));
    if (people.length === 0) {
      list.append(h("li", { class: "empty" }, query || stage.value || org.value || tag.value || via.value
        ? "Nobody matches." : "Nobody yet: add the first person you want to talk to."));
    }
  }
  search.addEventListener("input", render);
  for (const control of [stage, org, tag, via]) control.addEventListener("change", render);
  render();
  const el = h("section", {}, h("h1", {}, "People"), add, search,
    h("div", { class: "filters" }, stage, org, tag, via), list);
  return { el, update: render };
}
