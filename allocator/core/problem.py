"""Model stage: turn a model file and its table into an allocation problem.

The problem is what the fair LP and the rounding need and nothing more: each unit's target and
integer bounds (with the rule that set each bound), a partition of the units into pools, each with
an exact total (one pool per group with a fixed total, less the fixed totals of the groups nested
in it, and one for all other units, which share what is left of the allocatable cap), and any
general linear constraints (:class:`LinearConstraint`: bounded group totals, equal-cut rules and
named constraints, built by :mod:`allocator.core.constraints`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.errors import InfeasibleError
from allocator.schema import ModelSpec
from allocator.units import UnitTable

REST_POOL = ""  # name of the pool of units in no fixed-total group
EPS = 1e-9
MIN_TARGET = 1e-6  # posts; smaller targets are zero at the precision of allocation.csv


@dataclass(frozen=True)
class Pool:
    """Units that share one exact total."""

    name: str
    members: np.ndarray
    total: int

    @property
    def label(self) -> str:
        """What the total is called in messages."""
        return f"the total of group '{self.name}'" if self.name else "the allocatable cap"

    @property
    def scope(self) -> str:
        """What the members are called in messages."""
        return f"group '{self.name}'" if self.name else "the units"


@dataclass(frozen=True, eq=False)
class LinearConstraint:
    """lower <= sum(coef * x[members]) <= upper (either side may be infinite).

    ``lower_name`` and ``upper_name`` are what a unit held by each side is told in ``binding``,
    e.g. ``group_min:district`` and ``group_max:district``, or ``constraint:core`` for both.
    ``scale`` converts the row to its own units (the row is kept in about posts for the solvers):
    a bound of the constraint as written is the row's bound divided by ``scale``.
    """

    lower_name: str
    upper_name: str
    members: np.ndarray
    coef: np.ndarray
    lower: float
    upper: float
    scale: float = 1.0

    def activity(self, x: np.ndarray) -> np.ndarray:
        """The constraint's sum for an allocation (or a batch of them, one per row)."""
        return np.asarray(x, dtype=float)[..., self.members] @ self.coef

    def slack(self, x: np.ndarray) -> float:
        """How far the allocation's sum lies outside [lower, upper] (0 inside)."""
        value = float(self.activity(x))
        return max(self.lower - value, value - self.upper, 0.0)

    def tolerance(self) -> float:
        """The slack a solver's answer may show and still meet the constraint."""
        finite = [abs(v) for v in (self.lower, self.upper) if np.isfinite(v)]
        return 1e-7 * max([1.0, *finite, float(np.abs(self.coef).sum())])

    @property
    def name(self) -> str:
        """The constraint's name, without the side: ``group:district``, ``constraint:core``."""
        if self.lower_name == self.upper_name:
            return self.lower_name
        kind, _, what = self.lower_name.partition(":")
        return f"group:{what}" if kind.startswith("group_") else self.lower_name


