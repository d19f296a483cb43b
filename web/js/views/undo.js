/**
 * Undo for a while, two ways:
 * - `withUndo` (deletions): shown at once but queued only when the undo window closes (or the
 *   app is left, or another undoable action starts). Undo forgets it: nothing reached the outbox.
 * - `applyWithUndo` (Today's one-tap steps): queued at once, like any edit; Undo queues the
 *   edits that put back what the fields held before (and deletes what the step created).
 */

import { h } from "../dom.js";

const WINDOW_MS = 15_000;
let current = null; // {key, state, timer, toast}

async function close(commit) {
  const open = current;
  if (!open) return;
  current = null;
  clearTimeout(open.timer);
  open.toast.remove();
  await open.state.release(open.key, commit);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") close(true);
});

/**
 * Show `mutations` now, queue them after the undo window.
 * @param {import('../state.js').State} state
 * @param {string} message what was done, e.g. "Deleted Dana Ortiz"
 * @param {object[]} mutations
 * @param {{onUndo?: () => void, ms?: number}} [options]
 */
export async function withUndo(state, message, mutations, { onUndo, ms = WINDOW_MS } = {}) {
  await close(true);
  if (state.session?.role === "viewer") {
    state.dispatchEvent(new CustomEvent("readonly"));
    return;
  }
  const key = state.hold(mutations);
  const undo = h("button", { type: "button", class: "small" }, "Undo");
  const toast = h("div", { class: "toast", role: "status" }, h("span", {}, message), undo);
  undo.addEventListener("click", async () => {
    if (current?.key !== key) return;
    await close(false);
    onUndo?.();
  });
  current = { key, state, toast, timer: setTimeout(() => close(true), ms) };
  show(toast);
}

/**
 * Queue `mutations` now ({name: "set", args} or {name, entity, id, fields}), and offer Undo:
 * it sets each field back to what it was and deletes each record the mutations created.
 * @param {import('../state.js').State} state
 * @param {string} message what was done, e.g. "Thanked: Thank Dana Ortiz"
 * @param {object[]} mutations `set`s only
 * @param {{ms?: number}} [options]
 */
export async function applyWithUndo(state, message, mutations, { ms = WINDOW_MS } = {}) {
  await close(true);
  const forward = state.expand(mutations);
  const before = new Map(); // id -> {entity, fields: what they held, or null: created}
  for (const { args } of forward) {
    const record = state.records.get(args.id);
    const was = before.get(args.id) ?? { entity: args.entity, fields: record && !record.deleted ? {} : null };
    if (was.fields) {
      for (const field of Object.keys(args.fields)) {
        if (!(field in was.fields)) was.fields[field] = record.fields[field] ?? null;
      }
    }
    before.set(args.id, was);
  }
  await state.run(forward);
  if (state.session?.role === "viewer") return; // refused: nothing to undo
  const undo = h("button", { type: "button", class: "small" }, "Undo");
  const toast = h("div", { class: "toast", role: "status" }, h("span", {}, message), undo);
  const key = crypto.randomUUID();
  undo.addEventListener("click", async () => {
    if (current?.key !== key) return;
    await close(true);
    await state.run([...before].map(([id, { entity, fields }]) => (fields
      ? { name: "set", args: { entity, id, base: state.base(id), fields } }
      : { name: "delete", args: { entity, id, base: state.base(id) } })));
  });
  // Nothing is held: closing the toast only takes the button away.
  current = { key, state: { release: async () => {} }, toast, timer: setTimeout(() => close(true), ms) };
  show(toast);
}

/**
 * The toast, above the tabs, and room for it under the page and the list beside a record (a
 * long message wraps to a taller toast: the room is its height, so it covers nothing for good).
 */
function show(toast) {
  document.body.append(toast);
  document.body.style.setProperty("--toast-room", `${Math.ceil(toast.getBoundingClientRect().height)}px`);
}

/** Queue what is waiting for its undo window now (before signing out, for one). */
export const commitPending = () => close(true);
