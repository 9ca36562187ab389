"""Infeasibility diagnosis: why the bounds and totals cannot all hold, in plain words and numbers.

The constraints have a simple structure (per-unit bounds, disjoint pools with exact totals), so
they can all hold exactly when every unit's lower bound is at most its upper bound and every
pool's total lies between the sums of its units' bounds. :func:`find_conflicts` checks these with
exact arithmetic and names, for each violation, the rules behind it and the smallest change of
each single setting (cap or group total, floor, ceiling, max_cut, max_increase) that repairs it.
When several constraints conflict at once, :func:`elastic_relaxation` solves an LP with an elastic
(slack) variable on every constraint and reports the smallest total relaxation, in posts, and where
it falls.

>>> import numpy as np
>>> from allocator.core.problem import Pool, Problem
>>> p = Problem(ids=("a", "b"), target=np.array([50.0, 50.0]), lower=np.array([60.0, 60.0]),
...     upper=np.full(2, np.inf), lower_rule=("floor", "floor"), upper_rule=("", ""),
...     pools=(Pool("", np.arange(2), 100),), total=100)
>>> print(infeasibility(p))
the floors of the units add up to 120 posts but the cap is 100 (20 too many; to fix: raise the cap by 20)
>>> round(elastic_relaxation(p).posts, 6)
20.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pulp

from allocator.core.problem import Pool, Problem, unit_bounds
from allocator.core.solvers import make_solver
from allocator.errors import InfeasibleError
from allocator.schema import ModelSpec
from allocator.units import UnitTable

MAX_LISTED = 3  # unit conflicts named one by one before "and N more"


@dataclass(frozen=True)
class Finding:
    """One constraint that cannot hold, with the posts by which it fails.

    ``kind`` is ``"unit"`` (a unit's lower bound above its upper bound), ``"lower"`` (a pool's
    lower bounds add up to more than its total) or ``"upper"`` (its upper bounds allow less).
    """

    kind: str
    message: str
    posts: float
    pool: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Relaxation:
    """The smallest relaxation of all constraints together, from the elastic LP.

    ``posts`` is the least total number of posts by which bounds and totals must move;
    ``parts`` splits it by pool and kind of constraint (one smallest relaxation: when several
    splits cost the same, totals are kept and bounds relaxed).
    """

    posts: float
    parts: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        """One line, e.g. ``smallest relaxation: 1,594 posts in all (lower bounds of ...)``."""
        parts = ", ".join(f"{name}: {_posts(v)}" for name, v in self.parts)
        return f"smallest relaxation that makes every constraint hold: {_posts(self.posts)} posts " \
               f"in all ({parts})"


def _posts(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-6 else f"{value:,.2f}"


def _total_phrase(problem: Problem, pool: Pool, spec: ModelSpec | None, first: bool) -> str:
    """How a pool's total is stated in messages, e.g. ``"the cap is 60,806"``; ``first`` when
    the phrase opens the message."""
    if pool.name:
        return f"group '{pool.name}' must total {pool.total:,}"
    if any(p.name for p in problem.pools):
        if first:
            return (f"the units outside fixed-total groups must share {pool.total:,} posts (the "
                    "cap less the group totals)")
        return f"the cap less the group totals leaves them {pool.total:,}"
    if spec is not None and spec.reserve_posts:
        return (f"the cap less the reserve is {pool.total:,} (cap {spec.cap:,}, reserve "
                f"{spec.reserve_posts:,})")
    return f"the cap is {pool.total:,}"


def _total_fix(pool: Pool, spec: ModelSpec | None, change: float) -> str:
    """The change of the pool's total (a group total, or the cap) that repairs it."""
    verb = "raise" if change > 0 else "lower"
    if pool.name:
        return f"{verb} the total of group '{pool.name}' to {pool.total + change:,.0f}"
    if spec is not None:  # the other units share what the cap leaves: move the cap as much
        return f"{verb} the cap to {spec.cap + change:,.0f}"
    return f"{verb} the cap by {abs(change):,.0f}"


def _scope(problem: Problem, pool: Pool) -> str:
    if pool.name:
        return f"the units of group '{pool.name}'"
    return "the units outside fixed-total groups" if len(problem.pools) > 1 else "the units"


