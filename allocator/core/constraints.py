"""General linear constraints: bounded group totals, equal-cut rules and named constraints.

A model may bound a group's total (``[groups.NAME]`` with ``min``, ``max``, ``max_cut``,
``max_increase``), keep the cuts of several groups close (``[[equal_cut]]``) or bound any sum of
units' allocations (``[[constraints]]``). Each is a row lower <= sum(coef * x) <= upper
(:class:`~allocator.core.problem.LinearConstraint`), built here by :func:`build_constraints`.
Such rows break the closed form's structure, so the fair allocation is then found by the LP
sequence (:mod:`allocator.core.fair`), unless the closed form already meets them.

This module also reads, off a fair allocation, what holds each unit (:func:`constrained_binding`):
the units that no bound and no tight constraint holds share one ratio per pool (the *ruler*); a
unit off the ruler is held by its own bound (``floor``, ``min_per_10k``, ...) or by a tight
constraint, named with the side that holds it (``group_max:district``, ``equal_cut:a,b``,
``constraint:NAME``).

>>> import numpy as np
>>> from allocator.core.problem import LinearConstraint, Pool, Problem
>>> core = LinearConstraint("constraint:core", "constraint:core", np.array([0]), np.array([1.0]),
...                         30.0, np.inf)
>>> p = Problem(ids=("a", "b", "c"), target=np.array([20.0, 40.0, 40.0]), lower=np.zeros(3),
...     upper=np.full(3, np.inf), lower_rule=("", "", ""), upper_rule=("", "", ""),
...     pools=(Pool("", np.arange(3), 100),), total=100, constraints=(core,))
>>> binding, rulers = constrained_binding(p, np.array([30.0, 35.0, 35.0]))
>>> binding, rulers
(('constraint:core', '', ''), {'': 0.875})
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocator.core.problem import EPS, LinearConstraint, Problem, group_members
from allocator.core.waterfill import fill_level
from allocator.errors import InputError, did_you_mean
from allocator.schema import ModelSpec
from allocator.units import UnitTable

AT_BOUND = 1e-7  # relative: a unit this close to its bound sits there
OFF_RULER = 1e-7  # relative: a ratio this far from the ruler is held away from it
KIND_STEP = {"group_min": "group_bound", "group_max": "group_bound", "group_max_cut": "group_bound",
             "group_max_increase": "group_bound", "equal_cut": "equal_cut",
             "constraint": "constraint"}


def build_constraints(spec: ModelSpec, table: UnitTable) -> tuple[LinearConstraint, ...]:
    """The model's general constraints: bounded groups (sorted by name), then each equal-cut rule
    (one row per pair of its groups), then the named constraints, in file order.

    Bounds of a row whose coefficients are whole numbers are whole posts (ceil of the lower,
    floor of the upper), as a unit's bounds are.
    """
    rows: list[LinearConstraint] = []
    members = group_members(table) if spec.group is not None else {}
    for name in sorted(spec.groups):
        g = spec.groups[name]
        if not g.bounded:
            continue
        m = members[name]
        actual = float(table.actual[m].sum()) if table.actual is not None else math.nan
        lows = [(rule, value) for rule, value in (
            ("group_min", g.min),
            ("group_max_cut", None if g.max_cut is None else (1 - g.max_cut) * actual))
            if value is not None]
        highs = [(rule, value) for rule, value in (
            ("group_max", g.max),
            ("group_max_increase", None if g.max_increase is None else
             (1 + g.max_increase) * actual)) if value is not None]
        low_rule, low = max(lows, key=lambda rv: rv[1], default=("group_min", -math.inf))
        high_rule, high = min(highs, key=lambda rv: rv[1], default=("group_max", math.inf))
        rows.append(_whole(LinearConstraint(f"{low_rule}:{name}", f"{high_rule}:{name}", m,
                                            np.ones(m.size), float(low), float(high))))
    for k, rule in enumerate(spec.equal_cut):
        rows += _equal_cut_rows(spec, table, members, k, rule.groups, rule.tolerance)
    index = {unit: i for i, unit in enumerate(table.ids)}
    for k, c in enumerate(spec.constraints):
        for unit in c.terms:
            if unit not in index:
                raise InputError(f"{spec.source}: constraints[{k}].terms: no unit with id "
                                 f"'{unit}'{did_you_mean(unit, table.ids)}")
        units = np.array([index[u] for u in c.terms], dtype=np.intp)
        order = np.argsort(units)
        coef = np.array([float(v) for v in c.terms.values()])[order]
        label = f"constraint:{c.name}"
        rows.append(_whole(LinearConstraint(
            label, label, units[order], coef, -math.inf if c.min is None else float(c.min),
            math.inf if c.max is None else float(c.max))))
    return tuple(rows)


def _whole(row: LinearConstraint) -> LinearConstraint:
    """A row with whole coefficients gets whole bounds (ceil of the lower, floor of the upper)."""
    if not np.all(row.coef == np.round(row.coef)):
        return row
    low = math.ceil(row.lower - EPS) if math.isfinite(row.lower) else row.lower
    high = math.floor(row.upper + EPS) if math.isfinite(row.upper) else row.upper
    return LinearConstraint(row.lower_name, row.upper_name, row.members, row.coef, float(low),
                            float(high), row.scale)


def _equal_cut_rows(spec: ModelSpec, table: UnitTable, members: dict[str, np.ndarray], k: int,
                    groups: list[str], tolerance: float) -> list[LinearConstraint]:
    """|cut_a - cut_b| <= tolerance for every pair: with actual totals A (data), the cut is
    1 - X/A, so the row X_a/A_a - X_b/A_b is linear; it is scaled by (A_a + A_b)/2 to about posts."""
    assert table.actual is not None  # the schema asks for 'actual' with equal_cut
    actual = {}
    for name in groups:
        actual[name] = float(table.actual[members[name]].sum())
        if actual[name] <= 0:
            raise InputError(f"{spec.source}: equal_cut[{k}].groups: group '{name}' has no "
                             "current posts, so it has no cut to compare")
    rows = []
    for a_pos, a in enumerate(groups):
        for b in groups[a_pos + 1:]:
            scale = (actual[a] + actual[b]) / 2
            coef = np.zeros(len(table))
            np.add.at(coef, members[a], scale / actual[a])
            np.add.at(coef, members[b], -scale / actual[b])
            m = np.flatnonzero(coef)
            label = f"equal_cut:{a},{b}"
            rows.append(LinearConstraint(label, label, m, coef[m], -tolerance * scale,
                                         tolerance * scale, scale))
    return rows


def tight_sides(problem: Problem, x: np.ndarray) -> list[tuple[bool, bool]]:
    """For each general constraint, whether ``x`` sits at its lower and at its upper bound."""
    out = []
    for c in problem.constraints:
        value, tol = float(c.activity(x)), 10 * c.tolerance()
        out.append((bool(value <= c.lower + tol), bool(value >= c.upper - tol)))
    return out


def _at_bounds(problem: Problem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = problem.lower, problem.upper
    at_low = x <= lower + AT_BOUND * np.maximum(1.0, lower)
    finite = np.isfinite(upper)
    at_high = finite & (x >= np.where(finite, upper, 0.0) -
                        AT_BOUND * np.maximum(1.0, np.where(finite, upper, 1.0)))
    return at_low, at_high


def rulers(problem: Problem, x: np.ndarray) -> dict[str, float | None]:
    """Each pool's common ratio x/t of the units that no bound and no tight constraint holds
    (None when every unit of the pool is held)."""
    return _rulers(problem, x, _signatures(problem, x))


def _signatures(problem: Problem, x: np.ndarray) -> list[tuple]:
    """Each unit's class: the tight constraints it is in, with its coefficient in each."""
    sig: list[list] = [[] for _ in range(len(problem))]
    for k, (c, (low, high)) in enumerate(zip(problem.constraints, tight_sides(problem, x),
                                             strict=True)):
        if low or high:
            for i, a in zip(c.members.tolist(), c.coef.tolist(), strict=True):
                if a != 0:
                    sig[i].append((k, round(a, 12)))
    return [tuple(s) for s in sig]


