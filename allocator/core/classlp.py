"""One level of the LP sequence with general constraints, solved over classes of units.

Units in the same pool with the same coefficient in every general constraint (a *class*) enter
every row only through their sum X_c. At level z, a free unit can take any value in
[max(L_i, (1 - z) t_i), min(U_i, (1 + z) t_i)] and a held unit any value in its held interval, so
the class's sum can take exactly the values between

    low_c(z) = held_low_c + sum_i max(L_i, (1 - z) t_i)     (convex, decreasing in z)
    high_c(z) = held_high_c + sum_i min(U_i, (1 + z) t_i)   (concave, increasing in z)

A convex piecewise-linear function is the largest of its linear pieces, so "X_c >= low_c(z)" is
one row per piece, each with two non-zeros (X_c and z), and likewise "X_c <= high_c(z)". The
level's LP, min z subject to these rows, each pool's total and each constraint, has one column per
class (plus z) instead of one per unit: a handful of columns for a national model with
provincial bounds, so each solve takes milliseconds.

A class whose piece rows carry a non-zero dual sits at low_c(z) (or high_c(z)) in every optimum:
each of its free units is then at max(L_i, (1 - z) t_i) (or min(U_i, (1 + z) t_i)) -- at the level
or at its own bound -- in every optimum, and is fixed there. The units of a class that no row
holds share the class's sum by water-filling (any split is optimal at this level).

>>> import numpy as np
>>> from allocator.core.problem import LinearConstraint, Pool, Problem
>>> c = LinearConstraint("group_min:a", "group_max:a", np.array([0]), np.ones(1), 40.0, np.inf)
>>> p = Problem(ids=("a", "b", "c"), target=np.array([20.0, 40.0, 40.0]), lower=np.zeros(3),
...     upper=np.full(3, np.inf), lower_rule=("",) * 3, upper_rule=("",) * 3,
...     pools=(Pool("", np.arange(3), 100),), total=100, constraints=(c,))
>>> level = ClassLevel(p, "highs")
>>> z, x, duals, rows, full, _ = level.solve(np.arange(3), np.zeros(3), np.full(3, -1),
...                                         np.zeros(3), np.zeros(0))
>>> round(z, 6), full.round(6).tolist()
(1.0, [40.0, 30.0, 30.0])
"""

from __future__ import annotations

import numpy as np
import pulp

from allocator.core.problem import Problem
from allocator.core.solvers import make_solver, run_highs
from allocator.core.waterfill import fill_level
from allocator.errors import SolverError

TOL = 1e-9
# How far an earlier level may move (its LP value is only that exact): the smallest that makes the
# LP feasible is used, so that a later level cannot buy itself a better value with it.
LEVEL_SLACKS = (1e-9, 1e-8, 1e-7, 1e-6)


