r"""The pairwise-comparison matrix of AHP, read from a CSV or XLSX file.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ahp.csv"
>>> _ = path.write_text(",a,b\na,1,3\nb,,1\n", encoding="utf-8")
>>> read_pairwise(path, ("a", "b")).round(4).tolist()
[[1.0, 3.0], [0.3333, 1.0]]
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from allocator.errors import InputError, did_you_mean
from allocator.table import read_raw_table


def _cell(text: object, where: str) -> float | None:
    text = str(text).strip()
    if text == "":
        return None
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{where}: '{text}' is not a number or fraction such as 1/3") from None
    if not value > 0 or not np.isfinite(value):
        raise InputError(f"{where}: '{text}' must be a positive number")
    if not 1 / 9 - 1e-9 <= value <= 9 + 1e-9:
        raise InputError(f"{where}: '{text}' is outside Saaty's scale (1/9 to 9)")
    return value


def read_pairwise(path: Path, names: tuple[str, ...]) -> np.ndarray:
    """Read a pairwise-comparison matrix (CSV/XLSX): first column and header name the indicators.

    Cell (row i, column j) says how much more important indicator i is than j (Saaty's 1-9,
    fractions such as 1/3 allowed). Cells below the diagonal may be left empty: they are then
    the reciprocals. The result is in the order of ``names``.
    """
    frame = read_raw_table(Path(path))
    if frame.shape[1] < 2:
        raise InputError(f"{path}: expected the indicator names in the first column and header")
    rows = [str(v).strip() for v in frame.iloc[:, 0]]
    cols = [str(c).strip() for c in frame.columns[1:]]
    for kind, found in (("row", rows), ("column", cols)):
        for name in found:
            if name not in names:
                raise InputError(f"{path}: {kind} '{name}' is not an indicator of the model"
                                 f"{did_you_mean(name, names)} (indicators: {', '.join(names)})")
        for name in names:
            if found.count(name) != 1:
                raise InputError(f"{path}: indicator '{name}' must appear once as a {kind} "
                                 f"(found {found.count(name)})")
    k = len(names)
    a = np.full((k, k), np.nan)
    for r, row_name in enumerate(rows):
        for c, col_name in enumerate(cols):
            value = _cell(frame.iat[r, c + 1], f"{path}, row {r + 2} ({row_name}), "
                                               f"column '{col_name}'")
            if value is not None:
                a[names.index(row_name), names.index(col_name)] = value
    for i in range(k):
        if not np.isnan(a[i, i]) and abs(a[i, i] - 1) > 1e-9:
            raise InputError(f"{path}: the diagonal cell of '{names[i]}' must be 1, not {a[i, i]:g}")
        a[i, i] = 1.0
        for j in range(i + 1, k):
            if np.isnan(a[i, j]) and np.isnan(a[j, i]):
                raise InputError(f"{path}: no comparison of '{names[i]}' with '{names[j]}'")
            if np.isnan(a[j, i]):
                a[j, i] = 1.0 / a[i, j]
            elif np.isnan(a[i, j]):
                a[i, j] = 1.0 / a[j, i]
            elif abs(a[i, j] * a[j, i] - 1) > 0.01:
                raise InputError(f"{path}: '{names[i]}' vs '{names[j]}' is {a[i, j]:g} but "
                                 f"'{names[j]}' vs '{names[i]}' is {a[j, i]:g}; they must be "
                                 "reciprocals")
    return a
