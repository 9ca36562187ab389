"""Solve stage: the fair continuous allocation.

Fair means the article's "one ruler": minimise the largest relative deviation |x_i/t_i - 1|, then
the next largest, and so on (lexicographic min-max), subject to each pool's exact total and every
unit's bounds. :func:`solve_fair` does this with a short sequence of LPs built with PuLP and solved
by HiGHS (in-process) or CBC. :func:`water_fill` is the closed form for the same problem:
x_i = clip(lambda_p * t_i, lower_i, upper_i) with one lambda per pool. It is the test oracle for the
LP and the fast path for sensitivity studies.

Variables are ratios r_i = x_i / t_i, so that every deviation constraint reads
1 - z <= r_i <= 1 + z and the LP is well scaled whatever the size of the units.

>>> import numpy as np
>>> from allocator.model import Pool, Problem
>>> p = Problem(ids=("a", "b", "c"), target=np.array([10.0, 30.0, 60.0]),
...     lower=np.array([20.0, 0, 0]), upper=np.full(3, np.inf), lower_rule=("floor", "", ""),
...     upper_rule=("", "", ""), pools=(Pool("", np.arange(3), 100),), total=100)
>>> water_fill(p).round(6).tolist()
[20.0, 26.666667, 53.333333]
>>> solve_fair(p).exact.round(6).tolist()
[20.0, 26.666667, 53.333333]
"""

from __future__ import annotations

import enum
import functools
import os
import sys
import warnings
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import pulp

from allocator.errors import InfeasibleError, SolverError
from allocator.model import Problem, check_feasible

TOL = 1e-9


class Status(enum.Enum):
    """Outcome of a solve, mapped once from the solver's own codes."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    FAILED = "failed"


@dataclass(frozen=True)
class FairSolution:
    """The fair continuous allocation and how it was found."""

    exact: np.ndarray
    status: Status
    solver: str
    solver_version: str
    levels: tuple[float, ...] = ()
    lp_solves: int = 0
    lambdas: dict[str, float | None] = field(default_factory=dict)


def solver_version(name: str) -> str:
    """Version string of the solver backend, e.g. ``highspy 1.7.2``."""
    if name == "highs":
        try:
            return f"highspy {metadata.version('highspy')}"
        except metadata.PackageNotFoundError:
            return "highspy (unknown version)"
    return f"CBC bundled with PuLP {pulp.__version__}"


@functools.cache
def _silence_highs_banner() -> None:
    """HiGHS prints a banner to the C-level stdout on its first construction in a process;
    construct it once with stdout pointed at /dev/null so that it never reaches a report."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _make_solver(name: str):
    if name == "highs":
        _silence_highs_banner()
        # Interior point with crossover: a vertex solution (so duals are basic, as with CBC),
        # and about twice as fast as simplex on these highly degenerate min-max LPs.
        solver = pulp.HiGHS(msg=False, solver="ipm", run_crossover="on")
    elif name == "cbc":
        with warnings.catch_warnings():  # PuLP 3.x announces CBC's move in 4.0 on every call
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(msg=False)
    else:
        raise SolverError(f"unknown solver '{name}' (use highs or cbc)")
    if not solver.available():
        raise SolverError(f"solver '{name}' is not available on this machine")
    return solver


def min_deviation(problem: Problem) -> np.ndarray:
    """The relative deviation each unit's own bounds force on it: max(0, lo/t - 1, 1 - hi/t)."""
    t = problem.target
    return np.maximum(0.0, np.maximum(problem.lower / t - 1, 1 - problem.upper / t))


def nearest_feasible(problem: Problem) -> np.ndarray:
    """Each unit's own target clipped to its bounds."""
    return np.clip(problem.target, problem.lower, problem.upper)


