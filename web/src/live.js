// Live updates over AWS AppSync Events (or the local server's emulation of it, which speaks the same
// protocol): one WebSocket, a subscription per channel, reconnects with backoff and resubscribes,
// and a page reloads what it shows when the socket comes back (a missed event loses nothing). While
// the socket cannot connect, pages poll instead (the API answers ETags) and the header says so.
import { freshAccessToken, isSignedIn, liveEndpoints, tokenClaims } from "./api.js";

const PROTOCOL = "aws-appsync-event-ws";
export const POLL_MS = 15_000;
const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000];
const FAILURES_BEFORE_POLLING = 2; // a second failed try in a row: poll while it keeps trying

let socket = null;
let state = "off"; // off (signed out) | connecting | live | reconnecting | polling
let failures = 0;
let retryTimer = null;
let silenceTimer = null;
let connectionTimeoutMs = 300_000;
let everLive = false;
const channels = new Map(); // channel -> { id, listeners }
const byId = new Map(); // subscription id -> channel
const stateListeners = new Set();
const reconnectListeners = new Set();
let pageDisposers = [];

// A ticker as a channel segment: letters and digits as they are, any other character as "-" and its
// two hex digits (BRK.B -> BRK-2EB), as the server writes it (tickerwatch.live.symbol_segment).
export function symbolSegment(symbol) {
  return [...symbol]
    .map((c) => (/^[A-Za-z0-9]$/.test(c) ? c : `-${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");
}

export const priceChannel = (symbol) => `/prices/${symbolSegment(symbol)}`;

export function liveState() {
  return state;
}

export function onLiveState(listener) {
  stateListeners.add(listener);
  listener(state);
}

function setState(next) {
  if (next === state) return;
  state = next;
  stateListeners.forEach((listener) => listener(state));
}

function base64url(text) {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Connects when signed in and not connected yet; the router calls it on every page.
let opening = false;

export async function connectLive() {
  if (socket || opening || retryTimer || !isSignedIn()) return;
  const endpoints = liveEndpoints();
  if (!endpoints) {
    setState("polling");
    return;
  }
  setState(failures ? (failures >= FAILURES_BEFORE_POLLING ? "polling" : "reconnecting") : "connecting");
  let token;
  opening = true; // one socket at a time, however many pages render while the token is read
  try {
    token = await freshAccessToken();
  } catch {
    return; // signed out meanwhile: the sign-out listener has taken over
  } finally {
    opening = false;
  }
  if (socket || !token) return;
  const header = base64url(JSON.stringify({ host: endpoints.host, Authorization: token }));
  let ws;
  try {
    ws = new WebSocket(endpoints.realtimeUrl, [PROTOCOL, `header-${header}`]);
  } catch {
    retry();
    return;
  }
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init" }));
  ws.onmessage = (message) => {
    let body;
    try {
      body = JSON.parse(message.data);
    } catch {
      return;
    }
    received(ws, body);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    clearTimeout(silenceTimer);
    byId.clear();
    for (const entry of channels.values()) {
      entry.id = null;
      clearTimeout(entry.retryTimer);
    }
    retry();
  };
}

// Signed out: close, and forget every subscription (the next user has channels of their own).
export function stopLive() {
  clearTimeout(retryTimer);
  retryTimer = null;
  const ws = socket;
  socket = null;
  if (ws) ws.close();
  channels.clear();
  byId.clear();
  failures = 0;
  everLive = false;
  setState("off");
}

// The wait before the attempt after `failures` failed ones, jittered so that clients a restart
// dropped together do not all come back in the same instant.
function backoff(failures) {
  return BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)] * (0.75 + Math.random() * 0.5);
}

function retry() {
  failures += 1;
  setState(failures >= FAILURES_BEFORE_POLLING ? "polling" : "reconnecting");
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => {
    retryTimer = null;
    connectLive();
  }, backoff(failures));
}

// No keep-alive within the connection's timeout: the socket is dead though the browser has not noticed.
function heardFrom(ws) {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(() => ws.close(), connectionTimeoutMs);
}

function received(ws, message) {
  heardFrom(ws);
  switch (message.type) {
    case "connection_ack": {
      connectionTimeoutMs = message.connectionTimeoutMs || connectionTimeoutMs;
      failures = 0;
      setState("live");
      for (const channel of channels.keys()) subscribe(channel);
      if (everLive) reconnectListeners.forEach((listener) => listener());
      everLive = true;
      break;
    }
    case "data": {
      const channel = byId.get(message.id);
      const entry = channel && channels.get(channel);
      if (!entry) return;
      let event;
      try {
        event = JSON.parse(message.event);
      } catch {
        return;
      }
      entry.listeners.forEach((listener) => listener(event));
      break;
    }
    case "subscribe_error": {
      const channel = byId.get(message.id);
      byId.delete(message.id);
      const entry = channel && channels.get(channel);
      if (!entry || entry.id !== message.id) break;
      // Most often an access token that expired on its way (a slow network, a busy server): asked again
      // with a newly refreshed one, backing off, for as long as the page listens; never left silent.
      entry.id = null;
      entry.refusals += 1;
      clearTimeout(entry.retryTimer);
      entry.retryTimer = setTimeout(() => subscribe(channel), backoff(entry.refusals));
      break;
    }
    case "subscribe_success": {
      const entry = channels.get(byId.get(message.id));
      if (!entry) break;
      entry.refusals = 0;
      // events published before the subscription was in place were not heard: read the state again
      entry.onActive.forEach((reload) => reload());
      break;
    }
    case "connection_error":
      ws.close();
      break;
    default:
      break; // ka, unsubscribe_success
  }
}

async function subscribe(channel) {
  const entry = channels.get(channel);
  if (!entry || entry.id || state !== "live") return;
  const id = crypto.randomUUID();
  entry.id = id;
  byId.set(id, channel);
  let token = null;
  try {
    token = await freshAccessToken(undefined, { refresh: entry.refusals > 0 });
  } catch {
    // signed out: nothing to subscribe with
  }
  const endpoints = liveEndpoints();
  if (entry.id !== id) return; // unsubscribed, or the socket closed, meanwhile
  if (socket && socket.readyState === WebSocket.OPEN && token) {
    socket.send(JSON.stringify({ type: "subscribe", id, channel, authorization: { Authorization: token, host: endpoints.host } }));
  } else {
    entry.id = null; // the next connection_ack subscribes it
    byId.delete(id);
  }
}

// Listens on a channel until the returned function is called; `onActive` runs each time the
// subscription is (re)established, for a page to read again what it may have missed.
export function listen(channel, listener, onActive = null) {
  let entry = channels.get(channel);
  if (!entry) {
    entry = { id: null, listeners: new Set(), onActive: new Set(), refusals: 0, retryTimer: null };
    channels.set(channel, entry);
    subscribe(channel);
  }
  entry.listeners.add(listener);
  if (onActive) entry.onActive.add(onActive);
  return () => {
    entry.listeners.delete(listener);
    if (onActive) entry.onActive.delete(onActive);
    if (entry.listeners.size || channels.get(channel) !== entry) return;
    channels.delete(channel);
    clearTimeout(entry.retryTimer);
    if (entry.id) {
      byId.delete(entry.id);
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "unsubscribe", id: entry.id }));
    }
  };
}

export function userChannel() {
  const token = localStorage.getItem("tickerwatch.access") || "";
  const user = tokenClaims(token).sub;
  return user ? `/users/${user}` : null;
}

// ------------------------------------------------------------------ what a page listens to, until it is left

export function onPrice(symbol, listener) {
  pageDisposers.push(listen(priceChannel(symbol), listener));
}

// `reload`: what the page reads again once the channel is listening (it may have missed an event).
export function onUserEvent(listener, reload = null) {
  const channel = userChannel();
  if (channel) pageDisposers.push(listen(channel, listener, reload));
}

// Runs when the socket comes back after a drop: the page reloads what it shows.
export function onReconnect(listener) {
  reconnectListeners.add(listener);
  pageDisposers.push(() => reconnectListeners.delete(listener));
}

// Runs `task` every `ms` while live updates are not flowing (the fallback), until the page is left.
export function whilePolling(task, ms = POLL_MS) {
  const timer = setInterval(() => {
    if (state !== "live") task();
  }, ms);
  pageDisposers.push(() => clearInterval(timer));
}

// At most one call per `ms`, the last one winning: a burst of events re-reads the page once.
export function throttled(task, ms = 1_000) {
  let timer = null;
  pageDisposers.push(() => clearTimeout(timer));
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      task();
    }, ms);
  };
}

export function endPage() {
  pageDisposers.forEach((dispose) => dispose());
  pageDisposers = [];
}
