// tickerwatch's web client: a small router and one function per page.
import "./style.css";
import { ApiError, SignedOut, api, isSignedIn, loadConfig, logIn, logOut, onSignedOut } from "./api.js";
import { equityChart, forecastChart, movingAverage, priceChart } from "./charts.js";
import { dataTable, errorSummary, field, formStatus, h, setStatus, showFieldErrors } from "./dom.js";
import {
  coverageInWords,
  day,
  describeCondition,
  directionInWords,
  metricsInWords,
  money,
  percent,
  plural,
  servedInWords,
  signedPercent,
  skillInWords,
  when,
} from "./format.js";
import { isCurrent } from "./navigation.js";
import { currentPage, pageQuery, pager } from "./pager.js";
import { estimatedAmount, hasHistory } from "./trading.js";

const view = document.getElementById("view");
const nav = document.getElementById("nav");
let notice = "";

// ---- routing ----------------------------------------------------------------------------------

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

export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

async function render() {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  renderNav(path);
  for (const [pattern, page, options = {}] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    if (!options.public && !isSignedIn() && path !== "/") {
      notice = "Please log in to see that page.";
      navigate(`/login?next=${encodeURIComponent(path)}`, true);
      return;
    }
    view.replaceChildren();
    try {
      await page(match);
    } catch (error) {
      handlePageError(error);
    }
    focusHeading();
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
  await logOut();
  notice = "You are logged out.";
  navigate("/login");
}

onSignedOut((reason) => {
  notice = reason;
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

// Runs a form's request: field errors beside the fields, everything else in words above them.
async function submitting(form, status, action) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  setStatus(status, "");
  showFieldErrors(form, {});
  try {
    await action();
  } catch (error) {
    if (error instanceof SignedOut) return;
    if (!(error instanceof ApiError)) throw error;
    const shown = new Set([...form.querySelectorAll(".field")].map((f) => f.dataset.field));
    const first = showFieldErrors(form, error.fields);
    setStatus(status, errorSummary(error.message, error.fields, shown));
    if (first) first.focus();
  } finally {
    button.disabled = false;
  }
}

// Appends to the page; absent parts (null, false) are skipped rather than shown as text.
function show(...nodes) {
  view.append(...nodes.flat().filter(Boolean));
}

function takeNotice() {
  const message = notice;
  notice = "";
  return message ? h("p", { class: "notice", role: "status", text: message }) : null;
}

// ---- accounts ---------------------------------------------------------------------------------

function nextPath() {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/stocks";
}

function loginPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field("username", "Username", h("input", { autocomplete: "username", required: true })),
    field("password", "Password", h("input", { type: "password", autocomplete: "current-password", required: true })),
    status,
    h("button", { type: "submit", text: "Log in" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      await logIn(form.username.value, form.password.value);
      navigate(nextPath(), true);
    });
  });
  show(
    h("h1", { text: "Log in" }),
    takeNotice(),
    form,
    h("p", {}, "New here? ", h("a", { href: "/signup", text: "Create an account" })),
  );
}

function signupPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field(
      "username",
      "Username",
      h("input", { autocomplete: "username", required: true }),
      "3 to 150 letters, digits or @ . + - _",
    ),
    field("email", "Email", h("input", { type: "email", autocomplete: "email", required: true })),
    field(
      "password",
      "Password",
      h("input", { type: "password", autocomplete: "new-password", required: true }),
      "At least 8 characters, not only digits.",
    ),
    status,
    h("button", { type: "submit", text: "Create account" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const body = { username: form.username.value, email: form.email.value, password: form.password.value };
      await api("/api/v1/register/", { method: "POST", body });
      await logIn(body.username, body.password);
      notice = `Welcome, ${body.username}. Track a stock to get started.`;
      navigate("/stocks", true);
    });
  });
  show(
    h("h1", { text: "Create an account" }),
    form,
    h("p", {}, "Already registered? ", h("a", { href: "/login", text: "Log in" })),
  );
}

async function settingsPage() {
  const me = await api("/api/v1/me/", { auth: true });
  const status = formStatus();
  const checkbox = h("input", { type: "checkbox", id: "email-notifications", checked: me.email_notifications });
  const form = h(
    "form",
    {},
    h(
      "div",
      { class: "check" },
      checkbox,
      h("label", { for: "email-notifications", text: `Email me at ${me.email} when an alert fires` }),
    ),
    status,
    h("button", { type: "submit", text: "Save settings" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const saved = await api("/api/v1/me/", {
        method: "PATCH",
        auth: true,
        body: { email_notifications: checkbox.checked },
      });
      checkbox.checked = saved.email_notifications;
      setStatus(status, saved.email_notifications ? "Saved: emails are on." : "Saved: emails are off.", "ok");
    });
  });
  show(h("h1", { text: "Settings" }), h("p", { text: `Signed in as ${me.username}.` }), form);
}

// ---- stocks -----------------------------------------------------------------------------------

