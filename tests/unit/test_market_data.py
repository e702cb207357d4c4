from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from tickerwatch.errors import InvalidInput
from tickerwatch.market_data import CsvMarketData, close_time, history_from_frame, normalise_symbol


def test_csv_provider_skips_null_rows_and_reports_unknown(tmp_path):
    (tmp_path / "ABC.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,1,2,0.5,1.5,1.5,100\n"
        "2024-01-03,null,null,null,null,null,null\n"
        "2024-01-04,1.5,2.5,1,2,2,200\n"
    )
    history = CsvMarketData(tmp_path).history(["ABC", "NOPE"], date(2024, 1, 1), date(2024, 12, 31))
    assert [b.day for b in history.bars["ABC"]] == [date(2024, 1, 2), date(2024, 1, 4)]
    assert history.quotes["ABC"].price == 2.0
    assert history.quotes["ABC"].time == close_time(date(2024, 1, 4))
    assert history.failures == {"NOPE": "unknown symbol"}


def test_a_file_rewritten_within_the_same_clock_tick_is_read_again(tmp_path):
    csv_file = tmp_path / "ABC.csv"
    header = "Date,Open,High,Low,Close,Adj Close,Volume\n"
    csv_file.write_text(header + "2024-01-02,1,2,0.5,1.5,1.5,100\n")
    stamp = csv_file.stat().st_mtime_ns
    market = CsvMarketData(tmp_path)
    assert market.history(["ABC"], None, date(2024, 12, 31)).quotes["ABC"].price == 1.5
    # rewritten in place, and stamped as before (a coarse file-system clock does this within a tick)
    csv_file.write_text(header + "2024-01-02,1,2,0.5,1.5,1.5,100\n2024-01-03,1.5,2.5,1,2.25,2.25,200\n")
    os.utime(csv_file, ns=(stamp, stamp))
    assert market.history(["ABC"], None, date(2024, 12, 31)).quotes["ABC"].price == 2.25


def test_yfinance_frame_parsing_keeps_good_tickers_and_reports_bad():
    # The shape yf.download(group_by="ticker") returns for two tickers, one with no rows.
    index = pd.DatetimeIndex(["2024-05-01", "2024-05-02"], name="Date")
    fields = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    columns = pd.MultiIndex.from_product([["AAA", "BBB"], fields])
    frame = pd.DataFrame(
        [
            [1, 2, 0.5, 1.5, 1.4, 10, None, None, None, None, None, None],
            [1.5, 2.5, 1, 2.0, 1.9, 20, None, None, None, None, None, None],
        ],
        index=index,
        columns=columns,
    )
    fetched = datetime(2024, 5, 2, 15, 0, tzinfo=UTC)  # 11:00 in New York: the day's bar is still forming
    history = history_from_frame(frame, ["AAA", "BBB"], fetched)
    assert [b.close for b in history.bars["AAA"]] == [1.5, 2.0]
    assert history.quotes["AAA"].time == fetched
    assert history.failures == {"BBB": "no data returned"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("aapl", "AAPL"), (" brk.b ", "BRK.B"), ("^GSPC", None), ("", None), ("A" * 16, None), ("DROP TABLE", None)],
)
def test_symbol_normalisation(raw, expected):
    if expected is None:
        with pytest.raises(InvalidInput):
            normalise_symbol(raw)
    else:
        assert normalise_symbol(raw) == expected
