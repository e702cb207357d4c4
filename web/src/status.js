// The header's line of state: the exchange (open, or why not and when it opens), the live channel
// (live, reconnecting, or polling), and toasts for what happens to the user's alerts and orders.
import { api } from "./api.js";
import { h } from "./dom.js";
import { marketInWords, money } from "./format.js";
import { listen, onLiveState, userChannel } from "./live.js";

const MARKET_REFRESH_MS = 60_000;
const TOAST_MS = 10_000;
const LIVE_WORDS = {
  off: "",
  connecting: "Connecting to live updates…",
  live: "Live",
  reconnecting: "Reconnecting…",
  polling: "Live updates unavailable: refreshing every 15 s",
};

const marketLine = document.getElementById("market-status");
const liveLine = document.getElementById("live-status");
const toasts = document.getElementById("toasts");

async function showMarket() {
  try {
    const market = await api("/api/v1/market/");
    const replay = market.always_open ? " · replayed market, open at any hour" : "";
    marketLine.textContent = `NYSE: ${marketInWords(market)}${replay}`;
    marketLine.dataset.open = String(market.is_open);
  } catch {
    marketLine.textContent = "";
  }
}

export function toast(text) {
  const item = h(
    "li",
    { class: "toast" },
    h("span", { text }),
    h("button", { type: "button", class: "link", "aria-label": "Dismiss", text: "×", onclick: () => item.remove() }),
  );
  toasts.append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

// What a user event says to them, if anything.
export function toastText(event) {
  switch (event.type) {
    case "alert.triggered":
      return `Alert fired: ${event.symbol} at ${money(event.price)}`;
    case "order.filled":
      return `Order filled: ${event.symbol}`;
    case "order.expired":
      return `Order expired: ${event.symbol}`;
    case "notification.failed": // said once it is given up on, not at each retry
      return event.will_retry ? null : `A notification (${event.channel}) about ${event.symbol} could not be delivered`;
    default:
      return null;
  }
}

let userOff = null;
let listeningAs = null;

// Toasts for the signed-in user's events, wherever they are in the client.
export function followUser() {
  const channel = userChannel();
  if (channel === listeningAs) return;
  if (userOff) userOff();
  listeningAs = channel;
  userOff = channel
    ? listen(channel, (event) => {
        const text = toastText(event);
        if (text) toast(text);
      })
    : null;
}

export function unfollowUser() {
  if (userOff) userOff();
  userOff = null;
  listeningAs = null;
}

export function startStatus() {
  onLiveState((state) => {
    liveLine.textContent = LIVE_WORDS[state] || "";
    liveLine.dataset.state = state;
  });
  showMarket();
  setInterval(showMarket, MARKET_REFRESH_MS);
}