async function stocksPage() {
  show(h("h1", { text: "Stocks" }), takeNotice());
  if (isSignedIn()) {
    const status = formStatus();
    const form = h(
      "form",
      { class: "inline", novalidate: true },
      field("symbol", "Symbol to track", h("input", { required: true, autocapitalize: "characters", placeholder: "TSLA" })),
      h("button", { type: "submit", text: "Track" }),
      status,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitting(form, status, async () => {
        const stock = await api("/api/v1/stocks/", {
          method: "POST",
          auth: true,
          body: { symbol: form.symbol.value.trim().toUpperCase() },
        });
        notice = `Tracking ${stock.symbol}.`;
        navigate("/stocks", true);
      });
    });
    show(form);
  }
  const stocks = await api("/api/v1/stocks/");
  if (!stocks.length) {
    show(h("p", { text: "No stocks are tracked yet." }));
    return;
  }
  // The name column only when the market data gives names (the replayed and CSV markets give none:
  // their "name" is the symbol again).
  const named = stocks.some((s) => s.name && s.name !== s.symbol);
  show(
    dataTable(
      {},
      "Tracked stocks and their latest quotes",
      ["Symbol", ...(named ? ["Name"] : []), "Price", "Change", "Quote time"],
      stocks.map((s) =>
        h(
          "tr",
          { "data-symbol": s.symbol },
          h("th", { scope: "row" }, h("a", { href: `/stocks/${s.symbol}`, text: s.symbol })),
          named ? h("td", { text: s.name && s.name !== s.symbol ? s.name : "—" }) : null,
          h("td", { class: "num", text: money(s.current_price) }),
          h("td", { class: `num ${Number(s.change_pct) < 0 ? "down" : "up"}`, text: signedPercent(s.change_pct) }),
          h("td", { text: when(s.price_time) }),
        ),
      ),
    ),
  );
}

// ---- watchlists -------------------------------------------------------------------------------

const WATCHLIST_POLL_MS = 15_000; // the API answers ETags: the browser revalidates, a 304 costs no body

async function watchlistsPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field("name", "List name", h("input", { required: true, maxlength: 100 })),
    field("symbols", "Symbols", h("input", { autocapitalize: "characters", placeholder: "TSLA, GOOG" }), "Separated by commas or spaces."),
    status,
    h("button", { type: "submit", text: "Create list" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const symbols = form.symbols.value.split(/[\s,]+/).filter(Boolean);
      const created = await api("/api/v1/watchlists/", { method: "POST", auth: true, body: { name: form.name.value, symbols } });
      notice = `Created ${created.name}.`;
      navigate("/watchlists", true);
    });
  });
  const lists = h("div", { id: "watchlists" });
  show(h("h1", { text: "Watchlists" }), takeNotice(), form, lists);
  await renderWatchlists(lists);
  const timer = setInterval(() => {
    if (!lists.isConnected) return clearInterval(timer);
    renderWatchlists(lists).catch(() => {}); // a failed poll keeps what is shown; the next one tries again
  }, WATCHLIST_POLL_MS);
}

async function renderWatchlists(container) {
  const page = await api("/api/v1/watchlists/?limit=100", { auth: true });
  if (!page.results.length) {
    container.replaceChildren(h("p", { text: "No watchlists yet." }));
    return;
  }
  container.replaceChildren(
    ...page.results.map((list) =>
      h(
        "section",
        { class: "watchlist", "data-watchlist": list.name },
        h("h2", { text: list.name }),
        list.symbols.length
          ? h(
              "table",
              { class: "data" },
              h("caption", { text: `${list.name}: latest quotes` }),
              h("thead", {}, h("tr", {}, ["Symbol", "Price", "Change", "Quote time"].map((t) => h("th", { scope: "col", text: t })))),
              h(
                "tbody",
                {},
                list.symbols.map((s) =>
                  h(
                    "tr",
                    { "data-symbol": s.symbol },
                    h("th", { scope: "row" }, h("a", { href: `/stocks/${s.symbol}`, text: s.symbol })),
                    h("td", { class: "num", text: money(s.current_price) }),
                    h("td", { class: `num ${Number(s.change_pct) < 0 ? "down" : "up"}`, text: signedPercent(s.change_pct) }),
                    h("td", { text: when(s.price_time) }),
                  ),
                ),
              ),
            )
          : h("p", { text: "No symbols in this list." }),
        h("button", {
          type: "button",
          text: `Delete ${list.name}`,
          onclick: async (event) => {
            if (!confirm(`Delete the watchlist ${list.name}?`)) return;
            event.target.disabled = true;
            try {
              await api(`/api/v1/watchlists/${list.id}/`, { method: "DELETE", auth: true });
              notice = `Deleted ${list.name}.`;
              navigate("/watchlists", true);
            } catch (error) {
              event.target.disabled = false;
              if (!(error instanceof SignedOut)) event.target.after(h("p", { class: "form-status error", role: "alert", text: error.message }));
            }
          },
        }),
      ),
    ),
  );
}

const RANGES = [
  ["1M", 1],
  ["6M", 6],
  ["1Y", 12],
  ["5Y", 60],
  ["All", null],
];

