/**
 * Search everything: people (by name, title, organization, tags, places, notes and what was
 * said in conversations) and organizations, case and accents ignored, offline, from an index
 * kept up to date per changed record. The box is the header's (one box, searching as you
 * type); the query lives in the address: Back finds it again. Each person found by something
 * other than their name says where, with the words around it.
 */

import { formatDay } from "../dates.js";
import { h } from "../dom.js";
import { linked } from "../model.js";
import { normalize, searchIndexOf, terms } from "../search.js";
import { incrementalList } from "./list.js";
import { refreshWhileOpening } from "./opening.js";

const LIMIT = 50;

const DEBOUNCE_MS = 250;
// While the records are read at a start, found rows are redrawn at most this often.

/**
 * The search box in the header: results show as you type (on the search page, after a pause
 * in typing), Enter shows them at once. Its query is the search page's: anywhere else the
 * box is empty again.
 * @param {(path: string, options?: {replace?: boolean, focus?: boolean}) => void} go
 */
export function globalSearchBox(go) {
  const input = h("input", { type: "search", name: "q", autocomplete: "off", placeholder: "Search",
    "aria-label": "Search everything", enterkeyhint: "search" });
  const form = h("form", { class: "global-search", role: "search", action: "/search" }, input);
  let timer = null;
  const show = () => {
    clearTimeout(timer);
    const q = input.value.trim();
    const path = q ? `/search?q=${encodeURIComponent(q)}` : "/search";
    if (`${location.pathname}${location.search}` === path) return;
    // Typing on the search page refines it (one history entry); from elsewhere, it opens it.
    go(path, { replace: location.pathname === "/search", focus: false });
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(show, DEBOUNCE_MS);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  /** After a navigation: the search page's query in the box, or an empty box elsewhere. */
  function follow() {
    if (location.pathname === "/search") {
      if (document.activeElement !== input) input.value = new URLSearchParams(location.search).get("q") ?? "";
    } else if (document.activeElement !== input) {
      clearTimeout(timer);
      input.value = "";
    }
  }
  return { el: form, input, follow };
}

/** Where `words` first occur in `text`, as {before, match, after} around it, or null. */
export function snippet(text, words, width = 60) {
  if (!text || words.length === 0) return null;
  // Normalized character by character, each mapped back to where it came from.
  let norm = "";
  const from = [];
  let i = 0;
  for (const ch of String(text)) {
    const n = /\s/.test(ch) ? " " : normalize(ch);
    for (let k = 0; k < n.length; k++) from.push(i);
    norm += n;
    i += ch.length;
  }
  from.push(i);
  let best = null;
  for (const word of words) {
    const re = new RegExp(`(^|[^\\p{L}\\p{N}])${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`, "u");
    const m = re.exec(norm);
    if (m && (!best || m.index + m[1].length < best.at)) best = { at: m.index + m[1].length, length: word.length };
  }
  if (!best) return null;
  const start = from[best.at];
  const end = from[best.at + best.length];
  const raw = String(text);
  let a = Math.max(0, start - width);
  let b = Math.min(raw.length, end + width);
  if (a > 0) a = raw.indexOf(" ", a) + 1 || a; // whole words
  if (b < raw.length) b = raw.lastIndexOf(" ", b) > end ? raw.lastIndexOf(" ", b) : b;
  const flat = (t) => t.replace(/\s+/g, " ");
  return {
    before: (a > 0 ? "…" : "") + flat(raw.slice(a, start)),
    match: flat(raw.slice(start, end)),
    after: flat(raw.slice(end, b)) + (b < raw.length ? "…" : ""),
  };
}

const FIELD_NAMES = {
  title: "title", department: "department", found_via_detail: "found via", notes: "notes",
  linkedin_url: "LinkedIn", place: "place", culture: "culture", prospects: "prospects", projects: "projects",
};

/**
 * Why a person was found, when it is not their name: the first field (theirs, then their
 * conversations', newest first) holding a word of the query, with the words around it.
 */
function whyFound(state, person, words) {
  const own = ["title", "department", "found_via_detail", "notes", "linkedin_url"];
  const tags = (person.fields.tags ?? []).join(", ");
  if (words.every((w) => normalize(person.fields.name).includes(w))) return null;
  for (const name of own) {
    const found = snippet(person.fields[name], words);
    if (found) return { where: FIELD_NAMES[name], ...found };
  }
  const tagHit = snippet(tags, words);
  if (tagHit) return { where: "tags", ...tagHit };
  const talks = linked(state.records, "conversation", "person_id", person.id)
    .sort((a, b) => (b.fields.at ?? "").localeCompare(a.fields.at ?? ""));
  for (const talk of talks) {
    for (const name of ["notes", "place", "culture", "prospects", "projects"]) {
      const found = snippet(talk.fields[name], words);
      if (found) {
        const kind = talk.fields.kind ? talk.fields.kind.replaceAll("_", " ") : "conversation";
        return { where: `${kind}${talk.fields.at ? `, ${formatDay(talk.fields.at)}` : ""}`, ...found };
      }
    }
  }
  return null;
}

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 */
export function searchView(state, go) {
  const query = () => new URLSearchParams(location.search).get("q") ?? "";
  const people = h("ul", { class: "list", "aria-label": "People found" });
  const orgs = h("ul", { class: "list", "aria-label": "Organizations found" });
  const count = h("p", { class: "hint", "aria-live": "polite" });
  // At a start the records are read in slices for a few seconds (a 10,000-person network on
  // a slow phone): the search answers from those read so far, and says so.
  const opening = h("p", { class: "hint", hidden: true },
    "Still opening your network: more may be found as it is read.");
  const followLoad = refreshWhileOpening(state, () => el, () => render());
  // Rows are kept while what they show is unchanged (asked again as the index warms, a row
  // in focus stays); a new row says why its person was found only when it is drawn.
  const peopleRows = incrementalList({
    el: people, batch: LIMIT, rowHeight: 56, key: (found) => found.p.id,
    same: (a, b) => a.p === b.p && a.org === b.org && a.q === b.q,
    row: ({ p, org, q, words }) => {
      const why = whyFound(state, p, words);
      // The query goes along: a desktop's People list beside the person shows what was found,
      // their row among it (the whole list from A, 50 rows at a time, did not reach them).
      const href = `/people/${p.id}?q=${encodeURIComponent(q)}`;
      return h("li", {}, h("a", { href, "data-link": true, class: "row" },
        h("span", { class: "row-title" }, p.fields.name),
        h("span", { class: "row-sub" }, [p.fields.title, org && !org.deleted ? org.fields.name : null].filter(Boolean).join(" · ") || " "),
        why ? h("span", { class: "row-sub why" }, `${why.where}: `, why.before, h("mark", {}, why.match), why.after) : null));
    },
  });
  const orgRows = incrementalList({
    el: orgs, batch: LIMIT, first: LIMIT, key: (found) => found.o.id,
    same: (a, b) => a.o === b.o && a.q === b.q,
    // (The query goes along, as a person's does.)
    row: ({ o, q }) => h("li", {}, h("a", { href: `/organizations/${o.id}?q=${encodeURIComponent(q)}`,
      "data-link": true, class: "row" }, h("span", { class: "row-title" }, o.fields.name))),
  });

  /**
   * @param {object} [changes] records changed (rows redrawn), or none (the same records)
   * @param {boolean} [fromTop] a new search: a screenful of rows at once, the rest after a paint
   */
  function render(changes, fromTop = false) {
    const q = query().trim();
    opening.hidden = !(q && state.loading);
    followLoad();
    const index = searchIndexOf(state);
    if (q) index.whileWarming(refresh);
    const foundPeople = q ? index.findPeople(q) : { length: 0, slice: () => [] };
    const foundOrgs = q ? index.searchOrganizations(q) : [];
    const words = terms(q);
    const shown = foundPeople.slice(0, LIMIT).map((id) => {
      const p = state.records.get(id);
      return { p, org: state.records.get(p.fields.organization_id), q, words };
    });
    // A section with nothing found says so (a heading over nothing looked like a page still
    // loading).
    const redraw = Boolean(changes);
    peopleRows.set(shown, q ? "Nobody matches." : null, { redraw, fromTop });
    orgRows.set(foundOrgs.slice(0, LIMIT).map((id) => ({ o: state.records.get(id), q })),
      q ? "No organization matches." : null, { redraw });
    count.textContent = q
      ? `${foundPeople.length} ${foundPeople.length === 1 ? "person" : "people"}, ${foundOrgs.length} organization${foundOrgs.length === 1 ? "" : "s"}` +
        (foundPeople.length > LIMIT ? ` (the first ${LIMIT} shown)` : "")
      : "Type in the search box above: names, titles, organizations, tags, places, notes. It works offline.";
  }

  /** Asked again as the index learns the words of notes: rows in place stay. */
  function refresh() {
    if (!el.isConnected) return false;
    render();
    return true;
  }
  render(undefined, true);
  const el = h("section", {}, h("h1", {}, "Search"), count, opening,
    h("h2", {}, "People"), people, h("h2", {}, "Organizations"), orgs);
  return { el, update: (changes) => render(changes ?? {}) };
}
