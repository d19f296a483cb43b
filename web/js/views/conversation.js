/**
 * One conversation, read back and corrected: every field shown and editable (autosaved like
 * every other form), the referrals it produced with their status and note (and more added,
 * typed as in capture), follow-ups added in one tap, delete with undo.
 */

import {
  FOLLOWUP_CHOICES, conversationTitle, parseReferrals, planFollowup, planReferrals, referredPerson,
} from "../capture.js";
import { daysBetween, formatDateTime, formatDay, isoDate } from "../dates.js";
import { planDeletion } from "../deletion.js";
import { field, h, mount, uid } from "../dom.js";
import { newId } from "../ids.js";
import { linked } from "../model.js";
import { STAGES } from "../schema.js";
import { searchIndexOf } from "../search.js";
import { conflictNotice } from "./conflicts.js";
import { keyedRows, organizationFinder, organizationSelect, recordForm } from "./form.js";
import { withUndo } from "./undo.js";

const label = (value) => value.replaceAll("_", " ");

export { conversationTitle }; // it lives with the capture plan, pure


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
  const adder = referralAdder(state, {
    personId: () => record()?.fields.person_id, conversationId: () => id,
    organizationId: () => record()?.fields.organization_id,
  });
  const followups = followupChips(state, {
    personId: () => record()?.fields.person_id, organizationId: () => record()?.fields.organization_id,
  });

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
  remove.addEventListener("click", async () => {
    // What it reaches (its referrals, follow-ups) must all be read: opened at a start, the
    // page is drawn before they are.
    await state.settled();
    if (!record() || record().deleted) return;
    const personId = record().fields.person_id;
    const plan = planDeletion(state.records, "conversation", id, (rid) => state.base(rid));
    const here = location.pathname;
    withUndo(state, `Deleted: ${conversationTitle(state.records, record())}`, plan.mutations,
      { onUndo: () => go(here) });
    go(personId ? `/people/${personId}` : "/");
  });

  const notice = conflictNotice(state, id);
  const organizations = organizationSelect(state, c.organization_id, () => record()?.fields.organization_id);
  /** @param {{ids: Set<string>|null}} [changes] */
  function update(changes) {
    const current = record();
    if (!current || current.deleted) return;
    notice.fill();
    const person = state.records.get(current.fields.person_id);
    const gone = !person || person.deleted;
    heading.textContent = conversationTitle(state.records, current);
    const future = current.fields.at && current.fields.at > new Date().toISOString();
    when.textContent = current.fields.at
      ? `${future ? "Scheduled for" : "On"} ${formatDateTime(current.fields.at)}${current.fields.place ? ` · ${current.fields.place}` : ""}`
      : "No date yet";
    back.textContent = gone ? "← Today" : `← ${person.fields.name}`;
    back.setAttribute("href", gone ? "/" : `/people/${person.id}`);
    personLine.replaceChildren("With ", gone ? h("span", { class: "removed" }, "a removed person")
      : h("a", { href: `/people/${person.id}`, "data-link": true }, person.fields.name), " ", change);
    organizations.update(changes);
    form.fill();

    const refs = linked(state.records, "referral", "conversation_id", id);
    keyedRows(referrals, rows, refs.map((r) => ({ key: r.id, r })), ({ r }) => referralRow(state, r),
      h("li", { class: "empty" }, state.loading
        ? "Opening your network: the names from this conversation show in a moment."
        : "No names from this conversation yet."));
    adder.fill();
    followups.fill();
  }
  update();
  const el = h("section", { class: "conversation" },
    h("p", {}, back),
    heading, notice.el, when, personLine, changer,
    // The notes first: this page is where a conversation is read back and corrected, and its
    // when and with whom are in the lines above already.
    h("form", { class: "card", onsubmit: (e) => e.preventDefault(), "aria-label": "Conversation" },
      field("Notes", c.notes, "Saved on this device as you type; synced when online."),
      field("Culture: what is it like to work there?", c.culture),
      field("Business prospects over the next couple of years", c.prospects),
      field("Upcoming projects", c.projects),
      h("div", { class: "grid2" }, field("When", c.at), field("Kind", c.kind)),
      h("div", { class: "grid2" }, field("Place", c.place), field("Duration (minutes)", c.duration_min)),
      field("Organization", c.organization_id), organizationFinder(state, c.organization_id),
      h("div", { class: "grid2" }, field("Fit for you", c.fit), field("Thanked on", c.thanked_at)),
      h("div", { class: "field check" }, c.prepared, h("label", { for: "conv-prepared" }, "Did my homework before it")),
      h("div", { class: "field check" }, c.asked_for_referrals,
        h("label", { for: "conv-asked" }, "Asked who else I should talk to"))),
    h("h2", {}, "Who else to talk to"), referrals, adder.el,
    h("h2", {}, "Follow-ups"), followups.el,
    remove);
  return { el, update };
}

