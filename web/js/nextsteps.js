/**
 * Today: the six steps of informational networking as rules over the local store, giving the
 * next actions, most urgent first. Each action says what to do and where (or how) to do it.
 *
 * An action: {key, urgency, title, why, path?, quick?: {label, mutations}}.
 */

import { addMonths, dayOf, daysBetween } from "./dates.js";
import { compareText, linked, live } from "./model.js";

const IDLE_DAYS = 21;

/**
 * When someone was last talked with (or written to): the latest conversation not in the future.
 * @returns {string|null} an ISO datetime
 */
export function lastContacted(records, personId, now) {
  let last = null;
  for (const c of linked(records, "conversation", "person_id", personId)) {
    const at = c.fields.at;
    if (at && at <= now && (!last || at > last)) last = at;
  }
  return last;
}

/**
 * @param {Map<string, object>} records the current view
 * @param {{today: string, now: string}} when local date and ISO time
 * @returns {object[]} actions, most urgent first
 */
export function nextSteps(records, { today, now }) {
  const people = live(records, "person");
  const orgs = live(records, "organization");
  const conversations = live(records, "conversation");
  const referrals = live(records, "referral");
  const followups = live(records, "followup");
  const byId = (id) => records.get(id);
  const name = (id) => byId(id)?.fields.name ?? "someone";
  const past = (c) => c.fields.at && c.fields.at <= now;
  const openFollowups = followups.filter((f) => !f.fields.done_at);
  const actions = [];
  const add = (action) => actions.push(action);

  // Follow-ups that are due or overdue: one step per person (or organization) and kind.
  const dueGroups = new Map();
  for (const f of openFollowups) {
    const late = daysBetween(f.fields.due, today);
    if (late < 0) continue;
    const person = f.fields.person_id ? byId(f.fields.person_id) : null;
    if (person?.deleted) continue; // their person was removed: nobody to follow up with
    const group = `${f.fields.person_id ?? f.fields.organization_id ?? f.id}|${f.fields.kind ?? ""}`;
    if (!dueGroups.has(group)) dueGroups.set(group, []);
    dueGroups.get(group).push({ f, late });
  }
  for (const group of dueGroups.values()) {
    group.sort((a, b) => b.late - a.late);
    const { f, late } = group[0];
    const who = f.fields.person_id ? name(f.fields.person_id) : byId(f.fields.organization_id)?.fields.name;
    add({
      key: `followup:${f.id}`, urgency: 100 + Math.min(late, 60),
      title: `${f.fields.note || "Follow up"}${who && !(f.fields.note ?? "").includes(who) ? ` (${who})` : ""}`,
      why: (late === 0 ? "Due today." : `Overdue by ${late} day${late === 1 ? "" : "s"}.`) +
        (group.length > 1 ? ` (${group.length} like it, done together.)` : ""),
      path: f.fields.person_id ? `/people/${f.fields.person_id}` : undefined,
      quick: { label: "Done", mutations: group.map(({ f: g }) =>
        ({ name: "set", entity: "followup", id: g.id, fields: { done_at: now } })) },
    });
  }

  // Read through the store's reference index: a person's follow-ups, not all of them.
  const followupsOf = (pid) => linked(records, "followup", "person_id", pid);
  // Conversations, per person: one homework, one thanks and one "who else" step at most.
  const talksByPerson = new Map();
  for (const c of conversations) {
    // Most conversations are past, thanked and asked about: nothing to look up for them.
    if (past(c) && c.fields.thanked_at && (c.fields.asked_for_referrals || c.fields.fit === "poor")) continue;
    const pid = c.fields.person_id;
    if (!talksByPerson.has(pid)) talksByPerson.set(pid, []);
    talksByPerson.get(pid).push(c);
  }
  for (const [pid, talks] of talksByPerson) {
    const person = byId(pid);
    if (!person || person.deleted) continue;
    // A conversation today or tomorrow: do your homework (for the nearest one).
    const coming = talks.filter((c) => c.fields.at && !past(c) && !c.fields.prepared &&
      daysBetween(today, dayOf(c.fields.at)) <= 1).sort((a, b) => a.fields.at.localeCompare(b.fields.at));
    if (coming.length) {
      const c = coming[0];
      const day = dayOf(c.fields.at);
      const org = byId(c.fields.organization_id ?? person.fields.organization_id);
      add({
        key: `homework:${c.id}`, urgency: 95,
        title: `Do your homework${org ? ` on ${org.fields.name}` : ""} before talking with ${person.fields.name}`,
        why: `${daysBetween(today, day) === 0 ? "Today" : "Tomorrow"}: learn what they do; plan to ask about their story, not your needs.`,
        path: org ? `/organizations/${org.id}` : `/people/${pid}`,
        quick: { label: "Prepared", mutations: coming.map((x) =>
          ({ name: "set", entity: "conversation", id: x.id, fields: { prepared: true } })) },
      });
    }
    const held = talks.filter(past).sort((a, b) => b.fields.at.localeCompare(a.fields.at));
    if (held.length === 0) continue;
    const thankedByFollowup = (c) => followupsOf(pid).some(
      (f) => f.fields.person_id === pid && f.fields.kind === "thank_you" && f.fields.done_at &&
        f.fields.done_at >= c.fields.at,
    );
    const unthanked = held.filter((c) => !c.fields.thanked_at && !thankedByFollowup(c));
    if (unthanked.length && !followupsOf(pid).some((f) => !f.fields.done_at && f.fields.kind === "thank_you")) {
      const c = unthanked[0];
      add({
        key: `thank:${c.id}`, urgency: 80 - Math.min(daysBetween(dayOf(c.fields.at), today), 10),
        title: `Thank ${person.fields.name}`,
        why: "Sincere thanks, the same day if you can: it is what they remember.",
        path: `/people/${pid}`,
        quick: { label: "Thanked", mutations: [
          ...unthanked.map((x) => ({ name: "set", entity: "conversation", id: x.id, fields: { thanked_at: today } })),
          ...(person.fields.stage === "talked" ? [{ name: "set", entity: "person", id: pid, fields: { stage: "thanked" } }] : []),
        ] },
      });
    }
    const gaveNames = linked(records, "referral", "from_person_id", pid).length > 0;
    const latest = held[0];
    if (!held.some((c) => c.fields.asked_for_referrals) && !gaveNames && latest.fields.fit !== "poor") {
      add({
        key: `ask:${latest.id}`, urgency: 60,
        title: `Ask ${person.fields.name} who else you should talk to`,
        why: "\"Who else do you think I should talk to?\" keeps the chain going. Never pushy.",
        path: `/people/${pid}`,
        quick: { label: "Asked", mutations: [{ name: "set", entity: "conversation", id: latest.id, fields: { asked_for_referrals: true } }] },
      });
    }
  }

  // Referrals named but not contacted: contact them (once, whoever named them), and tell
  // the referrers how it went.
  const namedBy = new Map();
  for (const r of referrals) {
    const to = byId(r.fields.to_person_id);
    const from = byId(r.fields.from_person_id);
    if (!to || to.deleted || r.fields.status === "declined") continue;
    if (["identified", null, undefined].includes(to.fields.stage) && ["suggested", "introduced", null].includes(r.fields.status ?? null)) {
      if (!namedBy.has(to.id)) namedBy.set(to.id, []);
      namedBy.get(to.id).push({ r, from: from && !from.deleted ? from.fields.name : "a removed person" });
    }
  }
  for (const [toId, refs] of namedBy) {
    const to = byId(toId);
    const names = [...new Set(refs.map((x) => x.from))];
    const by = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
    add({
      key: `referral:${refs[0].r.id}`, urgency: 70,
      title: `Contact ${to.fields.name}, referred by ${by}`,
      why: `Say that ${names[0]} suggested you write, then tell ${by} how it went.`,
      path: `/people/${to.id}`,
      quick: { label: "Contacted", mutations: [
        { name: "set", entity: "person", id: to.id, fields: { stage: "contacted" } },
        ...refs.map(({ r }) => ({ name: "set", entity: "referral", id: r.id, fields: { status: "contacted" } })),
      ] },
    });
  }

  // People identified but not contacted (found by yourself: alumni, societies, friends…).
  const referredIds = new Set(referrals.map((r) => r.fields.to_person_id));
  for (const p of people) {
    if (p.fields.stage === "identified" && !referredIds.has(p.id)) {
      add({
        key: `reach:${p.id}`, urgency: 50,
        title: `Reach out to ${p.fields.name}`,
        why: "Explain your connection, introduce yourself briefly, and ask for their story.",
        path: `/people/${p.id}`,
        quick: { label: "Contacted", mutations: [{ name: "set", entity: "person", id: p.id, fields: { stage: "contacted" } }] },
      });
    }
    // Talked with a prospective supervisor: connect and follow up in a few months.
    if (p.fields.hiring_authority && ["talked", "thanked"].includes(p.fields.stage) &&
      !followupsOf(p.id).some((f) => !f.fields.done_at && f.fields.kind === "follow_up")) {
      add({
        key: `supervisor:${p.id}`, urgency: 45,
        title: `Connect with ${p.fields.name} on LinkedIn and follow up in a few months`,
        why: "No opening now is normal: stay on their bench.",
        path: `/people/${p.id}`,
        quick: { label: "Follow up in 3 months", mutations: [
          { name: "set", entity: "followup", id: null, fields: { person_id: p.id, organization_id: p.fields.organization_id, kind: "follow_up", due: addMonths(today, 3), note: `Follow up: ${p.fields.name}` } },
          { name: "set", entity: "person", id: p.id, fields: { stage: "following_up" } },
        ] },
      });
    }
  }

  for (const o of orgs) {
    const there = linked(records, "person", "organization_id", o.id);
    // Engaged: marked so, or being explored with a conversation already held there.
    const engaged = ["target", "engaged"].includes(o.fields.status) ||
      (["exploring", null, undefined].includes(o.fields.status) &&
        (linked(records, "conversation", "organization_id", o.id).some(past) ||
          there.some((p) => linked(records, "conversation", "person_id", p.id).some(past))));
    if (!engaged) continue;
    if (there.length === 0) {
      add({
        key: `find:${o.id}`, urgency: 30,
        title: `Find a connection at ${o.fields.name}`,
        why: "Search alumni and society directories, ask friends, check LinkedIn. A tenuous connection will do.",
        path: `/organizations/${o.id}`,
      });
      continue;
    }
    if (!there.some((p) => p.fields.hiring_authority)) {
      add({
        key: `aim:${o.id}`, urgency: 40,
        title: `Aim for the prospective supervisor at ${o.fields.name}`,
        why: "Ask each person you talk to who leads the group you would join.",
        path: `/organizations/${o.id}`,
      });
    }
    // The latest conversation there (instants compared as numbers; its local day once).
    let latest = null;
    let latestAt = -Infinity;
    const talks = linked(records, "conversation", "organization_id", o.id);
    for (const p of there) talks.push(...linked(records, "conversation", "person_id", p.id));
    for (const c of talks) {
      const at = c.fields.at ? Date.parse(c.fields.at) : NaN;
      if (at > latestAt) [latest, latestAt] = [c, at];
    }
    const lastTalk = latest ? dayOf(latest.fields.at) : undefined;
    const waiting = linked(records, "followup", "organization_id", o.id).some((f) => !f.fields.done_at) ||
      there.some((p) => followupsOf(p.id).some((f) => !f.fields.done_at));
    if (lastTalk && daysBetween(lastTalk, today) >= IDLE_DAYS && !waiting) {
      add({
        key: `idle:${o.id}`, urgency: 20,
        title: `${o.fields.name} has gone quiet: a dead end?`,
        why: `Nothing since ${lastTalk}. Expect dead ends; start over with a new connection.`,
        path: `/organizations/${o.id}`,
      });
    }
  }
  actions.sort((a, b) => b.urgency - a.urgency || compareText(a.title, b.title));
  return actions;
}
