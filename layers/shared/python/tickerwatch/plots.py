"""PNG plots for a forecast, drawn from the series in the result (matplotlib's Agg canvas).

Drawn with ``Figure`` and its canvas directly (no pyplot and its global figure registry), the three
price charts on one figure whose lines are swapped between saves, and PNGs compressed lightly: a
forecast is drawn once and cached, and time to the first answer matters more than 30% of bytes.
Every title says the date of the data it shows.
"""

from __future__ import annotations

import base64
import io
from datetime import date
from typing import Any

RECENT_DAYS = 65  # the forecast panel's look back: about three months of trading days
COMPRESS_LEVEL = 1


def _dates(values: list[str]) -> list[date]:
    return [date.fromisoformat(v) for v in values]


def _style(ax, title: str) -> None:
    import matplotlib.dates as mdates

    ax.set_title(title)
    ax.set_xlabel("Date")
    ax.set_ylabel("Price (USD)")
    ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _png(fig) -> str:
    return _encode(fig.canvas.buffer_rgba() if _drawn(fig) else _draw(fig))


def _drawn(fig) -> bool:
    return getattr(fig, "_tickerwatch_drawn", False)


def _draw(fig):
    fig.canvas.draw()
    fig._tickerwatch_drawn = True
    return fig.canvas.buffer_rgba()


def _encode(rgba) -> str:
    from PIL import Image

    image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=COMPRESS_LEVEL)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figure(height: float = 5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, height), dpi=80)
    FigureCanvasAgg(fig)
    return fig


def draw_plots(result: dict[str, Any]) -> dict[str, str]:
    ticker, series, as_of = result["ticker"], result["series"], result["as_of"]
    days = _dates(series["dates"])
    first = days[0].isoformat()

    # The three price charts share axes, ticks and the close line: drawn once, then each chart
    # restores that background and draws only its own title, average and legend on it (blitting).
    fig = _figure()
    fig.subplots_adjust(left=0.08, right=0.98, top=0.92, bottom=0.12)
    ax = fig.add_subplot()
    _style(ax, "")
    (close,) = ax.plot(days, series["close"], label="Close", linewidth=1)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)

    def chart(title: str, extra=None) -> str:
        fig.canvas.restore_region(background)
        ax.title.set_text(title)
        ax.draw_artist(ax.title)
        handles = [close]
        if extra is not None:
            ax.draw_artist(extra)
            handles.append(extra)
        legend = ax.legend(handles=handles)
        legend.set_animated(True)
        ax.draw_artist(legend)
        legend.remove()
        return _encode(fig.canvas.buffer_rgba())

    plots = {"plot_img": chart(f"{ticker} closing price, {first} to {as_of}")}
    for n, key in ((100, "plot_100_dma"), (200, "plot_200_dma")):
        average = [v if v is not None else float("nan") for v in series[f"ma_{n}"]]
        (line,) = ax.plot(days, average, label=f"{n}-day MA", color="C1", animated=True)
        plots[key] = chart(f"{ticker} closing price and {n}-day moving average, {first} to {as_of}", line)
        line.remove()
    plots["plot_prediction"] = _png(_prediction_figure(result))
    return plots


def _prediction_figure(result: dict[str, Any]):
    """Two panels: the held-out test (actual vs predicted one day ahead), and the forecast with its
    80% and 95% bands after the last three months of closes."""
    ticker, series, as_of, horizon = result["ticker"], result["series"], result["as_of"], result["horizon"]
    fig = _figure(height=8)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.95, bottom=0.07, hspace=0.35)
    held_out, ahead = fig.subplots(2, 1)

    test = series["test"]
    test_days = _dates(test["dates"])
    _style(held_out, f"{ticker}: held-out test, {test_days[0]} to {test_days[-1]}: actual vs predicted 1 day ahead")
    held_out.plot(test_days, test["actual"], label="Actual close", linewidth=1)
    held_out.plot(test_days, test["predicted"], label="Predicted (1 day ahead)", linewidth=1)
    held_out.legend()

    days = _dates(series["dates"][-RECENT_DAYS:])
    future = result["forecast"]
    f_days = _dates([p["date"] for p in future])
    _style(ahead, f"{ticker}: {horizon}-day forecast from {as_of}, with 80% and 95% bands")
    ahead.plot(days, series["close"][-RECENT_DAYS:], label="Close", linewidth=1)
    # the forecast starts from the last close, so the path joins the history
    joined_days, joined = [days[-1], *f_days], [series["close"][-1], *(p["close"] for p in future)]
    ahead.plot(joined_days, joined, label="Forecast", color="C3", marker=".")
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        low = [series["close"][-1], *(p[f"low_{level}"] for p in future)]
        high = [series["close"][-1], *(p[f"high_{level}"] for p in future)]
        ahead.fill_between(joined_days, low, high, color="C3", alpha=alpha, label=f"{level}% band")
    ahead.legend(loc="upper left")
    return fig