def _rule_counts(rules: list[str]) -> str:
    counts = {r: rules.count(r) for r in sorted(set(rules))}
    return ", ".join(f"{r} on {k} unit{'s' if k > 1 else ''}"
                     for r, k in counts.items())


def _with_bounds(spec: ModelSpec, **changes) -> ModelSpec:
    return spec.model_copy(update={"bounds": spec.bounds.model_copy(update=changes)})


def _pool_sum(spec: ModelSpec, table: UnitTable, members: np.ndarray, upper: bool) -> float:
    lower, high, _, _ = unit_bounds(spec, table)
    return float((high if upper else lower)[members].sum())


def _lower_fixes(spec: ModelSpec, table: UnitTable, pool: Pool) -> list[str]:
    """Single-setting changes that bring the pool's lower bounds down to its total."""
    fixes = []
    b = spec.bounds
    m = pool.members
    if b.floor is not None and b.floor > 0:
        def fits(f: int) -> bool:
            return _pool_sum(_with_bounds(spec, floor=float(f)), table, m, upper=False) <= pool.total

        if fits(0):
            lo, hi = 0, math.floor(b.floor)  # largest floor that fits
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
            fixes.append(f"lower the floor to {lo:,}")
    if b.max_cut is not None:
        def fits_cut(c: float) -> bool:
            return _pool_sum(_with_bounds(spec, max_cut=c), table, m, upper=False) <= pool.total

        top = 0.9999
        if fits_cut(top):
            lo_c, hi_c = b.max_cut, top  # smallest max_cut that fits, to 4 decimals
            for _ in range(40):
                mid = (lo_c + hi_c) / 2
                lo_c, hi_c = (lo_c, mid) if fits_cut(mid) else (mid, hi_c)
            cut = math.ceil(hi_c * 10_000) / 10_000
            while not fits_cut(cut) and cut < top:
                cut = round(cut + 0.0001, 4)
            fixes.append(f"raise max_cut to {cut:.4f}".rstrip("0").rstrip("."))
    return fixes


def _upper_fixes(spec: ModelSpec, table: UnitTable, pool: Pool) -> list[str]:
    """Single-setting changes that bring the pool's upper bounds up to its total."""
    fixes = []
    b = spec.bounds
    m = pool.members
    if b.ceiling is not None:
        def fits(c: int) -> bool:
            return _pool_sum(_with_bounds(spec, ceiling=float(c)), table, m, upper=True) >= pool.total

        top = pool.total
        if fits(top):
            lo, hi = math.ceil(b.ceiling), top  # smallest ceiling that fits
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
            fixes.append(f"raise the ceiling to {lo:,}")
    if b.max_increase is not None and table.actual is not None:
        def fits_inc(v: float) -> bool:
            return _pool_sum(_with_bounds(spec, max_increase=v), table, m, upper=True) >= pool.total

        positive = table.actual[m][table.actual[m] > 0]
        top = pool.total / positive.min() + 1 if positive.size else 0.0
        if positive.size and fits_inc(top):
            lo_v, hi_v = b.max_increase, top
            for _ in range(60):
                mid = (lo_v + hi_v) / 2
                lo_v, hi_v = (lo_v, mid) if fits_inc(mid) else (mid, hi_v)
            inc = math.ceil(hi_v * 10_000) / 10_000
            while not fits_inc(inc):
                inc = round(inc + 0.0001, 4)
            fixes.append(f"raise max_increase to {inc:.4f}".rstrip("0").rstrip("."))
    return fixes


def _unit_rule(rule: str, i: int, spec: ModelSpec | None, table: UnitTable | None) -> str:
    """A unit's bound rule with its setting, e.g. ``max_increase (0.3 over 923 current posts)``."""
    if spec is None or table is None:
        return rule
    b = spec.bounds
    if rule in ("max_cut", "max_increase") and table.actual is not None:
        value = b.max_cut if rule == "max_cut" else b.max_increase
        return f"{rule} ({value:g} of {table.actual[i]:,.0f} current posts)"
    if rule == "floor" and table.floor is not None and not math.isnan(table.floor[i]) and \
            (b.floor is None or table.floor[i] > b.floor):
        return f"floor (column '{b.floor_column}')"
    if rule == "ceiling" and table.ceiling is not None and not math.isnan(table.ceiling[i]) and \
            (b.ceiling is None or table.ceiling[i] < b.ceiling):
        return f"ceiling (column '{b.ceiling_column}')"
    return rule


