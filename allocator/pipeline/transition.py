"""Library API: a transition plan from today's staff to the fair quota, year by year.

The model's fair allocation is the new quota; its ``actual`` column (or the ``headcount`` column
of its ``[transition]`` table) is today's staff. Units above quota recover every departure until
they reach it (退一收一), units below recruit within a yearly budget shared by the one ruler (see
:mod:`allocator.core.transition` for the rules). Options override the model's ``[transition]``
table key by key.

>>> from pathlib import Path
>>> import allocator
>>> model = Path(allocator.__file__).parents[1] / "models" / "harbin_2020.toml"
>>> plan = plan_transition(model, {"years": 20, "departure_rate": 0.05})
>>> plan.summary_frame().loc[[0, 20], ["year", "headcount", "transitional"]].to_dict("list")
{'year': [0, 20], 'headcount': [84196, 60806], 'transitional': [23763, 0]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.transition import (
    NEVER,
    REACH_LIMIT,
    Departures,
    PacePath,
    Projection,
    phase_quotas,
    project,
    years_to_quota,
)
from allocator.errors import InfeasibleError, InputError, did_you_mean
from allocator.overrides import Overrides
from allocator.pipeline.allocate import AllocationResult, prepare, solve
from allocator.schema import ModelSpec, TransitionSpec, load_model, spec_from_dict
from allocator.table import _numbers, read_raw_table
from allocator.units import UnitTable

FRAME_COLUMNS = ("year", "id", "label", "group", "quota", "headcount", "departures", "recovered",
                 "recruited", "transitional")
SUMMARY_COLUMNS = ("year", "quota", "headcount", "departures", "recovered", "recruited",
                   "transitional", "vacant", "units_above_quota", "units_below_quota", "budget",
                   "pool_lent", "pool_repaid", "pool_balance")
REACH_COLUMNS = ("id", "label", "group", "headcount", "quota", "change", "reach_year")
DEPARTURE_KEYS = ("departure_rate", "departure_rate_column", "departures_columns")
MAX_LISTED = 3  # units named one by one in a message before "and N more"


@dataclass(frozen=True)
class TransitionPlan:
    """A transition plan: the fair allocation it starts from, the settings as used, and the
    yearly numbers (:class:`~allocator.core.transition.Projection`)."""

    allocation: AllocationResult
    settings: TransitionSpec
    projection: Projection
    pace: PacePath | None
    late_reach: np.ndarray  # for units above quota after the last year: the year they would reach it

    @property
    def spec(self) -> ModelSpec:
        """The model as used, with its ``[transition]`` table as used."""
        return self.allocation.spec

    @property
    def table(self) -> UnitTable:
        return self.allocation.table

    @property
    def years(self) -> int:
        return self.projection.years

    def reach_year(self) -> np.ndarray:
        """The year each unit reaches its quota (0: today); after the horizon an estimate at the
        same departures for a unit still above it; NEVER (-1) when not known or not at all."""
        within = self.projection.reach_year()
        return np.where(within == NEVER, self.late_reach, within)

    @property
    def pool_repaid_year(self) -> int | None:
        """The year from which the pool holds all its posts again (None: it never lent, or is
        not repaid within the plan)."""
        short = np.flatnonzero(self.projection.pool_balance < self.settings.pool)
        if not short.size or short[-1] == self.years:
            return None
        return int(short[-1]) + 1

    def _name(self, i: int) -> str:
        labels = self.table.labels
        return f"{self.table.ids[i]} {labels[i]}" if labels and labels[i] else self.table.ids[i]

    def unfinished(self) -> str | None:
        """One line naming the units still above their quota after the last year, by how much,
        and the year they would reach it; None when every unit has reached it."""
        excess = self.projection.transitional[-1]
        over = sorted(np.flatnonzero(excess > 0), key=lambda i: (-excess[i], i))
        if not over:
            return None
        has_rate = self.settings.departure_rate is not None or \
            self.settings.departure_rate_column is not None
        parts = []
        for i in over[:MAX_LISTED]:
            year = int(self.late_reach[i])
            if year != NEVER:
                when = f"reaches it in year {year}"
            elif not has_rate:
                when = f"departures after year {len(self.settings.departures_columns or [])} " \
                       "are not known"
            else:
                when = f"not within {REACH_LIMIT} years at these departures"
            parts.append(f"{self._name(int(i))} by {excess[i]:,} ({when})")
        if len(over) > MAX_LISTED:
            parts.append(f"and {len(over) - MAX_LISTED:,} more")
        units = "1 unit is" if len(over) == 1 else f"{len(over):,} units are"
        years = "1 year" if self.years == 1 else f"{self.years} years"
        return (f"after {years} {units} still above quota ({int(excess.sum()):,} "
                f"transitional posts): {', '.join(parts)}; plan more years or assume more "
                "departures")

    def frame(self) -> pd.DataFrame:
        """One row per year (0 = today) and unit, in id order, with the columns of
        ``transition.csv``."""
        p, n = self.projection, len(self.table)
        rows = self.years + 1

        def tile(values: tuple[str, ...] | None) -> list[str | None]:
            cells: list[str | None] = list(values) if values else [None] * n
            return cells * rows

        frame = pd.DataFrame({
            "year": np.repeat(np.arange(rows), n),
            "id": tile(self.table.ids),
            "label": tile(self.table.labels),
            "group": tile(self.table.groups),
            "quota": p.quota.ravel(),
            "headcount": p.headcount.ravel(),
            "departures": p.departures.ravel(),
            "recovered": p.recovered.ravel(),
            "recruited": p.recruited.ravel(),
            "transitional": p.transitional.ravel(),
        })
        return frame[list(FRAME_COLUMNS)]

    def summary_frame(self) -> pd.DataFrame:
        """One row per year: the totals of :meth:`frame`, the posts of the quota left vacant, the
        units above and below quota, the year's recruitment budget (empty: unlimited) and the
        reserve pool's lending, repayment and balance (``transition_summary.csv``)."""
        p = self.projection
        budget = [None if y == 0 or not np.isfinite(b) else int(b) for y, b in enumerate(p.budget)]
        frame = pd.DataFrame({
            "year": np.arange(self.years + 1),
            "quota": p.quota.sum(axis=1),
            "headcount": p.headcount.sum(axis=1),
            "departures": p.departures.sum(axis=1),
            "recovered": p.recovered.sum(axis=1),
            "recruited": p.recruited.sum(axis=1),
            "transitional": p.transitional.sum(axis=1),
            "vacant": p.vacant.sum(axis=1),
            "units_above_quota": (p.headcount > p.quota).sum(axis=1),
            "units_below_quota": (p.headcount < p.quota).sum(axis=1),
            "budget": pd.array(budget, dtype="Int64"),
            "pool_lent": p.lent,
            "pool_repaid": p.repaid,
            "pool_balance": p.pool_balance,
        })
        return frame[list(SUMMARY_COLUMNS)]

    def reach_frame(self) -> pd.DataFrame:
        """One row per unit: today's headcount, the quota of the last year, the change between
        them and the year the unit reaches its quota (see :meth:`reach_year`; empty: never)."""
        n, p = len(self.table), self.projection
        reach = [None if y == NEVER else int(y) for y in self.reach_year()]
        frame = pd.DataFrame({
            "id": list(self.table.ids),
            "label": list(self.table.labels) if self.table.labels else [None] * n,
            "group": list(self.table.groups) if self.table.groups else [None] * n,
            "headcount": p.headcount[0],
            "quota": p.quota[-1],
            "change": p.quota[-1] - p.headcount[0],
            "reach_year": pd.array(reach, dtype="Int64"),
        })
        return frame[list(REACH_COLUMNS)]


