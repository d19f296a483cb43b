/**
 * Today: the six steps of informational networking as rules over the local store, giving the
 * next actions, most urgent first. Each action says what to do and where (or how) to do it.
 *
 * An action: {key, urgency, title, why, path?, quick?: {label, mutations}, snooze?: {label,
 * said, mutations}} (a due follow-up can be put off from Today: see `snoozeFor`).
 *
 * The rules are grouped in small units, each a function of a few records: one per person (their
 * follow-ups due, homework, thanks, "who else", the referral to contact, reaching out, the
 * supervisor to stay in touch with), one per organization (its own follow-ups, finding a
 * connection, aiming for the supervisor, going quiet) and one per follow-up about nobody.
 * `nextSteps` computes them all; `NextSteps` keeps each unit's actions and what it read (records
 * by id, and lookups of "the records of E whose F is X"), so that after a change only the units
 * that read a changed record, or looked up what it refers to now, are computed again: a change
 * costs what it touches, not the store.
 */

import { addDays, addMonths, dayOf, daysBetween, formatDay } from "./dates.js";
import { compareText, firstNotBelow, linked, mergeSorted } from "./model.js";
import { ENTITIES } from "./schema.js";

const IDLE_DAYS = 21;
const SLICE_MS = 10; // a computation of everything gives the page back this often

/** The reference fields of each entity: what a record can be looked up by. */
const REFS = Object.fromEntries(Object.entries(ENTITIES).map(([entity, spec]) => [
  entity, Object.entries(spec).filter(([, f]) => f.type === "ref").map(([name]) => name),
]));
const lookup = (entity, field, id) => `${entity}\u0001${field}\u0001${id}`;
const summaryKey = (pid) => `\u0002${pid}`;
const NOBODY = { past: false, latest: -Infinity, latestAt: null, open: false };
const text = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const byId = (a, b) => text(a.id, b.id);

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

/** How many steps Today shows, and of one kind while other kinds wait. */
export const SHOWN = 25;
export const PER_KIND = 8;

/**
 * The steps Today shows, most urgent first: at most PER_KIND of one kind (follow-ups, thanks,
 * referrals…) while other kinds wait, so a backlog of one never hides the rest (at 10,000
 * people, the 25 most urgent were all follow-ups); room left over goes to the next in line,
 * shown after them.
 */
export function mostPressing(actions, shown = SHOWN, perKind = PER_KIND) {
  const picked = [];
  const skipped = [];
  const counts = new Map();
  for (const a of actions) {
    if (picked.length === shown) break;
    const kind = a.key.slice(0, a.key.indexOf(":"));
    const n = counts.get(kind) ?? 0;
    if (n < perKind) {
      counts.set(kind, n + 1);
      picked.push(a);
    } else if (skipped.length < shown) {
      skipped.push(a);
    }
  }
  // The room left over goes after them: the kinds that waited stay near the top.
  if (picked.length < shown) picked.push(...skipped.slice(0, shown - picked.length));
  return picked;
}

/** Today's order: most urgent first, then by title (and key, so the order is total). */
export function compareActions(a, b) {
  return b.urgency - a.urgency || compareText(a.title, b.title) || text(a.key, b.key);
}

/**
 * How a unit reads the store: each read is noted (when tracking), and so is the earliest
 * conversation still in the future it looked at (its steps change when that time comes).
 */
class Reader {
  constructor(records, { today, now }, track, summaries) {
    this.records = records;
    this.today = today;
    this.now = now;
    this.reads = track ? [] : null;
    this.expires = null;
    this.summaries = summaries;
    /** what a person's unit tells the organization's (see `personSteps`) */
    this.summary = null;
  }

  /** What the unit of a person (computed before any organization's) found about them. */
  about(pid) {
    this.reads?.push(summaryKey(pid));
    return this.summaries(pid) ?? NOBODY;
  }

  get(id) {
    if (id === null || id === undefined) return undefined;
    this.reads?.push(id);
    return this.records.get(id);
  }

  /** Live records of `entity` whose `field` holds `id`. */
  linked(entity, field, id) {
    if (id === null || id === undefined) return [];
    const out = linked(this.records, entity, field, id);
    if (this.reads) {
      this.reads.push(lookup(entity, field, id));
      for (const record of out) this.reads.push(record.id);
    }
    return out;
  }

  /** Has the conversation happened (is it not in the future)? */
  past(c) {
    const at = c.fields.at;
    if (!at) return false;
    if (at <= this.now) return true;
    if (this.expires === null || at < this.expires) this.expires = at;
    return false;
  }
}

