import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, api } from "../../web/js/api.js";

/** A fetch that never answers (a connection that died without closing) unless aborted. */
function hangingFetch() {
  return (_path, { signal }) => new Promise((_resolve, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason));
  });
}

test("a request nobody answers ends as unreachable (a TypeError) after its timeout", async () => {
  const real = globalThis.fetch;
  globalThis.fetch = hangingFetch();
  const alive = setInterval(() => {}, 1000); // Node's AbortSignal.timeout keeps no process alive
  try {
    const started = Date.now();
    await assert.rejects(api("/api/stores/s/pull", { method: "POST", body: {}, timeoutMs: 50 }),
      (error) => error instanceof TypeError && /did not answer within/.test(error.message));
    assert.ok(Date.now() - started < 5_000);
    // The caller's own abort stays an abort, not "unreachable".
    const mine = new AbortController();
    const request = api("/api/x", { signal: mine.signal, timeoutMs: 10_000 });
    mine.abort();
    await assert.rejects(request, (error) => !(error instanceof TypeError) && error.name === "AbortError");
  } finally {
    clearInterval(alive);
    globalThis.fetch = real;
  }
});

test("answers and refusals come through as before", async () => {
  const real = globalThis.fetch;
  globalThis.fetch = async (path) => (path === "/ok"
    ? new Response('{"a":1}', { status: 200 })
    : new Response('{"detail":"no"}', { status: 403 }));
  try {
    assert.deepEqual(await api("/ok"), { a: 1 });
    await assert.rejects(api("/refused"), (error) => error instanceof ApiError && error.status === 403 && error.message === "no");
  } finally {
    globalThis.fetch = real;
  }
});
