r"""Data stage: read the unit table named by a model and check every value it uses.

Units are put in a canonical order (natural sort of their ids), so that everything downstream
is independent of the row order of the input file.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("id,pop\nA10,1\nA9,2\n", encoding="utf-8")
>>> read_raw_table(p)["id"].tolist()
['A10', 'A9']
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import InputError, did_you_mean
from allocator.ordering import natural_key
from allocator.schema import ModelSpec
from allocator.units import UnitTable

TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
MAX_VALUE = 1e15  # larger values would lose precision in sums of shares


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_raw_table(path: Path, sheet: str | int | None = None) -> pd.DataFrame:
    r"""Read a CSV (UTF-8, UTF-8 with BOM, or GB18030/GBK) or XLSX file as text cells.

    Rows whose cells are all empty are dropped. ``frame.attrs["rows"]`` holds, for each row kept,
    its row number as a spreadsheet shows it (the header is row 1), for messages.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("代码,人口\n1,10\n\n2,20\n".encode("gbk"))
    >>> f = read_raw_table(p)
    >>> f.columns.tolist(), f.attrs["rows"]
    (['代码', '人口'], [2, 4])
    """
    if not path.exists():
        raise InputError(f"{path}: data file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a data file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str,
                                  keep_default_na=False, engine="openpyxl")
        elif suffix in (".csv", ".txt"):
            frame = None
            encoding = TEXT_ENCODINGS[0]
            for encoding in TEXT_ENCODINGS:
                try:
                    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding,
                                        skip_blank_lines=False)
                    break
                except UnicodeDecodeError:
                    continue
            if frame is None:
                raise InputError(f"{path}: not readable as UTF-8 or GB18030 text")
        else:
            raise InputError(f"{path}: unsupported data file type '{suffix}' (use .csv or .xlsx)")
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (no header row)") from None
    except Exception as exc:  # any failure to parse the file is a problem with the file
        reason = " ".join(str(exc).split()) or type(exc).__name__
        where = f", sheet {sheet!r}" if sheet is not None else ""
        raise InputError(f"{path}{where}: cannot read table ({reason})") from None
    try:
        header = _header(path, sheet, encoding if suffix in (".csv", ".txt") else None)
    except Exception:  # the table itself was read: nothing more to learn from its header
        header = []
    seen: dict[str, int] = {}
    for k, name in enumerate(header):
        if name and name in seen:
            raise InputError(f"{path}: column '{name}' appears twice (columns {seen[name] + 1} and "
                             f"{k + 1} of the header row); rename one")
        seen[name] = k
    assert frame is not None  # every branch above read a table or raised
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.fillna("").astype(str)
    filled = np.zeros(len(frame), dtype=bool)
    for column in range(frame.shape[1]):
        filled |= (frame.iloc[:, column].str.strip() != "").to_numpy()
    keep = np.flatnonzero(filled)
    rows = [int(r) + 2 for r in keep]
    frame = frame.iloc[keep].reset_index(drop=True)
    frame.attrs["rows"] = rows
    return frame


def _header(path: Path, sheet: str | int | None, encoding: str | None) -> list[str]:
    """The header row as written (pandas renames repeated names to ``name.1``)."""
    if encoding is None:
        raw = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, header=None,
                            nrows=1, dtype=str, keep_default_na=False, engine="openpyxl")
    else:
        raw = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False,
                          encoding=encoding)
    return [str(v).strip() for v in raw.iloc[0]] if len(raw) else []


def row_numbers(frame: pd.DataFrame) -> list[int]:
    """Spreadsheet row number of each row of a table from :func:`read_raw_table`."""
    return list(frame.attrs.get("rows") or range(2, len(frame) + 2))


def _column(frame: pd.DataFrame, path: Path, column: str, key: str) -> pd.Series:
    if column not in frame.columns:
        raise InputError(f"{path}: no column '{column}' (named by '{key}' in the model)"
                         f"{did_you_mean(column, frame.columns)}")
    return frame[column]


def _numbers(frame: pd.DataFrame, path: Path, column: str, key: str, ids: list[str],
             *, allow_empty: bool = False) -> np.ndarray:
    """Parse a column as finite, non-negative numbers; name the row of the first bad cell."""
    cells = _column(frame, path, column, key)
    rows = row_numbers(frame)
    values = np.empty(len(cells))
    for row, text in enumerate(cells):
        text = str(text).strip().replace(",", "")
        where = f"{path}, row {rows[row]} (id {ids[row]}), column '{column}' ({key})"
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
        if value > MAX_VALUE:
            raise InputError(f"{where}: {text} is implausibly large (above {MAX_VALUE:.0e})")
        values[row] = value
    return values


def _group_levels(spec: ModelSpec, text_column, ids: tuple[str, ...]):
    """The outer level's groups and, with nested levels, each level's group paths ("P/Q")."""
    if isinstance(spec.group, str) or spec.group is None:
        return text_column(spec.group, "group"), None
    columns = [text_column(column, f"group[{k}]") for k, column in enumerate(spec.levels)]
    for k, cells in enumerate(columns[:-1]):
        for unit, value in enumerate(cells):
            if "/" in value:
                raise InputError(f"{spec.data_path()}: unit {ids[unit]}: group "
                                 f"'{value}' in column '{spec.levels[k]}' has a '/', which "
                                 "separates the levels of a group's name; rename it")
    paths = [columns[0]]
    for cells in columns[1:]:
        paths.append(tuple(f"{outer}/{value}" for outer, value in zip(paths[-1], cells,
                                                                      strict=True)))
    return columns[0], tuple(paths)


def load_table(spec: ModelSpec) -> UnitTable:
    """Read and check the model's data table; return its units in canonical order."""
    path = spec.data_path()
    frame = read_raw_table(path, spec.sheet)
    if frame.empty:
        raise InputError(f"{path}: the table has no rows")
    ids = [str(v).strip() for v in _column(frame, path, spec.id, "id")]
    rows = row_numbers(frame)
    seen: dict[str, int] = {}
    for row, unit in enumerate(ids):
        if unit == "":
            raise InputError(f"{path}, row {rows[row]}, column '{spec.id}' (id): empty unit id")
        if unit in seen:
            raise InputError(f"{path}, row {rows[row]}, column '{spec.id}' (id): duplicate unit id "
                             f"'{unit}' (first on row {rows[seen[unit]]})")
        seen[unit] = row
    # Ids that differ only in leading zeros ("01", "1") have equal natural keys: the text itself
    # breaks the tie, so the order never depends on the order of the rows.
    order = sorted(range(len(ids)), key=lambda r: (natural_key(ids[r]), ids[r]))

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
            raise InputError(f"{path}, column '{ind.column}' (indicators.{name}.column): "
                             f"indicator '{name}' is zero for every unit")
        indicators[name] = values
    groups, levels = _group_levels(spec, text_column, tuple(ids[r] for r in order))
    if groups is not None:
        present = set().union(*map(set, levels)) if levels else set(groups)
        named = [(f"groups.{name}", name) for name in spec.groups] + [
            (f"equal_cut[{k}].groups", name) for k, rule in enumerate(spec.equal_cut)
            for name in rule.groups]
        for key, name in named:
            if name not in present:
                level = levels[min(len(name.split("/")), len(levels)) - 1] if levels else groups
                known = sorted(set(level))
                where = f"column '{spec.group}'" if isinstance(spec.group, str) else \
                    f"columns {', '.join(spec.levels)}"
                shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more"
                                                 if len(known) > 20 else "")
                raise InputError(f"{spec.source}: {key}: no unit has '{name}' in {where}"
                                 f"{did_you_mean(name, known)}; groups present: {shown}")
    return UnitTable(
        ids=tuple(ids[r] for r in order),
        labels=text_column(spec.label, "label"),
        labels_en=text_column(spec.label_en, "label_en"),
        groups=groups,
        levels=levels,
        indicators=indicators,
        actual=number_column(spec.actual, "actual"),
        floor=number_column(spec.bounds.floor_column, "bounds.floor_column", allow_empty=True),
        ceiling=number_column(spec.bounds.ceiling_column, "bounds.ceiling_column",
                              allow_empty=True),
        path=path,
        sha256=file_sha256(path),
    )
