"""PNG plots for a forecast, drawn from the series in the result (matplotlib's Agg canvas).

Most of a matplotlib drawing is building figures, axes, ticks and legends, not rasterising, so
the figures are built once and kept: each request swaps the data of their lines,
rescales the axes and sets the titles (docs/decisions.md, "Plots"). The three price charts are
one figure: its close line and axes are drawn once, then each chart restores that background and
draws only its own title, moving average and legend (blitting). PNGs are compressed lightly: a
forecast is drawn once and cached, and time to the first answer matters more than 30% of bytes.
Every title says the date of the data it shows.
"""

from __future__ import annotations

import base64
import io
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np

RECENT_DAYS = 65  # the forecast panel's look back: about three months of trading days
COMPRESS_LEVEL = 1
AVERAGES = ((100, "plot_100_dma"), (200, "plot_200_dma"))
BANDS = (("95", 0.15), ("80", 0.3))  # nominal coverage, fill opacity; the wider band first, below


def _day_numbers(values: list[str]) -> np.ndarray:
    import matplotlib.dates as mdates

    return mdates.date2num(np.array(values, dtype="datetime64[D]"))


def _figure(height: float = 5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, height), dpi=80)
    FigureCanvasAgg(fig)
    return fig


def _style(ax) -> None:
    import matplotlib.dates as mdates

    ax.xaxis_date()
    ax.set_xlabel("Date")
    ax.set_ylabel("Price (USD)")
    ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _rescale(ax) -> None:
    ax.relim()
    ax.autoscale_view()


def _encode(rgba) -> str:
    from PIL import Image

    image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=COMPRESS_LEVEL)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@cache
def _encoder() -> ThreadPoolExecutor:
    """PNG encoding (zlib, without the GIL) runs beside the drawing of the next chart."""
    return ThreadPoolExecutor(2, thread_name_prefix="png")


class PriceCharts:
    """The close with nothing, the 100-day or the 200-day moving average over it."""

    def __init__(self) -> None:
        from matplotlib.legend import Legend

        self.fig = _figure()
        self.fig.subplots_adjust(left=0.08, right=0.98, top=0.92, bottom=0.12)
        self.ax = ax = self.fig.add_subplot()
        _style(ax)
        (self.close,) = ax.plot([], [], label="Close", linewidth=1)
        self.averages = {}
        self.legends = {None: Legend(ax, [self.close], ["Close"])}
        for n, _ in AVERAGES:
            (line,) = ax.plot([], [], label=f"{n}-day MA", color="C1", animated=True)
            self.averages[n] = line
            self.legends[n] = Legend(ax, [self.close, line], ["Close", f"{n}-day MA"])
        for legend in self.legends.values():
            legend.set_animated(True)

    def draw(self, ticker: str, days: np.ndarray, series: dict[str, Any], first: str, as_of: str) -> dict[str, Future]:
        ax, canvas = self.ax, self.fig.canvas
        self.close.set_data(days, series["close"])
        _rescale(ax)
        ax.title.set_text("")
        canvas.draw()
        background = canvas.copy_from_bbox(self.fig.bbox)

        def chart(title: str, n: int | None) -> str:
            canvas.restore_region(background)
            ax.title.set_text(title)
            ax.draw_artist(ax.title)
            if n is not None:
                ax.draw_artist(self.averages[n])
            ax.draw_artist(self.legends[n])
            return _encoder().submit(_encode, np.array(canvas.buffer_rgba()))

        plots = {"plot_img": chart(f"{ticker} closing price, {first} to {as_of}", None)}
        for n, key in AVERAGES:
            average = np.array([np.nan if v is None else v for v in series[f"ma_{n}"]], dtype=float)
            self.averages[n].set_data(days, average)
            plots[key] = chart(f"{ticker} closing price and {n}-day moving average, {first} to {as_of}", n)
            # Cleared, so the next legend and the next request's axes fit the close alone (the
            # averages lie within it), as on a fresh figure.
            self.averages[n].set_data([], [])
        return plots


