"""Model files: a strict, frozen description of one allocation (TOML under ``models/``).

>>> spec = ModelSpec.model_validate({
...     "name": "demo", "data": "units.csv", "id": "code", "cap": 100,
...     "indicators": {"population": {"column": "pop", "weight": 1}},
... })
>>> spec.allocatable_cap, spec.normalised_weights()
(100, {'population': 1.0})
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from allocator.choices import Recruitment, Rounding, Solver, Transform, names
from allocator.errors import InputError, did_you_mean
from allocator.overrides import Overrides

MAX_POSTS = 1_000_000_000  # caps and totals above this are typing errors, not staffing plans
MAX_YEARS = 200  # transition plans longer than this are typing errors


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


class Bilingual(_Strict):
    """Text in both languages, written as a table: ``{zh = "...", en = "..."}``.

    >>> text = Bilingual(zh="常住人口", en="Population")
    >>> text.en, str(text)
    ('Population', '常住人口 / Population')
    """

    zh: str
    """The Chinese text."""
    en: str
    """The English text."""

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


def _text(value: Any) -> Any:
    """A display text: a string (taken as written) or a ``{zh, en}`` table."""
    if value is None or isinstance(value, str | Bilingual):
        return value
    if isinstance(value, dict) and set(value) == {"zh", "en"} and all(
            isinstance(v, str) and v.strip() for v in value.values()):
        return Bilingual(zh=value["zh"], en=value["en"])
    got = (f"got keys {', '.join(sorted(map(str, value)))}" if isinstance(value, dict)
           else f"got {value!r}")
    raise PydanticCustomError("text", 'give a string, or a table with both texts: '
                              '{zh = "...", en = "..."} ({got})', {"got": got})


Text = Annotated[str | Bilingual, BeforeValidator(_text)]
"""A display text: one string, or the same text in Chinese and English (``{zh = .., en = ..}``)."""
OptionalText = Annotated[str | Bilingual | None, BeforeValidator(_text)]
"""A display text, or None."""


class IndicatorSpec(_Strict):
    """One indicator: a data column, its weight and an optional damping transform."""

    column: str
    """Data column with the indicator's value for each unit (numbers >= 0)."""
    weight: float = Field(ge=0, le=1e6)
    """Weight of the indicator; the weights of all indicators are normalised to sum to 1."""
    transform: Transform = Field(default=Transform.LINEAR, strict=False)
    """Damping applied to the values before their shares are taken (log is ln(1 + value))."""
    label: OptionalText = None
    """Display name in documents and charts: a string or {zh = "...", en = "..."}."""


class BoundsSpec(_Strict):
    """Per-unit bounds. Where a constant and a column are both given, the tighter one applies."""

    floor: float | None = Field(default=None, ge=0, le=MAX_POSTS)
    """Fewest posts any unit gets."""
    floor_column: str | None = None
    """Column of per-unit floors (empty cell: none); with floor, the larger applies."""
    ceiling: float | None = Field(default=None, gt=0, le=MAX_POSTS)
    """Most posts any unit gets."""
    ceiling_column: str | None = None
    """Column of per-unit ceilings (empty cell: none); with ceiling, the smaller applies."""
    max_cut: float | None = Field(default=None, ge=0, lt=1)
    """Largest cut, as a share of current posts: allocation >= (1 - max_cut) * actual."""
    max_increase: float | None = Field(default=None, ge=0, le=1000)
    """Largest increase, as a share of current posts: allocation <= (1 + max_increase) * actual."""
    min_per_10k: float | None = Field(default=None, ge=0)
    """Fewest posts per 10,000 of the population indicator's values (a density floor per unit)."""
    max_per_10k: float | None = Field(default=None, gt=0)
    """Most posts per 10,000 of the population indicator's values (a density ceiling per unit)."""