def _rulers(problem: Problem, x: np.ndarray, sig: list[tuple]) -> dict[str, float | None]:
    at_low, at_high = _at_bounds(problem, x)
    plain = ~(at_low | at_high) & np.array([not s for s in sig], dtype=bool)
    out: dict[str, float | None] = {}
    for pool in problem.pools:
        m = pool.members[plain[pool.members]]
        out[pool.name] = float(np.median(x[m] / problem.target[m])) if m.size else None
    return out


@dataclass(frozen=True, eq=False)
class Holding:
    """What holds each unit of a fair allocation under general constraints.

    Units in the same tight constraints with the same coefficients form a *class*; the units of a
    class that no own bound holds share one ratio. ``reference``: each unit's pool ruler (the
    class in no tight constraint; where a pool has none, the ratio its closed form would give
    without the general constraints). ``chain``: for each unit, the steps from the reference to its
    class's ratio, one per constraint, as ``(label, ratio)``: a class sits at its ratio because of
    the constraints it is in beyond the largest class inside it (e.g. the core districts inside
    the districts of an equal-cut rule). ``binding``: the unit's own bound rule where that bound
    holds it off its class's ratio, else the last label of its chain (empty on the ruler).
    """

    rulers: dict[str, float | None]
    reference: np.ndarray
    chain: tuple[tuple[tuple[str, float], ...], ...]
    binding: tuple[str, ...]

    def class_ratio(self) -> np.ndarray:
        """The ratio of each unit's class (its reference when its chain is empty)."""
        return np.array([c[-1][1] if c else r for c, r in zip(self.chain, self.reference,
                                                               strict=True)])


