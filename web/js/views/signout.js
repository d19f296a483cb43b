/**
 * Signing out never loses an edit: it syncs first; if edits are still waiting (offline, the
 * server unreachable, an error) it says so and offers to stay signed in, to export them, or
 * to sign out keeping them on this device for the next sign-in of the same account.
 */

import { h } from "../dom.js";
import { plural } from "../sync.js";
import { commitPending } from "./undo.js";

/** The edits not yet acknowledged, as a JSON file the user can keep. */
export function unsyncedExport(state) {
  return {
    grapevine: "unsynced-edits", version: 1, exported_at: new Date().toISOString(),
    store: { id: state.session?.store_id, name: state.session?.store_name },
    mutations: state.pending.filter((m) => !m.acked).map(({ name, args, hlc }) => ({ name, args, hlc })),
    refused: state.refused.map(({ mutation, error, at }) => ({ mutation, error, at })),
  };
}

function download(data, filename) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * @param {import('../state.js').State} state
 * @param {{signOut: (options?: {keep?: boolean}) => Promise<void>, syncNow: () => Promise<void>,
 *   describeSync: () => string}} app
 */
export function signOutSection(state, app) {
  const button = h("button", { type: "button", class: "danger" }, "Sign out of this device");
  const panel = h("div", { class: "card warn signout", role: "alert", hidden: true });

  function offer(waiting) {
    const exported = h("p", { class: "hint", hidden: true });
    panel.replaceChildren(
      h("h2", {}, `${plural(waiting, "change")} could not be synced`),
      h("p", {}, `${app.describeSync()}. Signing out now must not lose them: stay signed in and sync later, or export them first.`),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: () => { panel.hidden = true; } }, "Stay signed in"),
        h("button", { type: "button", onclick: () => {
          download(unsyncedExport(state), `grapevine-unsynced-${new Date().toISOString().slice(0, 10)}.json`);
          exported.hidden = false;
          exported.textContent = `Exported ${plural(waiting, "change")}.`;
        } }, "Export unsynced edits"),
        h("button", { type: "button", class: "danger", onclick: () => app.signOut({ keep: true }) },
          "Sign out, keep them on this device")),
      exported,
      h("p", { class: "hint" }, "Kept edits are sent when this account signs in here again."));
    panel.hidden = false;
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    const label = button.textContent;
    try {
      await commitPending();
      if (state.waiting) {
        button.textContent = `Syncing ${plural(state.waiting, "change")} first…`;
        await app.syncNow();
      }
      const waiting = state.waiting;
      if (waiting) return offer(waiting);
      if (confirm("Sign out of this device?")) await app.signOut();
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
  return h("div", {}, panel, button);
}
