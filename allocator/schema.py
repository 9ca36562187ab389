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
from numbers import Real
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from allocator.choices import Recruitment, Rounding, Solver, Transform
from allocator.errors import InputError, did_you_mean
from allocator.overrides import Overrides

MAX_POSTS = 1_000_000_000  # caps and totals above this are typing errors, not staffing plans
MAX_YEARS = 200  # transition plans longer than this are typing errors


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


class IndicatorSpec(_Strict):
    """One indicator: a data column, its weight and an optional damping transform."""

    column: str
    """Data column with the indicator's value for each unit (numbers >= 0)."""
    weight: float = Field(ge=0)
    """Weight of the indicator; the weights of all indicators are normalised to sum to 1."""
    transform: Transform = Field(default=Transform.LINEAR, strict=False)
    """Damping applied to the values before their shares are taken (log is ln(1 + value))."""


class BoundsSpec(_Strict):
    """Per-unit bounds. Where a constant and a column are both given, the tighter one applies."""

    floor: float | None = Field(default=None, ge=0)
    """Fewest posts any unit gets."""
    floor_column: str | None = None
    """Column of per-unit floors (empty cell: none); with floor, the larger applies."""
    ceiling: float | None = Field(default=None, gt=0)
    """Most posts any unit gets."""
    ceiling_column: str | None = None
    """Column of per-unit ceilings (empty cell: none); with ceiling, the smaller applies."""
    max_cut: float | None = Field(default=None, ge=0, lt=1)
    """Largest cut, as a share of current posts: allocation >= (1 - max_cut) * actual."""
    max_increase: float | None = Field(default=None, ge=0)
    """Largest increase, as a share of current posts: allocation <= (1 + max_increase) * actual."""
    min_per_10k: float | None = Field(default=None, ge=0)
    """Fewest posts per 10,000 of the population indicator's values (a density floor per unit)."""
    max_per_10k: float | None = Field(default=None, gt=0)
    """Most posts per 10,000 of the population indicator's values (a density ceiling per unit)."""


