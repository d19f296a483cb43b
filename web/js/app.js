/** Wires the app together: storage, sync, routes, the service worker and its updates. */

import { api } from "./api.js";
import { Db } from "./db.js";
import { Live, pushInBackground } from "./live.js";
import { h, mount } from "./dom.js";
import { openConflicts } from "./model.js";
import { State } from "./state.js";
import { indexWhileLoading, warmSearchIndex } from "./search.js";
import { Syncer } from "./sync.js";
import { captureView, resumeOffer } from "./views/capture.js";
import { conflictsView } from "./views/conflicts.js";
import { duplicatesView } from "./views/duplicates.js";
import { conversationView } from "./views/conversation.js";
import { organizationView } from "./views/organization.js";
import { organizationsView } from "./views/organizations.js";
import { openingView, recordPath } from "./views/opening.js";
import { peopleView } from "./views/people.js";
import { personView } from "./views/person.js";
import { globalSearchBox, searchView } from "./views/search.js";
import { Workspace, focusHeading, installShortcuts, pickOne, showHelp, wide } from "./shell.js";
import { settingsView } from "./views/settings.js";
import { signinView } from "./views/signin.js";
import { indicatorText, rememberSync, rememberedSync } from "./views/status.js";
import { todayView } from "./views/today.js";

const main = document.getElementById("main");
const indicator = document.getElementById("sync-status");
const nav = document.getElementById("nav");
const banner = document.getElementById("banner");
const updateBanner = document.getElementById("update");
const conflictCount = document.getElementById("conflict-count");
const tools = document.getElementById("tools");

const db = await Db.open();
const syncer = new Syncer(db);
const live = new Live(db, syncer);
const state = new State(db, syncer);
const search = globalSearchBox(go);
document.querySelector("header.top")?.insertBefore(search.el, indicator);
const app = { storage: { persisted: null }, signOut, switchStore, syncNow, describeSync, view: null };

/**
 * Navigate; `replace`: instead of the current page in the history (Back skips it); `focus`
 * false: the focus stays where it is (search as you type in the header); `keepQuery`: a record
 * opened from the desktop's list beside it keeps that list's query in the address (`?q=`), so
 * a reload or Back finds the list filtered as it was.
 */
function go(path, { replace = false, focus = true, keepQuery = false } = {}) {
  if (keepQuery && wide.matches && !path.includes("?") && listOf(path) && listOf(path) === listOf(location.pathname)) {
    path += location.search;
  }
  if (replace) {
    history.replaceState(null, "", path);
  } else {
    // Where this page was scrolled to, so Back returns to it (with its query, in the address).
    history.replaceState({ ...history.state, scrollY: scrollY }, "");
    history.pushState(null, "", path);
  }
  route({ focus });
}

// The device's session is one for all its tabs (one IndexedDB). When a tab signs in, opens
// another store or signs out, the others start again on what it opened (a reload), instead of
// showing the old store's records over the new store's copy, syncing the new store into them,
// and queueing edits of the old store's records into the new session's outbox.
const sessions = typeof BroadcastChannel === "function" ? new BroadcastChannel("grapevine-session") : null;
sessions?.addEventListener("message", async () => {
  syncer.supersede();
  // The line being typed (a tag, a referral's name) is saved first: as refused, if it was
  // the old store's (db.js), not lost with the page.
  await Promise.race([saveTyping(), new Promise((resolve) => setTimeout(resolve, 1000))]);
  location.reload();
});

async function onSession(token) {
  syncer.supersede(); // a round still under way was for the session before
  await db.startSession({
    token: token.token, user_id: token.user_id, device_id: token.device_id,
    store_id: token.store_id, store_name: token.store_name, role: token.role,
  });
  sessions?.postMessage("session");
  await state.load();
  state.expectFirstSync();
  syncer.soon(0);
  go("/");
}

/** Open another store of the same user: a new client for it, a fresh copy. */
async function switchStore(store) {
  const from = location.href;
  syncer.supersede(); // the old store's round under way brings nothing into the new copy
  await db.startSession({ ...state.session, store_id: store.id, store_name: store.name, role: store.role });
  sessions?.postMessage("session");
  await state.load();
  state.expectFirstSync();
  syncer.soon(0);
  // Today of the store opened, unless the user went elsewhere while it was read (a tap on
  // People then was taken back to Today once the load ended).
  if (location.href === from) go("/");
}

/** A sync round now (two if one was already running), then the state as it is after it. */
async function syncNow() {
  for (let round = 0; round < 2 && state.waiting; round++) {
    await syncer.sync();
    await state.refresh();
    if (syncer.status !== "idle") break;
  }
}

function describeSync() {
  return syncer.describe(state.waiting);
}

