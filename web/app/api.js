// The portal's only way to the API. The access token lives in this module's
// memory and nowhere else (never localStorage, sessionStorage, a cookie the
// page can read, or a URL); the refresh token is the gateway's HttpOnly
// kp_refresh cookie, used by POST /v1/auth/refresh and /logout only with the
// X-Keyport-Session: cookie header (the CSRF defence beyond SameSite).

let access = null;
let refreshTimer = 0;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, requestId, retryAfter) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.requestId = requestId || '';
    this.retryAfter = retryAfter;
  }
}

// onSessionEnd(fn): fn(reason) runs when the session cannot be renewed.
export function onSessionEnd(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function endSession(reason) {
  setAccess(null);
  for (const fn of listeners) fn(reason);
}

function setAccess(token, expiresIn) {
  access = token;
  clearTimeout(refreshTimer);
  if (token && expiresIn > 0) {
    // renew a little before the token runs out
    const ms = Math.max(5, expiresIn - 30) * 1000;
    refreshTimer = setTimeout(() => refresh().catch(() => endSession('expired')), ms);
  }
}

export function signedIn() {
  return access !== null;
}

async function errorOf(res) {
  let code = 'HTTP_' + res.status;
  let message = res.statusText;
  try {
    const j = await res.json();
    if (j && j.error) {
      code = j.error.code || code;
      message = j.error.message || message;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  const ra = parseInt(res.headers.get('Retry-After') || '', 10);
  return new ApiError(res.status, code, message, res.headers.get('X-Request-Id'),
    Number.isFinite(ra) ? ra : undefined);
}

async function send(method, path, opts) {
  const headers = { ...(opts.headers || {}) };
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = headers['Content-Type'] || 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (access && !opts.noAuth) headers.Authorization = 'Bearer ' + access;
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    const s = q.toString();
    if (s) url += '?' + s;
  }
  try {
    return await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'SERVICE_UNAVAILABLE', 'network error');
  }
}

// api(method, path, {body, raw, query, headers, response}) → parsed JSON
// (null for 204), or the Response itself with response: true. Throws
// ApiError. A 401 on a signed-in call renews the session once and retries.
export async function api(method, path, opts = {}) {
  let res = await send(method, path, opts);
  if (res.status === 401 && access && !opts.noAuth) {
    try {
      await refresh();
    } catch (e) {
      endSession('expired');
      throw e;
    }
    res = await send(method, path, opts);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && !opts.noAuth) endSession('expired');
    throw err;
  }
  if (opts.response) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// The whole of a paged list: every page of limit 100 (at most 50 pages).
export async function apiAll(path, query = {}) {
  const items = [];
  for (let page = 1; page <= 50; page++) {
    const r = await api('GET', path, { query: { ...query, page, limit: 100 } });
    items.push(...r.items);
    if (items.length >= r.total || r.items.length === 0) break;
  }
  return items;
}

export async function login(email, password) {
  const r = await api('POST', '/v1/auth/login', {
    body: { email, password, refreshCookie: true },
    noAuth: true,
  });
  setAccess(r.accessToken, r.expiresIn);
  return r.user;
}

// refresh(): a new access token from the cookie (silent sign-in after a
// reload). Concurrent callers share one request: the cookie rotates.
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const r = await api('POST', '/v1/auth/refresh', {
        body: {},
        headers: { 'X-Keyport-Session': 'cookie' },
        noAuth: true,
      });
      setAccess(r.accessToken, r.expiresIn);
      return r.user;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

export async function logout() {
  try {
    await api('POST', '/v1/auth/logout', {
      body: {},
      headers: { 'X-Keyport-Session': 'cookie' },
      noAuth: true,
    });
  } finally {
    setAccess(null);
  }
}
