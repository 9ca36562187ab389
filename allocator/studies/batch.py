"""Sensitivity of an allocation to its indicator weights: sweeps, one-at-a-time, Monte Carlo.

Bounds and pools do not depend on the weights, only the targets do, and for this problem's
structure (per-unit bounds and disjoint pools with exact totals) the fair allocation has an exact
closed form, x_i = clip(lambda_pool * t_i, lower_i, upper_i) (see :mod:`allocator.core.fair`). So a
study builds the model once (:class:`FastAllocator`) and then, for a whole batch of weight vectors
at once: targets = C * W @ F^T (F = each indicator's transformed column divided by its sum), the
per-pool water level lambda (exactly, see :func:`batch_water_fill`), and Hamilton rounding with
the same quantisation and tie rule as :func:`allocator.core.rounding.round_pool`. Divisor rounding
methods are applied per scenario with :func:`allocator.core.rounding.round_pool` itself. The tests
check, scenario by scenario, that the whole posts equal those of :func:`allocator.pipeline.allocate.allocate`
(the LP path).

Monte Carlo runs in fixed-size chunks, each seeded from ``numpy.random.SeedSequence(seed)`` by its
index, so results do not depend on ``jobs``; per-unit results are aggregated in exact integer
histograms and running sums, so memory stays flat as the number of scenarios grows (only the
optional samples file grows).

>>> fast = FastAllocator.from_model("models/harbin_2020.toml")   # from the repository root
>>> posts = fast.posts(np.array([[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]]))
>>> posts.shape, posts.sum(axis=1).tolist()
((2, 18), [60806, 60806])
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from allocator.core.problem import Problem
from allocator.core.rounding import QUANTUM_DECIMALS, SNAP, round_pool
from allocator.core.targets import transform
from allocator.errors import InputError
from allocator.ordering import natural_key
from allocator.pipeline.allocate import prepare
from allocator.schema import ModelSpec
from allocator.units import UnitTable

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each chunk of scenarios."""

METHODS = ("sweep", "oat", "montecarlo")
QUANTILES = (("min", 0.0), ("p5", 0.05), ("p50", 0.5), ("p95", 0.95), ("max", 1.0))
INDEX_BINS = 20  # equal-probability classes per weight for the first-order indices
PILOT = 4096  # weight vectors drawn (from their own seed) to place the class edges


# --------------------------------------------------------------------------------------------
# The fast path: many weight vectors, one model
# --------------------------------------------------------------------------------------------


def batch_water_fill(target: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                     total: float, *, iterations: int = 8) -> np.ndarray:
    """Row-wise closed form: x = clip(lambda_r * t_r, lower, upper) with sum(x_r) == total.

    ``target`` is (scenarios, units) and positive; ``lower``/``upper`` (units,) are shared.
    Each row's lambda is found exactly: first by guessing which units sit at a bound, solving
    lambda = (total - their bounds) / (sum of the other targets) and keeping the answer only when
    it puts exactly the guessed units at their bounds (a few rounds); rows that do not settle
    within ``iterations`` rounds are solved by sorting their breakpoints lower/t and upper/t, on
    which sum(clip(lambda * t, lower, upper)) is piecewise linear and continuous.

    >>> batch_water_fill(np.array([[10.0, 30.0, 60.0]]), np.array([20.0, 0, 0]),
    ...                  np.full(3, np.inf), 100).round(6).tolist()
    [[20.0, 26.666667, 53.333333]]
    """
    t = np.asarray(target, dtype=float)
    m = t.shape[0]
    lam = np.full(m, np.nan)
    finite_upper = np.where(np.isfinite(upper), upper, 0.0)
    guess = total / t.sum(axis=1)
    at_low = guess[:, None] * t <= lower
    at_high = (guess[:, None] * t >= upper) & ~at_low
    open_rows = np.arange(m)
    for _ in range(iterations):
        free = ~(at_low | at_high)
        held = (at_low * lower).sum(axis=1) + (at_high * finite_upper).sum(axis=1)
        slope = (free * t[open_rows]).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = (total - held) / slope
        x = new[:, None] * t[open_rows]
        low = x <= lower
        high = (x >= upper) & ~low
        settled = (slope > 0) & (low == at_low).all(axis=1) & (high == at_high).all(axis=1)
        lam[open_rows[settled]] = new[settled]
        keep = ~settled
        open_rows, at_low, at_high = open_rows[keep], low[keep], high[keep]
        if open_rows.size == 0:
            break
    if open_rows.size:
        lam[open_rows] = _sorted_levels(t[open_rows], lower, upper, total)
    return np.clip(lam[:, None] * t, lower, upper)


