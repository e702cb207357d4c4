// Paper trading: the ticket, the portfolio, orders and the equity history.
import { api } from "../api.js";
import { equityChart } from "../charts.js";
import { dataTable, field, formStatus, h, setStatus } from "../dom.js";
import { day, money, when } from "../format.js";
import { onPrice, onReconnect, onUserEvent, throttled, whilePolling } from "../live.js";
import { actionButton, show, submitting, takeNotice } from "../page.js";
import { estimatedAmount, hasHistory } from "../trading.js";

const ACCOUNT_EVENTS = new Set(["order.filled", "order.canceled", "order.expired", "portfolio.changed"]);

function choice(options, value) {
  return h("select", {}, options.map(([v, label]) => h("option", { value: v, text: label, selected: v === value })));
}

function quantity(value) {
  return String(Number(value));
}

export async function tradePage() {
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
  // fills, cancellations and expiries as they happen; values as prices move (at most once a second)
  const refresh = throttled(() => renderPortfolio(account).catch(() => {}), 1_000);
  onUserEvent((event) => {
    if (ACCOUNT_EVENTS.has(event.type)) refresh();
  }, refresh);
  for (const symbol of quotes.keys()) {
    onPrice(symbol, (event) => {
      const stock = quotes.get(symbol);
      if (stock) Object.assign(stock, { current_price: event.price, price_time: event.quoted_at });
      estimate();
      refresh();
    });
  }
  onReconnect(() => Promise.all([renderPortfolio(account), readQuotes()]).catch(() => {}));
  whilePolling(() => renderPortfolio(account).catch(() => {})); // a failed poll keeps what is shown
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
    actionButton(
      { class: "link", text: "Sell all", "aria-label": `Sell all ${quantity(p.qty)} ${p.symbol}` },
      async () => {
        await api("/api/v1/orders/", { method: "POST", auth: true, body: { symbol: p.symbol, side: "sell", qty: p.qty, type: "market" } });
        await renderPortfolio(container);
      },
      { confirmation: `Sell all ${quantity(p.qty)} ${p.symbol} at the market price?` },
    );
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
            actionButton({ class: "link", text: `Cancel order ${o.id}` }, async () => {
              await api(`/api/v1/orders/${o.id}/`, { method: "DELETE", auth: true });
              await renderPortfolio(container);
            }),
          )
        : h("td", { text: o.reject_reason || "" }),
    );
  const ordersTable = (id, caption, orders, withCancel) =>
    orders.length
      ? dataTable({ id }, caption, ["Order", "Type", "Status", "Submitted", ""], orders.map((o) => orderRow(o, withCancel)))
      : h("p", { text: `${caption}: none.` });
  const reset = actionButton(
    { class: "link", text: "Reset the account" },
    async () => {
      await api("/api/v1/portfolio/reset/", { method: "POST", auth: true });
      await renderPortfolio(container);
    },
    { confirmation: `Reset to ${money(book.starting_cash)} of play money? Open orders are canceled; the history stays.` },
  );
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
