"""The closed form of the fair allocation, and what can be read off any fair allocation.

With a cap, per-unit bounds and disjoint pools with exact totals, the lexicographic min-max of
|x_i/t_i - 1| has the closed form x_i = clip(lambda_p * t_i, lower_i, upper_i), one lambda per pool
(water-filling). It is the test oracle for the LP and the fast path for studies.

>>> import numpy as np
>>> from allocator.core.problem import Pool, Problem
>>> p = Problem(ids=("a", "b", "c"), target=np.array([10.0, 30.0, 60.0]),
...     lower=np.array([20.0, 0, 0]), upper=np.full(3, np.inf), lower_rule=("floor", "", ""),
...     upper_rule=("", "", ""), pools=(Pool("", np.arange(3), 100),), total=100)
>>> water_fill(p).round(6).tolist()
[20.0, 26.666667, 53.333333]
"""

from __future__ import annotations

import numpy as np

from allocator.core.problem import Problem


def min_deviation(problem: Problem) -> np.ndarray:
    """The relative deviation each unit's own bounds force on it: max(0, lo/t - 1, 1 - hi/t)."""
    t = problem.target
    return np.maximum(0.0, np.maximum(problem.lower / t - 1, 1 - problem.upper / t))


def nearest_feasible(problem: Problem) -> np.ndarray:
    """Each unit's own target clipped to its bounds."""
    return np.clip(problem.target, problem.lower, problem.upper)


def water_fill(problem: Problem) -> np.ndarray:
    """Closed-form fair allocation: x_i = clip(lambda_p * t_i, lower_i, upper_i) per pool.

    Exact for this problem's structure (per-unit bounds and disjoint pools with exact totals).
    """
    x = np.empty(len(problem))
    for pool in problem.pools:
        m = pool.members
        lam = fill_level(problem.target[m], problem.lower[m], problem.upper[m], pool.total)
        x[m] = np.clip(lam * problem.target[m], problem.lower[m], problem.upper[m])
    return x


