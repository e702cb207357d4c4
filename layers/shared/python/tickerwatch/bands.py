"""Which forecast to serve, and its bands: three candidates, conformal quantile tracking, and a choice
made from settled outcomes only.

- Candidates at each origin and step ahead: the random walk (the last close), the LSTM's path, and
  their combination (the geometric mean of the two points). Each one's error, in units of the
  volatility known at the origin, gets its own conformal bands, so the random walk's are calibrated too.
- Bands are quantile tracking, the proportional part of conformal PID control (Angelopoulos, Candes and
  Tibshirani 2023): each tail's quantile moves by a fixed step after each outcome is known (out by
  ``rate * (1 - alpha/2)`` on a miss, in by ``rate * alpha/2`` on a hit). Unlike ACI's level, which
  can leave [0, 1] and snap a band to the most extreme error on record, the quantile itself moves, by
  a bounded amount. The rate is in volatility units times sqrt(days ahead, up to RATE_GROWS_TO_DAYS).
- Across the steps of one forecast a band never narrows as the horizon grows (a later price is no
  more certain than an earlier one), and the 95% band holds the 80% band; the bands are evaluated
  exactly as served, after both rules.
- At each origin the served candidate is the one whose interval score (80% plus 95%), over the
  settled outcomes of the last SELECTION_WINDOW origins at every step up to the horizon, is lowest,
  the random walk's taken SWITCH_MARGIN lower; until MIN_SELECTION outcomes are settled at the
  farthest step, the random walk is served.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CANDIDATES = ("random_walk", "lstm", "combination")  # the first is the default and wins ties
NAMES = {"random_walk": "random walk", "lstm": "LSTM", "combination": "combination"}
LEVELS = {"80": 0.20, "95": 0.05}  # nominal coverage -> miscoverage alpha
TRACKING_RATE = 0.25  # how far one outcome moves a quantile, in volatility units x sqrt(days ahead)
# ...up to this many days: a longer step's outcome comes back later, and a larger move per outcome
# then overshoots (measured: 30-day coverage 18 points off on GOOG with the rate growing all the way).
RATE_GROWS_TO_DAYS = 5
MIN_SCORES = 20  # settled errors before a candidate's bands are formed
WARMUP = 60  # origins whose bands only warm the method up (not counted)
SELECTION_WINDOW = 60  # the most recent settled origins the choice looks at
# Another candidate is served only when better than the random walk by this share of its score:
# choosing on noise served TSLA's 20-day band at 1.056x the random walk's score.
SWITCH_MARGIN = 0.02
MIN_SELECTION = 20  # settled outcomes at the farthest step before anything but the random walk is served
EPS = 1e-9


@dataclass
class Tracked:
    """Per candidate, level and step, the scaled-error quantiles served at each origin (nan: not
    formed yet); the last column is the next, unseen origin."""

    lower: np.ndarray  # (candidates, levels, steps, origins + 1)
    upper: np.ndarray


def track_quantiles(scores: np.ndarray, alphas: Sequence[float]) -> Tracked:
    """Quantile tracking of both tails of ``scores`` (candidates, levels, steps, origins), all at once.

    The outcome of step k at origin s is known k origins later, so the interval for origin i learns
    only from origins up to i - k. Each tail starts from the empirical quantile of its first
    MIN_SCORES settled scores, and learns from the misses of the band as widened (``widen``), so the
    coverage it keeps is that band's. Both tails are kept as distances outward (the lower one
    negated), so one update serves both.
    """
    candidates, levels, steps, n = scores.shape
    halves = np.asarray(alphas, dtype=np.float64)[None, :, None] / 2
    k = np.arange(1, steps + 1)
    rate = TRACKING_RATE * np.sqrt(np.minimum(k, RATE_GROWS_TO_DAYS))
    start = k + MIN_SCORES - 1  # the first origin whose interval is formed, per step
    outward = np.stack([-scores, scores])  # (2, C, L, steps, n)
    first = np.sort(outward[..., :MIN_SCORES], axis=-1)
    init = np.stack([_quantiles(first[:, :, level], 1.0 - half) for level, half in enumerate(halves[0, :, 0])], 2)
    widened = np.full((2, candidates, levels, steps, n + 1), np.nan)
    q = np.full((2, candidates, levels, steps), np.nan)
    for i in range(n + 1):
        settled = i - k  # these origins' outcomes become known now
        learn = np.nonzero(settled >= start)[0]
        if len(learn):
            s = settled[learn]
            q[..., learn] += rate[learn] * ((outward[..., learn, s] > widened[..., learn, s]) - halves)
        begin = start == i
        if begin.any():
            q[..., begin] = init[..., begin]
        widened[..., i] = widen(q)
    late = np.isnan(widened[0, ..., n])
    if late.any():
        # too few settled outcomes to track: the next forecast's band from the quantiles of those there are
        q = widened[..., n].copy()
        for c, level, step in zip(*np.nonzero(late), strict=True):
            ordered = np.sort(outward[:, c, level, step, : max(n - step, 1)], axis=-1)
            q[:, c, level, step] = _quantiles(ordered, 1.0 - halves[0, level, 0])
        widened[..., n] = widen(q)
    return Tracked(-widened[0], widened[1])


def widen(q: np.ndarray) -> np.ndarray:
    """(tails, candidates, levels, steps) outward quantiles -> bands that widen with the horizon.

    The widening is the mean of the running maximum and the reverse running minimum over the steps:
    both never decrease, so neither does their mean, and a noisy step is met halfway by its
    neighbours instead of being copied forward (a running maximum alone widens every later step
    and over-covers). It is monotone in each step's quantile, so tracking the served band's misses
    still steers each step's coverage."""
    formed = ~np.isnan(q)
    rising = np.fmax.accumulate(q, axis=-1)
    falling = np.fmin.accumulate(q[..., ::-1], axis=-1)[..., ::-1]
    return np.where(formed, (rising + falling) / 2, np.nan)