async function stockPage(match) {
  const symbol = match[1].toUpperCase();
  show(h("h1", { text: `${symbol} price history` }));
  const bars = await api(`/api/v1/stocks/${encodeURIComponent(symbol)}/prices/`);
  const closes = bars.map((b) => b.close);
  // the averages from the whole history, so a short range still shows them from its first day
  const ma100 = movingAverage(closes, 100);
  const ma200 = movingAverage(closes, 200);
  const chart = h("div", { class: "chart", role: "img", "aria-label": `${symbol} daily closes with 100- and 200-day averages and volume` });
  const caption = h("figcaption");
  const ranges = h("div", { class: "ranges", role: "group", "aria-label": "Range" });
  const draw = (label, months) => {
    let first = 0;
    if (months && bars.length) {
      const start = new Date(`${bars[bars.length - 1].date}T12:00:00Z`);
      start.setUTCMonth(start.getUTCMonth() - months);
      const from = start.toISOString().slice(0, 10);
      first = Math.max(0, bars.findIndex((b) => b.date >= from));
    }
    const shown = bars.slice(first);
    const last = shown[shown.length - 1];
    caption.textContent = last
      ? `${label}: ${plural(shown.length, "daily close")} from ${day(shown[0].date)} to ${day(last.date)}; last close ${money(last.close)}. Orange: 100-day average; purple: 200-day average; grey bars: volume.`
      : "No prices stored yet.";
    for (const button of ranges.children) button.setAttribute("aria-pressed", String(button.textContent === label));
    if (shown.length) {
      priceChart(
        chart,
        shown.map((b) => b.date),
        shown.map((b) => b.close),
        ma100.slice(first),
        ma200.slice(first),
        shown.map((b) => b.volume),
      );
    }
  };
  ranges.append(...RANGES.map(([label, months]) => h("button", { type: "button", text: label, "aria-pressed": "false", onclick: () => draw(label, months) })));
  show(
    bars.length ? ranges : null,
    h("figure", {}, chart, caption),
    isSignedIn()
      ? h(
          "p",
          { class: "actions" },
          h("a", { href: `/predict?ticker=${symbol}`, class: "button", text: `Predict ${symbol}` }),
          h("a", { href: `/trade?symbol=${symbol}`, class: "button", text: `Trade ${symbol}` }),
          h("a", { href: `/alerts/new?symbol=${symbol}`, class: "button", text: `Create an alert on ${symbol}` }),
        )
      : null,
  );
  draw(bars.length > 260 ? "1Y" : "All", bars.length > 260 ? 12 : null);
}

// ---- predictions ------------------------------------------------------------------------------

async function predictPage() {
  const stocks = await api("/api/v1/stocks/").catch(() => []);
  const status = formStatus();
  const wanted = new URLSearchParams(location.search).get("ticker") || "";
  const ticker = h("input", { required: true, list: "tracked-symbols", value: wanted, autocapitalize: "characters" });
  const form = h(
    "form",
    { class: "inline", novalidate: true },
    field("ticker", "Ticker", ticker),
    h("datalist", { id: "tracked-symbols" }, stocks.map((s) => h("option", { value: s.symbol }))),
    field("horizon", "Trading days ahead", h("input", { type: "number", min: 1, max: 30, value: 5, required: true })),
    h("button", { type: "submit", text: "Predict" }),
    status,
  );
  const result = h("section", { "aria-live": "polite" });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      result.replaceChildren(h("p", { class: "loading", text: "Computing the forecast…" }));
      try {
        const prediction = await api("/api/v1/predict/", {
          method: "POST",
          auth: true,
          body: { ticker: form.ticker.value.trim().toUpperCase(), horizon: Number(form.horizon.value) },
        });
        showPrediction(result, prediction);
      } catch (error) {
        result.replaceChildren();
        throw error;
      }
    });
  });
  show(h("h1", { text: "Predict" }), form, result);
}

function showPrediction(container, p) {
  const words = metricsInWords(p);
  const skill = skillInWords(p);
  const chart = h("div", { class: "chart", role: "img", "aria-label": `Forecast for ${p.ticker} with 80% and 95% bands` });
  const last = p.forecast[p.forecast.length - 1];
  const parts = [
    h("h2", { text: `${p.ticker}: ${p.horizon} trading day${p.horizon === 1 ? "" : "s"} ahead from ${day(p.as_of)}` }),
    h(
      "p",
      { class: "headline" },
      `Forecast close on ${day(last.date)}: `,
      h("strong", { text: money(last.close) }),
      ` (80% band ${money(last.low_80)} to ${money(last.high_80)}; 95% band ${money(last.low_95)} to ${money(last.high_95)}).`,
    ),
    h("figure", {}, chart, h("figcaption", { text: "Recent closes (blue), the forecast (dashed green) and its 80% (darker) and 95% (lighter) bands." })),
    servedInWords(p).map((s) => h("p", { class: "served", text: s })),
    skill && h("p", { class: `skill ${skill.demonstrated ? "better" : "worse"}`, text: skill.sentence }),
    h("h3", { text: "How good is this model?" }),
    h("div", { class: `verdict ${words.better ? "better" : "worse"}` }, words.sentences.map((s) => h("p", { text: s }))),
    metricsTable(p),
    h("h3", { text: "How often the bands held" }),
    coverageInWords(p).map((s) => h("p", { text: s })),
    p.direction && [h("h3", { text: "Up or down tomorrow?" }), ...directionInWords(p).map((s) => h("p", { class: "direction", text: s }))],
    h("p", { class: "hint", text: `Model ${p.model.name} ${p.model.version}; test window ${day(p.test_window.start)} to ${day(p.test_window.end)}.${p.cached ? " Served from cache." : ""}` }),
    plots(p),
  ];
  container.replaceChildren(...parts.flat().filter(Boolean));
  forecastChart(chart, p.series, p.forecast);
}