class _LevelLP:
    """One LP of the sequence: min z over the units still free, the others held at values."""

    def __init__(self, problem: Problem, solver_name: str):
        self.problem = problem
        self.solver_name = solver_name
        self.solves = 0

    def solve(self, free: np.ndarray, held: dict[int, float]):
        """Return (z, x, dual_mass) or None when infeasible. ``dual_mass[i]`` > 0 marks a unit
        whose deviation constraint has a non-zero dual: it sits at z in every optimum."""
        p = self.problem
        t = p.target
        prob = pulp.LpProblem("level", pulp.LpMinimize)
        z = prob.add_variable("z", lowBound=0)
        r = {}
        for i in free:
            hi = p.upper[i] / t[i]
            r[i] = prob.add_variable(f"r{i}", lowBound=p.lower[i] / t[i],
                                     upBound=None if np.isinf(hi) else hi)
        prob += pulp.LpAffineExpression([(z, 1.0)])
        over, under = {}, {}
        for i, var in r.items():
            over[i] = pulp.LpConstraint(pulp.LpAffineExpression([(var, 1.0), (z, -1.0)]),
                                        pulp.LpConstraintLE, f"over{i}", 1.0)
            under[i] = pulp.LpConstraint(pulp.LpAffineExpression([(var, 1.0), (z, 1.0)]),
                                         pulp.LpConstraintGE, f"under{i}", 1.0)
            prob += over[i]
            prob += under[i]
        for k, pool in enumerate(p.pools):
            rhs = pool.total - sum(held.get(i, 0.0) for i in pool.members)
            # Kept in posts, not scaled to order 1: the solvers' feasibility tolerance (about
            # 1e-7) then means 1e-7 posts, whatever the size of the pool.
            terms = [(r[i], t[i]) for i in pool.members if i in r]
            if not terms:
                if abs(rhs) > 1e-6 * max(pool.total, 1):
                    return None
                continue
            prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ,
                                      f"pool{k}", rhs)
        prob.solve(_make_solver(self.solver_name))
        self.solves += 1
        if prob.status == pulp.LpStatusInfeasible:
            return None
        if prob.status != pulp.LpStatusOptimal or prob.sol_status != pulp.LpSolutionOptimal:
            raise SolverError(f"{self.solver_name} stopped without an optimum "
                              f"(status {pulp.LpStatus[prob.status]})")
        x = {i: var.value() * t[i] for i, var in r.items()}
        duals = {i: abs(over[i].pi or 0.0) + abs(under[i].pi or 0.0) for i in r}
        return z.value(), x, duals


def solve_fair(problem: Problem, solver: str = "highs") -> FairSolution:
    """Lexicographic min-max of |x_i/t_i - 1| by a short sequence of LPs.

    Each round finds the smallest possible largest deviation z among the units still free and
    fixes the units that must sit at z (non-zero dual: by complementary slackness they sit there
    in every optimum). Two shortcuts keep the number of LPs small on large instances, both exact:

    * a unit whose own bounds force a deviation d above the round's level is held at its
      bound nearest its target before the round (it cannot do better, and doing worse would raise
      a larger deviation). The largest held set that leaves every total reachable is found by
      arithmetic; it is kept when every held unit's d exceeds the level the LP then finds (a
      certificate), else the LP is repeated at that level and, when many thresholds lie
      between, a bisection finds the largest certified held set;
    * a pool whose remaining total equals the sum of its free units' lower (or upper) bounds
      fixes all of them at once.

    Duals are used only for their sign pattern (which units are blocked), never as prices: at a
    degenerate optimum they are not unique. The answer is then made exact by :func:`polish`.
    """
    n = len(problem)
    t = problem.target
    dmin = min_deviation(problem)
    near = nearest_feasible(problem)
    lp = _LevelLP(problem, solver)
    fixed: dict[int, float] = {}
    levels: list[float] = []

    def holding(theta: float, active: np.ndarray):
        pins = {int(i): float(near[i]) for i in active if dmin[i] > theta + TOL}
        return pins, np.array([i for i in active if int(i) not in pins], dtype=int)

    def reachable(theta: float, active: np.ndarray) -> bool:
        pins, free = holding(theta, active)
        return _totals_reachable(problem, free, {**fixed, **pins})

    def solve_at(theta: float, active: np.ndarray):
        pins, free = holding(theta, active)
        return pins, free, lp.solve(free, {**fixed, **pins})

    def certified(attempt) -> bool:
        # Held units are right to be held when each one's forced deviation exceeds the level.
        pins, _, out = attempt
        return out is not None and all(dmin[i] > out[0] + TOL for i in pins)

    while len(fixed) < n:
        active = np.array([i for i in range(n) if i not in fixed], dtype=int)
        candidates = np.concatenate([[0.0], np.unique(dmin[active])])
        # The smallest threshold whose held units leave every total reachable (arithmetic only).
        if not reachable(float(candidates[-1]), active):
            check_feasible(problem)  # raises, saying which bound or total cannot hold
            raise InfeasibleError("the bounds and totals cannot all hold at once")
        lo_k, hi_k = 0, len(candidates) - 1
        while lo_k < hi_k:
            mid = (lo_k + hi_k) // 2
            if reachable(float(candidates[mid]), active):
                hi_k = mid
            else:
                lo_k = mid + 1
        best = solve_at(float(candidates[lo_k]), active)
        if best[2] is not None and not certified(best):
            # Holding fewer, at the level just found, is certified (the previous solution stays
            # feasible); then search between the two for the smallest certified threshold.
            level = best[2][0]
            best = solve_at(level, active)
            between = [float(c) for c in candidates if candidates[lo_k] < c < level]
            # A few held-level candidates are cheaper to take one round each than to search.
            a, b = 0, (len(between) if len(between) > 8 else 0)
            while a < b:
                mid = (a + b) // 2
                attempt = solve_at(between[mid], active)
                if certified(attempt):
                    best, b = attempt, mid
                else:
                    a = mid + 1
        pins, free, out = best
        if out is None:
            raise SolverError(f"{solver} found no solution where the totals are reachable")
        z, x, duals = out
        fixed.update(pins)
        newly = [i for i in free if duals[i] > TOL or dmin[i] >= z - TOL or z <= TOL]
        if not newly:  # degenerate duals: fall back to the units at the level
            newly = [i for i in free if abs(x[i] / t[i] - 1) >= z - 1e-7]
        for i in newly:
            fixed[int(i)] = x[i]
        _fix_tight_pools(problem, fixed)
        levels.append(float(z))
    exact = polish(problem, np.array([fixed[i] for i in range(n)]))
    return FairSolution(exact=exact, status=Status.OPTIMAL, solver=solver,
                        solver_version=solver_version(solver), levels=tuple(levels),
                        lp_solves=lp.solves, lambdas=pool_lambdas(problem, exact))


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