def nest(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(candidates, levels, ...) quantiles -> the 95% band (level 1) widened to hold the 80% band.

    Applied after tracking: each level learns from its own band, or a 95% quantile propped up by
    the 80% one would see no misses and drift inward without end."""
    lower, upper = lower.copy(), upper.copy()
    lower[:, 1], upper[:, 1] = np.fmin(lower[:, 1], lower[:, 0]), np.fmax(upper[:, 1], upper[:, 0])
    return lower, upper


def _quantiles(ordered: np.ndarray, level: float) -> np.ndarray:
    """np.quantile's linear interpolation along the last axis of sorted rows, at one level for all."""
    position = min(max(level, 0.0), 1.0) * (ordered.shape[-1] - 1)
    below = int(position)
    above = min(below + 1, ordered.shape[-1] - 1)
    return ordered[..., below] + (ordered[..., above] - ordered[..., below]) * (position - below)


def interval_score(low: np.ndarray, high: np.ndarray, actual: np.ndarray, alpha: float) -> np.ndarray:
    """The interval (Winkler) score: width, plus 2/alpha times the distance by which it missed."""
    return (high - low) + (2 / alpha) * (np.maximum(low - actual, 0) + np.maximum(actual - high, 0))


def candidate_points(last: np.ndarray, paths: np.ndarray) -> np.ndarray:
    """(origins,) last closes and (origins, steps) LSTM paths -> (candidates, origins, steps) points."""
    walk = np.repeat(last[:, None], paths.shape[1], axis=1)
    lstm = np.maximum(paths, EPS)
    return np.stack([walk, lstm, np.sqrt(walk * lstm)])


@dataclass
class ServedBands:
    choice: np.ndarray  # (origins + 1,) index into CANDIDATES served at each origin; the last the next forecast
    low: np.ndarray  # (candidates, levels, origins + 1, steps) band edges in price, as served
    high: np.ndarray
    points: np.ndarray  # (candidates, origins + 1, steps)
    actual: np.ndarray  # (origins + 1, steps) the outcome (nan: not known yet)
    scores: np.ndarray  # (candidates, levels, origins + 1, steps) interval score in % of the price (nan: none)
    window_scores: np.ndarray  # (candidates, origins + 1) the mean score the choice compared
    window_count: np.ndarray  # (origins + 1,) settled outcomes at the farthest step in the window


def served_bands(series: np.ndarray, origins: np.ndarray, paths: np.ndarray, volatility: np.ndarray) -> ServedBands:
    """Every candidate's bands at every origin (the held-out ones, then the next, unseen one, whose
    path is the last row of ``paths``) and step up to ``paths.shape[1]``, and the choice at each."""
    if len(origins) > 1 and np.any(np.diff(origins) != 1):
        raise ValueError("origins must be consecutive trading days")
    n, steps = len(origins), paths.shape[1]
    at = np.append(origins, len(series) - 1)  # the next forecast's origin is the last close
    points = candidate_points(series[at], paths)
    ahead = at[:, None] + np.arange(1, steps + 1)[None, :]
    actual = np.where(ahead < len(series), series[np.minimum(ahead, len(series) - 1)], np.nan)
    scale = volatility[at]
    with np.errstate(invalid="ignore"):
        errors = np.log(actual[None] / points) / scale[None, :, None]  # (C, n + 1, steps)

    levels = list(LEVELS.values())
    per_run = np.broadcast_to(errors[:, None, :n, :], (len(CANDIDATES), len(levels), n, steps))
    tracked = track_quantiles(np.ascontiguousarray(per_run.transpose(0, 1, 3, 2)), levels)
    lower = tracked.lower.transpose(0, 1, 3, 2)  # (C, L, n + 1, steps)
    upper = tracked.upper.transpose(0, 1, 3, 2)
    lower, upper = nest(lower, upper)

    low = points[:, None] * np.exp(lower * scale[None, None, :, None])
    high = points[:, None] * np.exp(upper * scale[None, None, :, None])
    alphas = np.array(levels)[None, :, None, None]
    with np.errstate(invalid="ignore"):
        scores = interval_score(low, high, actual[None, None], alphas) / actual[None, None] * 100

    window_scores, window_count = _window_scores(scores.sum(axis=1))
    eligible = window_count >= MIN_SELECTION
    # The random walk's score is taken SWITCH_MARGIN lower: another candidate is served only when it
    # has been clearly better, not better by noise.
    compared = np.where(np.isnan(window_scores), np.inf, window_scores)
    compared[0] *= 1 - SWITCH_MARGIN
    choice = np.where(eligible, np.argmin(compared, axis=0), 0)
    return ServedBands(choice, low, high, points, actual, scores, window_scores, window_count)


def _window_scores(combined: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate and origin i: the mean of ``combined`` (C, origins + 1, steps) over origins j
    settled by i at each step k (j + k <= i) among the last SELECTION_WINDOW; and how many settled
    outcomes the farthest step has there."""
    candidates, rows, steps = combined.shape
    known = ~np.isnan(combined)
    sums = np.concatenate([np.zeros((candidates, 1, steps)), np.cumsum(np.where(known, combined, 0), axis=1)], axis=1)
    counts = np.concatenate([np.zeros((1, steps)), np.cumsum(known[0], axis=0)], axis=0)
    i = np.arange(rows)[:, None]
    k = np.arange(1, steps + 1)[None, :]
    end = np.clip(i - k + 1, 0, rows)  # exclusive: origins up to i - k are settled
    begin = np.clip(end - SELECTION_WINDOW, 0, rows)
    cols = np.broadcast_to(np.arange(steps), end.shape)
    total = (sums[:, end, cols] - sums[:, begin, cols]).sum(axis=-1)
    count = counts[end, cols] - counts[begin, cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count.sum(axis=-1)
    return mean, count[:, -1]


def step_figures(bands: ServedBands, step: int) -> dict[str, Any]:
    """Coverage, mean width and interval score (in % of the price) at ``step`` days ahead, as served and
    for each candidate, on every held-out origin after the warm-up whose outcome is known."""
    k = step - 1
    held_out = bands.scores.shape[2] - 1
    use = ~np.isnan(bands.scores[0, 0, :held_out, k])
    use &= np.arange(held_out) >= WARMUP
    figures: dict[str, Any] = {"step": step, "evaluated": int(use.sum())}
    if not use.any():
        return figures
    rows = np.nonzero(use)[0]
    served = bands.choice[rows]
    actual = bands.actual[rows, k]
    for name, pick in [("served", served), *((c, np.full(len(rows), j)) for j, c in enumerate(CANDIDATES))]:
        out = figures if name == "served" else figures.setdefault("candidates", {}).setdefault(name, {})
        for li, level in enumerate(LEVELS):
            low, high = bands.low[pick, li, rows, k], bands.high[pick, li, rows, k]
            score = bands.scores[pick, li, rows, k]
            out[f"coverage_{level}"] = _r(np.mean((actual >= low) & (actual <= high)), 4)
            out[f"width_{level}_pct"] = _r(np.mean((high - low) / actual) * 100, 3)
            out[f"winkler_{level}_pct"] = _r(np.mean(score), 3)
    figures["random_walk"] = figures["candidates"].pop("random_walk")
    figures["served_share"] = {c: _r(np.mean(served == j), 4) for j, c in enumerate(CANDIDATES)}
    return figures


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), digits)
