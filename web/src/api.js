// The API's public contract, and the session: tokens kept in localStorage, refreshed once however
// many requests fail together, the rotated refresh token always stored.

const ACCESS = "tickerwatch.access";
const REFRESH = "tickerwatch.refresh";

let apiBase = "";
let eventsConfig = null;
let refreshing = null;
const signedOutListeners = new Set();

export class ApiError extends Error {
  // `fields` holds the API's per-field messages (Django REST framework's shape: top-level keys).
  constructor(status, message, fields = {}) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

export class SignedOut extends Error {}

// The deployment writes config.json beside index.html; an empty apiUrl means "same origin".
export async function loadConfig() {
  try {
    const reply = await fetch("/config.json", { cache: "no-store" });
    if (reply.ok) {
      const config = await reply.json();
      apiBase = (config.apiUrl || "").replace(/\/$/, "");
      eventsConfig = config.events || null;
    }
  } catch {
    apiBase = "";
  }
}

// Where live updates come from (AppSync Events, or the local server's emulation): null when none.
// Relative URLs are the page's own origin, as the local server serves them.
export function liveEndpoints() {
  if (!eventsConfig?.realtimeUrl || !eventsConfig?.httpUrl) return null;
  const http = new URL(eventsConfig.httpUrl, location.href);
  const realtime = new URL(eventsConfig.realtimeUrl, location.href);
  if (realtime.protocol === "http:") realtime.protocol = "ws:";
  if (realtime.protocol === "https:") realtime.protocol = "wss:";
  return { realtimeUrl: realtime.href, host: http.host };
}

// An access token that has not expired, refreshed first when it has (or is about to, or `refresh`
// asks: the server refused the last one): the socket authorizes with it as HTTP requests do. Null
// when signed out.
export async function freshAccessToken(marginSeconds = 30, { refresh = false } = {}) {
  if (!isSignedIn()) return null;
  let token = localStorage.getItem(ACCESS);
  const { exp = 0, iat = 0 } = token ? tokenClaims(token) : {};
  // a quarter of the token's life at most: a short-lived token is not refreshed on every use
  const margin = Math.min(marginSeconds, Math.max(0, exp - iat) / 4);
  if (!token || refresh || exp - margin <= Date.now() / 1000) {
    await refreshTokens();
    token = localStorage.getItem(ACCESS);
  }
  return token;
}

// The claims of our own token (not verified here: the server does that), e.g. the user id in `sub`.
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

export function isSignedIn() {
  return Boolean(localStorage.getItem(REFRESH));
}

export function onSignedOut(listener) {
  signedOutListeners.add(listener);
}

function storeTokens({ access, refresh }) {
  localStorage.setItem(ACCESS, access);
  if (refresh) localStorage.setItem(REFRESH, refresh);
}

function forgetTokens(reason) {
  const wasSignedIn = isSignedIn();
  localStorage.removeItem(ACCESS);
  localStorage.removeItem(REFRESH);
  if (wasSignedIn) signedOutListeners.forEach((listener) => listener(reason));
}

function send(path, { method = "GET", body, token } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(apiBase + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch(() => {
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  });
}

async function errorFrom(reply) {
  let body = {};
  try {
    body = await reply.json();
  } catch {
    body = {};
  }
  const fields = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== "detail" && Array.isArray(value)) fields[key] = value.join(" ");
  }
  let message = typeof body.detail === "string" ? body.detail : `The server answered ${reply.status}.`;
  if (reply.status === 503) message = `${message} The service is briefly unavailable; try again in a moment.`;
  if (reply.status === 429 && !body.detail) message = "Too many requests; wait a moment and try again.";
  return new ApiError(reply.status, message, fields);
}

// One refresh in flight at a time: every request that failed with the same expired token waits
// for it. A refresh the server refuses ends the session; it is never retried.
function refreshTokens() {
  if (!refreshing) {
    refreshing = (async () => {
      const refresh = localStorage.getItem(REFRESH);
      if (!refresh) throw new SignedOut("You are not signed in.");
      const reply = await send("/api/v1/token/refresh/", { method: "POST", body: { refresh } });
      if (reply.status === 400 || reply.status === 401) {
        forgetTokens("Your session has ended. Please log in again.");
        throw new SignedOut("Your session has ended. Please log in again.");
      }
      if (!reply.ok) throw await errorFrom(reply);
      storeTokens(await reply.json());
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

// A JSON request; `auth` sends the access token and refreshes it once when it has expired.
export async function api(path, { method = "GET", body, auth = false } = {}) {
  let token = auth ? localStorage.getItem(ACCESS) : null;
  if (auth && !token) {
    if (!isSignedIn()) throw new SignedOut("Please log in first.");
    await refreshTokens();
    token = localStorage.getItem(ACCESS);
  }
  let reply = await send(path, { method, body, token });
  if (reply.status === 401 && auth) {
    // Another request may have refreshed already while this one was on its way.
    if (localStorage.getItem(ACCESS) === token) await refreshTokens();
    token = localStorage.getItem(ACCESS);
    reply = await send(path, { method, body, token });
    if (reply.status === 401) {
      forgetTokens("Your session has ended. Please log in again.");
      throw new SignedOut("Your session has ended. Please log in again.");
    }
  }
  if (!reply.ok) throw await errorFrom(reply);
  if (reply.status === 204) return null;
  return reply.json();
}

export async function logIn(username, password) {
  const tokens = await api("/api/v1/token/", { method: "POST", body: { username, password } });
  storeTokens(tokens);
}

export async function logOut() {
  const refresh = localStorage.getItem(REFRESH);
  localStorage.removeItem(ACCESS);
  localStorage.removeItem(REFRESH);
  if (refresh) {
    // Revoking is a courtesy to the server: the tokens are gone from this browser either way.
    await send("/api/v1/logout/", { method: "POST", body: { refresh } }).catch(() => null);
  }
}