def fill_level(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> float:
    """The lambda with sum(clip(lambda * t, lo, hi)) == total (t > 0, sum lo <= total <= sum hi).

    >>> fill_level(np.array([1.0, 1.0]), np.array([0.0, 0.0]), np.array([np.inf, 1.0]), 5.0)
    4.0
    """
    a, b = lo / t, hi / t
    points = np.unique(np.concatenate([a, b[np.isfinite(b)]]))
    order_a, order_b = np.argsort(a), np.argsort(b)
    a_sorted, b_sorted = a[order_a], b[order_b]
    lo_suffix = np.concatenate([np.cumsum(lo[order_a][::-1])[::-1], [0.0]])
    t_prefix_a = np.concatenate([[0.0], np.cumsum(t[order_a])])
    hi_prefix = np.concatenate([[0.0], np.cumsum(np.where(np.isfinite(hi), hi, 0)[order_b])])
    t_prefix_b = np.concatenate([[0.0], np.cumsum(t[order_b])])

    def parts(lam):
        k_a = np.searchsorted(a_sorted, lam, side="right")  # units with a <= lam are not at lo
        k_b = np.searchsorted(b_sorted, lam, side="left")  # units with b < lam are at hi
        return lo_suffix[k_a] + hi_prefix[k_b], t_prefix_a[k_a] - t_prefix_b[k_b]

    fixed_at, slope = parts(points)
    value = fixed_at + slope * points
    k = int(np.searchsorted(value, total - 1e-12 * max(total, 1.0), side="left"))
    if k == 0:
        return float(points[0])
    # total lies beyond value[k-1]: f is linear in lambda between points[k-1] and the next point.
    left = points[k - 1]
    probe = 0.5 * (left + points[k]) if k < len(points) else left + 1.0
    base, mid_slope = parts(np.array([probe]))
    if mid_slope[0] <= 0:
        return float(left)
    return float((total - base[0]) / mid_slope[0])


def polish(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Make an LP answer exact, starting from its active set.

    Solvers return values accurate to about 1e-9 (HiGHS) or 1e-6 (CBC). Units within 1e-5
    (relative) of a bound are taken as held there; the other units of each pool share the rest of
    its total in proportion to their targets (one ratio per pool, as at the fair optimum). A unit
    held on the wrong side of that ratio is released, a free unit beyond a bound is held, until
    nothing changes (a few steps). The result no longer depends on which solver found the active
    set. A pool that does not settle keeps the solver's values.
    """
    x = x.copy()
    lower, upper, t = problem.lower, problem.upper, problem.target
    finite_upper = np.where(np.isfinite(upper), upper, 1.0)
    for pool in problem.pools:
        m = pool.members
        lo, hi, tm = lower[m], upper[m], t[m]
        at_low = np.abs(x[m] - lo) <= 1e-5 * np.maximum(1.0, lo)
        at_high = ~at_low & (np.abs(x[m] - hi) <= 1e-5 * np.maximum(1.0, finite_upper[m]))
        for _ in range(len(m) + 2):
            free = ~(at_low | at_high)
            rest = pool.total - lo[at_low].sum() - hi[at_high].sum()
            if not free.any():
                if abs(rest) <= 1e-6 * max(pool.total, 1):
                    x[m] = np.where(at_low, lo, hi)
                break
            lam = rest / tm[free].sum()
            value = lam * tm
            release = (at_low & (value > lo * (1 + 1e-12))) | (at_high & (value < hi * (1 - 1e-12)))
            hold_low, hold_high = free & (value < lo), free & (value > hi)
            if not (release.any() or hold_low.any() or hold_high.any()):
                x[m] = np.where(at_low, lo, np.where(at_high, hi, value))
                break
            at_low = (at_low & ~release) | hold_low
            at_high = (at_high & ~release) | hold_high
    return x


def pool_lambdas(problem: Problem, exact: np.ndarray) -> dict[str, float | None]:
    """The common ratio allocation/target of each pool's units that no bound holds (or None)."""
    out: dict[str, float | None] = {}
    for pool in problem.pools:
        m = pool.members
        free = (exact[m] > problem.lower[m] + 1e-7) & (exact[m] < problem.upper[m] - 1e-7)
        ratios = exact[m][free] / problem.target[m][free]
        out[pool.name] = float(np.median(ratios)) if ratios.size else None
    return out


def binding_rules(problem: Problem, exact: np.ndarray,
                  posts: np.ndarray | None = None) -> tuple[str, ...]:
    """For each unit, the rule of the bound that binds it, or "" for a unit that none binds.

    A bound binds a unit when, in the fair continuous allocation ``exact``, the unit sits at it
    (within 1e-7 posts) and it holds the unit away from its pool's common ratio lambda: a lower
    bound holds a unit whose ratio exact/target is above lambda (it would otherwise get less), an
    upper bound one whose ratio is below. With ``posts`` (the published whole posts), a bound also
    binds only where the unit's posts equal it: rounding that moves a unit off its bound removes
    the label, and a unit that rounding alone brings to a bound gets none (it is not held there in
    the fair allocation). So a label is always true of the posts it is printed next to.

    >>> from allocator.core.problem import Pool
    >>> p = Problem(ids=tuple("abcde"), target=np.array([1.0, 1, 1, 1, 4]), lower=np.zeros(5),
    ...     upper=np.array([np.inf] * 4 + [2.0]), lower_rule=("",) * 5,
    ...     upper_rule=("",) * 4 + ("ceiling",), pools=(Pool("", np.arange(5), 5),), total=5)
    >>> exact = water_fill(p)
    >>> exact.tolist(), binding_rules(p, exact)
    ([0.75, 0.75, 0.75, 0.75, 2.0], ('', '', '', '', 'ceiling'))

    Huntington-Hill gives every unit its first post, so e's whole posts are below its ceiling:

    >>> binding_rules(p, exact, posts=np.array([1, 1, 1, 1, 1]))
    ('', '', '', '', '')
    """
    lambdas = pool_lambdas(problem, exact)
    lam = np.full(len(problem), np.nan)  # NaN: the pool has no free unit
    for pool in problem.pools:
        value = lambdas[pool.name]
        lam[pool.members] = np.nan if value is None else value
    ratio = exact / problem.target
    lower_rule = np.asarray(problem.lower_rule, dtype=object)
    upper_rule = np.asarray(problem.upper_rule, dtype=object)
    no_lambda = np.isnan(lam)
    at_low = (exact <= problem.lower + 1e-7) & (lower_rule != "")
    at_high = (exact >= problem.upper - 1e-7) & (upper_rule != "")
    if posts is not None:
        at_low &= posts == problem.lower
        at_high &= posts == problem.upper
    by_low = at_low & (no_lambda | (ratio > lam + 1e-9))
    by_high = ~by_low & at_high & (no_lambda | (ratio < lam - 1e-9))
    rules = np.full(len(problem), "", dtype=object)
    rules[by_low] = lower_rule[by_low]
    rules[by_high] = upper_rule[by_high]
    return tuple(rules.tolist())