/**
 * Days after which a step is backlog rather than the day's business: a follow-up overdue, a
 * conversation not thanked or not asked about, a referral named that long ago.
 */
export const STALE_DAYS = 30;

/** A fraction that orders one kind of step fresher first: 1 for today, less the older. */
const freshness = (days) => (1000 - Math.min(Math.max(days, 0), 999)) / 1000;

/**
 * Backlog comes after every other step (its kinds in this order, the freshest of each first).
 * A network kept for years has thousands of these (a lunch 600 days ago never thanked, a name
 * given last year): ranked with today's, they filled Today and buried the lunch just captured.
 */
const BACKLOG = { followup: 14, referral: 13, thank: 12, ask: 11 };

/** Overdue follow-ups come first, the most overdue first; a month overdue, they are backlog. */
function followupUrgency(late) {
  return late > STALE_DAYS ? BACKLOG.followup + Math.min(late, 999) / 1000 : 100 + late;
}

/**
 * A thank-you (not sent, or a thank-you follow-up due) comes before everything else: it is
 * sent the same day or the next, while an overdue follow-up can wait a day. Today's and
 * yesterday's come first of all (at real size, hundreds of late ones buried the lunch just
 * held); later, a late one still comes before other steps, the later the sooner; a month
 * late, it is backlog.
 */
function thankUrgency(late) {
  if (late > STALE_DAYS) return BACKLOG.thank + freshness(late);
  return late <= 1 ? 160 + late : 140 + Math.min(late, 15) + freshness(late);
}

/** What a follow-up with no note of its own is about, by its kind. */
const FOLLOWUP_TITLES = {
  thank_you: "Send a thank-you", connect: "Connect", send_info: "Send what you promised",
};

/**
 * A thank-you sent (a thank-you follow-up done): the conversations held with the person and not
 * thanked yet are thanked today, and someone "talked" with is "thanked", as Today's "Thanked"
 * does. (Done alone left the conversation "not thanked yet" and the stage behind.)
 * @param {object|undefined} person
 * @param {object[]} talks their conversations
 * @returns {{name: "set", entity: string, id: string, fields: object}[]}
 */
export function thankedEdits(person, talks, { today, now }) {
  if (!person || person.deleted) return [];
  const edits = talks.filter((c) => c.fields.at && c.fields.at <= now && !c.fields.thanked_at)
    .map((c) => ({ name: "set", entity: "conversation", id: c.id, fields: { thanked_at: today } }));
  if (person.fields.stage === "talked") {
    edits.push({ name: "set", entity: "person", id: person.id, fields: { stage: "thanked" } });
  }
  return edits;
}

/**
 * How a follow-up is put off: a thank-you by a day (thanks are sent the same day or the next:
 * a week later they are late), any other by a week; from `from` (its due day if later than
 * today, else today). `label` is its button, `said` what the undo toast says.
 * @param {string|null|undefined} kind
 * @param {string} from YYYY-MM-DD
 * @param {string} [today] YYYY-MM-DD
 * @returns {{label: string, said: string, due: string}}
 */
export function snoozeFor(kind, from, today = from) {
  if (kind !== "thank_you") return { label: "Snooze a week", said: "Snoozed a week", due: addDays(from, 7) };
  return from > today ? { label: "A day later", said: "Put off a day", due: addDays(from, 1) }
    : { label: "Tomorrow", said: "Put off to tomorrow", due: addDays(from, 1) };
}

