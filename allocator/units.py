"""The units of one model as the core sees them: ids, names, groups and numbers, no files.

>>> import numpy as np
>>> from pathlib import Path
>>> t = UnitTable(ids=("a", "b"), labels=None, groups=None, indicators={"pop": np.array([1.0, 2.0])},
...               actual=None, floor=None, ceiling=None, path=Path("u.csv"), sha256="")
>>> len(t)
2
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class UnitTable:
    """The units of one model, in canonical (id) order, with every column the model uses."""

    ids: tuple[str, ...]
    labels: tuple[str, ...] | None
    groups: tuple[str, ...] | None
    indicators: dict[str, np.ndarray]
    actual: np.ndarray | None
    floor: np.ndarray | None
    ceiling: np.ndarray | None
    path: Path
    sha256: str
    labels_en: tuple[str, ...] | None = None  # English display names (model key ``label_en``)
    encoding: str | None = None  # how a CSV file was decoded: utf-8, utf-8-sig or gb18030
    sheet: str | None = None  # the XLSX sheet read
    # Nested group levels (a list of group columns): each unit's group path at each level, outer
    # level first, e.g. ("P", "P/Q"); ``groups`` then holds the outer level. None with one level.
    levels: tuple[tuple[str, ...], ...] | None = None

    def group_paths(self) -> tuple[tuple[str, ...], ...]:
        """Each level's group of every unit, outer level first (none without a group column).

        >>> t = UnitTable(ids=("a",), labels=None, groups=("g",), indicators={}, actual=None,
        ...               floor=None, ceiling=None, path=Path("u.csv"), sha256="")
        >>> t.group_paths()
        (('g',),)
        """
        if self.levels is not None:
            return self.levels
        return (self.groups,) if self.groups is not None else ()

    def __len__(self) -> int:
        return len(self.ids)
