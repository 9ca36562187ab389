"""Data stage: read the unit table named by a model and check every value it uses.

Units are put in a canonical order (natural sort of their ids), so that everything downstream
is independent of the row order of the input file.

>>> natural_key("A10") > natural_key("A9")
True
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.config import ModelSpec
from allocator.errors import InputError, did_you_mean

TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
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

    def __len__(self) -> int:
        return len(self.ids)


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value ("U2" before "U10")."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text) if part)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_raw_table(path: Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM, or GB18030/GBK) or XLSX file as text cells."""
    if not path.exists():
        raise InputError(f"{path}: data file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str,
                                  keep_default_na=False)
        elif suffix in (".csv", ".txt"):
            frame = None
            for encoding in TEXT_ENCODINGS:
                try:
                    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
                    break
                except UnicodeDecodeError:
                    continue
            if frame is None:
                raise InputError(f"{path}: not readable as UTF-8 or GB18030 text")
        else:
            raise InputError(f"{path}: unsupported data file type '{suffix}' (use .csv or .xlsx)")
    except InputError:
        raise
    except (ValueError, KeyError) as exc:  # e.g. a missing sheet
        raise InputError(f"{path}: cannot read table ({exc})") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot read table ({str(exc).strip()})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _column(frame: pd.DataFrame, path: Path, column: str, key: str) -> pd.Series:
    if column not in frame.columns:
        raise InputError(f"{path}: no column '{column}' (named by '{key}' in the model)"
                         f"{did_you_mean(column, frame.columns)}")
    return frame[column]


def _numbers(frame: pd.DataFrame, path: Path, column: str, key: str, ids: list[str],
             *, allow_empty: bool = False) -> np.ndarray:
    """Parse a column as finite, non-negative numbers; name the row of the first bad cell."""
    cells = _column(frame, path, column, key)
    values = np.empty(len(cells))
    for row, text in enumerate(cells):
        text = str(text).strip().replace(",", "")
        where = f"{path}, row {row + 2} (id {ids[row]}), column '{column}'"
        if text == "":
            if allow_empty:
                values[row] = math.nan
                continue
            raise InputError(f"{where}: empty value")
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{where}: '{text}' is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"{where}: '{text}' is not a finite number")
        if value < 0:
            raise InputError(f"{where}: {text} is negative")
        values[row] = value
    return values


def load_table(spec: ModelSpec) -> UnitTable:
    """Read and check the model's data table; return its units in canonical order."""
    path = spec.data_path()
    frame = read_raw_table(path, spec.sheet)
    if frame.empty:
        raise InputError(f"{path}: the table has no rows")
    ids = [str(v).strip() for v in _column(frame, path, spec.id, "id")]
    seen: dict[str, int] = {}
    for row, unit in enumerate(ids):
        if unit == "":
            raise InputError(f"{path}, row {row + 2}, column '{spec.id}': empty unit id")
        if unit in seen:
            raise InputError(f"{path}, row {row + 2}, column '{spec.id}': duplicate unit id "
                             f"'{unit}' (first on row {seen[unit] + 2})")
        seen[unit] = row
    order = sorted(range(len(ids)), key=lambda r: natural_key(ids[r]))

    def text_column(column: str | None, key: str) -> tuple[str, ...] | None:
        if column is None:
            return None
        cells = [str(v).strip() for v in _column(frame, path, column, key)]
        return tuple(cells[r] for r in order)

    def number_column(column: str | None, key: str, allow_empty: bool = False):
        if column is None:
            return None
        return _numbers(frame, path, column, key, ids, allow_empty=allow_empty)[order]

    indicators = {}
    for name, ind in spec.indicators.items():
        values = number_column(ind.column, f"indicators.{name}.column")
        if not np.any(values > 0):
            raise InputError(f"{path}, column '{ind.column}': indicator '{name}' is zero for "
                             "every unit")
        indicators[name] = values
    groups = text_column(spec.group, "group")
    if groups is not None:
        for name in spec.groups:
            if name not in groups:
                known = sorted(set(groups))
                raise InputError(f"{spec.source}: groups.{name}: no unit has '{name}' in column "
                                 f"'{spec.group}'{did_you_mean(name, known)}; "
                                 f"groups present: {', '.join(known)}")
    return UnitTable(
        ids=tuple(ids[r] for r in order),
        labels=text_column(spec.label, "label"),
        groups=groups,
        indicators=indicators,
        actual=number_column(spec.actual, "actual"),
        floor=number_column(spec.bounds.floor_column, "bounds.floor_column", allow_empty=True),
        ceiling=number_column(spec.bounds.ceiling_column, "bounds.ceiling_column",
                              allow_empty=True),
        path=path,
        sha256=file_sha256(path),
    )
