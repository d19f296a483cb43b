/**
 * The pull, off the main thread: fetching each page, parsing it and storing its records in
 * IndexedDB (a structured clone of every record) happen here, so a first sync of tens of
 * thousands of records leaves the page free to answer. The page gets each stored page to
 * show, in order, then `done`, or the error that stopped the pull.
 */

import { ApiError } from "./api.js";
import { Db, Superseded } from "./db.js";
import { storedPages } from "./pages.js";

let db = null;

onmessage = async ({ data: from }) => {
  try {
    db ??= await Db.open();
    for await (const page of storedPages(db, from)) postMessage({ page });
    postMessage({ done: true });
  } catch (error) {
    postMessage({ error: error instanceof ApiError
      ? { status: error.status, body: error.body }
      : { network: error instanceof TypeError, superseded: error instanceof Superseded,
          message: String(error?.message ?? error) } });
  }
};