/** Follow-ups of one person (or organization, or nobody) that are due: one step per kind. */
function dueSteps(r, followups, out) {
  const groups = new Map();
  for (const f of followups) {
    if (f.fields.done_at || !f.fields.due) continue;
    const late = daysBetween(f.fields.due, r.today);
    if (late < 0) continue;
    const person = f.fields.person_id ? r.get(f.fields.person_id) : null;
    if (person?.deleted) continue; // their person was removed: nobody to follow up with
    const kind = f.fields.kind ?? "";
    if (!groups.has(kind)) groups.set(kind, []);
    groups.get(kind).push({ f, late });
  }
  for (const group of groups.values()) {
    group.sort((a, b) => b.late - a.late || byId(a.f, b.f));
    const { f, late } = group[0];
    const who = f.fields.person_id
      ? r.get(f.fields.person_id)?.fields.name ?? "someone"
      : r.get(f.fields.organization_id)?.fields.name;
    const thanks = f.fields.kind === "thank_you" && f.fields.person_id
      ? thankedEdits(r.get(f.fields.person_id), r.linked("conversation", "person_id", f.fields.person_id), r) : [];
    const later = snoozeFor(f.fields.kind, r.today);
    out.push({
      key: `followup:${f.id}`, urgency: f.fields.kind === "thank_you" ? thankUrgency(late) : followupUrgency(late),
      title: `${f.fields.note || (FOLLOWUP_TITLES[f.fields.kind] ?? "Follow up")}${who && !(f.fields.note ?? "").includes(who) ? ` (${who})` : ""}`,
      why: (late === 0 ? "Due today." : `Overdue by ${late} day${late === 1 ? "" : "s"}.`) +
        (group.length > 1 ? ` (${group.length - 1} more like it, done together.)` : ""),
      path: f.fields.person_id ? `/people/${f.fields.person_id}` : undefined,
      // `done_at` is stamped again when the step is tapped (see views/today.js).
      quick: { label: "Done", mutations: [...group.map(({ f: g }) =>
        ({ name: "set", entity: "followup", id: g.id, fields: { done_at: r.now } })), ...thanks] },
      snooze: { label: later.label, said: later.said, mutations: group.map(({ f: g }) =>
        ({ name: "set", entity: "followup", id: g.id, fields: { due: later.due } })) },
    });
  }
}

/** Conversations with one person: one homework, one thanks and one "who else" step at most. */
function talkSteps(r, person, talks, followups, out) {
  const pid = person.id;
  const { today } = r;
  // A conversation today or tomorrow: do your homework (for the nearest one).
  const coming = talks.filter((c) => c.fields.at && !r.past(c) && !c.fields.prepared &&
    daysBetween(today, dayOf(c.fields.at)) <= 1).sort((a, b) => text(a.fields.at, b.fields.at) || byId(a, b));
  if (coming.length) {
    const c = coming[0];
    const day = dayOf(c.fields.at);
    const org = r.get(c.fields.organization_id ?? person.fields.organization_id);
    out.push({
      key: `homework:${c.id}`, urgency: 95,
      title: `Do your homework${org ? ` on ${org.fields.name}` : ""} before talking with ${person.fields.name}`,
      why: `${daysBetween(today, day) === 0 ? "Today" : "Tomorrow"}: learn what they do; plan to ask about their story, not your needs.`,
      path: org ? `/organizations/${org.id}` : `/people/${pid}`,
      quick: { label: "Prepared", mutations: coming.map((x) =>
        ({ name: "set", entity: "conversation", id: x.id, fields: { prepared: true } })) },
    });
  }
  const held = talks.filter((c) => r.past(c)).sort((a, b) => text(b.fields.at, a.fields.at) || byId(a, b));
  if (held.length === 0) return;
  const thankedByFollowup = (c) => followups.some(
    (f) => f.fields.kind === "thank_you" && f.fields.done_at && f.fields.done_at >= c.fields.at,
  );
  const unthanked = held.filter((c) => !c.fields.thanked_at && !thankedByFollowup(c));
  if (unthanked.length && !followups.some((f) => !f.fields.done_at && f.fields.kind === "thank_you")) {
    const c = unthanked[0];
    const ago = daysBetween(dayOf(c.fields.at), today);
    out.push({
      // Late thanks grow more pressing, not less: a thank-you weeks late still counts.
      key: `thank:${c.id}`,
      urgency: thankUrgency(ago),
      title: `Thank ${person.fields.name}`,
      why: ago <= 0 ? "Sincere thanks, the same day if you can: it is what they remember."
        : ago === 1 ? "You talked yesterday: a short, sincere note still lands well."
          : ago > STALE_DAYS ? `You talked ${ago} days ago and never thanked them: a short note may still be welcome.`
            : `You talked ${ago} days ago and have not thanked them yet: a late thank-you still counts, send it now.`,
      path: `/people/${pid}`,
      quick: { label: "Thanked", mutations: [
        ...unthanked.map((x) => ({ name: "set", entity: "conversation", id: x.id, fields: { thanked_at: today } })),
        ...(person.fields.stage === "talked" ? [{ name: "set", entity: "person", id: pid, fields: { stage: "thanked" } }] : []),
      ] },
    });
  }
  const gaveNames = r.linked("referral", "from_person_id", pid).length > 0;
  const latest = held[0];
  if (!held.some((c) => c.fields.asked_for_referrals) && !gaveNames && latest.fields.fit !== "poor") {
    const ago = daysBetween(dayOf(latest.fields.at), today);
    out.push({
      key: `ask:${latest.id}`, urgency: (ago > STALE_DAYS ? BACKLOG.ask : 60) + freshness(ago),
      title: `Ask ${person.fields.name} who else you should talk to`,
      why: "\"Who else do you think I should talk to?\" keeps the chain going. Never pushy.",
      path: `/people/${pid}`,
      quick: { label: "Asked", mutations: [{ name: "set", entity: "conversation", id: latest.id, fields: { asked_for_referrals: true } }] },
    });
  }
}

