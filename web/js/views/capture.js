/**
 * Quick capture at a conference lunch: who (instant offline search, or a new name), then
 * type. Everything autosaves as you type; names under "who else" become referrals; each
 * follow-up is one tap.
 */

import {
  FOLLOWUP_CHOICES, captureDefaults, parseNames, planCapture, planFollowup, planReferrals,
  searchPeople,
} from "../capture.js";
import { isoDate } from "../dates.js";
import { field, h } from "../dom.js";
import { live } from "../model.js";
import { CONVERSATION_KINDS } from "../schema.js";

const toLocalInput = (iso) => {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${isoDate(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 * @param {{personId?: string}} [options]
 */
export function captureView(state, go, { personId: preset } = {}) {
  const ctx = () => ({
    newId: () => crypto.randomUUID(), today: isoDate(new Date()), now: new Date().toISOString(),
    base: (id) => state.base(id),
  });
  let picked = null; // {personId, conversationId, organizationId, name}
  const referred = new Map(); // name (lower case) -> true, once created
  const chips = new Map(); // follow-up key -> followup id

  const who = h("input", { type: "search", id: "capture-who", autocomplete: "off",
    placeholder: "Name, or organization", "aria-describedby": "who-hint" });
  const results = h("ul", { class: "list picks", "aria-label": "Matching people" });
  const chosen = h("p", { class: "chosen", hidden: true });
  const details = h("div", { hidden: true });

  const defaults = captureDefaults();
  const org = h("select", {}, h("option", { value: "" }, "—"));
  const kind = h("select", {}, CONVERSATION_KINDS.map((k) => h("option", { value: k }, k)));
  const place = h("input", { autocomplete: "off", placeholder: "e.g. APS March Meeting, café" });
  const at = h("input", { type: "datetime-local" });
  const text = (rows) => h("textarea", { rows });
  const notes = text(6);
  const culture = text(2);
  const prospects = text(2);
  const projects = text(2);
  const others = text(3);
  const fit = h("fieldset", { class: "choices" }, h("legend", {}, "Fit for you"),
    ["good", "unsure", "poor"].map((v) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "fit", value: v }), v)));
  const followups = h("div", { class: "chips", role: "group", "aria-label": "Follow-ups" });

  function fillOrganizations() {
    const orgs = live(state.records, "organization").sort((a, b) => a.fields.name.localeCompare(b.fields.name));
    org.replaceChildren(h("option", { value: "" }, "—"), ...orgs.map((o) => h("option", { value: o.id }, o.fields.name)));
  }

  async function pick({ personId, name }) {
    if (picked) return;
    const form = {
      personId, personName: name, kind: kind.value, at: new Date(at.value).toISOString(),
      place: place.value.trim(), organizationId: org.value || undefined, referrals: [], followups: [],
    };
    const plan = planCapture(state.records, form, ctx());
    const person = state.records.get(plan.personId);
    // Chosen at once, before anything is awaited: the next keystroke already goes to the notes.
    picked = { personId: plan.personId, conversationId: plan.conversationId,
      organizationId: person?.fields.organization_id ?? form.organizationId ?? null,
      name: person?.fields.name ?? name };
    org.value = picked.organizationId ?? "";
    who.closest(".field").hidden = true;
    results.replaceChildren();
    chosen.hidden = false;
    chosen.replaceChildren("Talking with ", h("strong", {}, picked.name));
    details.hidden = false;
    notes.focus();
    await state.run(plan.mutations);
  }

  function renderResults() {
    const query = who.value.trim();
    const found = searchPeople(state.records, query);
    const items = found.map((p) => {
      const orgName = state.records.get(p.fields.organization_id)?.fields.name;
      return h("li", {}, h("button", { type: "button", class: "pick", onclick: () => pick({ personId: p.id }) },
        h("span", { class: "row-title" }, p.fields.name),
        orgName ? h("span", { class: "row-sub" }, orgName) : null));
    });
    const exact = found.some((p) => p.fields.name.toLowerCase() === query.toLowerCase());
    if (query && !exact) {
      items.push(h("li", {}, h("button", { type: "button", class: "pick new",
        onclick: () => pick({ name: query }) }, `New person: ${query}`)));
    }
    results.replaceChildren(...items);
  }
  who.addEventListener("input", renderResults);
  who.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      results.querySelector("button")?.click();
    }
  });

  // This form made the conversation: what it types is always from the version it created.
  const save = (fields) => picked && state.set("conversation", picked.conversationId, fields, 0);
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
    save(fields);
  });
  at.addEventListener("change", () => at.value && save({ at: new Date(at.value).toISOString() }));
  fit.addEventListener("change", (e) => save({ fit: e.target.value }));
  org.addEventListener("change", async () => {
    if (!picked) return;
    const value = org.value || null;
    picked.organizationId = value;
    await save({ organization_id: value });
    const person = state.records.get(picked.personId);
    if (person && !person.fields.organization_id && value) {
      await state.set("person", picked.personId, { organization_id: value });
    }
  });

  /** Names typed so far become referrals; with `finished` false, not the line being typed. */
  async function addReferrals(finished = true) {
    if (!picked) return;
    const text = finished ? others.value : others.value.slice(0, others.value.lastIndexOf("\n") + 1);
    const names = parseNames(text).filter((n) => !referred.has(n.toLowerCase()));
    if (names.length === 0) return;
    names.forEach((n) => referred.set(n.toLowerCase(), true));
    await state.run(planReferrals(state.records, { ...picked, metName: picked.name, names }, ctx()));
    await save({ asked_for_referrals: true });
  }
  others.addEventListener("change", () => addReferrals());
  others.addEventListener("input", () => addReferrals(false));
  // Leaving the app (switching away, locking the phone) saves the line being typed too.
  const flush = () => {
    if (el.isConnected && document.visibilityState === "hidden") addReferrals();
  };
  document.addEventListener("visibilitychange", flush);

  for (const [key, choice] of Object.entries(FOLLOWUP_CHOICES)) {
    const chip = h("button", { type: "button", class: "chip", "aria-pressed": "false" }, choice.label);
    chip.addEventListener("click", async () => {
      if (!picked) return;
      if (chips.has(key)) {
        await state.edit("delete", { entity: "followup", id: chips.get(key), base: state.base(chips.get(key)) });
        chips.delete(key);
        chip.setAttribute("aria-pressed", "false");
        return;
      }
      const plan = planFollowup({ ...picked, metName: picked.name, key }, ctx());
      chips.set(key, plan.id);
      chip.setAttribute("aria-pressed", "true");
      await state.run([plan.mutation]);
    });
    followups.append(chip);
  }

  const done = h("button", { type: "button", class: "primary" }, "Done");
  done.addEventListener("click", async () => {
    await addReferrals();
    go(picked ? `/people/${picked.personId}` : "/");
  });

  fillOrganizations();
  kind.value = defaults.kind;
  at.value = toLocalInput(defaults.at);
  details.append(
    h("div", { class: "grid2" }, field("Organization", org), field("Kind", kind)),
    h("div", { class: "grid2" }, field("Place", place), field("When", at)),
    field("Notes", notes, "Saved on this device as you type."),
    field("Culture: what is it like to work there?", culture),
    field("Business prospects over the next couple of years", prospects),
    field("Upcoming projects", projects),
    fit,
    field("Who else should I talk to?", others, "One name per line: each becomes a person, referred by this one."),
    h("h2", {}, "Follow-ups"), followups,
    done);
  const el = h("section", { class: "capture" },
    h("h1", {}, "Capture"),
    field("Who did you talk with?", who),
    h("p", { id: "who-hint", class: "hint" }, "Pick someone you know, or type a new name."),
    results, chosen, details);
  if (preset && state.records.get(preset)) queueMicrotask(() => pick({ personId: preset }));
  else queueMicrotask(() => who.focus());
  return { el, update: () => { if (!picked) renderResults(); } };
}
