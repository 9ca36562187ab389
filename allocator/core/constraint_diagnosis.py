"""Infeasibility diagnosis for general constraints: which ones conflict, in numbers, and the
smallest relaxation that lets every constraint hold.

Per-unit bounds and pool totals are diagnosed exactly by :mod:`allocator.core.feasibility`; this
module takes over when those can hold but the general constraints (bounded group totals, equal-cut
rules, named constraints) cannot. :func:`constraint_conflicts` says, for each constraint that must
give way, the range its sum can take while everything else holds (an LP each way) and which other
constraints limit it (those with a non-zero dual in that LP); :func:`elastic_constraints` extends
the elastic LP to every constraint: the least total relaxation, in each constraint's own units
(posts for group bounds and named constraints with coefficients 1), and where it falls.

>>> import numpy as np
>>> from allocator.core.problem import LinearConstraint, Pool, Problem
>>> rows = (LinearConstraint("group_min:a", "group_max:a", np.array([0, 1]), np.ones(2), 80.0,
...                          np.inf),
...         LinearConstraint("group_min:b", "group_max:b", np.array([2]), np.ones(1), 30.0,
...                          np.inf))
>>> p = Problem(ids=("x", "y", "z"), target=np.full(3, 100 / 3), lower=np.zeros(3),
...     upper=np.full(3, np.inf), lower_rule=("",) * 3, upper_rule=("",) * 3,
...     pools=(Pool("", np.arange(3), 100),), total=100, constraints=rows)
>>> print(constraint_infeasibility(p))  # doctest: +NORMALIZE_WHITESPACE
the constraints cannot all hold: group:a needs at least 80 but with every other constraint
holding it can reach at most 70 (10 short; limited by the allocatable cap, group:b); group:b
needs at least 30 but with every other constraint holding it can reach at most 20 (10 short;
limited by the allocatable cap, group:a); smallest relaxation that makes every constraint hold:
10 in all (group:b: 10)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pulp

from allocator.core.constraints import number as _num
from allocator.core.feasibility import relaxation_text
from allocator.core.problem import LinearConstraint, Problem
from allocator.core.solvers import make_solver
from allocator.errors import InfeasibleError

FEASIBLE = 1e-6  # total relaxation (posts) below which the constraints hold
MAX_CHECKED = 20  # constraints checked one by one for a conflict; beyond, only the relaxed ones


@dataclass(frozen=True)
class ConstraintConflict:
    """A general constraint that cannot hold while everything else does, in its own units:
    it needs ``needed`` but the rest allows at most (or least) ``reachable``; ``limits`` names the
    constraints that stop it."""

    name: str
    needed: float
    reachable: float
    side: str
    limits: tuple[str, ...]

    def describe(self) -> str:
        """One clause, e.g. ``group:a needs at least 80 but ... at most 30 (50 short; ...)``."""
        gap = abs(self.needed - self.reachable)
        word, limit = ("at least", "at most") if self.side == "lower" else ("at most", "at least")
        short = "short" if self.side == "lower" else "too many"
        limits = f"; limited by {', '.join(self.limits)}" if self.limits else ""
        return (f"{self.name} needs {word} {_num(self.needed)} but with every other constraint "
                f"holding it can reach {limit} {_num(self.reachable)} ({_num(gap)} {short}{limits})")


@dataclass(frozen=True)
class ConstraintRelaxation:
    """The least total relaxation of all bounds, totals and constraints together, in each
    constraint's own units (so not in posts, unlike :class:`allocator.core.feasibility.Relaxation`:
    an equal-cut rule's part is a difference of cuts), written as :func:`_num` writes them."""

    total: float
    parts: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        """One line, e.g. ``smallest relaxation ...: 10 in all (group:b: 10)``."""
        return relaxation_text(self.total, self.parts, _num)