class GroupSpec(_Strict):
    """The total of the units in one group: fixed, as posts (``total``, which stays when the cap
    changes) or as a share of the allocatable cap (``share``, which follows it), or bounded
    (``min``, ``max``, ``max_cut``, ``max_increase``). With nested levels, NAME is the group's
    path, outer level first, joined by ``/`` (e.g. ``"黑龙江省/哈尔滨市"``).

    >>> GroupSpec.model_validate({"min": 100, "max_cut": 0.3}).bounded
    True
    >>> GroupSpec.model_validate({"total": 10, "max": 20})
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: 1 validation error for GroupSpec
      Value error, give a fixed total or bounds (min, max, max_cut, max_increase), not both ...
    """

    total: int | None = Field(default=None, gt=0, le=MAX_POSTS)
    """Posts that the units of this group add up to, exactly; it stays when the cap changes."""
    share: float | None = Field(default=None, gt=0, le=1)
    """Share of the allocatable cap that the units of this group add up to; follows the cap."""
    min: float | None = Field(default=None, ge=0, le=MAX_POSTS)
    """Fewest posts the units of this group add up to."""
    max: float | None = Field(default=None, gt=0, le=MAX_POSTS)
    """Most posts the units of this group add up to."""
    max_cut: float | None = Field(default=None, ge=0, lt=1)
    """Largest cut of the group's total, as a share of its current posts (needs 'actual')."""
    max_increase: float | None = Field(default=None, ge=0, le=1000)
    """Largest increase of the group's total, as a share of its current posts (needs 'actual')."""

    @property
    def bounded(self) -> bool:
        """Whether the group's total is bounded rather than fixed."""
        return any(v is not None for v in (self.min, self.max, self.max_cut, self.max_increase))

    @property
    def fixed(self) -> bool:
        """Whether the group's total is fixed (a ``total`` or a ``share``)."""
        return self.total is not None or self.share is not None

    @model_validator(mode="after")
    def _check(self) -> GroupSpec:
        if self.total is not None and self.share is not None:
            raise ValueError("give a total (posts) or a share (of the allocatable cap), not both")
        if self.fixed and self.bounded:
            kind = "total" if self.total is not None else "share"
            raise ValueError(f"give a fixed {kind} or bounds (min, max, max_cut, max_increase), "
                             "not both")
        if not self.fixed and not self.bounded:
            raise ValueError("give a total (posts) or a share (of the allocatable cap), not "
                             "neither; or bounds: min, max, max_cut or max_increase")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class ConstraintSpec(_Strict):
    """A linear constraint on the allocations of named units:
    min <= sum of coefficient * allocation <= max (``[[constraints]]``, one table each).

    >>> ConstraintSpec.model_validate({"name": "core", "terms": {"a": 1, "b": 1}, "min": 10}).max
    """

    name: str = Field(min_length=1)
    """What the constraint is called in results, explanations and messages."""
    label: OptionalText = None
    """Its name in documents: a string or {zh = "...", en = "..."} (default: the name, for
    readers of its language; in the other language its place, e.g. 专项约束1)."""
    terms: dict[str, float] = Field(min_length=1)
    """Unit id = coefficient, e.g. { "230102" = 1, "230103" = 1 }."""
    min: float | None = None
    """Smallest value the sum may take."""
    max: float | None = None
    """Largest value the sum may take."""

    @model_validator(mode="after")
    def _check(self) -> ConstraintSpec:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        if not any(self.terms.values()):
            raise ValueError("terms: every coefficient is 0")
        return self


class EqualCutSpec(_Strict):
    """Groups cut by about the same share of their current posts: every two of them within
    ``tolerance`` of each other (``[[equal_cut]]``; needs 'actual')."""

    groups: list[str] = Field(min_length=2)
    """Names of the groups (as in [groups.NAME]) whose cuts must stay close."""
    tolerance: float = Field(ge=0, lt=1)
    """Largest difference between two groups' cuts, as a share (0.05 = 5 percentage points)."""

    @model_validator(mode="after")
    def _check(self) -> EqualCutSpec:
        for name in self.groups:
            if self.groups.count(name) > 1:
                raise ValueError(f"groups: '{name}' is listed twice")
        return self


class PaceSpec(_Strict):
    """Pace of change: the quota phased in year by year, each year a fair allocation of that
    year's cap (``caps``: years 1, 2, .., the last repeated; by default a straight line from
    today's posts to the cap) with change limits against last year's quota."""

    caps: list[Annotated[int, Field(gt=0, le=MAX_POSTS)]] | None = Field(default=None, min_length=1)
    """The cap of years 1, 2, ...; the last one repeats (default: a straight line to the cap)."""
    max_cut: float | None = Field(default=None, ge=0, lt=1)
    """Largest yearly cut of a unit's quota, as a share of last year's quota."""
    max_increase: float | None = Field(default=None, ge=0)
    """Largest yearly increase of a unit's quota, as a share of last year's quota."""

    @model_validator(mode="after")
    def _check(self) -> PaceSpec:
        if self.caps is None and self.max_cut is None and self.max_increase is None:
            raise ValueError("transition.pace: give caps, max_cut or max_increase")
        return self


