/**
 * The shell around the views: where focus goes after a navigation, the desktop workspace (a
 * list beside the selected record), and the keyboard shortcuts with their help overlay.
 * Views stay unaware of all of it: a list marks its rows' links with `data-record`, and a
 * view's first heading is where focus lands.
 */

import { h, mount } from "./dom.js";

/** The desktop layout: side navigation, list beside record (matches the CSS breakpoint). */
export const wide = matchMedia("(min-width: 64rem)");

/**
 * Move focus to the view's heading after a navigation, without a ring around anything: a
 * screen reader announces where the user arrived, and Tab continues from there.
 * @param {HTMLElement} root where the new view was mounted
 */
export function focusHeading(root) {
  // Beside a list, the record's heading; with no record picked yet, the list's.
  const heading = root.querySelector(".detail-pane h1:not(.placeholder)") ?? root.querySelector("h1") ?? root;
  if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
  heading.focus({ preventScroll: true });
}

/**
 * A list's query kept in the address (`?q=`), after the list's path or, on the desktop, after
 * the record's beside it: Back to the list, a reload, the rows opened from it (app.js `go`,
 * `keepQuery`) find it filtered as it was. Written once typing pauses (history.replaceState is
 * slow on a phone, and between keystrokes it made the next one wait), or at once when a link
 * anywhere is followed (before the app follows it) or `write` is called; not once the list is
 * gone (`shown()` false: Back went elsewhere meanwhile).
 * @param {string} prefix the list's path ("/people")
 * @param {() => boolean} shown
 */
export function queryInAddress(prefix, shown, waitMs = 300) {
  let address = null; // the query to write ("" for none), or null when written
  let timer = null;
  const write = () => {
    clearTimeout(timer);
    document.removeEventListener("click", write, true);
    if (address === null) return;
    const query = address;
    address = null;
    const path = location.pathname;
    if (shown() && (path === prefix || path.startsWith(`${prefix}/`))) {
      history.replaceState(history.state, "", path + query);
    }
  };
  /** @param {string} value what the search box now holds */
  const typed = (value) => {
    if (address === null) document.addEventListener("click", write, true);
    address = value.trim() ? `?q=${encodeURIComponent(value)}` : "";
    clearTimeout(timer);
    timer = setTimeout(write, waitMs);
  };
  return { typed, write };
}

/** Mark the list row of the record on show (`aria-current`), and bring it into view. */
export function markCurrent(listPane, path) {
  let current = null;
  for (const link of listPane.querySelectorAll("a[data-record]")) {
    const here = link.getAttribute("href") === path;
    if (here) {
      link.setAttribute("aria-current", "page");
      current = link;
    } else {
      link.removeAttribute("aria-current");
    }
  }
  const row = current?.closest("tr, li");
  if (row && typeof row.scrollIntoView === "function") row.scrollIntoView({ block: "nearest" });
}

/**
 * A workspace: the list pane (kept while records are picked from it, so its filters, sort and
 * scroll survive) and the detail pane (replaced at each navigation).
 */
export class Workspace {
  /**
   * @param {string} kind which list: "people", "organizations", "conflicts"
   * @param {{el: HTMLElement, update?: () => void}} list
   * @param {string} label what the list is, for the list pane's landmark
   */
  constructor(kind, list, label) {
    this.kind = kind;
    this.list = list;
    this.detail = null;
    this.path = "";
    this.listPane = h("section", { class: "pane list-pane", "aria-label": label }, list.el);
    this.detailPane = h("div", { class: "pane detail-pane" });
    this.el = h("div", { class: "workspace" }, this.listPane, this.detailPane);
  }

  /** Show a record (or the hint to pick one) beside the list. */
  show(path, detail) {
    this.path = path;
    this.detail = detail;
    mount(this.detailPane, detail.el);
    markCurrent(this.listPane, path);
  }

  /** @param {object} [changes] what changed (state.js), handed to both views */
  update(changes) {
    this.list.update?.(changes);
    this.detail?.update?.(changes);
    markCurrent(this.listPane, this.path);
  }

  /** The records of the list in the order shown (after its filters and sort). */
  records() {
    return [...this.listPane.querySelectorAll("a[data-record]")].map((a) => a.getAttribute("href"));
  }
}

/** What the detail pane says before a record is picked. */
export function pickOne(what) {
  return {
    el: h("div", { class: "pick-one" },
      h("h1", { class: "visually-hidden placeholder" }, "Nothing selected"),
      h("p", {}, `Pick ${what} from the list, or press `, h("kbd", {}, "j"), " for the first one."),
      h("p", {}, "Press ", h("kbd", {}, "?"), " for every keyboard shortcut.")),
  };
}

