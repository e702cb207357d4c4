// A stock's quote in a table row, kept current by live prices (the stocks list and watchlists).
import { h } from "./dom.js";
import { money, signedPercent, when } from "./format.js";
import { onPrice } from "./live.js";

function changeCell(cell, pct) {
  cell.textContent = signedPercent(pct);
  cell.className = `num ${Number(pct) < 0 ? "down" : "up"}`;
}

// `middle`: cells between the symbol and the price (the stocks list's name).
export function quoteRow(stock, middle = []) {
  const price = h("td", { class: "num", text: money(stock.current_price) });
  const change = h("td", { class: "num" });
  changeCell(change, stock.change_pct);
  const time = h("td", { text: when(stock.price_time) });
  // the change is against the previous close, which a new quote does not move
  const previousClose =
    stock.change_pct !== null && stock.change_pct !== undefined && Number(stock.current_price)
      ? Number(stock.current_price) / (1 + Number(stock.change_pct) / 100)
      : null;
  onPrice(stock.symbol, (event) => {
    price.textContent = money(event.price);
    time.textContent = when(event.quoted_at);
    if (previousClose) changeCell(change, (event.price / previousClose - 1) * 100);
  });
  return h(
    "tr",
    { "data-symbol": stock.symbol },
    h("th", { scope: "row" }, h("a", { href: `/stocks/${stock.symbol}`, text: stock.symbol })),
    ...middle,
    price,
    change,
    time,
  );
}

// The New York trading day a quote belongs to (YYYY-MM-DD), as the daily bars are dated.
export function tradingDay(isoTime) {
  return new Date(isoTime).toLocaleDateString("en-CA", { timeZone: "America/New_York" });
}