class _Model:
    """The constraints as a PuLP model: x within its bounds, pools at their totals, rows within
    theirs; optionally with elastic slack on every bound, total and row."""

    def __init__(self, problem: Problem, elastic: bool, skip: int | None = None):
        self.problem = problem
        n = len(problem)
        prob = pulp.LpProblem("diagnosis", pulp.LpMinimize)
        self.prob = prob
        lower, upper = problem.lower, problem.upper
        if elastic:
            self.x = [prob.add_variable(f"x{i}", lowBound=0) for i in range(n)]
        else:
            self.x = [prob.add_variable(f"x{i}", lowBound=float(lower[i]),
                                        upBound=None if math.isinf(upper[i]) else float(upper[i]))
                      for i in range(n)]
        self.slack: dict[str, list] = {}
        self.rows: dict[str, list] = {}
        if elastic:
            for i in range(n):
                self._row(f"lo{i}", [(self.x[i], 1.0)], float(lower[i]), math.inf, "bounds")
                if math.isfinite(upper[i]):
                    self._row(f"hi{i}", [(self.x[i], 1.0)], -math.inf, float(upper[i]), "bounds")
        for k, pool in enumerate(problem.pools):
            terms = [(self.x[int(i)], 1.0) for i in pool.members]
            self._row(f"pool{k}", terms, float(pool.total), float(pool.total),
                      "totals" if elastic else None, key=_pool_name(problem, k))
        for k, c in enumerate(problem.constraints):
            if k == skip:
                continue
            terms = [(self.x[int(i)], float(a)) for i, a in zip(c.members, c.coef, strict=True)]
            self._row(f"c{k}", terms, c.lower, c.upper, c.name if elastic else None, key=c.name)

    def _row(self, tag: str, terms, low: float, high: float, slack_key: str | None,
             key: str | None = None) -> None:
        added = []
        for sense, side, bound in ((pulp.LpConstraintGE, "lo", low),
                                   (pulp.LpConstraintLE, "hi", high)):
            if not math.isfinite(bound) or (side == "hi" and low == high):
                continue
            expr = pulp.LpAffineExpression(terms)
            sense_now = pulp.LpConstraintEQ if low == high else sense
            if slack_key is not None:
                plus = self.prob.add_variable(f"s{tag}{side}", lowBound=0)
                expr = pulp.LpAffineExpression(terms + [(plus, 1.0 if side == "lo" else -1.0)])
                self.slack.setdefault(slack_key, []).append(plus)
                if low == high:
                    minus = self.prob.add_variable(f"m{tag}", lowBound=0)
                    expr = pulp.LpAffineExpression(terms + [(plus, 1.0), (minus, -1.0)])
                    self.slack[slack_key].append(minus)
            row = pulp.LpConstraint(expr, sense_now, f"{tag}{side}", bound)
            self.prob += row
            added.append(row)
        if key is not None:
            self.rows.setdefault(key, []).extend(added)

    def all_slack(self):
        return pulp.LpAffineExpression([(v, 1.0) for vs in self.slack.values() for v in vs])

    def solve(self, objective, solver: str) -> bool:
        self.prob.setObjective(objective)
        self.prob.solve(make_solver(solver, method="choose"))
        return self.prob.status == pulp.LpStatusOptimal


def _pool_name(problem: Problem, k: int) -> str:
    pool = problem.pools[k]
    return f"the total of group '{pool.name}'" if pool.name else "the allocatable cap"


def elastic_constraints(problem: Problem, solver: str = "highs") -> ConstraintRelaxation:
    """The least total relaxation (posts, and each constraint's row units) that lets every
    bound, total and general constraint hold; among equally small ones, totals are kept."""
    model = _Model(problem, elastic=True)
    model.solve(model.all_slack(), solver)
    best = float(pulp.value(model.prob.objective) or 0.0)
    totals = pulp.LpAffineExpression([(v, 1.0) for v in model.slack.get("totals", [])])
    if best > FEASIBLE and totals:
        model.prob += pulp.LpConstraint(model.all_slack(), pulp.LpConstraintLE, "best",
                                        best + 1e-9 * max(1.0, best))
        model.solve(totals, solver)
    scale = {c.name: c.scale for c in problem.constraints}
    parts = []
    for key, variables in model.slack.items():
        value = sum(v.value() or 0.0 for v in variables) / scale.get(key, 1.0)
        if value > FEASIBLE:
            label = {"bounds": "units' own bounds", "totals": "pool totals"}.get(key, key)
            parts.append((label, round(value, 6)))
    return ConstraintRelaxation(total=round(best, 6), parts=tuple(parts))


