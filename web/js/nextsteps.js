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

  // Follow-ups that are due or overdue.
  for (const f of openFollowups) {
    const late = daysBetween(f.fields.due, today);
    if (late < 0) continue;
    const who = f.fields.person_id ? name(f.fields.person_id) : byId(f.fields.organization_id)?.fields.name;
    add({
      key: `followup:${f.id}`, urgency: 100 + Math.min(late, 60),
      title: `${f.fields.note || "Follow up"}${who && !(f.fields.note ?? "").includes(who) ? ` (${who})` : ""}`,
      why: late === 0 ? "Due today." : `Overdue by ${late} day${late === 1 ? "" : "s"}.`,
      path: f.fields.person_id ? `/people/${f.fields.person_id}` : undefined,
      quick: { label: "Done", mutations: [{ name: "set", entity: "followup", id: f.id, fields: { done_at: now } }] },
    });
  }

  // Read through the store's reference index: a person's follow-ups, not all of them.
  const followupsOf = (pid) => linked(records, "followup", "person_id", pid);
  for (const c of conversations) {
    // Most conversations are past, thanked and asked about: nothing to look up for them.
    if (past(c) && c.fields.thanked_at && (c.fields.asked_for_referrals || c.fields.fit === "poor")) continue;
    const pid = c.fields.person_id;
    const person = byId(pid);
    if (!person || person.deleted) continue;
    const day = past(c) && c.fields.thanked_at ? null : dayOf(c.fields.at);
    // A conversation today or tomorrow: do your homework.
    if (day && !past(c) && daysBetween(today, day) <= 1 && !c.fields.prepared) {
      const org = byId(c.fields.organization_id ?? person.fields.organization_id);
      add({
        key: `homework:${c.id}`, urgency: 95,
        title: `Do your homework${org ? ` on ${org.fields.name}` : ""} before talking with ${person.fields.name}`,
        why: `${daysBetween(today, day) === 0 ? "Today" : "Tomorrow"}: learn what they do; plan to ask about their story, not your needs.`,
        path: org ? `/organizations/${org.id}` : `/people/${pid}`,
        quick: { label: "Prepared", mutations: [{ name: "set", entity: "conversation", id: c.id, fields: { prepared: true } }] },
      });
    }
    if (!past(c)) continue;
    const thankedByFollowup = !c.fields.thanked_at && followupsOf(pid).some(
      (f) => f.fields.person_id === pid && f.fields.kind === "thank_you" && f.fields.done_at &&
        f.fields.done_at >= c.fields.at,
    );
    if (!c.fields.thanked_at && !thankedByFollowup && !followupsOf(pid).some(
      (f) => !f.fields.done_at && f.fields.kind === "thank_you")) {
      add({
        key: `thank:${c.id}`, urgency: 80 - Math.min(daysBetween(day, today), 10),
        title: `Thank ${person.fields.name}`,
        why: "Sincere thanks, the same day if you can: it is what they remember.",
        path: `/people/${pid}`,
        quick: { label: "Thanked", mutations: [
          { name: "set", entity: "conversation", id: c.id, fields: { thanked_at: today } },
          ...(person.fields.stage === "talked" ? [{ name: "set", entity: "person", id: pid, fields: { stage: "thanked" } }] : []),
        ] },
      });
    }
    if (!c.fields.asked_for_referrals && c.fields.fit !== "poor" &&
      linked(records, "referral", "from_person_id", pid).length === 0) {
      add({
        key: `ask:${c.id}`, urgency: 60,
        title: `Ask ${person.fields.name} who else you should talk to`,
        why: "\"Who else do you think I should talk to?\" keeps the chain going. Never pushy.",
        path: `/people/${pid}`,
        quick: { label: "Asked", mutations: [{ name: "set", entity: "conversation", id: c.id, fields: { asked_for_referrals: true } }] },
      });
    }
  }

  // Referrals named but not contacted: contact them, and tell the referrer how it went.
  for (const r of referrals) {
    const to = byId(r.fields.to_person_id);
    if (!to || to.deleted || r.fields.status === "declined") continue;
    if (["identified", null, undefined].includes(to.fields.stage) && ["suggested", "introduced", null].includes(r.fields.status ?? null)) {
      add({
        key: `referral:${r.id}`, urgency: 70,
        title: `Contact ${to.fields.name}, referred by ${name(r.fields.from_person_id)}`,
        why: `Say that ${name(r.fields.from_person_id)} suggested you write, then tell ${name(r.fields.from_person_id)} how it went.`,
        path: `/people/${to.id}`,
        quick: { label: "Contacted", mutations: [
          { name: "set", entity: "person", id: to.id, fields: { stage: "contacted" } },
          { name: "set", entity: "referral", id: r.id, fields: { status: "contacted" } },
        ] },
      });
    }
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
    if (!["target", "engaged"].includes(o.fields.status)) continue;
    const there = linked(records, "person", "organization_id", o.id);
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
