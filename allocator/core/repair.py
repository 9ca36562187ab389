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

from dataclasses import dataclass

import numpy as np
import pulp

from allocator.core.problem import Problem
from allocator.core.rounding import round_allocation
from allocator.core.solvers import make_mip_solver
from allocator.errors import InfeasibleError
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
        repaired = _repair(problem, exact, posts, low, high, solver)
    if repaired is None:
        repaired = _repair(problem, exact, posts, problem.lower, problem.upper, solver)
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


def _repair(problem: Problem, exact: np.ndarray, posts: np.ndarray, low: np.ndarray,
            high: np.ndarray, solver: str) -> np.ndarray | None:
    """The whole posts within [low, high] that meet every pool total and constraint with the
    fewest posts moved from ``posts``, then closest to ``exact``; None if there are none."""
    n = len(problem)
    prob = pulp.LpProblem("repair", pulp.LpMinimize)
    y, up, down = [], [], []
    for i in range(n):
        hi = None if np.isinf(high[i]) else float(high[i])
        y.append(prob.add_variable(f"y{i}", lowBound=float(low[i]), upBound=hi, cat="Integer"))
        up.append(prob.add_variable(f"u{i}", lowBound=0))
        down.append(prob.add_variable(f"d{i}", lowBound=0))
        prob += pulp.LpConstraint(pulp.LpAffineExpression([(y[i], 1.0), (up[i], -1.0),
                                                           (down[i], 1.0)]),
                                  pulp.LpConstraintEQ, f"move{i}", float(posts[i]))
    for k, pool in enumerate(problem.pools):
        prob += pulp.LpConstraint(pulp.LpAffineExpression([(y[int(i)], 1.0) for i in pool.members]),
                                  pulp.LpConstraintEQ, f"pool{k}", float(pool.total))
    for k, c in enumerate(problem.constraints):
        terms = [(y[int(i)], float(a)) for i, a in zip(c.members, c.coef, strict=True)]
        for sense, tag, bound in ((pulp.LpConstraintGE, "lo", c.lower),
                                  (pulp.LpConstraintLE, "hi", c.upper)):
            if np.isfinite(bound):
                prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, f"c{k}{tag}",
                                          float(bound))
    mip = make_mip_solver(solver)
    moves = pulp.LpAffineExpression([(v, 1.0) for v in up + down])
    prob.setObjective(moves)
    prob.solve(mip)
    if prob.status != pulp.LpStatusOptimal:
        return None
    fewest = round(float(pulp.value(prob.objective) or 0.0))
    # Among the fewest moves: the posts closest to the exact values; exact ties to the unit first
    # in natural id order (a term far below the 1e-6 posts at which exact values differ).
    rank = np.empty(n)
    rank[sorted(range(n), key=lambda i: natural_key(problem.ids[i]))] = np.arange(n)
    gap = np.abs(posts - exact)
    cost_up = np.abs(posts + 1 - exact) - gap + 1e-7 * (rank + 1) / n
    cost_down = np.abs(posts - 1 - exact) - gap + 1e-7 * (rank + 1) / n
    prob += pulp.LpConstraint(moves, pulp.LpConstraintLE, "fewest", float(fewest))
    prob.setObjective(pulp.LpAffineExpression(
        [(up[i], float(cost_up[i])) for i in range(n)] +
        [(down[i], float(cost_down[i])) for i in range(n)]))
    prob.solve(mip)
    if prob.status != pulp.LpStatusOptimal:
        return None
    out = np.rint(np.array([v.value() or 0.0 for v in y])).astype(np.int64)
    if problem.violated(out.astype(float)) or any(
            int(out[p.members].sum()) != p.total for p in problem.pools):
        return None
    return out
