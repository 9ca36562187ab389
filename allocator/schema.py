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
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from allocator.choices import Rounding, Solver, Transform
from allocator.errors import InputError, did_you_mean

MAX_POSTS = 1_000_000_000  # caps and totals above this are typing errors, not staffing plans


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class IndicatorSpec(_Strict):
    """One indicator: a data column, its weight and an optional damping transform."""

    column: str
    weight: float = Field(ge=0, le=1e6)
    transform: Transform = Field(default=Transform.LINEAR, strict=False)


class BoundsSpec(_Strict):
    """Per-unit bounds. Where a constant and a column are both given, the tighter one applies."""

    floor: float | None = Field(default=None, ge=0, le=MAX_POSTS)
    floor_column: str | None = None
    ceiling: float | None = Field(default=None, gt=0, le=MAX_POSTS)
    ceiling_column: str | None = None
    max_cut: float | None = Field(default=None, ge=0, lt=1)
    max_increase: float | None = Field(default=None, ge=0, le=1000)


class GroupSpec(_Strict):
    """A fixed total for every unit whose group column holds this group's name."""

    total: int = Field(gt=0, le=MAX_POSTS)


class ModelSpec(_Strict):
    """A whole model file, validated. ``data`` is resolved against the model file's folder."""

    name: str
    data: str
    id: str
    label: str | None = None
    label_en: str | None = None  # optional English display names (charts without CJK fonts)
    group: str | None = None
    actual: str | None = None
    actual_note: str | None = None
    population: str | None = None
    sheet: str | int | None = None
    cap: int = Field(gt=0, le=MAX_POSTS)
    reserve: int | float = Field(default=0, ge=0, le=MAX_POSTS)
    solver: Solver = Field(default=Solver.HIGHS, strict=False)
    rounding: Rounding = Field(default=Rounding.HAMILTON, strict=False)
    indicators: dict[str, IndicatorSpec] = Field(min_length=1)
    bounds: BoundsSpec = BoundsSpec()
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    source: str | None = Field(default=None, exclude=True)

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
        if self.population is not None and self.population not in self.indicators:
            raise ValueError(f"population: '{self.population}' is not an indicator name")
        group_sum = sum(g.total for g in self.groups.values())
        if group_sum > self.allocatable_cap:
            parts = " + ".join(f"{name} {g.total:,}" for name, g in sorted(self.groups.items()))
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

    def with_overrides(
        self,
        *,
        weights: dict[str, float] | None = None,
        cap: int | None = None,
        solver: str | None = None,
        rounding: str | None = None,
    ) -> ModelSpec:
        """A copy with command-line overrides applied and validated like the file itself.

        >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
        ...     "indicators": {"a": {"column": "a", "weight": 1}, "b": {"column": "b", "weight": 1}}})
        >>> spec.with_overrides(weights={"a": 3}).normalised_weights()
        {'a': 0.75, 'b': 0.25}
        """
        raw = self.model_dump(exclude_none=True)
        for name, value in (weights or {}).items():
            if name not in self.indicators:
                raise InputError(f"--weight {name}: no such indicator{did_you_mean(name, self.indicators)}")
            raw["indicators"][name]["weight"] = float(value)
        if cap is not None:
            raw["cap"] = cap
        if solver is not None:
            raw["solver"] = solver
        if rounding is not None:
            raw["rounding"] = rounding
        given = [f"--weight {k}={v:g}" for k, v in (weights or {}).items()]
        given += [f"--{k} {v}" for k, v in (("cap", cap), ("solver", solver), ("rounding", rounding))
                  if v is not None]
        try:
            return _validate(raw, self.source or "overrides")
        except InputError as exc:
            raise InputError(f"{exc} (with {' '.join(given)})") from None


_ALLOWED_KEYS: dict[str, list[str]] = {
    "": list(ModelSpec.model_fields),
    "indicators": list(IndicatorSpec.model_fields),
    "bounds": list(BoundsSpec.model_fields),
    "groups": list(GroupSpec.model_fields),
}


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc) if loc else "(model)"
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
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
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