function metricsTable(p) {
  const rows = [
    ["Average error (MAE)", money(p.mae), money(p.baseline.mae)],
    ["Root mean squared error", money(p.rmse), money(p.baseline.rmse)],
    ["Average error in % (MAPE)", percent(p.mape, 2), percent(p.baseline.mape, 2)],
    ["R² (1 is perfect)", p.r2.toFixed(3), p.baseline.r2.toFixed(3)],
  ];
  return h(
    "table",
    { class: "data metrics" },
    h("caption", { text: "Model against the naive baseline on held-out days (lower errors are better)" }),
    h("thead", {}, h("tr", {}, ["Measure", "Model", "Naive: tomorrow = today"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.map(([name, a, b]) => h("tr", {}, h("th", { scope: "row", text: name }), h("td", { class: "num", text: a }), h("td", { class: "num", text: b })))),
  );
}

function plots(p) {
  const images = [
    ["plot_img", `${p.ticker} closing prices`],
    ["plot_100_dma", `${p.ticker} with its 100-day moving average`],
    ["plot_200_dma", `${p.ticker} with its 100- and 200-day moving averages`],
    ["plot_prediction", `${p.ticker}: the model against actual prices, and the forecast`],
  ].filter(([key]) => p[key]);
  if (!images.length) return null;
  return h(
    "section",
    { class: "plots" },
    h("h3", { text: "Plots" }),
    images.map(([key, alt]) => h("figure", {}, h("img", { src: p[key], alt, loading: "lazy", "data-plot": key }), h("figcaption", { text: alt }))),
  );
}

async function predictionsPage() {
  show(h("h1", { text: "Prediction history" }));
  const number = currentPage();
  const page = await api(`/api/v1/predictions/?${pageQuery(number)}`, { auth: true });
  if (!page.count) {
    show(h("p", {}, "No predictions yet. ", h("a", { href: "/predict", text: "Make one" })));
    return;
  }
  show(
    dataTable(
      {},
      `Your ${plural(page.count, "prediction")}, newest first`,
      ["Requested", "Ticker", "Days ahead", "Forecast", "Model vs naive error"],
      page.results.map((p) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, h("a", { href: `/predictions/${p.id}`, text: when(p.requested_at) })),
          h("td", { text: p.ticker }),
          h("td", { class: "num", text: p.horizon }),
          h("td", { class: "num", text: money(p.forecast[p.forecast.length - 1]?.close) }),
          h("td", { class: "num", text: `${money(p.mae)} vs ${money(p.baseline.mae)}` }),
        ),
      ),
    ),
    pager(page.count, number, "prediction"),
  );
}

async function predictionPage(match) {
  const p = await api(`/api/v1/predictions/${match[1]}/`, { auth: true });
  const section = h("section");
  show(h("h1", { text: `Prediction for ${p.ticker}, ${when(p.requested_at)}` }), section);
  showPrediction(section, p);
}

// ---- alerts -----------------------------------------------------------------------------------

const CONDITIONS = {
  threshold: [
    ["above", "is at or above"],
    ["below", "is at or below"],
    ["crosses_above", "crosses above"],
    ["crosses_below", "crosses below"],
  ],
  duration: [
    ["above", "stays above"],
    ["below", "stays below"],
  ],
  percent_change: [
    ["up", "moves up by"],
    ["down", "moves down by"],
  ],
  indicator: [
    ["above", "is at or above"],
    ["below", "is at or below"],
    ["crosses_above", "crosses above"],
    ["crosses_below", "crosses below"],
  ],
  forecast: [
    ["forecast_above", "forecast close at or above a price"],
    ["forecast_below", "forecast close at or below a price"],
    ["outside_band", "price leaves the 95% forecast band"],
  ],
};
const TYPE_FIELDS = {
  threshold: ["threshold_price"],
  duration: ["threshold_price", "duration_minutes"],
  percent_change: ["percent", "window_minutes"],
  indicator: ["indicator", "period", "other_indicator", "other_period"],
  forecast: ["threshold_price", "horizon"],
};
// outside_band judges the price against the model's own band: no price, no horizon.
const CONDITION_FIELDS = { outside_band: [] };
const KIND_FIELDS = ["threshold_price", "duration_minutes", "percent", "window_minutes", "indicator", "period", "other_indicator", "other_period", "horizon"];
const fieldsFor = (type, condition) => CONDITION_FIELDS[condition] || TYPE_FIELDS[type];
const STATES = {
  pending: "Not judged yet",
  waiting: "Watching",
  stale_price: "Price too old to judge",
  no_price: "No price yet",
  no_forecast: "No forecast yet",
  cooling_down: "Cooling down",
  triggered: "Triggered",
  paused: "Paused",
  expired: "Expired",
};

async function alertsPage() {
  show(
    h("h1", { text: "Alerts" }),
    takeNotice(),
    h("p", {}, h("a", { href: "/alerts/new", class: "button", text: "New alert" })),
  );
  const number = currentPage();
  const [page, fired] = await Promise.all([
    api(`/api/v1/alerts/?${pageQuery(number)}`, { auth: true }),
    api("/api/v1/alerts/triggered/?limit=3", { auth: true }),
  ]);
  if (fired.results.length) {
    show(
      h("h2", { text: "Recently fired" }),
      h(
        "ul",
        { class: "recent" },
        fired.results.map((t) => h("li", { text: `${describeCondition(t)}: ${money(t.price)} at ${when(t.quoted_at)}` })),
      ),
      h("p", {}, h("a", { href: "/triggers", text: fired.count === 1 ? "The trigger, with its email" : `All ${plural(fired.count, "trigger")}, with their emails` })),
    );
  }
  show(h("h2", { text: page.count ? `Your ${plural(page.count, "alert")}` : "Your alerts" }));
  if (!page.count) {
    show(h("p", { text: "You have no alerts yet." }));
    return;
  }
  const status = h("p", { class: "form-status", role: "alert" });
  const act = (label, run) =>
    h("button", {
      type: "button",
      text: label,
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          if ((await run()) !== false) render();
          else event.target.disabled = false;
        } catch (error) {
          if (!(error instanceof SignedOut)) setStatus(status, error.message);
          event.target.disabled = false;
        }
      },
    });
  show(
    status,
    h(
      "ul",
      { class: "cards" },
      page.results.map((a) =>
        h(
          "li",
          { class: "card", "data-alert": a.id },
          h("p", { class: "what" }, h("strong", { text: describeCondition(a) }), a.recurring ? " (recurring)" : ""),
          h(
            "p",
            {},
            h("span", { class: `state state-${a.state}`, text: STATES[a.state] || a.state }),
            ` · last price ${money(a.current_price)} at ${when(a.price_time)}`,
            a.trigger_count ? ` · fired ${a.trigger_count}× (last ${when(a.last_triggered_at)})` : "",
            a.expires_at ? ` · expires ${when(a.expires_at)}` : "",
          ),
          h(
            "div",
            { class: "actions" },
            h("a", { href: `/alerts/${a.id}/edit`, class: "button", text: "Edit", "aria-label": `Edit: ${describeCondition(a)}` }),
            a.status === "paused"
              ? act("Resume", () => api(`/api/v1/alerts/${a.id}/resume/`, { method: "POST", auth: true }))
              : a.is_active
                ? act("Pause", () => api(`/api/v1/alerts/${a.id}/pause/`, { method: "POST", auth: true }))
                : null,
            act("Delete", async () => {
              if (!confirm(`Delete the alert "${describeCondition(a)}"?`)) return false;
              await api(`/api/v1/alerts/${a.id}/`, { method: "DELETE", auth: true });
              notice = "Alert deleted.";
            }),
          ),
        ),
      ),
    ),
    pager(page.count, number, "alert"),
  );
}

