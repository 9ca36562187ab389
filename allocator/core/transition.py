"""Transition plan: from today's headcount to the quota, year by year (退一收一, 走一收一).

Year 0 is today. In every year y = 1, 2, ... each unit i, with quota x_i(y) and last year's
headcount h_i(y-1):

1. **Departures** d_i(y), in whole people: from a rate r_i by *cumulative rounding* (a unit's
   departures up to year y are its expected departures up to year y, sum of r_i * h_i(s-1), rounded
   half up, so no fraction is lost over the years and the path stays within one person of the
   exact one), or given per unit and year.
2. **Recovery**: a unit above its quota does not replace its departures until it reaches the
   quota: recovered_i = min(d_i, max(h_i(y-1) - x_i, 0)), and it recruits nobody.
3. **Recruitment**: units below quota after departures (a_i = h_i(y-1) - d_i < x_i) share the
   year's recruitment by the one ruler: their fill ratios h_i/x_i are raised as evenly as possible
   (lexicographic max-min; the water-fill clip(lambda * x_i, a_i, x_i) of
   :func:`~allocator.core.waterfill.fill_level`, then whole posts: the R posts with the lowest
   claims k/x_i, k = a_i .. x_i - 1, ties to the unit first in id order). The budget is the year's
   departures of all units (headcount never grows), a fixed number, or unlimited; it is used in
   full whenever the demand allows.
4. **Reserve pool**: a pool of P posts lends what the demand needs beyond the budget, up to what it
   still holds; a later year's unused budget repays it.

With unlimited recruitment this is h_i(y) = max(x_i, h_i(y-1) - d_i(y)) for every unit.

>>> p = project(np.array([80, 50]), np.array([100, 40]), Departures(rate=np.array([0.1, 0.1])),
...             years=3, budget="unlimited")
>>> p.headcount.tolist()
[[100, 40], [90, 50], [81, 50], [80, 50]]
>>> p.reach_year().tolist()
[3, 1]
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, replace

import numpy as np

from allocator.choices import Recruitment
from allocator.core.assemble import build_problem
from allocator.core.constraint_diagnosis import check_constraints
from allocator.core.fair import solve_fair
from allocator.core.feasibility import check_feasible
from allocator.core.problem import EPS, Problem
from allocator.core.repair import round_within_constraints
from allocator.core.rounding import round_pool
from allocator.core.waterfill import fill_level
from allocator.errors import InfeasibleError, InputError
from allocator.schema import ModelSpec, spec_from_dict
from allocator.units import UnitTable

NEVER = -1  # reach year of a unit that does not reach its quota
REACH_LIMIT = 500  # years looked ahead for a unit still above its quota at the end of the horizon


@dataclass(frozen=True)
class Departures:
    """Where departures come from: a yearly rate per unit, whole people per unit and year
    (``fixed[y - 1]`` for year y), or both (the rate after the years given)."""

    rate: np.ndarray | None = None
    fixed: np.ndarray | None = None

    @property
    def known_years(self) -> int | None:
        """Years for which departures are known (None: every year, from the rate)."""
        if self.rate is not None:
            return None
        return 0 if self.fixed is None else len(self.fixed)


@dataclass(frozen=True)
class Projection:
    """A transition plan in numbers: arrays of shape (years + 1, units) and (years + 1,), whole
    people; row 0 is today (no departures, recovery or recruitment)."""

    quota: np.ndarray
    headcount: np.ndarray
    departures: np.ndarray
    recovered: np.ndarray
    recruited: np.ndarray
    budget: np.ndarray  # posts the year's budget allows (inf: unlimited; row 0: 0)
    lent: np.ndarray  # posts the pool lent that year
    repaid: np.ndarray  # posts repaid to the pool that year
    pool_balance: np.ndarray  # posts left in the pool at the end of the year
    expected: np.ndarray  # expected departures so far per unit (the carry of cumulative rounding)

    @property
    def years(self) -> int:
        return len(self.headcount) - 1

    @property
    def transitional(self) -> np.ndarray:
        """Posts held above the quota (过渡编制): max(headcount - quota, 0)."""
        return np.maximum(self.headcount - self.quota, 0)

    @property
    def vacant(self) -> np.ndarray:
        """Posts of the quota not filled: max(quota - headcount, 0)."""
        return np.maximum(self.quota - self.headcount, 0)

    def reach_year(self) -> np.ndarray:
        """For each unit, the first year it is at its quota: a unit above its quota today when it
        no longer is, a unit below when it is no longer below; 0 when at quota today, NEVER when
        not within the horizon. Today is measured against the quota of year 1, the one the unit
        heads for (under a pace of change, year 0's quota is today's posts)."""
        side = np.sign(self.headcount - self.quota)
        side[0] = np.sign(self.headcount[0] - self.quota[min(1, self.years)])
        reached = side * side[0] <= 0  # on quota, or on the other side of it than today
        first = np.argmax(reached, axis=0)
        return np.where(reached.any(axis=0), first, NEVER)


def half_up(values: np.ndarray) -> np.ndarray:
    """Round half up to whole numbers, after snapping away floating-point noise at 1e-9.

    >>> half_up(np.array([0.5, 1.4999999999999, 2.49])).tolist()
    [1, 2, 2]
    """
    return np.floor(np.round(values, 9) + 0.5).astype(np.int64)


def year_departures(departures: Departures, year: int, headcount: np.ndarray,
                    expected: np.ndarray, ids: tuple[str, ...] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Whole departures of one year and the new carry of expected departures.

    From the rate: the change in the rounded cumulative expected departures; given per year:
    as given, which must not exceed the headcount.

    >>> d = Departures(rate=np.array([0.3]))
    >>> year_departures(d, 1, np.array([5]), np.zeros(1))  # 1.5 expected: 2 leave
    (array([2]), array([1.5]))
    >>> year_departures(d, 2, np.array([3]), np.array([1.5]))  # 2.4 expected so far: 0 more
    (array([0]), array([2.4]))
    """
    fixed = departures.fixed
    if fixed is not None and year <= len(fixed):
        out = fixed[year - 1].astype(np.int64)
        over = np.flatnonzero(out > headcount)
        if over.size:
            i = int(over[0])
            name = ids[i] if ids else str(i)
            raise InputError(f"unit {name}: {out[i]:,} departures in year {year} but only "
                             f"{headcount[i]:,} staff at the end of year {year - 1}")
        return out, expected
    if departures.rate is None:
        raise InputError(f"no departures are known for year {year}: give a departure rate")
    after = expected + departures.rate * headcount
    out = np.minimum(half_up(after) - half_up(expected), headcount)
    return np.maximum(out, 0), after