/** Someone named but not contacted: contact them (once, whoever named them), tell the referrers. */
function referralSteps(r, to, referrals, out) {
  if (!["identified", null, undefined].includes(to.fields.stage)) return;
  const refs = [];
  for (const ref of referrals) {
    if (ref.fields.status === "declined") continue;
    if (!["suggested", "introduced", null].includes(ref.fields.status ?? null)) continue;
    const from = r.get(ref.fields.from_person_id);
    refs.push({ r: ref, from: from && !from.deleted ? from.fields.name : "a removed person" });
  }
  if (refs.length === 0) return;
  refs.sort((a, b) => byId(a.r, b.r));
  // Named in a conversation: as fresh as the latest one (a name from nowhere, an import, is
  // not backlog but comes after those of a date).
  let ago = null;
  for (const { r: ref } of refs) {
    const talk = r.get(ref.fields.conversation_id);
    if (!talk || talk.deleted || !talk.fields.at) continue;
    const days = daysBetween(dayOf(talk.fields.at), r.today);
    if (ago === null || days < ago) ago = days;
  }
  const names = [...new Set(refs.map((x) => x.from))];
  const by = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
  out.push({
    key: `referral:${refs[0].r.id}`,
    urgency: ago === null ? 70 : (ago > STALE_DAYS ? BACKLOG.referral : 70) + freshness(ago),
    title: `Contact ${to.fields.name}, referred by ${by}`,
    why: `Say that ${names[0]} suggested you write, then tell ${by} how it went.`,
    path: `/people/${to.id}`,
    quick: { label: "Contacted", mutations: [
      { name: "set", entity: "person", id: to.id, fields: { stage: "contacted" } },
      ...refs.map(({ r: x }) => ({ name: "set", entity: "referral", id: x.id, fields: { status: "contacted" } })),
    ] },
  });
}

/** Everything about one person (and the follow-ups naming them, even if they are unknown). */
function personSteps(r, pid, out) {
  const followups = r.linked("followup", "person_id", pid);
  dueSteps(r, followups, out);
  const p = r.get(pid);
  if (!p || p.deleted) return;
  // For their organization: have we talked (when last), is a follow-up with them open?
  const summary = { past: false, latest: -Infinity, latestAt: null, open: followups.some((f) => !f.fields.done_at) };
  const talks = [];
  for (const c of r.linked("conversation", "person_id", pid)) {
    const past = r.past(c);
    const at = c.fields.at ? Date.parse(c.fields.at) : NaN;
    if (past) summary.past = true;
    if (at > summary.latest) [summary.latest, summary.latestAt] = [at, c.fields.at];
    // Most conversations are past, thanked and asked about: nothing to do for them.
    if (!(past && c.fields.thanked_at && (c.fields.asked_for_referrals || c.fields.fit === "poor"))) talks.push(c);
  }
  r.summary = summary;
  if (talks.length) talkSteps(r, p, talks, followups, out);
  // Talked with a prospective supervisor: connect and follow up in a few months.
  if (p.entity === "person" && p.fields.hiring_authority && ["talked", "thanked"].includes(p.fields.stage) &&
    !followups.some((f) => !f.fields.done_at && f.fields.kind === "follow_up")) {
    out.push({
      key: `supervisor:${p.id}`, urgency: 45,
      title: `Connect with ${p.fields.name} on LinkedIn and follow up in a few months`,
      why: "No opening now is normal: stay on their bench.",
      path: `/people/${p.id}`,
      quick: { label: "Follow up in 3 months", mutations: [
        { name: "set", entity: "followup", id: null, fields: { person_id: p.id, organization_id: p.fields.organization_id, kind: "follow_up", due: addMonths(r.today, 3), note: `Follow up: ${p.fields.name}` } },
        { name: "set", entity: "person", id: p.id, fields: { stage: "following_up" } },
      ] },
    });
  }
  // Referred, or found by yourself: only someone not contacted yet has a step for it.
  if (!["identified", null, undefined].includes(p.fields.stage)) return;
  const referred = r.linked("referral", "to_person_id", pid);
  referralSteps(r, p, referred, out);
  if (p.entity !== "person") return;
  // Identified but not contacted (found by yourself: alumni, societies, friends…).
  // A follow-up already planned for them (a LinkedIn request, a note) is the step to take.
  if (p.fields.stage === "identified" && referred.length === 0 && !followups.some((f) => !f.fields.done_at)) {
    out.push({
      key: `reach:${p.id}`, urgency: 50,
      title: `Reach out to ${p.fields.name}`,
      why: "Explain your connection, introduce yourself briefly, and ask for their story.",
      path: `/people/${p.id}`,
      quick: { label: "Contacted", mutations: [{ name: "set", entity: "person", id: p.id, fields: { stage: "contacted" } }] },
    });
  }
}