async function alertFormPage(_match, alertId) {
  const existing = alertId ? await api(`/api/v1/alerts/${alertId}/`, { auth: true }) : null;
  const stocks = await api("/api/v1/stocks/").catch(() => []);
  const status = formStatus();
  const type = h(
    "select",
    {},
    [
      ["threshold", "Price crosses or is beyond a level"],
      ["duration", "Price stays beyond a level for a while"],
      ["percent_change", "Price moves by a percentage"],
      ["indicator", "Price or average against a moving average"],
      ["forecast", "The model's forecast"],
    ].map(([value, label]) => h("option", { value, text: label })),
  );
  const average = (withNone) =>
    h(
      "select",
      {},
      [...(withNone ? [["", "the price (no second average)"]] : []), ["sma", "Simple moving average"], ["ema", "Exponential moving average"]].map(
        ([value, label]) => h("option", { value, text: label }),
      ),
    );
  const webhooks = await api("/api/v1/webhooks/", { auth: true }).catch(() => []);
  const condition = h("select");
  const input = (attributes) => h("input", { inputmode: "decimal", ...attributes });
  const form = h(
    "form",
    { novalidate: true },
    field("stock_symbol", "Stock symbol", h("input", { list: "alert-symbols", required: true, autocapitalize: "characters" })),
    h("datalist", { id: "alert-symbols" }, stocks.map((s) => h("option", { value: s.symbol }))),
    field("alert_type", "Kind of alert", type),
    field("condition", "Condition", condition),
    field("threshold_price", "Price (USD)", input({})),
    field("duration_minutes", "For how many minutes", input({ inputmode: "numeric" })),
    field("percent", "Percent", input({})),
    field("window_minutes", "Within how many minutes", input({ inputmode: "numeric" })),
    field("indicator", "Average", average(false)),
    field("period", "Of how many daily closes", input({ inputmode: "numeric" }), "2 to 400; the stock needs at least that many."),
    field("other_indicator", "Compared with", average(true)),
    field("other_period", "Of how many daily closes (second average)", input({ inputmode: "numeric" })),
    field("horizon", "Trading days ahead", input({ inputmode: "numeric" }), "1 to 30."),
    field(
      "webhook_id",
      "Also deliver to a webhook",
      h("select", {}, [["", "No webhook"], ...webhooks.map((w) => [String(w.id), w.url])].map(([value, label]) => h("option", { value, text: label }))),
    ),
    h("div", { class: "check field", "data-field": "recurring" }, h("input", { type: "checkbox", id: "field-recurring", name: "recurring" }), h("label", { for: "field-recurring", text: "Fire again after it re-arms (recurring)" }), h("p", { class: "field-error", id: "field-recurring-error", hidden: true })),
    field("cooldown_minutes", "Minutes to wait before firing again (recurring only)", input({ inputmode: "numeric", value: "0" })),
    field("expires_at", "Expires (optional, your local time)", h("input", { type: "datetime-local" })),
    status,
    h("button", { type: "submit", text: existing ? "Save alert" : "Create alert" }),
    " ",
    h("a", { href: "/alerts", text: "Cancel" }),
  );
  const sync = () => {
    const keep = condition.value;
    condition.replaceChildren(...CONDITIONS[type.value].map(([value, label]) => h("option", { value, text: label })));
    if ([...condition.options].some((o) => o.value === keep)) condition.value = keep;
    const wanted = fieldsFor(type.value, condition.value);
    const second = type.value === "indicator" && form.other_indicator.value;
    for (const name of KIND_FIELDS) {
      form.querySelector(`[data-field=${name}]`).hidden = !wanted.includes(name) || (name === "other_period" && !second);
    }
  };
  type.addEventListener("change", sync);
  condition.addEventListener("change", sync);
  form.other_indicator.addEventListener("change", sync);
  if (existing) {
    form.stock_symbol.value = existing.stock_symbol;
    form.stock_symbol.readOnly = true;
    type.value = existing.alert_type;
    sync();
    condition.value = existing.condition;
    for (const name of [...KIND_FIELDS, "cooldown_minutes", "webhook_id"]) {
      if (existing[name] !== null) form[name].value = existing[name];
    }
    sync();
    form.recurring.checked = existing.recurring;
    if (existing.expires_at) form.expires_at.value = localInput(existing.expires_at);
  } else {
    form.stock_symbol.value = new URLSearchParams(location.search).get("symbol") || "";
    sync();
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const body = {
        alert_type: type.value,
        condition: condition.value,
        recurring: form.recurring.checked,
        cooldown_minutes: numberOrText(form.cooldown_minutes.value || "0"),
        expires_at: form.expires_at.value ? new Date(form.expires_at.value).toISOString() : null,
      };
      const wanted = fieldsFor(type.value, condition.value);
      for (const name of KIND_FIELDS) {
        const given = wanted.includes(name) && !form.querySelector(`[data-field=${name}]`).hidden;
        if (given && ["indicator", "other_indicator"].includes(name)) body[name] = form[name].value || null;
        else if (given) body[name] = numberOrText(form[name].value);
        else if (existing) body[name] = null;
      }
      body.webhook_id = form.webhook_id.value ? Number(form.webhook_id.value) : null;
      if (!existing && body.webhook_id === null) delete body.webhook_id;
      if (existing) {
        await api(`/api/v1/alerts/${existing.id}/`, { method: "PATCH", auth: true, body });
        notice = "Alert saved; it is armed again.";
      } else {
        body.stock_symbol = form.stock_symbol.value.trim().toUpperCase();
        if (!body.expires_at) delete body.expires_at;
        await api("/api/v1/alerts/", { method: "POST", auth: true, body });
        notice = "Alert created.";
      }
      navigate("/alerts", true);
    });
  });
  show(h("h1", { text: existing ? "Edit alert" : "New alert" }), form);
}

