"""The plots: what they show (series, titles, labels, dates), and that figures kept between
requests draw exactly what fresh ones draw."""

from __future__ import annotations

import base64
import io
import threading
from datetime import date
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pytest
from PIL import Image

from tickerwatch.forecasting import ForecastRequest, build_forecast
from tickerwatch.market_data import CsvMarketData
from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel
from tickerwatch.plots import RECENT_DAYS, Charts, draw_plots

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
KEYS = ("plot_img", "plot_100_dma", "plot_200_dma", "plot_prediction")


def forecast_for(symbol: str, horizon: int, last: date | None = None) -> dict:
    bars = CsvMarketData(DATA).history([symbol], None, last or date(2100, 1, 1)).bars[symbol]
    dates, closes = [b.day for b in bars], [b.close for b in bars]
    return build_forecast(ForecastRequest(symbol, horizon), dates, closes, LstmModel.load(DEFAULT_WEIGHTS))


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return {
        "TSLA": forecast_for("TSLA", 5),
        "GOOG": forecast_for("GOOG", 10),
        "TSLA-2021": forecast_for("TSLA", 3, date(2021, 6, 30)),
    }


def pixels(data_url: str) -> np.ndarray:
    assert data_url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


def test_charts_kept_between_requests_draw_what_fresh_ones_draw(results):
    fresh = {name: Charts().draw(result) for name, result in results.items()}
    kept = Charts()
    for name in ("TSLA", "GOOG", "TSLA-2021", "TSLA"):  # a longer, shorter, older, then the first again
        drawn = kept.draw(results[name])
        for key in KEYS:
            assert np.array_equal(pixels(drawn[key]), pixels(fresh[name][key])), (name, key)
    # and different data draws different pictures (the comparison above can fail)
    assert not np.array_equal(pixels(fresh["TSLA"]["plot_img"]), pixels(fresh["GOOG"]["plot_img"]))


def test_each_plot_shows_its_series_under_a_dated_title(results):
    result = results["GOOG"]
    series, first, as_of = result["series"], result["series"]["dates"][0], result["as_of"]
    charts = Charts()
    drawn = charts.draw(result)
    assert set(drawn) == set(KEYS)
    for key in KEYS:
        assert pixels(drawn[key]).shape[2] == 3  # an RGB picture

    prices = charts.prices
    np.testing.assert_array_equal(prices.close.get_ydata(), series["close"])
    np.testing.assert_array_equal(
        prices.close.get_xdata(), mdates.date2num(np.array(series["dates"], dtype="datetime64[D]"))
    )
    assert prices.ax.title.get_text() == f"GOOG closing price and 200-day moving average, {first} to {as_of}"
    assert (prices.ax.get_xlabel(), prices.ax.get_ylabel()) == ("Date", "Price (USD)")
    assert [t.get_text() for t in prices.legends[None].get_texts()] == ["Close"]
    assert [t.get_text() for t in prices.legends[100].get_texts()] == ["Close", "100-day MA"]
    assert [t.get_text() for t in prices.legends[200].get_texts()] == ["Close", "200-day MA"]

    chart = charts.prediction
    test = series["test"]
    assert chart.held_out.get_title() == (
        f"GOOG: held-out test, {test['dates'][0]} to {test['dates'][-1]}: actual vs predicted 1 day ahead"
    )
    np.testing.assert_array_equal(chart.actual.get_ydata(), test["actual"])
    np.testing.assert_array_equal(chart.predicted.get_ydata(), test["predicted"])
    assert chart.ahead.get_title() == f"GOOG: 10-day forecast from {as_of}, with 80% and 95% bands"
    np.testing.assert_array_equal(chart.recent.get_ydata(), series["close"][-RECENT_DAYS:])
    forecast = result["forecast"]
    assert list(chart.forecast.get_ydata()) == [series["close"][-1], *(p["close"] for p in forecast)]
    assert mdates.num2date(chart.forecast.get_xdata()[-1]).date().isoformat() == forecast[-1]["date"]
    # the bands' outlines run through the served band edges
    for band, level in zip(chart.bands, ("95", "80"), strict=True):
        ys = band.get_paths()[0].vertices[:, 1]
        for point in forecast:
            assert np.isclose(ys, point[f"low_{level}"]).any() and np.isclose(ys, point[f"high_{level}"]).any()
    labels = [t.get_text() for t in chart.ahead.get_legend().get_texts()]
    assert labels == ["Close", "Forecast", "95% band", "80% band"]
    # the axes hold every band: the 95% extremes are inside the view
    low, high = chart.ahead.get_ylim()
    assert low <= min(p["low_95"] for p in forecast) and high >= max(p["high_95"] for p in forecast)


def test_concurrent_requests_each_get_their_own_pictures(results):
    expected = {name: Charts().draw(results[name]) for name in ("TSLA", "GOOG")}
    drawn: dict[str, list] = {"TSLA": [], "GOOG": []}

    def draw(name: str) -> None:
        for _ in range(3):
            drawn[name].append(draw_plots(results[name]))

    threads = [threading.Thread(target=draw, args=(name,)) for name in ("TSLA", "GOOG", "TSLA", "GOOG")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, pictures in drawn.items():
        assert len(pictures) == 6
        for picture in pictures:
            assert picture == expected[name]


def test_charts_that_failed_mid_drawing_are_not_lent_again(results):
    # A result that breaks the drawing between the forecast's two bands:
    forecast = [{k: v for k, v in point.items() if k != "high_80"} for point in results["TSLA"]["forecast"]]
    broken = {**results["TSLA"], "forecast": forecast}
    with pytest.raises(KeyError):
        draw_plots(broken)
    # the next request draws as on fresh figures, not on the half-drawn ones.
    assert draw_plots(results["GOOG"]) == Charts().draw(results["GOOG"])