/**
 * Everything about one organization (and the follow-ups about it and nobody in particular).
 * What it needs of the people there comes from their units (`about`), computed first: their
 * conversations are not read again here.
 */
function organizationSteps(r, oid, out) {
  const followups = r.linked("followup", "organization_id", oid);
  dueSteps(r, followups.filter((f) => f.fields.person_id === null || f.fields.person_id === undefined), out);
  const o = r.get(oid);
  if (!o || o.deleted || o.entity !== "organization") return;
  const there = r.linked("person", "organization_id", oid);
  const here = r.linked("conversation", "organization_id", oid);
  // Engaged: marked so, or being explored with a conversation already held there.
  const engaged = ["target", "engaged"].includes(o.fields.status) ||
    (["exploring", null, undefined].includes(o.fields.status) &&
      (here.some((c) => r.past(c)) || there.some((p) => r.about(p.id).past)));
  if (!engaged) return;
  if (there.length === 0) {
    out.push({
      key: `find:${oid}`, urgency: 30,
      title: `Find a connection at ${o.fields.name}`,
      why: "Search alumni and society directories, ask friends, check LinkedIn. A tenuous connection will do.",
      path: `/organizations/${oid}`,
    });
    return;
  }
  if (!there.some((p) => p.fields.hiring_authority)) {
    out.push({
      key: `aim:${oid}`, urgency: 40,
      title: `Aim for the prospective supervisor at ${o.fields.name}`,
      why: "Ask each person you talk to who leads the group you would join.",
      path: `/organizations/${oid}`,
    });
  }
  // The latest conversation there (instants compared as numbers; its local day once).
  let latest = -Infinity;
  let latestAt = null;
  for (const c of here) {
    const at = c.fields.at ? Date.parse(c.fields.at) : NaN;
    if (at > latest) [latest, latestAt] = [at, c.fields.at];
  }
  for (const p of there) {
    const them = r.about(p.id);
    if (them.latest > latest) [latest, latestAt] = [them.latest, them.latestAt];
  }
  const lastTalk = latestAt ? dayOf(latestAt) : undefined;
  const waiting = followups.some((f) => !f.fields.done_at) || there.some((p) => r.about(p.id).open);
  if (lastTalk && daysBetween(lastTalk, r.today) >= IDLE_DAYS && !waiting) {
    out.push({
      key: `idle:${oid}`, urgency: 20,
      title: `${o.fields.name} has gone quiet: a dead end?`,
      why: `Nothing since ${formatDay(lastTalk)}. Expect dead ends; start over with a new connection.`,
      path: `/organizations/${oid}`,
    });
  }
}

/** A follow-up about nobody and no organization. */
function loneSteps(r, fid, out) {
  const f = r.get(fid);
  if (f && f.entity === "followup" && !f.deleted &&
    (f.fields.person_id ?? f.fields.organization_id) == null) dueSteps(r, [f], out);
}

const UNITS = { p: personSteps, o: organizationSteps, f: loneSteps };

/** The unit a record belongs to (undefined for a record other units look up). */
function unitOf(record) {
  if (record.entity === "person") return `p:${record.id}`;
  if (record.entity === "organization") return `o:${record.id}`;
  if (record.entity !== "followup") return undefined;
  const { person_id: pid, organization_id: oid } = record.fields;
  if (pid !== null && pid !== undefined) return `p:${pid}`;
  if (oid !== null && oid !== undefined) return `o:${oid}`;
  return `f:${record.id}`;
}

/** Every unit of a store: people's and lone follow-ups' first, then organizations'. */
function allUnits(records) {
  const units = new Set();
  const of = (entity) => (records.of ? records.of(entity) : records.values());
  for (const entity of ["person", "organization", "followup"]) {
    for (const record of of(entity)) {
      if (record.entity !== entity) continue;
      units.add(unitOf(record));
    }
  }
  return [...units].sort((a, b) => (a[0] === "o") - (b[0] === "o"));
}