class PredictionChart:
    """Two panels: the held-out test (actual vs predicted one day ahead), and the forecast with its
    80% and 95% bands after the last three months of closes."""

    def __init__(self) -> None:
        self.fig = _figure(height=8)
        self.fig.subplots_adjust(left=0.08, right=0.98, top=0.95, bottom=0.07, hspace=0.35)
        self.held_out, self.ahead = self.fig.subplots(2, 1)
        _style(self.held_out)
        _style(self.ahead)
        (self.actual,) = self.held_out.plot([], [], label="Actual close", linewidth=1)
        (self.predicted,) = self.held_out.plot([], [], label="Predicted (1 day ahead)", linewidth=1)
        self.held_out.legend()
        (self.recent,) = self.ahead.plot([], [], label="Close", linewidth=1)
        (self.forecast,) = self.ahead.plot([], [], label="Forecast", color="C3", marker=".")
        self.bands: list[Any] = []

    def draw(self, result: dict[str, Any]) -> Future:
        ticker, series, as_of, horizon = result["ticker"], result["series"], result["as_of"], result["horizon"]
        test = series["test"]
        self.actual.set_data(_day_numbers(test["dates"]), test["actual"])
        self.predicted.set_data(_day_numbers(test["dates"]), test["predicted"])
        _rescale(self.held_out)
        self.held_out.set_title(
            f"{ticker}: held-out test, {test['dates'][0]} to {test['dates'][-1]}: actual vs predicted 1 day ahead"
        )

        future = result["forecast"]
        last_close = series["close"][-1]
        days = _day_numbers(series["dates"][-RECENT_DAYS:])
        # the forecast starts from the last close, so the path joins the history
        joined_days = np.concatenate([days[-1:], _day_numbers([p["date"] for p in future])])
        self.recent.set_data(days, series["close"][-RECENT_DAYS:])
        self.forecast.set_data(joined_days, [last_close, *(p["close"] for p in future)])
        for band in self.bands:
            band.remove()
        _rescale(self.ahead)  # the lines; each new band adds its own extent
        self.bands = [
            self.ahead.fill_between(
                joined_days,
                [last_close, *(p[f"low_{level}"] for p in future)],
                [last_close, *(p[f"high_{level}"] for p in future)],
                color="C3",
                alpha=alpha,
                label=f"{level}% band",
            )
            for level, alpha in BANDS
        ]
        self.ahead.autoscale_view()
        if self.ahead.get_legend() is None:  # the legend keeps its own swatches of the first bands
            self.ahead.legend(loc="upper left")
        self.ahead.set_title(f"{ticker}: {horizon}-day forecast from {as_of}, with 80% and 95% bands")
        self.fig.canvas.draw()
        return _encoder().submit(_encode, np.array(self.fig.canvas.buffer_rgba()))


class Charts:
    def __init__(self) -> None:
        self.prices = PriceCharts()
        self.prediction = PredictionChart()

    def draw(self, result: dict[str, Any]) -> dict[str, str]:
        series = result["series"]
        plots = self.prices.draw(
            result["ticker"], _day_numbers(series["dates"]), series, series["dates"][0], result["as_of"]
        )
        plots["plot_prediction"] = self.prediction.draw(result)
        return {key: encoded.result() for key, encoded in plots.items()}


# Figures are not for two threads at once, and a web server's worker threads come and go: charts
# are lent out one request at a time and kept for the next, whichever thread it runs on.
_idle: list[Charts] = []
_idle_lock = threading.Lock()


def draw_plots(result: dict[str, Any]) -> dict[str, str]:
    with _idle_lock:
        charts = _idle.pop() if _idle else None
    if charts is None:
        charts = Charts()
    plots = charts.draw(result)
    with _idle_lock:  # only charts that finished a drawing go back: a failed one may hold its data
        _idle.append(charts)
    return plots
