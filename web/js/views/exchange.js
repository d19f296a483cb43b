/**
 * Settings cards for getting people in and out: import (preview, then apply with a progress
 * bar), export from this device's copy (works offline), restore a backup into a new store,
 * the calendar feed's secret URL, and the way to possible duplicates.
 */

import { api, ApiError } from "../api.js";
import { h } from "../dom.js";
import { backupText, decodeText, guessFormat, toCsv, toVcard } from "../exchange.js";

const FORMATS = {
  linkedin: "LinkedIn Connections.csv",
  vcard: "Contacts (vCard .vcf)",
  csv: "Spreadsheet (CSV with a header)",
};

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const CSV_LABELS = {
  people: "People", organizations: "Organizations", conversations: "Conversations",
  followups: "Follow-ups", referrals: "Referrals",
};

const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function describe(summary) {
  const p = summary.people;
  const o = summary.organizations;
  return `People: ${p.created} new, ${p.updated} updated, ${p.skipped} unchanged. ` +
    `Organizations: ${o.created} new, ${o.matched} matched.`;
}

function refusedList(rows) {
  if (!rows.length) return null;
  return h("details", { class: "refused-rows", open: rows.length <= 5 },
    h("summary", {}, `${count(rows.length, "row")} refused`),
    h("ul", {}, rows.map((r) => h("li", {}, `${r.row}: ${r.reason}`))));
}

