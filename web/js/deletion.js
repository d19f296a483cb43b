/**
 * What deleting a record takes with it. A person's conversations and open follow-ups go with
 * them (done follow-ups too: they are about nobody now); referral edges stay, as history, and
 * are drawn as "removed person". An organization's people and conversations stay, without the
 * organization; its own open follow-ups go. A referral never points at a deleted
 * conversation: it moves to the giver's nearest other conversation, or keeps no conversation
 * (the person who gave the name stays its source).
 *
 * Pure: it returns the mutations, the caller queues them (after an undo window).
 */

import { live } from "./model.js";

/**
 * @param {Map<string, object>} records the current view
 * @param {"person"|"organization"|"conversation"|"followup"|"referral"} entity
 * @param {string} id
 * @param {(id: string) => number} base the version each record was last pulled at
 * @returns {{mutations: {name: string, args: object}[], summary: string}}
 */
export function planDeletion(records, entity, id, base) {
  const mutations = [];
  const del = (record) =>
    mutations.push({ name: "delete", args: { entity: record.entity, id: record.id, base: base(record.id) } });
  const set = (record, fields) =>
    mutations.push({ name: "set", args: { entity: record.entity, id: record.id, base: base(record.id), fields } });
  const target = records.get(id);
  if (!target || target.deleted || target.entity !== entity) return { mutations, summary: "" };
  const counts = { conversation: 0, followup: 0, person: 0, moved: 0 };
  const gone = new Set(); // conversations deleted by this plan

  /** Referrals from conversations this plan deletes: to another of the giver's, or to none. */
  function repointReferrals() {
    if (gone.size === 0) return;
    const others = live(records, "conversation").filter((c) => !gone.has(c.id));
    for (const r of live(records, "referral")) {
      if (!gone.has(r.fields.conversation_id)) continue;
      const at = Date.parse(records.get(r.fields.conversation_id)?.fields.at ?? "") || 0;
      const nearest = others.filter((c) => c.fields.person_id === r.fields.from_person_id)
        .sort((a, b) => Math.abs((Date.parse(a.fields.at ?? "") || 0) - at) -
          Math.abs((Date.parse(b.fields.at ?? "") || 0) - at))[0];
      set(r, { conversation_id: nearest?.id ?? null });
      if (nearest) counts.moved += 1;
    }
  }

  if (entity === "person") {
    for (const c of live(records, "conversation")) {
      if (c.fields.person_id === id) {
        del(c);
        gone.add(c.id);
        counts.conversation += 1;
      }
    }
    repointReferrals();
    for (const f of live(records, "followup")) {
      if (f.fields.person_id === id) {
        del(f);
        if (!f.fields.done_at) counts.followup += 1;
      }
    }
  } else if (entity === "organization") {
    for (const p of live(records, "person")) {
      if (p.fields.organization_id === id) {
        set(p, { organization_id: null });
        counts.person += 1;
      }
    }
    for (const c of live(records, "conversation")) {
      if (c.fields.organization_id === id) set(c, { organization_id: null });
    }
    for (const f of live(records, "followup")) {
      if (f.fields.organization_id !== id) continue;
      if (f.fields.person_id) set(f, { organization_id: null });
      else {
        del(f);
        if (!f.fields.done_at) counts.followup += 1;
      }
    }
  } else if (entity === "conversation") {
    gone.add(id);
    repointReferrals();
  }
  del(target);

  const parts = [];
  const n = (k, word) => counts[k] && parts.push(`${counts[k]} ${word}${counts[k] === 1 ? "" : "s"}`);
  n("conversation", "conversation");
  n("followup", "open follow-up");
  if (counts.moved) parts.push(`${counts.moved} referral${counts.moved === 1 ? "" : "s"} moved to another conversation`);
  if (counts.person) parts.push(`${counts.person} ${counts.person === 1 ? "person" : "people"} kept without it`);
  return { mutations, summary: parts.join(", ") };
}