// Prices go as the text typed (the API takes numeric strings, exactly); minutes as numbers; an
// empty box as null, so the API names the missing field.
function numberOrText(value) {
  const trimmed = value.trim();
  if (trimmed === "") return null;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

function localInput(iso) {
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// ---- webhooks ---------------------------------------------------------------------------------

async function webhooksPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field("url", "Webhook URL", h("input", { type: "url", required: true, placeholder: "https://example.com/hooks/tickerwatch" }), "https, to a public address. Alerts that name it are delivered there, signed."),
    status,
    h("button", { type: "submit", text: "Add webhook" }),
  );
  const secret = h("div", { id: "webhook-secret" });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const created = await api("/api/v1/webhooks/", { method: "POST", auth: true, body: { url: form.url.value.trim() } });
      form.reset();
      // Shown once: the API never returns the secret again.
      secret.replaceChildren(
        h(
          "div",
          { class: "notice", role: "status" },
          h("p", { text: `Webhook added. Its signing secret, shown only now (verify each delivery's webhook-signature with it):` }),
          h("p", {}, h("code", { class: "secret", text: created.secret })),
        ),
      );
      await renderWebhooks(list);
    });
  });
  const list = h("div", { id: "webhooks" });
  show(h("h1", { text: "Webhooks" }), takeNotice(), form, secret, list);
  await renderWebhooks(list);
}

async function renderWebhooks(container) {
  const hooks = await api("/api/v1/webhooks/", { auth: true });
  if (!hooks.length) {
    container.replaceChildren(h("p", { text: "No webhooks yet." }));
    return;
  }
  container.replaceChildren(
    h(
      "ul",
      { class: "cards" },
      hooks.map((hook) => {
        const result = h("p", { class: "form-status", role: "status" });
        return h(
          "li",
          { class: "card", "data-webhook": hook.url },
          h("p", { class: "what" }, h("strong", { text: hook.url })),
          h("p", { text: `Added ${when(hook.created_at)}` }),
          h(
            "div",
            { class: "actions" },
            h("button", {
              type: "button",
              text: "Send a test",
              "aria-label": `Send a test to ${hook.url}`,
              onclick: async (event) => {
                event.target.disabled = true;
                try {
                  const sent = await api(`/api/v1/webhooks/${hook.id}/test/`, { method: "POST", auth: true });
                  result.textContent = sent.delivered
                    ? `Delivered: the receiver answered ${sent.status_code} in ${sent.duration_ms} ms.`
                    : `Not delivered: ${sent.error || `the receiver answered ${sent.status_code}`}.`;
                } catch (error) {
                  if (!(error instanceof SignedOut)) result.textContent = error.message;
                }
                event.target.disabled = false;
              },
            }),
            h("button", {
              type: "button",
              text: "Delete",
              "aria-label": `Delete ${hook.url}`,
              onclick: async (event) => {
                if (!confirm(`Delete the webhook ${hook.url}? Alerts that name it stop delivering to it.`)) return;
                event.target.disabled = true;
                try {
                  await api(`/api/v1/webhooks/${hook.id}/`, { method: "DELETE", auth: true });
                  notice = "Webhook deleted.";
                  navigate("/webhooks", true);
                } catch (error) {
                  event.target.disabled = false;
                  if (!(error instanceof SignedOut)) result.textContent = error.message;
                }
              },
            }),
          ),
          result,
        );
      }),
    ),
  );
}

const EMAIL_STATES = {
  pending: "Email queued",
  sending: "Email sending",
  sent: "Email sent",
  failed: "Email failed",
  skipped: "No email (notifications off)",
};

