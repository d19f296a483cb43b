/*
 * Grapevine's service worker: the app shell from a versioned cache, so the installed app
 * opens with no network. The API is never cached: data lives in IndexedDB, and sync is the
 * app's own business. A new version waits until the page asks it to take over.
 */

// The server writes a hash of the app's files here, so every change makes a new version.
const VERSION = "grapevine-__SHELL_HASH__";
const SHELL = [
  "/",
  "/css/app.css",
  "/icons/apple-touch-icon.png",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/maskable-512.png",
  "/index.html",
  "/js/api.js",
  "/js/app.js",
  "/js/capture.js",
  "/js/dates.js",
  "/js/deletion.js",
  "/js/db.js",
  "/js/dom.js",
  "/js/duplicates.js",
  "/js/exchange.js",
  "/js/hlc.js",
  "/js/model.js",
  "/js/nextsteps.js",
  "/js/outbox.js",
  "/js/pages.js",
  "/js/paths.js",
  "/js/pull-worker.js",
  "/js/schema.js",
  "/js/search.js",
  "/js/state.js",
  "/js/sync.js",
  "/js/views/capture.js",
  "/js/views/conflicts.js",
  "/js/views/conversation.js",
  "/js/views/form.js",
  "/js/views/duplicates.js",
  "/js/views/exchange.js",
  "/js/views/list.js",
  "/js/views/organization.js",
  "/js/views/organizations.js",
  "/js/views/pathsvg.js",
  "/js/views/people.js",
  "/js/views/person.js",
  "/js/views/search.js",
  "/js/views/settings.js",
  "/js/views/signin.js",
  "/js/views/signout.js",
  "/js/views/today.js",
  "/js/views/undo.js",
  "/manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(VERSION).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })))),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== VERSION) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/schema")) return;
  if (event.request.mode === "navigate") {
    // Every page of the app is the shell; the router draws the rest.
    event.respondWith(caches.match("/index.html").then((hit) => hit ?? fetch(event.request)));
    return;
  }
  event.respondWith(caches.match(url.pathname).then((hit) => hit ?? fetch(event.request)));
});
