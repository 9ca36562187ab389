"""Certificate of a fair allocation: how far it is from the optimality conditions, in numbers.

With per-unit bounds and disjoint pools with exact totals, an allocation is the lexicographic
min-max of |x_i/t_i - 1| exactly when it meets every bound and total and, in each pool, there is
one ratio lambda such that every unit that no bound holds gets x_i = lambda * t_i, every unit held
at its lower bound would get less at that ratio (lower_i / t_i >= lambda: the bound forces it up)
and every unit held at its upper bound more (upper_i / t_i <= lambda). That is
x_i = clip(lambda * t_i, lower_i, upper_i), the closed form (:mod:`allocator.core.waterfill`).
Checking it costs one pass over the units, against a sequence of LPs to find it otherwise.

>>> import numpy as np
>>> from allocator.core.problem import Pool, Problem
>>> p = Problem(ids=("a", "b", "c"), target=np.array([10.0, 30.0, 60.0]),
...     lower=np.array([20.0, 0, 0]), upper=np.full(3, np.inf), lower_rule=("floor", "", ""),
...     upper_rule=("", "", ""), pools=(Pool("", np.arange(3), 100),), total=100)
>>> certify(p, np.array([20.0, 80 / 3, 160 / 3])).ok
True
>>> bad = certify(p, np.array([20.0, 27.0, 53.0]))   # same total, but two ratios
>>> bad.ok, round(bad.ratio, 4)
(False, 0.0093)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from allocator.core.problem import Problem

TOLERANCE = 1e-9  # relative: floating-point noise of the closed form is below 1e-13
AT_BOUND = 1e-12  # relative: a unit this close to a bound is held there (polish puts it exactly)


@dataclass(frozen=True)
class Certificate:
    """The largest violation of each optimality condition, relative (0 = met exactly).

    ``totals``: |pool sum - total| / total; ``bounds``: how far a unit lies outside its bounds,
    over the bound; ``ratio``: how far a free unit's ratio x/t lies from its pool's lambda, over
    lambda; ``held``: how far a held unit's bound lies on the wrong side of lambda * t (a unit at
    its lower bound that would get more at the common ratio), over the bound.
    """

    totals: float
    bounds: float
    ratio: float
    held: float
    tolerance: float = TOLERANCE

    @property
    def worst(self) -> float:
        """The largest of the four violations."""
        return max(self.totals, self.bounds, self.ratio, self.held)

    @property
    def ok(self) -> bool:
        """Whether every condition holds to within ``tolerance``."""
        return bool(self.worst <= self.tolerance)

    def as_dict(self) -> dict[str, float | bool]:
        """The numbers and the verdict, for a run record."""
        return {**asdict(self), "worst": self.worst, "ok": self.ok}


def reduces_to_closed_form(problem: Problem) -> bool:
    """Whether the problem has the closed form's structure: positive finite targets and pools that
    partition the units (each unit in exactly one pool); bounds are per unit by construction."""
    t = problem.target
    if len(problem) == 0 or not np.all(np.isfinite(t) & (t > 0)):
        return False
    members = np.concatenate([pool.members for pool in problem.pools]) if problem.pools else \
        np.empty(0, dtype=np.intp)
    return bool(np.array_equal(np.bincount(members, minlength=len(problem)),
                               np.ones(len(problem), dtype=np.intp)))


def certify(problem: Problem, exact: np.ndarray) -> Certificate:
    """Check the optimality conditions of the lexicographic min-max for ``exact``.

    Units with lower == upper have no freedom and no condition beyond their bounds.
    """
    x = np.asarray(exact, dtype=float)
    t, lower, upper = problem.target, problem.lower, problem.upper
    finite_upper = np.isfinite(upper)
    below = np.maximum(lower - x, 0.0) / np.maximum(1.0, lower)
    above = np.maximum(x - upper, 0.0) / np.maximum(1.0, upper)  # 0 / inf = 0: no upper bound
    bounds = float(np.maximum(below, above).max(initial=0.0))
    fixed = lower == upper
    at_low = ~fixed & (np.abs(x - lower) <= AT_BOUND * np.maximum(1.0, lower))
    at_high = ~fixed & ~at_low & finite_upper & \
        (np.abs(x - upper) <= AT_BOUND * np.maximum(1.0, np.where(finite_upper, upper, 1.0)))
    free = ~(fixed | at_low | at_high)
    ratio = x / t
    totals = spread = held = 0.0
    for pool in problem.pools:
        m = pool.members
        totals = max(totals, abs(float(x[m].sum()) - pool.total) / max(1.0, abs(pool.total)))
        low_m, high_m, free_m = at_low[m], at_high[m], free[m]
        # The pool's lambda: the free units' ratio; with none free, any value between the
        # largest upper/t of units held at their upper bound and the smallest lower/t of units
        # held at their lower bound (the midpoint, when those cross, shows by how much).
        if free_m.any():
            lam = float(np.median(ratio[m][free_m]))
            spread = max(spread, float(np.max(np.abs(ratio[m][free_m] / lam - 1))))
        else:
            floor_ratio = float((lower[m] / t[m])[low_m].min()) if low_m.any() else np.inf
            ceiling_ratio = float((upper[m] / t[m])[high_m].max()) if high_m.any() else -np.inf
            if not (np.isfinite(floor_ratio) and np.isfinite(ceiling_ratio)):
                continue  # one side only: every lambda beyond it fits
            lam = 0.5 * (floor_ratio + ceiling_ratio)
        # Held at the lower bound: lambda * t must not exceed it; at the upper: not fall short.
        if low_m.any():
            lo = lower[m][low_m]
            held = max(held, float(np.max((lam * t[m][low_m] - lo) / np.maximum(1.0, lo))))
        if high_m.any():
            hi = upper[m][high_m]
            held = max(held, float(np.max((hi - lam * t[m][high_m]) / np.maximum(1.0, hi))))
    return Certificate(totals=totals, bounds=bounds, ratio=spread,
                       held=max(held, 0.0))
