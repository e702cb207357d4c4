"""``tickerwatch train``: fit the stacked LSTM with PyTorch and write numpy weights plus a report.

Needs the optional ``train`` extra (torch). Each ticker's history is split in time: the
first 80% trains (its last tenth picks the best epoch), the last 20% is held out and is
what the report and the predict endpoint evaluate on. Seeds are fixed and torch runs
deterministically on one thread, so the same data gives the same weights.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from tickerwatch.bands import served_bands, step_figures
from tickerwatch.forecasting import metrics, recursive_forecast, scale_windows, trailing_volatility
from tickerwatch.market_data import MarketData
from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel
from tickerwatch.progress import Progress

WEIGHTS_DIR = DEFAULT_WEIGHTS.parent
MODEL_NAME = "tickerwatch-lstm"
HELD_OUT_FRACTION = 0.2
BAND_STEPS = (1, 5, 10)  # the horizons whose bands the report measures
VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class TrainConfig:
    window: int = 60
    units: tuple[int, int] = (64, 32)
    dense: int = 16
    epochs: int = 25
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 7


@dataclass
class TickerSplit:
    ticker: str
    dates: list[date]
    closes: np.ndarray
    train_end_index: int  # targets with index < this are training data

    @property
    def train_end(self) -> date:
        return self.dates[self.train_end_index - 1]


def load_series(provider: MarketData, tickers: list[str]) -> dict[str, tuple[list[date], np.ndarray]]:
    history = provider.history(tickers, date(1900, 1, 1), date.today())
    if history.failures:
        raise SystemExit(f"could not load: {history.failures}")
    return {
        t: ([b.day for b in history.bars[t]], np.array([b.close for b in history.bars[t]], dtype=np.float64))
        for t in tickers
    }


def samples(closes: np.ndarray, window: int, targets: range) -> tuple[np.ndarray, np.ndarray]:
    """Scaled windows ending just before each target index, and the scaled targets."""
    idx = np.array(list(targets))
    windows = np.lib.stride_tricks.sliding_window_view(closes, window)[idx - window]
    scaled, lo, span = scale_windows(windows)
    return scaled.astype(np.float32), ((closes[idx] - lo) / span).astype(np.float32)


def build_torch_model(config: TrainConfig):
    import torch
    from torch import nn

    class StackedLstm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm1 = nn.LSTM(1, config.units[0], batch_first=True)
            self.lstm2 = nn.LSTM(config.units[0], config.units[1], batch_first=True)
            self.dense1 = nn.Linear(config.units[1], config.dense)
            self.dense2 = nn.Linear(config.dense, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x, _ = self.lstm1(x.unsqueeze(-1))
            _, (h, _) = self.lstm2(x)
            return self.dense2(self.dense1(h[-1])).squeeze(-1)

    return StackedLstm()


def train(
    provider: MarketData,
    tickers: list[str],
    config: TrainConfig,
    out_dir: Path,
    golden_path: Path | None = None,
    progress=print,
) -> dict[str, Any]:
    import torch

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    splits = []
    for ticker, (dates, closes) in load_series(provider, tickers).items():
        splits.append(TickerSplit(ticker, dates, closes, int(len(closes) * (1 - HELD_OUT_FRACTION))))

    train_x, train_y, val_x, val_y = [], [], [], []
    for s in splits:
        first = config.window
        val_start = int(first + (s.train_end_index - first) * (1 - VALIDATION_FRACTION))
        x, y = samples(s.closes, config.window, range(first, val_start))
        train_x.append(x)
        train_y.append(y)
        x, y = samples(s.closes, config.window, range(val_start, s.train_end_index))
        val_x.append(x)
        val_y.append(y)
    tx, ty = torch.from_numpy(np.concatenate(train_x)), torch.from_numpy(np.concatenate(train_y))
    vx, vy = torch.from_numpy(np.concatenate(val_x)), torch.from_numpy(np.concatenate(val_y))

    net = build_torch_model(config)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    loss_fn = torch.nn.MSELoss()
    generator = torch.Generator().manual_seed(config.seed)
    best_loss, best_state, best_epoch = float("inf"), None, 0
    progress(f"training on {len(tx)} windows, validating on {len(vx)} ({', '.join(tickers)})")
    bar = Progress(config.epochs, "training")
    for epoch in range(1, config.epochs + 1):
        net.train()
        order = torch.randperm(len(tx), generator=generator)
        total = 0.0
        for start in range(0, len(tx), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(net(tx[batch]), ty[batch])
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        net.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(net(vx), vy))
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        bar.advance()
    bar.close()
    progress(f"best epoch {best_epoch} of {config.epochs}: validation loss {best_loss:.5f}")
    assert best_state is not None
    net.load_state_dict(best_state)

    trained_on = {
        s.ticker: {
            "start": s.dates[0].isoformat(),
            "train_end": s.train_end.isoformat(),
            "end": s.dates[-1].isoformat(),
        }
        for s in splits
    }
    meta = {
        "name": MODEL_NAME,
        "window": config.window,
        "trained_on": trained_on,
        "scaling": "per-window min-max",
        "config": config.__dict__ | {"units": list(config.units)},
        "best_epoch": best_epoch,
    }
    model = LstmModel.from_torch_state_dict(net.state_dict(), meta=meta)
    model.meta["version"] = _version(model)

    report = held_out_report(model, splits)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_path = out_dir / "lstm.npz"
    model.save(weights_path)
    (out_dir / "lstm_report.json").write_text(json.dumps(report, indent=2) + "\n")
    progress(f"wrote {weights_path} (version {model.version}) and {out_dir / 'lstm_report.json'}")
    if golden_path:
        progress(f"wrote {write_golden(net, model, splits, golden_path)}")
    return report


def _version(model: LstmModel) -> str:
    digest = hashlib.sha256()
    for layer in model.lstm:
        for a in (layer.kernel, layer.recurrent, layer.bias):
            digest.update(a.tobytes())
    for layer in model.dense:
        digest.update(layer.kernel.tobytes())
        digest.update(layer.bias.tobytes())
    return f"1.{digest.hexdigest()[:10]}"


def held_out_report(model: LstmModel, splits: list[TickerSplit]) -> dict[str, Any]:
    """One-step-ahead metrics on each ticker's held-out 20%, model beside the naive last value."""
    per_ticker = {}
    for s in splits:
        targets = range(s.train_end_index, len(s.closes))
        x, _ = samples(s.closes, model.window, targets)
        windows = np.lib.stride_tricks.sliding_window_view(s.closes, model.window)[np.array(targets) - model.window]
        _, lo, span = scale_windows(windows)
        predicted = model.predict(x).astype(np.float64) * span + lo
        actual = s.closes[np.array(targets)]
        last = s.closes[np.array(targets) - 1]
        per_ticker[s.ticker] = {
            "held_out": {
                "start": s.dates[s.train_end_index].isoformat(),
                "end": s.dates[-1].isoformat(),
                "days": len(targets),
            },
            "model": metrics(actual, predicted, last),
            "naive_last_value": metrics(actual, last, last, directional=False),
            "bands": band_report(model, s),
        }
    return {
        "model": {"name": model.meta["name"], "version": model.version, "window": model.window},
        "tickers": per_ticker,
    }