def share_recruitment(after: np.ndarray, quota: np.ndarray, posts: int,
                      rank: np.ndarray | None = None) -> np.ndarray:
    """Whole posts recruited by each unit: ``posts`` shared among the units below quota so that
    their fill ratios h/x are raised as evenly as possible (lexicographic max-min).

    Exactly the posts a one-by-one greedy gives, each post to the unit whose fill ratio is lowest
    (ties: lowest ``rank``, by default the first unit), found from the continuous water-fill.
    A unit never passes its quota; ``posts`` beyond the demand are not used.

    >>> share_recruitment(np.array([0, 5, 9]), np.array([10, 10, 10]), 7).tolist()
    [6, 1, 0]
    """
    after = np.asarray(after, dtype=np.int64)
    quota = np.asarray(quota, dtype=np.int64)
    demand = np.maximum(quota - after, 0)
    if posts >= demand.sum():
        return demand
    out = np.zeros_like(demand)
    if posts <= 0:
        return out
    m = np.flatnonzero(demand > 0)
    a, x = after[m], quota[m]
    order = np.arange(len(after)) if rank is None else np.asarray(rank)
    total = int(a.sum()) + int(posts)
    lam = fill_level(x.astype(float), a.astype(float), x.astype(float), float(total))
    h = np.clip(np.ceil(lam * x), a, x).astype(np.int64)
    out[m] = _settle(h, a, x, total, order[m]) - a
    return out


def _settle(h: np.ndarray, a: np.ndarray, x: np.ndarray, total: int,
            rank: np.ndarray) -> np.ndarray:
    """Whole headcounts a <= h <= x adding up to ``total`` that hold exactly the lowest claims
    k/x (k = a .. h - 1) of all units, ties by rank: fix the count, then swap any claim held
    above one that is not."""
    h = h.copy()
    xf = x.astype(float)
    left = total - int(h.sum())
    if left > 0:
        heap = [(h[i] / xf[i], rank[i], i) for i in np.flatnonzero(h < x)]
        heapq.heapify(heap)
        for _ in range(left):
            _, _, i = heapq.heappop(heap)
            h[i] += 1
            if h[i] < x[i]:
                heapq.heappush(heap, (h[i] / xf[i], rank[i], i))
    elif left < 0:
        heap = [(-(h[i] - 1) / xf[i], -rank[i], i) for i in np.flatnonzero(h > a)]
        heapq.heapify(heap)
        for _ in range(-left):
            _, _, i = heapq.heappop(heap)
            h[i] -= 1
            if h[i] > a[i]:
                heapq.heappush(heap, (-(h[i] - 1) / xf[i], -rank[i], i))
    while True:
        held = np.where(h > a, (h - 1) / xf, -np.inf)
        free = np.where(h < x, h / xf, np.inf)
        top, low = held.max(), free.min()
        if top < low or not (np.isfinite(top) and np.isfinite(low)):
            return h
        give = int(np.flatnonzero(held == top)[np.argmax(rank[held == top])])
        take = int(np.flatnonzero(free == low)[np.argmin(rank[free == low])])
        if top == low and rank[give] <= rank[take]:
            return h
        h[give] -= 1
        h[take] += 1


