// The web client's rules that need no browser, run by Node's test runner (tests/unit/test_web_modules.py
// runs it, with the machine's zone set far from New York).
import assert from "node:assert/strict";
import { test } from "node:test";

import { errorSummary } from "../../../web/src/dom.js";
import { plural, when } from "../../../web/src/format.js";
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
