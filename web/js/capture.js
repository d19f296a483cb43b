/**
 * Quick capture of a conversation: what the form holds becomes the mutations to queue.
 * A new name becomes a person; each name under "who else should I talk to?" becomes a person
 * linked by a referral from the person met; each chosen follow-up becomes a follow-up record.
 */

import { addDays, addMonths, isoDate } from "./dates.js";
import { live } from "./model.js";

/** The follow-ups offered as one-tap chips: kind, label, and when each is due. */
export const FOLLOWUP_CHOICES = {
  thanks: { kind: "thank_you", label: "Send thanks tonight", note: "Send a thank-you", due: (d) => d },
  linkedin: { kind: "connect", label: "Connect on LinkedIn", note: "Connect on LinkedIn", due: (d) => d },
  three_months: { kind: "follow_up", label: "Follow up in 3 months", note: "Follow up", due: (d) => addMonths(d, 3) },
  next_week: { kind: "follow_up", label: "Follow up next week", note: "Follow up", due: (d) => addDays(d, 7) },
};

/** Defaults for a new capture: lunch when a place is given, now as the time. */
export function captureDefaults({ now = new Date(), place = "" } = {}) {
  const at = new Date(now);
  at.setSeconds(0, 0);
  return { kind: place ? "lunch" : "call", at: at.toISOString(), place };
}

/** People whose name (or organization's name) matches the query, best first. */
export function searchPeople(records, query, limit = 8) {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const orgs = new Map(live(records, "organization").map((o) => [o.id, o.fields.name ?? ""]));
  const scored = [];
  for (const p of live(records, "person")) {
    const name = (p.fields.name ?? "").toLowerCase();
    const org = (orgs.get(p.fields.organization_id) ?? "").toLowerCase();
    let score = -1;
    if (name.startsWith(q)) score = 3;
    else if (name.split(/\s+/).some((w) => w.startsWith(q))) score = 2;
    else if (name.includes(q) || org.includes(q)) score = 1;
    if (score >= 0) scored.push({ p, score });
  }
  scored.sort((a, b) => b.score - a.score || a.p.fields.name.localeCompare(b.p.fields.name));
  return scored.slice(0, limit).map((s) => s.p);
}

/** Names typed one per line or separated by commas, trimmed, without repeats. */
export function parseNames(text) {
  const seen = new Set();
  const names = [];
  for (const raw of text.split(/[\n,;]+/)) {
    const name = raw.trim().replace(/\s+/g, " ");
    const key = name.toLowerCase();
    if (name && !seen.has(key)) {
      seen.add(key);
      names.push(name);
    }
  }
  return names;
}

/**
 * The mutations (name, args) that record a capture. Ids come from `newId` so tests can fix them.
 * @param {Map<string, object>} records the current view
 * @param {object} form {personId?, personName?, organizationId?, kind, at, place, notes, culture,
 *   prospects, projects, fit, referrals: string[], followups: string[] (FOLLOWUP_CHOICES keys),
 *   conversationId?}
 * @param {{newId: () => string, today: string, now: string, base: (id: string) => number}} ctx
 * @returns {{conversationId: string, personId: string, mutations: {name: string, args: object}[]}}
 */
export function planCapture(records, form, ctx) {
  const mutations = [];
  const set = (entity, id, fields) =>
    mutations.push({ name: "set", args: { entity, id, base: ctx.base(id), fields } });
  const people = live(records, "person");
  const byName = (name) =>
    people.find((p) => (p.fields.name ?? "").toLowerCase() === name.toLowerCase());

  let personId = form.personId;
  let person = personId ? records.get(personId) : null;
  if (!person && form.personName) {
    person = byName(form.personName) ?? null;
    personId = person?.id;
  }
  const organizationId = form.organizationId ?? person?.fields.organization_id ?? null;
  if (!personId) {
    personId = ctx.newId();
    set("person", personId, {
      name: form.personName.trim(), organization_id: organizationId, stage: "talked",
      found_via: form.place ? "conference" : "other",
      found_via_detail: form.place || null,
    });
  } else {
    const advanced = ["identified", "contacted", "scheduled", null, undefined];
    if (advanced.includes(person?.fields.stage)) set("person", personId, { stage: "talked" });
  }

  const conversationId = form.conversationId ?? ctx.newId();
  const referrals = form.referrals ?? [];
  set("conversation", conversationId, {
    person_id: personId,
    organization_id: organizationId,
    kind: form.kind,
    at: form.at,
    place: form.place || null,
    notes: form.notes || null,
    culture: form.culture || null,
    prospects: form.prospects || null,
    projects: form.projects || null,
    fit: form.fit || null,
    asked_for_referrals: referrals.length > 0 ? true : (form.askedForReferrals ?? null),
  });

  const metName = person?.fields.name ?? form.personName;
  mutations.push(...planReferrals(records, {
    personId, conversationId, organizationId, metName, names: referrals,
  }, ctx));

  // Talking with someone resets their follow-up: the open ones are done now.
  for (const f of live(records, "followup")) {
    if (f.fields.person_id === personId && !f.fields.done_at && f.fields.kind === "follow_up") {
      set("followup", f.id, { done_at: ctx.now });
    }
  }
  for (const key of form.followups ?? []) {
    mutations.push(planFollowup({ personId, organizationId, metName, key }, ctx).mutation);
  }
  return { conversationId, personId, mutations };
}

/**
 * People named under "who else should I talk to?": each a person (new, or the one of that
 * name already known) and a referral from the person met.
 */
export function planReferrals(records, { personId, conversationId, organizationId, metName, names }, ctx) {
  const mutations = [];
  const set = (entity, id, fields) =>
    mutations.push({ name: "set", args: { entity, id, base: ctx.base(id), fields } });
  const people = live(records, "person");
  for (const name of names) {
    const known = people.find((p) => (p.fields.name ?? "").toLowerCase() === name.toLowerCase());
    let toId = known?.id;
    if (!toId) {
      toId = ctx.newId();
      set("person", toId, {
        name, organization_id: organizationId, stage: "identified", found_via: "referral",
        found_via_detail: `Referred by ${metName}`,
      });
    }
    set("referral", ctx.newId(), {
      from_person_id: personId, to_person_id: toId, conversation_id: conversationId,
      status: "suggested",
    });
  }
  return mutations;
}

/** One follow-up chip: the follow-up record it creates. */
export function planFollowup({ personId, organizationId, metName, key }, ctx) {
  const choice = FOLLOWUP_CHOICES[key];
  const id = ctx.newId();
  return {
    id,
    mutation: { name: "set", args: { entity: "followup", id, base: 0, fields: {
      person_id: personId, organization_id: organizationId, kind: choice.kind,
      due: choice.due(ctx.today), note: `${choice.note}: ${metName}`,
    } } },
  };
}

export { isoDate };