/** The stage a referral's status means the person named has reached at least. */
const STAGE_OF_REFERRAL = { contacted: "contacted", talked: "talked" };

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
  // Contacted or talked with through this referral: the person named moves on from
  // "identified" too (as Today's "Contacted" does), so the two never contradict each other.
  form.controls.status.addEventListener("change", () => {
    const stage = STAGE_OF_REFERRAL[form.controls.status.value];
    const named = state.records.get(state.records.get(r.id)?.fields.to_person_id);
    if (!stage || !named || named.deleted) return;
    if (STAGES.indexOf(named.fields.stage ?? "identified") < STAGES.indexOf(stage)) {
      state.run([{ name: "set", entity: "person", id: named.id, fields: { stage } }]);
    }
  });
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

/** The latest conversation held with a person (not a scheduled one), or undefined. */
export function lastConversation(records, personId) {
  const now = new Date().toISOString();
  return linked(records, "conversation", "person_id", personId)
    .filter((c) => !c.fields.at || c.fields.at <= now)
    .sort((a, b) => (b.fields.at ?? "").localeCompare(a.fields.at ?? ""))[0]?.id;
}

/**
 * Names typed under "who else" that were taken as someone already known ("Ruth Castellano is
 * Dr. Ruth Castellano (Group Leader · Helios Photonics), already in your network"), which may
 * be a namesake: "Someone else" makes the name a new person and the referral theirs (and takes
 * back the title typed, if it was given to the one known).
 * @returns {{el: HTMLElement, add: (known: {entry: {name: string, title?: string|null},
 *   person: object, referralId: string, titled: boolean}, named: {organizationId: string|null,
 *   metName: string}, created?: (id: string) => void) => void}}
 */
export function knownNames(state) {
  const el = h("ul", { class: "list known-names", "aria-label": "Names already in your network", hidden: true });
  function add({ entry, person, referralId, titled }, { organizationId, metName }, created) {
    const org = state.records.get(person.fields.organization_id);
    const about = [person.fields.title, org && !org.deleted ? org.fields.name : null].filter(Boolean).join(" · ");
    const other = h("button", { type: "button", class: "small" }, "Someone else");
    const item = h("li", { class: "row" }, h("span", {},
      `${entry.name}: ${person.fields.name}${about ? ` (${about})` : ""}, already in your network. `), other);
    other.addEventListener("click", async () => {
      const id = newId();
      created?.(id);
      item.replaceChildren(`${entry.name}: someone new, referred by ${metName}.`);
      await state.run([
        { name: "set", entity: "person", id, fields: referredPerson(entry, { organizationId, metName }) },
        { name: "set", entity: "referral", id: referralId, fields: { to_person_id: id } },
        ...(titled ? [{ name: "set", entity: "person", id: person.id, fields: { title: null } }] : []),
      ]);
    });
    el.append(item);
    el.hidden = false;
  }
  return { el, add };
}

/**
 * "Who else should I talk to?" after the fact: names typed as in capture ("Name, role",
 * "Name (role)"…; several separated by semicolons) become people (or the known person of that
 * name) and referrals from the person met, at the organization unless unticked.
 * Every option is a function: the page's record may change while it is open. Without a
 * conversation, the referral comes from the last one held with the person (if any).
 * @param {{personId: () => string, conversationId?: () => string|null, organizationId: () => string|null}} from
 * @returns {{el: HTMLElement, fill: () => void}}
 */
