"""The fast path of the studies: one model, many weight vectors, whole posts for each at once.

Bounds and pools do not depend on the weights, only the targets do, and for this problem's
structure (per-unit bounds and disjoint pools with exact totals) the fair allocation has an exact
closed form, x_i = clip(lambda_pool * t_i, lower_i, upper_i) (see :mod:`allocator.core.fair`). So a
study builds the model once (:class:`FastAllocator`) and then, for a whole batch of weight vectors
at once: targets = C * W @ F^T (F = each indicator's transformed column divided by its sum), the
per-pool water level lambda (exactly, see :func:`batch_water_fill`), and Hamilton rounding with
the same quantisation and tie rule as :func:`allocator.core.rounding.round_pool`. Divisor rounding
methods (which apportion the targets) are applied per scenario with
:func:`allocator.core.rounding.round_pool` itself. The tests
check, scenario by scenario, that the whole posts equal those of
:func:`allocator.pipeline.allocate.allocate` (the LP path).

A model with general constraints (bounded groups, equal-cut rules, named constraints) has no
closed form in general: :attr:`FastAllocator.closed_form` is False, and each scenario whose closed
form breaks a constraint is solved by the LP sequence (:func:`allocator.core.fair.solve_fair`) and
its whole posts repaired like a run's (:func:`allocator.core.repair.round_within_constraints`):
correct, and slower (see ``benchmarks/bench_constraints.py``).

>>> fast = FastAllocator.from_model("models/harbin_2020.toml")   # from the repository root
>>> posts = fast.posts(np.array([[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]]))
>>> posts.shape, posts.sum(axis=1).tolist()
((2, 18), [60806, 60806])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.choices import Rounding
from allocator.core.fair import solve_fair
from allocator.core.problem import Problem
from allocator.core.repair import round_within_constraints
from allocator.core.rounding import batch_hamilton, round_pool, rounded_values
from allocator.core.targets import transform
from allocator.errors import InputError
from allocator.ordering import natural_key
from allocator.overrides import Overrides, final_weights
from allocator.pipeline.allocate import prepare
from allocator.schema import ModelSpec, load_model
from allocator.units import UnitTable


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
    bounded = bool(np.isfinite(upper).any())
    finite_upper = np.where(np.isfinite(upper), upper, 0.0)
    guess = total / t.sum(axis=1)
    buffer = np.empty_like(t)  # one scratch array for the products: fewer fresh allocations
    x = np.multiply(guess[:, None], t, out=buffer)
    at_low = x <= lower
    at_high = _at_high(x, upper, at_low, bounded, guess)
    open_rows = np.arange(m)
    for _ in range(iterations):
        rows = t if open_rows.size == m else t[open_rows]
        work = buffer[:open_rows.size]
        held = np.multiply(at_low, lower, out=work).sum(axis=1)
        if at_high is not None:
            held = held + np.multiply(at_high, finite_upper, out=work).sum(axis=1)
        free = ~(at_low | at_high) if at_high is not None else ~at_low
        slope = np.multiply(free, rows, out=work).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = (total - held) / slope
        x = np.multiply(new[:, None], rows, out=work)
        low = x <= lower
        high = _at_high(x, upper, low, bounded, new)
        settled = (slope > 0) & (low == at_low).all(axis=1)
        if high is not None or at_high is not None:
            settled &= (_or_none(high, low) == _or_none(at_high, at_low)).all(axis=1)
        lam[open_rows[settled]] = new[settled]
        keep = ~settled
        if keep.all():
            at_low, at_high = low, high
        else:
            open_rows, at_low = open_rows[keep], low[keep]
            at_high = None if high is None else high[keep]
        if open_rows.size == 0:
            break
    if open_rows.size:
        lam[open_rows] = _sorted_levels(t[open_rows], lower, upper, total)
    return np.clip(np.multiply(lam[:, None], t, out=buffer), lower, upper, out=buffer)


def _at_high(x: np.ndarray, upper: np.ndarray, low: np.ndarray, bounded: bool,
             level: np.ndarray) -> np.ndarray | None:
    """Units at their upper bound (not also at their lower one); None when there is none: no
    finite upper bound and every row's level finite."""
    if bounded:
        return (x >= upper) & ~low
    odd = ~np.isfinite(level)
    if not odd.any():
        return None
    high = np.zeros(x.shape, dtype=bool)
    high[odd] = (x[odd] >= upper) & ~low[odd]
    return high


