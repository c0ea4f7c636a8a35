// The REST API (/api/v1, docs/openapi.yaml) as the page uses it: the session cookie travels by
// itself (same origin); every write carries the session's CSRF token.

const BASE = '/api/v1';
let csrfToken = '';
const unauthorizedListeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function setCsrfToken(token) { csrfToken = token || ''; }

/** Called when a request answers 401 (the session ended): the app shows the login. */
export function onUnauthorized(fn) { unauthorizedListeners.add(fn); }

async function errorOf(res) {
  let code = 'http_' + res.status;
  let message = res.statusText || ('HTTP ' + res.status);
  let details;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      details = body.error;
    }
  } catch (_) { /* not JSON */ }
  return new ApiError(res.status, code, message, details);
}

/**
 * request('GET', '/faxes', {query: {state: 'done'}}) → parsed JSON (null for 204).
 * `body`: an object (sent as JSON) or FormData (multipart). Throws ApiError.
 */
export async function request(method, path, {query, body, signal, quiet401} = {}) {
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.append(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += '?' + qs;
  }
  const headers = {'Accept': 'application/json'};
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, {method, headers, body: payload, credentials: 'same-origin', signal});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e.message || 'network error');
  }
  if (res.status === 401 && !quiet401) {
    for (const fn of unauthorizedListeners) fn();
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('application/json') ? res.json() : res.text();
}

export const get = (path, query, opts = {}) => request('GET', path, {...opts, query});
export const post = (path, body, opts = {}) => request('POST', path, {...opts, body});
export const put = (path, body, opts = {}) => request('PUT', path, {...opts, body});
export const del = (path, opts = {}) => request('DELETE', path, opts);

/** The URL of a resource for <img src> or a download link. */
export const url = (path) => BASE + path;

/**
 * Live updates (GET /events, Server-Sent Events). `handlers` maps event names to functions of the
 * parsed data. Reconnects by itself (EventSource); after a refusal, only if `beforeRetry()`
 * resolves true. Returns a close function.
 */
export function subscribe(handlers, onState, beforeRetry) {
  let source = null;
  let closed = false;
  let retry = null;
  const open = () => {
    if (closed) return;
    source = new EventSource(BASE + '/events', {withCredentials: true});
    source.onopen = () => onState && onState('open');
    source.onerror = async () => {
      onState && onState('reconnecting');
      // EventSource retries by itself unless the server refused (e.g. 401, 503): then it closes,
      // and `beforeRetry` decides whether to open it again (not once the session has ended).
      if (source.readyState === EventSource.CLOSED && !closed) {
        const again = beforeRetry ? await beforeRetry() : true;
        if (again && !closed) retry = setTimeout(open, 5000);
      }
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (_) { return; }
        fn(data);
      });
    }
  };
  open();
  return () => {
    closed = true;
    if (retry) clearTimeout(retry);
    if (source) source.close();
  };
}