def with_transition(spec: ModelSpec,
                    options: TransitionSpec | Mapping[str, Any] | None = None) -> ModelSpec:
    """The model with its ``[transition]`` table overridden by ``options``, validated.

    A mapping overrides key by key (None means "not given"); giving any source of departures
    (``departure_rate``, ``departure_rate_column``, ``departures_columns``) replaces the model's.
    A :class:`TransitionSpec` replaces the table whole.

    >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
    ...     "indicators": {"a": {"column": "a", "weight": 1}},
    ...     "transition": {"years": 5, "departure_rate_column": "r"}})
    >>> with_transition(spec, {"departure_rate": 0.04, "pool": None}).transition.model_dump(
    ...     exclude_none=True)
    {'years': 5, 'departure_rate': 0.04, 'recruitment': <Recruitment.DEPARTURES: 'departures'>, 'pool': 0}
    """
    given: dict[str, Any] = {}
    if isinstance(options, TransitionSpec):
        table = options.model_dump(exclude_none=True)
    else:
        given = {k: v for k, v in dict(options or {}).items() if v is not None}
        for key in given:
            if key not in TransitionSpec.model_fields:
                raise InputError(f"transition option '{key}': no such option"
                                 f"{did_you_mean(key, TransitionSpec.model_fields)}")
        table = spec.transition.model_dump(exclude_none=True) if spec.transition else {}
        if any(key in given for key in DEPARTURE_KEYS):
            table = {k: v for k, v in table.items() if k not in DEPARTURE_KEYS}
        table.update(given)
    raw = spec.model_dump(exclude_none=True)
    raw["transition"] = table
    try:
        return spec_from_dict(raw, spec.source or "model")
    except InputError as exc:
        if not given:
            raise
        raise InputError(f"{exc} (with overrides {_describe(given)})") from None


def _describe(given: Mapping[str, Any]) -> str:
    """The options given, as :meth:`Overrides.describe` says overrides (``years 3; pool 5``), so
    that a command can name its flags.

    >>> from allocator.choices import Recruitment
    >>> _describe({"years": 3, "recruitment": Recruitment.UNLIMITED})
    'years 3; recruitment unlimited'
    """
    return "; ".join(f"{k} {v.value if isinstance(v, Enum) else v}" for k, v in given.items())