def _totals_reachable(problem: Problem, free: np.ndarray, held: dict[int, float]) -> bool:
    """Whether every pool's total can still be met with ``held`` units at their values and the
    free units anywhere within their bounds (pools and bounds are the only constraints)."""
    is_free = np.zeros(len(problem), dtype=bool)
    is_free[free] = True
    for pool in problem.pools:
        m = pool.members
        rest = pool.total - sum(held[int(i)] for i in m if not is_free[i])
        slack = 1e-6 * max(pool.total, 1)  # LP answers are accurate to about 1e-9
        if not (problem.lower[m][is_free[m]].sum() - slack <= rest
                <= problem.upper[m][is_free[m]].sum() + slack):
            return False
    return True


def _fix_tight_pools(problem: Problem, fixed: dict[int, float]) -> None:
    """Fix every free unit of a pool whose remaining total leaves it no freedom."""
    for pool in problem.pools:
        free = [int(i) for i in pool.members if int(i) not in fixed]
        if not free:
            continue
        rest = pool.total - sum(fixed[int(i)] for i in pool.members if int(i) in fixed)
        low = problem.lower[free].sum()
        high = problem.upper[free].sum()
        if rest <= low + 1e-9 * pool.total:
            fixed.update({i: float(problem.lower[i]) for i in free})
        elif rest >= high - 1e-9 * pool.total:
            fixed.update({i: float(problem.upper[i]) for i in free})


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


def pool_lambdas(problem: Problem, exact: np.ndarray) -> dict[str, float | None]:
    """The common ratio allocation/target of each pool's units that no bound holds (or None)."""
    out: dict[str, float | None] = {}
    for pool in problem.pools:
        m = pool.members
        free = (exact[m] > problem.lower[m] + 1e-7) & (exact[m] < problem.upper[m] - 1e-7)
        ratios = exact[m][free] / problem.target[m][free]
        out[pool.name] = float(np.median(ratios)) if ratios.size else None
    return out


def binding_rules(problem: Problem, exact: np.ndarray) -> tuple[str, ...]:
    """For each unit, the rule of the bound that holds it away from its pool's common ratio.

    Empty for a unit that no bound holds. A unit at its lower bound is held by it when it would
    otherwise get less (its ratio is above the pool's lambda), and likewise at its upper bound.
    """
    lambdas = pool_lambdas(problem, exact)
    rules = [""] * len(problem)
    for pool in problem.pools:
        lam = lambdas[pool.name]
        for i in pool.members:
            ratio = exact[i] / problem.target[i]
            at_low = exact[i] <= problem.lower[i] + 1e-7 and problem.lower_rule[i]
            at_high = exact[i] >= problem.upper[i] - 1e-7 and problem.upper_rule[i]
            if at_low and (lam is None or ratio > lam + 1e-9):
                rules[i] = problem.lower_rule[i]
            elif at_high and (lam is None or ratio < lam - 1e-9):
                rules[i] = problem.upper_rule[i]
    return tuple(rules)
