/** Organizations: status at a glance; add one in a step. */

import { h } from "../dom.js";
import { newId } from "../ids.js";
import { linked, live } from "../model.js";
import { searchIndexOf } from "../search.js";
import { queryInAddress, wide } from "../shell.js";
import { byName, incrementalList } from "./list.js";
import { recordTable } from "./table.js";

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
    const id = newId();
    await state.set("organization", id, { name: name.value.trim(), status: "exploring" });
    go(`/organizations/${id}`);
  });
  const rows = incrementalList({
    el: list,
    key: (o) => o.id,
    row: (o) => {
      const there = linked(state.records, "person", "organization_id", o.id);
      const boss = there.some((p) => p.fields.hiring_authority);
      return h("li", {}, h("a", { href: `/organizations/${o.id}`, "data-link": true, "data-record": true, class: "row" },
        h("span", { class: "row-title" }, o.fields.name),
        h("span", { class: "row-sub" }, `${label(o.fields.status)} · ${there.length} known${boss ? " · supervisor identified" : ""}`)));
    },
  });
  // A desktop shows a sortable, filterable table; a phone, rows to tap.
  // (Opened from the header's search, it filters by that search's words.)
  const search = wide.matches ? h("input", { type: "search", placeholder: "Filter organizations",
    autocomplete: "off", "aria-label": "Filter organizations", value: new URLSearchParams(location.search).get("q") ?? "" }) : null;
  const table = wide.matches ? recordTable({
    label: "Organizations",
    key: ({ o }) => o.id,
    href: ({ o }) => `/organizations/${o.id}`,
    columns: [
      { key: "name", label: "Name", value: ({ o }) => o.fields.name },
      { key: "status", label: "Status", class: "col-more", value: ({ o }) => ORDER.indexOf(o.fields.status) + 1,
        cell: ({ o }) => label(o.fields.status) },
      { key: "known", label: "Known", numeric: true, value: ({ there }) => there.length },
      { key: "boss", label: "Supervisor", class: "col-extra", value: ({ boss }) => (boss ? "identified" : null) },
      { key: "field", label: "Field", class: "col-extra", value: ({ o }) => o.fields.field },
    ],
    sort: { key: "status", dir: 1 },
  }) : null;
  // The filter is kept in the address, as the people's query is.
  const address = queryInAddress("/organizations", () => search.isConnected);
  search?.addEventListener("input", () => {
    render();
    address.typed(search.value);
  });

  /** @param {{entities: Set<string>|null}} [changes] what changed since the last render */
  function render(changes) {
    if (changes?.entities && !changes.entities.has("organization") && !changes.entities.has("person")) return;
    if (table) {
      // Every word of the filter, in any order, case and accents aside, as the header's
      // search finds them (name, field, location, website, why, homework, tags).
      const query = search.value.trim();
      const orgs = query ? searchIndexOf(state).searchOrganizations(query).map((id) => state.records.get(id))
        : live(state.records, "organization");
      const found = orgs
        .map((o) => {
          const there = linked(state.records, "person", "organization_id", o.id);
          return { o, there, boss: there.some((p) => p.fields.hiring_authority) };
        });
      table.set(found, query ? "No organization matches." : "No organizations yet.");
      return;
    }
    const orgs = live(state.records, "organization").sort((a, b) =>
      ORDER.indexOf(a.fields.status) - ORDER.indexOf(b.fields.status) || byName(a.fields.name, b.fields.name));
    // A row shows who is known there: people changing redraw the rows, not just new ones.
    rows.set(orgs, "No organizations yet.", { redraw: !changes?.entities || changes.entities.has("person") });
  }
  render();
  return { el: h("section", {}, h("h1", {}, "Organizations"), add, search, table ? table.el : list), update: render };
}
