/**
 * The domain model as the server's sync/_schema.py defines it (a test keeps them equal).
 * Types: str, text, set, enum, bool, int, date, datetime, ref, any.
 */

const f = (type, extra = {}) => ({ type, ...extra });
const ref = (entity, required = false) => ({ type: "ref", ref: entity, required });
const en = (...choices) => ({ type: "enum", choices });

export const ORGANIZATION_STATUS = ["exploring", "target", "engaged", "not_a_fit", "archived"];
export const FOUND_VIA = [
  "alumni", "professional_org", "friend", "linkedin", "referral", "conference", "cold", "other",
];
export const STAGES = [
  "identified", "contacted", "scheduled", "talked", "thanked", "following_up", "dormant",
  "not_a_fit",
];
export const CONVERSATION_KINDS = [
  "email", "call", "video", "lunch", "coffee", "meeting", "conference", "other",
];

export const ENTITIES = {
  organization: {
    name: f("str", { required: true }),
    website: f("str"),
    field: f("str"),
    location: f("str"),
    status: en(...ORGANIZATION_STATUS),
    why: f("text"),
    homework: f("text"),
    tags: f("set"),
    not_duplicates: f("set"),
  },
  person: {
    name: f("str", { required: true }),
    organization_id: ref("organization"),
    title: f("str"),
    department: f("str"),
    emails: f("set"),
    phones: f("set"),
    linkedin_url: f("str"),
    found_via: en(...FOUND_VIA),
    found_via_detail: f("str"),
    stage: en(...STAGES),
    hiring_authority: f("bool"),
    strength: f("int", { minimum: 0, maximum: 5 }),
    tags: f("set"),
    notes: f("text"),
    not_duplicates: f("set"),
  },
  conversation: {
    person_id: ref("person", true),
    organization_id: ref("organization"),
    kind: en(...CONVERSATION_KINDS),
    at: f("datetime"),
    place: f("str"),
    duration_min: f("int", { minimum: 0, maximum: 100000 }),
    prepared: f("bool"),
    notes: f("text"),
    culture: f("text"),
    prospects: f("text"),
    projects: f("text"),
    fit: en("good", "unsure", "poor", "unknown"),
    asked_for_referrals: f("bool"),
    thanked_at: f("date"),
  },
  referral: {
    from_person_id: ref("person", true),
    to_person_id: ref("person", true),
    conversation_id: ref("conversation"),
    note: f("text"),
    status: en("suggested", "introduced", "contacted", "talked", "declined"),
  },
  followup: {
    person_id: ref("person"),
    organization_id: ref("organization"),
    due: f("date", { required: true }),
    kind: en("thank_you", "follow_up", "connect", "send_info", "other"),
    note: f("text"),
    done_at: f("datetime"),
  },
  conflict: {
    entity: f("str"),
    record_id: f("str"),
    field: f("str"),
    kept: f("any"),
    lost: f("any"),
    lost_hlc: f("str"),
    lost_client: f("str"),
    status: en("open", "resolved"),
  },
};

/** Every field of an entity, unset: null, or [] for a set. */
export function emptyFields(entity) {
  const fields = {};
  for (const [name, spec] of Object.entries(ENTITIES[entity])) {
    fields[name] = spec.type === "set" ? [] : null;
  }
  return fields;
}