def find_conflicts(problem: Problem, *, labels: tuple[str, ...] | None = None,
                   spec: ModelSpec | None = None, table: UnitTable | None = None
                   ) -> tuple[Finding, ...]:
    """Every bound or total that cannot hold, by exact arithmetic; empty when all can hold.

    With ``spec`` and ``table``, messages name each rule's setting and the single-setting
    changes that repair each pool.
    """
    names = labels or problem.ids
    lower, upper = problem.lower, problem.upper
    findings = []
    for i in np.flatnonzero(lower > upper):
        unit = problem.ids[i]
        label = f" ({names[i]})" if names[i] != unit else ""
        findings.append(Finding(
            "unit",
            f"unit {unit}{label}: its {_unit_rule(problem.lower_rule[i], i, spec, table)} needs at "
            f"least {lower[i]:,.0f} posts but its {_unit_rule(problem.upper_rule[i], i, spec, table)}"
            f" allows at most {upper[i]:,.0f}",
            float(lower[i] - upper[i]), unit=unit))
    for pool in problem.pools:
        m = pool.members
        low, high = float(lower[m].sum()), float(upper[m].sum())
        scope = _scope(problem, pool)
        owner = "its units'" if pool.name else "their" if len(problem.pools) > 1 else "the units'"
        if low > pool.total:
            rules = [problem.lower_rule[i] for i in m if problem.lower_rule[i]]
            kinds = set(rules)
            if kinds == {"max_cut"} and spec is not None:
                head = f"with max_cut = {spec.bounds.max_cut:g} {scope} keep at least {low:,.0f} posts"
            elif kinds == {"floor"}:
                head = f"the floors of {scope} add up to {low:,.0f} posts"
            else:
                head = f"the lower bounds of {scope} ({_rule_counts(rules)}) add up to {low:,.0f} posts"
            fixes = [_total_fix(pool, spec, low - pool.total)]
            if spec is not None and table is not None:
                fixes += _lower_fixes(spec, table, pool)
            findings.append(Finding(
                "lower", f"{head} but {_total_phrase(problem, pool, spec, first=False)} "
                f"({low - pool.total:,.0f} too many; to fix: "
                f"{' or '.join(fixes)})", low - pool.total, pool=pool.name))
        if high < pool.total:
            rules = [problem.upper_rule[i] for i in m if problem.upper_rule[i]]
            kinds = set(rules)
            if kinds == {"max_increase"} and spec is not None:
                head = (f"with max_increase = {spec.bounds.max_increase:g} {scope} can have at most "
                        f"{high:,.0f} posts")
            elif kinds == {"ceiling"}:
                head = f"{owner} ceilings allow at most {high:,.0f} posts"
            else:
                head = f"{owner} upper bounds ({_rule_counts(rules)}) allow at most {high:,.0f} posts"
            fixes = [_total_fix(pool, spec, high - pool.total)]
            if spec is not None and table is not None:
                fixes += _upper_fixes(spec, table, pool)
            findings.append(Finding(
                "upper", f"{_total_phrase(problem, pool, spec, first=True)} but {head} "
                f"({pool.total - high:,.0f} too few; to fix: "
                f"{' or '.join(fixes)})", pool.total - high, pool=pool.name))
    return tuple(findings)


