"""Infeasibility diagnosis: why the bounds and totals cannot all hold, in plain words and numbers.

The constraints have a simple structure (per-unit bounds, disjoint pools with exact totals), so
they can all hold exactly when every unit's lower bound is at most its upper bound and every
pool's total lies between the sums of its units' bounds. :func:`find_conflicts` checks these with
exact arithmetic and names, for each violation, the rules behind it and the smallest change of
each single setting (cap or group total, floor, ceiling, max_cut, max_increase) that repairs it;
a change that would make the model invalid (a cap of 0) is not suggested. When several
constraints conflict at once, :func:`elastic_relaxation` gives the smallest total relaxation, in
posts, and where it falls. The same structure gives it in closed form (no LP), in time linear in
the number of units.

>>> import numpy as np
>>> from allocator.core.problem import Pool, Problem
>>> p = Problem(ids=("a", "b"), target=np.array([50.0, 50.0]), lower=np.array([60.0, 60.0]),
...     upper=np.full(2, np.inf), lower_rule=("floor", "floor"), upper_rule=("", ""),
...     pools=(Pool("", np.arange(2), 100),), total=100)
>>> print(infeasibility(p))
the floors of the units add up to 120 posts but the cap is 100 (20 too many; to fix: raise the cap by 20)
>>> elastic_relaxation(p).posts
20.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from allocator.core.problem import EPS, Pool, Problem, unit_bounds
from allocator.errors import InfeasibleError
from allocator.schema import MAX_POSTS, ModelSpec
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
    """The smallest relaxation of all constraints together (what an elastic LP, with a slack
    variable on every constraint, would find).

    ``posts`` is the least total number of posts by which bounds and totals must move;
    ``parts`` splits it by pool and kind of constraint (one smallest relaxation: totals are kept
    and bounds relaxed; a unit whose lower bound is above its upper bound counts as a relaxed
    lower bound, unless its pool needs the posts).
    """

    posts: float
    parts: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        """One line, e.g. ``smallest relaxation: 1,594 posts in all (lower bounds of ...)``."""
        return relaxation_text(self.posts, self.parts, _posts, " posts")


def relaxation_text(total: float, parts: Iterable[tuple[str, float]],
                    number: Callable[[float], str], unit: str = "") -> str:
    """The one line that states a smallest relaxation (of bounds and totals here, of every
    constraint in :mod:`allocator.core.constraint_diagnosis`): its ``total`` with its ``unit``,
    then its ``parts`` (name, amount), each amount written by ``number``.

    >>> relaxation_text(12.5, [("group:a", 10.0), ("group:b", 2.5)], _posts, " posts")
    'smallest relaxation that makes every constraint hold: 12.50 posts in all (group:a: 10, group:b: 2.50)'
    """
    listed = ", ".join(f"{name}: {number(v)}" for name, v in parts)
    return f"smallest relaxation that makes every constraint hold: {number(total)}{unit} in all " \
           f"({listed})"


def _posts(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-6 else f"{value:,.2f}"


def _total_phrase(problem: Problem, pool: Pool, spec: ModelSpec | None, first: bool) -> str:
    """How a pool's total is stated in messages, e.g. ``"the cap is 60,806"``; ``first`` when
    the phrase opens the message."""
    if pool.name:
        own = spec.group_totals().get(pool.name, pool.total) if spec is not None else pool.total
        if own != pool.total:  # nested levels: the groups inside it have fixed totals of their own
            return (f"the units of group '{pool.name}' outside its nested fixed-total groups "
                    f"must total {pool.total:,} (its total {own:,} less theirs)")
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


def _cap_for(spec: ModelSpec, allocatable: int, raise_: bool) -> int | None:
    """The cap closest to the current one whose allocatable posts (cap less reserve) reach
    ``allocatable`` (at least it when raising, at most it when lowering); None if no valid cap
    does."""
    def left(cap: int) -> int:
        reserve = spec.reserve
        return cap - (math.floor(reserve * cap + 0.5) if isinstance(reserve, float) else reserve)

    share = 1 - spec.reserve if isinstance(spec.reserve, float) else 1.0
    cap = max(1, math.floor((allocatable + (0 if isinstance(spec.reserve, float) else
                                            spec.reserve)) / share) - 2)
    while left(cap) < allocatable:  # allocatable posts grow by 0 or 1 with each post of cap
        cap += 1
    if not raise_:
        while left(cap + 1) <= allocatable:
            cap += 1
        while cap > 1 and left(cap) > allocatable:
            cap -= 1
    groups = sum(spec.outer_group_totals().values())
    valid = 1 <= cap <= MAX_POSTS and left(cap) >= max(1, groups) and \
        (left(cap) >= allocatable if raise_ else left(cap) <= allocatable)
    return cap if valid else None


def _total_fix(pool: Pool, spec: ModelSpec | None, change: float) -> str | None:
    """The change of the pool's total (a group total, or the cap) that repairs it, or None when
    that change would leave no valid model (e.g. a cap of 0)."""
    verb = "raise" if change > 0 else "lower"
    if pool.name:
        total = pool.total + change
        if spec is not None:
            # The group's own total (a nested group's pool holds what its inner fixed totals
            # leave), beside the fixed totals of the groups that share its parent (or the cap).
            totals = spec.group_totals()
            total = totals.get(pool.name, pool.total) + change
            parent = spec.fixed_parent(pool.name)
            others = sum(t for name, t in totals.items()
                         if name != pool.name and spec.fixed_parent(name) == parent)
            room = totals[parent] if parent is not None else spec.allocatable_cap
            if others + total > room:
                return None
        if not 1 <= total <= MAX_POSTS:
            return None
        return f"{verb} the total of group '{pool.name}' to {total:,.0f}"
    if spec is not None:  # the other units share what the cap leaves: move the cap as much
        cap = _cap_for(spec, int(spec.allocatable_cap + change), raise_=change > 0)
        return None if cap is None else f"{verb} the cap to {cap:,}"
    if pool.total + change < 1:
        return None
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


def _others(spec: ModelSpec, table: UnitTable, members: np.ndarray, upper: bool,
            **without) -> np.ndarray:
    """The members' integer lower (or upper) bounds from every rule but the settings in
    ``without`` (set to None); computed once, so that each trial value of a setting costs one
    vectorised sum."""
    lower, high, _, _ = unit_bounds(_with_bounds(spec, **without), table)
    return (high if upper else lower)[members]


def _smallest(fits, lo: float, hi: float, steps: int) -> float:
    """Bisection: a value close above the smallest in [lo, hi] for which ``fits`` holds (it holds
    at ``hi``, and ``fits`` is monotone)."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def _lower_fixes(spec: ModelSpec, table: UnitTable, pool: Pool) -> list[str]:
    """Single-setting changes that bring the pool's lower bounds down to its total."""
    fixes = []
    b = spec.bounds
    m = pool.members
    if b.floor is not None and b.floor > 0:
        # An integer floor f gives each unit max(f, its bound from the other rules).
        others = _others(spec, table, m, upper=False, floor=None)

        def fits(f: int) -> bool:
            return float(np.maximum(others, f).sum()) <= pool.total

        if fits(0):
            lo, hi = 0, math.floor(b.floor)  # largest floor that fits
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
            fixes.append(f"lower the floor to {lo:,}")
    if b.max_cut is not None and table.actual is not None:
        others = _others(spec, table, m, upper=False, max_cut=None)
        actual = table.actual[m]

        def fits_cut(c: float) -> bool:
            kept = np.ceil((1 - c) * actual - EPS)
            return float(np.maximum(others, kept).sum()) <= pool.total

        top = 0.9999
        if fits_cut(top):
            cut = math.ceil(_smallest(fits_cut, b.max_cut, top, 40) * 10_000) / 10_000
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
        # An integer ceiling c gives each unit min(c, its bound from the other rules).
        others = _others(spec, table, m, upper=True, ceiling=None)

        def fits(c: int) -> bool:
            return float(np.minimum(others, c).sum()) >= pool.total

        top = pool.total
        if fits(top):
            lo, hi = math.ceil(b.ceiling), top  # smallest ceiling that fits
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
            fixes.append(f"raise the ceiling to {lo:,}")
    if b.max_increase is not None and table.actual is not None:
        others = _others(spec, table, m, upper=True, max_increase=None)
        actual = table.actual[m]

        def fits_inc(v: float) -> bool:
            allowed = np.floor((1 + v) * actual + EPS)
            return float(np.minimum(others, allowed).sum()) >= pool.total

        positive = actual[actual > 0]
        most = pool.total / positive.min() + 1 if positive.size else 0.0
        if positive.size and fits_inc(most):
            inc = math.ceil(_smallest(fits_inc, b.max_increase, most, 60) * 10_000) / 10_000
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