def _sorted_levels(t: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                   total: float) -> np.ndarray:
    """Each row's lambda from its sorted breakpoints (the general, slower path)."""
    m, p = t.shape
    finite = np.isfinite(upper)
    points = np.concatenate([lower / t, upper / t], axis=1)
    # Event j < p: unit j leaves its lower bound; event p + j: unit j reaches its upper bound.
    d_const = np.concatenate([-lower, np.where(finite, upper, 0.0)])
    d_slope = np.concatenate([t, -np.where(finite, t, 0.0)], axis=1)
    order = np.argsort(points, axis=1, kind="stable")
    flat = order + (2 * p) * np.arange(m)[:, None]
    points = points.ravel()[flat]
    const = lower.sum() + np.cumsum(d_const[order], axis=1)
    slope = np.cumsum(d_slope.ravel()[flat], axis=1)
    with np.errstate(invalid="ignore"):
        value = np.where(np.isfinite(points), const + slope * points, np.inf)
    reached = value >= total - 1e-12 * max(total, 1.0)
    k = np.argmax(reached, axis=1)
    rows = np.arange(m)
    prev = np.maximum(k - 1, 0)
    c, s = const[rows, prev], slope[rows, prev]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(s > 0, (total - c) / s, points[rows, prev])
    return np.where(k == 0, points[:, 0], lam)


def batch_hamilton(exact: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int,
                   key_rank: np.ndarray) -> np.ndarray:
    """Row-wise largest remainder, identical to ``round_pool(..., "hamilton", ids)``.

    Exact values are quantised to 1e-6 posts; each row gets floor values (inside the bounds), then
    one more post for the largest remainders, ties to the larger exact value, then to the unit
    first in natural id order (``key_rank``).

    >>> batch_hamilton(np.array([[1.5, 1.5, 3.0]]), np.zeros(3), np.full(3, np.inf), 6,
    ...                np.array([1, 0, 2])).tolist()
    [[1, 2, 3]]
    """
    e = np.round(np.asarray(exact, dtype=float), QUANTUM_DECIMALS)
    base = np.clip(np.floor(e + SNAP), lower, upper)
    left = np.rint(total - base.sum(axis=1)).astype(np.int64)
    if np.any(left < 0):
        raise ValueError("exact values exceed the pool total")
    keys = np.broadcast_to(key_rank, e.shape)
    order = np.lexsort((keys, -e, -(e - base)), axis=-1)
    room = np.take_along_axis(base < upper, order, axis=1)
    extra = room & (np.cumsum(room, axis=1) <= left[:, None])
    rows = np.arange(e.shape[0])[:, None]
    base[rows, order] += extra
    return base.astype(np.int64)