export const SHORTCUTS = [
  ["n", "New capture: log a conversation"],
  ["/", "Search people"],
  ["j", "Next record in the list"],
  ["k", "Previous record in the list"],
  ["g then t", "Go to Today"],
  ["g then p", "Go to People"],
  ["g then o", "Go to Organizations"],
  ["g then c", "Go to Conflicts"],
  ["g then s", "Go to Settings"],
  ["?", "Show these shortcuts"],
];

const SECTIONS = { t: "/", p: "/people", o: "/organizations", c: "/conflicts", s: "/settings" };

let dialog = null;

/** The keyboard help overlay: a modal dialog, closed by Escape or its button. */
export function showHelp() {
  if (!dialog) {
    const close = h("button", { type: "button", class: "primary" }, "Close");
    dialog = h("dialog", { class: "help", "aria-labelledby": "help-title" },
      h("h2", { id: "help-title" }, "Keyboard shortcuts"),
      h("p", { class: "hint" }, "Anywhere except while typing in a field."),
      h("dl", {}, SHORTCUTS.map(([keys, what]) => [
        h("dt", {}, keys.split(" then ").flatMap((k, i) => [i ? " then " : null, h("kbd", {}, k)])),
        h("dd", {}, what)])),
      close);
    close.addEventListener("click", () => dialog.close());
    document.body.append(dialog);
  }
  if (!dialog.open) dialog.showModal();
  dialog.querySelector("button").focus();
}

const typing = (el) =>
  el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

/**
 * Listen for the shortcuts.
 * @param {{go: (path: string, options?: {keepQuery?: boolean}) => void, enabled: () => boolean, workspace: () => Workspace|null,
 *   search: () => void}} shell
 */
export function installShortcuts(shell) {
  let pendingG = 0;
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (!shell.enabled() || typing(event.target) || dialog?.open) return;
    const key = event.key;
    if (pendingG && Date.now() - pendingG < 1500 && SECTIONS[key]) {
      pendingG = 0;
      event.preventDefault();
      shell.go(SECTIONS[key]);
      return;
    }
    pendingG = 0;
    if (key === "?") {
      event.preventDefault();
      showHelp();
    } else if (key === "n") {
      event.preventDefault();
      shell.go("/capture");
    } else if (key === "/") {
      event.preventDefault();
      shell.search();
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      step(shell, key === "j" ? 1 : -1);
    } else if (key === "g") {
      pendingG = Date.now();
    }
  });
}

/** Next or previous record: the workspace opens it; a list on its own moves focus. */
function step(shell, by) {
  const workspace = shell.workspace();
  if (workspace) {
    const records = workspace.records();
    if (!records.length) return;
    const at = records.indexOf(workspace.path);
    const next = at === -1 ? (by > 0 ? 0 : records.length - 1)
      : Math.min(records.length - 1, Math.max(0, at + by));
    if (records[next] !== workspace.path) shell.go(records[next], { keepQuery: true });
    return;
  }
  const links = [...document.querySelectorAll("main a[data-record]")];
  if (!links.length) return;
  const at = links.indexOf(document.activeElement);
  const next = at === -1 ? (by > 0 ? 0 : links.length - 1)
    : Math.min(links.length - 1, Math.max(0, at + by));
  links[next].focus();
}

const THEME_KEY = "grapevine-theme";

/** The colour scheme chosen on this device: "system" (the default), "light" or "dark". */
export function currentTheme() {
  try {
    const theme = localStorage.getItem(THEME_KEY);
    return theme === "light" || theme === "dark" ? theme : "system";
  } catch {
    return "system";
  }
}

/** Pin the colour scheme on this device, or follow the system again. */
export function setTheme(theme) {
  try {
    if (theme === "system") localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, theme);
  } catch {
    // storage unavailable: the choice lasts for this page
  }
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** Settings → Appearance: System, Light or Dark, applied at once and kept on this device. */
export function themeChooser() {
  const now = currentTheme();
  const choices = [["system", "Same as the system"], ["light", "Light"], ["dark", "Dark"]];
  const group = h("fieldset", { class: "choices theme-choice" },
    h("legend", {}, "Colours"),
    choices.map(([value, text]) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "theme", value, checked: value === now }), text)));
  group.addEventListener("change", (event) => setTheme(event.target.value));
  return group;
}
