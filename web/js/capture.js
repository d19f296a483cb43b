/**
 * Quick capture of a conversation: what the form holds becomes the mutations to queue.
 * A new name becomes a person; each name under "who else should I talk to?" becomes a person
 * linked by a referral from the person met; each chosen follow-up becomes a follow-up record.
 */

import { addDays, addMonths, isoDate } from "./dates.js";
import { linked, live } from "./model.js";
import { normalize } from "./search.js";

/** The follow-ups offered as one-tap chips: kind, label, and when each is due. */
export const FOLLOWUP_CHOICES = {
  thanks: { kind: "thank_you", label: "Send thanks tonight", note: "Send a thank-you", due: (d) => d },
  linkedin: { kind: "connect", label: "Connect on LinkedIn", note: "Connect on LinkedIn", due: (d) => d },
  three_months: { kind: "follow_up", label: "Follow up in 3 months", note: "Follow up", due: (d) => addMonths(d, 3) },
  next_week: { kind: "follow_up", label: "Follow up next week", note: "Follow up", due: (d) => addDays(d, 7) },
};

/** A conversation's one-line title: "Lunch with Dana Ortiz". */
export function conversationTitle(records, c) {
  const person = records.get(c.fields.person_id);
  const kind = c.fields.kind ? c.fields.kind.replaceAll("_", " ") : "conversation";
  const who = person && !person.deleted ? person.fields.name : "a removed person";
  return `${kind[0].toUpperCase()}${kind.slice(1)} with ${who}`;
}

/** Defaults for a new capture: lunch when a place is given, now as the time. */
export function captureDefaults({ now = new Date(), place = "" } = {}) {
  const at = new Date(now);
  at.setSeconds(0, 0);
  return { kind: place ? "lunch" : "call", at: at.toISOString(), place };
}

/** People whose name (or organization's name) matches the query, best first; case and accents ignored. */
export function searchPeople(records, query, limit = 8) {
  const q = normalize(query);
  if (!q) return [];
  const orgs = new Map(live(records, "organization").map((o) => [o.id, normalize(o.fields.name)]));
  const scored = [];
  for (const p of live(records, "person")) {
    const name = normalize(p.fields.name);
    const org = orgs.get(p.fields.organization_id) ?? "";
    let score = -1;
    if (name.startsWith(q)) score = 3;
    else if (name.split(" ").some((w) => w.startsWith(q))) score = 2;
    else if (name.includes(q) || org.includes(q)) score = 1;
    if (score >= 0) scored.push({ p, score });
  }
  scored.sort((a, b) => b.score - a.score || a.p.fields.name.localeCompare(b.p.fields.name));
  return scored.slice(0, limit).map((s) => s.p);
}

/** Organizations whose name matches the query, best first; case and accents ignored. */
export function searchOrganizations(records, query, limit = 6) {
  const q = normalize(query);
  if (!q) return [];
  const scored = [];
  for (const o of live(records, "organization")) {
    const name = normalize(o.fields.name);
    const score = name.startsWith(q) ? 2 : name.split(" ").some((w) => w.startsWith(q)) ? 1 : name.includes(q) ? 0 : -1;
    if (score >= 0) scored.push({ o, score });
  }
  scored.sort((a, b) => b.score - a.score || a.o.fields.name.localeCompare(b.o.fields.name));
  return scored.slice(0, limit).map((s) => s.o);
}

const HONORIFIC = /^(dr|prof|mr|mrs|ms|mx|sir|dame)\.?\s+/i;
const SUFFIX = /^(jr|sr|ii|iii|iv|phd|ph\.d|md|esq)\.?$/i;
const QUOTES = { '"': '"', "“": "”", "„": "“", "«": "»", "'": "'", "‘": "’", "「": "」" };

/** The key two names are compared by: no honorific, no case, no accents. */
export const nameKey = (name) => normalize(String(name).replace(HONORIFIC, ""));

/**
 * `nameKey(name ?? "") === key`, for a look through everyone (10,000 people): a plain ASCII
 * name is compared with the key a character at a time, without making its key, and most differ
 * at the first. (A name's ASCII start, up to a character that is not a space, starts its key
 * the same way whatever follows; a name with anything else is keyed whole.)
 * @param {string} key a `nameKey`
 * @returns {(name: unknown) => boolean}
 */
export function hasNameKey(key) {
  return (name) => {
    let raw = String(name ?? "");
    const first = raw.charCodeAt(0) | 0x20; // d, m, p, s: perhaps an honorific
    if ((first === 0x64 || first === 0x6d || first === 0x70 || first === 0x73) && HONORIFIC.test(raw)) {
      raw = raw.replace(HONORIFIC, "");
    }
    let at = 0;
    let gap = false;
    for (let i = 0; i < raw.length; i++) {
      let c = raw.charCodeAt(i);
      if (c > 0x7f) return nameKey(name ?? "") === key;
      if (c <= 0x20 || c === 0x7f) {
        gap = at > 0; // spaces and controls: one space, none at the ends
        continue;
      }
      if (gap) {
        if (key.charCodeAt(at) !== 0x20) return false;
        at += 1;
        gap = false;
      }
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (key.charCodeAt(at) !== c) return false;
      at += 1;
    }
    return at === key.length;
  };
}

