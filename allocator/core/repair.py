"""Whole posts that meet every general constraint: rounding, then a small integer repair.

Rounding (:func:`allocator.core.rounding.round_allocation`) keeps each pool's total and every
unit's integer bounds, but not a general constraint: a bounded group whose fair total is exactly
its bound of 12,000 may round to 11,999. When the rounded posts break a constraint, a small integer
program (PuLP, with HiGHS or CBC as MIP solver) moves as few posts as possible so that every
constraint holds, and among those moves the ones that keep the posts closest to the exact values
(ties to the unit first in natural id order). With Hamilton rounding the repair first keeps every
unit within one post of its exact value (floor or ceiling of it, Hamilton's quota guarantee); when
the constraints do not allow that, it says so and names the units that move further.

>>> import numpy as np
>>> from allocator.core.problem import LinearConstraint, Pool, Problem
>>> a = LinearConstraint("group_min:a", "group_max:a", np.arange(4), np.ones(4), 42.0, np.inf)
>>> p = Problem(ids=tuple("abcdefg"), target=np.full(7, 74 / 7), lower=np.zeros(7),
...     upper=np.full(7, np.inf), lower_rule=("",) * 7, upper_rule=("",) * 7,
...     pools=(Pool("", np.arange(7), 74),), total=74, constraints=(a,))
>>> exact = np.array([10.5, 10.5, 10.5, 10.5, 10.6, 10.6, 10.8])  # group a (a-d): 42 posts
>>> round_allocation(p, exact, "hamilton").tolist()   # only 41 after rounding
[11, 10, 10, 10, 11, 11, 11]
>>> posts, repair = round_within_constraints(p, exact, "hamilton")
>>> posts.tolist(), repair.moved, repair.within_one_post
([11, 11, 10, 10, 10, 11, 11], 2, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pulp

from allocator.core.classlp import unit_classes
from allocator.core.problem import Problem
from allocator.core.rounding import round_allocation
from allocator.core.solvers import MIP_SECONDS, make_mip_solver
from allocator.errors import InfeasibleError, SolverError
from allocator.ordering import natural_key

SNAP = 1e-7  # exact values this close to a whole number are that number
MAX_LISTED = 5


@dataclass(frozen=True)
class RoundingRepair:
    """What the integer repair after rounding did.

    ``violated``: the constraints the rounded posts broke; ``moved``: posts moved in all (the sum
    of the changes' sizes); ``changed``: the units whose posts changed; ``within_one_post``: whether
    every unit stays within one post of its exact value; ``outside``: the units that do not.
    """

    violated: tuple[str, ...]
    moved: int
    changed: tuple[str, ...]
    within_one_post: bool
    outside: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for a run's summary."""
        units = _listed(self.changed)
        text = (f"whole posts: rounding broke {', '.join(self.violated)}; an integer repair moved "
                f"{self.moved} post{'s' if self.moved != 1 else ''} ({units})")
        if self.within_one_post:
            return text + "; every unit stays within one post of its exact value"
        return text + (f"; the constraints need {_listed(self.outside)} more than one post "
                       "from the exact value")

    def as_dict(self) -> dict[str, object]:
        """Plain JSON values, for a run record."""
        return {"violated": list(self.violated), "moved": self.moved,
                "changed": list(self.changed), "within_one_post": self.within_one_post,
                "outside_one_post": list(self.outside)}


def _listed(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:MAX_LISTED])
    return shown + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def round_within_constraints(problem: Problem, exact: np.ndarray, method: str,
                             solver: str = "highs") -> tuple[np.ndarray, RoundingRepair | None]:
    """Whole posts by ``method``, repaired when they break a general constraint (None: no repair
    was needed). Raises :class:`InfeasibleError` when no whole posts meet every constraint."""
    posts = round_allocation(problem, exact, method)
    violated = problem.violated(posts.astype(float))
    if not violated:
        return posts, None
    exact = np.asarray(exact, dtype=float)
    low = np.maximum(problem.lower, np.floor(exact + SNAP))
    high = np.minimum(problem.upper, np.ceil(exact - SNAP))
    repaired = None
    if method == "hamilton":
        repaired = _candidates_repair(problem, exact, posts, low, high, solver)
    if repaired is None:
        repaired = _candidates_repair(problem, exact, posts, problem.lower, problem.upper, solver)
    if repaired is None:
        names = ", ".join(c.name for c in violated)
        raise InfeasibleError(f"no whole-post allocation meets every constraint: the fair "
                              f"allocation meets {names} only with fractions of posts; widen "
                              "their bounds by a post")
    ids = problem.ids
    changed = np.flatnonzero(repaired != posts)
    outside = np.flatnonzero((repaired < low) | (repaired > high))
    return repaired, RoundingRepair(
        violated=tuple(c.name for c in violated),
        moved=int(np.abs(repaired - posts).sum()),
        changed=tuple(ids[i] for i in changed),
        within_one_post=not outside.size,
        outside=tuple(ids[i] for i in outside))


