/**
 * One person: who they are and how to reach them, then the conversations (newest first, each
 * expandable to its full notes), follow-ups (editable, snoozable, addable), referrals both ways
 * with their status and note; the profile form is an "edit details" section below.
 */

import { addDays, formatDay, isoDate } from "../dates.js";
import { planDeletion } from "../deletion.js";
import { field, h, mount } from "../dom.js";
import { newId } from "../ids.js";
import { excerptOf, linked, respell } from "../model.js";
import { lastContacted, snoozeFor, stepsOf, thankedEdits } from "../nextsteps.js";
import { conflictNotice } from "./conflicts.js";
import { referralAdder, referralRow } from "./conversation.js";
import { keyedRows, organizationFinder, organizationSelect, recordForm } from "./form.js";
import { ownSteps } from "./steps.js";
import { withUndo } from "./undo.js";

const label = (value) => value.replaceAll("_", " ");
const when = formatDay;
const FOLLOWUP_KINDS = ["follow_up", "thank_you", "connect", "send_info", "other"];

/** "today", "yesterday", "12 days ago", "in 3 days" for a YYYY-MM-DD day. */
export function relativeDay(day, today) {
  const ms = Date.UTC(...day.split("-").map((n, i) => Number(n) - (i === 1 ? 1 : 0))) -
    Date.UTC(...today.split("-").map((n, i) => Number(n) - (i === 1 ? 1 : 0)));
  const d = Math.round(ms / 86_400_000);
  if (d === 0) return "today";
  if (d === -1) return "yesterday";
  if (d === 1) return "tomorrow";
  return d < 0 ? `${-d} days ago` : `in ${d} days`;
}

/**
 * A set field (emails, phones, tags) typed as a comma separated list: each item added or
 * removed as its own mutation; the item still being typed waits for the field to be left.
 */
function setInput(state, entity, id, name, attrs) {
  const input = h("input", { autocomplete: "off", ...attrs });
  async function save(finished = true) {
    const typed = finished ? input.value : input.value.slice(0, input.value.lastIndexOf(",") + 1);
    const wanted = new Set(typed.split(",").map((t) => t.trim()).filter(Boolean));
    const current = new Set(state.records.get(id)?.fields[name] ?? []);
    const changes = [
      ...[...wanted].filter((t) => !current.has(t)).map((value) => ({ name: "add", value })),
      // Removals wait until the field is left: mid-word, an item is not gone yet.
      ...(finished ? [...current].filter((t) => !wanted.has(t)).map((value) => ({ name: "remove", value })) : []),
    ];
    for (const c of changes) await state.edit(c.name, { entity, id, field: name, value: c.value });
  }
  input.addEventListener("change", () => save());
  input.addEventListener("input", () => save(false));
  // Leaving the app (switching away, locking the phone) saves the item being typed too.
  document.addEventListener("visibilitychange", () => {
    if (input.isConnected && document.visibilityState === "hidden") save();
  });
  const fill = () => {
    if (document.activeElement !== input) input.value = (state.records.get(id)?.fields[name] ?? []).join(", ");
  };
  return { el: input, fill };
}