export function referralAdder(state, { personId, conversationId, organizationId }) {
  const input = h("input", { autocomplete: "off", enterkeyhint: "done", placeholder: "Name, role" });
  const inherit = h("input", { type: "checkbox", id: uid("inherit"), checked: true });
  const inheritLabel = h("label", { for: inherit.id });
  const inheritField = h("div", { class: "field check", hidden: true }, inherit, inheritLabel);
  const known = knownNames(state);
  const waiting = h("p", { class: "hint", role: "status", hidden: true });
  const el = h("form", { class: "add-referral" },
    field("Add someone they suggested", input, "\"Name\", \"Name, role\" or \"Name (role)\"; several separated by \";\"."),
    known.el, waiting, inheritField, h("button", { type: "submit", class: "small" }, "Add referral"));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const names = parseReferrals(input.value);
    if (names.length === 0) return;
    input.value = "";
    // A name is someone already known or someone new: that needs every person read.
    if (state.loading) {
      waiting.textContent = `Adding ${names.map((n) => n.name).join(", ")} once your network is open…`;
      waiting.hidden = false;
      await state.settled();
      waiting.hidden = true;
    }
    const from = state.records.get(personId());
    if (!from || from.deleted) return;
    const org = state.records.get(organizationId());
    const talk = state.records.get(conversationId ? conversationId() : lastConversation(state.records, from.id));
    const named = { organizationId: inherit.checked && org && !org.deleted ? org.id : null, metName: from.fields.name };
    const taken = [];
    const mutations = planReferrals(state.records, {
      personId: from.id, conversationId: talk && !talk.deleted ? talk.id : null, ...named, names,
    }, { newId, base: (rid) => state.base(rid),
      known: (entry, person, referralId, titled) => taken.push({ entry, person, referralId, titled }) });
    if (talk && !talk.deleted && talk.fields.asked_for_referrals !== true) {
      mutations.push({ name: "set", entity: "conversation", id: talk.id, fields: { asked_for_referrals: true } });
    }
    await state.run(mutations);
    for (const k of taken) known.add(k, named);
  });
  function fill() {
    const org = state.records.get(organizationId());
    inheritField.hidden = !org || org.deleted;
    if (org && !org.deleted) inheritLabel.textContent = `People they name work at ${org.fields.name} too`;
  }
  fill();
  return { el, fill };
}

/**
 * The person's open follow-ups and capture's one-tap chips to add one (a chip already open is
 * shown pressed, not added twice).
 * @param {{personId: () => string, organizationId: () => string|null}} of
 * @returns {{el: HTMLElement, fill: () => void}}
 */
function followupChips(state, { personId, organizationId }) {
  const open = h("ul", { class: "list", "aria-label": "Open follow-ups" });
  const chips = h("div", { class: "chips", role: "group", "aria-label": "Add a follow-up" });
  const noteOf = (key) => `${FOLLOWUP_CHOICES[key].note}: ${state.records.get(personId())?.fields.name ?? ""}`;
  const pending = () => linked(state.records, "followup", "person_id", personId()).filter((f) => !f.fields.done_at);
  for (const key of Object.keys(FOLLOWUP_CHOICES)) {
    const chip = h("button", { type: "button", class: "chip", "aria-pressed": "false", "data-key": key },
      FOLLOWUP_CHOICES[key].label);
    chip.addEventListener("click", async () => {
      await state.settled(); // an open follow-up not read yet is pressed, not added twice
      fill();
      const person = state.records.get(personId());
      if (!person || person.deleted || chip.getAttribute("aria-pressed") === "true") return;
      const plan = planFollowup({ personId: person.id, organizationId: organizationId() ?? null,
        metName: person.fields.name, key }, { newId, today: isoDate(new Date()) });
      chip.setAttribute("aria-pressed", "true");
      await state.run([plan.mutation]);
    });
    chips.append(chip);
  }
  function fill() {
    const fus = pending().sort((a, b) => (a.fields.due ?? "").localeCompare(b.fields.due ?? ""));
    open.replaceChildren(...(fus.length ? fus.map((f) => h("li", { class: "row" },
      h("span", { class: "row-title" }, f.fields.note ?? label(f.fields.kind ?? "follow up")),
      h("span", { class: "row-sub" }, ` · due ${formatDay(f.fields.due)}`)))
      : [h("li", { class: "empty" }, state.loading ? "Opening your network: follow-ups show in a moment."
        : "No open follow-ups.")]));
    // Two chips write the same note ("Follow up: Dana", next week or in 3 months): an open
    // follow-up presses the one whose due date it is nearest, never both.
    const today = isoDate(new Date());
    const pressed = new Set();
    for (const f of fus) {
      const alike = Object.keys(FOLLOWUP_CHOICES).filter((key) => noteOf(key) === f.fields.note);
      const off = (key) => Math.abs(daysBetween(FOLLOWUP_CHOICES[key].due(today), f.fields.due ?? today));
      if (alike.length) pressed.add(alike.reduce((a, b) => (off(b) < off(a) ? b : a)));
    }
    for (const chip of chips.children) chip.setAttribute("aria-pressed", String(pressed.has(chip.dataset.key)));
  }
  fill();
  return { el: h("div", { class: "conversation-followups" }, open, chips), fill };
}