def _whole(values: np.ndarray, what: str, ids: tuple[str, ...] | None) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    for i in np.flatnonzero(~np.isfinite(values) | (values < 0) | (values != np.round(values))):
        name = ids[i] if ids else str(i)
        raise InputError(f"unit {name}: {what} {values[i]:g} is not a whole number of 0 or more")
    return values.astype(np.int64)


def _check_rate(rate: np.ndarray, ids: tuple[str, ...] | None) -> None:
    for i in np.flatnonzero(~np.isfinite(rate) | (rate < 0) | (rate >= 1)):
        name = ids[i] if ids else str(i)
        raise InputError(f"unit {name}: the departure rate is {rate[i]:g}; a rate must be at least "
                         "0 and below 1")


def project(quota: np.ndarray, headcount: np.ndarray, departures: Departures, *, years: int,
            budget: Recruitment | str | int = Recruitment.DEPARTURES, pool: int = 0,
            ids: tuple[str, ...] | None = None, rank: np.ndarray | None = None) -> Projection:
    """Project headcount year by year (see the module notes for the rules).

    ``quota`` is one whole number per unit, or one row per year 0..years (pace of change);
    ``budget`` is ``"departures"``, ``"unlimited"`` or a number of posts per year; ``pool`` the
    posts the reserve pool may lend. ``ids`` name units in messages; ``rank`` breaks ties (default:
    the order of the units). Raises :class:`InputError` on negative or fractional headcounts or
    departures and on rates outside [0, 1).
    """
    head = _whole(headcount, "headcount", ids)
    n = len(head)
    rows = np.asarray(quota)
    rows = np.broadcast_to(rows, (years + 1, n)) if rows.ndim == 1 else rows
    if rows.shape != (years + 1, n):
        raise ValueError(f"quota must have {n} values or {years + 1} rows of them")
    quotas = np.vstack([_whole(row, "quota", ids) for row in rows])
    if departures.rate is not None:
        _check_rate(np.asarray(departures.rate, dtype=float), ids)
    if departures.fixed is not None:
        departures = replace(departures, fixed=np.vstack(
            [_whole(row, "departures", ids) for row in np.atleast_2d(departures.fixed)]))
    budget = Recruitment(budget) if isinstance(budget, str) else int(budget)
    if pool < 0:
        raise InputError(f"the pool is {pool:,} posts; it must be 0 or more")

    shape = (years + 1, n)
    out = {k: np.zeros(shape, dtype=np.int64) for k in ("h", "d", "rec", "r")}
    out["h"][0] = head
    yearly = {k: np.zeros(years + 1, dtype=np.int64) for k in ("lent", "repaid", "balance")}
    budgets = np.zeros(years + 1)
    yearly["balance"][0] = pool
    expected = np.zeros(n)
    owed = 0
    for y in range(1, years + 1):
        prev, x = out["h"][y - 1], quotas[y]
        d, expected = year_departures(departures, y, prev, expected, ids)
        after = prev - d
        demand = int(np.maximum(x - after, 0).sum())
        if budget == Recruitment.UNLIMITED:
            allowed, posts, lend, repay = math.inf, demand, 0, 0
        else:
            allowed = int(d.sum()) if budget == Recruitment.DEPARTURES else int(budget)
            posts = min(demand, allowed + pool - owed)
            lend = max(0, posts - allowed)
            repay = min(owed, max(0, allowed - posts))
        owed += lend - repay
        r = share_recruitment(after, x, posts, rank)
        out["h"][y], out["d"][y], out["r"][y] = after + r, d, r
        out["rec"][y] = np.minimum(d, np.maximum(prev - x, 0))
        budgets[y] = allowed
        yearly["lent"][y], yearly["repaid"][y], yearly["balance"][y] = lend, repay, pool - owed
    return Projection(quota=quotas, headcount=out["h"], departures=out["d"],
                      recovered=out["rec"], recruited=out["r"], budget=budgets,
                      lent=yearly["lent"], repaid=yearly["repaid"],
                      pool_balance=yearly["balance"], expected=expected)


