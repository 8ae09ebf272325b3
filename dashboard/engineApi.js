// Talks to the engine that served this page. Every call carries the admin token when the tab has
// one; an answer that is not 2xx becomes an ApiError with the engine's error code and message.

const TOKEN_KEY = 'flashsale.adminToken';
const TIMEOUT_MS = 10_000;

/** The engine did not answer (network error, timeout): the page shows it as unreachable. */
export class EngineUnreachable extends Error {}

/**
 * The engine answered with an error: `status` and the `code` of its error shape
 * (docs/api.md#conventions; the codes: docs/api.md#errors).
 */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Session storage lives and dies with the tab: the token is never in a cookie or local storage.
export const adminToken = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

export function authHeaders() {
  const token = adminToken.get();
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function errorOf(response) {
  const body = await response.json().catch(() => null);
  const error = body?.error;
  return new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? response.statusText);
}

/** fetch() that throws EngineUnreachable when there is no answer within the timeout. */
export async function reach(path, init = {}) {
  try {
    return await fetch(path, { ...init, signal: init.signal ?? AbortSignal.timeout(TIMEOUT_MS), cache: 'no-store' });
  } catch (error) {
    if (init.signal?.aborted && error.name === 'AbortError') throw error;
    throw new EngineUnreachable(`The engine did not answer ${path}: ${error.message}`);
  }
}

/** GET (or POST with a JSON body) returning the parsed JSON answer. */
export async function callJson(path, { method = 'GET', body } = {}) {
  const headers = { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  const response = await reach(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export async function callText(path) {
  const response = await reach(path, { headers: authHeaders() });
  if (!response.ok) throw await errorOf(response);
  return response.text();
}
