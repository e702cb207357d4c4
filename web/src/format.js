// Numbers, times and the model's metrics put into words.

import { ALERT_KINDS } from "./generated/alertKinds.js";

export function money(value) {
  if (value === null || value === undefined || value === "") return "—";
  return Number(value).toLocaleString("en-US", { style: "currency", currency: "USD" });
}

export function percent(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return `${Number(value).toFixed(digits)}%`;
}

export function signedPercent(value) {
  if (value === null || value === undefined) return "—";
  const number = Number(value);
  return `${number > 0 ? "+" : ""}${number.toFixed(2)}%`;
}

// Times as the market keeps them: New York time, labelled, wherever the reader is (the close is
// "4:00 PM ET", not 9:00 PM in London).
export function when(value) {
  if (!value) return "—";
  const text = new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "America/New_York" });
  return `${text} ET`;
}

// "1 trigger", "3 triggers".
export function plural(count, one, many = `${one}s`) {
  return `${count.toLocaleString("en-US")} ${count === 1 ? one : many}`;
}

export function day(value) {
  if (!value) return "—";
  return new Date(`${value}T12:00:00Z`).toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });
}

// The condition an alert (or a trigger) watches, as a sentence: its kind's template, from the
// server's declaration (generated/alertKinds.js), with each value written as the page writes it.
export function describeCondition(alert) {
  const kind = ALERT_KINDS[alert.alert_type];
  const sentence = kind && ((alert.other_indicator && kind.sentencesWithOptional[alert.condition]) || kind.sentences[alert.condition]);
  if (!sentence) return `${alert.stock_symbol} ${alert.condition}`;
  const average = (name, period) => `${String(name).toUpperCase()}(${period})`;
  const values = {
    symbol: alert.stock_symbol,
    threshold_price: money(alert.threshold_price),
    percent: percent(alert.percent, 2),
    average: alert.indicator ? average(alert.indicator, alert.period) : "",
    other_average: alert.other_indicator ? average(alert.other_indicator, alert.other_period) : "",
  };
  return sentence.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : String(alert[name])));
}

// The model's errors beside the naive guess, in words a non-specialist can follow.
export function metricsInWords(prediction) {
  const model = prediction.mae;
  const naive = prediction.baseline.mae;
  const days = prediction.test_window.days;
  const better = model < naive;
  const ratio = naive > 0 ? Math.abs(1 - model / naive) * 100 : 0;
  const sentences = [
    `On ${days} recent trading days the model never saw in training, its next-day forecasts were off by ${money(model)} on average (${percent(prediction.mape, 1)} of the price).`,
    `The naive guess "tomorrow's close equals today's" was off by ${money(naive)} on average.`,
    better
      ? `So the model was ${ratio.toFixed(1)}% more accurate than the naive guess over that period.`
      : `So the model was ${ratio.toFixed(1)}% less accurate than the naive guess over that period: treat its forecast with caution.`,
  ];
  if (prediction.directional_accuracy !== null && prediction.directional_accuracy !== undefined) {
    const hit = prediction.directional_accuracy * 100; // a share, 0-1
    sentences.push(`It called the day's direction (up or down) right ${hit.toFixed(0)}% of the time; a coin flip gets 50%.`);
  }
  return { better, sentences };
}

const CANDIDATE_NAMES = {
  random_walk: "the random walk (every future close = today's)",
  lstm: "the LSTM model's forecast",
  combination: "the combination of the random walk and the LSTM",
};

// Which forecast the chart and the bands show, and why: the one that scored best on recent outcomes.
export function servedInWords(prediction) {
  const served = prediction.served;
  if (!served) return [];
  const reason = served.reason.replace(/^the [^:]+: /, "");
  return [
    `Served: ${CANDIDATE_NAMES[served.forecast] || served.forecast}, chosen by ${reason}.`,
    "Each candidate's bands are calibrated on its own past errors; the choice uses only outcomes known when it was made.",
  ];
}

// Skill against the random walk, with its p-value, in words ("No demonstrated skill" when there is none).
export function skillInWords(prediction) {
  const skill = prediction.skill;
  if (!skill) return null;
  return { demonstrated: skill.demonstrated, sentence: skill.summary };
}

// The next day's direction, beside the accuracy of always calling the more frequent direction.
export function directionInWords(prediction) {
  const d = prediction.direction;
  if (!d) return [];
  const share = (value) => `${(value * 100).toFixed(1)}%`;
  const sentences = [
    `The direction model puts the chance that the next close is higher than ${day(d.as_of)}'s at ${share(d.probability_up)}.`,
  ];
  if (d.held_out_accuracy !== null) {
    sentences.push(
      `On ${plural(d.evaluated, "held-out day")} it called the next move right ${share(d.held_out_accuracy)} of the time; always calling the more frequent direction was right ${share(d.majority_baseline)}.`,
    );
  }
  sentences.push(d.summary);
  return sentences;
}

// The band coverage at the forecast's horizon, measured on held-out days.
export function coverageInWords(prediction) {
  const steps = prediction.bands?.per_step || [];
  const step = steps.find((s) => s.step === prediction.horizon) || steps[steps.length - 1];
  if (!step || step.coverage_80 === null) {
    return ["This forecast has no measured band coverage."];
  }
  const share = (value) => percent(value * 100, 0); // shares, 0-1
  const sentences = [
    `Over ${step.evaluated} held-out forecasts ${step.step} trading day${step.step === 1 ? "" : "s"} ahead, the 80% band held the actual price ${share(step.coverage_80)} of the time and the 95% band ${share(step.coverage_95)}.`,
    `The 80% band is ${percent(step.width_80_pct, 1)} of the price wide on average.`,
  ];
  if (step.random_walk) {
    sentences.push(
      `The random walk's own calibrated band held it ${share(step.random_walk.coverage_80)} (80%) and ${share(step.random_walk.coverage_95)} (95%) of the time, ${percent(step.random_walk.width_80_pct, 1)} wide.`,
    );
  }
  return sentences;
}

// A moment's clock time and weekday in New York ("16:00", "Fri").
function newYork(value, options) {
  return new Date(value).toLocaleString("en-US", { timeZone: "America/New_York", hour12: false, ...options });
}

function clock(value) {
  return newYork(value, { hour: "2-digit", minute: "2-digit" });
}

// The exchange's state in words: "Open, closes 16:00", "Closed for Thanksgiving, opens Fri 09:30".
export function marketInWords(market) {
  const session = market.session;
  if (market.is_open) return `Open, closes ${clock(session.closes_at)}${session.early_close ? " (early close)" : ""}`;
  const sameDay = newYork(session.opens_at, { dateStyle: "short" }) === newYork(market.now, { dateStyle: "short" });
  const opens = sameDay ? clock(session.opens_at) : `${newYork(session.opens_at, { weekday: "short" })} ${clock(session.opens_at)}`;
  const why = market.closed_for && market.closed_for !== "Weekend" ? `Closed for ${market.closed_for}` : "Closed";
  return `${why}, opens ${opens}`;
}