class ClassLevel:
    """The classes of a problem, and the level LP over them (:meth:`solve`)."""

    def __init__(self, problem: Problem, solver: str):
        self.problem = problem
        self.solver = solver
        self.of_unit, keys = unit_classes(problem)
        self.pool = np.array([key[0] for key in keys], dtype=np.intp)
        self.coef = [dict(key[1]) for key in keys]
        self.members = [np.flatnonzero(self.of_unit == c) for c in range(len(keys))]

    def __len__(self) -> int:
        return len(self.members)

    def solve(self, free: np.ndarray, held: np.ndarray, level_of: np.ndarray,
              sign: np.ndarray, levels: np.ndarray, slack: float = LEVEL_SLACKS[0],
              z_high: float = np.inf):
        """min z with the units ``free`` within z of their targets and the others held: a unit
        with ``level_of[i] = k >= 0`` at t_i * (1 + sign_i * w_k), where w_k, the level of round
        k, may move by ``slack`` from ``levels[k]`` (all its units together: the LP's level is only
        that exact; see LEVEL_SLACKS), any other at ``held[i]``.
        ``z_high``: a level the answer cannot exceed (the last one): only the pieces of each
        class's range between the free units' own deviation and it enter the LP.

        Returns ``(z, x of the free units, dual mass of each free unit, dual of each constraint
        row by index, every unit's value, the levels w)`` or None when infeasible.
        """
        p = self.problem
        t, lower, upper = p.target, p.lower, p.upper
        n_class = len(self)
        n_level = len(levels)
        is_free = np.zeros(len(p), dtype=bool)
        is_free[free] = True
        at_level = ~is_free & (level_of >= 0)
        fixed = ~is_free & ~at_level
        z_low = float(max(0.0, np.max(_own_deviation(p, free), initial=0.0)))
        pieces: list[tuple[np.ndarray, ...]] = []  # (column, slope, low, high, side) per class
        classes: list[int] = []  # the classes with free units: one column each
        for c, m in enumerate(self.members):
            f = m[is_free[m]]
            if f.size == 0:
                continue
            col = len(classes)
            classes.append(c)
            tf = t[f]
            # low_c(z): units with breakpoint 1 - L/t <= z sit at L, the others at (1 - z) t;
            # piece k has the first k units (by breakpoint) at L: X_c + rest * z >= floors + rest.
            breaks = 1 - lower[f] / tf
            order = np.argsort(breaks, kind="stable")
            floors = np.concatenate([[0.0], np.cumsum(lower[f][order])])
            rest = tf[order].sum() - np.concatenate([[0.0], np.cumsum(tf[order])])
            near = _pieces_between(breaks[order], z_low, z_high)
            pieces.append((np.full(near.size, col), rest[near], floors[near] + rest[near],
                           np.full(near.size, np.inf), np.zeros(near.size, dtype=np.intp)))
            # high_c(z): units with breakpoint U/t - 1 <= z sit at U, the others at (1 + z) t;
            # piece k has the first k units at U: X_c - grow * z <= capped + grow.
            finite = np.isfinite(upper[f])
            breaks = np.where(finite, upper[f] / tf - 1, np.inf)
            order = np.argsort(breaks, kind="stable")
            capped = np.concatenate([[0.0], np.cumsum(np.where(finite, upper[f], 0.0)[order])])
            grow = tf[order].sum() - np.concatenate([[0.0], np.cumsum(tf[order])])
            near = _pieces_between(breaks[order], z_low, z_high)
            near = near[near <= finite.sum()]  # beyond: a unit without a ceiling would sit at it
            pieces.append((np.full(near.size, col), -grow[near], np.full(near.size, -np.inf),
                           capped[near] + grow[near], np.ones(near.size, dtype=np.intp)))
        if pieces:
            row_class, row_slope, row_low, row_high, row_side = (np.concatenate(part) for part in
                                                                 zip(*pieces, strict=True))
        else:
            row_class, row_side = np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
            row_slope, row_low, row_high = np.zeros(0), np.zeros(0), np.zeros(0)
        n_col = len(classes)
        column = np.full(n_class, -1, dtype=np.intp)
        column[classes] = np.arange(n_col)
        # Pool totals and general constraints: the free part by class, the held part by level.
        extra = []
        terms = [(pool.members, np.ones(pool.members.size), float(pool.total), float(pool.total),
                  -1) for pool in p.pools]
        terms += [(con.members, con.coef, con.lower, con.upper, k)
                  for k, con in enumerate(p.constraints)]
        for members, coef, lo, hi, k in terms:
            free_m = is_free[members]
            cols = np.unique(column[self.of_unit[members[free_m]]])  # the units of a class
            a_class = np.array([self.coef[classes[j]][k] if k >= 0 else 1.0 for j in cols])
            lvl = at_level[members]
            on_level = np.bincount(level_of[members[lvl]],
                                   weights=coef[lvl] * t[members[lvl]] * sign[members[lvl]],
                                   minlength=n_level)
            base = float(coef[lvl] @ t[members[lvl]]) + float(coef[fixed[members]] @
                                                              held[members[fixed[members]]])
            extra.append((cols, a_class, on_level, lo - base, hi - base, k))
        solve = _highs if self.solver == "highs" else _pulp
        out = solve(n_col, n_level, z_low, z_high, np.maximum(levels - slack, 0.0), levels + slack,
                    row_class.astype(np.intp), row_slope, row_low, row_high,
                    row_side.astype(np.intp), extra, self.solver)
        if out is None:
            return None
        z, sums, w, at_low, at_high, extra_duals = out
        full = np.where(fixed, held, 0.0)
        full[at_level] = t[at_level] * (1 + sign[at_level] * w[level_of[at_level]])
        mass = np.zeros(len(p))
        for col, c in enumerate(classes):
            m = self.members[c]
            f = m[is_free[m]]
            lo = np.maximum(lower[f], (1 - z) * t[f])
            hi = np.minimum(upper[f], (1 + z) * t[f])
            if at_low[col] > TOL:
                full[f], mass[f] = lo, at_low[col]
            elif at_high[col] > TOL:
                full[f], mass[f] = hi, at_high[col]
            else:  # any split is optimal here: the class's water-fill
                share = min(max(float(sums[col]), lo.sum()), hi.sum())
                full[f] = np.clip(fill_level(t[f], lo, hi, share) * t[f], lo, hi)
        row_duals = {k: float(extra_duals[j]) for j, (*_, k) in enumerate(extra)
                     if k >= 0 and np.isfinite(extra_duals[j])}
        return z, full[free], mass[free], row_duals, full, w