async function triggersPage() {
  show(h("h1", { text: "Triggered alerts" }));
  const number = currentPage();
  const page = await api(`/api/v1/alerts/triggered/?${pageQuery(number)}`, { auth: true });
  if (!page.count) {
    show(h("p", { text: "None of your alerts has fired yet." }));
    return;
  }
  show(
    dataTable(
      {},
      `Every time one of your alerts fired (${plural(page.count, "time")}), newest first`,
      ["Fired", "Condition", "Price", "Quote time", "Email"],
      page.results.map((t) => {
        const email = t.notification || {};
        const state = EMAIL_STATES[email.status] || "No email";
        return h(
          "tr",
          { "data-trigger": t.id },
          h("th", { scope: "row", text: when(t.triggered_at) }),
          h("td", { text: describeCondition(t) }),
          h("td", { class: "num", text: money(t.price) }),
          h("td", { text: when(t.quoted_at) }),
          h("td", { text: email.error ? `${state}: ${email.error}` : email.sent_at ? `${state} ${when(email.sent_at)}` : state }),
        );
      }),
    ),
    pager(page.count, number, "trigger"),
  );
}

// ---- start ------------------------------------------------------------------------------------

loadConfig().then(render);

// ---- paper trading ----------------------------------------------------------------------------

const PORTFOLIO_POLL_MS = 15_000;

function choice(options, value) {
  return h("select", {}, options.map(([v, label]) => h("option", { value: v, text: label, selected: v === value })));
}

function quantity(value) {
  return String(Number(value));
}

async function tradePage() {
  const status = formStatus();
  const wanted = new URLSearchParams(location.search).get("symbol") || "";
  const type = choice([["market", "Market"], ["limit", "Limit"], ["stop", "Stop"]], "market");
  const limitField = field("limit_price", "Limit price", h("input", { inputmode: "decimal" }), "Buy at or under it; sell at or over it.");
  const stopField = field("stop_price", "Stop price", h("input", { inputmode: "decimal" }), "A buy fills once the price is at or over it; a sell at or under.");
  const form = h(
    "form",
    { novalidate: true, "aria-label": "Trade ticket" },
    field("symbol", "Symbol", h("input", { required: true, value: wanted, autocapitalize: "characters" })),
    field("side", "Side", choice([["buy", "Buy"], ["sell", "Sell"]], "buy")),
    field("qty", "Quantity", h("input", { required: true, inputmode: "decimal" }), "Shares; fractions up to 6 decimals."),
    field("type", "Order type", type),
    limitField,
    stopField,
    field("time_in_force", "Time in force", choice([["day", "Day (expires at the close)"], ["gtc", "Good till canceled"]], "day")),
    h("p", { class: "quote-panel", id: "ticket-quote", "aria-live": "polite" }),
    status,
    h("button", { type: "submit", text: "Place order" }),
  );
  const showPriceFields = () => {
    limitField.hidden = type.value !== "limit";
    stopField.hidden = type.value !== "stop";
  };
  type.addEventListener("change", showPriceFields);
  showPriceFields();
  const quotes = new Map();
  const estimate = () => ticketEstimate(form, quotes);
  const readQuotes = async () => {
    const stocks = await api("/api/v1/stocks/").catch(() => []);
    quotes.clear();
    for (const stock of stocks) quotes.set(stock.symbol, stock);
    estimate();
  };
  for (const name of ["symbol", "qty", "limit_price", "stop_price"]) form[name].addEventListener("input", estimate);
  for (const name of ["side", "type"]) form[name].addEventListener("change", estimate);
  const account = h("div", { id: "portfolio", "aria-live": "polite" });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const body = { symbol: form.symbol.value.trim(), side: form.side.value, qty: form.qty.value.trim(), type: type.value, time_in_force: form.time_in_force.value };
      // a blank price is left out, so the API says which one the order type needs
      if (type.value === "limit" && form.limit_price.value.trim()) body.limit_price = form.limit_price.value.trim();
      if (type.value === "stop" && form.stop_price.value.trim()) body.stop_price = form.stop_price.value.trim();
      const order = await api("/api/v1/orders/", { method: "POST", auth: true, body });
      const what = `${order.side} ${quantity(order.qty)} ${order.symbol}`;
      setStatus(status, order.status === "filled" ? `Filled: ${what} at ${money(order.filled_avg_price)}.` : `Order placed: ${what}, ${order.status}.`, "ok");
      form.qty.value = "";
      await Promise.all([renderPortfolio(account), readQuotes()]);
    });
  });
  const history = h("section", { "aria-labelledby": "equity-history" });
  show(h("h1", { text: "Paper trading" }), takeNotice(), h("p", { class: "hint", text: "Play money: orders fill at the latest quote." }), form, account, history);
  await Promise.all([renderPortfolio(account), renderEquityHistory(history), readQuotes()]);
  const timer = setInterval(() => {
    if (!account.isConnected) return clearInterval(timer);
    renderPortfolio(account).catch(() => {}); // a failed poll keeps what is shown
  }, PORTFOLIO_POLL_MS);
}

// The ticket's last price and what the order would cost (or bring), before it is placed: a market
// order at the last price, a limit or stop at its own price; settled as the API settles it (a buy's
// cost rounded up to the cent, a sale's proceeds down).
function ticketEstimate(form, quotes) {
  const panel = form.querySelector("#ticket-quote");
  const symbol = form.symbol.value.trim().toUpperCase();
  const stock = quotes.get(symbol);
  if (!symbol) {
    panel.textContent = "";
    return;
  }
  if (!stock || stock.current_price === null) {
    panel.textContent = `No price for ${symbol} yet: an order tracks it first.`;
    return;
  }
  const parts = [`${symbol} last ${money(stock.current_price)} at ${when(stock.price_time)}.`];
  const kind = form.type.value;
  const price = Number(kind === "market" ? stock.current_price : form[`${kind}_price`].value);
  const total = estimatedAmount(form.side.value, Number(form.qty.value), price);
  if (total !== null) parts.push(`Estimated ${form.side.value === "buy" ? "cost" : "proceeds"}: ${money(total)}.`);
  panel.textContent = parts.join(" ");
}