/**
 * Sign out. Callers sync first (see views/signout.js); `keep` keeps unsynced edits on this
 * device, like a sign-out from elsewhere, for the next sign-in of the same account and store.
 */
async function signOut({ keep = false } = {}) {
  try {
    await api("/api/logout", { method: "POST", token: state.session.token });
  } catch {
    // offline or already revoked: forgetting the token here is what matters
  }
  syncer.supersede();
  if (keep || state.waiting) await db.endSession();
  else await db.clearAll();
  sessions?.postMessage("session");
  await state.load();
  go("/");
}

/** The view of one path, on its own (a phone shows one at a time). */
function viewFor(path) {
  if (path.startsWith("/people/")) return personView(state, path.slice("/people/".length), go);
  if (path === "/people") return peopleView(state, go);
  if (path.startsWith("/conversations/")) return conversationView(state, path.slice("/conversations/".length), go);
  if (path.startsWith("/organizations/")) return organizationView(state, path.slice("/organizations/".length), go);
  if (path === "/organizations") return organizationsView(state, go);
  if (path === "/capture" || path.startsWith("/capture/")) {
    return captureView(state, go, { personId: path.split("/")[2] });
  }
  if (path === "/duplicates") return duplicatesView(state);
  if (path === "/search") return searchView(state, go);
  if (path.startsWith("/conflicts/")) return recordView(path.slice("/conflicts/".length));
  if (path === "/conflicts") return conflictsView(state);
  if (path === "/settings") return settingsView(state, app);
  return todayView(state, go);
}

/** The record a conflict is about, shown beside the conflicts on a desktop. */
function recordView(id) {
  const entity = state.records.get(id)?.entity;
  if (entity === "person") return personView(state, id, go);
  if (entity === "organization") return organizationView(state, id, go);
  if (entity === "conversation") return conversationView(state, id, go);
  return { el: h("section", {}, h("h1", {}, "Resolve it in the list"),
    h("p", {}, "This conflict is on a record without a page of its own: both values are in the list.")) };
}

/** The desktop's lists: each path under them opens beside its list. */
const LISTS = {
  people: { prefix: "/people", label: "People", one: "a person", view: () => peopleView(state, go) },
  organizations: { prefix: "/organizations", label: "Organizations", one: "an organization",
    view: () => organizationsView(state, go) },
  conflicts: { prefix: "/conflicts", label: "Conflicts", one: "a conflict", view: () => conflictsView(state) },
};
let workspace = null;
let routed = false;

function listOf(path) {
  return Object.keys(LISTS).find((k) => path === LISTS[k].prefix || path.startsWith(`${LISTS[k].prefix}/`));
}

/** Draw the page of the current URL; `focus`: move the focus to its heading (a navigation). */
/**
 * The address of the person or organization that `path`'s was merged into (here or on another
 * device), or null: an old link, a page left open, Back, all open the one kept, not "Not found".
 */
function mergedPath(path) {
  const match = /^\/(people|organizations)\/([^/]+)$/.exec(path);
  if (!match) return null;
  let record = state.records.get(match[2]);
  const seen = new Set();
  while (record?.deleted && record.fields.merged_into && !seen.has(record.id)) {
    seen.add(record.id);
    record = state.records.get(record.fields.merged_into);
  }
  return record && !record.deleted && record.id !== match[2] ? `/${match[1]}/${record.id}` : null;
}

