/**
 * Quick capture at a conference lunch: who (instant offline search, or a new name), then type.
 * Nothing is written until the first keystroke after picking someone; from then on everything
 * autosaves. The person can be changed and the capture discarded (with undo). A date in the
 * future schedules the conversation instead of logging it as held.
 */

import {
  FOLLOWUP_CHOICES, captureDefaults, conversationTitle, nameKey, namesakeOf, parseReferrals, parseWho, planCapture,
  planFollowup, planReferrals, searchOrganizations, stageAfter,
} from "../capture.js";
import { addDays, formatDay, isoDate } from "../dates.js";
import { field, h } from "../dom.js";
import { newId } from "../ids.js";
import { linked, live } from "../model.js";
import { CONVERSATION_KINDS } from "../schema.js";
import { searchIndexOf } from "../search.js";
import { knownNames as knownNamesList } from "./conversation.js";
import { toLocalInput } from "./form.js";
import { withUndo } from "./undo.js";

const UNFINISHED_KEY = "grapevine-unfinished-capture";
let underWay = null; // the conversation of the capture on screen (begun before the load ended)

/** Remember (or forget, with null) the capture under way: the app offers it back if closed. */
function rememberCapture(state, conversationId) {
  underWay = conversationId;
  try {
    if (conversationId) {
      localStorage.setItem(UNFINISHED_KEY, JSON.stringify({ conversationId, storeId: state.session?.store_id }));
    } else {
      localStorage.removeItem(UNFINISHED_KEY);
    }
  } catch {
    // storage unavailable: nothing to offer back
  }
}

/** The conversation of a capture left before Done or Discard (the app was closed), or null. */
export function unfinishedCapture(state) {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(UNFINISHED_KEY) ?? "null");
  } catch {
    return null;
  }
  const talk = saved && state.records.get(saved.conversationId);
  if (!talk || talk.deleted || saved.storeId !== state.session?.store_id) return null;
  return talk;
}

/**
 * What the app shows when it opens after an interrupted capture: continue it (its page has
 * every field, the referrals and the follow-ups), or say it is done.
 * @returns {HTMLElement|null}
 */
export function resumeOffer(state, go) {
  const talk = unfinishedCapture(state);
  if (!talk || talk.id === underWay || location.pathname === `/conversations/${talk.id}`) return null;
  const el = h("p", { class: "banner resume", role: "status" },
    `Unfinished capture: ${conversationTitle(state.records, talk)}, ${formatDay(talk.fields.at)}. `,
    h("button", { type: "button", class: "small primary", onclick: () => {
      rememberCapture(state, null);
      el.remove();
      go(`/conversations/${talk.id}`);
    } }, "Continue it"), " ",
    h("button", { type: "button", class: "small", onclick: () => {
      rememberCapture(state, null);
      el.remove();
    } }, "It's finished"));
  return el;
}

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 * @param {{personId?: string}} [options]
 */
