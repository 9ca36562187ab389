"""Model stage: turn a model file and its table into an allocation problem.

The problem is what the fair LP and the rounding need and nothing more: each unit's target and
integer bounds (with the rule that set each bound), and a partition of the units into pools,
each with an exact total: one pool per group with a fixed total, and one for all other units,
which share what is left of the allocatable cap.
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


@dataclass(frozen=True)
class Problem:
    """One allocation problem: targets, integer bounds and pools with exact totals."""

    ids: tuple[str, ...]
    target: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    lower_rule: tuple[str, ...]
    upper_rule: tuple[str, ...]
    pools: tuple[Pool, ...]
    total: int

    def __len__(self) -> int:
        return len(self.ids)


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

    Lower = ceil of the largest of floor, floor column and (1 - max_cut) * actual;
    upper = floor of the smallest of ceiling, ceiling column and (1 + max_increase) * actual.
    """
    n = len(table)
    b = spec.bounds
    lows = [("floor", np.full(n, b.floor if b.floor is not None else np.nan))]
    highs = [("ceiling", np.full(n, b.ceiling if b.ceiling is not None else np.nan))]
    if table.floor is not None:
        lows.append(("floor", table.floor))
    if table.ceiling is not None:
        highs.append(("ceiling", table.ceiling))
    if b.max_cut is not None and table.actual is not None:
        lows.append(("max_cut", (1 - b.max_cut) * table.actual))
    if b.max_increase is not None and table.actual is not None:
        highs.append(("max_increase", (1 + b.max_increase) * table.actual))
    lower, lower_rule = _bound(lows, n, pick_max=True)
    upper, upper_rule = _bound(highs, n, pick_max=False)
    lower = np.where(np.isfinite(lower), np.ceil(lower - EPS), 0.0)
    upper = np.where(np.isfinite(upper), np.floor(upper + EPS), np.inf)
    return lower, upper, lower_rule, upper_rule


def build_pools(spec: ModelSpec, table: UnitTable) -> tuple[Pool, ...]:
    """One pool per fixed-total group, plus one for the remaining units (if any)."""
    n = len(table)
    pools = []
    in_fixed = np.zeros(n, dtype=bool)
    names = sorted(spec.groups)
    index = {name: k for k, name in enumerate(names)}
    code = (np.fromiter((index.get(g, -1) for g in table.groups), dtype=np.intp, count=n)
            if table.groups is not None else np.full(n, -1, dtype=np.intp))
    totals = spec.group_totals()
    for k, name in enumerate(names):
        members = np.flatnonzero(code == k)
        in_fixed[members] = True
        pools.append(Pool(name, members, totals[name]))
    rest = np.flatnonzero(~in_fixed)
    left = spec.allocatable_cap - sum(p.total for p in pools)
    if rest.size:
        pools.append(Pool(REST_POOL, rest, left))
    elif left != 0:
        raise InfeasibleError(
            f"every unit is in a group with a fixed total; the group totals add up to "
            f"{spec.allocatable_cap - left:,} but {spec.allocatable_cap:,} posts are allocatable"
        )
    return tuple(pools)
