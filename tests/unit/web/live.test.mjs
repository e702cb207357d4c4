// The live client's rules that need no browser: channel names as the server writes them, the
// market's state in words, and what a user event says in a toast.
import assert from "node:assert/strict";
import { test } from "node:test";

import { marketInWords } from "../../../web/src/format.js";
import { priceChannel, symbolSegment } from "../../../web/src/live.js";

test("a symbol is the channel segment the server publishes it on (tests/unit/test_live.py)", () => {
  const cases = { GOOG: "GOOG", "BRK.B": "BRK-2EB", "BRK-B": "BRK-2DB", "^GSPC": "-5EGSPC", "EURUSD=X": "EURUSD-3DX" };
  for (const [symbol, segment] of Object.entries(cases)) assert.equal(symbolSegment(symbol), segment);
  assert.equal(priceChannel("BRK.B"), "/prices/BRK-2EB");
});

const session = (day, open, close, early = false) => ({
  date: day,
  opens_at: `${day}T${open}:00Z`,
  closes_at: `${day}T${close}:00Z`,
  early_close: early,
});

test("the market's state says when it closes, or why it is shut and when it opens", () => {
  // Thanksgiving 2026: closed, and Friday's session opens at 09:30 New York
  const thanksgiving = { now: "2026-11-26T17:00:00Z", is_open: false, closed_for: "Thanksgiving", session: session("2026-11-27", "14:30", "18:00", true) };
  assert.equal(marketInWords(thanksgiving), "Closed for Thanksgiving, opens Fri 09:30");
  const open = { now: "2026-11-27T15:00:00Z", is_open: true, closed_for: null, session: session("2026-11-27", "14:30", "18:00", true) };
  assert.equal(marketInWords(open), "Open, closes 13:00 (early close)");
  const monday = { now: "2026-11-30T15:00:00Z", is_open: true, closed_for: null, session: session("2026-11-30", "14:30", "21:00") };
  assert.equal(marketInWords(monday), "Open, closes 16:00");
  const early = { now: "2026-11-30T12:00:00Z", is_open: false, closed_for: null, session: session("2026-11-30", "14:30", "21:00") };
  assert.equal(marketInWords(early), "Closed, opens 09:30"); // later the same day
  const weekend = { now: "2026-12-05T20:00:00Z", is_open: false, closed_for: "Weekend", session: session("2026-12-07", "14:30", "21:00") };
  assert.equal(marketInWords(weekend), "Closed, opens Mon 09:30");
});