/** @param {import('../state.js').State} state */
export function importCard(state) {
  const session = state.session;
  const file = h("input", { type: "file", id: "import-file", accept: ".csv,.vcf,text/csv,text/vcard,text/x-vcard" });
  const format = h("select", { id: "import-format" },
    Object.entries(FORMATS).map(([value, text]) => h("option", { value }, text)));
  const out = h("div", { class: "import-result", "aria-live": "polite" });
  const previewButton = h("button", { type: "button", class: "primary", disabled: true }, "Preview");
  let content = "";

  file.addEventListener("change", async () => {
    out.replaceChildren();
    const chosen = file.files?.[0];
    content = chosen ? decodeText(await chosen.arrayBuffer()) : "";
    if (chosen) format.value = guessFormat(chosen.name, content);
    previewButton.disabled = !chosen;
  });

  const body = () => ({ format: format.value, content });
  const path = `/api/stores/${session.store_id}/import`;

  previewButton.addEventListener("click", async () => {
    if (!navigator.onLine) {
      out.replaceChildren(h("p", { class: "form-error" }, "Importing needs a connection to the server. Try again when online."));
      return;
    }
    out.replaceChildren(h("p", {}, "Reading the file…"));
    try {
      const preview = await api(`${path}/preview`, { method: "POST", body: body(), token: session.token, timeoutMs: 300_000 });
      const nothing = preview.mutations === 0;
      const apply = h("button", { type: "button", class: "primary", id: "import-apply", disabled: nothing },
        nothing ? "Nothing to import" : "Import");
      apply.addEventListener("click", () => run(preview, apply));
      out.replaceChildren(h("p", { id: "import-preview" }, describe(preview)), refusedList(preview.refused), apply);
    } catch (error) {
      out.replaceChildren(h("p", { class: "form-error" }, `Cannot import this file: ${error.message}`));
    }
  });

  async function run(preview, button) {
    button.disabled = true;
    const bar = h("progress", { id: "import-progress", max: Math.max(1, preview.mutations), value: 0, "aria-label": "Import progress" });
    const note = h("p", { class: "hint" }, "Importing…");
    out.replaceChildren(bar, note);
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${session.token}` },
        body: JSON.stringify(body()),
        cache: "no-store",
      });
      if (!response.ok) {
        const text = await response.text();
        throw new ApiError(response.status, text ? JSON.parse(text) : null);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let summary = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n")) >= 0) {
          const line = JSON.parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 1);
          if (line.summary) summary = line.summary;
          else if (line.error) {
            throw new Error(`${line.error}. What came before is imported; importing the file again finishes it`);
          } else if (line.total !== undefined) {
            bar.max = Math.max(1, line.total);
            bar.value = line.done;
            note.textContent = `Importing… ${line.done} of ${line.total}`;
          }
        }
      }
      if (!summary) throw new Error("the import stopped before it finished; importing again is safe");
      bar.value = bar.max;
      const rejected = summary.rejected ?? [];
      out.replaceChildren(bar,
        h("p", { id: "import-done" }, `Imported. ${describe(summary)}`),
        refusedList([...summary.refused, ...rejected.map((r) => ({ row: r.id, reason: r.error }))]));
      state.syncer.soon(0);
    } catch (error) {
      out.replaceChildren(h("p", { class: "form-error" }, `Import failed: ${error.message}`));
    }
  }

  return h("section", { class: "card", "aria-labelledby": "import-title" },
    h("h2", { id: "import-title" }, "Import people"),
    h("p", { class: "hint" }, "From LinkedIn (Settings → Data privacy → Get a copy of your data → Connections), your phone's contacts or a spreadsheet. Importing the same file again adds nobody twice."),
    h("div", { class: "field" }, h("label", { for: "import-file" }, "File"), file),
    h("div", { class: "field" }, h("label", { for: "import-format" }, "Kind of file"), format),
    previewButton, out);
}

/** @param {import('../state.js').State} state */
export function exportCard(state) {
  const session = state.session;
  const day = () => new Date().toISOString().slice(0, 10);
  const button = (text, make) => h("button", { type: "button", onclick: make }, text);
  return h("section", { class: "card", "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Export"),
    h("p", { class: "hint" }, "From this device's copy: works offline. The backup holds everything and can be restored."),
    h("div", { class: "actions" },
      // Each waits for the records still being read at start: a backup taken then was partial.
      button("JSON backup", async () => download(`grapevine-backup-${day()}.json`,
        (await state.settled(), backupText(state.records, { id: session.store_id, name: session.store_name })),
        "application/json")),
      button("People (vCard)", async () =>
        download(`grapevine-people-${day()}.vcf`, (await state.settled(), toVcard(state.records)), "text/vcard")),
      ...Object.entries(CSV_LABELS).map(([table, text]) =>
        button(`${text} (CSV)`, async () =>
          download(`grapevine-${table}-${day()}.csv`, (await state.settled(), toCsv(state.records, table)), "text/csv")))));
}

/**
 * @param {import('../state.js').State} state
 * @param {{switchStore: (store: object) => Promise<void>}} app
 */
export function restoreCard(state, app) {
  const file = h("input", { type: "file", id: "restore-file", accept: ".json,application/json" });
  const out = h("div", { "aria-live": "polite" });
  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    out.replaceChildren(h("p", {}, "Restoring…"));
    try {
      const text = await chosen.text();
      let backupName = "Restored store";
      try {
        backupName = JSON.parse(text)?.store?.name || backupName;
      } catch {
        // not JSON: the server says what is wrong with it
      }
      const name = `${backupName.slice(0, 150)} (restored ${new Date().toISOString().slice(0, 10)})`;
      const response = await fetch(`/api/restore?name=${encodeURIComponent(name)}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.session.token}` },
        body: text,
        cache: "no-store",
      });
      const answer = await response.text();
      const data = answer ? JSON.parse(answer) : null;
      if (!response.ok) throw new ApiError(response.status, data);
      out.replaceChildren(h("p", { id: "restore-done" }, `Restored into a new store, “${data.name}”.`),
        h("button", { type: "button", class: "primary", onclick: () => app.switchStore(data) }, "Open it"));
    } catch (error) {
      out.replaceChildren(h("p", { class: "form-error" }, `Not restored: ${error.message}`));
    }
  });
  return h("section", { class: "card", "aria-labelledby": "restore-title" },
    h("h2", { id: "restore-title" }, "Restore a backup"),
    h("p", { class: "hint" }, "A JSON backup becomes a new store of yours; the store open now is left as it is."),
    h("div", { class: "field" }, h("label", { for: "restore-file" }, "Backup file"), file), out);
}

/** @param {import('../state.js').State} state */
export function calendarCard(state) {
  const session = state.session;
  const out = h("div", { "aria-live": "polite" });

  async function show(info) {
    const url = info.path ? `${location.origin}${info.path}` : await state.db.get("meta", "calendar_url");
    if (info.path) await state.db.setMeta("calendar_url", url);
    const make = h("button", { type: "button", onclick: create }, info.active ? "Make a new link" : "Make a calendar link");
    if (!info.active) {
      out.replaceChildren(h("p", {}, "Your conversations and follow-ups in your calendar app, kept up to date."), make);
      return;
    }
    const revoke = h("button", { type: "button", class: "danger", onclick: async () => {
      if (!confirm("Revoke the calendar link? Calendars using it stop updating.")) return;
      await api("/api/calendar", { method: "DELETE", token: session.token });
      await state.db.setMeta("calendar_url", null);
      show({ active: false });
    } }, "Revoke");
    if (!url) {
      out.replaceChildren(h("p", {}, "A calendar link is active; it was shown on the device that made it. Make a new one to see it here (the old one stops working)."),
        h("div", { class: "actions" }, make, revoke));
      return;
    }
    const input = h("input", { id: "calendar-url", readonly: true, value: url, "aria-label": "Calendar link" });
    out.replaceChildren(
      h("p", {}, "Subscribe to this secret link in your calendar app. Anyone with it can read your schedule: revoke it if it leaks."),
      input,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => { input.select(); navigator.clipboard?.writeText(url); } }, "Copy"),
        h("a", { class: "button", href: url.replace(/^https?:/, "webcal:") }, "Subscribe"),
        make, revoke));
  }

  async function create() {
    try {
      show(await api("/api/calendar", { method: "POST", token: session.token }));
    } catch (error) {
      out.replaceChildren(h("p", { class: "form-error" }, `No link: ${error.message}`));
    }
  }

  api("/api/calendar", { token: session.token }).then(show,
    () => out.replaceChildren(h("p", { class: "empty" }, "The calendar link shows when online.")));
  return h("section", { class: "card", "aria-labelledby": "calendar-title" },
    h("h2", { id: "calendar-title" }, "Calendar"), out);
}

export function duplicatesCard() {
  return h("section", { class: "card", "aria-labelledby": "dupes-title" },
    h("h2", { id: "dupes-title" }, "Duplicates"),
    h("p", {}, h("a", { href: "/duplicates", "data-link": true }, "Possible duplicates"),
      ": people who may be one person, to merge or keep apart."));
}
