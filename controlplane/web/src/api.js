// The admin REST API client (docs/API.md). Same-origin calls to /api/*: the session travels in
// the HttpOnly `lingmo_session` cookie the daemon sets at login, never in script-readable storage.
// Every change (any method but GET/HEAD) carries the session's CSRF token, which lives only in
// memory (from the login answer or GET /api/session).
//
// Failures the whole console reacts to are reported through hooks (set by main.js):
//   401 (session gone)                 -> onUnauthenticated: back to the login page, "session expired"
//   403 password_change_required       -> onPasswordChange: the change-password screen
//   503 storage_unavailable / network  -> onStorage(true|false): the banner at the top
// Callers get an ApiError for every non-2xx answer and show its message where the action was.

let csrfToken = '';
const hooks = { onUnauthenticated: null, onPasswordChange: null, onStorage: null, onForbidden: null };

export function setCsrf(token) { csrfToken = token || ''; }
export function setHooks(h) { Object.assign(hooks, h); }

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.body = body;
  }
}

function parse(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

// One call. `body` undefined sends `{}` for POST/PUT (the daemon wants a Content-Length).
// Options: raw (return the text, e.g. /metrics), quiet401 (no redirect: the login probe),
// signal (AbortController).
export async function request(method, path, body, { raw = false, quiet401 = false, signal } = {}) {
  const headers = { Accept: raw ? 'text/plain' : 'application/json' };
  let payload;
  if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
    payload = JSON.stringify(body === undefined ? {} : body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store', signal });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    hooks.onStorage?.('network');
    throw new ApiError(0, 'network', e?.message || 'network error');
  }
  const text = await res.text();
  const json = parse(text);
  if (res.ok) {
    hooks.onStorage?.(false);
    return raw ? text : json;
  }
  const code = json?.error?.code || '';
  const message = json?.error?.message || `HTTP ${res.status}`;
  const err = new ApiError(res.status, code, message, json);
  if (res.status === 503 && (code === 'storage_unavailable' || code === 'redis_unavailable')) hooks.onStorage?.(true);
  else if (res.status >= 500 && !code) hooks.onStorage?.('network');  // a proxy in front: daemon down
  if (res.status === 401 && !quiet401 && code === 'unauthenticated') hooks.onUnauthenticated?.();
  if (res.status === 403 && code === 'password_change_required') hooks.onPasswordChange?.();
  if (res.status === 403 && code === 'forbidden') hooks.onForbidden?.();
  throw err;
}

export const api = {
  get: (p, opts) => request('GET', p, undefined, opts),
  post: (p, body, opts) => request('POST', p, body, opts),
  put: (p, body, opts) => request('PUT', p, body, opts),
  del: (p, opts) => request('DELETE', p, undefined, opts),
};

// Query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

// Prometheus text (GET /metrics) -> [{ name, labels: {...}, value }].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = re.exec(m[3]))) labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}
