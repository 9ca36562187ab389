"""Model stage: turn a model file and its table into an allocation problem.

The problem is what the fair LP and the rounding need and nothing more: each unit's target and
integer bounds (with the rule that set each bound), and a partition of the units into pools,
each with an exact total: one pool per group with a fixed total, and one for all other units,
which share what is left of the allocatable cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocator.config import ModelSpec
from allocator.data import UnitTable
from allocator.errors import InfeasibleError, InputError
from allocator.targets import target_components, targets

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
    """Tightest of several bound arrays (NaN = no bound), with the name of the rule that set it."""
    value = np.full(n, -np.inf if pick_max else np.inf)
    rule = [""] * n
    for name, arr in candidates:
        for i in range(n):
            v = arr[i]
            if math.isnan(v):
                continue
            if (v > value[i] + EPS) if pick_max else (v < value[i] - EPS):
                value[i], rule[i] = v, name
    return value, tuple(rule)


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
    if b.max_cut is not None:
        lows.append(("max_cut", (1 - b.max_cut) * table.actual))
    if b.max_increase is not None:
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
    for name in sorted(spec.groups):
        members = np.array([i for i in range(n) if table.groups[i] == name], dtype=int)
        in_fixed[members] = True
        pools.append(Pool(name, members, spec.groups[name].total))
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


def check_feasible(problem: Problem, labels: tuple[str, ...] | None = None, *,
                   spec: ModelSpec | None = None, table: UnitTable | None = None) -> None:
    """Raise :class:`InfeasibleError` explaining every bound or total that cannot hold.

    The explanation is exact arithmetic (see :mod:`allocator.diagnose`); with ``spec`` and
    ``table`` it also names each rule's setting and the change of one setting that repairs it.
    """
    from allocator.diagnose import infeasibility

    reason = infeasibility(problem, labels=labels, spec=spec, table=table)
    if reason is not None:
        raise InfeasibleError(reason)


def build_problem(spec: ModelSpec, table: UnitTable) -> tuple[Problem, dict[str, np.ndarray]]:
    """The allocation problem and each unit's target broken down by indicator."""
    weights = spec.normalised_weights()
    transforms = {name: ind.transform for name, ind in spec.indicators.items()}
    parts = target_components(table.indicators, weights, transforms, spec.allocatable_cap)
    target = targets(parts)
    if not np.all(np.isfinite(target)):
        raise InputError(f"{table.path}: the indicator values are too large to add up; "
                         "give them in larger units (e.g. 10,000 people)")
    for i in np.flatnonzero(target <= 0):
        raise InputError(
            f"{table.path}: unit {table.ids[i]} is zero on every weighted indicator, so its "
            "zero-based target is 0; give it a positive value or drop it"
        )
    for i in np.flatnonzero(target < MIN_TARGET):
        raise InputError(
            f"{table.path}: unit {table.ids[i]} has a zero-based target of only {target[i]:.1e} "
            "posts (it is nearly zero on every weighted indicator); give it a larger value or "
            "drop it"
        )
    lower, upper, lower_rule, upper_rule = unit_bounds(spec, table)
    problem = Problem(
        ids=table.ids,
        target=target,
        lower=lower,
        upper=upper,
        lower_rule=lower_rule,
        upper_rule=upper_rule,
        pools=build_pools(spec, table),
        total=spec.allocatable_cap,
    )
    check_feasible(problem, table.labels, spec=spec, table=table)
    return problem, parts