/** A follow-up row: note, due date and kind editable; done, put off (a week; a thank-you a day). */
function followupRow(state, f) {
  const form = recordForm(state, "followup", f.id, {
    note: { "aria-label": "Follow-up note" },
    due: { "aria-label": "Due" },
  });
  const title = h("span", { class: "row-title" });
  const sub = h("span", { class: "row-sub" });
  const done = h("button", { type: "button", class: "small" }, "Done");
  done.addEventListener("click", () => {
    const now = new Date();
    const current = state.records.get(f.id);
    const pid = current?.fields.person_id;
    const thanks = current?.fields.kind === "thank_you" && pid
      ? thankedEdits(state.records.get(pid), linked(state.records, "conversation", "person_id", pid),
        { today: isoDate(now), now: now.toISOString() }) : [];
    state.run([{ name: "set", entity: "followup", id: f.id, fields: { done_at: now.toISOString() } }, ...thanks]);
  });
  const snooze = h("button", { type: "button", class: "small" });
  snooze.addEventListener("click", () => {
    const today = isoDate(new Date());
    const { due, kind } = state.records.get(f.id).fields;
    state.set("followup", f.id, { due: snoozeFor(kind, due > today ? due : today, today).due });
  });
  const reopen = h("button", { type: "button", class: "small" }, "Not done");
  reopen.addEventListener("click", () => state.set("followup", f.id, { done_at: null }));
  const edit = h("details", { class: "followup-edit" }, h("summary", {}, "Edit"),
    field("Note", form.controls.note), field("Due", form.controls.due));
  const el = h("li", { class: "row followup" }, h("span", {}, title, " ", sub),
    h("span", { class: "actions" }, done, snooze, reopen), edit);
  let drawn = null; // the record and the day last drawn
  function fill() {
    const current = state.records.get(f.id);
    if (!current) return;
    const today = isoDate(new Date());
    if (drawn?.record === current && drawn.today === today) return;
    drawn = { record: current, today };
    title.textContent = current.fields.note ?? label(current.fields.kind ?? "follow up");
    const open = !current.fields.done_at;
    sub.textContent = open ? `due ${when(current.fields.due)} (${relativeDay(current.fields.due, today)})`
      : `done ${when(current.fields.done_at)}`;
    sub.classList.toggle("overdue", open && current.fields.due < today);
    done.hidden = !open;
    const due = current.fields.due;
    snooze.textContent = snoozeFor(current.fields.kind, due > today ? due : today, today).label;
    snooze.hidden = !open;
    reopen.hidden = open;
    edit.hidden = !open;
    form.fill();
  }
  fill();
  return { el, fill };
}

/**
 * A conversation on the timeline: a summary line, opened to its full notes (drawn when first
 * opened: a long timeline draws its summaries only). Refilled only when the record changed.
 */
function timelineRow(state, c) {
  const summary = h("summary", {});
  const body = h("div", { class: "talk-body" });
  const details = h("details", {}, summary, body);
  const el = h("li", { class: "card talk" }, details);
  let drawn = null; // {record, future, full}: what was drawn last (once drawn, a body is kept)
  details.addEventListener("toggle", () => {
    if (details.open && !drawn?.full) fill();
  });
  function fill() {
    const current = state.records.get(c.id);
    if (!current) return;
    const f = current.fields;
    const future = Boolean(f.at && f.at > new Date().toISOString());
    const full = details.open || drawn?.full === true;
    if (drawn?.record === current && drawn.future === future && drawn.full === full) return;
    drawn = { record: current, future, full };
    mount(summary,
      h("span", { class: "row-title" }, [when(f.at) || "No date", f.kind && label(f.kind), f.place].filter(Boolean).join(" · ")),
      future ? h("span", { class: "tag" }, " scheduled") : null,
      f.notes ? h("span", { class: "excerpt" }, excerptOf(f.notes)) : null);
    if (!full) return;
    const section = (title, text) => (text ? [h("h3", {}, title), h("p", { class: "full" }, text)] : []);
    mount(body,
      ...section("Notes", f.notes), ...section("Culture", f.culture),
      ...section("Prospects", f.prospects), ...section("Projects", f.projects),
      h("p", { class: "hint" }, [
        f.fit && `fit: ${f.fit}`,
        future ? null : f.thanked_at ? `thanked ${when(f.thanked_at)}` : "not thanked yet",
        f.asked_for_referrals ? "asked who else" : null,
      ].filter(Boolean).join(" · ")),
      h("a", { href: `/conversations/${c.id}`, "data-link": true, class: "button" },
        `Open ${f.kind ? label(f.kind) : "conversation"}`, h("span", { class: "visually-hidden" }, ` on ${when(f.at)}`)));
  }
  fill();
  return { el, fill };
}

