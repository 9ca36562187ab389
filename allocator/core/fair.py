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

General linear constraints (bounded group totals, equal-cut rules, named constraints; see
:mod:`allocator.core.constraints`) break that structure. The closed form still answers when it
meets them (adding constraints that the optimum meets keeps it optimal); otherwise the LP sequence
solves the problem with them, which is then the only path (``FairSolution.path == "lp"``).

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
from typing import NoReturn

import numpy as np
import pulp

from allocator.core.certify import Certificate, certify, reduces_to_closed_form
from allocator.core.classlp import LEVEL_SLACKS, ClassLevel
from allocator.core.constraint_diagnosis import check_constraints
from allocator.core.constraints import rulers, tight_sides
from allocator.core.feasibility import check_feasible
from allocator.core.problem import Problem
from allocator.core.solvers import Status, make_solver, run_highs, solver_version
from allocator.core.waterfill import min_deviation, nearest_feasible, polish, pool_lambdas, water_fill
from allocator.errors import InfeasibleError, SolverError

TOL = 1e-9
METHODS = ("auto", "lp")


@dataclass(frozen=True)
class FairSolution:
    """The fair continuous allocation and how it was found.

    ``path`` is ``"closed_form"`` (water-filling, certified) or ``"lp"`` (the LP sequence);
    ``certificate`` holds the largest violations of the optimality conditions of the closed form
    (None when general constraints bind: the LP sequence is then the proof). ``duals`` maps
    each general constraint that binds to the LP level where it first binds and its dual there
    (how fast that level's largest deviation falls per unit of relaxation; not unique at a
    degenerate optimum).
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
    duals: dict[str, tuple[int, float]] = field(default_factory=dict)


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
        if problem.violated(hint):
            hint = None  # general constraints bind: the closed form does not apply
        elif method == "auto":
            certificate = certify(problem, hint)
            if certificate.ok:
                lambdas = rulers(problem, hint) if problem.constraints else \
                    pool_lambdas(problem, hint)
                return FairSolution(exact=hint, status=Status.OPTIMAL, solver=solver,
                                    solver_version=solver_version(solver), lambdas=lambdas,
                                    path="closed_form", certificate=certificate)
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

    :meth:`solve` returns an :class:`_Answer`, or None when infeasible. ``duals[k]`` > 0 marks a
    free unit whose deviation is tied to z by a non-zero dual: it sits at z in every optimum.

    Without general constraints the held units are constants, moved to the right-hand side, and
    the LP has a column per free unit. With them (``held`` given: each unit's level round or -1,
    its side of the target, the levels so far and how far they may move), the LP is solved over
    classes of units (:class:`~allocator.core.classlp.ClassLevel`: one column per class), and a
    unit fixed at level k is held at t_i * (1 +- w_k) together with the other units of that
    level, so that solver noise in an earlier level cannot over-determine a later row.
    """

    def __init__(self, problem: Problem, solver_name: str):
        self.problem = problem
        self.solver_name = solver_name
        self.solves = 0
        self._classes: ClassLevel | None = None

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

    def solve(self, free: np.ndarray, values: np.ndarray,
              held: tuple[np.ndarray, np.ndarray, np.ndarray, float, float] | None = None
              ) -> _Answer | None:
        if held is not None:
            if self._classes is None:
                self._classes = ClassLevel(self.problem, self.solver_name)
            self.solves += 1
            answer = self._classes.solve(free, values, *held)
            return None if answer is None else _Answer(*answer)
        rows = self.pool_rows(free, values)
        if rows is None:
            return None
        self.solves += 1
        out = self._highs(free, rows) if self.solver_name == "highs" else self._pulp(free, rows)
        if out is None:
            return None
        z, x, duals = out
        full = values.copy()
        full[free] = x
        return _Answer(z, x, duals, {}, full)

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
        out = run_highs(lp)
        if out is None:
            return None
        col, dual = out
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


