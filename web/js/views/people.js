/**
 * People: search first, filters by stage, organization, tag and how found; adding someone is
 * its own action ("Add person" opens a small form) and warns of a namesake before creating.
 */

import { nameKey } from "../capture.js";
import { formatDay } from "../dates.js";
import { field, h, mount } from "../dom.js";
import { newId } from "../ids.js";
import { live } from "../model.js";
import { FOUND_VIA, STAGES } from "../schema.js";
import { searchIndexOf } from "../search.js";
import { queryInAddress, wide } from "../shell.js";
import { byName, incrementalList } from "./list.js";
import { refreshWhileOpening } from "./opening.js";
import { recordTable } from "./table.js";

const label = (v) => v.replaceAll("_", " ");
const ADDRESS_MS = 300; // the query is written to the address once typing pauses this long
// One entry per person record and organization name: the sort name computed once.
const entries = new WeakMap();
function entry(p, org) {
  const hit = entries.get(p);
  if (hit && hit.org === org) return hit;
  const made = { p, org, name: p.fields.name ?? "" };
  entries.set(p, made);
  return made;
}

/**
 * @param {import('../state.js').State} state
 * @param {(path: string, options?: {keepQuery?: boolean}) => void} go
 */
export function peopleView(state, go) {
  const search = h("input", {
    type: "search", id: "people-search", placeholder: "Search people", autocomplete: "off",
    "aria-label": "Search people", value: new URLSearchParams(location.search).get("q") ?? "",
  });
  const select = (name, first) => h("select", { "aria-label": name }, h("option", { value: "" }, first));
  const stage = select("Filter by stage", "Any stage");
  stage.append(...STAGES.map((s) => h("option", { value: s }, label(s))));
  const org = select("Filter by organization", "Any organization");
  const tag = select("Filter by tag", "Any tag");
  const via = select("Filter by how found", "Found any way");
  via.append(...FOUND_VIA.map((s) => h("option", { value: s }, label(s))));
  const list = h("ul", { class: "list", "aria-label": "People" });
  // Adding someone: a button, then a small form; a namesake is shown before anyone is made.
  const newName = h("input", { id: "new-person", autocomplete: "off", required: true });
  const namesake = h("div", { class: "namesake", role: "alert", hidden: true });
  const cancel = h("button", { type: "button" }, "Cancel");
  const add = h("form", { class: "add-person card", hidden: true, "aria-label": "Add a person" },
    field("New person's name", newName, "Met them in a conversation? Capture it instead: it adds them too."),
    namesake,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add"), cancel,
      h("a", { href: "/capture", "data-link": true }, "Capture a conversation")));
  const open = h("button", { type: "button", class: "add-person-open", "aria-expanded": "false" }, "Add person");
  const showAdd = (shown) => {
    add.hidden = !shown;
    open.setAttribute("aria-expanded", String(shown));
    namesake.hidden = true;
    if (shown) newName.focus();
    else open.focus();
  };
  open.addEventListener("click", () => showAdd(add.hidden));
  cancel.addEventListener("click", () => showAdd(false));
  async function create(name) {
    const id = newId();
    await state.set("person", id, { name, stage: "identified" });
    go(`/people/${id}`);
  }
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = newName.value.trim();
    if (!name) return;
    if (state.loading) {
      // A namesake not read yet would be missed: the check waits for every name.
      namesake.hidden = false;
      namesake.textContent = "Looking for someone of that name as your network opens…";
      await state.settled();
      namesake.hidden = true;
    }
    const same = live(state.records, "person").filter((p) => nameKey(p.fields.name ?? "") === nameKey(name));
    if (same.length === 0 || (!namesake.hidden && namesake.dataset.name === name)) return create(name);
    namesake.dataset.name = name;
    mount(namesake,
      h("p", {}, ...same.flatMap((p, i) => [i ? ", " : null,
        h("a", { href: `/people/${p.id}`, "data-link": true }, p.fields.name)]),
      same.length === 1 ? " is already in your network." : " are already in your network."),
      h("button", { type: "button", onclick: () => create(name) }, `Add another ${name}`));
    namesake.hidden = false;
  });

  // A desktop shows a sortable table; a phone, rows to tap.
  const table = wide.matches ? peopleTable(state) : null;
  // Opened while the records are still being read (the app just started): a search answers
  // from the people read so far (and those made on this device), asked again as more come;
  // the whole list, filters and the table wait for the rest.
  const opening = h("p", { class: "hint", role: "status", hidden: true });
  const followLoad = refreshWhileOpening(state, () => el, () => filter());

  function refillChoices() {
    const orgs = live(state.records, "organization").sort((a, b) => byName(a.fields.name, b.fields.name));
    const keepOrg = org.value;
    org.replaceChildren(h("option", { value: "" }, "Any organization"), ...orgs.map((o) => h("option", { value: o.id }, o.fields.name)));
    org.value = keepOrg;
    const tags = [...new Set(live(state.records, "person").flatMap((p) => p.fields.tags ?? []))].sort();
    const keepTag = tag.value;
    tag.replaceChildren(h("option", { value: "" }, "Any tag"), ...tags.map((t) => h("option", { value: t }, t)));
    tag.value = keepTag;
  }

  // A row: a link with two lines of text. A new search rewrites the rows it replaces in place
  // (their address and two texts) instead of building new ones.
  const title = (p) => `${p.fields.name ?? ""}${p.fields.hiring_authority ? " ★" : ""}`;
  const sub = (p, o) => [p.fields.title, o, p.fields.stage && label(p.fields.stage)].filter(Boolean).join(" · ") || " ";
  const rows = incrementalList({
    el: list,
    rowHeight: 56, // .row's min-height
    key: (entry) => entry.p.id,
    row: ({ p, org: o }) => h("li", {}, h("a", { href: `/people/${p.id}`, "data-link": true, "data-record": true, class: "row" },
      h("span", { class: "row-title" }, title(p)), h("span", { class: "row-sub" }, sub(p, o)))),
    fill: (li, { p, org: o }) => {
      const a = li.firstChild;
      const href = `/people/${p.id}`;
      a.setAttribute("href", href);
      if (href === location.pathname) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
      a.firstChild.textContent = title(p);
      a.lastChild.textContent = sub(p, o);
    },
  });

  // Everyone, sorted by name: kept until a person or an organization changes, so a keystroke
  // only asks the search index (case and accents ignored; names, titles, organizations, tags,
  // places, notes and conversations) and filters.
  let everyone = null;
  let byId = null;
  function sortedPeople() {
    if (everyone) return everyone;
    const orgs = new Map();
    for (const o of live(state.records, "organization")) orgs.set(o.id, o.fields.name ?? "");
    everyone = live(state.records, "person").map((p) => entry(p, orgs.get(p.fields.organization_id) ?? ""));
    everyone.sort((a, b) => byName(a.name, b.name));
    byId = new Map(everyone.map((e) => [e.p.id, e]));
    return everyone;
  }

  function filter(fromTop = false) {
    const query = search.value.trim();
    const filtered = stage.value || org.value || tag.value || via.value;
    followLoad();
    opening.hidden = !state.loading;
    if (state.loading) {
      opening.textContent = query ? "Still opening your network: more may be found as it is read."
        : "Opening your network… Search to find someone now.";
      if (!query) {
        (table ?? rows).set([], null, { fromTop });
        return;
      }
    }
    let people = state.loading ? [] : sortedPeople();
    if (query) {
      const index = searchIndexOf(state);
      // Asked again while the index warms, as the words of notes arrive in it.
      index.whileWarming(refresh);
      // Read as far as the rows drawn (a keystroke ranks a screenful, not everyone), unless
      // filters or the desktop's sortable table need them all.
      people = entriesOf(index.findPeople(query));
      if (filtered || table) people = people.slice();
    }
    if (filtered) people = people.filter(({ p }) =>
      (!stage.value || p.fields.stage === stage.value) &&
      (!org.value || p.fields.organization_id === org.value) &&
      (!tag.value || (p.fields.tags ?? []).includes(tag.value)) &&
      (!via.value || p.fields.found_via === via.value));
    const empty = query || filtered ? "Nobody matches." : "Nobody yet: add the first person you want to talk to.";
    if (table) table.set(people, empty, { fromTop });
    else rows.set(people, empty, { fromTop });
  }

  /** The people found (ids, ranked as read) as the list's entries, read as far as asked. */
  function entriesOf(found) {
    if (!state.loading) sortedPeople(); // (byId with it)
    const list = state.loading ? null : byId;
    // While the records are read, an entry is made for each person shown (not for everyone).
    const one = (id) => {
      if (list) return list.get(id);
      const p = state.records.get(id);
      return p && entry(p, state.records.get(p.fields.organization_id)?.fields.name ?? "");
    };
    return {
      get length() {
        return found.length;
      },
      slice(start = 0, end = found.length) {
        const out = [];
        for (const id of found.slice(start, end)) {
          const shown = one(id);
          if (shown) out.push(shown);
        }
        return out;
      },
    };
  }

  /** A search on screen, asked again (the index learnt more words): rows in place stay. */
  function refresh() {
    if (!el.isConnected) return false;
    if (search.value.trim()) filter();
    return true;
  }

  /** @param {{entities: Set<string>|null}} [changes] what changed since the last render */
  function render(changes) {
    const ours = !changes?.entities || changes.entities.has("person") || changes.entities.has("organization") ||
      (table && changes.entities.has("conversation")); // the table shows when you last talked
    if (!ours) return;
    everyone = null;
    if (!state.loading) refillChoices();
    filter();
  }
  const filterNow = () => filter(true);
  // The query lives in the address (ADDRESS_MS after the typing pauses).
  const address = queryInAddress("/people", () => el.isConnected, ADDRESS_MS);
  search.addEventListener("input", () => {
    address.typed(search.value);
    filterNow();
  });
  // Enter opens the first match: search, then straight to the person.
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const first = el.querySelector("a[data-record]");
    if (!first) return;
    event.preventDefault();
    address.write();
    go(first.getAttribute("href"), { keepQuery: true });
  });
  for (const control of [stage, org, tag, via]) control.addEventListener("change", filterNow);
  render();
  const el = h("section", {}, h("h1", {}, "People"), search, opening,
    h("div", { class: "filters" }, stage, org, tag, via),
    h("div", { class: "list-actions" }, open,
      h("a", { href: "/duplicates", "data-link": true, class: "duplicates-link" }, "Possible duplicates")),
    add,
    table ? table.el : list);
  return { el, update: render };
}