def years_to_quota(projection: Projection, departures: Departures,
                   limit: int = REACH_LIMIT) -> np.ndarray:
    """For each unit still above its quota at the end of the horizon, the year it would reach it
    if the plan went on (last year's quota, the same departures); NEVER when not within ``limit``
    years or when the departures after the horizon are not known. Other units: NEVER.

    A unit above its quota only loses staff, and only through its own departures, so this needs
    no recruitment budget.

    >>> p = project(np.array([50]), np.array([100]), Departures(rate=np.array([0.1])), years=2,
    ...             budget="unlimited")
    >>> years_to_quota(p, Departures(rate=np.array([0.1]))).tolist()
    [7]
    """
    quota = projection.quota[-1]
    head = projection.headcount[-1].copy()
    late = head > quota
    out = np.full(len(head), NEVER, dtype=np.int64)
    expected = projection.expected.copy()
    year = projection.years
    known = departures.known_years
    while late.any() and year < limit and (known is None or year < known):
        year += 1
        d, expected = year_departures(departures, year, head, expected)
        head = np.where(late, np.maximum(quota, head - d), head)
        done = late & (head <= quota)
        out[done] = year
        late &= ~done
    return out


# -- pace of change ---------------------------------------------------------------------------


def cap_path(start: int, cap: int, years: int, caps: list[int] | None = None) -> tuple[int, ...]:
    """The cap of years 1..years: ``caps`` as given (the last one repeated), or by default a
    straight line from ``start`` (today's total posts) to ``cap`` in the last year, rounded half
    up.

    >>> cap_path(100, 90, 4), cap_path(100, 90, 4, [98, 95])
    ((98, 95, 93, 90), (98, 95, 95, 95))
    """
    if caps:
        return tuple(caps[min(y, len(caps)) - 1] for y in range(1, years + 1))
    return tuple(int(v) for v in half_up(start + (cap - start) * np.arange(1, years + 1) / years))


def year_groups(spec: ModelSpec, allocatable: int, today: dict[str, float],
                progress: float) -> dict[str, int]:
    """Group totals of a pace year: each fixed-total group (and the units in none) moves from
    its posts today towards its total in the model by ``progress`` (0 today, 1 in the last
    year), scaled to the year's allocatable cap and rounded by largest remainders, so that they
    add up.

    >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 100,
    ...     "group": "g", "groups": {"a": {"total": 30}, "b": {"total": 70}},
    ...     "indicators": {"p": {"column": "p", "weight": 1}}})
    >>> year_groups(spec, 110, {"a": 50, "b": 70}, 0.5)
    {'a': 40, 'b': 70}
    """
    names = sorted(fixed_totals(spec))
    final: dict[str, int] = fixed_totals(spec)
    rest = spec.allocatable_cap - sum(final.values())
    if rest > 0 or today.get("", 0) > 0:
        names.append("")
        final[""] = rest
    mix = np.array([(1 - progress) * today.get(g, 0.0) + progress * final[g] for g in names])
    size = len(names)
    posts = round_pool(mix * allocatable / mix.sum(), np.zeros(size), np.full(size, np.inf),
                       allocatable, "hamilton", tuple(g or "~rest" for g in names))
    return {g: int(posts[k]) for k, g in enumerate(names) if g}


@dataclass(frozen=True)
class PacePath:
    """Quotas phased in by the pace of change: row y is year y's fair allocation (row 0: today's
    posts), with the cap and group totals of each year 1..years."""

    quota: np.ndarray
    caps: tuple[int, ...]
    groups: tuple[dict[str, int], ...]


def fixed_totals(spec: ModelSpec) -> dict[str, int]:
    """The groups with a fixed total and their totals in posts (a share as
    :meth:`~allocator.schema.ModelSpec.group_totals` gives it; bounded groups keep their bounds
    each year). Nested fixed totals are not phased in: :class:`InputError`.

    >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 100,
    ...     "group": "g", "groups": {"a": {"total": 30}, "b": {"max": 70}},
    ...     "indicators": {"p": {"column": "p", "weight": 1}}})
    >>> fixed_totals(spec)
    {'a': 30}
    """
    totals = spec.group_totals()
    if len(spec.levels) > 1 and any("/" in g for g in totals):
        raise InputError("transition.pace: fixed totals of nested groups are not phased in; give "
                         "the groups inside others bounds instead, or drop the pace")
    return dict(sorted(totals.items()))


