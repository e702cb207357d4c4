// Paper trading as the client shows it, before and after the API answers.

// What an order would cost (a buy) or bring (a sale), settled as the API settles a fill: a buy's cost
// rounded up to the cent, a sale's proceeds down. Null until there is a quantity and a price.
export function estimatedAmount(side, qty, price) {
  if (!(qty > 0 && price > 0)) return null;
  const cents = Math.round(qty * price * 1e6) / 1e4; // the float product, to a hundredth of a cent
  return (side === "buy" ? Math.ceil(cents) : Math.floor(cents)) / 100;
}

// An equity history is a chart once it has two points; one point (the day the account opened) is no
// history, and a flat line on an axis of a few cents only looks like one.
export function hasHistory(points) {
  return points.length >= 2;
}