def _candidates_repair(problem: Problem, exact: np.ndarray, posts: np.ndarray, low: np.ndarray,
                       high: np.ndarray, solver: str) -> np.ndarray | None:
    """:func:`_repair` over a few candidate units, as good as over all of them.

    Units of one class (same pool, same coefficient in every constraint: the rows cannot tell
    them apart) are taken in the order the repair prefers them, closest to the exact value first,
    then natural id order: an optimal repair moves a first few of each class each way. So the
    first ``k`` of each class and direction are candidates; when a repair uses all ``k`` of one,
    ``k`` doubles (a large model's repair then solves a small integer program)."""
    of_unit, keys = unit_classes(problem)
    n = len(problem)
    rank = np.empty(n, dtype=np.intp)
    rank[sorted(range(n), key=lambda i: natural_key(problem.ids[i]))] = np.arange(n)
    gap = np.abs(posts - exact)
    sides = []
    for step, room in ((1, high > posts), (-1, low < posts)):
        cost = np.abs(posts + step - exact) - gap
        order = np.lexsort((rank, np.round(cost, 9), of_unit))
        order = order[room[order]]
        # Position of each unit within its class, in that order.
        starts = np.searchsorted(of_unit[order], np.arange(len(keys)))
        position = np.empty(n, dtype=np.intp)
        position[order] = np.arange(order.size) - starts[of_unit[order]]
        sides.append((room, position))
    k = 8
    while True:
        keep = np.zeros(n, dtype=bool)
        for room, position in sides:
            keep |= room & (position < k)
        out = _repair(problem, exact, posts, np.where(keep, low, posts), np.where(keep, high, posts),
                      solver)
        moved = out is not None and any(
            np.any((out - posts)[keep & room & (position == k - 1)] * step > 0)
            for (room, position), step in zip(sides, (1, -1), strict=True))
        if not moved or keep.sum() == np.count_nonzero(low < high):
            if out is None and keep.sum() < np.count_nonzero(low < high):
                k *= 2  # infeasible with these candidates: widen before giving up
                continue
            return out
        k *= 2


