"""Watchlists: a user's named lists of symbols, each shown with its latest price.

A symbol not tracked yet is tracked first (validated against the provider and backfilled), as
``POST /api/v1/stocks/`` does, so every listed symbol has prices to show.
"""

from __future__ import annotations

from tickerwatch import stocks
from tickerwatch.data import watchlists as store
from tickerwatch.db import Database
from tickerwatch.errors import Conflict, InvalidInput, NotFound
from tickerwatch.market_data import MarketData, normalise_symbol

MAX_WATCHLISTS = 50
MAX_SYMBOLS = 100
MAX_NAME = 100
DUPLICATE_NAME = "You already have a watchlist with that name."


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput({"name": ["This field may not be blank."]})
    if len(name) > MAX_NAME:
        raise InvalidInput({"name": [f"Ensure this field has no more than {MAX_NAME} characters."]})
    return name


def clean_symbols(raw: list[str]) -> list[str]:
    """Normalised, in the order given, each once (a symbol listed twice is listed once)."""
    symbols = list(dict.fromkeys(normalise_symbol(s, "symbols") for s in raw))
    if len(symbols) > MAX_SYMBOLS:
        raise InvalidInput({"symbols": [f"A watchlist holds at most {MAX_SYMBOLS} symbols."]})
    return symbols


def _track_missing(db: Database, provider: MarketData, symbols: list[str]) -> None:
    """An unknown symbol is the body's fault (400 on ``symbols``), not a missing watchlist; an
    unreachable provider is a 503."""
    for symbol in db.one(lambda conn: store.untracked(conn, symbols)):
        try:
            stocks.track_stock(db, provider, symbol)
        except NotFound:
            raise InvalidInput({"symbols": [f"Unknown symbol '{symbol}'."]}) from None


def create_watchlist(
    db: Database, provider: MarketData, user_id: int, name: str, symbols: list[str]
) -> store.WatchlistRow:
    name, symbols = clean_name(name), clean_symbols(symbols)
    if db.one(lambda conn: store.count_watchlists(conn, user_id)) >= MAX_WATCHLISTS:
        raise Conflict(f"You have {MAX_WATCHLISTS} watchlists, the most allowed; delete one first.")
    _track_missing(db, provider, symbols)

    def work(conn):
        try:
            watchlist_id = store.insert_watchlist(conn, user_id, name, symbols)
        except store.DuplicateName:
            raise Conflict(DUPLICATE_NAME, {"name": [DUPLICATE_NAME]}) from None
        return store.get_watchlist(conn, user_id, watchlist_id)

    return db.run(work)


def list_watchlists(db: Database, user_id: int, limit: int, offset: int) -> tuple[int, list[store.WatchlistRow]]:
    return db.one(lambda conn: store.list_watchlists(conn, user_id, limit, offset))


def get_watchlist(db: Database, user_id: int, watchlist_id: int) -> store.WatchlistRow:
    found = db.one(lambda conn: store.get_watchlist(conn, user_id, watchlist_id))
    if found is None:
        raise NotFound("Watchlist not found.")
    return found


def update_watchlist(
    db: Database,
    provider: MarketData,
    user_id: int,
    watchlist_id: int,
    changes: dict,
) -> store.WatchlistRow:
    """Only the fields given change; ``symbols`` replaces the whole list."""
    nulls = [k for k in ("name", "symbols") if k in changes and changes[k] is None]
    if nulls:
        raise InvalidInput({k: ["This field may not be null."] for k in nulls})
    name = clean_name(changes["name"]) if "name" in changes else None
    symbols = clean_symbols(changes["symbols"]) if "symbols" in changes else None
    get_watchlist(db, user_id, watchlist_id)  # another user's list is 404 before any symbol is tracked
    if symbols:
        _track_missing(db, provider, symbols)

    def work(conn):
        try:
            changed = store.update_watchlist(conn, user_id, watchlist_id, name, symbols)
        except store.DuplicateName:
            raise Conflict(DUPLICATE_NAME, {"name": [DUPLICATE_NAME]}) from None
        if not changed:
            raise NotFound("Watchlist not found.")
        return store.get_watchlist(conn, user_id, watchlist_id)

    return db.run(work)


def delete_watchlist(db: Database, user_id: int, watchlist_id: int) -> None:
    if not db.one(lambda conn: store.delete_watchlist(conn, user_id, watchlist_id)):
        raise NotFound("Watchlist not found.")