class GroupSpec(_Strict):
    """The total of the units in one group: fixed (``total``) or bounded (``min``, ``max``,
    ``max_cut``, ``max_increase``). With nested levels, NAME is the group's path, outer level
    first, joined by ``/`` (e.g. ``"黑龙江省/哈尔滨市"``).

    >>> GroupSpec.model_validate({"min": 100, "max_cut": 0.3}).bounded
    True
    >>> GroupSpec.model_validate({"total": 10, "max": 20})
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: 1 validation error for GroupSpec
      Value error, give a fixed total or bounds (min, max, max_cut, max_increase), not both ...
    """

    total: int | None = Field(default=None, gt=0, le=MAX_POSTS)
    """Posts that the units of this group add up to, exactly."""
    min: float | None = Field(default=None, ge=0, le=MAX_POSTS)
    """Fewest posts the units of this group add up to."""
    max: float | None = Field(default=None, gt=0, le=MAX_POSTS)
    """Most posts the units of this group add up to."""
    max_cut: float | None = Field(default=None, ge=0, lt=1)
    """Largest cut of the group's total, as a share of its current posts (needs 'actual')."""
    max_increase: float | None = Field(default=None, ge=0)
    """Largest increase of the group's total, as a share of its current posts (needs 'actual')."""

    @property
    def bounded(self) -> bool:
        """Whether the group's total is bounded rather than fixed."""
        return any(v is not None for v in (self.min, self.max, self.max_cut, self.max_increase))

    @model_validator(mode="after")
    def _check(self) -> GroupSpec:
        if self.total is not None and self.bounded:
            raise ValueError("give a fixed total or bounds (min, max, max_cut, max_increase), "
                             "not both")
        if self.total is None and not self.bounded:
            raise ValueError("give a total, or bounds: min, max, max_cut or max_increase")
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

    name: str
    """Title of the model: heads every table and identifies its results in run.json."""
    data: str
    """Data table, .csv (UTF-8, UTF-8 with BOM, GB18030/GBK) or .xlsx, relative to the model file."""
    id: str
    """Column with a unique identifier for each unit."""
    label: str | None = None
    """Column of display names."""
    label_en: str | None = None  # optional English display names (charts without CJK fonts)
    """Column of English display names, for charts drawn without a font for Chinese."""
    group: str | list[str] | None = None
    """Column that puts each unit in a group (e.g. district or county), or a list of columns,
    outer level first, for nested levels (e.g. ["province", "prefecture"])."""
    actual: str | None = None
    """Column of current posts: the comparison, and what max_cut and max_increase refer to."""
    actual_note: str | None = None
    """Note printed under every comparison (e.g. that the current posts are illustrative)."""
    population: str | None = None
    """Name of the indicator that counts residents, for posts per 10,000 residents."""
    sheet: str | int | None = None
    """XLSX sheet to read, by name or 0-based position (default: the first)."""
    cap: int = Field(gt=0, le=MAX_POSTS)
    """Posts to allocate in all, before the reserve."""
    reserve: int | float = Field(default=0, ge=0)
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
        if self.equal_cut and self.group is None:
            raise ValueError("equal_cut: needs a 'group' column")
        if self.population is not None and self.population not in self.indicators:
            raise ValueError(f"population: '{self.population}' is not an indicator name")
        self._check_levels()
        self._check_rules()
        outer = {name: g.total for name, g in self.groups.items()
                 if g.total is not None and not any(self.groups[a].total is not None
                                                    for a in self._holders(name))}
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
        for name, g in self.groups.items():
            if g.total is None:
                continue
            for parent in self._holders(name):
                outer = self.groups[parent]
                if outer.total is not None and g.total > outer.total:
                    raise ValueError(f"groups.{name}: total {g.total:,} is above the total "
                                     f"{outer.total:,} of group '{parent}' that holds it")

    def _holders(self, name: str) -> list[str]:
        """The groups of this model that hold group ``name`` (nested levels only)."""
        if len(self.levels) < 2:
            return []
        return [a for a in _ancestors(name) if a in self.groups]

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
        """Indicator weights scaled to sum to 1."""
        total = sum(ind.weight for ind in self.indicators.values())
        return {name: ind.weight / total for name, ind in self.indicators.items()}

    def data_path(self) -> Path:
        """The data table's path, relative to the model file when the model came from one
        (normalised, so that messages say ``data/x.csv``, not ``models/../data/x.csv``)."""
        path = Path(self.data)
        if not path.is_absolute() and self.source is not None:
            path = Path(self.source).parent / path
        return Path(os.path.normpath(path))

    def with_overrides(self, overrides: Overrides | None = None, /, **fields: Any) -> ModelSpec:
        """A copy with ``overrides`` (or the same fields as keywords) applied and validated like
        the file itself; an error names the overrides it was found with.

        >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
        ...     "indicators": {"a": {"column": "a", "weight": 1}, "b": {"column": "b", "weight": 1}}})
        >>> spec.with_overrides(Overrides(weights={"a": 3})).normalised_weights()
        {'a': 0.75, 'b': 0.25}
        >>> spec.with_overrides(weights={"aa": 3})
        Traceback (most recent call last):
        allocator.errors.InputError: weights: no such indicator 'aa' (did you mean 'a'?)
        """
        given = replace(overrides or Overrides(), **fields)
        if given.is_empty:
            return self
        raw = self.model_dump(exclude_none=True)
        for name, value in (given.weights or {}).items():
            if name not in self.indicators:
                raise InputError(f"weights: no such indicator '{name}'"
                                 f"{did_you_mean(name, self.indicators)}")
            raw["indicators"][name]["weight"] = float(value) if isinstance(value, Real) else value
        raw.update({k: v for k, v in given.as_dict().items() if k != "weights"})
        try:
            return _validate(raw, self.source or "overrides")
        except InputError as exc:
            raise InputError(f"{exc} (with overrides {given.describe()})") from None


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: model file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read model file ({exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    return _validate(raw, str(path))