def _or_none(high: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros(like.shape, dtype=bool) if high is None else high


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


@dataclass(frozen=True, eq=False)
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
    overrides: Overrides = field(default_factory=Overrides)
    model_weights: tuple[float, ...] = ()  # the model file's weights, normalised

    @classmethod
    def from_model(cls, model: ModelSpec | str | Path, overrides: Overrides | None = None, *,
                   rounding: str | None = None, cap: int | None = None) -> FastAllocator:
        """Load a model (path or spec) once, with ``overrides`` (weights, cap, rounding, group
        totals, as for a run); ``rounding``/``cap`` override the model's too. The study's centre
        is then the weights the run with these overrides uses."""
        given = overrides or Overrides()
        if rounding is not None:
            given = replace(given, rounding=rounding)
        if cap is not None:
            given = replace(given, cap=cap)
        original = model if isinstance(model, ModelSpec) else load_model(model)
        ready = prepare(original, given)
        spec, table, problem = ready.spec, ready.table, ready.problem
        names = tuple(spec.indicators)
        columns = []
        for name in names:
            damped = transform(table.indicators[name], spec.indicators[name].transform)
            columns.append(damped / damped.sum())
        order = sorted(range(len(problem)), key=lambda i: natural_key(problem.ids[i]))
        key_rank = np.empty(len(problem), dtype=np.int64)
        key_rank[order] = np.arange(len(problem))
        base = original.normalised_weights()
        return cls(spec=spec, table=table, problem=problem, names=names,
                   shares=np.column_stack(columns), rounding=spec.rounding, key_rank=key_rank,
                   overrides=given, model_weights=tuple(base[name] for name in names))

    @property
    def centre(self) -> np.ndarray:
        """The weights of a run of the model with the study's overrides, in indicator order:
        the centre of every study."""
        weights = self.spec.normalised_weights()
        return np.array([weights[name] for name in self.names])

    def weight_vector(self, weights: Mapping[str, float]) -> np.ndarray:
        """Weights given by indicator name as a run takes them (each named one its final share,
        the others sharing the rest in the proportions of :attr:`centre`), as a vector.

        >>> fast = FastAllocator.from_model("models/harbin_2020.toml")
        >>> fast.weight_vector({"area": 0.3}).round(4).tolist()
        [0.42, 0.14, 0.3, 0.14]
        """
        centre = dict(zip(self.names, self.centre.tolist(), strict=True))
        used = final_weights(centre, weights)
        return np.array([used[name] for name in self.names])

    def targets(self, weights: np.ndarray) -> np.ndarray:
        """Targets (scenarios x units) for rows of normalised weights."""
        w = np.atleast_2d(np.asarray(weights, dtype=float))
        t = w @ (self.spec.allocatable_cap * self.shares.T)
        if (t <= 0).any():
            row, unit = np.argwhere(t <= 0)[0]
            shown = ", ".join(f"{n}={v:.4g}" for n, v in zip(self.names, w[row], strict=True))
            raise InputError(f"weights {shown}: unit {self.problem.ids[unit]} is zero on every "
                             "weighted indicator, so its target is 0")
        return t

    @property
    def closed_form(self) -> bool:
        """Whether every scenario has the closed form (no general constraints in the model)."""
        return not self.problem.constraints

    def scenario(self, target: np.ndarray) -> Problem:
        """The model's problem with one scenario's targets."""
        return replace(self.problem, target=np.asarray(target, dtype=float))

    def exact(self, weights: np.ndarray) -> np.ndarray:
        """The fair continuous allocation (scenarios x units): the closed form, or the LP sequence
        for a scenario whose closed form breaks a general constraint."""
        t = self.targets(weights)
        p = self.problem
        if len(p.pools) == 1 and _everyone(p.pools[0].members, len(p)):
            x = batch_water_fill(t, p.lower, p.upper, p.pools[0].total)
        else:
            x = np.empty_like(t)
            for pool in p.pools:
                m = pool.members
                x[:, m] = batch_water_fill(t[:, m], p.lower[m], p.upper[m], pool.total)
        if not self.closed_form:
            for r in range(x.shape[0]):
                if p.violated(x[r]):
                    x[r] = solve_fair(self.scenario(t[r]), self.spec.solver).exact
        return x

    def posts(self, weights: np.ndarray) -> np.ndarray:
        """Whole posts (scenarios x units, int64), equal to ``allocate(...).posts`` per row."""
        x = self.exact(weights)
        p = self.problem
        t = x if self.rounding == Rounding.HAMILTON else self.targets(weights)
        if (self.rounding == Rounding.HAMILTON and len(p.pools) == 1
                and _everyone(p.pools[0].members, len(p))):
            out = batch_hamilton(x, p.lower, p.upper, p.pools[0].total, self.key_rank)
        else:
            out = np.empty(x.shape, dtype=np.int64)
            for pool in p.pools:
                m = pool.members
                if self.rounding == Rounding.HAMILTON:
                    out[:, m] = batch_hamilton(x[:, m], p.lower[m], p.upper[m], pool.total,
                                               self.key_rank[m])
                else:
                    ids = tuple(p.ids[i] for i in m)
                    values = rounded_values(self.rounding, x[:, m], t[:, m])
                    for r in range(x.shape[0]):
                        out[r, m] = round_pool(values[r], p.lower[m], p.upper[m], pool.total,
                                               self.rounding, ids)
        if not self.closed_form:
            self._repair(weights, x, out)
        return out

    def _repair(self, weights: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
        """Re-round, with the integer repair, each scenario whose whole posts break a general
        constraint (in place)."""
        t = self.targets(weights)
        for r in range(x.shape[0]):
            if self.problem.violated(out[r].astype(float)):
                out[r] = round_within_constraints(self.scenario(t[r]), x[r], self.rounding,
                                                  self.spec.solver)[0]

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


def _everyone(members: np.ndarray, units: int) -> bool:
    """Whether a pool holds every unit in order (then its columns need no copying)."""
    return members.size == units and bool(np.array_equal(members, np.arange(units)))


StudyModel = ModelSpec | str | Path | FastAllocator
"""What a study starts from: a model file, a model, or a model already prepared."""


def fast_allocator(model: StudyModel, rounding: str | None = None, *,
                   overrides: Overrides | None = None) -> FastAllocator:
    """``model`` prepared for many weight vectors, with ``overrides`` as for a run (as is when it
    already is a FastAllocator)."""
    if isinstance(model, FastAllocator):
        return model
    return FastAllocator.from_model(model, overrides, rounding=rounding)