def constraint_conflicts(problem: Problem, relaxed: set[str] | None = None,
                         solver: str = "highs") -> tuple[ConstraintConflict, ...]:
    """For each general constraint (or each one named in ``relaxed``) that cannot hold while all
    the others do: the nearest value its sum can take, and the constraints that stop it there."""
    out = []
    for k, c in enumerate(problem.constraints):
        if relaxed is not None and c.name not in relaxed:
            continue
        for side, bound in (("lower", c.lower), ("upper", c.upper)):
            if not math.isfinite(bound):
                continue
            reach = _reach(problem, k, c, side == "lower", solver)
            if reach is None:
                continue
            value, limits = reach
            if (side == "lower" and value < bound - c.tolerance()) or \
                    (side == "upper" and value > bound + c.tolerance()):
                out.append(ConstraintConflict(c.name, bound / c.scale, value / c.scale, side,
                                              limits))
    return tuple(out)


def _reach(problem: Problem, k: int, c: LinearConstraint, up: bool, solver: str):
    """The largest (``up``) or smallest sum of constraint k with everything else holding, and the
    constraints with a non-zero dual there; None when everything else cannot hold either."""
    model = _Model(problem, elastic=False, skip=k)
    terms = [(model.x[int(i)], float(-a if up else a)) for i, a in zip(c.members, c.coef,
                                                                       strict=True)]
    if not model.solve(pulp.LpAffineExpression(terms), solver):
        return None
    value = float(c.activity(np.array([v.value() or 0.0 for v in model.x])))
    limits = [name for name, rows in model.rows.items()
              if any(abs(row.pi or 0.0) > 1e-9 for row in rows)]
    # Units' own bounds limit it when any of its units sits at a bound it pushes against.
    x = np.array([v.value() or 0.0 for v in model.x])
    m = c.members
    push_up = (c.coef > 0) == up
    at_top = np.where(push_up, x[m] >= problem.upper[m] - 1e-7, x[m] <= problem.lower[m] + 1e-7)
    if at_top.any():
        limits.append("units' own bounds")
    return value, tuple(limits)


def constraint_infeasibility(problem: Problem, solver: str = "highs") -> str | None:
    """One line saying which general constraints conflict and the smallest relaxation, or None
    when every bound, total and constraint can hold together."""
    if not problem.constraints:
        return None
    relaxation = elastic_constraints(problem, solver)
    if relaxation.total <= FEASIBLE:
        return None
    # Every constraint that misses with all the others holding (each costs two LPs: on a model
    # with many constraints, only those the elastic LP relaxes).
    relaxed = {name for name, _ in relaxation.parts} if len(problem.constraints) > MAX_CHECKED \
        else None
    conflicts = constraint_conflicts(problem, relaxed, solver) or \
        constraint_conflicts(problem, None, solver)
    text = "; ".join(c.describe() for c in conflicts) or \
        "the general constraints cannot all hold with the bounds and totals"
    return f"the constraints cannot all hold: {text}; {relaxation.describe()}"


def check_constraints(problem: Problem, solver: str = "highs") -> None:
    """Raise :class:`InfeasibleError` saying which general constraints conflict, in numbers, and
    the smallest relaxation; nothing when they can all hold (one LP)."""
    reason = constraint_infeasibility(problem, solver)
    if reason is not None:
        raise InfeasibleError(reason)