def _pieces_between(breaks: np.ndarray, z_low: float, z_high: float) -> np.ndarray:
    """The pieces of a piecewise-linear sum that matter for z in [z_low, z_high]: piece k (the
    first k sorted ``breaks`` passed) holds for breaks[k-1] <= z < breaks[k].

    >>> _pieces_between(np.array([0.1, 0.2, 0.3, 0.4]), 0.15, 0.25).tolist()
    [1, 2]
    """
    first = int(np.searchsorted(breaks, z_low, side="right"))  # breaks[first - 1] <= z_low
    last = int(np.searchsorted(breaks, z_high, side="right"))
    return np.arange(first, last + 1)


def unit_classes(problem: Problem) -> tuple[np.ndarray, list[tuple]]:
    """Each unit's class (index) and each class's key: its pool and its coefficient in each
    general constraint, ``(pool, ((constraint, coefficient), ...))``.

    >>> from allocator.core.problem import LinearConstraint, Pool, Problem
    >>> c = LinearConstraint("c", "c", np.array([0, 1]), np.ones(2), 1.0, np.inf)
    >>> p = Problem(ids=("a", "b", "c"), target=np.ones(3), lower=np.zeros(3),
    ...     upper=np.full(3, np.inf), lower_rule=("",) * 3, upper_rule=("",) * 3,
    ...     pools=(Pool("", np.arange(3), 3),), total=3, constraints=(c,))
    >>> unit_classes(p)[0].tolist()
    [0, 0, 1]
    """
    n = len(problem)
    pool_of = np.empty(n, dtype=np.intp)
    for k, pool in enumerate(problem.pools):
        pool_of[pool.members] = k
    pattern: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for k, c in enumerate(problem.constraints):
        for i, a in zip(c.members.tolist(), c.coef.tolist(), strict=True):
            if a != 0:
                pattern[i].append((k, a))
    index: dict[tuple, int] = {}
    of_unit = np.array([index.setdefault((int(pool_of[i]), tuple(pattern[i])), len(index))
                        for i in range(n)], dtype=np.intp)
    return of_unit, list(index)


def _own_deviation(problem: Problem, units: np.ndarray) -> np.ndarray:
    t = problem.target[units]
    return np.maximum(0.0, np.maximum(problem.lower[units] / t - 1, 1 - problem.upper[units] / t))


