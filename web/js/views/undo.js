/**
 * Undo for a while: a deletion is shown at once but queued only when the undo window closes
 * (or the app is left, or another deletion starts). Undo forgets it: nothing reached the outbox.
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
  document.body.append(toast);
}

/** Queue what is waiting for its undo window now (before signing out, for one). */
export const commitPending = () => close(true);