@dataclass(frozen=True)
class _Answer:
    """One LP's optimum: the level z, the free units' values, the dual mass on each free unit's
    deviation rows, the absolute dual of each general constraint's row (by index) and every
    unit's value (the held ones as held)."""

    z: float
    x: np.ndarray
    duals: np.ndarray
    row_duals: dict[int, float]
    full: np.ndarray
    levels: np.ndarray | None = None  # the earlier levels, as an LP over classes refined them


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
    set that leaves every total reachable is found by arithmetic (and, with general constraints,
    the largest held set whose LP is feasible, by bisection) and kept when certified, else the LP
    is repeated at the level it found and, when many thresholds lie between, a bisection finds
    the largest certified held set. A pool whose remaining total equals the sum of its free units'
    lower (or upper) bounds fixes all of them at once. So a round costs one LP with a hint, at
    most 2 + log2(thresholds) without, and there is one round per distinct level of the answer.

    Duals are used for their sign pattern (which units are blocked); a general constraint's dual
    at the first level where it binds is recorded (``FairSolution.duals``), not unique at a
    degenerate optimum. The answer is then made exact by :func:`polish` (per-unit bounds and
    pools) or :func:`polish_levels` (general constraints).
    """
    n = len(problem)
    t = problem.target
    dmin = min_deviation(problem)
    near = nearest_feasible(problem)
    lp = _Level(problem, solver)
    fixed = np.zeros(n, dtype=bool)
    value = np.zeros(n)  # the values of fixed units
    level_of = np.full(n, -1, dtype=np.intp)  # the round that fixed a unit at its level
    levels: list[float] = []
    duals: dict[str, tuple[int, float]] = {}
    hint_deviation = None if hint is None else np.abs(hint / t - 1)
    general = bool(problem.constraints)
    # With general constraints, a unit fixed at a level is held there with its level's units,
    # on its side of the target (see _Level): t_i * (1 + sign_i * level).
    sign = np.zeros(n)
    slack = [LEVEL_SLACKS[0]]  # how far earlier levels may move (see classlp.LEVEL_SLACKS)

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
        if not general:
            return pins, free, lp.solve(free, held)
        at = level_of.copy()
        at[pins] = -1
        # The level cannot exceed the last one (a little more: the last one is an LP's answer,
        # to about 8 digits from CBC); the bound only keeps the LP small.
        ceiling = levels[-1] + 1e-6 * max(1.0, levels[-1]) + slack[0] if levels else np.inf
        return pins, free, lp.solve(free, held, (at, sign, np.array(levels), slack[0], ceiling))

    def certified(attempt) -> bool:
        # Held units are right to be held when each one's forced deviation exceeds the level.
        pins, _, out = attempt
        return out is not None and bool(np.all(dmin[pins] > out.z + TOL))

    def infeasible() -> NoReturn:
        check_feasible(problem)  # raises, saying which bound or total cannot hold
        if general:
            check_constraints(problem, solver)  # raises, saying which constraints conflict
        raise InfeasibleError("the bounds and totals cannot all hold at once")

    def widened(attempt, theta: float, active: np.ndarray):
        """An attempt that must be feasible (no unit held, or the level just found), re-solved
        with the earlier levels freer when the solver's noise in them made it infeasible."""
        for wider in LEVEL_SLACKS[1:] if general and levels else ():
            if attempt[2] is not None:
                break
            slack[0] = max(slack[0], wider)
            attempt = solve_at(theta, active)
        return attempt

    def search_general(candidates: np.ndarray, lo_k: int, first, active: np.ndarray):
        """With general constraints an attempt fails (infeasible, or not certified) only by
        holding too many units: one bisection over the thresholds finds the smallest certified
        one, between the first attempt and the level it finds (or, if it found none, holding no
        unit)."""
        if certified(first):
            return first
        if first[2] is not None:  # holding fewer, at the level just found, is certified
            level = first[2].z
            best = widened(solve_at(level, active), level, active)
            hi = int(np.searchsorted(candidates, level, side="right")) - 1
            if hi - lo_k <= 8:  # a few thresholds between: cheaper one round each than a search
                hi = lo_k
        else:
            hi = len(candidates) - 1
            best = widened(solve_at(float(candidates[hi]), active), float(candidates[hi]), active)
        if best[2] is None:
            infeasible()
        a = lo_k + 1
        while a < hi:
            mid = (a + hi) // 2
            attempt = solve_at(float(candidates[mid]), active)
            if certified(attempt):
                best, hi = attempt, mid
            else:
                a = mid + 1
        return best

    def search(active: np.ndarray):
        candidates = np.concatenate([[0.0], np.unique(dmin[active])])
        # The smallest threshold whose held units leave every total reachable (arithmetic only;
        # with general constraints a first guess, since the held values carry solver noise).
        if not general and not reachable(float(candidates[-1]), active):
            infeasible()
        lo_k, hi_k = 0, len(candidates) - 1
        while lo_k < hi_k:
            mid = (lo_k + hi_k) // 2
            if reachable(float(candidates[mid]), active):
                hi_k = mid
            else:
                lo_k = mid + 1
        best = solve_at(float(candidates[lo_k]), active)
        if general:
            return search_general(candidates, lo_k, best, active)
        if best[2] is not None and not certified(best):
            # Holding fewer, at the level just found, is certified (the previous solution stays
            # feasible); then search between the two for the smallest certified threshold.
            level = best[2].z
            best = widened(solve_at(level, active), level, active)
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
        z, x = out.z, out.x
        fixed[pins] = True
        value[pins] = near[pins]
        newly = (out.duals > TOL) | (dmin[free] >= z - TOL) | (z <= TOL)
        if not newly.any():  # degenerate duals: fall back to the units at the level
            newly = _blocked(problem, free, out.full, out, solver) if general else \
                np.abs(x / t[free] - 1) >= z - 1e-7
        fixed[free[newly]] = True
        value[free[newly]] = x[newly]
        if general:
            done = free[newly]
            if out.levels is not None:
                levels[:] = out.levels.tolist()  # the earlier levels, as this LP refined them
            value[fixed] = out.full[fixed]
            held_at_bound = np.zeros(done.size, dtype=bool)
            for bound in (problem.lower, problem.upper):  # a unit fixed at its own bound
                b = bound[done]
                on = np.isfinite(b) & (np.abs(value[done] - b) <= 1e-9 * np.maximum(1, np.abs(b)))
                value[done[on]] = b[on]
                held_at_bound |= on
            on_level = done[~held_at_bound & (z > TOL)]
            level_of[on_level] = len(levels)
            sign[on_level] = np.sign(value[on_level] / t[on_level] - 1)
            for k, dual in out.row_duals.items():
                name = problem.constraints[k].name
                if dual > TOL and name not in duals:
                    duals[name] = (len(levels), dual * problem.constraints[k].scale)
        else:
            level_of[free[newly]] = len(levels)
            _fix_tight_pools(problem, fixed, value)
        levels.append(float(z))
    if general:
        exact = polish_levels(problem, value, level_of, np.array(levels))
        return FairSolution(exact=exact, status=Status.OPTIMAL, solver=solver,
                            solver_version=solver_version(solver), levels=tuple(levels),
                            lp_solves=lp.solves, lambdas=rulers(problem, exact), path="lp",
                            certificate=None, duals=duals)
    exact = polish(problem, value)
    return FairSolution(exact=exact, status=Status.OPTIMAL, solver=solver,
                        solver_version=solver_version(solver), levels=tuple(levels),
                        lp_solves=lp.solves, lambdas=pool_lambdas(problem, exact), path="lp",
                        certificate=certify(problem, exact))