def _fixes(fixes: list[str | None], kind: str) -> str:
    """``to fix: a or b``; when no single setting can repair it, what has to move."""
    possible = [f for f in fixes if f]
    if possible:
        return f"to fix: {' or '.join(possible)}"
    return f"to fix: {'lower' if kind == 'lower' else 'raise'} the {kind} bounds of these units"


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
    for i in map(int, np.flatnonzero(lower > upper)):
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
        # The two sides share the mechanics (_pool_finding) but not their words: each names its
        # own rules, and states the total after (lower) or before (upper) the bounds.
        if low > pool.total:
            rules = [problem.lower_rule[i] for i in m if problem.lower_rule[i]]
            kinds = set(rules)
            if kinds == {"max_cut"} and spec is not None:
                head = f"with max_cut = {spec.bounds.max_cut:g} {scope} keep at least {low:,.0f} posts"
            elif kinds == {"floor"}:
                head = f"the floors of {scope} add up to {low:,.0f} posts"
            else:
                head = f"the lower bounds of {scope} ({_rule_counts(rules)}) add up to {low:,.0f} posts"
            findings.append(_pool_finding(
                "lower", pool, low - pool.total,
                f"{head} but {_total_phrase(problem, pool, spec, first=False)}", spec, table))
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
            findings.append(_pool_finding(
                "upper", pool, pool.total - high,
                f"{_total_phrase(problem, pool, spec, first=True)} but {head}", spec, table))
    return tuple(findings)


