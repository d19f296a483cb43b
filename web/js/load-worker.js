/**
 * The start's read of a whole store, off the main thread: IndexedDB's decoding of every value
 * (a structured clone of each record) happens here, and the page gets the values as JSON text,
 * which it parses in a fraction of the time that decoding takes on its own thread. It asks for
 * the next slice when it wants it; a few slices are read ahead (`credit`), no more.
 *
 * Records come from the server's JSON (pull pages), so JSON carries them whole.
 */

import { Db } from "./db.js";

const CHUNK = 1000; // values per IndexedDB read; the page gets them `size` at a time

let credit = 0;
let wake = null;

onmessage = ({ data }) => {
  if (data.open) read(data.open);
  credit += data.credit ?? 0;
  wake?.();
};

/** @param {{name: string, store: string, size: number, ahead: number}} open */
async function read({ name, store, size, ahead }) {
  credit += ahead;
  try {
    const db = await Db.open(name);
    for await (const chunk of db.chunks(store, CHUNK)) {
      for (let at = 0; at < chunk.length; at += size) {
        while (credit <= 0) await new Promise((resolve) => { wake = resolve; });
        wake = null;
        credit -= 1;
        postMessage({ text: JSON.stringify(chunk.slice(at, at + size)) });
      }
    }
    postMessage({ done: true });
  } catch (error) {
    postMessage({ error: String(error?.message ?? error) });
  }
}
