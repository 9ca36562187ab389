"""One weight at a time: a sweep of one indicator's weight, and each weight moved down and up.

When one weight moves, the others keep their proportions (:func:`vary_weight`), so a sweep shows
what that one indicator does to the allocation; :func:`oat` moves every weight by the same step
and ranks the (indicator, unit) pairs by the swing.

>>> r = sweep("models/harbin_2020.toml", "area", [0.1, 0.4])    # from the repository root
>>> r.posts.sum(axis=1).tolist()
[60806, 60806]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.errors import InputError, did_you_mean
from allocator.ordering import natural_key
from allocator.studies.batch import StudyModel, fast_allocator


def vary_weight(centre: np.ndarray, k: int, value: float) -> np.ndarray:
    """Weights with indicator ``k`` at ``value`` and the others keeping their proportions.

    >>> vary_weight(np.array([0.5, 0.3, 0.2]), 0, 0.0).round(6).tolist()
    [0.0, 0.6, 0.4]
    """
    if not 0 <= value <= 1:
        raise InputError(f"a weight must lie between 0 and 1, not {value:g}")
    others = np.delete(centre, k)
    # When every other weight is 0 there is no proportion to keep: they share equally.
    others = others / others.sum() if others.sum() > 0 else np.full(others.size, 1.0 / others.size)
    w = np.insert(others * (1.0 - value), k, value)
    return w / w.sum()


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Allocations as one weight moves from a value to another (others keep proportions)."""

    indicator: str
    values: np.ndarray
    weights: np.ndarray
    posts: np.ndarray
    units: pd.DataFrame
    model_value: float = float("nan")  # the indicator's weight in the model
    names: tuple[str, ...] = ()  # all indicators, in the order of the columns of ``weights``

    def frame(self) -> pd.DataFrame:
        """Long table: one row per (step, unit) with the weights of the step."""
        rows = []
        for s, value in enumerate(self.values):
            part = self.units.copy()
            part.insert(0, "step", s + 1)
            part.insert(1, "value", value)
            for k, name in enumerate(self.names):
                part.insert(2 + k, f"w_{name}", self.weights[s, k])
            part["allocation"] = self.posts[s]
            part["difference"] = self.posts[s] - part["actual"]
            rows.append(part)
        return pd.concat(rows, ignore_index=True)

    def wide(self, top: int | None = None) -> pd.DataFrame:
        """One row per unit, one column per step value; with ``top``, only the units that move
        most (largest max - min), in id order."""
        table = pd.DataFrame(self.posts.T, columns=[f"{v:.3g}" for v in self.values])
        table.insert(0, "id", self.units["id"])
        table.insert(1, "label", self.units["label"])
        if top is not None and top < len(table):
            swing = self.posts.max(axis=0) - self.posts.min(axis=0)
            keys = [natural_key(i) for i in self.units["id"]]
            keep = sorted(range(len(table)), key=lambda i: (-swing[i], keys[i]))[:top]
            table = table.iloc[sorted(keep)].reset_index(drop=True)
        return table


def sweep(model: StudyModel, indicator: str, values: Iterable[float],
          *, rounding: str | None = None) -> SweepResult:
    """Allocation at each value of one indicator's weight; the others keep their proportions.

    >>> r = sweep("models/harbin_2020.toml", "area", [0.1, 0.25, 0.4])
    >>> r.wide().columns.tolist()
    ['id', 'label', '0.1', '0.25', '0.4']
    """
    fast = fast_allocator(model, rounding)
    if indicator not in fast.names:
        raise InputError(f"indicator '{indicator}': no such indicator"
                         f"{did_you_mean(indicator, fast.names)} (indicators: "
                         f"{', '.join(fast.names)})")
    if len(fast.names) < 2:
        raise InputError("a sweep needs at least two indicators (weights are normalised)")
    values = np.asarray(list(values), dtype=float)
    if values.size == 0:
        raise InputError("a sweep needs at least one weight value")
    k = fast.names.index(indicator)
    w = np.vstack([vary_weight(fast.centre, k, float(v)) for v in values])
    return SweepResult(indicator=indicator, values=values, weights=w, posts=fast.posts(w),
                       units=fast.unit_frame(), model_value=float(fast.centre[k]),
                       names=fast.names)


@dataclass(frozen=True, eq=False)
class OatResult:
    """Each weight moved down and up by ``delta`` (then renormalised), one at a time."""

    delta: float
    names: tuple[str, ...]
    base: np.ndarray
    down: np.ndarray  # indicators x units: posts with that weight lowered
    up: np.ndarray
    weights_down: np.ndarray
    weights_up: np.ndarray
    units: pd.DataFrame

    def frame(self) -> pd.DataFrame:
        """One row per (indicator, unit): posts and change with the weight down and up."""
        rows = []
        for k, name in enumerate(self.names):
            part = self.units[["id", "label", "group"]].copy()
            part.insert(0, "indicator", name)
            part.insert(1, "weight_down", self.weights_down[k, k])
            part.insert(2, "weight_up", self.weights_up[k, k])
            part["base"] = self.base
            part["allocation_down"] = self.down[k]
            part["allocation_up"] = self.up[k]
            part["change_down"] = self.down[k] - self.base
            part["change_up"] = self.up[k] - self.base
            part["swing"] = np.abs(self.up[k] - self.down[k])
            rows.append(part)
        return pd.concat(rows, ignore_index=True)

    def largest(self, count: int = 15) -> pd.DataFrame:
        """The (indicator, unit) pairs with the largest swings, largest first (ties by id)."""
        frame = self.frame()
        frame["_key"] = frame["id"].map(natural_key)
        frame = frame.sort_values(["swing", "_key", "indicator"], ascending=[False, True, True],
                                  kind="stable")
        return frame.drop(columns="_key").head(count).reset_index(drop=True)


def oat(model: StudyModel, delta: float,
        *, rounding: str | None = None) -> OatResult:
    """Move each weight down and up by ``delta`` (clipped to [0, 1]), renormalise, allocate.

    >>> top = oat("models/harbin_2020.toml", 0.05).largest(5)
    >>> len(top), bool(top["swing"].is_monotonic_decreasing)
    (5, True)
    """
    if not 0 < delta < 1:
        raise InputError(f"delta {delta:g}: must lie strictly between 0 and 1")
    fast = fast_allocator(model, rounding)
    centre = fast.centre
    k_count = len(fast.names)
    down, up = np.empty((k_count, k_count)), np.empty((k_count, k_count))
    for k in range(k_count):
        for rows, step in ((down, -delta), (up, delta)):
            w = centre.copy()
            w[k] = min(max(w[k] + step, 0.0), 1.0)
            if w.sum() <= 0:
                w[k] = 0.0
                w = np.where(np.arange(k_count) == k, 0.0, 1.0)
            rows[k] = w / w.sum()
    base = fast.posts(centre[None, :])[0]
    return OatResult(delta=delta, names=fast.names, base=base, down=fast.posts(down),
                     up=fast.posts(up), weights_down=down, weights_up=up, units=fast.unit_frame())
