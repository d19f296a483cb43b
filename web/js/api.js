/** The server's HTTP API (same origin). */

export class ApiError extends Error {
  /** @param {number} status @param {object} body */
  constructor(status, body) {
    super(body?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * How long a request may go unanswered. A connection that died without closing (a NAT that
 * forgot it, a phone waking up) never answers: without a limit, a pull or push would wait on
 * it forever and sync would stop. A timeout counts as the server being unreachable (a
 * TypeError, as a failed fetch is), so sync retries with backoff; a push retried after its
 * answer was lost is answered "duplicate" for what was applied.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * @param {string} path
 * @param {{method?: string, body?: object, token?: string, signal?: AbortSignal,
 *   timeoutMs?: number}} [options]
 */
export async function api(path, { method = "GET", body, token, signal, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  let response;
  let text;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    text = await response.text();
  } catch (error) {
    if (timeout.aborted && !signal?.aborted) {
      throw new TypeError(`the server did not answer within ${Math.round(timeoutMs / 1000)} s`);
    }
    throw error;
  }
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
