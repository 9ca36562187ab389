"""One weight at a time: a sweep of one indicator's weight, and each weight moved down and up.

When one weight moves, it takes exactly the value given and the others share the rest in their
proportions (:func:`vary_weight`, the rule of a run's ``weights`` override), so a sweep at 0.3
is the run with that weight at 0.3; :func:`oat` moves every weight by the same step and ranks the
(indicator, unit) pairs by the swing.

>>> r = sweep("models/harbin_2020.toml", "area", [0.1, 0.4])    # from the repository root
>>> r.posts.sum(axis=1).tolist()
[60806, 60806]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.errors import InputError, did_you_mean
from allocator.ordering import natural_key
from allocator.overrides import final_weights
from allocator.studies.batch import StudyModel, fast_allocator


def vary_weight(centre: np.ndarray, k: int, value: float,
                names: Sequence[str] | None = None) -> np.ndarray:
    """Weights with indicator ``k`` at exactly ``value`` (its final share) and the others sharing
    the rest in their proportions in ``centre``: the rule of a run's weight override
    (:func:`allocator.overrides.final_weights`), so a sweep at a value is the run with that
    weight. ``names`` name the indicators in messages.

    >>> vary_weight(np.array([0.5, 0.3, 0.2]), 0, 0.0).round(6).tolist()
    [0.0, 0.6, 0.4]
    """
    names = list(names) if names is not None else [f"indicator {i + 1}" for i in range(len(centre))]
    used = final_weights(dict(zip(names, np.asarray(centre, dtype=float).tolist(), strict=True)),
                         {names[k]: float(value)})
    return np.array([used[name] for name in names])


def sweep_values(start: float, stop: float, steps: int) -> np.ndarray:
    """The weight values of a sweep: ``steps`` evenly spaced from ``start`` to ``stop`` (both
    shares between 0 and 1), rounded to 12 decimals so that 0.3 is the 0.3 a run is given.

    >>> sweep_values(0, 0.6, 4).tolist()
    [0.0, 0.2, 0.4, 0.6]
    >>> sweep_values(0, 1.5, 11)
    Traceback (most recent call last):
    allocator.errors.InputError: stop 1.5: a weight is a share between 0 and 1
    """
    for word, value in (("start", start), ("stop", stop)):
        if not 0 <= value <= 1:
            raise InputError(f"{word} {value:g}: a weight is a share between 0 and 1")
    if steps < 2:
        raise InputError(f"steps {steps}: a sweep needs at least 2 steps")
    return np.round(np.linspace(start, stop, steps), 12)


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Allocations as one weight moves from a value to another (each value its final share; the
    others share the rest in their proportions)."""

    indicator: str
    values: np.ndarray
    weights: np.ndarray
    posts: np.ndarray
    units: pd.DataFrame
    model_value: float = float("nan")  # the indicator's weight at the centre (the run's)
    names: tuple[str, ...] = ()  # all indicators, in the order of the columns of ``weights``
    centre: np.ndarray | None = None  # the weights of the run the sweep starts from

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
        raise InputError("a sweep needs at least two indicators (weights add up to 1)")
    values = np.asarray(list(values), dtype=float)
    if values.size == 0:
        raise InputError("a sweep needs at least one weight value")
    for value in values:
        if not 0 <= value <= 1:
            raise InputError(f"values: {value:g} is not a weight (a share between 0 and 1)")
    k = fast.names.index(indicator)
    w = np.vstack([vary_weight(fast.centre, k, float(v), fast.names) for v in values])
    return SweepResult(indicator=indicator, values=values, weights=w, posts=fast.posts(w),
                       units=fast.unit_frame(), model_value=float(fast.centre[k]),
                       names=fast.names, centre=fast.centre)


@dataclass(frozen=True, eq=False)
class OatResult:
    """Each weight moved down and up by ``delta`` (to exactly its centre value -/+ ``delta``,
    clipped to [0, 1]; the others share the rest in their proportions), one at a time."""

    delta: float
    names: tuple[str, ...]
    base: np.ndarray
    down: np.ndarray  # indicators x units: posts with that weight lowered
    up: np.ndarray
    weights_down: np.ndarray
    weights_up: np.ndarray
    units: pd.DataFrame
    centre: np.ndarray | None = None  # the weights of the base allocation

    def moves(self) -> dict[str, str]:
        """Each indicator's weight as used, e.g. ``{'area': 'area 0.25 → 0.2 / 0.3'}``: the
        centre, then the weight moved down and up."""
        centre = self.centre if self.centre is not None else np.full(len(self.names), np.nan)
        return {name: f"{name} {centre[k]:.4g} → {self.weights_down[k, k]:.4g} / "
                      f"{self.weights_up[k, k]:.4g}" for k, name in enumerate(self.names)}

    def frame(self) -> pd.DataFrame:
        """One row per (indicator, unit): posts and change with the weight down and up."""
        rows = []
        centre = self.centre if self.centre is not None else np.full(len(self.names), np.nan)
        for k, name in enumerate(self.names):
            part = self.units[["id", "label", "group"]].copy()
            part.insert(0, "indicator", name)
            part.insert(1, "weight", centre[k])
            part.insert(2, "weight_down", self.weights_down[k, k])
            part.insert(3, "weight_up", self.weights_up[k, k])
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
    """Move each weight down and up by ``delta`` (clipped to [0, 1]; the others share the rest
    in their proportions, as a run's weight override does), allocate.

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
            value = round(min(max(centre[k] + step, 0.0), 1.0), 12)
            rows[k] = vary_weight(centre, k, value, fast.names)
    base = fast.posts(centre[None, :])[0]
    return OatResult(delta=delta, names=fast.names, base=base, down=fast.posts(down),
                     up=fast.posts(up), weights_down=down, weights_up=up, units=fast.unit_frame(),
                     centre=centre)