def report_for(model: LstmModel, provider: MarketData, tickers: list[str]) -> dict[str, Any]:
    """The held-out report of an existing model: each ticker split where its training ended."""
    splits = []
    for ticker, (dates, closes) in load_series(provider, tickers).items():
        trained = (model.meta.get("trained_on") or {}).get(ticker)
        if not trained:
            raise SystemExit(f"{ticker}: the model was not trained on it, so it has no held-out period")
        end = date.fromisoformat(trained["train_end"])
        splits.append(TickerSplit(ticker, dates, closes, next(i for i, d in enumerate(dates) if d > end)))
    return held_out_report(model, splits)


def band_report(model: LstmModel, split: TickerSplit) -> list[dict[str, Any]]:
    """The served 80% and 95% bands' coverage, width and interval score at each of BAND_STEPS days
    ahead, over the whole held-out period, beside each candidate's and the random walk's (see
    bands.served_bands; the choice compares every step up to the farthest)."""
    origins = np.arange(split.train_end_index - 1, len(split.closes) - 1)
    latest = len(split.closes) - model.window
    windows = np.lib.stride_tricks.sliding_window_view(split.closes, model.window)[
        np.append(origins - model.window + 1, latest)
    ]
    paths = recursive_forecast(model, windows, max(BAND_STEPS))
    served = served_bands(split.closes, origins, paths, trailing_volatility(split.closes))
    return [step_figures(served, step) for step in BAND_STEPS]


def write_golden(net, model: LstmModel, splits: list[TickerSplit], path: Path) -> Path:
    """Inputs and PyTorch's outputs on them, so numpy inference is checked without torch."""
    import torch

    rng = np.random.default_rng(11)
    real, _ = samples(splits[0].closes, model.window, range(model.window, model.window + 24))
    inputs = np.concatenate([real, rng.random((8, model.window), dtype=np.float32)]).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(inputs)).numpy().astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, inputs=inputs, expected=expected)
    return path


TABLE_START, TABLE_END = "<!-- served-bands:start -->", "<!-- served-bands:end -->"


def served_band_table(report: dict[str, Any]) -> str:
    """The README's table of served bands against the random walk's, from a held-out report."""
    lines = [
        "| ticker, days ahead | served 80%: coverage / width / score | random walk 80% | served 95% | random walk 95% "
        "| score / random walk's (80%, 95%) | served: random walk / LSTM / combination |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for ticker, figures in report["tickers"].items():
        for band in figures["bands"]:
            rw = band["random_walk"]

            def cell(f: dict[str, Any], level: str) -> str:
                return (
                    f"{f[f'coverage_{level}']:.1%} / {f[f'width_{level}_pct']:.1f}% / {f[f'winkler_{level}_pct']:.1f}"
                )

            ratios = ", ".join(f"{band[f'winkler_{lv}_pct'] / rw[f'winkler_{lv}_pct']:.3f}" for lv in ("80", "95"))
            share = " / ".join(f"{band['served_share'][c]:.0%}" for c in ("random_walk", "lstm", "combination"))
            lines.append(
                f"| {ticker}, {band['step']} | {cell(band, '80')} | {cell(rw, '80')} | {cell(band, '95')} "
                f"| {cell(rw, '95')} | {ratios} | {share} |"
            )
    return "\n".join(lines)


def write_served_band_table(report: dict[str, Any], path: Path) -> None:
    text = path.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    path.write_text(text[:start] + "\n" + served_band_table(report) + "\n" + text[end:])