def _highs(n_col, n_level, z_low, z_high, w_low, w_high, row_class, row_slope, row_low, row_high,
           row_side, extra, solver):
    """Columns: X_0 .. X_{n_col-1}, z, w_0 .. w_{n_level-1}. A class is at an end of its range
    in every optimum where the duals of its piece rows on that side are non-zero (HiGHS's simplex
    duals are basic and reliable)."""
    import highspy

    n_piece = row_class.size
    z_col = n_col
    lp = highspy.HighsLp()
    lp.num_col_ = n_col + 1 + n_level
    lp.col_cost_ = np.concatenate([np.zeros(n_col), [1.0], np.zeros(n_level)])
    lp.col_lower_ = np.concatenate([np.full(n_col, -np.inf), [z_low], w_low])
    lp.col_upper_ = np.concatenate([np.full(n_col, np.inf), [z_high], w_high])
    w_cols = np.arange(n_level) + n_col + 1
    index = [np.column_stack([row_class, np.full(n_piece, z_col)]).ravel()]
    value = [np.column_stack([np.ones(n_piece), row_slope]).ravel()]
    lengths = [np.full(n_piece, 2)]
    for cols, a, on_level, _, _, _ in extra:
        used = np.flatnonzero(on_level)
        index.append(np.concatenate([cols, w_cols[used]]))
        value.append(np.concatenate([a, on_level[used]]))
        lengths.append(np.array([cols.size + used.size]))
    lp.num_row_ = n_piece + len(extra)
    lp.row_lower_ = np.concatenate([row_low, [lo for *_, lo, _, _ in extra]])
    lp.row_upper_ = np.concatenate([row_high, [hi for *_, hi, _ in extra]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate(index).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate(value).astype(float)
    out = run_highs(lp, "simplex")
    if out is None:
        return None
    col, dual = out
    pieces = dual[:n_piece]
    at_low = np.bincount(row_class[row_side == 0], weights=pieces[row_side == 0], minlength=n_col)
    at_high = np.bincount(row_class[row_side == 1], weights=pieces[row_side == 1],
                          minlength=n_col)
    return float(col[z_col]), col[:n_col], col[z_col + 1:], at_low, at_high, dual[n_piece:]


def _pulp(n_col, n_level, z_low, z_high, w_low, w_high, row_class, row_slope, row_low, row_high,
          row_side, extra, solver):
    """The same LP through PuLP (CBC). Its duals are not trusted (CBC reports nonsense duals at
    some degenerate vertices, and about 8 significant digits): a class is taken to be at an end
    of its range in every optimum when, with z at its optimum, its sum cannot move off that end
    (two more LPs per class), and no constraint's dual is reported.

    Each class's sum is a column scaled to about 1 (its sum divided by the largest number in its
    piece rows) and every row is divided by its largest coefficient: CBC's simplex returns wrong
    "optimal" levels on the national model's rows in posts (sums of millions, hundreds of nearly
    parallel pieces), and the right one once the rows are scaled."""
    rhs = np.where(np.isfinite(row_low), row_low, row_high)
    scale = np.ones(n_col)
    np.maximum.at(scale, row_class, np.maximum(np.abs(rhs), np.abs(row_slope)))
    prob = pulp.LpProblem("classes", pulp.LpMinimize)
    z = prob.add_variable("z", lowBound=z_low, upBound=None if np.isinf(z_high) else z_high)
    x = [prob.add_variable(f"X{c}") for c in range(n_col)]  # the class's sum / scale[c]
    w = [prob.add_variable(f"w{k}", lowBound=float(w_low[k]), upBound=float(w_high[k]))
         for k in range(n_level)]
    prob += pulp.LpAffineExpression([(z, 1.0)])

    def scaled(expr: list[tuple[pulp.LpVariable, float]], sense: int, name: str,
               bound: float) -> pulp.LpConstraint:
        size = max([1.0, *(abs(v) for _, v in expr)])
        return pulp.LpConstraint(pulp.LpAffineExpression([(var, v / size) for var, v in expr]),
                                 sense, name, bound / size)

    for j in range(row_class.size):
        c = int(row_class[j])
        expr = [(x[c], float(scale[c])), (z, float(row_slope[j]))]
        if np.isfinite(row_low[j]):
            prob += scaled(expr, pulp.LpConstraintGE, f"p{j}", float(row_low[j]))
        else:
            prob += scaled(expr, pulp.LpConstraintLE, f"p{j}", float(row_high[j]))
    for j, (cols, a, on_level, lo, hi, _) in enumerate(extra):
        expr = [(x[int(c)], float(v) * float(scale[int(c)])) for c, v in zip(cols, a, strict=True)] \
            + [(w[k], float(on_level[k])) for k in np.flatnonzero(on_level)]
        if lo == hi:
            prob += scaled(expr, pulp.LpConstraintEQ, f"e{j}", lo)
            continue
        for sense, tag, bound in ((pulp.LpConstraintGE, "lo", lo), (pulp.LpConstraintLE, "hi", hi)):
            if np.isfinite(bound):
                prob += scaled(expr, sense, f"e{j}{tag}", bound)
    prob.solve(make_solver(solver))
    if prob.status == pulp.LpStatusInfeasible:
        return None
    if prob.status != pulp.LpStatusOptimal or prob.sol_status != pulp.LpSolutionOptimal:
        raise SolverError(f"{solver} stopped without an optimum (status "
                          f"{pulp.LpStatus[prob.status]})")
    best = float(z.value())
    sums = np.array([v.value() or 0.0 for v in x]) * scale
    levels = np.array([v.value() or 0.0 for v in w])
    # The ends of each class's range at the optimum: the tightest of its piece rows.
    end_at = rhs - row_slope * best
    low_end = np.full(n_col, -np.inf)
    high_end = np.full(n_col, np.inf)
    np.maximum.at(low_end, row_class[row_side == 0], end_at[row_side == 0])
    np.minimum.at(high_end, row_class[row_side == 1], end_at[row_side == 1])
    prob += pulp.LpConstraint(pulp.LpAffineExpression([(z, 1.0)]), pulp.LpConstraintLE, "best",
                              best + 1e-9 * max(1.0, best))
    at_low, at_high = np.zeros(n_col), np.zeros(n_col)
    for c in range(n_col):
        tol = 1e-6 * max(1.0, abs(low_end[c]), abs(high_end[c]) if np.isfinite(high_end[c])
                         else 0.0)
        for sense, ends, flag in ((pulp.LpMaximize, low_end, at_low),
                                  (pulp.LpMinimize, high_end, at_high)):
            prob.sense = sense
            prob.setObjective(pulp.LpAffineExpression([(x[c], 1.0)]))
            prob.solve(make_solver(solver))
            if prob.status == pulp.LpStatusOptimal and \
                    abs(float(x[c].value() or 0.0) * scale[c] - ends[c]) <= tol:
                flag[c] = 1.0
    return best, sums, levels, at_low, at_high, np.full(len(extra), np.nan)