/**
 * A person's conversations, newest first, as rows of `list` (kept in `rows` across fills):
 * her page's, and the one drawn while the records are still being read (views/opening.js).
 * @param {import('../state.js').State} state
 * @param {HTMLElement} list
 * @param {Map<string, {el: HTMLElement, fill?: () => void}>} rows
 * @param {string} personId
 * @param {HTMLElement} [empty] shown when there are none
 * @returns {object[]} the conversations
 */
export function fillTimeline(state, list, rows, personId, empty) {
  const talks = linked(state.records, "conversation", "person_id", personId)
    .sort((a, b) => (b.fields.at ?? "").localeCompare(a.fields.at ?? ""));
  keyedRows(list, rows, talks.map((c) => ({ key: c.id, c })), ({ c }) => timelineRow(state, c), empty);
  return talks;
}

/**
 * @param {import('../state.js').State} state
 * @param {string} id
 * @param {(path: string) => void} go
 */
export function personView(state, id, go) {
  const record = () => state.records.get(id);
  if (!record() || record().deleted) {
    return { el: h("section", {}, h("h1", {}, "Not found"),
      h("p", {}, "This person is not on this device (yet), or was deleted. ",
        h("a", { href: "/people", "data-link": true }, "Back to people"))) };
  }
  const form = recordForm(state, "person", id, {
    name: { required: true }, organization_id: {}, title: {}, department: {}, stage: {},
    found_via: {}, found_via_detail: { placeholder: "e.g. alumni directory, class of 2019" },
    strength: { placeholder: "0–5" }, linkedin_url: { type: "url" }, notes: { rows: 6 },
    hiring_authority: { id: "hiring" },
  });
  const inputs = form.controls;
  // A name corrected ("Kowalsky" → "Kowalski"): the open follow-ups that spell it in their note
  // ("Send a thank-you: Mira Kowalsky", as capture writes them) follow, so Today does too.
  let nameBefore = null;
  inputs.name.addEventListener("focus", () => { nameBefore = record()?.fields.name ?? null; });
  inputs.name.addEventListener("change", () => {
    // What was typed, not the record's name: the edit is applied once its outbox write is
    // done, which a blur right after typing can come before (the follow-ups were then left).
    const now = inputs.name.value.trim() ? inputs.name.value : null;
    if (!nameBefore || !now || now === nameBefore) return;
    const edits = [];
    for (const f of linked(state.records, "followup", "person_id", id)) {
      const note = f.fields.done_at ? null : respell(f.fields.note, nameBefore, now);
      if (note !== null) edits.push({ name: "set", entity: "followup", id: f.id, fields: { note } });
    }
    nameBefore = now;
    if (edits.length) state.run(edits);
  });
  const emails = setInput(state, "person", id, "emails", { type: "text", inputmode: "email", placeholder: "comma separated" });
  const phones = setInput(state, "person", id, "phones", { type: "text", inputmode: "tel", placeholder: "comma separated" });
  const tags = setInput(state, "person", id, "tags", { placeholder: "comma separated" });

  const heading = h("h1", {});
  const sub = h("p", { class: "lead" });
  const contact = h("p", { class: "contact" });
  const contacted = h("p", { class: "hint last-contacted" });
  const timeline = h("ol", { class: "timeline", "aria-label": "Conversations" });
  const given = h("ul", { class: "list", "aria-label": "Referred you to" });
  const received = h("ul", { class: "list", "aria-label": "Referred by" });
  const followups = h("ul", { class: "list", "aria-label": "Follow-ups" });
  // Today's steps for them (thank them, ask who else, contact the one they named…), with the
  // same buttons; their follow-ups due are in the list below, each with its own.
  const steps = ownSteps(state, `/people/${id}`, "Next steps with them");
  const rows = { talks: new Map(), given: new Map(), received: new Map(), followups: new Map() };
  const addReferral = referralAdder(state, { personId: () => id, organizationId: () => record()?.fields.organization_id });

  // A follow-up added by hand.
  const newNote = h("input", { autocomplete: "off", "aria-label": "New follow-up", placeholder: "e.g. Send the article we discussed" });
  const newDue = h("input", { type: "date", "aria-label": "New follow-up due", value: addDays(isoDate(new Date()), 7) });
  const addFollowup = h("form", { class: "inline-form add-followup" }, newNote, newDue,
    h("button", { type: "submit", class: "small" }, "Add follow-up"));
  addFollowup.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!newDue.value) return;
    const p = record();
    const note = newNote.value.trim();
    newNote.value = "";
    await state.set("followup", newId(), {
      person_id: id, organization_id: p.fields.organization_id, kind: note ? "other" : "follow_up",
      due: newDue.value, note: note || `Follow up: ${p.fields.name}`,
    }, 0);
  });

  const remove = h("button", { type: "button", class: "danger" }, "Delete person");
  remove.addEventListener("click", () => {
    const plan = planDeletion(state.records, "person", id, (rid) => state.base(rid));
    const name = record().fields.name;
    const here = location.pathname;
    withUndo(state, `Deleted ${name}${plan.summary ? ` (and ${plan.summary})` : ""}`, plan.mutations,
      { onUndo: () => go(here) });
    go("/people");
  });

  // What the last drawing showed: a change to none of it (nor to an organization, nor to a
  // record referring to this person) leaves the page as it is.
  let shown = new Set();
  let drawn = false; // the lists have been drawn once
  const relevant = (changes) => {
    if (!changes?.ids) return true;
    for (const changed of changes.ids) {
      if (changed === id || shown.has(changed)) return true;
      const r = state.records.get(changed);
      if (r && (r.entity === "organization" || Object.values(r.fields).includes(id))) return true;
    }
    return false;
  };

  const organizations = organizationSelect(state, inputs.organization_id, () => record()?.fields.organization_id);

  /** @param {{ids: Set<string>|null, entities: Set<string>|null}} [changes] */
  const notice = conflictNotice(state, id);
  function update(changes) {
    const current = record();
    if (!current || current.deleted || !relevant(changes)) return;
    notice.fill();
    const f = current.fields;
    heading.textContent = f.name;
    const org = state.records.get(f.organization_id);
    sub.replaceChildren(...[
      f.title, org && !org.deleted ? h("a", { href: `/organizations/${org.id}`, "data-link": true }, org.fields.name) : null,
      f.stage && label(f.stage), f.hiring_authority ? "prospective supervisor" : null,
    ].filter(Boolean).flatMap((part, i) => (i ? [" · ", part] : [part])));
    contact.replaceChildren(...[
      ...(f.emails ?? []).map((e) => h("a", { href: `mailto:${e}`, class: "button small" }, `✉ ${e}`)),
      ...(f.phones ?? []).map((p) => h("a", { href: `tel:${p.replace(/[^\d+]/g, "")}`, class: "button small" }, `☎ ${p}`)),
      f.linkedin_url && /^https?:\/\//.test(f.linkedin_url)
        ? h("a", { href: f.linkedin_url, class: "button small", rel: "noopener", target: "_blank" }, "LinkedIn") : null,
    ].filter(Boolean));
    const now = new Date();
    const last = lastContacted(state.records, id, now.toISOString());
    // With no conversation yet, the stage says how far it got (it moves on from Today too).
    contacted.textContent = last
      ? `Last contacted ${when(last)} (${relativeDay(isoDate(new Date(last)), isoDate(now))})`
      : { contacted: "Contacted: no conversation yet", scheduled: "A conversation is scheduled" }[f.stage] ??
        "Not contacted yet";

    const moment = { today: isoDate(now), now: now.toISOString() };
    steps.fill(stepsOf(state.records, "person", id, moment).filter((a) => !a.key.startsWith("followup:")));

    // The organization picker lists them all once it is used; until then, the one they are at.
    organizations.update(changes);
    form.fill();
    emails.fill();
    phones.fill();
    tags.fill();
    addReferral.fill();
    // A keystroke in the details changes only this person: the lists below stay as they are.
    if (drawn && changes?.ids?.size === 1 && changes.ids.has(id)) return;

    const talks = fillTimeline(state, timeline, rows.talks, id, h("li", { class: "empty" }, "No conversations yet."));

    const gave = linked(state.records, "referral", "from_person_id", id);
    const got = linked(state.records, "referral", "to_person_id", id);
    keyedRows(given, rows.given, gave.map((r) => ({ key: r.id, r })),
      ({ r }) => referralRow(state, r), h("li", { class: "empty" }, "Nobody yet."));
    keyedRows(received, rows.received, got.map((r) => ({ key: r.id, r })),
      ({ r }) => referralRow(state, r, { from: true }), h("li", { class: "empty" }, "Nobody: you found them yourself."));

    const fus = linked(state.records, "followup", "person_id", id)
      .sort((a, b) => Boolean(a.fields.done_at) - Boolean(b.fields.done_at) || (a.fields.due ?? "").localeCompare(b.fields.due ?? ""));
    keyedRows(followups, rows.followups, fus.map((x) => ({ key: x.id, f: x })), ({ f: x }) => followupRow(state, x),
      h("li", { class: "empty" }, "None."));
    shown = new Set([...talks, ...gave, ...got, ...fus].map((r) => r.id));
    drawn = true;
    for (const r of [...gave, ...got]) shown.add(r.fields.from_person_id).add(r.fields.to_person_id);
  }
  update();
  const details = h("details", { class: "card edit-details" }, h("summary", {}, h("h2", {}, "Edit details")),
    h("form", { onsubmit: (e) => e.preventDefault(), "aria-label": "Details" },
      field("Name", inputs.name),
      h("div", { class: "grid2" }, h("div", {}, field("Organization", inputs.organization_id),
        organizationFinder(state, inputs.organization_id)), field("Title", inputs.title)),
      h("div", { class: "grid2" }, field("Department", inputs.department), field("Stage", inputs.stage)),
      h("div", { class: "grid2" }, field("Email", emails.el), field("Phone", phones.el)),
      h("div", { class: "grid2" }, field("How you found them", inputs.found_via), field("Found via (detail)", inputs.found_via_detail)),
      h("div", { class: "grid2" }, field("Strength (0–5)", inputs.strength), field("LinkedIn", inputs.linkedin_url)),
      h("div", { class: "field check" }, inputs.hiring_authority, h("label", { for: "hiring" }, "Has hiring authority (prospective supervisor)")),
      field("Tags", tags.el),
      field("Notes", inputs.notes, "Saved on this device as you type; synced when online.")));
  // Someone just added has nothing else to show yet: their details are what to fill in.
  details.open = linked(state.records, "conversation", "person_id", id).length === 0;
  const el = h("section", { class: "person" },
    h("p", { class: "back" }, h("a", { href: "/people", "data-link": true }, "← People")),
    heading, notice.el, sub, contact, contacted,
    h("div", { class: "actions" },
      h("a", { href: `/capture/${id}`, "data-link": true, class: "button primary" }, "Log a conversation"),
      h("a", { href: `/capture/${id}?schedule=1`, "data-link": true, class: "button" }, "Schedule one")),
    steps.el,
    h("h2", {}, "Conversations"), timeline,
    h("h2", {}, "Follow-ups"), followups, addFollowup,
    h("h2", {}, "Referred you to"), given, addReferral.el,
    h("h2", {}, "Referred by"), received,
    details,
    remove);
  return { el, update };
}