/** One unit's steps, what it read, when it expires, and (a person's) what it found. */
function compute(records, when, key, track, summaries) {
  const reader = new Reader(records, when, track, summaries);
  const actions = [];
  UNITS[key[0]](reader, key.slice(2), actions);
  return { actions, reads: reader.reads, expires: reader.expires, summary: reader.summary };
}

const sameSummary = (a, b) => a === b || (a !== null && b !== null && a.past === b.past &&
  a.latestAt === b.latestAt && a.open === b.open);

/**
 * Every step, computed from scratch.
 * @param {Map<string, object>} records the current view
 * @param {{today: string, now: string}} when local date and ISO time
 * @returns {object[]} actions, most urgent first
 */
export function nextSteps(records, when) {
  const actions = [];
  const summaries = new Map();
  for (const key of allUnits(records)) {
    const unit = compute(records, when, key, false, (pid) => summaries.get(pid));
    if (unit.summary) summaries.set(key.slice(2), unit.summary);
    actions.push(...unit.actions);
  }
  return actions.sort(compareActions);
}

/**
 * The steps of one person or organization, as Today has them: their page shows them too (a
 * lunch not thanked said "Thank Rosa" on Today while her page said nothing of it).
 * @param {Map<string, object>} records
 * @param {"person"|"organization"} entity
 * @param {string} id
 * @param {{today: string, now: string}} when
 * @returns {object[]} actions, most urgent first
 */
export function stepsOf(records, entity, id, when) {
  const found = new Map(); // an organization's unit reads what its people's units found
  const summaries = (pid) => {
    if (!found.has(pid)) found.set(pid, compute(records, when, `p:${pid}`, false, () => null).summary);
    return found.get(pid);
  };
  const key = `${entity === "person" ? "p" : "o"}:${id}`;
  return compute(records, when, key, false, summaries).actions.sort(compareActions);
}

/**
 * Coming up: an open follow-up due after today, or a conversation still to come (a scheduled
 * call, a lunch later today).
 */
function comingUp(r, { today, now }) {
  if (r.deleted) return false;
  if (r.entity === "followup") return !r.fields.done_at && Boolean(r.fields.due) && r.fields.due > today;
  return r.entity === "conversation" && Boolean(r.fields.at) && r.fields.at > now;
}
/**
 * Coming up's entry for a record, ordered by `due`: the day, then (a conversation) its time,
 * after that day's follow-ups. A conversation keeps its time (`at`) to leave when it begins.
 */
const soonItem = (r) => (r.entity === "conversation"
  ? { due: `${dayOf(r.fields.at)} ${r.fields.at}`, id: r.id, at: r.fields.at }
  : { due: r.fields.due, id: r.id });
const bySoon = (a, b) => text(a.due, b.due) || text(a.id, b.id);