/** One line of "who else": {name, title}, or null for an empty line. */
function parseLine(raw) {
  let line = raw.trim().replace(/^(?:[-*•·]|\d+[.)])\s+/, "").trim();
  if (!line) return null;
  let name;
  let rest = "";
  const close = QUOTES[line[0]];
  const end = close ? line.indexOf(close, 1) : -1;
  if (close && end > 1) {
    name = line.slice(1, end);
    rest = line.slice(end + 1);
  } else {
    const paren = /^(.+?)\s*[(（](.+?)[)）]?\s*$/u.exec(line);
    if (paren) {
      name = paren[1];
      rest = paren[2];
    } else {
      // The first separator: a spaced hyphen, an en or em dash, or a comma (any script's).
      const sep = /\s+-\s+|\s*[—–]\s*|\s*[,，、]\s*/u.exec(line);
      if (sep) {
        name = line.slice(0, sep.index);
        rest = line.slice(sep.index + sep[0].length);
        // "John Smith, Jr., CTO": the suffix belongs to the name.
        const next = /^([^,，、]+?)\s*(?:[,，、]\s*|$)/u.exec(rest);
        if (next && SUFFIX.test(next[1].trim())) {
          name = `${name}, ${next[1].trim()}`;
          rest = rest.slice(next[0].length);
        }
      } else {
        name = line;
      }
    }
  }
  name = name.replace(/\s+/g, " ").trim();
  const title = rest.replace(/^[\s,，、:—–(（-]+/u, "").replace(/[)）]\s*$/u, "").replace(/\s+/g, " ").trim();
  return name ? { name, title: title || null } : null;
}

/**
 * Who else to talk to, one person a line (or separated by semicolons): "Name", "Name, role",
 * "Name — role", "Name (role)", or a quoted name that holds a comma. Repeats are dropped.
 * @returns {{name: string, title: string|null}[]}
 */
export function parseReferrals(text) {
  const seen = new Set();
  const out = [];
  for (const line of splitLines(text)) {
    const parsed = parseLine(line);
    if (!parsed) continue;
    const key = nameKey(parsed.name);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(parsed);
  }
  return out;
}

/** Lines, and semicolons outside quotes. */
function splitLines(text) {
  const out = [];
  let current = "";
  let closing = null;
  for (const ch of String(text)) {
    if (closing) {
      if (ch === closing) closing = null;
      current += ch;
    } else if (ch === "\n" || ch === ";" || ch === "；") {
      out.push(current);
      current = "";
    } else {
      if (QUOTES[ch] && !current.trim()) closing = QUOTES[ch];
      current += ch;
    }
  }
  out.push(current);
  return out;
}

/**
 * Who was met, as typed in capture's "Who did you talk with?": the same forms as a referral
 * line ("Name, role", "Name (role)"…), so a role typed there is a title, not part of the name.
 * @returns {{name: string, title: string|null}|null}
 */
export function parseWho(text) {
  return parseLine(String(text).replace(/[\n;；].*$/s, ""));
}

/** Names only (the referrals' names). */
export function parseNames(text) {
  return parseReferrals(text).map((r) => r.name);
}

/** Stages a conversation moves a person on from: a past one to "talked", a future one to "scheduled". */
const BEFORE_TALKED = ["identified", "contacted", "scheduled", null, undefined];
const BEFORE_SCHEDULED = ["identified", "contacted", null, undefined];

/**
 * Someone in `records` whose name is `name` as nameKey compares them (not deleted), or null: a
 * look through everyone (10,000 people), so a view does it when a name is picked, not in the
 * keystroke that writes the capture (`personIsNew`).
 */
export function namesakeOf(records, name) {
  const same = hasNameKey(nameKey(name));
  for (const p of records.of ? records.of("person") : records.values()) {
    if (p.entity === "person" && !p.deleted && same(p.fields.name)) return p;
  }
  return null;
}

/** The stage a person should have after a conversation at `at`, or null to leave theirs. */
export function stageAfter(current, at, now) {
  const future = Boolean(at) && at > now;
  if (future) return BEFORE_SCHEDULED.includes(current) ? "scheduled" : null;
  return BEFORE_TALKED.includes(current) ? "talked" : null;
}

