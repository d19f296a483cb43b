/**
 * The conflict inbox: values that lost a concurrent edit, side by side with what was kept,
 * each titled by what it is about ("Lunch with Priya Nair, Nov 28"), the same on every device
 * (the side not kept says when it was written), the words that differ marked. A multi-line text can also be resolved by
 * keeping both or by editing a merged text; a one-line value by picking one or editing it.
 */

import { conversationTitle } from "../capture.js";
import { formatDateTime, formatShortDay } from "../dates.js";
import { h } from "../dom.js";
import { openConflicts } from "../model.js";
import { ENTITIES } from "../schema.js";

const show = (value) =>
  value === null || value === undefined || value === "" ? "(empty)"
    : Array.isArray(value) ? value.join(", ") : String(value);

const paragraphs = (text) => (text ?? "").split(/\n[ \t]*\n/).map((p) => p.replace(/^\n+|\n+$/g, ""))
  .filter((p) => p.trim());
const words = (text) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
/** Two paragraphs are versions of one another when most of their words are shared. */
function similar(a, b) {
  const x = words(a);
  const y = words(b);
  let shared = 0;
  for (const w of x) if (y.has(w)) shared += 1;
  return shared >= 0.5 * Math.max(1, Math.min(x.size, y.size));
}

/**
 * Both texts by paragraphs (blank-line separated), each once, separated by a blank line: the
 * kept text's in order, each of the other's placed after the paragraph it follows there, and
 * an edited paragraph right after its kept version, so the two read side by side.
 */
export function mergeParagraphs(kept, lost) {
  const out = paragraphs(kept);
  let at = -1; // where the other text's previous paragraph is in `out`
  for (const p of paragraphs(lost)) {
    const same = out.findIndex((x) => x.trim() === p.trim());
    if (same >= 0) {
      at = same;
      continue;
    }
    if (at + 1 < out.length && similar(out[at + 1], p)) at += 1; // after its kept version
    out.splice(at + 1, 0, p);
    at += 1;
  }
  return out.join("\n\n");
}

/**
 * Both texts in one. Written in paragraphs: mergeParagraphs. Otherwise the kept text, then
 * each line of the other that it does not have, in the other's order. "Met Zoë" + "Met Zoë
 * at APS" keeps the longer line only once.
 */
export function keepBoth(kept, lost) {
  if (/\n[ \t]*\n/.test(kept ?? "") || /\n[ \t]*\n/.test(lost ?? "")) return mergeParagraphs(kept, lost);
  const a = (kept ?? "").split("\n");
  const b = (lost ?? "").split("\n");
  if (!kept) return lost ?? "";
  if (!lost) return kept;
  const out = [...a];
  for (const line of b) {
    if (!line.trim() || out.includes(line)) continue;
    // An edited line (one contains the other): the longer one stands for both.
    const i = out.findIndex((x) => Math.min(x.trim().length, line.trim().length) >= 4 &&
      (line.includes(x) || x.includes(line)));
    if (i >= 0) {
      if (line.length > out[i].length) out[i] = line;
      continue;
    }
    out.push(line);
  }
  return out.join("\n");
}

/**
 * What differs between two texts, word by word: each text as runs of {text, changed}, where
 * changed words are not in the longest common sequence of words (whitespace kept as is).
 */