/** Did a unit read what it read before (most edits change values, not what refers to what)? */
function sameReads(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Where `item` is (or would go) in `list`, sorted by `compare`. */
const position = (list, item, compare) => firstNotBelow(list, (x) => compare(x, item) < 0);

/**
 * Today's steps kept up to date: `note` what changed (the state's change events), `read` the
 * steps. The first read computes every unit; later ones compute again only the units touched
 * by what changed since (and those whose conversation has now begun). A new day, a new copy
 * of the store or a change to most of it computes everything again. `readSoon` does the same
 * work a slice at a time while the page answers, when there is more than a slice of it (at
 * start, or while a sync brings thousands of records).
 */
export class NextSteps {
  /** @param {{slice?: number}} [options] ms of work per slice of `readSoon` */
  constructor({ slice = SLICE_MS } = {}) {
    this.slice = slice;
    this.records = null;
    this.when = null;
    /** callbacks waiting for work done a slice at a time */
    this.waiters = [];
    this.reset();
  }

  reset() {
    /** @type {Map<string, {actions: object[], reads: string[], summary: object|null}>} unit ->
     * what it gave, read and (a person's) found */
    this.units = new Map();
    /** @type {Map<string, string|string[]>} record id or lookup -> the units that read it */
    this.readers = new Map();
    /** @type {Map<string, string>} unit -> the earliest future conversation it looked at */
    this.expiring = new Map();
    /** every step, in Today's order */
    this.actions = [];
    /** open follow-ups due after today and conversations to come, soonest first: [{due, id, at?}] */
    this.upcoming = [];
    this.upcomingDue = new Map();
    this.dirty = new Set();
    this.stale = true;
    /**
     * Units being computed: {all, keys, next, later, gone, added, timer}. `all`: every unit
     * (the steps are replaced when done); otherwise those touched by changes, people's first,
     * then organizations' (`later`: theirs, and those reading a person's unit that changed).
     */
    this.job = null;
  }

  /**
   * What changed (a state's change event): `ids` null means anything may have (a load).
   * @param {Map<string, object>} records the records now shown
   * @param {Iterable<string>|null} ids
   */
  note(records, ids) {
    if (!ids || records !== this.records) {
      this.records = records;
      this.stale = true;
      this.job = null;
      this.dirty.clear();
      return;
    }
    if (this.stale) return;
    for (const id of ids) this.dirty.add(id);
  }

  /**
   * The steps as of `when`, most urgent first, and what is coming up: open follow-ups and
   * conversations still to come (ids, soonest first). Both arrays are the engine's own: read them, do not change them.
   * @param {Map<string, object>} records
   * @param {{today: string, now: string}} when
   * @returns {{actions: object[], upcoming: string[]}}
   */
  read(records, when) {
    while (this.#start(records, when)) this.#work(Infinity);
    return this.#result();
  }

  /**
   * Like `read`, but work longer than a slice goes on while the page is idle: null meanwhile,
   * and `then()` once it is done (read again then).
   */
  readSoon(records, when, then) {
    // Work to do is started, and done at once if a slice is enough (what changed meanwhile too).
    for (let round = 0; round < 2 && this.#start(records, when); round++) {
      if (this.#work(this.slice)) continue;
      this.waiters.push(then);
      this.#schedule();
      return null;
    }
    return this.#result();
  }

  /** Is a view waiting for work under way, done a slice at a time (`readSoon`)? */
  get awaited() {
    return this.job !== null && this.waiters.length > 0;
  }

  #result() {
    return { actions: this.actions, upcoming: this.upcoming.map((x) => x.id) };
  }

  /** Start what `when` and the changes call for (unless under way): is there work to do? */
  #start(records, when) {
    if (records !== this.records) this.note(records, null);
    // A new day, a clock set back; or more records changed than there are units (a first
    // sync): then computing everything again is cheaper than one change at a time.
    const most = !this.job && this.dirty.size > 2000 && this.dirty.size > this.units.size;
    if (this.stale || most || when.today !== this.when?.today || when.now < this.when.now) {
      this.reset();
      this.stale = false;
      this.when = when;
      this.job = { all: true, keys: allUnits(this.records), next: 0, later: new Set(), gone: null, added: [],
        switched: true, timer: null };
      return true;
    }
    if (this.job) return true;
    this.when = when;
    const keys = new Set();
    for (const id of this.dirty) {
      this.#readersOf(id, keys);
      const record = this.records.get(id);
      this.#placeUpcoming(id, record);
      if (!record) continue;
      const own = unitOf(record);
      if (own) keys.add(own);
      // Units that looked up what it refers to now (it may be new among their records).
      for (const field of REFS[record.entity] ?? []) {
        const target = record.fields[field];
        if (target !== null && target !== undefined) this.#readersOf(lookup(record.entity, field, target), keys);
      }
    }
    this.dirty.clear();
    // Conversations that have begun leave coming up: they are first in it (follow-ups there
    // are due tomorrow or later; conversations of today come before them, by time).
    while (this.upcoming.length && this.upcoming[0].at && this.upcoming[0].at <= when.now) {
      this.upcomingDue.delete(this.upcoming.shift().id);
    }
    for (const [key, at] of this.expiring) if (at <= when.now) keys.add(key);
    if (keys.size === 0) return false;
    const first = [];
    const later = new Set();
    for (const key of keys) {
      if (key[0] === "o") later.add(key);
      else first.push(key);
    }
    this.job = { all: false, keys: first, next: 0, later, gone: new Set(), added: [], switched: false, timer: null };
    return true;
  }

  /** Compute units of the job for `budget` ms at most; true when it is done. */
  #work(budget) {
    const job = this.job;
    const start = performance.now();
    for (;;) {
      if (job.next === job.keys.length) {
        if (job.later.size === 0) break;
        // People done: now the organizations' units, which read what theirs found.
        job.keys = [...job.later];
        job.next = 0;
        job.later = new Set();
        job.switched = true; // from here on, nothing is added to `later`
        continue;
      }
      const key = job.keys[job.next++];
      const before = this.units.get(key);
      if (!job.all) for (const action of before?.actions ?? []) job.gone.add(action);
      for (const action of this.#run(key)) job.added.push(action);
      if (!job.switched && key[0] === "p" &&
        !sameSummary(before?.summary ?? null, this.units.get(key).summary)) {
        this.#readersOf(summaryKey(key.slice(2)), job.later);
      }
      if ((job.next & 15) === 0 && performance.now() - start > budget) return false;
    }
    this.job = null;
    if (job.all) {
      this.actions = job.added.sort(compareActions);
      for (const entity of ["followup", "conversation"]) {
        for (const r of this.records.of ? this.records.of(entity) : this.records.values()) {
          if (!comingUp(r, this.when)) continue;
          const item = soonItem(r);
          this.upcoming.push(item);
          this.upcomingDue.set(r.id, item.due);
        }
      }
      this.upcoming.sort(bySoon);
    } else {
      const kept = job.gone.size ? this.actions.filter((a) => !job.gone.has(a)) : this.actions;
      this.actions = mergeSorted(kept, job.added.sort(compareActions), compareActions);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const then of waiters) queueMicrotask(then);
    return true;
  }

  /**
   * The next slice, when the page is idle (a sync, a keystroke go first), or after a while
   * anyway. An abandoned job (a new copy of the store) stops there.
   */
  #schedule() {
    const job = this.job;
    if (job.timer !== null) return;
    const slice = (deadline) => {
      job.timer = null;
      if (this.job !== job) return;
      if (deadline.didTimeout) {
        if (!this.#work(this.slice)) this.#schedule();
        return;
      }
      // The idle period is used to its end, a slice at a time, and given back at once where
      // the browser says input is waiting. One slice per idle period (up to 50 ms) left most
      // of it unused: after a first sync of 76,000 records (a Pixel 7 at 4x), Today's steps
      // came 8.8 s after "Synced at", 3.8 s with this, 2.2-2.7 s with the search's warm-up
      // waiting for them (search.js).
      const pending = globalThis.navigator?.scheduling?.isInputPending?.bind(navigator.scheduling);
      for (;;) {
        if (this.#work(Math.min(this.slice, deadline.timeRemaining()))) return;
        if (!pending || pending() || deadline.timeRemaining() < 1) break;
      }
      this.#schedule();
    };
    job.timer = globalThis.requestIdleCallback
      ? requestIdleCallback(slice, { timeout: 1000 })
      : setTimeout(() => slice({ didTimeout: true }), 0);
  }

  /** Compute one unit again, noting what it read instead of what it read before. */
  #run(key) {
    const before = this.units.get(key);
    const unit = compute(this.records, this.when, key, true, (pid) => this.units.get(`p:${pid}`)?.summary);
    if (!before || !sameReads(before.reads, unit.reads)) {
      if (before) for (const dep of before.reads) this.#unread(dep, key);
      for (const dep of unit.reads) this.#read(dep, key);
    }
    this.units.set(key, { actions: unit.actions, reads: unit.reads, summary: unit.summary });
    if (unit.expires === null) this.expiring.delete(key);
    else this.expiring.set(key, unit.expires);
    return unit.actions;
  }

  #readersOf(dep, into) {
    const readers = this.readers.get(dep);
    if (readers === undefined) return;
    if (typeof readers === "string") into.add(readers);
    else for (const key of readers) into.add(key);
  }

  #read(dep, key) {
    const readers = this.readers.get(dep);
    if (readers === undefined) this.readers.set(dep, key);
    else if (typeof readers === "string") {
      if (readers !== key) this.readers.set(dep, [readers, key]);
    } else if (!readers.includes(key)) readers.push(key);
  }

  #unread(dep, key) {
    const readers = this.readers.get(dep);
    if (readers === key) this.readers.delete(dep);
    else if (Array.isArray(readers)) {
      const at = readers.indexOf(key);
      if (at >= 0) readers.splice(at, 1);
      if (readers.length === 1) this.readers.set(dep, readers[0]);
    }
  }

  #placeUpcoming(id, record) {
    const due = this.upcomingDue.get(id);
    if (due !== undefined) {
      const at = position(this.upcoming, { due, id }, bySoon);
      if (this.upcoming[at]?.id === id) this.upcoming.splice(at, 1);
      this.upcomingDue.delete(id);
    }
    if (record && comingUp(record, this.when)) {
      const item = soonItem(record);
      this.upcoming.splice(position(this.upcoming, item, bySoon), 0, item);
      this.upcomingDue.set(id, item.due);
    }
  }
}
