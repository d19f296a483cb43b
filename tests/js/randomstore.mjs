/**
 * Random networks and random edits to them, for tests that compare what is kept up to date
 * with what is computed from scratch. Seeded: a failure names its seed and replays.
 */
import { Records } from "../../web/js/model.js";
import { rec } from "./fixtures.mjs";

/** A small seeded generator (mulberry32). */
export function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (list) => list[int(list.length)];
  return { next, int, pick, chance: (p) => next() < p };
}

const STAGES = ["identified", "contacted", "scheduled", "talked", "thanked", "following_up", "dormant", null];
const STATUS = ["exploring", "target", "engaged", "not_a_fit", "archived", null];
const REFERRAL = ["suggested", "introduced", "contacted", "talked", "declined", null];
const KINDS = ["thank_you", "follow_up", "connect", "send_info", null];
const NAMES = ["Ada", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal"];

const pad = (n) => String(n).padStart(2, "0");
/** A day around 2026-11-26 (from a month before to a week after). */
const day = (rnd) => {
  const d = new Date(Date.UTC(2026, 10, 26 + rnd.int(38) - 30));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
};
/** An instant around then, often on 2026-11-26 itself (so some pass while the test runs). */
const instant = (rnd) => (rnd.chance(0.3)
  ? `2026-11-26T${pad(rnd.int(24))}:${pad(rnd.int(60))}:00.000Z`
  : `${day(rnd)}T${pad(rnd.int(24))}:${pad(rnd.int(60))}:${pad(rnd.int(60))}.000Z`);

/** Random fields of an entity, referring to records in `ids` (or to someone unknown). */
export function fieldsOf(rnd, entity, ids) {
  const ref = (list, p = 0.9) => (rnd.chance(p) && list.length ? rnd.pick(list) : rnd.chance(0.5) ? null : "unknown");
  switch (entity) {
    case "organization":
      return { name: `${rnd.pick(NAMES)} Labs`, status: rnd.pick(STATUS) };
    case "person":
      return { name: `${rnd.pick(NAMES)} ${rnd.int(100)}`, stage: rnd.pick(STAGES),
        organization_id: ref(ids.organization, 0.8), hiring_authority: rnd.chance(0.3), strength: rnd.int(6) };
    case "conversation":
      return { person_id: ref(ids.person, 0.95), organization_id: rnd.chance(0.5) ? ref(ids.organization) : null,
        at: rnd.chance(0.9) ? instant(rnd) : null, thanked_at: rnd.chance(0.5) ? day(rnd) : null,
        asked_for_referrals: rnd.chance(0.5), fit: rnd.pick(["good", "unsure", "poor", null]),
        prepared: rnd.chance(0.3) };
    case "referral":
      return { from_person_id: ref(ids.person), to_person_id: ref(ids.person), status: rnd.pick(REFERRAL) };
    case "followup":
      return { person_id: rnd.chance(0.7) ? ref(ids.person) : null,
        organization_id: rnd.chance(0.5) ? ref(ids.organization) : null, due: day(rnd), kind: rnd.pick(KINDS),
        note: rnd.chance(0.5) ? "Follow up" : null, done_at: rnd.chance(0.4) ? instant(rnd) : null };
    default:
      return {};
  }
}

export const ENTITY_NAMES = ["organization", "person", "conversation", "referral", "followup"];

/** A random network of about `size` records. */
export function randomStore(rnd, size) {
  const records = new Records();
  const ids = Object.fromEntries(ENTITY_NAMES.map((e) => [e, []]));
  const counts = { organization: 0.1, person: 0.3, conversation: 0.3, referral: 0.15, followup: 0.15 };
  for (const entity of ENTITY_NAMES) {
    for (let i = 0; i < Math.max(1, Math.round(size * counts[entity])); i++) {
      const r = rec(entity, fieldsOf(rnd, entity, ids));
      records.set(r.id, r);
      ids[entity].push(r.id);
    }
  }
  return { records, ids };
}

/**
 * One random edit, made the way the app makes them (a changed copy replaces the record):
 * a field or a few changed, a record deleted or brought back, a new one, one forgotten.
 * @returns {string[]} the ids it changed
 */
export function randomEdit(rnd, { records, ids }) {
  const entity = rnd.pick(ENTITY_NAMES);
  const roll = rnd.next();
  if (roll < 0.12 || ids[entity].length === 0) {
    const r = rec(entity, fieldsOf(rnd, entity, ids));
    records.set(r.id, r);
    ids[entity].push(r.id);
    return [r.id];
  }
  const id = rnd.pick(ids[entity]);
  const old = records.get(id);
  if (roll < 0.17) {
    if (!old) return [];
    records.delete(id); // a record shown only from the outbox, its mutation undone
    return [id];
  }
  if (!old) {
    const r = rec(entity, fieldsOf(rnd, entity, ids), id);
    records.set(id, r);
    return [id];
  }
  if (roll < 0.27) {
    records.set(id, { ...old, deleted: !old.deleted });
    return [id];
  }
  const fresh = fieldsOf(rnd, entity, ids);
  const names = Object.keys(fresh);
  const fields = { ...old.fields };
  for (let n = 1 + rnd.int(2); n > 0; n--) {
    const name = rnd.pick(names);
    fields[name] = fresh[name];
  }
  records.set(id, { ...old, fields });
  return [id];
}
