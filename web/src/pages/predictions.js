// Forecasts: ask for one, read it, and the history of those asked for.
import { api } from "../api.js";
import { forecastChart } from "../charts.js";
import { dataTable, field, formStatus, h, table } from "../dom.js";
import { coverageInWords, day, directionInWords, metricsInWords, money, percent, plural, servedInWords, skillInWords, when } from "../format.js";
import { show, submitting } from "../page.js";
import { currentPage, pageQuery, pager } from "../pager.js";

export async function predictPage() {
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
  return table(
    { class: "data metrics" },
    "Model against the naive baseline on held-out days (lower errors are better)",
    ["Measure", "Model", "Naive: tomorrow = today"],
    rows.map(([name, a, b]) => h("tr", {}, h("th", { scope: "row", text: name }), h("td", { class: "num", text: a }), h("td", { class: "num", text: b }))),
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

export async function predictionsPage() {
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

export async function predictionPage(match) {
  const p = await api(`/api/v1/predictions/${match[1]}/`, { auth: true });
  const section = h("section");
  show(h("h1", { text: `Prediction for ${p.ticker}, ${when(p.requested_at)}` }), section);
  showPrediction(section, p);
}