def _blocked(problem: Problem, free: np.ndarray, values: np.ndarray, out: _Answer,
             solver: str) -> np.ndarray:
    """The free units that cannot go below the level z while no other free unit goes above it,
    one small LP each (used only when no dual marks them, which a vertex solution avoids)."""
    z = out.z
    at_level = np.abs(out.x / problem.target[free] - 1) >= z - 1e-7
    blocked = np.zeros(free.size, dtype=bool)
    for k in np.flatnonzero(at_level):
        if _own_level(problem, free, values, z, int(free[k]), solver) >= z - 1e-9:
            blocked[k] = True
    return blocked if blocked.any() else at_level


def _own_level(problem: Problem, free: np.ndarray, values: np.ndarray, z: float, unit: int,
               solver: str) -> float:
    """The smallest deviation of ``unit`` with every other free unit within z and every held
    unit at its value (an LP)."""
    t = problem.target
    prob = pulp.LpProblem("own", pulp.LpMinimize)
    w = prob.add_variable("w", lowBound=0)
    x = {}
    for i in free.tolist():
        low, high = problem.lower[i], problem.upper[i]
        if i != unit:
            low, high = max(low, (1 - z) * t[i]), min(high, (1 + z) * t[i])
        x[i] = prob.add_variable(f"x{i}", lowBound=low, upBound=None if np.isinf(high) else high)
    prob += pulp.LpAffineExpression([(w, 1.0)])
    prob += pulp.LpConstraint(pulp.LpAffineExpression([(x[unit], 1.0), (w, -t[unit])]),
                              pulp.LpConstraintLE, "over", t[unit])
    prob += pulp.LpConstraint(pulp.LpAffineExpression([(x[unit], 1.0), (w, t[unit])]),
                              pulp.LpConstraintGE, "under", t[unit])
    rows: list[tuple[np.ndarray, np.ndarray, float, float]] = [
        (pool.members, np.ones(pool.members.size), float(pool.total), float(pool.total))
        for pool in problem.pools]
    rows += [(c.members, c.coef, c.lower, c.upper) for c in problem.constraints]
    for j, (members, coef, low, high) in enumerate(rows):
        terms = [(x[i], a) for i, a in zip(members.tolist(), coef.tolist(), strict=True)
                 if i in x]
        held = sum(a * values[i] for i, a in zip(members.tolist(), coef.tolist(), strict=True)
                   if i not in x)
        for sense, tag, bound in ((pulp.LpConstraintGE, "lo", low), (pulp.LpConstraintLE, "hi",
                                                                      high)):
            if np.isfinite(bound) and terms:
                prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, f"r{j}{tag}",
                                          bound - held)
    prob.solve(make_solver(solver))
    if prob.status != pulp.LpStatusOptimal:
        return np.inf
    return float(w.value())


