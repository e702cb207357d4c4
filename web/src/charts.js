// Price and forecast charts (TradingView's lightweight-charts, bundled: nothing loads from a CDN).
import { AreaSeries, HistogramSeries, LineSeries, LineStyle, createChart } from "lightweight-charts";

const COLORS = {
  close: "#1d4ed8",
  ma100: "#b45309",
  ma200: "#7e22ce",
  forecast: "#047857",
  equity: "#0f766e",
  volume: "rgba(100, 116, 139, 0.45)",
  band80: "rgba(4, 120, 87, 0.28)",
  band95: "rgba(4, 120, 87, 0.12)",
};

function baseChart(container) {
  container.replaceChildren();
  return createChart(container, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#1f2937", attributionLogo: false },
    grid: { vertLines: { color: "#eef2f7" }, horzLines: { color: "#eef2f7" } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false },
  });
}

function points(dates, values) {
  const out = [];
  dates.forEach((date, i) => {
    if (values[i] !== null && values[i] !== undefined) out.push({ time: date, value: values[i] });
  });
  return out;
}

export function movingAverage(values, period) {
  const out = new Array(values.length).fill(null);
  let sum = 0;
  values.forEach((value, i) => {
    sum += value;
    if (i >= period) sum -= values[i - period];
    if (i >= period - 1) out[i] = sum / period;
  });
  return out;
}

// Daily closes with the 100- and 200-day averages, and the volume as bars along the bottom.
export function priceChart(container, dates, closes, ma100, ma200, volumes) {
  const chart = baseChart(container);
  const volume = chart.addSeries(HistogramSeries, { color: COLORS.volume, priceScaleId: "volume", priceFormat: { type: "volume" }, title: "Volume" });
  volume.setData(points(dates, volumes));
  chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  chart.addSeries(LineSeries, { color: COLORS.ma200, lineWidth: 1, title: "200-day" }).setData(points(dates, ma200));
  chart.addSeries(LineSeries, { color: COLORS.ma100, lineWidth: 1, title: "100-day" }).setData(points(dates, ma100));
  const close = chart.addSeries(LineSeries, { color: COLORS.close, lineWidth: 2, title: "Close" });
  close.setData(points(dates, closes));
  chart.timeScale().fitContent();
  chart.closeSeries = close; // the stock page moves today's point with live prices
  return chart;
}

// Recent closes, then the forecast with its 95% and 80% bands drawn as shaded ranges: each band is
// an area down to its upper edge, with the area below its lower edge painted back in white.
export function forecastChart(container, series, forecast) {
  const chart = baseChart(container);
  const recent = 60; // about three months: enough context without squeezing the forecast
  const dates = series.dates.slice(-recent);
  const closes = series.close.slice(-recent);
  const last = { time: dates[dates.length - 1], value: closes[closes.length - 1] };
  const band = (key) => [last, ...forecast.map((p) => ({ time: p.date, value: p[key] }))];
  const area = (color, title) =>
    chart.addSeries(AreaSeries, {
      lineColor: "rgba(0,0,0,0)",
      topColor: color,
      bottomColor: color,
      lineWidth: 1,
      title,
      priceLineVisible: false,
      lastValueVisible: false,
    });
  const blank = () => area("#ffffff", "");
  area(COLORS.band95, "95% band").setData(band("high_95"));
  area(COLORS.band80, "80% band").setData(band("high_80"));
  blank().setData(band("low_80"));
  area(COLORS.band95, "").setData(band("low_80"));
  blank().setData(band("low_95"));
  chart.addSeries(LineSeries, { color: COLORS.close, lineWidth: 2, title: "Close" }).setData(points(dates, closes));
  chart
    .addSeries(LineSeries, { color: COLORS.forecast, lineWidth: 2, lineStyle: LineStyle.Dashed, title: "Forecast" })
    .setData(band("close"));
  chart.timeScale().fitContent();
  return chart;
}

// A paper account's equity at each trading day's close (today: at the latest quotes).
export function equityChart(container, history) {
  const chart = baseChart(container);
  chart
    .addSeries(LineSeries, { color: COLORS.equity, lineWidth: 2, title: "Equity" })
    .setData(history.map((p) => ({ time: p.date, value: Number(p.equity) })));
  chart.timeScale().fitContent();
  return chart;
}
