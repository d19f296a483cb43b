/*
 * Grapevine's service worker: the app shell from a versioned cache, so the installed app
 * opens with no network. The API is never cached: data lives in IndexedDB, and sync is the
 * app's own business. A new version waits until the page asks it to take over.
 */

// The server writes a hash of the app's files here, so every change makes a new version; the
// worker itself is not part of that hash, so a change of what it does bumps its revision (-2:
// the shell no longer answers calendar feeds and other files).
const VERSION = "grapevine-2-__SHELL_HASH__";
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
  "/js/ids.js",
  "/js/live.js",
  "/js/load-worker.js",
  "/js/model.js",
  "/js/nextsteps.js",
  "/js/outbox.js",
  "/js/pages.js",
  "/js/paths.js",
  "/js/pull-worker.js",
  "/js/schema.js",
  "/js/search.js",
  "/js/shell.js",
  "/js/state.js",
  "/js/sync.js",
  "/js/theme.js",
  "/js/views/capture.js",
  "/js/views/conflicts.js",
  "/js/views/conversation.js",
  "/js/views/form.js",
  "/js/views/duplicates.js",
  "/js/views/exchange.js",
  "/js/views/list.js",
  "/js/views/opening.js",
  "/js/views/organization.js",
  "/js/views/organizations.js",
  "/js/views/pathsvg.js",
  "/js/views/people.js",
  "/js/views/person.js",
  "/js/views/search.js",
  "/js/views/settings.js",
  "/js/views/signin.js",
  "/js/views/signout.js",
  "/js/views/status.js",
  "/js/views/steps.js",
  "/js/views/table.js",
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

// What the server answers itself, never the shell (server/web.py): the API, the OpenAPI
// document, and the calendar feeds (a /calendar/….ics link opened in the browser downloads it).
const SERVER_PATHS = /^\/(api|schema|calendar)(\/|$)/;

/** A page of the app: a path with no file extension, as server/web.py serves the shell for. */
function isAppRoute(pathname) {
  const name = pathname.slice(pathname.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return !(dot > 0 && dot < name.length - 1);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (SERVER_PATHS.test(url.pathname)) return;
  if (event.request.mode === "navigate" && isAppRoute(url.pathname)) {
    // Every page of the app is the shell; the router draws the rest.
    event.respondWith(caches.match("/index.html").then((hit) => hit ?? fetch(event.request)));
    return;
  }
  // A file: the shell's own from the cache, anything else from the network (a 404 stays one).
  event.respondWith(caches.match(url.pathname).then((hit) => hit ?? fetch(event.request)));
});

/*
 * Background Sync: edits queued while offline leave when the browser has a connection again,
 * even if the app was closed. The app registers the tag (live.js) when edits wait and it
 * cannot send them; here the outbox is read from IndexedDB and pushed with the same protocol
 * and the same bookkeeping as the app's own push (db.js takeBatch / acknowledge): a batch is
 * marked sent before it leaves, and the server answers a resent mutation `duplicate`, so
 * nothing is applied twice. Anything but success or a network failure (a sign-out, a gap, a
 * refusal) is left for the app to handle when it next opens; a network failure rejects, and
 * the browser tries again later.
 */
const PUSH_TAG = "grapevine-push";
const PUSH_BATCH = 500;

self.addEventListener("sync", (event) => {
  if (event.tag === PUSH_TAG) event.waitUntil(pushOutbox());
});

async function pushOutbox() {
  const windows = await self.clients.matchAll({ type: "window" });
  const visible = windows.find((client) => client.visibilityState === "visible");
  if (visible) {
    visible.postMessage("sync"); // the open app pushes itself, and then pulls
    return;
  }
  const db = await openExisting("grapevine");
  if (!db) return;
  try {
    for (;;) {
      const { session, clientId, batch } = await takeBatch(db);
      if (!session || !batch.length) return;
      const response = await fetch(`/api/stores/${session.store_id}/push`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          Authorization: `Bearer ${session.token}`,
        },
        body: JSON.stringify({ client_id: clientId, mutations: batch }),
        cache: "no-store",
      });
      if (response.status >= 500) throw new Error(`push answered ${response.status}`);
      if (!response.ok) return;
      const answer = await response.json();
      // (Another session's outbox by now: the next turn takes that one's, as its own push.)
      await acknowledge(db, answer, clientId);
    }
  } finally {
    db.close();
  }
}

/** The app's database, never created here (that is db.js's job, with its schema). */
function openExisting(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    let created = false;
    request.onupgradeneeded = () => {
      created = true;
      request.transaction.abort();
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => (created ? resolve(null) : reject(request.error));
  });
}

const idbDone = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

const idbFinished = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });

/** As db.js takeBatch: the next batch, and the note that it went out, in one transaction. */
async function takeBatch(db) {
  const tx = db.transaction(["outbox", "meta"], "readwrite");
  const meta = tx.objectStore("meta");
  const [all, sent, session, client] = await Promise.all([
    idbDone(tx.objectStore("outbox").getAll()),
    idbDone(meta.get("sent")),
    idbDone(meta.get("session")),
    idbDone(meta.get("client")),
  ]);
  const batch = session && client ? all.filter((m) => !m.acked).slice(0, PUSH_BATCH) : [];
  if (batch.length) meta.put(Math.max(sent ?? 0, batch.at(-1).id), "sent");
  await idbFinished(tx);
  return { session, clientId: client?.client_id, batch: batch.map(({ acked, ...m }) => m) };
}

/**
 * As db.js acknowledge: processed mutations marked, refused ones set aside for the user. False,
 * and nothing written, when the outbox is another client's by now (the app opened another
 * store or signed in again while this push was on its way).
 */
async function acknowledge(db, answer, clientId) {
  const tx = db.transaction(["outbox", "refused", "meta"], "readwrite");
  const outbox = tx.objectStore("outbox");
  const rejected = new Map(
    answer.results.filter((r) => r.status === "rejected").map((r) => [r.id, r.error]),
  );
  const at = new Date().toISOString();
  const [client, processed] = await Promise.all([
    idbDone(tx.objectStore("meta").get("client")),
    idbDone(outbox.getAll(IDBKeyRange.upperBound(answer.last_mutation_id))),
  ]);
  if (client?.client_id !== clientId) {
    tx.abort();
    return false;
  }
  for (const m of processed) {
    if (rejected.has(m.id)) {
      const { acked, ...mutation } = m;
      outbox.delete(m.id);
      tx.objectStore("refused").put({ mutation, error: rejected.get(m.id), at });
    } else if (!m.acked) {
      outbox.put({ ...m, acked: true });
    }
  }
  await idbFinished(tx);
  return true;
}
