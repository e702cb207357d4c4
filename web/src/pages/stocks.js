// The tracked stocks, and one stock's chart.
import { api, isSignedIn } from "../api.js";
import { movingAverage, priceChart } from "../charts.js";
import { dataTable, field, formStatus, h } from "../dom.js";
import { day, money, plural, when } from "../format.js";
import { onPrice, onReconnect, whilePolling } from "../live.js";
import { navigate, rerender, setNotice, show, submitting, takeNotice } from "../page.js";
import { quoteRow, tradingDay } from "../quotes.js";

export async function stocksPage() {
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
        setNotice(`Tracking ${stock.symbol}.`);
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
      stocks.map((s) => quoteRow(s, named ? [h("td", { text: s.name && s.name !== s.symbol ? s.name : "—" })] : [])),
    ),
  );
  const refresh = () => rerender({ keepFocus: true });
  onReconnect(refresh);
  whilePolling(refresh);
}

const RANGES = [
  ["1M", 1],
  ["6M", 6],
  ["1Y", 12],
  ["5Y", 60],
  ["All", null],
];

export async function stockPage(match) {
  const symbol = match[1].toUpperCase();
  show(h("h1", { text: `${symbol} price history` }));
  const bars = await api(`/api/v1/stocks/${encodeURIComponent(symbol)}/prices/`);
  const latest = bars[bars.length - 1];
  const lastPrice = h("p", { class: "last-price", "data-symbol": symbol, text: latest ? `Last: ${money(latest.close)}` : "" });
  let chartShown = null;
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
      chartShown = priceChart(
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
    lastPrice,
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
  // today's bar moves with each live price
  onPrice(symbol, (event) => {
    lastPrice.textContent = `Last: ${money(event.price)} at ${when(event.quoted_at)}`;
    try {
      chartShown?.closeSeries.update({ time: tradingDay(event.quoted_at), value: event.price });
    } catch {
      // a quote older than the chart's last bar: nothing to draw
    }
  });
  const refresh = () => rerender({ keepFocus: true });
  onReconnect(refresh);
  whilePolling(refresh);
}
