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
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import pulp

from allocator.errors import InfeasibleError, SolverError
from allocator.model import Problem

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
        z = pulp.LpVariable("z", lowBound=0)
        r = {}
        for i in free:
            hi = p.upper[i] / t[i]
            r[i] = pulp.LpVariable(f"r{i}", lowBound=p.lower[i] / t[i],
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
      a larger deviation); the held set is found with at most two extra LPs;
    * a pool whose remaining total equals the sum of its free units' lower (or upper) bounds
      fixes all of them at once.
    """
    n = len(problem)
    t = problem.target
    dmin = min_deviation(problem)
    near = nearest_feasible(problem)
    lp = _LevelLP(problem, solver)
    fixed: dict[int, float] = {}
    levels: list[float] = []

    def attempt(theta: float, active: np.ndarray):
        pins = {int(i): float(near[i]) for i in active if dmin[i] > theta + TOL}
        free = np.array([i for i in active if int(i) not in pins], dtype=int)
        return pins, free, lp.solve(free, {**fixed, **pins})

    while len(fixed) < n:
        active = np.array([i for i in range(n) if i not in fixed], dtype=int)
        pins, free, out = attempt(0.0, active)
        if out is None:
            # Holding every bound-forced unit is too tight: find the smallest threshold that works.
            candidates = np.unique(dmin[active])
            lo_k, hi_k = 0, len(candidates) - 1
            if attempt(float(candidates[hi_k]), active)[2] is None:
                raise InfeasibleError("the bounds and totals cannot all hold at once")
            while lo_k < hi_k:
                mid = (lo_k + hi_k) // 2
                if attempt(float(candidates[mid]), active)[2] is None:
                    lo_k = mid + 1
                else:
                    hi_k = mid
            theta = float(candidates[lo_k])
            pins, free, out = attempt(theta, active)
        else:
            theta = 0.0
        if out[0] > theta + TOL:
            pins, free, out = attempt(out[0], active)
        z, x, duals = out
        fixed.update(pins)
        newly = [i for i in free if duals[i] > TOL or dmin[i] >= z - TOL or z <= TOL]
        if not newly:  # degenerate duals: fall back to the units at the level
            newly = [i for i in free if abs(x[i] / t[i] - 1) >= z - 1e-7]
        for i in newly:
            fixed[int(i)] = x[i]
        _fix_tight_pools(problem, fixed)
        levels.append(float(z))
    exact = np.array([fixed[i] for i in range(n)])
    return FairSolution(exact=exact, status=Status.OPTIMAL, solver=solver,
                        solver_version=solver_version(solver), levels=tuple(levels),
                        lp_solves=lp.solves, lambdas=pool_lambdas(problem, exact))


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
