/**
 * A person, organization or conversation opened by its address while the records are still
 * being read (a page left open, a reload, Back, a link): the record itself is read from
 * IndexedDB by its id and drawn at once (name, title, organization; a conversation's notes),
 * the rest of its page (conversations, follow-ups, referrals, the referral path) is said to be
 * on its way. The app draws the whole page when the load ends.
 */

import { conversationTitle } from "../capture.js";
import { formatDateTime } from "../dates.js";
import { h } from "../dom.js";
import { fillTimeline } from "./person.js";

const ENTITY = { people: "person", organizations: "organization", conversations: "conversation" };
const PATH = Object.fromEntries(Object.entries(ENTITY).map(([path, entity]) => [entity, path]));
const HOPS = 5; // a merged record's survivor: a few links at most
const SLICE_REFRESH_MS = 300; // while the records are read, a search on screen is asked again this often

/**
 * A view that answers from the records read so far (Search, People at a start): `refresh` it
 * as more are read, at most every SLICE_REFRESH_MS, while it is on screen. Returns `follow`,
 * for each render: it listens while the load runs, and stops once it has ended.
 * @param {import('../state.js').State} state
 * @param {() => Element} view the view's element (made after its render is)
 * @param {() => void} refresh
 */
export function refreshWhileOpening(state, view, refresh) {
  let timer = null;
  const onSlice = () => {
    if (!view().isConnected || !state.loading) {
      state.removeEventListener("slice", onSlice);
      return;
    }
    timer ??= setTimeout(() => {
      timer = null;
      if (view().isConnected) refresh();
    }, SLICE_REFRESH_MS);
  };
  return () => {
    if (state.loading) state.addEventListener("slice", onSlice); // (once: the same listener)
    else state.removeEventListener("slice", onSlice);
  };
}

/** The record page a path is, or null: {entity, id}. */
export function recordPath(path) {
  const match = /^\/(people|organizations|conversations)\/([^/]+)$/.exec(path);
  return match ? { entity: ENTITY[match[1]], id: match[2] } : null;
}

/**
 * @param {import('../state.js').State} state
 * @param {{entity: string, id: string}} wanted
 * @param {{full?: ((id: string) => {el: Element, update?: (changes?: object) => void}) | null}} [options]
 *   `full`: a conversation's whole page, drawn in place as soon as the conversation, its person
 *   and its organization are read, to be read back and corrected at once (its referrals and
 *   follow-ups fill in when the load ends; what needs every record waits for them).
 * @returns {{el: Element, full: () => {el: Element, update?: (changes?: object) => void} | null}}
 */
export function openingView(state, { entity, id }, { full = null } = {}) {
  let drawn = null; // the whole page, once `full` drew it
  const heading = h("h1", {}, "Opening your network…");
  const lead = h("p", { class: "lead" });
  const body = h("div", {});
  const rest = h("p", { class: "empty opening" });
  const el = h("section", { class: "opening", "aria-busy": "true" }, heading, lead, body, rest);

  const shown = async (rid) => {
    await state.early([rid]);
    return state.records.get(rid);
  };
  (async () => {
    let record = await shown(id);
    for (let hop = 0; hop < HOPS && record?.deleted && record.fields.merged_into; hop++) {
      record = await shown(record.fields.merged_into); // merged here or elsewhere: the one kept
    }
    // Perhaps not there at all: the whole page, when it draws, says so.
    if (!record || record.deleted || record.entity !== entity || !el.isConnected) return;
    if (record.id !== id && location.pathname === `/${PATH[entity]}/${id}`) {
      // The address of the one kept, as the whole page would have it (see app.js mergedPath).
      history.replaceState(history.state, "", `/${PATH[entity]}/${record.id}`);
    }
    const f = record.fields;
    if (entity === "person") {
      const org = await shown(f.organization_id);
      if (!el.isConnected) return; // the whole page is drawn already
      heading.textContent = f.name;
      lead.textContent = [f.title, org && !org.deleted ? org.fields.name : null].filter(Boolean).join(" · ");
      // Her conversations read so far (the one captured here today is read first: see
      // State.madeHere), each opened to its notes and on to its own page, to be corrected
      // before the rest is read. More join the list as the records are read.
      const timeline = h("ol", { class: "timeline", "aria-label": "Conversations read so far" });
      const rows = new Map();
      const talks = () => fillTimeline(state, timeline, rows, record.id);
      talks();
      const follow = refreshWhileOpening(state, () => el, talks);
      follow();
      body.replaceChildren(timeline);
      rest.textContent = "Opening your network: more conversations, follow-ups and referrals show in a moment.";
    } else if (entity === "organization") {
      if (!el.isConnected) return;
      heading.textContent = f.name;
      lead.textContent = [f.status?.replaceAll("_", " "), f.location].filter(Boolean).join(" · ");
      rest.textContent = "Opening your network: the people there and the referral path show in a moment.";
    } else {
      await Promise.all([shown(f.person_id), shown(f.organization_id)]);
      if (!el.isConnected) return;
      if (full) {
        drawn = full(record.id);
        el.replaceWith(drawn.el);
        performance.mark("grapevine:record-shown", { detail: { id: record.id } });
        return;
      }
      heading.textContent = conversationTitle(state.records, record);
      lead.textContent = [f.at ? formatDateTime(f.at) : null, f.place].filter(Boolean).join(" · ");
      body.replaceChildren(...(f.notes ? [h("p", { class: "notes" }, f.notes)] : []));
      rest.textContent = "Opening your network: its referrals and follow-ups show in a moment.";
    }
    el.removeAttribute("aria-busy");
    performance.mark("grapevine:record-shown", { detail: { id: record.id } });
  })();
  return { el, full: () => drawn };
}