/**
 * The mutations (name, args) that record a capture. Ids come from `newId` so tests can fix them.
 * A conversation dated after `now` is scheduled, not held: the person's stage becomes
 * "scheduled" and nothing that assumes it happened (follow-ups done, referrals) is written.
 * @param {Map<string, object>} records the current view
 * @param {object} form {personId?, personName?, personIsNew?: (the caller looked for personName's
 *   namesake already, with `namesakeOf`, and found none), personTitle?, organizationId?, newOrganization?: {id, name},
 *   kind, at, place, notes, culture, prospects, projects, fit, referrals: (string|{name,
 *   title})[], referralsAtOrganization?: boolean (default true), followups: string[]
 *   (FOLLOWUP_CHOICES keys), conversationId?}
 * @param {{newId: () => string, today: string, now: string, base: (id: string) => number}} ctx
 * @returns {{conversationId: string, personId: string, created: string[], mutations: {name: string, args: object}[]}}
 */
export function planCapture(records, form, ctx) {
  const mutations = [];
  const created = [];
  const set = (entity, id, fields) =>
    mutations.push({ name: "set", args: { entity, id, base: ctx.base(id), fields } });
  const future = Boolean(form.at) && form.at > ctx.now;

  let personId = form.personId;
  let person = personId ? records.get(personId) : null;
  if (!person && form.personName && !form.personIsNew) {
    person = namesakeOf(records, form.personName);
    personId = person?.id;
  }
  let organizationId = form.organizationId ?? person?.fields.organization_id ?? null;
  if (form.newOrganization) {
    organizationId = form.newOrganization.id;
    created.push(organizationId);
    // Talking with someone there is engaging with it: the supervisor rule applies at once.
    set("organization", organizationId, { name: form.newOrganization.name.trim(), status: "engaged" });
  }
  if (!personId) {
    personId = ctx.newId();
    created.push(personId);
    set("person", personId, {
      name: form.personName.trim(), title: form.personTitle || null, organization_id: organizationId,
      stage: future ? "scheduled" : "talked",
      found_via: form.place ? "conference" : "other",
      found_via_detail: form.place || null,
    });
  } else {
    const fields = {};
    const stage = stageAfter(person?.fields.stage, form.at, ctx.now);
    if (stage) fields.stage = stage;
    if (organizationId && !person?.fields.organization_id) fields.organization_id = organizationId;
    if (Object.keys(fields).length) set("person", personId, fields);
  }

  const conversationId = form.conversationId ?? ctx.newId();
  created.push(conversationId);
  const referrals = future ? [] : form.referrals ?? [];
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
  const referralPlan = planReferrals(records, {
    personId, conversationId, metName, names: referrals,
    organizationId: form.referralsAtOrganization === false ? null : organizationId,
  }, ctx);
  mutations.push(...referralPlan);

  if (!future) {
    // Talking with someone resets their follow-up: the open ones are done now (their own
    // follow-ups, read from the reference index: not a scan of everyone's).
    for (const f of linked(records, "followup", "person_id", personId)) {
      if (!f.fields.done_at && f.fields.kind === "follow_up") {
        set("followup", f.id, { done_at: ctx.now });
      }
    }
  }
  for (const key of form.followups ?? []) {
    const plan = planFollowup({ personId, organizationId, metName, key }, ctx);
    created.push(plan.id);
    mutations.push(plan.mutation);
  }
  for (const m of referralPlan) if (m.args.base === 0) created.push(m.args.id);
  return { conversationId, personId, created, mutations };
}

/** The fields of someone new named under "who else": a name, maybe a title, who named them. */
export function referredPerson({ name, title = null }, { organizationId, metName }) {
  return {
    name, title, organization_id: organizationId ?? null, stage: "identified", found_via: "referral",
    found_via_detail: `Referred by ${metName}`,
  };
}

/**
 * People named under "who else should I talk to?": each a person (new, or the one of that
 * name already known) and a referral from the person met. A name is a string or {name, title};
 * a new person gets the title and `organizationId` (null: the organization is not theirs).
 * `ctx.known(entry, person, referralId, titled)`, if given, hears of each name taken as someone
 * known (`titled`: the title typed was given to them).
 */
export function planReferrals(records, { personId, conversationId, organizationId, metName, names }, ctx) {
  const mutations = [];
  const set = (entity, id, fields) =>
    mutations.push({ name: "set", args: { entity, id, base: ctx.base(id), fields } });
  for (const named of names) {
    const entry = typeof named === "string" ? { name: named } : named;
    const known = namesakeOf(records, entry.name);
    const titled = Boolean(known && entry.title && !known.fields.title);
    let toId = known?.id;
    if (!toId) {
      toId = ctx.newId();
      set("person", toId, referredPerson(entry, { organizationId, metName }));
    } else if (titled) {
      set("person", toId, { title: entry.title });
    }
    const referralId = ctx.newId();
    set("referral", referralId, {
      from_person_id: personId, to_person_id: toId, conversation_id: conversationId,
      status: "suggested",
    });
    if (known) ctx.known?.(entry, known, referralId, titled);
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
