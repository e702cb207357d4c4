"""Tracked stocks: start tracking (validated against the provider, then backfilled), list, bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tickerwatch.data import prices
from tickerwatch.data.prices import StockRow
from tickerwatch.db import Database
from tickerwatch.errors import NotFound, UpstreamUnavailable
from tickerwatch.ingest import fetch_prices
from tickerwatch.market_data import MarketData, PriceBar, ProviderUnavailable, normalise_symbol


def list_tracked(db: Database) -> list[StockRow]:
    return db.one(prices.list_stocks)


@dataclass(frozen=True)
class Tracking:
    stock: StockRow
    created: bool  # False: it was tracked and backfilled already, nothing was fetched


def track_stock(db: Database, provider: MarketData, raw_symbol: str) -> Tracking:
    symbol = normalise_symbol(raw_symbol)
    existing = db.one(lambda conn: prices.backfilled_stock(conn, symbol))
    if existing is not None:
        return Tracking(existing, created=False)
    try:
        info = provider.info(symbol)
    except ProviderUnavailable as exc:
        raise UpstreamUnavailable(f"The market data provider is unreachable: {exc}") from None
    if info is None:
        raise NotFound(f"Unknown symbol '{symbol}'.")
    result = fetch_prices(db, provider, [symbol], backfill=True)
    if symbol not in result.succeeded:
        raise UpstreamUnavailable(f"Could not fetch prices for '{symbol}': {result.failed.get(symbol)}.")

    def work(conn):
        prices.upsert_stocks(conn, [info])
        return prices.backfilled_stock(conn, symbol)

    return Tracking(db.run(work), created=True)


def price_history(db: Database, raw_symbol: str, start: date | None, end: date | None) -> list[PriceBar]:
    symbol = normalise_symbol(raw_symbol)

    def work(conn):
        if not prices.is_tracked(conn, symbol):
            raise NotFound(f"'{symbol}' is not tracked.")
        return prices.bars_between(conn, symbol, start, end)

    return db.run(work)
