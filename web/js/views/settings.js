/** Settings: storage, devices (add one with a code or QR, revoke), refused edits, sign out. */

import { api } from "../api.js";
import { formatDateTime } from "../dates.js";
import { h } from "../dom.js";
import { showHelp, themeChooser } from "../shell.js";
import { plural } from "../sync.js";
import { calendarCard, duplicatesCard, exportCard, importCard, restoreCard } from "./exchange.js";
import { signOutSection } from "./signout.js";

/**
 * @param {import('../state.js').State} state
 * @param {{signOut: () => Promise<void>, switchStore: (store: object) => Promise<void>,
 *   storage: {persisted: boolean|null}}} app
 */
export function settingsView(state, app) {
  const session = state.session;
  const devices = h("ul", { class: "list", "aria-label": "Signed-in devices" });
  const pairing = h("div", { class: "pairing", "aria-live": "polite" });
  const refused = h("div", {});
  const storageNote = h("p", { id: "storage-status" });
  const stores = h("ul", { class: "list", "aria-label": "Your stores" });

  async function loadStores() {
    try {
      const list = await api("/api/stores", { token: session.token });
      stores.replaceChildren(...list.map((s) => h("li", { class: "row" },
        h("span", {}, h("span", { class: "row-title" }, s.name), h("span", { class: "row-sub" }, ` ${s.role}`)),
        s.id === session.store_id ? h("span", { class: "hint" }, "open") : h("button", {
          type: "button", class: "small", "aria-label": `Open ${s.name}`,
          onclick: async () => {
            const waiting = state.waiting;
            if (waiting && !confirm(`${plural(waiting, "change")} not synced yet will be kept aside as refused. Switch anyway?`)) return;
            await app.switchStore(s);
          },
        }, "Open"))));
    } catch {
      stores.replaceChildren(h("li", { class: "empty" }, "Stores show when online."));
    }
  }

  async function loadDevices() {
    try {
      const list = await api("/api/devices", { token: session.token });
      devices.replaceChildren(...list.map((d) =>
        h("li", { class: "row" },
          h("span", { class: "row-title" }, d.name, d.current ? " (this device)" : ""),
          d.current ? null : h("button", {
            type: "button", class: "danger small", "aria-label": `Sign out ${d.name}`,
            onclick: async () => {
              if (!confirm(`Sign out ${d.name}? It will need a new sign-in.`)) return;
              await api(`/api/devices/${d.id}`, { method: "DELETE", token: session.token });
              loadDevices();
            },
          }, "Sign out"))));
    } catch {
      devices.replaceChildren(h("li", { class: "empty" }, "Devices show when online."));
    }
  }

  async function addDevice() {
    pairing.replaceChildren(h("p", {}, "Asking the server for a code…"));
    try {
      const code = await api("/api/pairing", { method: "POST", token: session.token });
      const minutes = Math.round((code.expires_at - Date.now()) / 60000);
      pairing.replaceChildren(
        h("p", {}, "On the new device, open this link or scan the code, or type the code at sign-in:"),
        h("p", { class: "code", id: "pairing-code" }, code.code),
        h("img", { src: code.qr, alt: `QR code of the pairing link for code ${code.code}`, width: 220, height: 220 }),
        h("p", {}, h("a", { href: code.url }, code.url)),
        h("p", { class: "hint" }, `Works once, for ${minutes} minutes.`));
    } catch (error) {
      pairing.replaceChildren(h("p", { class: "form-error" }, `No code: ${error.message}`));
    }
  }

  function renderRefused() {
    if (state.refused.length === 0) {
      refused.replaceChildren(h("p", { class: "empty" }, "None."));
      return;
    }
    refused.replaceChildren(...state.refused.map((entry) => {
      const data = JSON.stringify(entry.mutation.args, null, 2);
      return h("article", { class: "card refused" },
        h("p", { class: "form-error" }, entry.error),
        h("p", { class: "hint" }, `A ${entry.mutation.name} from this device, ${formatDateTime(entry.at)}. Your data:`),
        h("pre", { tabindex: 0 }, data),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => navigator.clipboard?.writeText(data) }, "Copy"),
          h("button", { type: "button", onclick: async () => {
            await state.db.dismissRefused(entry.key);
            await state.refresh();
          } }, "Dismiss")));
    }));
  }

  function renderStorage() {
    const p = app.storage.persisted;
    storageNote.textContent = p === null ? "Checking storage…"
      : p ? "Persistent: the browser will not clear Grapevine's data to free space."
        : "Not persistent: the browser may clear data when space runs low. Install the app to keep it.";
  }

  // Sign-out syncs first and never loses an edit (issue 8): see signout.js.
  const signOut = signOutSection(state, app);

  renderStorage();
  renderRefused();
  loadDevices();
  loadStores();
  const el = h("section", {},
    h("h1", {}, "Settings"),
    h("section", { class: "card", "aria-labelledby": "acct" },
      h("h2", { id: "acct" }, "Account"),
      h("p", {}, `Store: ${session.store_name} (${session.role})`),
      session.role === "viewer" ? h("p", { class: "hint" }, "You can read this store; its owner decides who can change it.") : null,
      h("h3", {}, "Stores you belong to"), stores),
    session.role === "viewer" ? null : importCard(state),
    exportCard(state),
    restoreCard(state, app),
    calendarCard(state),
    duplicatesCard(),
    h("section", { class: "card", "aria-labelledby": "look" },
      h("h2", { id: "look" }, "Appearance"), themeChooser(),
      h("p", { class: "hint" }, "Kept on this device."),
      h("button", { type: "button", onclick: showHelp }, "Keyboard shortcuts")),
    h("section", { class: "card", "aria-labelledby": "stor" },
      h("h2", { id: "stor" }, "Storage on this device"), storageNote),
    h("section", { class: "card", "aria-labelledby": "refused-title" },
      h("h2", { id: "refused-title" }, "Refused edits"),
      h("p", { class: "hint" }, "Edits the server could not accept, kept here so nothing you typed is lost."),
      refused),
    h("section", { class: "card", "aria-labelledby": "dev" },
      h("h2", { id: "dev" }, "Devices"), devices,
      h("button", { type: "button", class: "primary", onclick: addDevice }, "Add a device"), pairing),
    signOut);
  return { el, update: () => { renderRefused(); renderStorage(); } };
}
