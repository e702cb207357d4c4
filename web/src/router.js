// The router: which page a path shows, the navigation bar, and what happens around every page.
import { ApiError, isSignedIn, logOut, onSignedOut, SignedOut } from "./api.js";
import { h } from "./dom.js";
import { connectLive, endPage, stopLive } from "./live.js";
import { isCurrent } from "./navigation.js";
import { navigate, onNavigate, setNotice, show, view } from "./page.js";
import { loginPage, settingsPage, signupPage } from "./pages/accounts.js";
import { alertFormPage, alertsPage } from "./pages/alerts.js";
import { predictionPage, predictionsPage, predictPage } from "./pages/predictions.js";
import { stockPage, stocksPage } from "./pages/stocks.js";
import { tradePage } from "./pages/trade.js";
import { triggersPage } from "./pages/triggers.js";
import { watchlistsPage } from "./pages/watchlists.js";
import { webhooksPage } from "./pages/webhooks.js";
import { followUser, startStatus, unfollowUser } from "./status.js";

const nav = document.getElementById("nav");

const routes = [
  [/^\/$/, () => navigate(isSignedIn() ? "/stocks" : "/login", true)],
  [/^\/login$/, loginPage, { public: true }],
  [/^\/signup$/, signupPage, { public: true }],
  [/^\/stocks$/, stocksPage, { public: true }],
  [/^\/stocks\/([A-Za-z0-9.^=-]+)$/, stockPage, { public: true }],
  [/^\/watchlists$/, watchlistsPage],
  [/^\/predict$/, predictPage],
  [/^\/predictions$/, predictionsPage],
  [/^\/predictions\/(\d+)$/, predictionPage],
  [/^\/alerts$/, alertsPage],
  [/^\/alerts\/new$/, (m) => alertFormPage(m, null)],
  [/^\/alerts\/(\d+)\/edit$/, (m) => alertFormPage(m, Number(m[1]))],
  [/^\/triggers$/, triggersPage],
  [/^\/webhooks$/, webhooksPage],
  [/^\/trade$/, tradePage],
  [/^\/settings$/, settingsPage],
];


async function render({ keepFocus = false } = {}) {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  endPage(); // the page being left stops listening
  if (isSignedIn()) {
    followUser();
    connectLive();
  }
  renderNav(path);
  for (const [pattern, page, options = {}] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    if (!options.public && !isSignedIn() && path !== "/") {
      setNotice("Please log in to see that page.");
      navigate(`/login?next=${encodeURIComponent(path)}`, true);
      return;
    }
    view.replaceChildren();
    try {
      await page(match);
    } catch (error) {
      handlePageError(error);
    }
    if (!keepFocus) focusHeading();
    return;
  }
  view.replaceChildren(h("h1", { text: "Page not found" }), h("p", {}, h("a", { href: "/", text: "Go to the start page" })));
  document.title = "Not found · tickerwatch";
}

function handlePageError(error) {
  if (error instanceof SignedOut) return; // the sign-out listener has moved to the login page
  const message = error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
  if (!view.querySelector("h1")) show(h("h1", { text: "This page could not be loaded" }));
  show(h("p", { class: "form-status error", role: "alert", text: message }));
  console.error(error);
}

function focusHeading() {
  const heading = view.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
    document.title = `${heading.textContent} · tickerwatch`;
  }
}

function renderNav(path) {
  const links = isSignedIn()
    ? [
        ["/stocks", "Stocks"],
        ["/watchlists", "Watchlists"],
        ["/predict", "Predict"],
        ["/alerts", "Alerts"],
        ["/triggers", "Triggered"],
        ["/webhooks", "Webhooks"],
        ["/trade", "Paper trading"],
        ["/predictions", "History"],
        ["/settings", "Settings"],
      ]
    : [
        ["/stocks", "Stocks"],
        ["/login", "Log in"],
        ["/signup", "Sign up"],
      ];
  const items = links.map(([href, label]) =>
    h("li", {}, h("a", { href, "aria-current": isCurrent(path, href) ? "page" : false, text: label })),
  );
  if (isSignedIn()) {
    items.push(h("li", {}, h("button", { type: "button", class: "link", onclick: signOut, text: "Log out" })));
  }
  nav.replaceChildren(h("ul", {}, items));
}

async function signOut() {
  unfollowUser();
  stopLive();
  await logOut();
  setNotice("You are logged out.");
  navigate("/login");
}

onSignedOut((reason) => {
  unfollowUser();
  stopLive();
  setNotice(reason);
  navigate(`/login?next=${encodeURIComponent(location.pathname)}`, true);
});

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.origin !== location.origin || event.ctrlKey || event.metaKey || event.shiftKey) return;
  if (link.pathname.startsWith("/api/") || link.pathname.startsWith("/docs")) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
});
window.addEventListener("popstate", render);

// Renders the current path now and on every navigation.
export function startRouter() {
  onNavigate(render);
  startStatus();
  render();
}