def elastic_relaxation(problem: Problem, solver: str = "highs") -> Relaxation:
    """The smallest total relaxation, in posts, that lets every bound and total hold (an LP with
    an elastic variable on each constraint). Among equally small relaxations, totals are kept and
    bounds relaxed. Zero when the constraints can all hold already.
    """
    n = len(problem)
    lower, upper = problem.lower, problem.upper
    prob = pulp.LpProblem("elastic", pulp.LpMinimize)
    # PuLP 3.3 adds variables through the problem (constructing them directly is deprecated).
    add = getattr(prob, "add_variable", None) or (lambda name, lowBound: pulp.LpVariable(
        name, lowBound=lowBound))
    x = [add(f"x{i}", lowBound=0) for i in range(n)]
    a = [add(f"a{i}", lowBound=0) for i in range(n)]
    b = {i: add(f"b{i}", lowBound=0) for i in range(n) if np.isfinite(upper[i])}
    plus = [add(f"p{k}", lowBound=0) for k in range(len(problem.pools))]
    minus = [add(f"m{k}", lowBound=0) for k in range(len(problem.pools))]
    for i in range(n):
        prob += pulp.LpConstraint(pulp.LpAffineExpression([(x[i], 1.0), (a[i], 1.0)]),
                                  pulp.LpConstraintGE, f"lo{i}", float(lower[i]))
        if i in b:
            prob += pulp.LpConstraint(pulp.LpAffineExpression([(x[i], 1.0), (b[i], -1.0)]),
                                      pulp.LpConstraintLE, f"hi{i}", float(upper[i]))
    for k, pool in enumerate(problem.pools):
        terms = [(x[int(i)], 1.0) for i in pool.members] + [(plus[k], -1.0), (minus[k], 1.0)]
        prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"pool{k}",
                                  float(pool.total))
    bound_slack = pulp.LpAffineExpression([(v, 1.0) for v in a + list(b.values())])
    total_slack = pulp.LpAffineExpression([(v, 1.0) for v in plus + minus])
    lp_solver = make_solver(solver, method="choose")
    prob += bound_slack + total_slack
    prob.solve(lp_solver)
    best = pulp.value(prob.objective) or 0.0
    # Second stage: among the smallest relaxations, keep the totals (the cap and group totals).
    prob += pulp.LpConstraint(bound_slack + total_slack, pulp.LpConstraintLE, "best",
                              best + 1e-9 * max(1.0, best))
    prob.setObjective(total_slack)
    prob.solve(lp_solver)
    parts = []
    for k, pool in enumerate(problem.pools):
        where = f"group '{pool.name}'" if pool.name else "other units"
        if not any(p.name for p in problem.pools):
            where = "units"
        m = [int(i) for i in pool.members]
        low = sum(a[i].value() or 0.0 for i in m)
        high = sum(b[i].value() or 0.0 for i in m if i in b)
        tot = (plus[k].value() or 0.0) + (minus[k].value() or 0.0)
        for name, value in ((f"lower bounds of {where}", low), (f"upper bounds of {where}", high),
                            (f"total of {where}" if pool.name else "cap", tot)):
            if value > 1e-6:
                parts.append((name, round(float(value), 6)))
    return Relaxation(posts=round(float(best), 6), parts=tuple(parts))


def infeasibility(problem: Problem, *, labels: tuple[str, ...] | None = None,
            spec: ModelSpec | None = None, table: UnitTable | None = None,
            use_lp: bool = True, solver: str = "highs") -> str | None:
    """One line saying why the constraints cannot all hold, or None when they can.

    Lists every exact finding (at most three unit conflicts by name); when there is more than one,
    adds the elastic LP's smallest combined relaxation (unless ``use_lp`` is False).
    """
    findings = find_conflicts(problem, labels=labels, spec=spec, table=table)
    if not findings:
        return None
    units = [f for f in findings if f.kind == "unit"]
    others = [f for f in findings if f.kind != "unit"]
    parts = [f.message for f in units[:MAX_LISTED]]
    if len(units) > MAX_LISTED:
        rest = units[MAX_LISTED:]
        parts.append(f"and {len(rest):,} more units whose lower bound is above their upper bound "
                     f"(by {sum(f.posts for f in rest):,.0f} posts in all)")
    parts += [f.message for f in others]
    text = "; ".join(parts)
    if len(findings) > 1 and use_lp:
        text += "; " + elastic_relaxation(problem, solver).describe()
    return text


def check_feasible(problem: Problem, labels: tuple[str, ...] | None = None, *,
                   spec: ModelSpec | None = None, table: UnitTable | None = None,
                   solver: str = "highs") -> None:
    """Raise :class:`InfeasibleError` explaining every bound or total that cannot hold.

    The explanation is exact arithmetic (:func:`find_conflicts`); with ``spec`` and
    ``table`` it also names each rule's setting and the change of one setting that repairs it.
    """
    reason = infeasibility(problem, labels=labels, spec=spec, table=table, solver=solver)
    if reason is not None:
        raise InfeasibleError(reason)
