"""Skill against the random walk, with its uncertainty.

Skill is 1 - (a forecast's loss / the random walk's loss) on the same held-out origins: 0 is no
better, 1 is perfect, below 0 is worse. Whether a positive figure is more than luck is the
Diebold-Mariano test (1995) on the loss differential, with the autocovariances up to h - 1 that
overlapping h-day errors carry and Harvey, Leybourne and Newbold's (1997) small-sample correction;
the p-value is two-sided, from the normal distribution (no scipy at serving time; with the 30 or more
origins a forecast needs, Student's t with n - 1 degrees of freedom differs in the third decimal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class DieboldMariano:
    statistic: float | None  # negative: the first forecast's loss is lower
    p_value: float | None  # None when the losses do not differ at all


def diebold_mariano(loss: np.ndarray, reference_loss: np.ndarray, horizon: int = 1) -> DieboldMariano:
    """The test of equal expected loss between a forecast and a reference, over the same origins."""
    d = np.asarray(loss, dtype=np.float64) - np.asarray(reference_loss, dtype=np.float64)
    n = len(d)
    if n < 2:
        return DieboldMariano(None, None)
    centred = d - d.mean()
    autocovariances = [float(centred @ centred) / n]
    autocovariances += [float(centred[lag:] @ centred[:-lag]) / n for lag in range(1, min(horizon, n))]
    variance = (autocovariances[0] + 2 * sum(autocovariances[1:])) / n
    if variance <= 0:
        return DieboldMariano(None, None)
    correction = math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = float(d.mean()) / math.sqrt(variance) * correction
    return DieboldMariano(statistic, math.erfc(abs(statistic) / math.sqrt(2)))


def skill(loss: float, reference_loss: float) -> float | None:
    return None if reference_loss <= 0 else 1.0 - loss / reference_loss


def verdict(point_skill: float | None, test: DieboldMariano, band_skill: dict[str, float | None]) -> tuple[bool, str]:
    """Whether the point forecast has demonstrated skill, and a sentence saying so in words."""
    demonstrated = (
        point_skill is not None and point_skill > 0 and test.p_value is not None and test.p_value < SIGNIFICANCE
    )
    if point_skill is None or test.p_value is None:
        point = "the model's forecast could not be told apart from the random walk's"
    else:
        lower = "lower" if point_skill > 0 else "higher"
        point = (
            f"the model's next-day forecast has a {abs(point_skill) * 100:.1f}% {lower} mean squared error than "
            f"the random walk's (Diebold-Mariano p = {test.p_value:.2f})"
        )
    band = band_skill.get("80")
    if band is None:
        bands = ""
    elif band == 0:
        bands = "; the served 80% band scores the same as the random walk's"
    else:
        better = "better" if band > 0 else "worse"
        bands = f"; the served 80% band scores {abs(band) * 100:.1f}% {better} than the random walk's"
    if demonstrated:
        return True, f"Demonstrated skill: {point}{bands}."
    return False, f"No demonstrated skill: {point}{bands}."