export function captureView(state, go, { personId: preset } = {}) {
  const scheduling = new URLSearchParams(location.search).has("schedule");
  const ctx = () => ({
    newId, today: isoDate(new Date()), now: new Date().toISOString(),
    base: (id) => state.base(id),
  });
  let picked = null; // {personId?, name, title?, stageBefore} — chosen, nothing written yet
  let started = null; // {conversationId, personId, created: Set<string>, stageBefore}
  let organization = { id: null, name: "", isNew: false }; // chosen in the picker
  const referred = new Set(); // name keys, once created
  const chips = new Map(); // follow-up key -> followup id
  // Opened while the records are still being read (the app started on Capture): typing never
  // waits. What needs every record waits for them (a new organization, the referrals' names);
  // a new person picked meanwhile may be someone not read yet, checked when the load ends.
  let opening = state.loading;
  let unsure = false; // a new name picked while opening: its namesake may not be read yet
  let startedOpening = false; // written while opening: their open follow-ups are not all read
  let whenOpened = null; // Done waits for the load to save the referrals' names, an organization typed

  const who = h("input", { type: "search", id: "capture-who", autocomplete: "off",
    placeholder: "Name, or organization", "aria-describedby": "who-hint" });
  const whoField = field("Who did you talk with?", who);
  const HINT = "Pick someone you know, or type a new name.";
  const whoHint = h("p", { id: "who-hint", class: "hint" },
    opening ? "Still opening your network: someone you know may show only in a moment. You can start typing." : HINT);
  const namesake = h("p", { class: "hint namesake", role: "status", hidden: true });
  const results = h("ul", { class: "list picks", "aria-label": "Matching people" });
  const chosen = h("p", { class: "chosen", hidden: true });
  const details = h("div", { hidden: true });

  const defaults = captureDefaults();
  const orgInput = h("input", { type: "search", autocomplete: "off", placeholder: "Search or add" });
  const orgResults = h("ul", { class: "list picks", "aria-label": "Matching organizations" });
  const inherit = h("input", { type: "checkbox", id: "capture-inherit", checked: true });
  const inheritLabel = h("label", { for: "capture-inherit" });
  const inheritField = h("div", { class: "field check", hidden: true }, inherit, inheritLabel);
  const kind = h("select", {}, CONVERSATION_KINDS.map((k) => h("option", { value: k }, k)));
  const place = h("input", { autocomplete: "off", placeholder: "e.g. APS March Meeting, café" });
  const at = h("input", { type: "datetime-local" });
  const futureNote = h("p", { class: "hint scheduled-note", hidden: true },
    "In the future: this schedules the conversation (with a homework reminder the day before); nothing is logged as held.");
  const text = (rows) => h("textarea", { rows });
  const notes = text(6);
  const culture = text(2);
  const prospects = text(2);
  const projects = text(2);
  const others = text(3);
  // Names under "who else" taken as someone already known: said, with a way to say otherwise.
  const knownNames = knownNamesList(state);
  const fit = h("fieldset", { class: "choices" }, h("legend", {}, "Fit for you"),
    ["good", "unsure", "poor"].map((v) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "fit", value: v }), v)));
  const followups = h("div", { class: "chips", role: "group", "aria-label": "Follow-ups" });
  const heldOnly = h("div", {}); // what only a conversation that happened has

  const future = () => Boolean(at.value) && new Date(at.value) > new Date();
  const atIso = () => (at.value ? new Date(at.value).toISOString() : new Date().toISOString());
  const checkedFit = () => fit.querySelector("input:checked")?.value ?? null;

  function showChosen() {
    const name = started ? state.records.get(started.personId)?.fields.name ?? picked.name : picked.name;
    chosen.replaceChildren(future() ? "Meeting " : "Talking with ", h("strong", {}, name), " ",
      h("button", { type: "button", class: "small", onclick: changePerson }, "Change person"));
  }

  function showOrganization() {
    orgInput.value = organization.name;
    inheritField.hidden = !organization.id;
    inheritLabel.textContent = `People they name work at ${organization.name || "it"} too`;
  }

  function showFuture() {
    const ahead = future();
    futureNote.hidden = !ahead;
    heldOnly.hidden = ahead;
    done.textContent = ahead ? "Schedule" : "Done";
    if (picked) showChosen();
  }

  /** Choose who (nothing written yet). */
  function pick({ personId, name, title = null }) {
    const person = personId ? state.records.get(personId) : null;
    const known = !person && name ? null : person;
    namesake.hidden = true;
    if (!known && opening) unsure = true;
    if (started) {
      repoint(personId ? { personId } : { name, title });
      return;
    }
    picked = { personId: known?.id, name: known?.fields.name ?? name, title: known ? null : title,
      stageBefore: known?.fields.stage ?? null,
      // A new name's namesake (someone of that name not among the matches shown), looked for
      // now, in the tap: the first keystroke, which writes the capture, need not read everyone.
      namesake: known ? undefined : namesakeOf(state.records, name)?.id ?? null };
    const org = state.records.get(known?.fields.organization_id);
    if (org && !org.deleted && !organization.id) organization = { id: org.id, name: org.fields.name, isNew: false };
    showOrganization();
    whoField.hidden = true;
    whoHint.hidden = true;
    results.replaceChildren();
    chosen.hidden = false;
    showChosen();
    details.hidden = false;
    notes.focus();
  }

  function changePerson() {
    whoField.hidden = false;
    whoHint.hidden = false;
    who.value = "";
    who.focus();
  }

  /** The first keystroke: the conversation (and the person, organization…) is written now. */
  function start() {
    if (started || !picked) return;
    const plan = planCapture(state.records, {
      personId: picked.personId ?? picked.namesake ?? undefined, personIsNew: picked.namesake === null,
      personName: picked.name, personTitle: picked.title,
      organizationId: organization.isNew ? undefined : organization.id ?? undefined,
      newOrganization: organization.isNew ? { id: organization.id, name: organization.name } : undefined,
      kind: kind.value, at: atIso(), place: place.value.trim(), notes: notes.value, culture: culture.value,
      prospects: prospects.value, projects: projects.value, fit: checkedFit(), referrals: [], followups: [],
    }, ctx());
    if (organization.isNew) organization.isNew = false;
    startedOpening = opening;
    started = { conversationId: plan.conversationId, personId: plan.personId, created: new Set(plan.created),
      stageBefore: picked.stageBefore };
    rememberCapture(state, plan.conversationId);
    state.run(plan.mutations);
  }

  /** A different person, after the conversation was written: it (and what it made) moves. */
  function repoint({ personId, name, title = null }) {
    const mutations = [];
    let to = personId;
    const old = started.personId;
    if (!to) {
      to = newId();
      mutations.push({ name: "set", args: { entity: "person", id: to, base: 0, fields: {
        name, title, organization_id: organization.id, stage: stageAfter(null, atIso(), new Date().toISOString()),
        found_via: place.value.trim() ? "conference" : "other", found_via_detail: place.value.trim() || null,
      } } });
      started.created.add(to);
    } else {
      const stage = stageAfter(state.records.get(to)?.fields.stage, atIso(), new Date().toISOString());
      if (stage) mutations.push({ name: "set", entity: "person", id: to, fields: { stage } });
    }
    mutations.push({ name: "set", entity: "conversation", id: started.conversationId, fields: { person_id: to } });
    for (const id of started.created) {
      const r = state.records.get(id);
      if (r?.entity === "referral" && r.fields.from_person_id === old) {
        mutations.push({ name: "set", entity: "referral", id, fields: { from_person_id: to } });
      }
      if (r?.entity === "followup" && r.fields.person_id === old) {
        mutations.push({ name: "set", entity: "followup", id, fields: { person_id: to } });
      }
    }
    if (started.created.has(old)) {
      // Someone typed by mistake: made by this capture, gone with it.
      mutations.push({ name: "delete", args: { entity: "person", id: old, base: state.base(old) } });
      started.created.delete(old);
    } else if (started.stageBefore !== undefined) {
      mutations.push({ name: "set", entity: "person", id: old, fields: { stage: started.stageBefore } });
    }
    started.personId = to;
    started.stageBefore = personId ? state.records.get(personId)?.fields.stage ?? null : null;
    picked = { personId: to, name: personId ? state.records.get(personId).fields.name : name, stageBefore: started.stageBefore };
    state.run(mutations);
    whoField.hidden = true;
    whoHint.hidden = true;
    results.replaceChildren();
    showChosen();
  }

  function renderResults() {
    // "Priya Nair, cell process engineer": the name is searched, the role is her title.
    const typed = parseWho(who.value) ?? { name: "", title: null };
    const query = typed.name;
    // The shared index: case and accents ignored, names first, never a scan of everyone.
    const found = searchIndexOf(state).searchPeople(query, 8).map((id) => state.records.get(id));
    const items = found.map((p) => {
      const orgName = state.records.get(p.fields.organization_id)?.fields.name;
      return h("li", {}, h("button", { type: "button", class: "pick", onclick: () => pick({ personId: p.id }) },
        h("span", { class: "row-title" }, p.fields.name),
        orgName ? h("span", { class: "row-sub" }, orgName) : null));
    });
    const exact = found.some((p) => nameKey(p.fields.name) === nameKey(query));
    if (query && !exact) {
      items.push(h("li", {}, h("button", { type: "button", class: "pick new",
        onclick: () => pick(typed) }, `New person: ${query}${typed.title ? ` (${typed.title})` : ""}`)));
    }
    results.replaceChildren(...items);
  }
  who.addEventListener("input", renderResults);
  const enterPicksFirst = (input, list) => input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      list.querySelector("button")?.click();
    }
  });
  enterPicksFirst(who, results);

  // The organization picker: matches, then "New organization: X".
  function chooseOrganization(choice) {
    organization = choice;
    orgResults.replaceChildren();
    showOrganization();
    if (!started) return start();
    const mutations = [];
    if (choice.isNew) {
      mutations.push({ name: "set", args: { entity: "organization", id: choice.id, base: 0,
        fields: { name: choice.name, status: "engaged" } } });
      started.created.add(choice.id);
      organization.isNew = false;
    }
    mutations.push({ name: "set", entity: "conversation", id: started.conversationId, fields: { organization_id: choice.id } });
    const person = state.records.get(started.personId);
    if (person && (!person.fields.organization_id || started.created.has(person.id)) && choice.id) {
      mutations.push({ name: "set", entity: "person", id: started.personId, fields: { organization_id: choice.id } });
    }
    state.run(mutations);
  }
  orgInput.addEventListener("input", () => {
    const query = orgInput.value.trim();
    const found = searchOrganizations(state.records, query);
    const items = found.map((o) => h("li", {}, h("button", { type: "button", class: "pick",
      onclick: () => chooseOrganization({ id: o.id, name: o.fields.name, isNew: false }) }, o.fields.name)));
    if (query && opening) {
      items.push(h("li", { class: "hint" }, "Still opening your network: a new organization can be added in a moment."));
    } else if (query && !found.some((o) => nameKey(o.fields.name) === nameKey(query))) {
      items.push(h("li", {}, h("button", { type: "button", class: "pick new",
        onclick: () => chooseOrganization({ id: newId(), name: query, isNew: true }) },
      `New organization: ${query}`)));
    }
    if (!query && organization.id) {
      items.push(h("li", {}, h("button", { type: "button", class: "pick",
        onclick: () => chooseOrganization({ id: null, name: "", isNew: false }) }, "No organization")));
    }
    orgResults.replaceChildren(...items);
  });
  enterPicksFirst(orgInput, orgResults);

  // This form made the conversation: what it types is always from the version it created.
  const save = (fields) => {
    if (!picked) return;
    if (!started) return start();
    state.set("conversation", started.conversationId, fields, 0);
  };
  const bind = (input, name, event = "input") =>
    input.addEventListener(event, () => save({ [name]: input.value === "" ? null : input.value }));
  bind(notes, "notes");
  bind(culture, "culture");
  bind(prospects, "prospects");
  bind(projects, "projects");
  let kindChosen = false;
  bind(kind, "kind", "change");
  kind.addEventListener("change", () => { kindChosen = true; });
  place.addEventListener("input", () => {
    const fields = { place: place.value.trim() || null };
    // A place means a meal or a meeting somewhere: lunch, unless the user said otherwise.
    if (!kindChosen && fields.place && kind.value === "call") {
      kind.value = "lunch";
      fields.kind = "lunch";
    }
    const wasStarted = Boolean(started);
    save(fields);
    // Someone new, met there: found at that conference (the person is written at the first
    // keystroke, often before the place is typed, and said "other" for good).
    // Once the edits queued before are applied: the person made at the first keystroke may not
    // be in the records yet (the place was saved above, in this keystroke's own task).
    if (wasStarted && started.created.has(started.personId)) {
      const id = started.personId;
      state.serial(async () => {}).then(() => {
        const person = state.records.get(id);
        if (person && !person.deleted && ["conference", "other", null, undefined].includes(person.fields.found_via)) {
          state.set("person", id, { found_via: fields.place ? "conference" : "other", found_via_detail: fields.place });
        }
      });
    }
  });
  at.addEventListener("change", () => {
    if (!at.value) return;
    showFuture();
    if (!started) return save({});
    save({ at: atIso() });
    // Scheduled or held: the person's stage follows the date, from what it was before.
    const person = state.records.get(started.personId);
    const wanted = stageAfter(started.stageBefore, atIso(), new Date().toISOString()) ?? started.stageBefore;
    if (person && wanted && person.fields.stage !== wanted) state.set("person", started.personId, { stage: wanted });
  });
  fit.addEventListener("change", (e) => save({ fit: e.target.value }));

  /**
   * Names typed so far become referrals; with `finished` false, not the line being typed.
   * While the records are still being read they wait (each name may be someone not read yet),
   * unless `now`: the app is being left and may be closed, and a name saved twice can be
   * merged later where one never saved is gone.
   */
  async function addReferrals(finished = true, now = false) {
    if (!picked || future() || (opening && !now)) return;
    const typed = finished ? others.value : others.value.slice(0, others.value.lastIndexOf("\n") + 1);
    const names = parseReferrals(typed).filter((r) => !referred.has(nameKey(r.name)));
    if (names.length === 0) return;
    if (!started) start();
    names.forEach((r) => referred.add(nameKey(r.name)));
    const metName = state.records.get(started.personId)?.fields.name ?? picked.name;
    const organizationId = inherit.checked ? organization.id : null;
    const known = [];
    const plan = planReferrals(state.records, {
      personId: started.personId, conversationId: started.conversationId, organizationId, metName, names,
    }, { ...ctx(), known: (entry, person, referralId, titled) => known.push({ entry, person, referralId, titled }) });
    for (const m of plan) if (!state.records.has(m.args.id)) started.created.add(m.args.id);
    await state.run(plan);
    for (const k of known) knownNames.add(k, { organizationId, metName }, (id) => started.created.add(id));
    await save({ asked_for_referrals: true });
  }
  others.addEventListener("change", () => addReferrals());
  others.addEventListener("input", () => addReferrals(false));
  // Leaving the app (switching away, locking the phone) saves the line being typed too.
  const flush = () => {
    if (el.isConnected && document.visibilityState === "hidden") addReferrals(true, true);
  };
  document.addEventListener("visibilitychange", flush);

  for (const [key, choice] of Object.entries(FOLLOWUP_CHOICES)) {
    const chip = h("button", { type: "button", class: "chip", "aria-pressed": "false" }, choice.label);
    chip.addEventListener("click", async () => {
      if (!picked) return;
      if (!started) start();
      if (chips.has(key)) {
        await state.edit("delete", { entity: "followup", id: chips.get(key), base: state.base(chips.get(key)) });
        started.created.delete(chips.get(key));
        chips.delete(key);
        chip.setAttribute("aria-pressed", "false");
        return;
      }
      const plan = planFollowup({ personId: started.personId, organizationId: organization.id,
        metName: state.records.get(started.personId)?.fields.name ?? picked.name, key }, ctx());
      chips.set(key, plan.id);
      started.created.add(plan.id);
      chip.setAttribute("aria-pressed", "true");
      await state.run([plan.mutation]);
    });
    followups.append(chip);
  }

  /** An organization typed and not picked from the list: the one of that name, or a new one
   * (Done never drops what was typed there). */
  const typedOrganization = () => {
    const query = orgInput.value.trim();
    return picked && query && nameKey(query) !== nameKey(organization.name ?? "") ? query : null;
  };
  function settleOrganization() {
    const query = typedOrganization();
    if (!query) return;
    const same = searchOrganizations(state.records, query).find((o) => nameKey(o.fields.name) === nameKey(query));
    chooseOrganization(same ? { id: same.id, name: same.fields.name, isNew: false }
      : { id: newId(), name: query, isNew: true });
  }

  const done = h("button", { type: "button", class: "primary" }, "Done");
  done.addEventListener("click", async () => {
    if (opening && ((others.value.trim() && !future()) || typedOrganization())) {
      // The names under "who else", or an organization typed, are saved once every record
      // is read (a few seconds): the one of that name may not be read yet.
      done.disabled = true;
      done.textContent = "Saving once your network is open…";
      await new Promise((resolve) => { whenOpened = resolve; });
    }
    settleOrganization();
    await addReferrals();
    if (picked && !started) start(); // "Schedule" with nothing typed still schedules
    rememberCapture(state, null);
    // Done replaces the capture in the history: Back goes where capture was opened from.
    go(started ? `/people/${started.personId}` : "/", { replace: true });
  });
  const discard = h("button", { type: "button", class: "danger" }, "Discard");
  discard.addEventListener("click", async () => {
    rememberCapture(state, null);
    if (!started) return go(preset ? `/people/${preset}` : "/");
    // What this capture wrote is shown once its queued writes are (a busy phone lags a little).
    await state.serial(async () => {});
    const mutations = [...started.created].filter((id) => state.records.get(id) && !state.records.get(id).deleted)
      .map((id) => ({ name: "delete", args: { entity: state.records.get(id).entity, id, base: state.base(id) } }));
    const person = state.records.get(started.personId);
    if (person && !started.created.has(person.id) && person.fields.stage !== started.stageBefore) {
      mutations.push({ name: "set", entity: "person", id: person.id, fields: { stage: started.stageBefore } });
    }
    const conversationId = started.conversationId;
    withUndo(state, "Capture discarded", mutations, { onUndo: () => go(`/conversations/${conversationId}`) });
    go(person && !started.created.has(person.id) ? `/people/${person.id}` : "/");
  });

  kind.value = defaults.kind;
  if (scheduling) {
    // Tomorrow at noon, a call: the usual shape of a scheduled informational interview.
    const noon = new Date(`${addDays(isoDate(new Date()), 1)}T12:00`);
    at.value = toLocalInput(noon.toISOString());
  } else {
    at.value = toLocalInput(defaults.at);
  }
  heldOnly.append(
    field("Culture: what is it like to work there?", culture),
    field("Business prospects over the next couple of years", prospects),
    field("Upcoming projects", projects),
    fit,
    field("Who else should I talk to?", others,
      "One person a line: \"Name\", \"Name, role\", \"Name — role\" or \"Name (role)\"."), knownNames.el,
    h("h2", {}, "Follow-ups"), followups);
  details.append(
    field("Organization", orgInput), orgResults, inheritField,
    h("div", { class: "grid2" }, field("Kind", kind), field("Place", place)),
    field("When", at), futureNote,
    field("Notes", notes, "Saved on this device from the first word you type."),
    heldOnly,
    h("div", { class: "actions" }, done, discard));
  const el = h("section", { class: "capture" },
    h("h1", {}, scheduling ? "Schedule a conversation" : "Capture"),
    whoField, whoHint, results, chosen, namesake, details);
  showFuture();
  if (preset && state.records.get(preset)) {
    queueMicrotask(() => pick({ personId: preset }));
  } else if (preset && opening) {
    // Opened on someone's capture at start: that person (and their organization) read first.
    state.early([preset]).then(() => state.early([state.records.get(preset)?.fields.organization_id]))
      .then(() => (!picked && state.records.get(preset) ? pick({ personId: preset }) : null));
  } else {
    queueMicrotask(() => who.focus());
  }

  /** Every record is read now: what waited for them is done, what was done without them checked. */
  function opened() {
    opening = false;
    whoHint.textContent = HINT;
    if (orgInput.value.trim()) orgInput.dispatchEvent(new Event("input"));
    if (unsure) {
      unsure = false;
      if (started ? started.created.has(started.personId) : picked && !picked.personId) useNamesake();
    }
    // Talking with someone closes their open follow-ups (see planCapture): those not read then.
    if (started && startedOpening && !future()) {
      const now = new Date().toISOString();
      const open = linked(state.records, "followup", "person_id", started.personId)
        .filter((f) => !f.fields.done_at && f.fields.kind === "follow_up" && !started.created.has(f.id));
      if (open.length) state.run(open.map((f) => ({ name: "set", entity: "followup", id: f.id, fields: { done_at: now } })));
    }
    addReferrals(document.activeElement !== others);
    whenOpened?.();
  }

  /** The new name picked while opening is someone's already here: the capture is theirs. */
  function useNamesake() {
    const key = nameKey(picked.name);
    const same = live(state.records, "person")
      .filter((p) => p.id !== started?.personId && nameKey(p.fields.name ?? "") === key);
    if (same.length === 0) return;
    const them = same.find((p) => organization.id && p.fields.organization_id === organization.id) ?? same[0];
    const org = state.records.get(them.fields.organization_id);
    const theirs = org && !org.deleted && !organization.id ? { id: org.id, name: org.fields.name, isNew: false } : null;
    if (started) {
      repoint({ personId: them.id });
      if (theirs) chooseOrganization(theirs);
    } else {
      picked = { personId: them.id, name: them.fields.name, title: null, stageBefore: them.fields.stage ?? null };
      if (theirs) {
        organization = theirs;
        showOrganization();
      }
      showChosen();
    }
    namesake.textContent = `${them.fields.name}${org && !org.deleted ? ` (${org.fields.name})` : ""} was already in your network: this conversation is with them${same.length > 1 ? `, one of ${same.length} of that name` : ""}. Someone else? Change person.`;
    namesake.hidden = false;
  }

  // Matches follow changes while a name is typed (an empty box shows none: nothing to search).
  return { el, update: () => {
    if (opening && !state.loading) opened();
    if (!whoField.hidden && who.value.trim()) renderResults();
  } };
}