@dataclass(frozen=True)
class Problem:
    """One allocation problem: targets, integer bounds, pools with exact totals and any general
    linear constraints."""

    ids: tuple[str, ...]
    target: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    lower_rule: tuple[str, ...]
    upper_rule: tuple[str, ...]
    pools: tuple[Pool, ...]
    total: int
    constraints: tuple[LinearConstraint, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def violated(self, x: np.ndarray) -> tuple[LinearConstraint, ...]:
        """The general constraints that ``x`` breaks (beyond solver precision)."""
        return tuple(c for c in self.constraints if c.slack(x) > c.tolerance())


def _bound(candidates: list[tuple[str, np.ndarray]], n: int, pick_max: bool):
    """Tightest of several bound arrays (NaN = no bound), with the name of the rule that set it.

    A later candidate replaces an earlier one only when it is tighter by more than EPS.

    >>> v, r = _bound([("a", np.array([1.0, np.nan])), ("b", np.array([1.0, 2.0]))], 2, True)
    >>> v.tolist(), r
    ([1.0, 2.0], ('a', 'b'))
    """
    value = np.full(n, -np.inf if pick_max else np.inf)
    names = [""]
    which = np.zeros(n, dtype=np.intp)
    for name, arr in candidates:
        arr = np.broadcast_to(np.asarray(arr, dtype=float), (n,))
        # NaN compares false: no bound there.
        tighter = (arr > value + EPS) if pick_max else (arr < value - EPS)
        value = np.where(tighter, arr, value)
        names.append(name)
        which[tighter] = len(names) - 1
    return value, tuple(np.array(names, dtype=object)[which].tolist())


def unit_bounds(spec: ModelSpec, table: UnitTable):
    """Integer lower and upper bounds per unit and the rule behind each.

    Lower = ceil of the largest of floor, floor column, (1 - max_cut) * actual and
    min_per_10k * population / 10,000; upper = floor of the smallest of ceiling, ceiling column,
    (1 + max_increase) * actual and max_per_10k * population / 10,000.
    """
    n = len(table)
    b = spec.bounds
    lows: list[tuple[str, np.ndarray]] = [
        ("floor", np.full(n, b.floor if b.floor is not None else np.nan))]
    highs: list[tuple[str, np.ndarray]] = [
        ("ceiling", np.full(n, b.ceiling if b.ceiling is not None else np.nan))]
    if table.floor is not None:
        lows.append(("floor", table.floor))
    if table.ceiling is not None:
        highs.append(("ceiling", table.ceiling))
    if b.max_cut is not None and table.actual is not None:
        lows.append(("max_cut", (1 - b.max_cut) * table.actual))
    if b.max_increase is not None and table.actual is not None:
        highs.append(("max_increase", (1 + b.max_increase) * table.actual))
    if spec.population is not None:
        residents = table.indicators[spec.population] / 10_000
        if b.min_per_10k is not None:
            lows.append(("min_per_10k", b.min_per_10k * residents))
        if b.max_per_10k is not None:
            highs.append(("max_per_10k", b.max_per_10k * residents))
    lower, lower_rule = _bound(lows, n, pick_max=True)
    upper, upper_rule = _bound(highs, n, pick_max=False)
    lower = np.where(np.isfinite(lower), np.ceil(lower - EPS), 0.0)
    upper = np.where(np.isfinite(upper), np.floor(upper + EPS), np.inf)
    return lower, upper, lower_rule, upper_rule


def group_members(table: UnitTable) -> dict[str, np.ndarray]:
    """The members of every group, at every level, by name (a path "P/Q" below the outer level).

    >>> from pathlib import Path
    >>> t = UnitTable(ids=("a", "b", "c"), labels=None, groups=("x", "y", "x"), indicators={},
    ...               actual=None, floor=None, ceiling=None, path=Path("u.csv"), sha256="")
    >>> {k: v.tolist() for k, v in group_members(t).items()}
    {'x': [0, 2], 'y': [1]}
    """
    out: dict[str, list[int]] = {}
    for level in table.group_paths():
        for i, name in enumerate(level):
            out.setdefault(name, []).append(i)
    return {name: np.asarray(members, dtype=np.intp) for name, members in sorted(out.items())}


def build_pools(spec: ModelSpec, table: UnitTable) -> tuple[Pool, ...]:
    """One pool per fixed-total group, plus one for the remaining units (if any).

    With nested levels, a unit belongs to the pool of the innermost fixed-total group that holds
    it; that pool's total is the group's total less the fixed totals of the groups nested in it.
    """
    n = len(table)
    totals = spec.group_totals()
    fixed = sorted(totals)
    members = group_members(table)
    owner = np.full(n, -1, dtype=np.intp)  # index into ``fixed`` of each unit's innermost group
    for k, name in sorted(enumerate(fixed), key=lambda kv: kv[1].count("/")):
        owner[members[name]] = k  # outer levels first: inner groups overwrite
    pools = []

    for k, name in enumerate(fixed):
        own = np.flatnonzero(owner == k)
        inner = [g for g in fixed if spec.fixed_parent(g) == name]
        total = totals[name] - sum(totals[g] for g in inner)
        if total < 0 or (own.size == 0 and total != 0):
            alone = "" if own.size else " (and it has no other units)"
            raise InfeasibleError(
                f"the groups nested in group '{name}' have fixed totals adding up to "
                f"{totals[name] - total:,} but group '{name}' must total "
                f"{totals[name]:,}{alone}")
        if own.size:
            pools.append(Pool(name, own, total))
    rest = np.flatnonzero(owner < 0)
    left = spec.allocatable_cap - sum(spec.outer_group_totals().values())
    if rest.size:
        pools.append(Pool(REST_POOL, rest, left))
    elif left != 0:
        raise InfeasibleError(
            f"every unit is in a group with a fixed total; the group totals add up to "
            f"{spec.allocatable_cap - left:,} but {spec.allocatable_cap:,} posts are allocatable"
        )
    return tuple(pools)

