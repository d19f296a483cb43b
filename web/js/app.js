/** Wires the app together: storage, sync, routes, the service worker and its updates. */

import { api } from "./api.js";
import { Db } from "./db.js";
import { Live, pushInBackground } from "./live.js";
import { h, mount } from "./dom.js";
import { openConflicts } from "./model.js";
import { State } from "./state.js";
import { warmSearchIndex } from "./search.js";
import { Syncer } from "./sync.js";
import { captureView } from "./views/capture.js";
import { conflictsView } from "./views/conflicts.js";
import { duplicatesView } from "./views/duplicates.js";
import { conversationView } from "./views/conversation.js";
import { organizationView } from "./views/organization.js";
import { organizationsView } from "./views/organizations.js";
import { peopleView } from "./views/people.js";
import { personView } from "./views/person.js";
import { globalSearchBox, searchView } from "./views/search.js";
import { settingsView } from "./views/settings.js";
import { signinView } from "./views/signin.js";
import { todayView } from "./views/today.js";

const main = document.getElementById("main");
const indicator = document.getElementById("sync-status");
const nav = document.getElementById("nav");
const banner = document.getElementById("banner");
const updateBanner = document.getElementById("update");
const conflictCount = document.getElementById("conflict-count");

const db = await Db.open();
const syncer = new Syncer(db);
const live = new Live(db, syncer);
const state = new State(db, syncer);
const search = globalSearchBox(go);
document.querySelector("header.top")?.insertBefore(search.el, indicator);
const app = { storage: { persisted: null }, signOut, switchStore, syncNow, describeSync, view: null };

function go(path) {
  // Where this page was scrolled to, so Back returns to it (with its query, in the address).
  history.replaceState({ ...history.state, scrollY: scrollY }, "");
  history.pushState(null, "", path);
  route();
}

async function onSession(token) {
  await db.startSession({
    token: token.token, user_id: token.user_id, device_id: token.device_id,
    store_id: token.store_id, store_name: token.store_name, role: token.role,
  });
  await state.load();
  syncer.soon(0);
  go("/");
}

/** Open another store of the same user: a new client for it, a fresh copy. */
async function switchStore(store) {
  await db.startSession({ ...state.session, store_id: store.id, store_name: store.name, role: store.role });
  await state.load();
  syncer.soon(0);
  go("/");
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
  if (keep || state.waiting) await db.endSession();
  else await db.clearAll();
  await state.load();
  go("/");
}

function route() {
  const path = location.pathname;
  nav.hidden = !state.session;
  for (const link of nav.querySelectorAll("a")) {
    const href = link.getAttribute("href");
    const active = href === "/" ? path === "/" || path.startsWith("/capture") : path.startsWith(href);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  let view;
  if (!state.session) {
    const code = path === "/pair" ? decodeURIComponent(location.hash.slice(1)) : "";
    view = { el: signinView({ onSession, code }) };
  } else if (state.loading && path !== "/") {
    // Records still being read: this page draws once they are all here.
    view = { el: h("p", { class: "empty" }, "Opening your network…"),
      update: () => { if (!state.loading) route(); } };
  } else if (path.startsWith("/people/")) {
    view = personView(state, path.slice("/people/".length), go);
  } else if (path.startsWith("/conversations/")) {
    view = conversationView(state, path.slice("/conversations/".length), go);
  } else if (path === "/people") {
    view = peopleView(state, go);
  } else if (path.startsWith("/organizations/")) {
    view = organizationView(state, path.slice("/organizations/".length), go);
  } else if (path === "/organizations") {
    view = organizationsView(state, go);
  } else if (path === "/capture" || path.startsWith("/capture/")) {
    view = captureView(state, go, { personId: path.split("/")[2] });
  } else if (path === "/duplicates") {
    view = duplicatesView(state);
  } else if (path === "/search") {
    view = searchView(state, go);
  } else if (path === "/conflicts") {
    view = conflictsView(state);
  } else if (path === "/settings") {
    view = settingsView(state, app);
  } else {
    view = todayView(state, go);
  }
  app.view = view;
  mount(main, view.el);
  main.focus({ preventScroll: true });
  search.el.hidden = !state.session;
  scrollTo(0, history.state?.scrollY ?? 0);
}

const progressBar = h("progress", { id: "sync-progress", "aria-label": "Records synced", hidden: true });
indicator.after(progressBar);

function renderChrome() {
  const isLive = live.connected && syncer.status === "idle";
  indicator.textContent = syncer.describe(state.waiting) + (isLive ? " · live" : "");
  indicator.dataset.status = syncer.status;
  indicator.dataset.live = String(isLive);
  const progress = syncer.status === "syncing" ? syncer.progress : null;
  progressBar.hidden = !progress?.total;
  if (progress?.total) {
    progressBar.max = progress.total;
    progressBar.value = Math.min(progress.received, progress.total);
  }
  const open = state.session ? openConflicts(state.records).length : 0;
  conflictCount.textContent = open ? String(open) : "";
  conflictCount.hidden = open === 0;
  const refused = state.refused.length;
  const note = !state.session && syncer.error ? h("p", { class: "banner warn" }, syncer.error) : null;
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
  go(link.getAttribute("href"));
});
addEventListener("popstate", route);

state.addEventListener("readonly", () => {
  mount(banner, h("p", { class: "banner warn" },
    "This store is shared with you to read: changes are not saved."));
});
// Views update from what changed (the event's detail, passed to `view.update`). Edits and
// outbox changes show at once; pulled pages are gathered and shown at most every UPDATE_MS
// while a sync runs, and only to the view on screen: a hidden page gathers them until it is
// visible again, and views not on screen do not exist to be drawn.
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
  app.view?.update?.(changes);
  lastUpdate = performance.now();
  updateGap = Math.max(UPDATE_MS, 4 * (lastUpdate - start));
}

// After a load (start, sign-in, another store, a reset) the search index is built while idle.
state.addEventListener("change", ({ detail }) => {
  if (!detail?.ids && state.session) warmSearchIndex(state);
});
state.addEventListener("change", ({ detail }) => {
  gather(detail);
  if (detail.source !== "pull") return updateView();
  if (updateTimer) return;
  updateTimer = setTimeout(updateView, Math.max(0, lastUpdate + updateGap - performance.now()));
});
document.addEventListener("visibilitychange", updateView);
syncer.addEventListener("status", renderChrome);
syncer.addEventListener("stale", () => state.load());
live.addEventListener("status", renderChrome);
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

function watchForUpdates(registration) {
  let updating = false;
  const offer = (worker) => {
    mount(updateBanner, h("p", { class: "banner" }, "A new version of Grapevine is ready. ",
      h("button", { type: "button", onclick: () => {
        updating = true;
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
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!updating) return;
    updating = false;
    location.reload();
  });
}

// The first screen draws from what is small (session, outbox, Today as last shown); the
// records follow in chunks, then the sync starts.
await state.open();
route();
renderChrome();
pushInBackground(syncer, () => state.waiting);
state.load().then(() => {
  syncer.start();
  live.start();
});
askForPersistence();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(watchForUpdates);
}