def holding(problem: Problem, x: np.ndarray) -> Holding:
    """Read off a fair allocation what holds each unit (see :class:`Holding`).

    A constraint moves a class off the ratio of the largest class inside it (or off the
    reference) when it is tight on the side that pulls that way: a lower bound pulls units with a
    positive coefficient up and those with a negative one down, an upper bound the reverse; the
    first such constraint in the model's order names the step.
    """
    t = problem.target
    sides = tight_sides(problem, x)
    sig = _signatures(problem, x)
    ruler = _rulers(problem, x, sig)
    ref = reference_ratios(problem, ruler)
    ratio = x / t
    at_low, at_high = _at_bounds(problem, x)
    pool_of = np.empty(len(problem), dtype=np.intp)
    for k, pool in enumerate(problem.pools):
        pool_of[pool.members] = k
    members: dict[tuple, list[int]] = {}
    for i, key in enumerate(sig):
        if key and not (at_low[i] or at_high[i]):
            members.setdefault((int(pool_of[i]), key), []).append(i)
    class_ratio = {key: float(np.median(ratio[m])) for key, m in members.items()}
    chains: dict[tuple, tuple[tuple[str, float], ...]] = {}

    def inner(pool: int, key: tuple) -> tuple | None:
        """The largest class with plain units strictly inside ``key`` (None: the ruler)."""
        best = None
        for other in members:
            if other[0] == pool and len(other[1]) < len(key) and set(other[1]) < set(key) and \
                    (best is None or len(other[1]) > len(best[1])):
                best = other
        return best

    def chain_of(pool: int, key: tuple, base: float) -> tuple[tuple[str, float], ...]:
        if (pool, key) in chains:
            return chains[(pool, key)]
        below = inner(pool, key)
        start = chain_of(below[0], below[1], base) if below is not None else ()
        start_ratio = start[-1][1] if start else base
        own = class_ratio.get((pool, key))
        out = start
        if own is not None and abs(own - start_ratio) > OFF_RULER * start_ratio:
            inside = set(below[1]) if below is not None else set()
            label = _puller(problem, sides, [kc for kc in key if kc not in inside], own > start_ratio) \
                or _puller(problem, sides, list(key), own > start_ratio)
            out = start + ((label, own),) if label else start
        chains[(pool, key)] = out
        return out

    chain = tuple(chain_of(int(pool_of[i]), key, float(ref[i])) if key else ()
                  for i, key in enumerate(sig))
    held_at = np.array([c[-1][1] if c else r for c, r in zip(chain, ref, strict=True)])
    lower_rule = np.asarray(problem.lower_rule, dtype=object)
    upper_rule = np.asarray(problem.upper_rule, dtype=object)
    by_low = at_low & (lower_rule != "") & (ratio > held_at * (1 + OFF_RULER))
    by_high = ~by_low & at_high & (upper_rule != "") & (ratio < held_at * (1 - OFF_RULER))
    binding = np.array([c[-1][0] if c else "" for c in chain], dtype=object)
    binding[by_low] = lower_rule[by_low]
    binding[by_high] = upper_rule[by_high]
    return Holding(rulers=ruler, reference=ref, chain=chain, binding=tuple(binding.tolist()))


def _puller(problem: Problem, sides: list[tuple[bool, bool]], key: list[tuple[int, float]],
            up: bool) -> str:
    """The first constraint of ``key`` (pairs of constraint index and coefficient) tight on the
    side that pulls a unit with that coefficient up (``up``) or down; empty if none."""
    for k, a in sorted(key):
        low, high = sides[k]
        c = problem.constraints[k]
        if low and (a > 0) == up:
            return c.lower_name
        if high and (a < 0) == up:
            return c.upper_name
    return ""


