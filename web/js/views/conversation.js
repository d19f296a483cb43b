/**
 * One conversation, read back and corrected: every field shown and editable (autosaved like
 * every other form), the referrals it produced with their status and note, delete with undo.
 */

import { planDeletion } from "../deletion.js";
import { field, h, mount } from "../dom.js";
import { compareText, linked, live } from "../model.js";
import { searchIndexOf } from "../search.js";
import { fillOptions, keyedRows, recordForm } from "./form.js";
import { withUndo } from "./undo.js";

const label = (value) => value.replaceAll("_", " ");
const longDate = (iso) => new Date(iso).toLocaleString([], {
  weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

/** A conversation's one-line title: "Lunch with Dana Ortiz". */
export function conversationTitle(records, c) {
  const person = records.get(c.fields.person_id);
  const kind = c.fields.kind ? label(c.fields.kind) : "conversation";
  const who = person && !person.deleted ? person.fields.name : "a removed person";
  return `${kind[0].toUpperCase()}${kind.slice(1)} with ${who}`;
}

/**
 * @param {import('../state.js').State} state
 * @param {string} id
 * @param {(path: string) => void} go
 */
export function conversationView(state, id, go) {
  const record = () => state.records.get(id);
  if (!record() || record().deleted || record().entity !== "conversation") {
    return { el: h("section", {}, h("h1", {}, "Not found"),
      h("p", {}, "This conversation is not on this device (yet), or was deleted. ",
        h("a", { href: "/", "data-link": true }, "Back to Today"))) };
  }
  const form = recordForm(state, "conversation", id, {
    at: {}, kind: {}, place: { placeholder: "e.g. APS March Meeting, café" },
    duration_min: { placeholder: "minutes" }, organization_id: {},
    prepared: { id: "conv-prepared" }, notes: { rows: 8 }, culture: {}, prospects: {}, projects: {},
    fit: {}, asked_for_referrals: { id: "conv-asked" }, thanked_at: {},
  });
  const c = form.controls;

  const heading = h("h1", {});
  const when = h("p", { class: "lead" });
  const back = h("a", { "data-link": true });
  const personLine = h("p", {});
  const referrals = h("ul", { class: "list", "aria-label": "Referrals from this conversation" });
  const rows = new Map();

  // Changing who it was with: a search, like capture's.
  const who = h("input", { type: "search", autocomplete: "off", "aria-label": "Who it was with",
    placeholder: "Search people" });
  const picks = h("ul", { class: "list picks", "aria-label": "Matching people" });
  const changer = h("div", { hidden: true }, who, picks);
  who.addEventListener("input", () => {
    const found = searchIndexOf(state).searchPeople(who.value, 8).map((pid) => state.records.get(pid));
    picks.replaceChildren(...found.map((p) => h("li", {},
      h("button", { type: "button", class: "pick", onclick: () => {
        state.set("conversation", id, { person_id: p.id });
        changer.hidden = true;
        who.value = "";
        picks.replaceChildren();
      } }, p.fields.name))));
  });
  const change = h("button", { type: "button", class: "small" }, "Change person");
  change.addEventListener("click", () => {
    changer.hidden = !changer.hidden;
    if (!changer.hidden) who.focus();
  });

  const remove = h("button", { type: "button", class: "danger" }, "Delete conversation");
  remove.addEventListener("click", () => {
    const personId = record().fields.person_id;
    const plan = planDeletion(state.records, "conversation", id, (rid) => state.base(rid));
    const here = location.pathname;
    withUndo(state, `Deleted: ${conversationTitle(state.records, record())}`, plan.mutations,
      { onUndo: () => go(here) });
    go(personId ? `/people/${personId}` : "/");
  });

  function update() {
    const current = record();
    if (!current || current.deleted) return;
    const person = state.records.get(current.fields.person_id);
    const gone = !person || person.deleted;
    heading.textContent = conversationTitle(state.records, current);
    const future = current.fields.at && current.fields.at > new Date().toISOString();
    when.textContent = current.fields.at
      ? `${future ? "Scheduled for" : "On"} ${longDate(current.fields.at)}${current.fields.place ? ` · ${current.fields.place}` : ""}`
      : "No date yet";
    back.textContent = gone ? "← Today" : `← ${person.fields.name}`;
    back.setAttribute("href", gone ? "/" : `/people/${person.id}`);
    personLine.replaceChildren("With ", gone ? h("span", { class: "removed" }, "a removed person")
      : h("a", { href: `/people/${person.id}`, "data-link": true }, person.fields.name), " ", change);
    const orgs = live(state.records, "organization").sort((a, b) => compareText(a.fields.name, b.fields.name));
    fillOptions(c.organization_id, orgs, current.fields.organization_id);
    form.fill();

    const refs = linked(state.records, "referral", "conversation_id", id);
    keyedRows(referrals, rows, refs.map((r) => ({ key: r.id, r })), ({ r }) => referralRow(state, r),
      h("li", { class: "empty" }, "No names from this conversation."));
  }
  update();
  const el = h("section", { class: "conversation" },
    h("p", {}, back),
    heading, when, personLine, changer,
    h("form", { class: "card", onsubmit: (e) => e.preventDefault(), "aria-label": "Conversation" },
      h("div", { class: "grid2" }, field("When", c.at), field("Kind", c.kind)),
      h("div", { class: "grid2" }, field("Place", c.place), field("Duration (minutes)", c.duration_min)),
      field("Organization", c.organization_id),
      field("Notes", c.notes, "Saved on this device as you type; synced when online."),
      field("Culture: what is it like to work there?", c.culture),
      field("Business prospects over the next couple of years", c.prospects),
      field("Upcoming projects", c.projects),
      h("div", { class: "grid2" }, field("Fit for you", c.fit), field("Thanked on", c.thanked_at)),
      h("div", { class: "field check" }, c.prepared, h("label", { for: "conv-prepared" }, "Did my homework before it")),
      h("div", { class: "field check" }, c.asked_for_referrals,
        h("label", { for: "conv-asked" }, "Asked who else I should talk to"))),
    h("h2", {}, "Who else to talk to"), referrals,
    remove);
  return { el, update };
}

/**
 * A referral with its status and note, editable in place (also used on the person page).
 * `from`: show who gave the name rather than who was named.
 * @returns {{el: HTMLElement, fill: () => void}}
 */
export function referralRow(state, r, { from = false } = {}) {
  const otherId = () => (from ? state.records.get(r.id)?.fields.from_person_id : state.records.get(r.id)?.fields.to_person_id);
  const form = recordForm(state, "referral", r.id, {
    status: { "aria-label": "Referral status" },
    note: { rows: 1, placeholder: "Note, e.g. introduced by email", "aria-label": "Referral note" },
  });
  const who = h("span", { class: "who" });
  const el = h("li", { class: "row referral" }, who, h("span", { class: "referral-edit" },
    form.controls.status, form.controls.note));
  function fill() {
    const other = state.records.get(otherId());
    const gone = !other || other.deleted;
    const name = gone ? "removed person" : other.fields.name;
    mount(who, gone ? h("span", { class: "removed" }, "removed person")
      : h("a", { href: `/people/${other.id}`, "data-link": true }, other.fields.name),
    !gone && other.fields.title ? h("span", { class: "row-sub" }, ` · ${other.fields.title}`) : null);
    form.controls.status.setAttribute("aria-label", `Referral status: ${name}`);
    form.controls.note.setAttribute("aria-label", `Referral note: ${name}`);
    form.fill();
  }
  fill();
  return { el, fill };
}