async function renderPortfolio(container) {
  const [book, open, closed] = await Promise.all([
    api("/api/v1/portfolio/", { auth: true }),
    api("/api/v1/orders/?status=open&limit=100", { auth: true }),
    api("/api/v1/orders/?status=closed&limit=10", { auth: true }),
  ]);
  const pl = (value) => h("td", { class: `num ${Number(value) < 0 ? "down" : "up"}`, text: money(value) });
  const summary = h(
    "dl",
    { class: "summary" },
    [
      ["Equity", book.equity],
      ["Cash", book.cash],
      ["Buying power", book.buying_power],
      ["Realized P&L", book.realized_pl],
      ["Unrealized P&L", book.unrealized_pl],
    ].map(([label, value]) => h("div", { "data-figure": label }, h("dt", { text: label }), h("dd", { text: money(value) }))),
  );
  const sellAll = (p) =>
    h("button", {
      type: "button",
      class: "link",
      text: "Sell all",
      "aria-label": `Sell all ${quantity(p.qty)} ${p.symbol}`,
      onclick: async (event) => {
        if (!confirm(`Sell all ${quantity(p.qty)} ${p.symbol} at the market price?`)) return;
        event.target.disabled = true;
        try {
          await api("/api/v1/orders/", { method: "POST", auth: true, body: { symbol: p.symbol, side: "sell", qty: p.qty, type: "market" } });
          await renderPortfolio(container);
        } catch (error) {
          event.target.disabled = false;
          if (!(error instanceof SignedOut)) event.target.after(h("p", { class: "form-status error", role: "alert", text: error.message }));
        }
      },
    });
  const positions = book.positions.length
    ? dataTable(
        { id: "positions" },
        "Positions",
        ["Symbol", "Quantity", "Average price", "Last price", "Market value", "Unrealized P&L", ""],
        book.positions.map((p) =>
          h(
            "tr",
            { "data-symbol": p.symbol },
            h("th", { scope: "row" }, h("a", { href: `/stocks/${p.symbol}`, text: p.symbol })),
            h("td", { class: "num", text: quantity(p.qty) }),
            h("td", { class: "num", text: money(p.avg_price) }),
            h("td", { class: "num", text: money(p.last_price) }),
            h("td", { class: "num", text: money(p.market_value) }),
            pl(p.unrealized_pl),
            h("td", {}, sellAll(p)),
          ),
        ),
      )
    : h("p", { text: "No positions." });
  const orderRow = (o, withCancel) =>
    h(
      "tr",
      { "data-order": o.id },
      h("td", { text: `${o.side} ${quantity(o.qty)} ${o.symbol}` }),
      h("td", { text: o.type === "market" ? "market" : `${o.type} ${money(o.limit_price ?? o.stop_price)}` }),
      h("td", { text: o.status === "filled" ? `filled at ${money(o.filled_avg_price)}` : o.status }),
      h("td", { text: when(o.submitted_at) }),
      withCancel
        ? h(
            "td",
            {},
            h("button", {
              type: "button",
              class: "link",
              text: `Cancel order ${o.id}`,
              onclick: async (event) => {
                event.target.disabled = true;
                try {
                  await api(`/api/v1/orders/${o.id}/`, { method: "DELETE", auth: true });
                  await renderPortfolio(container);
                } catch (error) {
                  event.target.disabled = false;
                  if (!(error instanceof SignedOut)) event.target.after(h("p", { class: "form-status error", role: "alert", text: error.message }));
                }
              },
            }),
          )
        : h("td", { text: o.reject_reason || "" }),
    );
  const ordersTable = (id, caption, orders, withCancel) =>
    orders.length
      ? dataTable({ id }, caption, ["Order", "Type", "Status", "Submitted", ""], orders.map((o) => orderRow(o, withCancel)))
      : h("p", { text: `${caption}: none.` });
  const reset = h("button", {
    type: "button",
    class: "link",
    text: "Reset the account",
    onclick: async () => {
      if (!confirm(`Reset to ${money(book.starting_cash)} of play money? Open orders are canceled; the history stays.`)) return;
      await api("/api/v1/portfolio/reset/", { method: "POST", auth: true });
      await renderPortfolio(container);
    },
  });
  container.replaceChildren(
    h("h2", { text: "Account" }),
    summary,
    positions,
    ordersTable("open-orders", "Open orders", open.results, true),
    ordersTable("closed-orders", "Recent orders", closed.results, false),
    h("p", {}, reset),
  );
}

async function renderEquityHistory(container) {
  const points = await api("/api/v1/portfolio/history/", { auth: true });
  const heading = h("h2", { id: "equity-history", text: "Equity history" });
  const last = points[points.length - 1];
  if (!hasHistory(points)) {
    // one point is no history: a flat line on an axis of a few cents would only look like one
    container.replaceChildren(
      heading,
      h("p", { class: "empty-state", text: `The history starts once a trading day has closed with this account open. Equity now: ${money(last?.equity)}.` }),
    );
    return;
  }
  const chart = h("div", { class: "chart", role: "img", "aria-label": "Account equity at each trading day's close" });
  container.replaceChildren(
    heading,
    h(
      "figure",
      {},
      chart,
      h("figcaption", {
        text: `Equity at each trading day's close from ${day(points[0].date)} to ${day(last.date)} (today at the latest quotes): ${money(last.equity)}.`,
      }),
    ),
  );
  equityChart(chart, points);
}