def _columns(spec: ModelSpec, table: UnitTable, columns: dict[str, str]) -> dict[str, np.ndarray]:
    """Numbers of further columns of the model's table (key in messages -> column), in the
    table's unit order."""
    if not columns:
        return {}
    path = spec.data_path()
    frame = read_raw_table(path, spec.sheet)
    ids = [str(v).strip() for v in frame[spec.id]]
    where = {unit: row for row, unit in enumerate(ids)}
    order = np.array([where[unit] for unit in table.ids])
    # _numbers: the table's own parsing and messages (finite, non-negative, row named).
    return {key: _numbers(frame, path, column, key, ids)[order] for key, column in columns.items()}


def _departures(settings: TransitionSpec, n: int, read: dict[str, np.ndarray]) -> Departures:
    rate = None
    if settings.departure_rate is not None:
        rate = np.full(n, settings.departure_rate)
    elif settings.departure_rate_column is not None:
        rate = read["transition.departure_rate_column"]
    fixed = None
    if settings.departures_columns:
        fixed = np.vstack([read[f"transition.departures_columns[{k}]"]
                           for k in range(len(settings.departures_columns))])
    return Departures(rate=rate, fixed=fixed)


def plan_transition(model: ModelSpec | str | Path,
                    options: TransitionSpec | Mapping[str, Any] | None = None, *,
                    allow_unfinished: bool = False,
                    overrides: Overrides | None = None) -> TransitionPlan:
    """The transition plan of a model (a TOML path or a :class:`ModelSpec`).

    ``options`` override the model's ``[transition]`` table (see :func:`with_transition`): keys
    ``years``, ``departure_rate``, ``departure_rate_column``, ``departures_columns``,
    ``recruitment`` ("departures", "unlimited" or posts per year), ``pool``, ``headcount``,
    ``pace``. ``overrides`` change the allocation that gives the quota (weights, cap, solver,
    rounding; see :class:`~allocator.overrides.Overrides`) as they do for ``allocate``.

    Raises :class:`InputError` on invalid input (no departures, no headcount, a pool larger than
    the cap, rates outside [0, 1), negative or fractional headcounts) and
    :class:`InfeasibleError` when a pace year cannot hold or, unless ``allow_unfinished``, when
    units are still above their quota after the last year.
    """
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    ready = prepare(with_transition(spec, options), overrides)
    spec = ready.spec
    settings = spec.transition if spec.transition is not None else TransitionSpec()
    source = spec.source or "model"
    if all(getattr(settings, key) is None for key in DEPARTURE_KEYS):
        raise InputError(f"{source}: transition: no departures; give a departure_rate, a "
                         "departure_rate_column or departures_columns")
    known = len(settings.departures_columns or [])
    if settings.departure_rate is None and settings.departure_rate_column is None and \
            known < settings.years:
        raise InputError(f"{source}: transition: departures_columns give {known} years of "
                         f"departures but the plan has {settings.years}; give fewer years or a "
                         "departure rate for the years after")
    if settings.headcount is None and spec.actual is None:
        raise InputError(f"{source}: transition: no headcount; give the model an 'actual' column "
                         "or transition.headcount")
    if settings.pool > spec.cap:
        raise InputError(f"{source}: transition: the pool of {settings.pool:,} posts is larger "
                         f"than the cap ({spec.cap:,})")

    allocation = solve(ready)
    table = allocation.table
    wanted = {f"transition.departures_columns[{k}]": column
              for k, column in enumerate(settings.departures_columns or [])}
    if settings.departure_rate_column is not None:
        wanted["transition.departure_rate_column"] = settings.departure_rate_column
    if settings.headcount is not None:
        wanted["transition.headcount"] = settings.headcount
    read = _columns(spec, table, wanted)
    headcount = read["transition.headcount"] if settings.headcount is not None else table.actual
    if headcount is None:  # checked above: the model has an 'actual' column
        raise InputError(f"{source}: transition: no headcount")
    departures = _departures(settings, len(table), read)

    pace = None
    quota: np.ndarray = allocation.posts
    if settings.pace is not None:
        start = table.actual if table.actual is not None else headcount
        pace = phase_quotas(spec, table, start, settings.years, caps=settings.pace.caps,
                            max_cut=settings.pace.max_cut, max_increase=settings.pace.max_increase)
        quota = pace.quota
    projection = project(quota, headcount, departures, years=settings.years,
                         budget=settings.recruitment, pool=settings.pool, ids=table.ids)
    plan = TransitionPlan(allocation=allocation, settings=settings, projection=projection,
                          pace=pace, late_reach=years_to_quota(projection, departures))
    message = plan.unfinished()
    if message is not None and not allow_unfinished:
        raise InfeasibleError(message)
    return plan