function route({ focus = true } = {}) {
  const merged = state.session ? mergedPath(location.pathname) : null;
  if (merged) history.replaceState(history.state, "", merged + location.search);
  const path = location.pathname;
  nav.hidden = !state.session;
  tools.hidden = !state.session;
  for (const link of nav.querySelectorAll("a")) {
    const href = link.getAttribute("href");
    const active = href === "/" ? path === "/" || path.startsWith("/capture") : path.startsWith(href);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const kind = state.session && !state.loading && wide.matches ? listOf(path) : undefined;
  if (kind) {
    const list = LISTS[kind];
    if (!workspace || workspace.kind !== kind || !workspace.el.isConnected) {
      workspace = new Workspace(kind, list.view(), list.label);
      mount(main, workspace.el);
    }
    workspace.show(path, path === list.prefix ? pickOne(list.one) : viewFor(path));
    app.view = workspace;
  } else {
    workspace = null;
    let view;
    if (!state.session) {
      const code = path === "/pair" ? decodeURIComponent(location.hash.slice(1)) : "";
      view = { el: signinView({ onSession, code }) };
    } else if (state.loading && path !== "/" && !path.startsWith("/capture") && path !== "/search" &&
        (path !== "/people" || wide.matches)) {
      // Records still being read: a record's own page shows it at once (read by its id), the
      // rest of it and other pages draw once they are all here. Capture needs none of them
      // to be typed into: it is drawn at once (views/capture.js waits where it must). Search
      // and People (a phone's: a desktop's is a table beside a record) answer a query from the
      // names read so far, and say more may come (views/search.js, views/people.js). A phone's
      // conversation page is drawn whole once the conversation is read, to be corrected at
      // once, and stays when the load ends (what is being typed stays too); a desktop's is
      // drawn again then, beside its list.
      const record = recordPath(path);
      const whole = !wide.matches ? (rid) => conversationView(state, rid, go) : null;
      const opening = record ? openingView(state, record, { full: whole }) : null;
      view = { el: opening?.el ?? h("p", { class: "empty" }, "Opening your network…"),
        update: (changes) => {
          const full = opening?.full();
          if (full) {
            if (!state.loading) app.view = full;
            full.update?.(changes);
          } else if (!state.loading) route({ focus: false });
        } };
    } else {
      view = viewFor(path);
    }
    app.view = view;
    mount(main, view.el);
  }
  main.classList.toggle("wide", Boolean(kind));
  shownWide = wide.matches;
  search.el.hidden = !state.session;
  search.follow(); // the header's query is the search page's, and only there
  scrollTo(0, history.state?.scrollY ?? 0);
  // The first page keeps the focus at the top (the skip link comes first); later ones put it
  // on the new view's heading.
  if (routed && focus) focusHeading(main);
  routed = true;
}

/** `/`: the search of the list on show (people, organizations), or search everything. */
function focusSearch() {
  const box = main.querySelector('.list-pane input[type="search"], main > section input[type="search"]');
  const input = box ?? search.input;
  input.focus();
  input.select();
}

const progressBar = h("progress", { id: "sync-progress", "aria-label": "Records synced", hidden: true });
indicator.after(progressBar);

/** Set what differs only: the header is redrawn on every change, most of which leave it be. */
function put(el, key, value) {
  if (el[key] !== value) el[key] = value;
}
let bannerShown = "";
let remembered = null; // the last finished round written down for the next start

function renderChrome() {
  const isLive = live.connected && syncer.status === "idle";
  const storeId = state.session?.store_id;
  if (syncer.lastSyncedAt && syncer.lastSyncedAt !== remembered) {
    remembered = syncer.lastSyncedAt;
    if (storeId) rememberSync(storeId, remembered);
  }
  const text = indicatorText(syncer, { waiting: state.waiting, online: navigator.onLine,
    remembered: storeId && !syncer.lastSyncedAt ? rememberedSync(storeId) : null });
  put(indicator, "textContent", text + (isLive ? " · live" : ""));
  put(indicator.dataset, "status", syncer.status);
  put(indicator.dataset, "live", String(isLive));
  const progress = syncer.status === "syncing" ? syncer.progress : null;
  put(progressBar, "hidden", !progress?.total);
  if (progress?.total) {
    put(progressBar, "max", progress.total);
    put(progressBar, "value", Math.min(progress.received, progress.total));
  }
  const open = state.session ? openConflicts(state.records).length : 0;
  put(conflictCount, "textContent", open ? String(open) : "");
  put(conflictCount, "hidden", open === 0);
  const refused = state.refused.length;
  const error = !state.session && syncer.error ? syncer.error : "";
  if (`${error}|${refused}` === bannerShown) return;
  bannerShown = `${error}|${refused}`;
  const note = error ? h("p", { class: "banner warn" }, error) : null;
  mount(banner, note, refused
    ? h("p", { class: "banner warn" },
      `${refused === 1 ? "An edit was" : `${refused} edits were`} refused by the server. `,
      h("a", { href: "/settings", "data-link": true }, "See what and why"))
    : null);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link || event.metaKey || event.ctrlKey) return;
  event.preventDefault();
  go(link.getAttribute("href"), { keepQuery: link.hasAttribute("data-record") });
});
addEventListener("popstate", route);
// Crossing the desktop breakpoint redraws in the other layout, once the size has settled (a
// full-page screenshot or a window being dragged flips it back and forth in a moment).
let shownWide = wide.matches;
let relayout = null;
wide.addEventListener("change", () => {
  clearTimeout(relayout);
  relayout = setTimeout(() => {
    if (state.session && wide.matches !== shownWide) route({ focus: false });
  }, 200);
});
installShortcuts({ go, search: focusSearch, enabled: () => Boolean(state.session), workspace: () => workspace });
document.getElementById("help-button").addEventListener("click", showHelp);
// The skip link moves focus to the view's heading (no fragment navigation, no re-render).
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  focusHeading(main);
});

