"""What one run may change in its model without editing the file: weights, cap, solver, rounding
and group totals.

Defined once here; the schema applies it, the pipeline records it, the CLI builds it from flags.
A weight given here is the indicator's **final share** (:func:`final_weights`): the named ones
keep their values, the others share the rest in the model's proportions. The model file's own
weights stay relative (they are normalised).

>>> o = Overrides(weights={"area": 0.5}, cap=5)
>>> o.is_empty, o.describe(), o.as_dict()
(False, 'weights area=0.5; cap 5', {'weights': {'area': 0.5}, 'cap': 5})
>>> o.apply_weights({"population": 3, "area": 1, "townships": 1})
{'population': 0.375, 'area': 0.5, 'townships': 0.125}
>>> o.tag()
'area=0.5,cap=5'
>>> Overrides(weights={}).is_empty
True
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from numbers import Real
from typing import Any

from allocator.choices import Rounding, Solver
from allocator.errors import InputError, did_you_mean

SUM_TOLERANCE = 1e-9  # shares that name every indicator must add up to 1 within this
TAG_LENGTH = 60  # characters of a scenario tag before it is shortened with a hash
_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')  # not in a file name on Windows or POSIX


def final_weights(model: Mapping[str, float], given: Mapping[str, Any] | None = None
                  ) -> dict[str, float]:
    """The weights a run uses, summing to 1: each indicator named in ``given`` gets exactly its
    value (its final share, between 0 and 1), and the others share what is left in the
    proportions of ``model`` (the model file's weights, relative). Without ``given``, the model's
    weights normalised.

    Shares named in ``given`` may not add up to more than 1; when every indicator is named they
    must add up to 1 (within 1e-9); when some are not named, at least one of those must weigh
    something in the model to take what is left.

    >>> final_weights({"a": 2, "b": 1, "c": 1}, {"a": 0.6})
    {'a': 0.6, 'b': 0.2, 'c': 0.2}
    >>> final_weights({"a": 2, "b": 2}, {})
    {'a': 0.5, 'b': 0.5}
    >>> final_weights({"a": 1, "b": 1}, {"a": 0.7, "b": 0.4})
    Traceback (most recent call last):
    allocator.errors.InputError: weights a=0.7, b=0.4: the named shares add up to 1.1, more than 1
    """
    total = sum(model.values())
    if not given:
        return {name: value / total for name, value in model.items()}
    for name, value in given.items():
        if name not in model:
            raise InputError(f"weights: no such indicator '{name}'{did_you_mean(name, model)} "
                             f"(indicators: {', '.join(model)})")
        if isinstance(value, bool) or not isinstance(value, Real) or \
                not (math.isfinite(float(value)) and 0 <= float(value) <= 1):
            raise InputError(f"weights {name}={_number(value)}: a weight given for a run is the "
                             "indicator's share, a number between 0 and 1")
    shown = ", ".join(f"{name}={_number(value)}" for name, value in given.items())
    named = math.fsum(float(v) for v in given.values())
    if named > 1 + SUM_TOLERANCE:
        raise InputError(f"weights {shown}: the named shares add up to {named:.10g}, more than 1")
    rest = [name for name in model if name not in given]
    if not rest:
        if abs(named - 1) > SUM_TOLERANCE:
            raise InputError(f"weights {shown}: every indicator is named, so the shares must add "
                             f"up to 1, not {named:.10g}")
        return {name: float(given[name]) for name in model}
    left = max(0.0, 1.0 - named)
    base = math.fsum(model[name] for name in rest)
    if base <= 0 and left > SUM_TOLERANCE:
        raise InputError(f"weights {shown}: the named shares add up to {named:.10g}, and the "
                         f"other indicators ({', '.join(rest)}) all weigh 0 in the model, so none "
                         f"takes the remaining {left:.10g}; name their shares too")
    return {name: float(given[name]) if name in given else
            (left * model[name] / base if base > 0 else 0.0) for name in model}


@dataclass(frozen=True)
class Overrides:
    """Replacements for a model's indicator weights (by name, each the indicator's final share:
    see :func:`final_weights`), cap (posts, before reserve), LP solver, rounding method and
    fixed group totals (posts, by group name); ``None`` keeps the model's value.

    Values are checked when applied (:meth:`allocator.schema.ModelSpec.with_overrides`). An empty
    ``weights`` dict means no weight override; ``cap=0`` is an override (an invalid one), not
    "no cap".
    """

    weights: dict[str, float] | None = None
    cap: int | None = None
    solver: Solver | str | None = None
    rounding: Rounding | str | None = None
    group_totals: dict[str, int] | None = None

    def __post_init__(self) -> None:
        # Private copies, so that the caller's dicts cannot change a frozen value afterwards.
        object.__setattr__(self, "weights", dict(self.weights) if self.weights else None)
        object.__setattr__(self, "group_totals",
                           dict(self.group_totals) if self.group_totals else None)

    @property
    def is_empty(self) -> bool:
        """True when nothing is overridden."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def apply_weights(self, model: Mapping[str, float]) -> dict[str, float]:
        """The weights used with these overrides, from the model's (relative) ``model`` weights:
        :func:`final_weights`."""
        return final_weights(model, self.weights)

    def as_dict(self) -> dict[str, Any]:
        """The given overrides only, as plain JSON values (what ``run.json`` records).

        >>> Overrides(rounding=Rounding.WEBSTER).as_dict()
        {'rounding': 'webster'}
        """
        given = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                given[f.name] = value.value if isinstance(value, Enum) else \
                    dict(value) if isinstance(value, dict) else value
        return given

    def describe(self) -> str:
        """One line for messages: ``weights a=0.3, b=0.5; cap 900; rounding webster``.

        >>> Overrides(weights={"a": 0.3, "b": 0.5}, rounding="webster").describe()
        'weights a=0.3, b=0.5; rounding webster'
        """
        parts = []
        for name, value in self.as_dict().items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={_number(v)}" for k, v in value.items())
            parts.append(f"{name} {value}")
        return "; ".join(parts)

    def tag(self) -> str:
        """A short, file-name-safe name of the scenario ('' for none), for the name of its
        output folder: ``area=0.3``, ``cap=58000``, ``rounding=webster``, a group total as
        ``district.total=26000``; several joined by ``,`` (names in order, so that the same
        scenario always has the same tag). Longer than 60 characters, it keeps its start and ends
        with a hash of the whole.

        >>> Overrides(weights={"area": 0.3}, rounding="webster", group_totals={"县": 9}).tag()
        'area=0.3,rounding=webster,县.total=9'
        >>> Overrides(weights={"b": 0.2, "a": 0.1}).tag() == Overrides(weights={"a": 0.1, "b": 0.2}).tag()
        True
        >>> len(Overrides(weights={f"w{k}": 0.01 for k in range(20)}).tag())
        60
        """
        parts = []
        for name, value in self.as_dict().items():
            if name == "weights":
                parts += [f"{k}={_number(v)}" for k, v in sorted(value.items())]
            elif name == "group_totals":
                parts += [f"{k}.total={v}" for k, v in sorted(value.items())]
            else:
                parts.append(f"{name}={value}")
        text = _UNSAFE.sub("_", ",".join(parts)).strip(". ")
        if len(text) > TAG_LENGTH:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
            text = f"{text[:TAG_LENGTH - 11]}~{digest}"
        return text


def _number(value: Any) -> str:
    """A number as given, shortest: ``0.3`` -> ``'0.3'``, ``1.0`` -> ``'1'``, ``60806`` ->
    ``'60806'``; anything that is not a number as its repr (it will be rejected)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    short = format(value, "g")
    return short if float(short) == value else repr(float(value))