def polish_levels(problem: Problem, value: np.ndarray, level_of: np.ndarray,
                  levels: np.ndarray) -> np.ndarray:
    """Make an LP answer with general constraints exact, from the levels the sequence found.

    Units within 1e-7 (relative) of a bound are put on it. Every other unit fixed at level k sits
    at t_i * (1 +- z_k); the levels z are solved again, in double precision, from the rows that
    hold at the answer (pool totals and tight constraints), by least squares. The new values are
    kept when the levels are determined (full rank), move by at most 1e-6 and meet every bound
    and row; otherwise the solver's values (on their bounds) are.
    """
    t = problem.target
    x = value.copy()
    lower, upper = problem.lower, problem.upper
    on_low = np.abs(x - lower) <= 1e-7 * np.maximum(1.0, lower)
    finite = np.isfinite(upper)
    on_high = finite & ~on_low & (np.abs(x - np.where(finite, upper, 0.0)) <=
                                  1e-7 * np.maximum(1.0, np.where(finite, upper, 1.0)))
    x[on_low], x[on_high] = lower[on_low], upper[on_high]
    at_level = (level_of >= 0) & ~on_low & ~on_high
    deviation = x / t - 1
    sign = np.where(np.abs(deviation) > 1e-12, np.sign(deviation), 0.0)
    x[at_level & (sign == 0)] = t[at_level & (sign == 0)]
    moving = at_level & (sign != 0)
    used = np.unique(level_of[moving])
    if used.size == 0:
        return x
    column = np.searchsorted(used, level_of)
    rows = [(pool.members, np.ones(pool.members.size), float(pool.total))
            for pool in problem.pools]
    for c, (low, high) in zip(problem.constraints, tight_sides(problem, x), strict=True):
        if low or high:
            rows.append((c.members, c.coef, c.lower if low else c.upper))
    a = np.zeros((len(rows), used.size))
    b = np.zeros(len(rows))
    for j, (members, coef, rhs) in enumerate(rows):
        mov = moving[members]
        base = np.where(mov, t[members], x[members])
        b[j] = rhs - float(coef @ base)
        np.add.at(a[j], column[members[mov]], coef[mov] * t[members[mov]] * sign[members[mov]])
    solution, _, rank, _ = np.linalg.lstsq(a, b, rcond=None)
    if rank < used.size or np.max(np.abs(solution - levels[used])) > 1e-6:
        return x
    candidate = x.copy()
    candidate[moving] = t[moving] * (1 + sign[moving] * solution[column[moving]])
    if problem.violated(candidate) or np.any(candidate < lower - 1e-9 * np.maximum(1, lower)) or \
            np.any(candidate > upper + 1e-9 * np.maximum(1, np.where(finite, upper, 1))):
        return x
    for pool in problem.pools:
        if abs(candidate[pool.members].sum() - pool.total) > 1e-9 * max(1, pool.total):
            return x
    return candidate


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
