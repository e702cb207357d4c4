// The web client's rules that need no browser, run by Node's test runner (tests/unit/test_web_modules.py
// runs it, with the machine's zone set far from New York).
import assert from "node:assert/strict";
import { test } from "node:test";

import { errorSummary } from "../../../web/src/dom.js";
import { directionInWords, plural, servedInWords, skillInWords, when } from "../../../web/src/format.js";
import { isCurrent } from "../../../web/src/navigation.js";
import { PAGE_SIZE, pageQuery, pageSpan } from "../../../web/src/pager.js";

test("market times are New York times, labelled, wherever the reader is", () => {
  assert.equal(when("2026-12-04T21:00:00Z"), "Dec 4, 2026, 4:00 PM ET"); // the close, in winter
  assert.equal(when("2026-07-02T13:30:00Z"), "Jul 2, 2026, 9:30 AM ET"); // the open, in summer
  assert.equal(when(null), "—");
});

test("counts agree with their nouns", () => {
  assert.equal(plural(1, "trigger"), "1 trigger");
  assert.equal(plural(0, "trigger"), "0 triggers");
  assert.equal(plural(1200, "alert"), "1,200 alerts");
});

test("one navigation link is current: its own path and the paths below it", () => {
  assert.equal(isCurrent("/predictions", "/predict"), false);
  assert.equal(isCurrent("/predictions", "/predictions"), true);
  assert.equal(isCurrent("/predictions/7", "/predictions"), true);
  assert.equal(isCurrent("/alerts/new", "/alerts"), true);
  assert.equal(isCurrent("/alertsx", "/alerts"), false);
});

test("pages cover the list exactly, the last one partly", () => {
  assert.equal(PAGE_SIZE, 25);
  assert.deepEqual(pageSpan(26, 1), { first: 1, last: 25, pages: 2 });
  assert.deepEqual(pageSpan(26, 2), { first: 26, last: 26, pages: 2 });
  assert.deepEqual(pageSpan(25, 1), { first: 1, last: 25, pages: 1 });
  assert.deepEqual(pageSpan(0, 1), { first: 1, last: 0, pages: 1 });
  assert.equal(pageQuery(1), "limit=25&offset=0");
  assert.equal(pageQuery(3), "limit=25&offset=50");
});

test("the form's message area says only what no field shows", () => {
  const shown = new Set(["username", "password"]);
  assert.equal(errorSummary("Invalid input.", { password: ["Too short."] }, shown), "");
  assert.equal(
    errorSummary("Invalid input.", { password: ["Too short."], non_field_errors: ["Not JSON."] }, shown),
    "Invalid input. Not JSON.",
  );
  assert.equal(errorSummary("Invalid input.", { email: ["Bad."] }, shown), "Invalid input. email: Bad.");
  assert.equal(errorSummary("Too many requests.", {}, shown), "Too many requests.");
});

test("an order's estimate is settled as the API settles it: a buy rounded up, a sale down", async () => {
  const { estimatedAmount } = await import("../../../web/src/trading.js");
  assert.equal(estimatedAmount("buy", 2, 806.195), 1612.39);
  assert.equal(estimatedAmount("sell", 2, 806.195), 1612.39);
  assert.equal(estimatedAmount("buy", 1.5, 806.19), 1209.29); // 1209.285
  assert.equal(estimatedAmount("sell", 1.5, 806.19), 1209.28);
  assert.equal(estimatedAmount("buy", 0.000004, 1000.01), 0.01); // a fraction of a cent still costs one
  assert.equal(estimatedAmount("sell", 0.0001, 1055), 0.1);
  assert.equal(estimatedAmount("buy", 3, 100), 300); // exact stays exact
  assert.equal(estimatedAmount("buy", 0, 100), null);
  assert.equal(estimatedAmount("buy", 2, 0), null);
});

test("one point is no equity history; two are", async () => {
  const { hasHistory } = await import("../../../web/src/trading.js");
  assert.equal(hasHistory([{ date: "2026-12-04", equity: "100000.00" }]), false);
  assert.equal(hasHistory([{ date: "2026-12-03", equity: "100000.00" }, { date: "2026-12-04", equity: "100000.06" }]), true);
  assert.equal(hasHistory([]), false);
});

test("a prediction says which forecast it serves, whether it has skill, and the direction beside its baseline", () => {
  const p = {
    served: {
      forecast: "random_walk",
      reason: "the random walk: the lowest interval score (80% plus 95%, in % of the price) over the last 60 settled forecasts at every step up to 5 days (random walk 40.00, LSTM 41.00, combination 40.50)",
    },
    skill: { demonstrated: false, summary: "No demonstrated skill: the model's next-day forecast has a 0.6% higher mean squared error than the random walk's (Diebold-Mariano p = 0.57)." },
    direction: { as_of: "2022-03-24", probability_up: 0.5312, held_out_accuracy: 0.5124, majority_baseline: 0.5532, evaluated: 250, summary: "No demonstrated edge: right on 51.2% of 250 held-out days, against 55.3% for always calling up." },
  };
  const [served] = servedInWords(p);
  assert.match(served, /^Served: the random walk \(every future close = today's\), chosen by the lowest interval score/);
  assert.deepEqual(skillInWords(p), { demonstrated: false, sentence: p.skill.summary });
  const direction = directionInWords(p);
  assert.equal(direction[0], "The direction model puts the chance that the next close is higher than Mar 24, 2022's at 53.1%.");
  assert.equal(direction[1], "On 250 held-out days it called the next move right 51.2% of the time; always calling the more frequent direction was right 55.3%.");
  assert.equal(direction[2], p.direction.summary);
  assert.deepEqual(servedInWords({}), []); // a forecast stored before the choice existed
  assert.equal(skillInWords({}), null);
});

test("every generated alert kind and condition is described in words of its own", async () => {
  const { ALERT_KINDS } = await import("../../../web/src/generated/alertKinds.js");
  const { describeCondition } = await import("../../../web/src/format.js");
  const sample = {
    stock_symbol: "GOOG",
    threshold_price: "100",
    duration_minutes: 5,
    percent: "2",
    window_minutes: 30,
    indicator: "sma",
    period: 50,
    other_indicator: null,
    other_period: null,
    horizon: 5,
  };
  const seen = new Set();
  for (const [type, kind] of Object.entries(ALERT_KINDS)) {
    for (const [condition] of kind.conditions) {
      const sentence = describeCondition({ ...sample, alert_type: type, condition });
      assert.ok(sentence && !sentence.includes("undefined") && sentence !== `GOOG ${condition}`, `${type}/${condition}: ${sentence}`);
      seen.add(sentence);
    }
  }
  assert.equal(seen.size, Object.values(ALERT_KINDS).reduce((n, kind) => n + kind.conditions.length, 0));
  const two = { ...sample, alert_type: "indicator", condition: "crosses_above", other_indicator: "ema", other_period: 200 };
  assert.equal(describeCondition(two), "GOOG SMA(50) crosses above its EMA(200)");
  assert.equal(describeCondition({ ...sample, alert_type: "indicator", condition: "below" }), "GOOG is at or below its SMA(50)");
  assert.equal(describeCondition({ ...sample, alert_type: "percent_change", condition: "down" }), "GOOG moves down 2.00% within 30 minutes");
});