def _repair(problem: Problem, exact: np.ndarray, posts: np.ndarray, low: np.ndarray,
            high: np.ndarray, solver: str) -> np.ndarray | None:
    """The whole posts within [low, high] that meet every pool total and constraint with the
    fewest posts moved from ``posts``, then closest to ``exact``; None if there are none.

    Variables are the moves: up_i, down_i >= 0, whole, only where the bounds leave room (with
    Hamilton's quota bounds, at most one post one way per unit)."""
    n = len(problem)
    prob = pulp.LpProblem("repair", pulp.LpMinimize)
    up: dict[int, pulp.LpVariable] = {}
    down: dict[int, pulp.LpVariable] = {}
    for i in np.flatnonzero(high > posts).tolist():
        room = None if np.isinf(high[i]) else float(high[i] - posts[i])
        up[i] = prob.add_variable(f"u{i}", lowBound=0, upBound=room, cat="Integer")
    for i in np.flatnonzero(low < posts).tolist():
        down[i] = prob.add_variable(f"d{i}", lowBound=0, upBound=float(posts[i] - low[i]),
                                    cat="Integer")

    def change(members: np.ndarray, coef: np.ndarray) -> pulp.LpAffineExpression:
        return pulp.LpAffineExpression(
            [(up[i], a) for i, a in zip(members.tolist(), coef.tolist(), strict=True) if i in up] +
            [(down[i], -a) for i, a in zip(members.tolist(), coef.tolist(), strict=True)
             if i in down])

    for k, pool in enumerate(problem.pools):
        prob += pulp.LpConstraint(change(pool.members, np.ones(pool.members.size)),
                                  pulp.LpConstraintEQ, f"pool{k}", 0.0)
    for k, c in enumerate(problem.constraints):
        now = float(c.activity(posts.astype(float)))
        whole = bool(np.all(c.coef == np.round(c.coef)))  # the change is then a whole number
        for sense, tag, bound, to_whole in ((pulp.LpConstraintGE, "lo", c.lower, math.ceil),
                                            (pulp.LpConstraintLE, "hi", c.upper, math.floor)):
            if np.isfinite(bound):
                rhs = bound - now
                rhs = float(to_whole(round(rhs, 9))) if whole else float(rhs)
                prob += pulp.LpConstraint(change(c.members, c.coef), sense, f"c{k}{tag}", rhs)
    mip = make_mip_solver(solver)
    moves = pulp.LpAffineExpression([(v, 1.0) for v in [*up.values(), *down.values()]])
    # Three objectives in turn, each kept within its optimum for the next: the fewest posts
    # moved; then the posts closest to the exact values; then, among exact ties, moves of the
    # units first in natural id order (whole-number weights, so that no solver tolerance decides).
    gap = np.abs(posts - exact)
    closeness = pulp.LpAffineExpression(
        [(v, float(np.abs(posts[i] + 1 - exact[i]) - gap[i])) for i, v in up.items()] +
        [(v, float(np.abs(posts[i] - 1 - exact[i]) - gap[i])) for i, v in down.items()])
    rank = np.empty(n)
    rank[sorted(range(n), key=lambda i: natural_key(problem.ids[i]))] = np.arange(n)
    order = pulp.LpAffineExpression([(v, float(rank[i] + 1)) for i, v in up.items()] +
                                    [(v, float(rank[i] + 1)) for i, v in down.items()])
    for k, (objective, margin) in enumerate(((moves, 0.5), (closeness, 1e-7), (order, 0.5))):
        prob.setObjective(objective)
        prob.solve(mip)
        if prob.status == pulp.LpStatusNotSolved or (
                prob.status == pulp.LpStatusOptimal and prob.sol_status != pulp.LpSolutionOptimal):
            raise SolverError(f"the integer repair after rounding did not finish within "
                              f"{MIP_SECONDS} s ({solver}); widen the constraints the rounded "
                              "posts break by a post, or choose another rounding method")
        if prob.status != pulp.LpStatusOptimal:
            return None
        if k < 2:  # relative margin: CBC reports about 8 significant digits
            best = float(pulp.value(objective) or 0.0)
            prob += pulp.LpConstraint(objective, pulp.LpConstraintLE, f"best{k}",
                                      best + margin * max(1.0, abs(best)))
    out = posts.copy()
    for i, v in up.items():
        out[i] += int(round(v.value() or 0.0))
    for i, v in down.items():
        out[i] -= int(round(v.value() or 0.0))
    if problem.violated(out.astype(float)) or any(
            int(out[p.members].sum()) != p.total for p in problem.pools):
        return None
    return out