state.addEventListener("readonly", () => {
  bannerShown = "readonly"; // until the chrome is next drawn
  mount(banner, h("p", { class: "banner warn" },
    "This store is shared with you to read: changes are not saved."));
});
// Views update from what changed (the event's detail, passed to `view.update`). Edits and
// outbox changes show at the next frame; pulled pages are gathered and shown at most every
// UPDATE_MS while a sync runs, and only to the view on screen: a hidden page gathers them
// until it is visible again, and views not on screen do not exist to be drawn.
const UPDATE_MS = 400;
let gathered = null; // {ids, entities} not yet shown (null ids: anything)
let updateTimer = null;
let lastUpdate = 0;
let updateGap = UPDATE_MS; // a view slow to draw is drawn less often: at most a fifth of the time

function gather(detail) {
  if (!gathered) gathered = { ids: new Set(), entities: new Set() };
  if (!detail.ids || !gathered.ids) gathered.ids = null;
  else for (const id of detail.ids) gathered.ids.add(id);
  if (!detail.entities || !gathered.entities) gathered.entities = null;
  else for (const e of detail.entities) gathered.entities.add(e);
}

function updateView() {
  clearTimeout(updateTimer);
  updateTimer = null;
  if (!gathered || document.visibilityState === "hidden") return;
  const changes = gathered;
  gathered = null;
  const start = performance.now();
  renderChrome();
  // The record on show was merged into another meanwhile (on another device): show that one.
  if (state.session && mergedPath(location.pathname)) route({ focus: false });
  else app.view?.update?.(changes);
  lastUpdate = performance.now();
  updateGap = Math.max(UPDATE_MS, 4 * (lastUpdate - start));
}

// After a load (start, sign-in, another store, a reset) the search index is built while idle.
state.addEventListener("change", ({ detail }) => {
  if (!detail?.ids && state.session) warmSearchIndex(state);
});
let frame = null;
state.addEventListener("change", ({ detail }) => {
  gather(detail);
  if (detail.source !== "pull") {
    // At the next frame: the keystroke's task ends first (its outbox write goes on), and the
    // keystrokes of one frame are drawn once.
    frame ??= requestAnimationFrame(() => {
      frame = null;
      updateView();
    });
    return;
  }
  if (updateTimer) return;
  updateTimer = setTimeout(updateView, Math.max(0, lastUpdate + updateGap - performance.now()));
});
document.addEventListener("visibilitychange", updateView);
syncer.addEventListener("status", renderChrome);
syncer.addEventListener("stale", () => state.load());
live.addEventListener("status", renderChrome);
// (Before the syncer starts, the indicator follows the connection by itself.)
addEventListener("online", renderChrome);
addEventListener("offline", renderChrome);
syncer.addEventListener("change", async () => {
  const signedIn = Boolean(state.session);
  await state.refresh();
  if (signedIn && !state.session) route(); // signed out elsewhere: back to sign-in
});

async function askForPersistence() {
  if (!navigator.storage?.persist) return;
  app.storage.persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
  app.view?.update?.();
}

/** What is being typed is saved: leaving a field saves its last line (a referral being
 * typed), then the outbox's queue is let drain. */
async function saveTyping() {
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await state.serial(async () => {});
}

function watchForUpdates(registration) {
  let updating = false;
  const offer = (worker) => {
    mount(updateBanner, h("p", { class: "banner" }, "A new version of Grapevine is ready. ",
      h("button", { type: "button", onclick: async () => {
        updating = true;
        await saveTyping();
        worker.postMessage("skip-waiting");
      } }, "Reload to update")));
  };
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker?.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
    });
  });
  // The first worker takes control without a reload; only an update the user asked for does.
  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!controlled) { // the first worker claiming this page: nothing changed under it
      controlled = true;
      return;
    }
    if (!updating) {
      // Updated from another tab: this one still runs the old version, whose files the new
      // worker no longer keeps offline. Say so; reloading keeps what is being typed.
      mount(updateBanner, h("p", { class: "banner" }, "Grapevine was updated in another tab. ",
        h("button", { type: "button", onclick: async () => {
          await saveTyping();
          location.reload();
        } }, "Reload this tab")));
      return;
    }
    updating = false;
    location.reload();
  });
}

// The first screen draws from what is small (session, outbox, Today as last shown); the
// records follow in chunks, then the sync starts.
await state.open();
db.prepareEdits().catch(() => {}); // a guess that speeds the first save: none is fine
indexWhileLoading(state);
route();
renderChrome();
pushInBackground(syncer, () => state.waiting);
state.load().then(() => {
  syncer.start();
  live.start();
  // Closed in the middle of a capture: offer to go on with it.
  const offer = state.session ? resumeOffer(state, go) : null;
  if (offer) banner.after(offer);
});
askForPersistence();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(watchForUpdates);
}