def pace_year_spec(spec: ModelSpec, cap: int, groups: dict[str, int] | None = None) -> ModelSpec:
    """The model of one pace year: that year's cap and group totals."""
    raw = spec.model_dump(exclude_none=True)
    raw["cap"] = cap
    if groups:
        raw["groups"] = {**raw.get("groups", {}), **{g: {"total": t} for g, t in groups.items()}}
    return spec_from_dict(raw, spec.source or "model")


def yearly_limits(problem: Problem, previous: np.ndarray, max_cut: float | None,
                  max_increase: float | None) -> Problem:
    """The problem with each unit's bounds tightened to (1 - max_cut) and (1 + max_increase) times
    its quota of last year (whole posts, as the model's own limits are), where tighter.

    >>> from allocator.core.problem import Pool
    >>> p = Problem(ids=("a", "b"), target=np.array([30.0, 70.0]), lower=np.zeros(2),
    ...     upper=np.full(2, np.inf), lower_rule=("", ""), upper_rule=("", ""),
    ...     pools=(Pool("", np.arange(2), 100),), total=100)
    >>> q = yearly_limits(p, np.array([50, 50]), 0.1, None)
    >>> q.lower.tolist(), q.lower_rule
    ([45.0, 45.0], ('yearly max_cut', 'yearly max_cut'))
    """
    lower, upper = problem.lower.copy(), problem.upper.copy()
    lower_rule, upper_rule = list(problem.lower_rule), list(problem.upper_rule)
    previous = np.asarray(previous, dtype=float)
    if max_cut is not None:
        bound = np.ceil((1 - max_cut) * previous - EPS)
        for i in np.flatnonzero(bound > lower):
            lower[i], lower_rule[i] = bound[i], "yearly max_cut"
    if max_increase is not None:
        bound = np.floor((1 + max_increase) * previous + EPS)
        for i in np.flatnonzero(bound < upper):
            upper[i], upper_rule[i] = bound[i], "yearly max_increase"
    return replace(problem, lower=lower, upper=upper, lower_rule=tuple(lower_rule),
                   upper_rule=tuple(upper_rule))


def phase_quotas(spec: ModelSpec, table: UnitTable, start: np.ndarray, years: int, *,
                 caps: list[int] | None = None, max_cut: float | None = None,
                 max_increase: float | None = None) -> PacePath:
    """Pace of change: each year's quota is the fair whole-post allocation of the model with that
    year's cap (:func:`cap_path`) and group totals (:func:`year_groups`), its own bounds, and the yearly
    change limits ``max_cut`` / ``max_increase`` against last year's quota
    (:func:`yearly_limits`); year 0 is ``start`` (today's posts). Every year's step is itself
    one-ruler fair, and once the cap path ends at the model's cap and the yearly limits no longer
    bind, the quota is the model's own allocation.

    Raises :class:`InfeasibleError` (naming the year) when a year's bounds cannot all hold.
    """
    start = _whole(start, "current posts", table.ids)
    path = cap_path(int(start.sum()), spec.cap, years, caps)
    quota = np.zeros((years + 1, len(table)), dtype=np.int64)
    quota[0] = start
    today: dict[str, float] = {}
    fixed = fixed_totals(spec)
    for k, posts in enumerate(start):
        group = table.groups[k] if table.groups and table.groups[k] in fixed else ""
        today[group] = today.get(group, 0.0) + float(posts)
    groups = []
    for y, cap in enumerate(path, start=1):
        where = f"pace of change, year {y} (cap {cap:,})"
        try:
            year_spec = pace_year_spec(spec, cap)
            if fixed:
                totals = year_groups(spec, year_spec.allocatable_cap, today, y / years)
                year_spec = pace_year_spec(spec, cap, totals)
            problem, _ = build_problem(year_spec, table)
            problem = yearly_limits(problem, quota[y - 1], max_cut, max_increase)
            check_feasible(problem, table.labels, solver=year_spec.solver)
            check_constraints(problem, year_spec.solver)
        except InfeasibleError as exc:
            raise InfeasibleError(f"{where}: {exc}") from None
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        fair = solve_fair(problem, year_spec.solver)
        quota[y] = round_within_constraints(problem, fair.exact, year_spec.rounding,
                                            year_spec.solver)[0]
        groups.append(fixed_totals(year_spec))
    return PacePath(quota=quota, caps=path, groups=tuple(groups))