def reference_ratios(problem: Problem, ruler: dict[str, float | None]) -> np.ndarray:
    """Each unit's pool ruler, or where a pool has none, the ratio its closed form would give
    without the general constraints."""
    ref = np.empty(len(problem))
    for pool in problem.pools:
        m = pool.members
        value = ruler.get(pool.name)
        if value is None:
            value = fill_level(problem.target[m], problem.lower[m], problem.upper[m], pool.total)
        ref[m] = value
    return ref


def constrained_binding(problem: Problem, x: np.ndarray, posts: np.ndarray | None = None
                        ) -> tuple[tuple[str, ...], dict[str, float | None]]:
    """What holds each unit (``Holding.binding``) and the pools' rulers. With ``posts`` (the
    published whole posts), a unit's own bound is named only where its posts sit at it, as in
    :func:`allocator.core.waterfill.binding_rules`."""
    h = holding(problem, x)
    if posts is None:
        return h.binding, h.rulers
    binding = np.asarray(h.binding, dtype=object)
    off_low = (binding == np.asarray(problem.lower_rule, dtype=object)) & (posts != problem.lower)
    off_high = (binding == np.asarray(problem.upper_rule, dtype=object)) & \
        (posts != problem.upper)
    binding[(binding != "") & (off_low | off_high)] = ""
    return tuple(binding.tolist()), h.rulers


def step_of(rule: str) -> str:
    """The explanation step of a binding label: ``group_max:district`` -> ``group_bound``.

    >>> step_of("equal_cut:district,county"), step_of("constraint:core"), step_of("floor")
    ('equal_cut', 'constraint', 'floor')
    """
    kind, sep, _ = rule.partition(":")
    return KIND_STEP.get(kind, rule) if sep else rule


@dataclass(frozen=True)
class ConstraintState:
    """One general constraint at the fair allocation and at the whole posts, in its own units
    (posts; for an equal-cut rule, the difference of the two groups' cuts).

    ``binding`` is the side that holds (its label) or empty; ``dual`` is the rate at which the
    largest deviation of the first LP level where the constraint binds would fall per unit of
    relaxation (None when the closed form ran or the constraint never bound). At a degenerate
    optimum duals are not unique: one valid value is shown.
    """

    name: str
    lower: float | None
    upper: float | None
    value: float
    posts_value: float
    binding: str
    dual: float | None = None
    level: int | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain JSON values, for a run record."""
        return {"name": self.name, "min": self.lower, "max": self.upper,
                "value": round(self.value, 9), "posts_value": round(self.posts_value, 9),
                "binding": self.binding, "dual": self.dual, "dual_level": self.level}

    def describe(self) -> str:
        """One line, e.g. ``group:county: 34,120.3 (min 31,635), whole posts 34,120``."""
        bounds = ", ".join(f"{word} {number(v)}" for word, v in (("min", self.lower),
                                                                ("max", self.upper))
                           if v is not None)
        text = f"{self.name}: {number(self.value)} ({bounds}), whole posts {number(self.posts_value)}"
        if self.binding:
            text += f"; binding: {self.binding}"
            if self.dual is not None:
                text += (f", dual {self.dual:.3g} at LP level {self.level} (not unique at a "
                         "degenerate optimum)")
        return text


def number(value: float) -> str:
    """``34120.3`` -> ``'34,120.3'``; small values (a difference of cuts) with 4 significant digits.

    >>> number(34120.25), number(-0.05), number(11000.0)
    ('34,120.2', '-0.05', '11,000')
    """
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.4g}"


def constraint_states(problem: Problem, exact: np.ndarray, posts: np.ndarray,
                      duals: dict[str, tuple[int, float]] | None = None
                      ) -> tuple[ConstraintState, ...]:
    """Every general constraint's value, bounds, binding side and dual (from the LP sequence)."""
    duals = duals or {}
    out = []
    for c, (low, high) in zip(problem.constraints, tight_sides(problem, exact), strict=True):
        level, dual = duals.get(c.name, (None, None))
        binding = c.lower_name if low else c.upper_name if high else ""
        out.append(ConstraintState(
            name=c.name,
            lower=c.lower / c.scale if math.isfinite(c.lower) else None,
            upper=c.upper / c.scale if math.isfinite(c.upper) else None,
            value=float(c.activity(exact)) / c.scale,
            posts_value=float(c.activity(posts.astype(float))) / c.scale,
            binding=binding, dual=dual if binding else None, level=level if binding else None))
    return tuple(out)
