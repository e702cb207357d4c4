"""Training the direction model with scikit-learn, and measuring how a leaky evaluation flatters it.

Needs the ``train`` extra. Each ticker's days are split in time as the LSTM's are: the first 80%
trains (pooled over the tickers), the last 20% is held out, and the accuracy reported is on those
later days only (walk-forward). ``leakage_study`` runs the same data through the evaluations that
produce the 75-85% figures direction models get advertised with, so the gap is on record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tickerwatch.direction import FEATURES, DirectionModel, indicators, next_day_up

HELD_OUT_FRACTION = 0.2
TREES = 200
MAX_DEPTH = 5
MIN_LEAF = 40  # a leaf speaks for at least two months of days: less memorising of one stretch
SEED = 7
LOOK_AHEAD_DAYS = 5  # how far the leaky indicators reach past their day
LABEL_DAYS = 10  # the leaky multi-day label: up over the next 10 days


@dataclass
class Rows:
    features: np.ndarray  # (rows, 13)
    labels: np.ndarray  # (rows,) 1.0 up, 0.0 not
    split: int  # rows before this index are the training period


def rows_of(closes: np.ndarray, features: np.ndarray | None = None, labels: np.ndarray | None = None) -> Rows:
    """The days with a full feature row and a known next close, split 80/20 in time."""
    features = indicators(closes) if features is None else features
    labels = next_day_up(closes) if labels is None else labels
    usable = ~np.isnan(features).any(axis=1) & ~np.isnan(labels)
    split_day = int(len(closes) * (1 - HELD_OUT_FRACTION))
    return Rows(features[usable], labels[usable], int(np.sum(usable[:split_day])))


def forest(seed: int = SEED, *, trees: int = TREES, max_depth: int | None = MAX_DEPTH, min_leaf: int = MIN_LEAF):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=trees, max_depth=max_depth, min_samples_leaf=min_leaf, random_state=seed, n_jobs=1
    )


def export(fitted, meta: dict[str, Any]) -> DirectionModel:
    """A fitted RandomForestClassifier as padded arrays (see DirectionModel)."""
    trees = [estimator.tree_ for estimator in fitted.estimators_]
    nodes = max(t.node_count for t in trees)
    feature = np.zeros((len(trees), nodes), dtype=np.int64)
    threshold = np.zeros((len(trees), nodes))
    left = np.full((len(trees), nodes), -1, dtype=np.int64)
    right = np.full((len(trees), nodes), -1, dtype=np.int64)
    up = np.zeros((len(trees), nodes))
    up_class = list(fitted.classes_).index(1.0)
    for i, t in enumerate(trees):
        count = t.node_count
        feature[i, :count] = np.maximum(t.feature, 0)
        threshold[i, :count] = t.threshold
        left[i, :count], right[i, :count] = t.children_left, t.children_right
        value = t.value[:, 0, :]
        up[i, :count] = value[:, up_class] / value.sum(axis=1)
    model = DirectionModel(feature, threshold, left, right, up, dict(meta))
    model.meta["max_depth"] = max(t.max_depth for t in trees)
    digest = hashlib.sha256()
    for a in (feature, threshold, left, right, up):
        digest.update(np.ascontiguousarray(a).tobytes())
    model.meta["version"] = f"1.{digest.hexdigest()[:10]}"
    return model


def train_direction(series: dict[str, tuple[list, np.ndarray]]) -> tuple[DirectionModel, dict[str, Any]]:
    """Fit on each ticker's first 80% (pooled), judge on each one's last 20%."""
    per_ticker = {t: rows_of(closes) for t, (_, closes) in series.items()}
    x = np.concatenate([r.features[: r.split] for r in per_ticker.values()])
    y = np.concatenate([r.labels[: r.split] for r in per_ticker.values()])
    fitted = forest().fit(x, y)
    trained_on = {}
    for ticker, (dates, closes) in series.items():
        split_day = int(len(closes) * (1 - HELD_OUT_FRACTION))
        trained_on[ticker] = {"start": dates[0].isoformat(), "train_end": dates[split_day - 1].isoformat()}
    meta = {
        "name": "tickerwatch-direction",
        "kind": f"random forest, {TREES} trees, depth <= {MAX_DEPTH}, >= {MIN_LEAF} days a leaf",
        "features": list(FEATURES),
        "trained_on": trained_on,
    }
    model = export(fitted, meta)
    report = {
        ticker: _scored(model.probability_up(r.features[r.split :]) > 0.5, r.labels[r.split :])
        for ticker, r in per_ticker.items()
    }
    return model, report


def _scored(called_up: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    went_up = labels == 1.0
    share = float(np.mean(went_up))
    return {
        "accuracy": round(float(np.mean(called_up == went_up)), 4),
        "majority_baseline": round(max(share, 1 - share), 4),
        "days": len(labels),
    }


def leakage_study(
    series: dict[str, np.ndarray], seed: int = SEED, *, deep: bool = False, trees: int | None = None
) -> dict[str, dict[str, Any]]:
    """The same forest (``deep``: scikit-learn's defaults, trees grown to single days) judged four
    ways on the same closes (pooled over the tickers):

    - walk_forward: trained on each ticker's first 80%, judged on its last 20% (what we serve);
    - random_split: the days shuffled into 80/20 (neighbouring days on both sides of the split);
    - random_split_multi_day_labels: as above, with "up over the next LABEL_DAYS days" as the label,
      so a test day's label shares most of its days with the labels of training days beside it;
    - look_ahead_indicators: walk-forward, but each day's indicators taken LOOK_AHEAD_DAYS later, as
      a centred or mis-aligned window does.
    """
    rng = np.random.default_rng(seed)

    def make_forest():
        if deep:
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(n_estimators=trees or 100, random_state=seed, n_jobs=1)
        return forest(seed, trees=trees or TREES)

    def walk_forward(make_rows) -> dict[str, Any]:
        rows = [make_rows(closes) for closes in series.values()]
        fitted = make_forest().fit(
            np.concatenate([r.features[: r.split] for r in rows]), np.concatenate([r.labels[: r.split] for r in rows])
        )
        test_x = np.concatenate([r.features[r.split :] for r in rows])
        return _scored(fitted.predict_proba(test_x)[:, 1] > 0.5, np.concatenate([r.labels[r.split :] for r in rows]))

    def random_split(make_rows) -> dict[str, Any]:
        rows = [make_rows(closes) for closes in series.values()]
        x, y = np.concatenate([r.features for r in rows]), np.concatenate([r.labels for r in rows])
        order = rng.permutation(len(y))
        cut = int(len(y) * (1 - HELD_OUT_FRACTION))
        fitted = make_forest().fit(x[order[:cut]], y[order[:cut]])
        return _scored(fitted.predict_proba(x[order[cut:]])[:, 1] > 0.5, y[order[cut:]])

    def multi_day_labels(closes: np.ndarray) -> Rows:
        labels = np.full(len(closes), np.nan)
        labels[:-LABEL_DAYS] = (closes[LABEL_DAYS:] > closes[:-LABEL_DAYS]).astype(np.float64)
        return rows_of(closes, labels=labels)

    def look_ahead(closes: np.ndarray) -> Rows:
        shifted = np.full((len(closes), len(FEATURES)), np.nan)
        shifted[:-LOOK_AHEAD_DAYS] = indicators(closes)[LOOK_AHEAD_DAYS:]
        return rows_of(closes, features=shifted)

    return {
        "walk_forward": walk_forward(rows_of),
        "random_split": random_split(rows_of),
        "random_split_multi_day_labels": random_split(multi_day_labels),
        "look_ahead_indicators": walk_forward(look_ahead),
    }


def train_and_report(series: dict[str, tuple[list, np.ndarray]], out_dir, progress=print) -> dict[str, Any]:
    """Fit, export to ``out_dir``/direction.npz, and write direction_report.json beside it: the
    walk-forward accuracy per ticker and the leakage study (scikit-learn's default forest, as the
    platforms that advertise such figures use it)."""
    import json
    from pathlib import Path

    out = Path(out_dir)
    model, held_out = train_direction(series)
    closes = {t: c for t, (_, c) in series.items()}
    report = {
        "model": {"name": model.meta["name"], "version": model.version, "kind": model.meta["kind"]},
        "held_out": held_out,
        "leakage_study": {
            "forest": "scikit-learn's RandomForestClassifier defaults (100 trees, grown to single days)",
            **leakage_study(closes, deep=True),
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "direction.npz")
    (out / "direction_report.json").write_text(json.dumps(report, indent=2) + "\n")
    progress(f"wrote {out / 'direction.npz'} (version {model.version}) and {out / 'direction_report.json'}")
    return report