/** The desktop's table of people: name, where, stage, when you last talked, title. */
function peopleTable(state) {
  let lastTalked = new Map();
  const table = recordTable({
    label: "People",
    key: ({ p }) => p.id,
    href: ({ p }) => `/people/${p.id}`,
    columns: [
      { key: "name", label: "Name", value: ({ name }) => name,
        cell: ({ p }) => [p.fields.name, p.fields.hiring_authority ? h("span", { title: "Has hiring authority" }, " ★") : null] },
      { key: "org", label: "Organization", class: "col-more", value: ({ org }) => org },
      { key: "stage", label: "Stage", class: "col-more", value: ({ p }) => STAGES.indexOf(p.fields.stage) + 1 || null,
        cell: ({ p }) => (p.fields.stage ? label(p.fields.stage) : "") },
      { key: "talked", label: "Last talked", class: "col-extra", value: ({ p }) => lastTalked.get(p.id) ?? null,
        cell: ({ p }) => formatDay(lastTalked.get(p.id)) },
      { key: "title", label: "Title", class: "col-extra", value: ({ p }) => p.fields.title },
    ],
  });
  return {
    el: table.el,
    set(people, empty, options) {
      lastTalked = new Map();
      for (const c of live(state.records, "conversation")) {
        const at = c.fields.at ?? "";
        if (at > (lastTalked.get(c.fields.person_id) ?? "")) lastTalked.set(c.fields.person_id, at);
      }
      table.set(people, empty, options);
    },
  };
}