@dataclass(frozen=True)
class FastAllocator:
    """A model prepared once for the allocation of many weight vectors (closed form).

    ``shares[:, k]`` is indicator k's transformed column divided by its sum, so the targets of a
    batch of normalised weight vectors W (scenarios x indicators) are ``cap * W @ shares.T``.
    """

    spec: ModelSpec
    table: UnitTable
    problem: Problem
    names: tuple[str, ...]
    shares: np.ndarray
    rounding: str
    key_rank: np.ndarray

    @classmethod
    def from_model(cls, model: ModelSpec | str | Path, *, rounding: str | None = None,
                   cap: int | None = None) -> FastAllocator:
        """Load a model (path or spec) once; ``rounding``/``cap`` override the model's."""
        ready = prepare(model, rounding=rounding, cap=cap)
        spec, table, problem = ready.spec, ready.table, ready.problem
        names = tuple(spec.indicators)
        columns = []
        for name in names:
            damped = transform(table.indicators[name], spec.indicators[name].transform)
            columns.append(damped / damped.sum())
        order = sorted(range(len(problem)), key=lambda i: natural_key(problem.ids[i]))
        key_rank = np.empty(len(problem), dtype=np.int64)
        key_rank[order] = np.arange(len(problem))
        return cls(spec=spec, table=table, problem=problem, names=names,
                   shares=np.column_stack(columns), rounding=spec.rounding, key_rank=key_rank)

    @property
    def centre(self) -> np.ndarray:
        """The model's own weights, normalised, in indicator order."""
        weights = self.spec.normalised_weights()
        return np.array([weights[name] for name in self.names])

    def weight_vector(self, weights: dict[str, float]) -> np.ndarray:
        """A dict of weights (by indicator name, missing = 0) as a normalised vector."""
        for name in weights:
            if name not in self.names:
                raise InputError(f"weight '{name}': no such indicator (indicators: "
                                 f"{', '.join(self.names)})")
        w = np.array([float(weights.get(name, 0.0)) for name in self.names])
        if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
            raise InputError("weights must be finite, >= 0 and not all 0")
        return w / w.sum()

    def targets(self, weights: np.ndarray) -> np.ndarray:
        """Targets (scenarios x units) for rows of normalised weights."""
        w = np.atleast_2d(np.asarray(weights, dtype=float))
        t = w @ (self.spec.allocatable_cap * self.shares.T)
        bad = np.argwhere(t <= 0)
        if bad.size:
            row, unit = bad[0]
            shown = ", ".join(f"{n}={v:.4g}" for n, v in zip(self.names, w[row], strict=True))
            raise InputError(f"weights {shown}: unit {self.problem.ids[unit]} is zero on every "
                             "weighted indicator, so its target is 0")
        return t

    def exact(self, weights: np.ndarray) -> np.ndarray:
        """The fair continuous allocation (scenarios x units), by the closed form."""
        t = self.targets(weights)
        x = np.empty_like(t)
        p = self.problem
        for pool in p.pools:
            m = pool.members
            x[:, m] = batch_water_fill(t[:, m], p.lower[m], p.upper[m], pool.total)
        return x

    def posts(self, weights: np.ndarray) -> np.ndarray:
        """Whole posts (scenarios x units, int64), equal to ``allocate(...).posts`` per row."""
        x = self.exact(weights)
        out = np.empty(x.shape, dtype=np.int64)
        p = self.problem
        for pool in p.pools:
            m = pool.members
            if self.rounding == "hamilton":
                out[:, m] = batch_hamilton(x[:, m], p.lower[m], p.upper[m], pool.total,
                                           self.key_rank[m])
            else:
                ids = tuple(p.ids[i] for i in m)
                for r in range(x.shape[0]):
                    out[r, m] = round_pool(x[r, m], p.lower[m], p.upper[m], pool.total,
                                           self.rounding, ids)
        return out

    def unit_frame(self) -> pd.DataFrame:
        """id, label, group and actual of every unit (id order)."""
        n = len(self.table)
        frame = pd.DataFrame({
            "id": list(self.table.ids),
            "label": list(self.table.labels) if self.table.labels else [""] * n,
            "group": list(self.table.groups) if self.table.groups else [""] * n,
            "actual": self.table.actual if self.table.actual is not None else np.full(n, np.nan),
        })
        if self.table.labels_en:
            frame.insert(2, "label_en", list(self.table.labels_en))
        return frame


def _prepare(model: ModelSpec | str | Path | FastAllocator, rounding: str | None = None
             ) -> FastAllocator:
    if isinstance(model, FastAllocator):
        return model
    return FastAllocator.from_model(model, rounding=rounding)


# --------------------------------------------------------------------------------------------
# Sweep and one-at-a-time
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
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


