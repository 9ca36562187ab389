"""What one run may change in its model without editing the file: weights, cap, solver, rounding.

Defined once here; the schema applies it, the pipeline records it, the CLI builds it from flags.

>>> o = Overrides(weights={"area": 0.3}, cap=5)
>>> o.is_empty, o.describe(), o.as_dict()
(False, 'weights area=0.3; cap 5', {'weights': {'area': 0.3}, 'cap': 5})
>>> Overrides(weights={}).is_empty
True
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from allocator.choices import Rounding, Solver


@dataclass(frozen=True)
class Overrides:
    """Replacements for a model's indicator weights (by name, renormalised with the others), cap
    (posts, before reserve), LP solver and rounding method; ``None`` keeps the model's value.

    Values are checked when applied (:meth:`allocator.schema.ModelSpec.with_overrides`), with the
    same rules and messages as the model file. An empty ``weights`` dict means no weight override;
    ``cap=0`` is an override (an invalid one), not "no cap".
    """

    weights: dict[str, float] | None = None
    cap: int | None = None
    solver: Solver | str | None = None
    rounding: Rounding | str | None = None

    def __post_init__(self) -> None:
        # A private copy, so that the caller's dict cannot change a frozen value afterwards.
        object.__setattr__(self, "weights", dict(self.weights) if self.weights else None)

    @property
    def is_empty(self) -> bool:
        """True when nothing is overridden."""
        return all(getattr(self, f.name) is None for f in fields(self))

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
            if name == "weights":
                value = ", ".join(f"{k}={_number(v)}" for k, v in value.items())
            parts.append(f"{name} {value}")
        return "; ".join(parts)


def _number(value: Any) -> str:
    """``0.3`` -> ``'0.3'``; anything that is not a number as its repr (it will be rejected)."""
    try:
        return format(value, "g")
    except (TypeError, ValueError):
        return repr(value)
