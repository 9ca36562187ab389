"""The one layout of every grouped table (report tables and the terminal alike): each group's
units in first-seen order, each group followed by its subtotal, then the total.

>>> [(s.level, s.members.tolist(), s.group) for s in grouped_rows(3, ["x", "y", "x"])]
... # doctest: +NORMALIZE_WHITESPACE
[('unit', [0], 'x'), ('unit', [2], 'x'), ('subtotal', [0, 2], 'x'),
 ('unit', [1], 'y'), ('subtotal', [1], 'y'), ('total', [0, 1, 2], None)]
>>> [s.level for s in grouped_rows(2, None)]
['unit', 'unit', 'total']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

Level = Literal["unit", "subtotal", "total"]


class Slot(NamedTuple):
    """One row of a grouped table: its level, the positions of the units it covers (one for a
    unit row) and its group (None for ungrouped units and the total)."""

    level: Level
    members: np.ndarray
    group: str | None


def grouped_rows(n: int, groups: Sequence[str] | None) -> list[Slot]:
    """The rows of a table of ``n`` units: grouped by ``groups`` (one per unit) with a subtotal
    after each group, or without groups the units in order; then the total."""
    everyone = np.arange(n)
    if groups is None:
        return [*(Slot("unit", everyone[i:i + 1], None) for i in range(n)),
                Slot("total", everyone, None)]
    members: dict[str, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    slots: list[Slot] = []
    for group, units in members.items():
        slots += [Slot("unit", everyone[i:i + 1], group) for i in units]
        slots.append(Slot("subtotal", everyone[units], group))
    return [*slots, Slot("total", everyone, None)]