class TransitionSpec(_Strict):
    """A transition plan from today's headcount to the quota: horizon, departures, recruitment
    budget, reserve pool and (optionally) a pace of change for the quota itself.

    >>> TransitionSpec.model_validate({"years": 5, "departure_rate": 0.04, "recruitment": 30})
    ... # doctest: +ELLIPSIS
    TransitionSpec(years=5, departure_rate=0.04, ..., recruitment=30, pool=0, ...)
    """

    years: int = Field(default=10, gt=0, le=MAX_YEARS)
    """Horizon of the plan in years (year 0 is today)."""
    departure_rate: float | None = Field(default=None, ge=0, lt=1)
    """Share of each unit's staff leaving each year, from 0 up to (not including) 1."""
    departure_rate_column: str | None = None
    """Column with each unit's own yearly departure rate."""
    departures_columns: list[str] | None = Field(default=None, min_length=1)
    """Columns with known departures (people) in years 1, 2, ...; the rate applies after them."""
    recruitment: Recruitment | Annotated[int, Field(ge=0, le=MAX_POSTS)] = Recruitment.DEPARTURES
    """Yearly recruitment budget: "departures" (the city's departures), "unlimited", or posts."""
    pool: int = Field(default=0, ge=0, le=MAX_POSTS)
    """Reserve posts that may be lent for recruitment beyond the budget, repaid later."""
    headcount: str | None = None
    """Column with today's staff per unit (default: the model's 'actual' column)."""
    pace: PaceSpec | None = None
    """Phase the quota in year by year instead of applying it at once: [transition.pace]."""

    @field_validator("recruitment", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> Any:
        """'departures', 'unlimited' or a whole number (also as text, as a command line gives it)."""
        if isinstance(value, str):
            text = value.strip().replace(",", "")
            if text in tuple(Recruitment):
                return Recruitment(text)
            value = int(text) if text.isdigit() else value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_POSTS:
            return value
        raise ValueError("transition.recruitment: must be 'departures', 'unlimited' or a whole "
                         f"number of posts (0 or more), not {value!r}")

    @model_validator(mode="after")
    def _check(self) -> TransitionSpec:
        if self.departure_rate is not None and self.departure_rate_column is not None:
            raise ValueError("transition: give departure_rate or departure_rate_column, not both")
        columns = self.departures_columns or []
        for column in columns:
            if columns.count(column) > 1:
                raise ValueError(f"transition.departures_columns: column '{column}' is listed twice")
        return self


class ModelSpec(_Strict):
    """A whole model file, validated. ``data`` is resolved against the model file's folder."""

    name: Text
    """Title of the model: a string or {zh = "...", en = "..."}; heads every report and
    identifies its results in run.json."""
    data: str
    """Data table, .csv (UTF-8, UTF-8 with BOM, GB18030/GBK) or .xlsx, relative to the model file."""
    id: str
    """Column with a unique identifier for each unit."""
    label: str | None = None
    """Column of display names."""
    label_en: str | None = None
    """Column of English display names, for English documents and charts."""
    label_context: list[str] | None = Field(default=None, min_length=1)
    """Columns (most specific first) that tell apart units of the same name in documents."""
    group: str | list[str] | None = None
    """Column that puts each unit in a group (e.g. district or county), or a list of columns,
    outer level first, for nested levels (e.g. ["province", "prefecture"])."""
    actual: str | None = None
    """Column of current posts: the comparison, and what max_cut and max_increase refer to."""
    actual_note: OptionalText = None
    """Note under every comparison with current posts (e.g. that they are illustrative)."""
    data_source: OptionalText = None
    """Where the data come from, for the method statement of every report."""
    population: str | None = None
    """Name of the indicator that counts residents, for posts per 10,000 residents."""
    sheet: str | int | None = None
    """XLSX sheet to read, by name or 0-based position (default: the active visible sheet)."""
    cap: int = Field(gt=0, le=MAX_POSTS)
    """Posts to allocate in all, before the reserve."""
    reserve: int | float = Field(default=0, ge=0, le=MAX_POSTS)
    """Posts held back: a whole number, or a fraction of the cap below 1 (rounded half up)."""
    solver: Solver = Field(default=Solver.HIGHS, strict=False)
    """LP solver of the fair allocation."""
    rounding: Rounding = Field(default=Rounding.HAMILTON, strict=False)
    """How the fair allocation is rounded to whole posts (see docs/method.md)."""
    indicators: dict[str, IndicatorSpec] = Field(min_length=1)
    """The indicators, one table each, under a name of your choice: [indicators.NAME]."""
    bounds: BoundsSpec = BoundsSpec()
    """Floors, ceilings and change limits for every unit."""
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    """Fixed or bounded totals, one table per group: [groups.NAME]."""
    group_labels: dict[str, Text] = Field(default_factory=dict)
    """Display names of groups (by name, as in [groups.NAME]), e.g. district = {zh = "...", en = "..."}."""
    constraints: list[ConstraintSpec] = Field(default_factory=list)
    """Linear constraints on named units' allocations, one [[constraints]] table each."""
    equal_cut: list[EqualCutSpec] = Field(default_factory=list)
    """Groups whose cuts must stay within a tolerance of each other: [[equal_cut]]."""
    transition: TransitionSpec | None = None
    """The transition plan from today's headcount to the new quota: [transition]."""
    source: str | None = Field(default=None, exclude=True)
    """Where the model was read from; set when it is loaded, never written in a file."""

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if isinstance(self.reserve, float) and not self.reserve < 1:
            raise ValueError("reserve: a fraction must be below 1 (or give a whole number of posts)")
        if self.reserve_posts >= self.cap:
            raise ValueError(f"reserve: {self.reserve_posts:,} posts is not below the cap {self.cap:,}")
        if sum(ind.weight for ind in self.indicators.values()) <= 0:
            raise ValueError("indicators: the weights add up to 0; give at least one positive weight")
        if self.groups and self.group is None:
            raise ValueError("groups: group totals need a 'group' column")
        if self.group_labels and self.group is None:
            raise ValueError("group_labels: group names need a 'group' column")
        if self.equal_cut and self.group is None:
            raise ValueError("equal_cut: needs a 'group' column")
        if self.population is not None and self.population not in self.indicators:
            raise ValueError(f"population: '{self.population}' is not an indicator name")
        self._check_levels()
        for depth, shares in sorted(self._shares_by_level().items()):
            share_sum = math.fsum(shares.values())
            if share_sum > 1 + 1e-9:
                where = "" if len(self.levels) < 2 else f" of level {depth} ({self.levels[depth - 1]})"
                raise ValueError(f"groups: the shares{where} add up to {share_sum:g}, more than 1")
        self._check_nesting()
        self._check_rules()
        outer = self.outer_group_totals()
        group_sum = sum(outer.values())
        if group_sum > self.allocatable_cap:
            parts = " + ".join(f"{name} {total:,}" for name, total in sorted(outer.items()))
            raise ValueError(
                f"groups: the group totals add up to {group_sum:,} posts ({parts}) but only "
                f"{self.allocatable_cap:,} posts are allocatable"
            )
        b = self.bounds
        if b.floor is not None and b.ceiling is not None and b.floor > b.ceiling:
            raise ValueError(f"bounds: floor {b.floor:g} is above ceiling {b.ceiling:g}")
        if (b.max_cut is not None or b.max_increase is not None) and self.actual is None:
            raise ValueError("bounds: max_cut and max_increase need an 'actual' column")
        return self

    @property
    def levels(self) -> tuple[str, ...]:
        """The group columns, outer level first (one for a single group column, none without).

        >>> ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
        ...     "group": ["province", "prefecture"],
        ...     "indicators": {"a": {"column": "a", "weight": 1}}}).levels
        ('province', 'prefecture')
        """
        if self.group is None:
            return ()
        return (self.group,) if isinstance(self.group, str) else tuple(self.group)

    def _check_levels(self) -> None:
        levels = self.levels
        if isinstance(self.group, list):
            if not levels:
                raise ValueError("group: give at least one column")
            for column in levels:
                if levels.count(column) > 1:
                    raise ValueError(f"group: column '{column}' is listed twice")
        if len(levels) > 1:
            for name in self.groups:
                depth = len(name.split("/"))
                if depth > len(levels) or "" in name.split("/"):
                    raise ValueError(
                        f"groups.{name}: a group of nested levels is named by its path, outer "
                        f"level first, at most {len(levels)} parts joined by '/' "
                        f"(e.g. 'A/B' for group B of {levels[1]} inside group A of {levels[0]})")

    def _check_nesting(self) -> None:
        totals = self.group_totals()
        for name, total in totals.items():
            for parent in self._holders(name):
                if parent in totals and total > totals[parent]:
                    raise ValueError(f"groups.{name}: total {total:,} is above the total "
                                     f"{totals[parent]:,} of group '{parent}' that holds it")

    def _holders(self, name: str) -> list[str]:
        """The groups of this model that hold group ``name`` (nested levels only)."""
        if len(self.levels) < 2:
            return []
        return [a for a in _ancestors(name) if a in self.groups]

    def fixed_parent(self, name: str) -> str | None:
        """The innermost group with a fixed total that holds group ``name`` (nested levels only).

        >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
        ...     "group": ["p", "q"], "groups": {"A": {"total": 6}, "A/B": {"share": 0.2}},
        ...     "indicators": {"a": {"column": "a", "weight": 1}}})
        >>> spec.fixed_parent("A/B"), spec.fixed_parent("A")
        ('A', None)
        """
        holders = [a for a in self._holders(name) if self.groups[a].fixed]
        return holders[-1] if holders else None

    def _depth(self, name: str) -> int:
        """The level of group ``name``: 1 for the outer level (and for every group of one level)."""
        return len(name.split("/")) if len(self.levels) > 1 else 1

    def _shares_by_level(self) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {}
        for name, g in self.groups.items():
            if g.share is not None:
                out.setdefault(self._depth(name), {})[name] = g.share
        return out

    def _check_rules(self) -> None:
        b = self.bounds
        if (b.min_per_10k is not None or b.max_per_10k is not None) and self.population is None:
            raise ValueError("bounds: min_per_10k and max_per_10k need a 'population' indicator")
        if b.min_per_10k is not None and b.max_per_10k is not None and \
                b.min_per_10k > b.max_per_10k:
            raise ValueError(f"bounds: min_per_10k {b.min_per_10k:g} is above max_per_10k "
                             f"{b.max_per_10k:g}")
        for name, g in self.groups.items():
            if (g.max_cut is not None or g.max_increase is not None) and self.actual is None:
                raise ValueError(f"groups.{name}: max_cut and max_increase need an 'actual' column")
        if self.equal_cut and self.actual is None:
            raise ValueError("equal_cut: needs an 'actual' column (the cuts are against it)")
        names = [c.name for c in self.constraints]
        for k, name in enumerate(names):
            if names.index(name) != k:
                raise ValueError(f"constraints[{k}].name: '{name}' is used twice")

    @property
    def reserve_posts(self) -> int:
        """Reserve in posts: a whole number as given, a fraction of the cap rounded half up."""
        if isinstance(self.reserve, float):
            return math.floor(self.reserve * self.cap + 0.5)
        return self.reserve

    @property
    def allocatable_cap(self) -> int:
        """Posts to allocate: the cap less the reserve pool."""
        return self.cap - self.reserve_posts

    def normalised_weights(self) -> dict[str, float]:
        """Indicator weights scaled to sum to 1 (weights that already do, within 1e-12, as they
        are: a share given as 0.3 is used as 0.3, not as 0.30000000000000004)."""
        total = math.fsum(ind.weight for ind in self.indicators.values())
        if abs(total - 1) <= 1e-12:
            return {name: ind.weight for name, ind in self.indicators.items()}
        return {name: ind.weight / total for name, ind in self.indicators.items()}

    def group_totals(self) -> dict[str, int]:
        """Each fixed group's total in posts: its ``total``, or its ``share`` of the allocatable
        cap (the shares of one level are rounded together by largest remainders, ties by name,
        so that they add up to their sum rounded half up). Bounded groups have none.

        >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 101,
        ...     "group": "g", "groups": {"a": {"share": 0.5}, "b": {"share": 0.5}},
        ...     "indicators": {"p": {"column": "p", "weight": 1}}})
        >>> spec.group_totals()
        {'a': 51, 'b': 50}
        """
        shared: dict[str, int] = {}
        for shares in self._shares_by_level().values():  # the groups of one level are disjoint
            quotas = {name: share * self.allocatable_cap for name, share in shares.items()}
            shared.update(largest_remainder(quotas, math.floor(math.fsum(quotas.values()) + 0.5)))
        return {name: g.total if g.total is not None else shared[name]
                for name, g in self.groups.items() if g.fixed}

    def outer_group_totals(self) -> dict[str, int]:
        """The fixed totals that no other fixed total holds: together, the posts that the groups
        with fixed totals take from the allocatable cap (each unit counted once)."""
        return {name: total for name, total in self.group_totals().items()
                if self.fixed_parent(name) is None}

    def data_path(self) -> Path:
        """The data table's path, relative to the model file when the model came from one
        (normalised, so that messages say ``data/x.csv``, not ``models/../data/x.csv``)."""
        path = Path(self.data)
        if not path.is_absolute() and self.source is not None:
            path = Path(self.source).parent / path
        return Path(os.path.normpath(path))

    def with_overrides(self, overrides: Overrides | None = None, /, **fields: Any) -> ModelSpec:
        """A copy with ``overrides`` (or the same fields as keywords) applied and validated like
        the file itself; an error names the overrides it was found with. Weights given are final
        shares (:func:`allocator.overrides.final_weights`); a new cap is refused while a group
        keeps a fixed ``total`` that is not overridden too.

        >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
        ...     "indicators": {"a": {"column": "a", "weight": 1}, "b": {"column": "b", "weight": 1}}})
        >>> spec.with_overrides(Overrides(weights={"a": 0.75})).normalised_weights()
        {'a': 0.75, 'b': 0.25}
        >>> spec.with_overrides(weights={"aa": 0.3})
        Traceback (most recent call last):
        allocator.errors.InputError: weights: no such indicator 'aa' (did you mean 'a'?) (indicators: a, b)
        """
        given = replace(overrides or Overrides(), **fields)
        if given.is_empty:
            return self
        raw = self.model_dump(exclude_none=True)
        if given.weights:
            used = given.apply_weights({n: ind.weight for n, ind in self.indicators.items()})
            for name, value in used.items():
                raw["indicators"][name]["weight"] = value
        for key, choice in (("solver", Solver), ("rounding", Rounding)):
            value = getattr(given, key)
            if value is not None and str(value) not in names(choice):
                raise InputError(f"{key} '{value}': use one of {', '.join(names(choice))}"
                                 f"{did_you_mean(str(value), names(choice))}")
        for name, total in (given.group_totals or {}).items():
            if name not in self.groups:
                listed = ", ".join(n for n, g in self.groups.items() if g.fixed) or \
                    "none; a group total needs [groups.NAME]"
                bounded = ", ".join(n for n, g in self.groups.items() if g.bounded)
                raise InputError(f"group_totals: no such group '{name}'"
                                 f"{did_you_mean(name, self.groups)} (groups with fixed totals: "
                                 f"{listed}" + (f"; with bounded totals: {bounded})" if bounded
                                               else ")"))
            raw["groups"][name] = {"total": total}
        if given.cap is not None and given.cap != self.cap:
            self._check_cap_override(given)
        raw.update({k: v for k, v in given.as_dict().items() if k not in ("weights", "group_totals")})
        try:
            return _validate(raw, self.source or "overrides")
        except InputError as exc:
            raise InputError(f"{exc} (with overrides {given.describe()})") from None

    def _check_cap_override(self, given: Overrides) -> None:
        """Refuse a new cap while groups keep fixed totals that do not follow it, naming the way
        out: the same shares of the new cap as group total overrides, or shares in the file."""
        fixed = [n for n, g in sorted(self.groups.items())
                 if g.total is not None and n not in (given.group_totals or {})]
        cap = given.cap
        if not fixed or isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            return  # no fixed total in the way, or a cap that validation refuses anyway
        totals = {**self.group_totals(), **(given.group_totals or {})}
        reserve = self.reserve
        allocatable = cap - (math.floor(reserve * cap + 0.5) if isinstance(reserve, float)
                             else reserve)
        scale = allocatable / self.allocatable_cap
        same = largest_remainder({n: totals[n] * scale for n in fixed},
                                 math.floor(math.fsum(totals[n] for n in fixed) * scale + 0.5))
        listed = " and ".join(f"{n} ({totals[n]:,})" for n in fixed)
        kind = "groups" if len(fixed) > 1 else "group"
        example = ", ".join(f"{n}={same[n]}" for n in fixed)
        plural = len(fixed) > 1
        raise InputError(
            f"cap {cap}: the model fixes the total of {kind} {listed}, which "
            f"{'do' if plural else 'does'} not follow the cap; override {'them' if plural else 'it'}"
            f" too (group_totals {example} keeps the same shares of the new cap), or give the "
            f"{kind} a share of the cap instead of a total in the model file ([groups.NAME] "
            "share = ...)")


def _ancestors(name: str) -> list[str]:
    """The paths of the groups that hold a nested group, e.g. ``a/b/c`` -> ``a``, ``a/b``.

    >>> _ancestors("a/b/c")
    ['a', 'a/b']
    """
    parts = name.split("/")
    return ["/".join(parts[:k]) for k in range(1, len(parts))]


_ALLOWED_KEYS: dict[str, list[str]] = {
    "": list(ModelSpec.model_fields),
    "indicators": list(IndicatorSpec.model_fields),
    "bounds": list(BoundsSpec.model_fields),
    "groups": list(GroupSpec.model_fields),
    "constraints": list(ConstraintSpec.model_fields),
    "equal_cut": list(EqualCutSpec.model_fields),
    "transition": list(TransitionSpec.model_fields),
}


def largest_remainder(quotas: Mapping[str, float], total: int) -> dict[str, int]:
    """Whole numbers adding up to ``total``: each quota rounded down, then one more for the
    largest remainders (ties by name).

    >>> largest_remainder({"a": 1.5, "b": 1.5, "c": 2.0}, 5)
    {'a': 2, 'b': 1, 'c': 2}
    """
    whole = {name: math.floor(q) for name, q in quotas.items()}
    order = sorted(quotas, key=lambda name: (-(quotas[name] - whole[name]), name))
    for name in order[:max(0, total - sum(whole.values()))]:
        whole[name] += 1
    return whole


def _describe(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                  for part in error["loc"]).lstrip(".") or "(model)"
    kind = error["type"]
    if kind == "extra_forbidden":
        section = loc[0] if len(loc) > 1 else ""
        allowed = [k for k in _ALLOWED_KEYS.get(section, []) if k != "source"]
        return f"unknown key '{key}'{did_you_mean(loc[-1], allowed)}"
    if kind == "missing":
        return f"missing key '{key}'"
    if kind == "text":
        return f"{key}: {error['msg']}"
    if kind in ("literal_error", "enum"):
        return f"{key}: {error['msg'].replace('Input should be', 'must be')}, not {error['input']!r}"
    if kind == "value_error":
        text = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        # A nested table's own check names what it found, and the table is named here.
        return text if not loc or text.startswith(loc[0]) else f"{key}: {text}"
    text = f"{key}: {error['msg'].replace('Input should be', 'must be')} (got {error['input']!r})"
    if kind in ("int_type", "float_type") and isinstance(error["input"], str):
        text += "; write the number without quotes"
    return text


def spec_from_dict(raw: dict[str, Any], source: str) -> ModelSpec:
    """Validate a model given as a dict (e.g. the ``model`` recorded in ``run.json``); paths in it
    are relative to ``source``'s folder. Raises :class:`InputError` like :func:`load_model`.

    >>> spec_from_dict({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
    ...     "indicators": {"a": {"column": "a", "weight": 1}}}, "models/d.toml").data_path()
    PosixPath('models/u.csv')
    """
    return _validate(raw, source)


def _validate(raw: dict[str, Any], source: str) -> ModelSpec:
    try:
        return ModelSpec.model_validate({**raw, "source": source})
    except ValidationError as exc:
        errors = exc.errors()
        # An unknown key is usually a misspelt one, which also shows up as a missing key:
        # report the spelling, with its hint, first.
        errors.sort(key=lambda e: e["type"] != "extra_forbidden")
        raise InputError(f"{source}: {_describe(errors[0])}") from None


def load_model(path: str | Path) -> ModelSpec:
    """Read and validate a TOML model file.

    Raises :class:`InputError` with a one-line message naming the file and key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Notepad, WPS) is not TOML
    except FileNotFoundError:
        raise InputError(f"{path}: model file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read model file ({exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    return _validate(raw, str(path))