def _pool_finding(side: str, pool: Pool, gap: float, text: str, spec: ModelSpec | None,
                  table: UnitTable | None) -> Finding:
    """A pool whose ``side`` (lower or upper) bounds miss its total by ``gap`` posts: ``text``,
    then by how much and what repairs it (its total, or with ``spec`` and ``table`` a setting)."""
    lower = side == "lower"
    fixes = [_total_fix(pool, spec, gap if lower else -gap)]
    if spec is not None and table is not None:
        fixes += (_lower_fixes if lower else _upper_fixes)(spec, table, pool)
    return Finding(side, f"{text} ({gap:,.0f} {'too many' if lower else 'too few'}; "
                         f"{_fixes(fixes, side)})", gap, pool=pool.name)


def elastic_relaxation(problem: Problem) -> Relaxation:
    """The smallest total relaxation, in posts, that lets every bound and total hold; zero when
    they can all hold already. Among equally small relaxations, totals are kept and bounds
    relaxed.

    Closed form (what the elastic LP, with a slack on every constraint, finds): a unit whose lower
    bound L is above its upper bound U costs L - U wherever it lies between them; a pool can then
    reach any sum between the sums of min(L, U) and max(L, U) of its units at no further cost, and
    each post of its total outside that range costs one more post of relaxation.

    >>> from allocator.core.problem import Pool, Problem
    >>> p = Problem(ids=("a", "b"), target=np.ones(2), lower=np.array([5.0, 0.0]),
    ...     upper=np.array([3.0, 1.0]), lower_rule=("floor", ""), upper_rule=("ceiling",) * 2,
    ...     pools=(Pool("", np.arange(2), 10),), total=10)
    >>> r = elastic_relaxation(p)
    >>> r.posts, r.parts
    (6.0, (('upper bounds of units', 6.0),))
    """
    lower, upper = problem.lower, problem.upper
    conflict = np.maximum(lower - upper, 0.0)
    named = any(p.name for p in problem.pools)
    total = 0.0
    parts = []
    for pool in problem.pools:
        m = pool.members
        base = float(conflict[m].sum())
        lo = float(np.minimum(lower[m], upper[m]).sum())
        hi = float(np.maximum(lower[m], upper[m]).sum())
        below = max(0.0, lo - pool.total)  # the pool's total needs fewer posts than its floors
        # Posts the total needs above what the units reach with every conflict at its upper bound.
        raised = max(0.0, pool.total - (hi - base)) if math.isfinite(hi) else 0.0
        up = raised
        down = base - min(raised, base) + below
        total += base + below + max(0.0, pool.total - hi)
        where = f"group '{pool.name}'" if pool.name else "other units" if named else "units"
        for name, value in ((f"lower bounds of {where}", down), (f"upper bounds of {where}", up)):
            if value > 1e-6:
                parts.append((name, round(value, 6)))
    return Relaxation(posts=round(total, 6), parts=tuple(parts))


def infeasibility(problem: Problem, *, labels: tuple[str, ...] | None = None,
                  spec: ModelSpec | None = None, table: UnitTable | None = None,
                  relaxation: bool = True) -> str | None:
    """One line saying why the constraints cannot all hold, or None when they can.

    Lists every exact finding (at most three unit conflicts by name); when there is more than one,
    adds the smallest combined relaxation (unless ``relaxation`` is False).
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
    if len(findings) > 1 and relaxation:
        text += "; " + elastic_relaxation(problem).describe()
    return text


def check_feasible(problem: Problem, labels: tuple[str, ...] | None = None, *,
                   spec: ModelSpec | None = None, table: UnitTable | None = None,
                   solver: str | None = None) -> None:
    """Raise :class:`InfeasibleError` explaining every bound or total that cannot hold.

    The explanation is exact arithmetic (:func:`find_conflicts`); with ``spec`` and
    ``table`` it also names each rule's setting and the change of one setting that repairs it.
    ``solver`` is not used (the diagnosis needs no LP); it is accepted for existing callers.
    """
    del solver
    reason = infeasibility(problem, labels=labels, spec=spec, table=table)
    if reason is not None:
        raise InfeasibleError(reason)
