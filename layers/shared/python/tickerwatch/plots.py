"""PNG plots for a forecast, drawn from the series in the result (matplotlib, Agg, imported lazily)."""

from __future__ import annotations

import base64
import io
from datetime import date
from typing import Any


def _figure(title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), dpi=80)
    # Fixed margins instead of tight_layout, which draws the figure an extra time (a third of the cost).
    fig.subplots_adjust(left=0.08, right=0.98, top=0.92, bottom=0.12)
    ax.set_title(title)
    ax.set_xlabel("Date")
    ax.set_ylabel("Price (USD)")
    ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return fig, ax


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _dates(values: list[str]) -> list[date]:
    return [date.fromisoformat(v) for v in values]


def draw_plots(result: dict[str, Any]) -> dict[str, str]:
    ticker, series = result["ticker"], result["series"]
    days = _dates(series["dates"])
    plots = {}

    fig, ax = _figure(f"{ticker} closing price")
    ax.plot(days, series["close"], label="Close", linewidth=1)
    ax.legend()
    plots["plot_img"] = _png(fig)

    for n, key in ((100, "plot_100_dma"), (200, "plot_200_dma")):
        fig, ax = _figure(f"{ticker} closing price and {n}-day moving average")
        ax.plot(days, series["close"], label="Close", linewidth=1)
        ax.plot(days, [v if v is not None else float("nan") for v in series[f"ma_{n}"]], label=f"{n}-day MA")
        ax.legend()
        plots[key] = _png(fig)

    test = series["test"]
    fig, ax = _figure(f"{ticker}: actual vs predicted (held-out), then {result['horizon']}-day forecast")
    test_days = _dates(test["dates"])
    ax.plot(test_days, test["actual"], label="Actual close", linewidth=1)
    ax.plot(test_days, test["predicted"], label="Predicted (1 day ahead)", linewidth=1)
    future = result["forecast"]
    f_days = _dates([p["date"] for p in future])
    ax.plot(f_days, [p["close"] for p in future], label="Forecast", color="C3", marker=".")
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        low, high = [p[f"low_{level}"] for p in future], [p[f"high_{level}"] for p in future]
        ax.fill_between(f_days, low, high, color="C3", alpha=alpha, label=f"{level}% band")
    ax.legend()
    plots["plot_prediction"] = _png(fig)
    return plots
