/**
 * Pull pages from a cursor on, each stored in IndexedDB (records, cursor, clock) before it is
 * handed on; the next page is asked for while one is being stored. Runs in the pull worker
 * (pull-worker.js), or in the page where workers are missing.
 */

import { api } from "./api.js";

/**
 * @param {import('./db.js').Db} db
 * @param {{storeId: string, token: string, clientId: string, cursor: string, limit: number,
 *   signal?: AbortSignal}} from (`signal`: where the pull runs in the page, Syncer#supersede's)
 * @returns {AsyncGenerator<object>} pull answers, stored; a `reset` one has emptied the copy
 *   (db.js's Superseded, with nothing stored, once `clientId` is no longer this device's)
 */
export async function* storedPages(db, { storeId, token, clientId, cursor, limit, signal }) {
  const fetchPage = (after) => {
    const request = api(`/api/stores/${storeId}/pull`, {
      method: "POST",
      token,
      signal,
      body: { client_id: clientId, cursor: after, limit },
    });
    request.catch(() => {}); // awaited below, unless an earlier page failed first
    return request;
  };
  let next = fetchPage(cursor);
  for (;;) {
    const page = await next;
    if (page.reset) {
      // The server cannot continue from our cursor: start over, keeping the outbox.
      await db.savePull([], "", page.hlc, true, clientId);
      yield page;
      next = fetchPage("");
      continue;
    }
    next = page.more ? fetchPage(page.cursor) : null;
    await db.savePull(page.changes, page.cursor, page.hlc, false, clientId);
    yield page;
    if (!page.more) return;
  }
}
