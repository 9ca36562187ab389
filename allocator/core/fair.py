"""Solve stage: the fair continuous allocation.

Fair means the article's "one ruler": minimise the largest relative deviation |x_i/t_i - 1|, then
the next largest, and so on (lexicographic min-max), subject to each pool's exact total and every
unit's bounds. With per-unit bounds and disjoint pools with exact totals (every model today) the
answer has a closed form, x_i = clip(lambda_pool * t_i, lower_i, upper_i)
(:func:`allocator.core.waterfill.water_fill`): :func:`solve_fair` computes it and certifies it
(:func:`allocator.core.certify.certify`, one pass over the units). When the certificate fails, or
when asked (``method="lp"``, to check the closed form), it solves the same problem by a short
sequence of LPs, by HiGHS (built from arrays) or CBC (through PuLP), taking the units held at a
bound from the closed form so that each level costs one LP.

Variables of the LPs are ratios r_i = x_i / t_i, so that every deviation constraint reads
1 - z <= r_i <= 1 + z and the LP is well scaled whatever the size of the units.

>>> import numpy as np
>>> from allocator.core.problem import Pool, Problem
>>> p = Problem(ids=("a", "b", "c"), target=np.array([10.0, 30.0, 60.0]),
...     lower=np.array([20.0, 0, 0]), upper=np.full(3, np.inf), lower_rule=("floor", "", ""),
...     upper_rule=("", "", ""), pools=(Pool("", np.arange(3), 100),), total=100)
>>> fair = solve_fair(p)
>>> fair.exact.round(6).tolist(), fair.path, fair.certificate.ok
([20.0, 26.666667, 53.333333], 'closed_form', True)
>>> solve_fair(p, method="lp").exact.round(6).tolist()
[20.0, 26.666667, 53.333333]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pulp

from allocator.core.certify import Certificate, certify, reduces_to_closed_form
from allocator.core.feasibility import check_feasible
from allocator.core.problem import Problem
from allocator.core.solvers import Status, make_highs, make_solver, solver_version
from allocator.core.waterfill import min_deviation, nearest_feasible, polish, pool_lambdas, water_fill
from allocator.errors import InfeasibleError, SolverError

TOL = 1e-9
METHODS = ("auto", "lp")


@dataclass(frozen=True)
class FairSolution:
    """The fair continuous allocation and how it was found.

    ``path`` is ``"closed_form"`` (water-filling, certified) or ``"lp"`` (the LP sequence);
    ``certificate`` holds the largest violations of the optimality conditions.
    """

    exact: np.ndarray
    status: Status
    solver: str
    solver_version: str
    levels: tuple[float, ...] = ()
    lp_solves: int = 0
    lambdas: dict[str, float | None] = field(default_factory=dict)
    path: str = "lp"
    certificate: Certificate | None = None


def solve_fair(problem: Problem, solver: str = "highs", method: str = "auto") -> FairSolution:
    """The lexicographic min-max of |x_i/t_i - 1| within the bounds and pool totals.

    ``method="auto"`` uses the certified closed form where the problem has its structure and
    falls back to the LP sequence otherwise (or when the certificate fails); ``method="lp"``
    always solves the LP sequence with ``solver`` (``highs`` or ``cbc``).
    """
    if method not in METHODS:
        raise ValueError(f"unknown solve method '{method}' (use {', '.join(METHODS)})")
    hint = None
    if reduces_to_closed_form(problem):
        _check_reachable(problem)
        hint = polish(problem, water_fill(problem))
        if method == "auto":
            certificate = certify(problem, hint)
            if certificate.ok:
                return FairSolution(exact=hint, status=Status.OPTIMAL, solver=solver,
                                    solver_version=solver_version(solver),
                                    lambdas=pool_lambdas(problem, hint), path="closed_form",
                                    certificate=certificate)
    return lp_sequence(problem, solver, hint=hint)


def _check_reachable(problem: Problem) -> None:
    """Raise :class:`InfeasibleError` (with the diagnosis) when the bounds and totals cannot all
    hold; the closed form assumes they can."""
    if np.any(problem.lower > problem.upper) or not _totals_reachable(
            problem, np.ones(len(problem), dtype=bool), np.zeros(len(problem))):
        check_feasible(problem)  # raises, saying which bound or total cannot hold
        raise InfeasibleError("the bounds and totals cannot all hold at once")


class _Level:
    """One LP of the sequence: min z over the units still free, the others held at values.

    :meth:`solve` returns ``(z, x, dual_mass)`` over the free units, or None when infeasible.
    ``dual_mass[k]`` > 0 marks a free unit whose deviation constraint has a non-zero dual: it sits
    at z in every optimum.
    """

    def __init__(self, problem: Problem, solver_name: str):
        self.problem = problem
        self.solver_name = solver_name
        self.solves = 0

    def pool_rows(self, free: np.ndarray, values: np.ndarray):
        """Each pool's free members and the total left for them; None if a pool without free
        members misses its total."""
        is_free = np.zeros(len(self.problem), dtype=bool)
        is_free[free] = True
        rows = []
        for pool in self.problem.pools:
            m = pool.members
            rhs = pool.total - float(values[m][~is_free[m]].sum())
            members = m[is_free[m]]
            if members.size == 0:
                if abs(rhs) > 1e-6 * max(pool.total, 1):
                    return None
                continue
            rows.append((members, rhs))
        return rows

    def solve(self, free: np.ndarray, values: np.ndarray):
        rows = self.pool_rows(free, values)
        if rows is None:
            return None
        self.solves += 1
        if self.solver_name == "highs":
            return self._highs(free, rows)
        return self._pulp(free, rows)

    def _highs(self, free: np.ndarray, rows):
        """The LP built from arrays and passed to HiGHS in one call."""
        import highspy

        p = self.problem
        t = p.target[free]
        f = free.size
        position = np.full(len(p), -1, dtype=np.int64)
        position[free] = np.arange(f)
        lp = highspy.HighsLp()
        lp.num_col_ = f + 1  # r_0 .. r_{f-1}, z
        lp.col_cost_ = np.concatenate([np.zeros(f), [1.0]])
        lp.col_lower_ = np.concatenate([p.lower[free] / t, [0.0]])
        lp.col_upper_ = np.concatenate([p.upper[free] / t, [np.inf]])
        # Rows: r_i - z <= 1 (over), r_i + z >= 1 (under), then sum t_i r_i = rest per pool.
        unit = np.arange(f)
        pair_index = np.column_stack([unit, np.full(f, f)]).ravel()
        index = [pair_index, pair_index] + [position[m] for m, _ in rows]
        value = [np.tile([1.0, -1.0], f), np.tile([1.0, 1.0], f)] + \
            [p.target[m] for m, _ in rows]
        lengths = np.concatenate([np.full(2 * f, 2), [m.size for m, _ in rows]]).astype(np.int64)
        rhs = np.array([r for _, r in rows])
        lp.num_row_ = 2 * f + len(rows)
        lp.row_lower_ = np.concatenate([np.full(f, -np.inf), np.ones(f), rhs])
        lp.row_upper_ = np.concatenate([np.ones(f), np.full(f, np.inf), rhs])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = f + 1
        lp.a_matrix_.num_row_ = lp.num_row_
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        lp.a_matrix_.index_ = np.concatenate(index).astype(np.int32)
        lp.a_matrix_.value_ = np.concatenate(value).astype(float)
        h = make_highs()
        h.passModel(lp)
        h.run()
        status = h.getModelStatus()
        if status in (highspy.HighsModelStatus.kInfeasible,
                      highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return None
        solution = h.getSolution()
        if status != highspy.HighsModelStatus.kOptimal or not solution.value_valid:
            raise SolverError(f"highs stopped without an optimum (status "
                              f"{h.modelStatusToString(status)})")
        col = np.asarray(solution.col_value)
        dual = np.abs(np.asarray(solution.row_dual))
        return float(col[f]), col[:f] * t, dual[:f] + dual[f:2 * f]

    def _pulp(self, free: np.ndarray, rows):
        """The LP through PuLP (CBC, or any solver PuLP knows)."""
        p = self.problem
        t = p.target
        prob = pulp.LpProblem("level", pulp.LpMinimize)
        z = prob.add_variable("z", lowBound=0)
        r = {}
        for i in free.tolist():
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
        for k, (members, rhs) in enumerate(rows):
            # Kept in posts, not scaled to order 1: the solvers' feasibility tolerance (about
            # 1e-7) then means 1e-7 posts, whatever the size of the pool.
            terms = [(r[i], t[i]) for i in members.tolist()]
            prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ,
                                      f"pool{k}", rhs)
        prob.solve(make_solver(self.solver_name))
        if prob.status == pulp.LpStatusInfeasible:
            return None
        if prob.status != pulp.LpStatusOptimal or prob.sol_status != pulp.LpSolutionOptimal:
            raise SolverError(f"{self.solver_name} stopped without an optimum "
                              f"(status {pulp.LpStatus[prob.status]})")
        order = free.tolist()
        x = np.array([r[i].value() * t[i] for i in order])
        duals = np.array([abs(over[i].pi or 0.0) + abs(under[i].pi or 0.0) for i in order])
        return z.value(), x, duals


def lp_sequence(problem: Problem, solver: str = "highs",
                hint: np.ndarray | None = None) -> FairSolution:
    """Lexicographic min-max of |x_i/t_i - 1| by a short sequence of LPs.

    Each round finds the smallest possible largest deviation z among the units still free and
    fixes the units that must sit at z (non-zero dual: by complementary slackness they sit there
    in every optimum). A unit whose own bounds force a deviation d above the round's level is held
    at its bound nearest its target before the round (it cannot do better, and doing worse would
    raise a larger deviation); the held set is right when every held unit's d exceeds the level
    the LP then finds (a certificate).

    ``hint`` (the closed form) proposes each round's level, and so its held set: one LP per round
    when the LP confirms it. Without a hint, or when the LP does not confirm it, the largest held
    set that leaves every total reachable is found by arithmetic and kept when certified, else
    the LP is repeated at the level it found and, when many thresholds lie between, a bisection
    finds the largest certified held set. A pool whose remaining total equals the sum of its free
    units' lower (or upper) bounds fixes all of them at once.

    Duals are used only for their sign pattern (which units are blocked), never as prices: at a
    degenerate optimum they are not unique. The answer is then made exact by :func:`polish`.
    """
    n = len(problem)
    t = problem.target
    dmin = min_deviation(problem)
    near = nearest_feasible(problem)
    lp = _Level(problem, solver)
    fixed = np.zeros(n, dtype=bool)
    value = np.zeros(n)  # the values of fixed units
    levels: list[float] = []
    hint_deviation = None if hint is None else np.abs(hint / t - 1)

    def holding(theta: float, active: np.ndarray):
        pinned = dmin[active] > theta + TOL
        pins, free = active[pinned], active[~pinned]
        held = value.copy()
        held[pins] = near[pins]
        return pins, free, held

    def reachable(theta: float, active: np.ndarray) -> bool:
        _, free, held = holding(theta, active)
        is_free = np.zeros(n, dtype=bool)
        is_free[free] = True
        return _totals_reachable(problem, is_free, held)

    def solve_at(theta: float, active: np.ndarray):
        pins, free, held = holding(theta, active)
        return pins, free, lp.solve(free, held)

    def certified(attempt) -> bool:
        # Held units are right to be held when each one's forced deviation exceeds the level.
        pins, _, out = attempt
        return out is not None and bool(np.all(dmin[pins] > out[0] + TOL))

    def search(active: np.ndarray):
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
        return best

    while not fixed.all():
        active = np.flatnonzero(~fixed)
        best = None
        if hint_deviation is not None:
            best = solve_at(_hinted_level(hint_deviation[active], dmin[active]), active)
            if not certified(best):
                best = None
        if best is None:
            best = search(active)
        pins, free, out = best
        if out is None:
            raise SolverError(f"{solver} found no solution where the totals are reachable")
        z, x, duals = out
        fixed[pins] = True
        value[pins] = near[pins]
        newly = (duals > TOL) | (dmin[free] >= z - TOL) | (z <= TOL)
        if not newly.any():  # degenerate duals: fall back to the units at the level
            newly = np.abs(x / t[free] - 1) >= z - 1e-7
        fixed[free[newly]] = True
        value[free[newly]] = x[newly]
        _fix_tight_pools(problem, fixed, value)
        levels.append(float(z))
    exact = polish(problem, value)
    return FairSolution(exact=exact, status=Status.OPTIMAL, solver=solver,
                        solver_version=solver_version(solver), levels=tuple(levels),
                        lp_solves=lp.solves, lambdas=pool_lambdas(problem, exact), path="lp",
                        certificate=certify(problem, exact))


def _hinted_level(deviation: np.ndarray, dmin: np.ndarray) -> float:
    """The level of the next round by the closed form: the largest deviation among the active
    units that their own bounds do not force (so the pool sets it), else the largest of all."""
    pooled = deviation > dmin + TOL
    return float(deviation[pooled].max() if pooled.any() else deviation.max())


def _totals_reachable(problem: Problem, is_free: np.ndarray, held: np.ndarray) -> bool:
    """Whether every pool's total can still be met with the units not free at their ``held``
    values and the free units anywhere within their bounds (pools and bounds are the only
    constraints)."""
    for pool in problem.pools:
        m = pool.members
        free = is_free[m]
        rest = pool.total - held[m][~free].sum()
        slack = 1e-6 * max(pool.total, 1)  # LP answers are accurate to about 1e-9
        if not (problem.lower[m][free].sum() - slack <= rest
                <= problem.upper[m][free].sum() + slack):
            return False
    return True


def _fix_tight_pools(problem: Problem, fixed: np.ndarray, value: np.ndarray) -> None:
    """Fix every free unit of a pool whose remaining total leaves it no freedom."""
    for pool in problem.pools:
        m = pool.members
        free = m[~fixed[m]]
        if free.size == 0:
            continue
        rest = pool.total - value[m[fixed[m]]].sum()
        low = problem.lower[free].sum()
        high = problem.upper[free].sum()
        if rest <= low + 1e-9 * pool.total:
            fixed[free], value[free] = True, problem.lower[free]
        elif rest >= high - 1e-9 * pool.total:
            fixed[free], value[free] = True, problem.upper[free]
