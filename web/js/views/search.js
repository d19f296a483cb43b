/**
 * Search everything: people (by name, title, organization, tags, places, notes and what was
 * said in conversations) and organizations, case and accents ignored, offline, from an index
 * kept up to date per changed record. The query lives in the address: Back finds it again.
 */

import { h } from "../dom.js";
import { searchIndexOf } from "../search.js";

const LIMIT = 50;

/** The search box in the header: Enter opens the results page. */
export function globalSearchBox(go) {
  const input = h("input", { type: "search", name: "q", autocomplete: "off", placeholder: "Search",
    "aria-label": "Search everything", enterkeyhint: "search" });
  const form = h("form", { class: "global-search", role: "search", action: "/search" }, input);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    go(q ? `/search?q=${encodeURIComponent(q)}` : "/search");
  });
  return { el: form, input };
}

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 */
export function searchView(state, go) {
  const input = h("input", { type: "search", autocomplete: "off", "aria-label": "Search people and organizations",
    placeholder: "Name, title, organization, tag, place, notes…", value: new URLSearchParams(location.search).get("q") ?? "" });
  const people = h("ul", { class: "list", "aria-label": "People found" });
  const orgs = h("ul", { class: "list", "aria-label": "Organizations found" });
  const count = h("p", { class: "hint", "aria-live": "polite" });

  function render() {
    const q = input.value.trim();
    const index = searchIndexOf(state);
    const foundPeople = q ? index.searchPeople(q) : [];
    const foundOrgs = q ? index.searchOrganizations(q) : [];
    people.replaceChildren(...foundPeople.slice(0, LIMIT).map((id) => {
      const p = state.records.get(id);
      const org = state.records.get(p.fields.organization_id);
      return h("li", {}, h("a", { href: `/people/${id}`, "data-link": true, class: "row" },
        h("span", { class: "row-title" }, p.fields.name),
        h("span", { class: "row-sub" }, [p.fields.title, org && !org.deleted ? org.fields.name : null].filter(Boolean).join(" · ") || " ")));
    }));
    orgs.replaceChildren(...foundOrgs.slice(0, LIMIT).map((id) => h("li", {},
      h("a", { href: `/organizations/${id}`, "data-link": true, class: "row" },
        h("span", { class: "row-title" }, state.records.get(id).fields.name)))));
    count.textContent = q
      ? `${foundPeople.length} ${foundPeople.length === 1 ? "person" : "people"}, ${foundOrgs.length} organization${foundOrgs.length === 1 ? "" : "s"}` +
        (foundPeople.length > LIMIT ? ` (the first ${LIMIT} shown)` : "")
      : "Type to search, even offline.";
  }
  input.addEventListener("input", () => {
    const q = input.value.trim();
    history.replaceState(history.state, "", q ? `/search?q=${encodeURIComponent(input.value)}` : "/search");
    render();
  });
  render();
  queueMicrotask(() => { if (!input.value) input.focus(); });
  const el = h("section", {}, h("h1", {}, "Search"), input, count,
    h("h2", {}, "People"), people, h("h2", {}, "Organizations"), orgs);
  return { el, update: render };
}