def sweep(model: ModelSpec | str | Path | FastAllocator, indicator: str, values,
          *, rounding: str | None = None) -> SweepResult:
    """Allocation at each value of one indicator's weight; the others keep their proportions.

    >>> r = sweep("models/harbin_2020.toml", "area", [0.1, 0.25, 0.4])
    >>> r.wide().columns.tolist()
    ['id', 'label', '0.1', '0.25', '0.4']
    """
    fast = _prepare(model, rounding)
    if indicator not in fast.names:
        from allocator.errors import did_you_mean

        raise InputError(f"--indicator {indicator}: no such indicator"
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


@dataclass(frozen=True)
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


def oat(model: ModelSpec | str | Path | FastAllocator, delta: float,
        *, rounding: str | None = None) -> OatResult:
    """Move each weight down and up by ``delta`` (clipped to [0, 1]), renormalise, allocate.

    >>> top = oat("models/harbin_2020.toml", 0.05).largest(5)
    >>> len(top), bool(top["swing"].is_monotonic_decreasing)
    (5, True)
    """
    if not 0 < delta < 1:
        raise InputError(f"--delta {delta:g}: must lie strictly between 0 and 1")
    fast = _prepare(model, rounding)
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


# --------------------------------------------------------------------------------------------
# Monte Carlo on the simplex
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonteCarloOptions:
    """How to sample weight vectors and summarise the allocations.

    ``concentration`` K gives a Dirichlet with alpha = K * w centred on the weights ``around``
    (default: the model's); indicators whose centre weight is 0 stay at 0. ``uniform`` samples
    the whole simplex instead. ``confidence`` is the share of scenarios that must agree for the
    verdict ``over``/``under``.
    """

    samples: int = 1000
    concentration: float = 50.0
    uniform: bool = False
    seed: int = 0
    confidence: float = 0.95
    jobs: int = 1
    around: dict[str, float] | None = None
    chunk_size: int | None = None

    def check(self) -> None:
        """Raise :class:`InputError` for options that cannot work."""
        if self.samples < 1:
            raise InputError(f"--samples {self.samples}: must be at least 1")
        if not self.uniform and not (self.concentration > 0 and math.isfinite(self.concentration)):
            raise InputError(f"--concentration {self.concentration:g}: must be a finite number > 0")
        if not 0.5 < self.confidence <= 1:
            raise InputError(f"--confidence {self.confidence:g}: must lie in (0.5, 1]")
        if self.jobs == 0 or self.jobs < -1:
            raise InputError(f"--jobs {self.jobs}: use a positive number, or -1 for all cores")
        if self.seed < 0:
            raise InputError(f"--seed {self.seed}: must be >= 0")


def chunk_size_for(units: int) -> int:
    """Scenarios per chunk: fixed by the model size alone, so results never depend on ``jobs``."""
    return int(max(16, min(2048, 2**19 // max(units, 1))))


def _alpha(centre: np.ndarray, options: MonteCarloOptions) -> np.ndarray:
    if options.uniform:
        return np.ones(centre.size)
    return options.concentration * centre


def _draw(alpha: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Dirichlet draws; components with alpha 0 are 0. Rows are normalised like the model's."""
    w = np.zeros((size, alpha.size))
    live = alpha > 0
    w[:, live] = rng.dirichlet(alpha[live], size=size)
    return w / w.sum(axis=1, keepdims=True)


def _chunk(fast: FastAllocator, alpha: np.ndarray, seed: int, index: int, size: int):
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    w = _draw(alpha, rng, size)
    return w, fast.posts(w)


class _Histograms:
    """Exact counts of each unit's integer allocations: memory bounded by the range of values."""

    def __init__(self, units: int):
        self.offset = np.zeros(units, dtype=np.int64)
        self.counts: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in range(units)]

    def add(self, posts: np.ndarray) -> None:
        lows, highs = posts.min(axis=0), posts.max(axis=0)
        for i in range(posts.shape[1]):
            counts = self.counts[i]
            if counts.size == 0:
                self.offset[i], counts = lows[i], np.zeros(highs[i] - lows[i] + 1, dtype=np.int64)
            if lows[i] < self.offset[i]:
                counts = np.concatenate([np.zeros(self.offset[i] - lows[i], dtype=np.int64),
                                         counts])
                self.offset[i] = lows[i]
            top = self.offset[i] + counts.size - 1
            if highs[i] > top:
                counts = np.concatenate([counts, np.zeros(highs[i] - top, dtype=np.int64)])
            counts += np.bincount(posts[:, i] - self.offset[i], minlength=counts.size)
            self.counts[i] = counts

    def quantile(self, q: float) -> np.ndarray:
        """Per unit, the smallest value v with share(<= v) >= q (numpy's ``inverted_cdf``)."""
        out = np.empty(len(self.counts))
        for i, counts in enumerate(self.counts):
            cum = np.cumsum(counts)
            need = max(q * cum[-1], 1)
            out[i] = self.offset[i] + int(np.searchsorted(cum, need - 1e-9 * cum[-1], "left"))
        return out

    def share(self, actual: np.ndarray, above: bool) -> np.ndarray:
        """Per unit, the share of scenarios with allocation above (or below) ``actual``."""
        out = np.empty(len(self.counts))
        for i, counts in enumerate(self.counts):
            values = self.offset[i] + np.arange(counts.size)
            hit = values > actual[i] if above else values < actual[i]
            out[i] = counts[hit].sum() / counts.sum()
        return out


class _Indices:
    """First-order sensitivity indices from given samples (correlation ratio, binned):
    S_k = Var(E[Y | w_k]) / Var(Y), with equal-probability classes of w_k. Running sums only."""

    def __init__(self, edges: np.ndarray, units: int):
        self.edges = edges  # indicators x (bins - 1) inner edges; NaN row = constant weight
        k, b = edges.shape[0], edges.shape[1] + 1
        self.count = np.zeros((k, b))
        self.sum = np.zeros((k, b, units))
        self.total = np.zeros(units)
        self.total_sq = np.zeros(units)
        self.n = 0

    def add(self, w: np.ndarray, posts: np.ndarray) -> None:
        y = posts.astype(float)
        self.n += y.shape[0]
        self.total += y.sum(axis=0)
        self.total_sq += (y * y).sum(axis=0)
        for k in range(w.shape[1]):
            if np.isnan(self.edges[k]).any():
                continue
            cls = np.searchsorted(self.edges[k], w[:, k], side="right")
            self.count[k] += np.bincount(cls, minlength=self.count.shape[1])
            n = y.shape[1]
            cells = (cls[:, None] * n + np.arange(n)).ravel()
            self.sum[k] += np.bincount(cells, weights=y.ravel(),
                                       minlength=self.sum[k].size).reshape(self.sum[k].shape)

    def first_order(self) -> np.ndarray:
        """indicators x units; NaN where the weight or the allocation does not vary."""
        mean = self.total / self.n
        var = self.total_sq / self.n - mean**2
        out = np.full((self.edges.shape[0], mean.size), np.nan)
        for k in range(self.edges.shape[0]):
            if np.isnan(self.edges[k]).any():
                continue
            filled = self.count[k] > 0
            cmean = self.sum[k][filled] / self.count[k][filled, None]
            between = (self.count[k][filled, None] * (cmean - mean) ** 2).sum(axis=0) / self.n
            with np.errstate(divide="ignore", invalid="ignore"):
                out[k] = np.where(var > 1e-9 * np.maximum(mean**2, 1), between / var, np.nan)
        return np.clip(out, 0.0, 1.0)


def _index_edges(alpha: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 - 1,)))
    pilot = _draw(alpha, rng, PILOT)
    qs = np.linspace(0, 1, INDEX_BINS + 1)[1:-1]
    edges = np.quantile(pilot, qs, axis=0).T
    edges[alpha <= 0] = np.nan
    return edges


@dataclass(frozen=True)
class MonteCarloResult:
    """Per-unit summary of N sampled weight vectors (nothing per scenario is kept)."""

    options: MonteCarloOptions
    names: tuple[str, ...]
    centre: np.ndarray
    alpha: np.ndarray
    summary: pd.DataFrame
    indices: pd.DataFrame
    samples_written: int = 0


def _rank(posts: np.ndarray) -> np.ndarray:
    """1 = most posts; ties by unit order (natural id order)."""
    order = np.argsort(-posts, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, posts.shape[1] + 1)[None, :], axis=1)
    return ranks


def _chunks(fast: FastAllocator, alpha: np.ndarray, options: MonteCarloOptions
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    size = options.chunk_size or chunk_size_for(len(fast.problem))
    sizes = [min(size, options.samples - start) for start in range(0, options.samples, size)]
    if options.jobs == 1 or len(sizes) == 1:
        for index, count in enumerate(sizes):
            yield _chunk(fast, alpha, options.seed, index, count)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=options.jobs, return_as="generator")
    yield from parallel(delayed(_chunk)(fast, alpha, options.seed, index, count)
                        for index, count in enumerate(sizes))


def samples_header(names: tuple[str, ...], ids: tuple[str, ...]) -> str:
    """Header of ``montecarlo_samples.csv``: scenario, w_<indicator>..., <unit id>..."""
    from allocator.outputs.cells import neutralise

    cells = ["scenario", *(f"w_{n}" for n in names), *(str(neutralise(i)) for i in ids)]
    return ",".join(_csv_cell(c) for c in cells) + "\n"


def _csv_cell(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def _samples_rows(first: int, w: np.ndarray, posts: np.ndarray) -> str:
    # Weights with 17 significant digits: feeding them back reproduces the scenario exactly.
    lines = []
    for r in range(w.shape[0]):
        weights = ",".join(repr(float(v)) for v in w[r])
        lines.append(f"{first + r},{weights},{','.join(map(str, posts[r].tolist()))}\n")
    return "".join(lines)


def montecarlo(model: ModelSpec | str | Path | FastAllocator,
               options: MonteCarloOptions = MonteCarloOptions(), *,
               samples_path: Path | None = None, progress: Progress | None = None,
               rounding: str | None = None) -> MonteCarloResult:
    """Allocate N weight vectors sampled on the simplex and summarise each unit's allocation.

    ``samples_path``: stream one row per scenario there (the only output that grows with N).
    ``progress(done, total)`` is called after each chunk.

    >>> mc = montecarlo("models/harbin_2020.toml", MonteCarloOptions(samples=2000))
    >>> s = mc.summary
    >>> bool(((s["alloc_p5"] <= s["alloc_p50"]) & (s["alloc_p50"] <= s["alloc_p95"])).all())
    True
    """
    options.check()
    fast = _prepare(model, rounding)
    centre = fast.weight_vector(options.around) if options.around else fast.centre
    alpha = _alpha(centre, options)
    n = len(fast.problem)
    hist = _Histograms(n)
    indices = _Indices(_index_edges(alpha, options.seed), n)
    base = fast.posts(centre[None, :])[0]
    base_rank = _rank(base[None, :])[0]
    rank_min = np.full(n, n + 1)
    rank_max = np.zeros(n, dtype=np.int64)
    rank_same = np.zeros(n, dtype=np.int64)
    done = 0
    with contextlib.ExitStack() as stack:
        handle = None
        if samples_path:
            handle = stack.enter_context(open(samples_path, "w", encoding="utf-8", newline=""))
            handle.write(samples_header(fast.names, fast.problem.ids))
        for w, posts in _chunks(fast, alpha, options):
            hist.add(posts)
            indices.add(w, posts)
            ranks = _rank(posts)
            rank_min = np.minimum(rank_min, ranks.min(axis=0))
            rank_max = np.maximum(rank_max, ranks.max(axis=0))
            rank_same += (ranks == base_rank).sum(axis=0)
            if handle:
                handle.write(_samples_rows(done + 1, w, posts))
            done += w.shape[0]
            if progress:
                progress(done, options.samples)
    summary = fast.unit_frame()
    summary["base"] = base
    for label, q in QUANTILES:
        summary[f"alloc_{label}"] = hist.quantile(q).astype(np.int64)
    actual = fast.table.actual
    if actual is not None:
        for label, _ in QUANTILES:
            summary[f"diff_{label}"] = summary[f"alloc_{label}"] - actual
        above, below = hist.share(actual, True), hist.share(actual, False)
        summary["share_above_actual"] = above
        summary["share_below_actual"] = below
        summary["verdict"] = np.where(below >= options.confidence - 1e-12, "over",
                                      np.where(above >= options.confidence - 1e-12, "under",
                                               "depends"))
    summary["rank_base"] = base_rank
    summary["rank_min"] = rank_min
    summary["rank_max"] = rank_max
    summary["rank_same_share"] = rank_same / done
    s1 = indices.first_order()
    index_frame = fast.unit_frame()[["id", "label", "group"]]
    for k, name in enumerate(fast.names):
        index_frame[f"s1_{name}"] = s1[k]
    return MonteCarloResult(options=options, names=fast.names, centre=centre, alpha=alpha,
                            summary=summary, indices=index_frame,
                            samples_written=done if samples_path else 0)


# --------------------------------------------------------------------------------------------
# One call for the command line: compute, write files and charts atomically
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitivityOptions:
    """Everything ``allocator sensitivity`` needs, bundled."""

    method: Literal["sweep", "oat", "montecarlo"] = "montecarlo"
    indicator: str | None = None
    start: float = 0.0
    stop: float = 1.0
    steps: int = 11
    delta: float = 0.05
    montecarlo: MonteCarloOptions = MonteCarloOptions()
    save_samples: bool = False
    rounding: str | None = None
    charts: bool = True
    top: int = 15


@dataclass(frozen=True)
class StudyOutput:
    """What a study wrote and the result behind it."""

    out_dir: Path
    files: tuple[str, ...]
    result: SweepResult | OatResult | MonteCarloResult


def _csv_writer(frame: pd.DataFrame):
    from allocator.outputs.cells import FLOAT_FORMAT, neutralise_frame

    frame = neutralise_frame(frame)  # every text cell, e.g. label_en and indicator names too
    for column in frame.columns:  # whole posts print as whole numbers
        values = frame[column]
        if (column in ("actual", "difference") or column.startswith("diff_")) \
                and values.dtype.kind == "f" and (values.dropna() % 1 == 0).all():
            frame[column] = values.round().astype("Int64")
    text = frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return lambda path: path.write_text(text, encoding="utf-8", newline="")


def study_files(model: ModelSpec | str | Path | FastAllocator, options: SensitivityOptions,
                *, progress: Progress | None = None
                ) -> tuple[dict[str, Callable[[Path], None]], Callable[[], object]]:
    """The files of one study (name -> writer) and a function that returns its result.

    A Monte Carlo study that saves its samples runs while its samples file is written (the
    first writer), so that nothing per scenario is held in memory.
    """
    if options.method not in METHODS:
        raise InputError(f"--method {options.method}: use one of {', '.join(METHODS)}")
    fast = _prepare(model, options.rounding)
    title = fast.spec.name
    files: dict[str, Callable[[Path], None]] = {}
    holder: dict[str, object] = {}
    if options.method == "sweep":
        if options.indicator is None:
            raise InputError("--method sweep needs --indicator NAME")
        if options.steps < 2:
            raise InputError(f"--steps {options.steps}: a sweep needs at least 2 steps")
        result = sweep(fast, options.indicator,
                       np.linspace(options.start, options.stop, options.steps))
        holder["result"] = result
        files["sweep.csv"] = _csv_writer(result.frame())
        if options.charts:
            from allocator.report.study_charts import sweep_chart

            files["sweep.png"] = lambda p: sweep_chart(result, title, p, top=options.top)
    elif options.method == "oat":
        result = oat(fast, options.delta)
        holder["result"] = result
        files["oat.csv"] = _csv_writer(result.frame())
        if options.charts:
            from allocator.report.study_charts import tornado_chart

            files["tornado.png"] = lambda p: tornado_chart(result, title, p, top=options.top)
    else:
        options.montecarlo.check()

        def compute(path: Path | None) -> None:
            holder["result"] = montecarlo(fast, options.montecarlo, samples_path=path,
                                          progress=progress)

        if options.save_samples:
            files["montecarlo_samples.csv"] = compute
        else:
            compute(None)
        files["montecarlo_summary.csv"] = lambda p: _csv_writer(holder["result"].summary)(p)
        files["montecarlo_indices.csv"] = lambda p: _csv_writer(holder["result"].indices)(p)
        if options.charts:
            from allocator.report.study_charts import band_chart

            files["montecarlo_bands.png"] = lambda p: band_chart(holder["result"], title, p,
                                                                 top=options.top)
    return files, lambda: holder["result"]


def run_study(model: ModelSpec | str | Path, options: SensitivityOptions, out_dir: Path,
              *, progress: Progress | None = None, force: bool = False) -> StudyOutput:
    """Run one sensitivity study and write its CSV files and charts into ``out_dir`` at once.

    Files: ``sweep.csv`` + ``sweep.png``; ``oat.csv`` + ``tornado.png``; or
    ``montecarlo_summary.csv``, ``montecarlo_indices.csv``, ``montecarlo_bands.png`` and, with
    ``save_samples``, ``montecarlo_samples.csv``. Nothing is written if anything fails.

    >>> import tempfile
    >>> out = run_study("models/harbin_2020.toml", SensitivityOptions(method="oat", charts=False),
    ...                 Path(tempfile.mkdtemp()) / "oat")
    >>> out.files, (out.out_dir / "oat.csv").exists()
    (('oat.csv',), True)
    """
    from allocator.outputs.folders import write_files

    files, result = study_files(model, options, progress=progress)
    written = write_files(out_dir, files, force=force)
    return StudyOutput(written, tuple(files), result())