export function wordDiff(a, b) {
  const ta = String(a ?? "").match(/\s+|[^\s]+/g) ?? [];
  const tb = String(b ?? "").match(/\s+|[^\s]+/g) ?? [];
  // The same start and end are common without a table.
  let start = 0;
  while (start < ta.length && start < tb.length && ta[start] === tb[start]) start += 1;
  let end = 0;
  while (end < ta.length - start && end < tb.length - start &&
    ta[ta.length - 1 - end] === tb[tb.length - 1 - end]) end += 1;
  const ma = ta.slice(start, ta.length - end);
  const mb = tb.slice(start, tb.length - end);
  const inA = new Array(ma.length).fill(false); // in the common sequence
  const inB = new Array(mb.length).fill(false);
  if (ma.length * mb.length <= 4_000_000) {
    // Longest common subsequence, by suffix lengths.
    const w = mb.length + 1;
    const len = new Uint32Array((ma.length + 1) * w);
    for (let i = ma.length - 1; i >= 0; i--) {
      for (let j = mb.length - 1; j >= 0; j--) {
        len[i * w + j] = ma[i] === mb[j] ? len[(i + 1) * w + j + 1] + 1
          : Math.max(len[(i + 1) * w + j], len[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < ma.length && j < mb.length) {
      if (ma[i] === mb[j]) {
        inA[i++] = true;
        inB[j++] = true;
      } else if (len[(i + 1) * w + j] >= len[i * w + j + 1]) i += 1;
      else j += 1;
    }
  }
  const runs = (tokens, common, middle) => {
    const changed = tokens.map((t, k) => k >= start && k - start < middle.length && !common[k - start]);
    // Whitespace between two changed words is part of the change; elsewhere it is not.
    tokens.forEach((t, k) => {
      if (/^\s+$/.test(t)) changed[k] = k > 0 && k + 1 < tokens.length && changed[k - 1] && changed[k + 1];
    });
    const out = [];
    tokens.forEach((t, k) => {
      const last = out.at(-1);
      if (last && last.changed === changed[k]) last.text += t;
      else out.push({ text: t, changed: changed[k] });
    });
    return out;
  };
  return { a: runs(ta, inA, ma), b: runs(tb, inB, mb) };
}

/** "Lunch with Priya Nair, Nov 28", "Priya Nair", or what the record was. */
export function conflictLabel(records, conflict) {
  const c = conflict.fields;
  const record = records.get(c.record_id);
  if (!record) return `A ${c.entity} not on this device`;
  const f = record.fields;
  if (record.entity === "conversation") {
    return `${conversationTitle(records, record)}${f.at ? `, ${formatShortDay(f.at)}` : ""}`;
  }
  if (record.entity === "referral") {
    const name = (pid) => records.get(pid)?.fields.name ?? "a removed person";
    return `Referral: ${name(f.from_person_id)} → ${name(f.to_person_id)}`;
  }
  if (record.entity === "followup") return `Follow-up: ${f.note ?? f.kind ?? "follow up"}`;
  return f.name ?? f.title ?? `A ${record.entity}`;
}

/**
 * The two sides' headings, from the conflict alone: every device shows the same conflict the
 * same way (it said "This device's" on one and "Another device's" on the other, which read
 * as two different conflicts). The side not kept says when it was written, where known.
 */
export function sideLabels(conflict) {
  const ms = Number.parseInt(String(conflict.fields.lost_hlc ?? "").slice(0, 13), 10);
  const when = Number.isFinite(ms) && ms > 0 ? formatDateTime(new Date(ms).toISOString()) : null;
  return { kept: "Kept (current)", lost: when ? `Not kept (edited ${when})` : "Not kept" };
}

/** A value with the words that differ from the other side marked. */
function marked(runs) {
  return runs.map((r) => (r.changed ? h("mark", {}, r.text) : r.text));
}

/**
 * On a record's page: its open conflicts, named by field, with the way to both values. The
 * page shows the value kept; the other device's would otherwise be gone from it without a word.
 * @param {import('../state.js').State} state
 * @param {string} recordId
 * @returns {{el: HTMLElement, fill: () => void}}
 */
export function conflictNotice(state, recordId) {
  const el = h("div", { class: "conflict-notice" });
  let drawn = "";
  function fill() {
    const open = openConflicts(state.records).filter(({ conflict }) => conflict.fields.record_id === recordId);
    const key = open.map(({ conflict }) => `${conflict.id}:${conflict.version}`).join(" ");
    if (key === drawn) return;
    drawn = key;
    const fields = [...new Set(open.map(({ conflict }) => (conflict.fields.field === null
      ? "whether to keep it" : conflict.fields.field.replaceAll("_", " "))))];
    el.replaceChildren(...(open.length ? [h("p", { class: "banner warn", role: "status" },
      `Two devices changed ${fields.join(", ")} here without seeing each other's change: this page shows the one kept. `,
      h("a", { href: "/conflicts", "data-link": true }, "See both and choose"))] : []));
  }
  fill();
  return { el, fill };
}

/** @param {import('../state.js').State} state */
export function conflictsView(state) {
  const list = h("div", { class: "conflicts" });
  const editing = new Set(); // conflict ids whose editor is open (kept across updates)

  function render() {
    const typing = document.activeElement;
    if (list.contains(typing) && (typing.tagName === "TEXTAREA" || typing.tagName === "INPUT")) return;
    const open = openConflicts(state.records);
    list.replaceChildren(...open.map(({ conflict, record }) => {
      const c = conflict.fields;
      const name = conflictLabel(state.records, conflict);
      const what = c.field === null ? "kept or deleted" : c.field.replaceAll("_", " ");
      const type = c.field ? ENTITIES[c.entity]?.[c.field]?.type : null;
      const textual = (type === "text" || type === "str") && typeof (c.kept ?? "") === "string" &&
        typeof (c.lost ?? "") === "string";
      const multiline = textual && type === "text"; // notes: both can be kept; a title cannot
      const labels = sideLabels(conflict);
      const diff = textual && c.kept && c.lost ? wordDiff(c.kept, c.lost) : null;
      const resolve = (choose, value) => state.edit("resolve", value === undefined
        ? { conflict: conflict.id, choose } : { conflict: conflict.id, choose, value });
      const choose = (choice) => () => resolve(choice);
      const both = multiline ? keepBoth(c.kept, c.lost) : null;
      const draft = multiline ? mergeParagraphs(c.kept, c.lost) : c.kept ?? "";
      const editor = multiline
        ? h("textarea", { rows: Math.min(14, draft.split("\n").length + 2), "aria-label": `Merged ${what}` })
        : h("input", { autocomplete: "off", "aria-label": `New ${what}` });
      editor.value = draft;
      const editBox = h("div", { class: "merge-edit", hidden: !editing.has(conflict.id) }, editor,
        h("div", { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: () => {
            editing.delete(conflict.id);
            const value = editor.value;
            if (type === "str" && !value.trim() && ENTITIES[c.entity][c.field].required) return;
            resolve("value", value === "" ? null : value);
          } }, multiline ? "Save merged text" : "Save"),
          h("button", { type: "button", onclick: () => { editing.delete(conflict.id); editBox.hidden = true; } }, "Cancel")));
      return h("article", { class: "card conflict", "aria-label": `Conflict on ${name}` },
        h("h2", {}, h("a", { href: `/conflicts/${c.record_id}`, "data-link": true, "data-record": true }, name)),
        h("p", { class: "hint" }, `Two devices changed ${what}, neither seeing the other's change.`),
        h("div", { class: "sides" },
          h("div", { class: "side" }, h("h3", {}, labels.kept),
            h("p", { class: "value kept" }, diff ? marked(diff.a) : show(c.kept)),
            h("button", { type: "button", onclick: choose("kept") }, "Keep this")),
          h("div", { class: "side" }, h("h3", {}, labels.lost),
            h("p", { class: "value lost" }, diff ? marked(diff.b) : show(c.lost)),
            h("button", { type: "button", onclick: choose("lost") }, "Use this instead"))),
        textual ? h("div", { class: "actions merge" },
          multiline ? h("button", { type: "button", onclick: () => resolve("value", both) }, "Keep both") : null,
          h("button", { type: "button", onclick: () => {
            editing.add(conflict.id);
            editBox.hidden = false;
            editor.focus();
          } }, multiline ? "Edit a merged text" : "Edit it")) : null,
        textual ? editBox : null);
    }));
    if (open.length === 0) list.append(h("p", { class: "empty" }, "No conflicts. Every edit is merged."));
  }
  render();
  return { el: h("section", {}, h("h1", {}, "Conflicts"), list), update: render };
}
