"""Solve stage: the fair continuous allocation.

Fair means the article's "one ruler": minimise the largest relative deviation |x_i/t_i - 1|, then
the next largest, and so on (lexicographic min-max), subject to each pool's exact total and every
unit's bounds. :func:`solve_fair` does this with a short sequence of LPs built with PuLP and solved
by HiGHS (in-process) or CBC. The closed form for the same problem is
:func:`allocator.core.waterfill.water_fill`, its test oracle.

Variables are ratios r_i = x_i / t_i, so that every deviation constraint reads
1 - z <= r_i <= 1 + z and the LP is well scaled whatever the size of the units.

>>> import numpy as np
>>> from allocator.core.problem import Pool, Problem
>>> p = Problem(ids=("a", "b", "c"), target=np.array([10.0, 30.0, 60.0]),
...     lower=np.array([20.0, 0, 0]), upper=np.full(3, np.inf), lower_rule=("floor", "", ""),
...     upper_rule=("", "", ""), pools=(Pool("", np.arange(3), 100),), total=100)
>>> solve_fair(p).exact.round(6).tolist()
[20.0, 26.666667, 53.333333]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pulp

from allocator.core.feasibility import check_feasible
from allocator.core.problem import Problem
from allocator.core.solvers import Status, make_solver, solver_version
from allocator.core.waterfill import min_deviation, nearest_feasible, polish, pool_lambdas
from allocator.errors import InfeasibleError, SolverError

TOL = 1e-9


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
        prob.solve(make_solver(self.solver_name))
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


