r"""Data stage: read the unit table named by a model and check every value it uses.

Units are put in a canonical order (natural sort of their ids), so that everything downstream
is independent of the row order of the input file.

Nothing is guessed silently:

- **encoding**: a CSV file is decided as a whole: UTF-8 (with or without a BOM) when every byte
  is valid UTF-8; GB18030 (which includes GBK) when it is not UTF-8 at all; a file that is UTF-8
  except for a few bytes is refused, naming the line and the byte. A BOM (U+FEFF) anywhere but at
  the start is removed from every cell and header, so it never ends up inside an id.
- **sheet**: an XLSX file is read from its active sheet, which must be visible (the sheet the
  user sees on opening the file), or from the sheet the model names. Error values (``#DIV/0!``,
  ``#N/A`` ...) and formulas that were never calculated are named as such.
- **numbers**: a comma is accepted only as a thousands separator in groups of three
  (``1,234,567``); ``1,0`` or ``10,5`` (a decimal comma) is an error.
- **separator**: a tab- or semicolon-separated ``.csv`` is refused with a hint.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("id,pop\nA10,1\nA9,2\n", encoding="utf-8")
>>> read_raw_table(p)["id"].tolist()
['A10', 'A9']
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import InputError, did_you_mean
from allocator.ordering import natural_order
from allocator.schema import ModelSpec
from allocator.units import UnitTable

MAX_VALUE = 1e15  # larger values would lose precision in sums of shares
# Error values a spreadsheet shows (and writes into CSV exports) where a formula failed.
ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!",
                          "#CONNECT!", "#UNKNOWN!", "#BUSY!", "#PYTHON!"})
_PLAIN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_GROUPED = r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?"
_NOT_FINITE = r"[+-]?(?:nan|inf|infinity)"
NEWLINE = b"\n"
_READ: set[Path] = set()  # every data and model file read by this process (see inputs_read)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_read() -> frozenset[Path]:
    """Resolved paths of the model files and data tables this process has read.

    An output folder must never hold one of them (see
    :func:`allocator.outputs.folders.check_replaceable`).
    """
    return frozenset(_READ)


def _remember(path: Path) -> None:
    with contextlib.suppress(OSError, RuntimeError):  # an unresolvable path: nothing to protect
        _READ.add(Path(path).resolve())


def decode_text(data: bytes, path: Path) -> tuple[str, str]:
    r"""The text of a CSV file and the encoding it was read with: ``utf-8``, ``utf-8-sig`` (with
    a BOM) or ``gb18030``. Refuses a file that is UTF-8 except for a few bytes, naming the first.

    >>> decode_text("代码\n".encode("gbk"), Path("t.csv"))
    ('代码\n', 'gb18030')
    >>> text = "a,b\n道里区,1\n南岗区,2\n".encode("utf-8").replace(b"\xe5\x8c\xba,2", b"\xff,2")
    >>> try:
    ...     decode_text(text, Path("t.csv"))
    ... except InputError as exc:
    ...     print(str(exc).split(" but ")[0])
    t.csv: line 3 is not valid UTF-8 (byte 0xFF at position 7 of the line)
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: the file is UTF-16 text (Excel's 'Unicode text'); save it as "
                         "CSV UTF-8 (comma-separated)")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, body = "utf-8-sig", data[3:]
    else:
        encoding, body = "utf-8", data
    try:
        return body.decode("utf-8"), encoding
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    mixed = body.decode("utf-8", errors="surrogateescape")  # each bad byte -> one surrogate
    bad = re.subn("[\udc80-\udcff]", "", mixed)[1]
    good = re.subn("[^\x00-\x7f]", "", mixed)[1] - bad
    if encoding == "utf-8-sig" or good > bad:  # UTF-8 text with a stray byte: never a guess
        rest = "the rest of the file is" if good > bad else "the file starts with a UTF-8 BOM"
        raise InputError(f"{path}: {_where(body, first_bad)} is not valid UTF-8 "
                         f"({_byte(body, first_bad)}) but {rest}; the file mixes encodings: save "
                         "it again as UTF-8")
    try:
        return body.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise InputError(f"{path}: not readable as UTF-8 or GB18030 text") from None


def _where(data: bytes, offset: int) -> str:
    return f"line {data.count(NEWLINE, 0, offset) + 1}"


def _byte(data: bytes, offset: int) -> str:
    start = data.rfind(NEWLINE, 0, offset) + 1
    return f"byte 0x{data[offset]:02X} at position {offset - start + 1} of the line"


def _separator_hint(header: list[str]) -> str | None:
    """Why a one-column header is probably another separator, or None."""
    if len(header) != 1:
        return None
    for char, name in (("\t", "tab"), (";", "semicolon")):
        if char in header[0]:
            return f"the file seems to be {name}-separated; save it as comma-separated CSV"
    return None


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[str], str]:
    text, encoding = decode_text(path.read_bytes(), path)
    text = text.replace("\ufeff", "")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        header = []
    hint = _separator_hint(header)
    if hint:
        raise InputError(f"{path}: {hint}")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                        skip_blank_lines=False)
    return frame, [h.strip() for h in header], encoding


def _cell_text(value) -> str:
    """A spreadsheet cell as text, as pandas shows it (whole floats without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pick_sheet(book, path: Path, sheet: str | int | None):
    names = book.sheetnames
    if sheet is None:
        chosen = book.active
        if chosen is None:
            raise InputError(f"{path}: the workbook has no sheet")
        visible = [s.title for s in book.worksheets if s.sheet_state == "visible"]
        if chosen.sheet_state != "visible":
            raise InputError(f"{path}: the active sheet '{chosen.title}' is hidden; name the sheet "
                             "to read with 'sheet' in the model (visible sheets: "
                             f"{', '.join(visible) or 'none'})")
        if chosen not in book.worksheets:
            raise InputError(f"{path}: the active sheet '{chosen.title}' is a chart; name the "
                             f"sheet to read with 'sheet' in the model (sheets: {', '.join(visible)})")
        return chosen
    if isinstance(sheet, int):
        if 0 <= sheet < len(book.worksheets):
            return book.worksheets[sheet]
    elif sheet in names and book[sheet] in book.worksheets:
        return book[sheet]
    raise InputError(f"{path}, sheet {sheet!r}: cannot read table (no such sheet; the sheets are "
                     f"{', '.join(repr(n) for n in names)})")


def _formula_text(value) -> str | None:
    if isinstance(value, str):
        return value if value.startswith("=") else None
    text = getattr(value, "text", None)  # array and data-table formulas
    return text if isinstance(text, str) else None


def _read_xlsx(path: Path, sheet: str | int | None
               ) -> tuple[pd.DataFrame, list[str], str, dict[str, dict[int, str]]]:
    """Cells of one sheet as text, its header, its title, and the formulas that were never
    calculated (column -> {row position: formula})."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = _pick_sheet(book, path, sheet)
        ws.reset_dimensions()
        values = [list(row) for row in ws.iter_rows(values_only=True)]
        title = ws.title
        part = getattr(ws, "_worksheet_path", None)
    finally:
        book.close()
    blanks = any(v is None for row in values for v in row)
    formulas: dict[tuple[int, int], str] = {}
    if blanks and (part is None or _has_formulas(path, part)):
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            ws = book[title]
            ws.reset_dimensions()
            for r, row in enumerate(ws.iter_rows(values_only=True)):
                for c, value in enumerate(row):
                    text = _formula_text(value)
                    if text is not None and r < len(values) and \
                            (c >= len(values[r]) or values[r][c] is None):
                        formulas[(r, c)] = text
        finally:
            book.close()
    if not values:
        raise pd.errors.EmptyDataError("no header row")
    width = max(len(row) for row in values)
    text_rows = [[_cell_text(v).replace("\ufeff", "") for v in row] + [""] * (width - len(row))
                 for row in values]
    used = [c for c in range(width)
            if any(row[c].strip() for row in text_rows) or any(k[1] == c for k in formulas)]
    width = used[-1] + 1 if used else 0
    header = [h.strip() for h in text_rows[0][:width]]
    names = [h if h else f"Unnamed: {k}" for k, h in enumerate(header)]
    frame = pd.DataFrame([row[:width] for row in text_rows[1:]], columns=names, dtype=object)
    by_column: dict[str, dict[int, str]] = {}
    for (r, c), text in formulas.items():
        if r >= 1 and c < width:
            by_column.setdefault(names[c], {})[r - 1] = text
    return frame, header, title, by_column


def _has_formulas(path: Path, part: str) -> bool:
    """Whether a worksheet's XML holds any formula element (a cheap scan before a second read)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        data = archive.read(part.lstrip("/"))
    return re.search(rb"<(?:\w+:)?f[\s>/]", data) is not None


def read_raw_table(path: Path, sheet: str | int | None = None) -> pd.DataFrame:
    r"""Read a CSV (UTF-8, UTF-8 with BOM, or GB18030/GBK) or XLSX file as text cells.

    Cells are text without surrounding white space; rows whose cells are all empty are dropped.
    ``frame.attrs`` holds ``rows`` (for each row kept, its row number as a spreadsheet shows it;
    the header is row 1), ``encoding`` (CSV) or ``sheet`` (XLSX), and ``formulas`` (XLSX cells
    whose formula was never calculated, by column and row position).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("代码,人口\n1,10\n\n2,20\n".encode("gbk"))
    >>> f = read_raw_table(p)
    >>> f.columns.tolist(), row_numbers(f), f.attrs["encoding"]
    (['代码', '人口'], [2, 4], 'gb18030')
    """
    if not path.exists():
        raise InputError(f"{path}: data file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a data file")
    suffix = path.suffix.lower()
    encoding = title = None
    formulas: dict[str, dict[int, str]] = {}
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame, header, title, formulas = _read_xlsx(path, sheet)
        elif suffix in (".csv", ".txt"):
            frame, header, encoding = _read_csv(path)
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
    _remember(path)
    seen: dict[str, int] = {}
    for k, name in enumerate(header):
        if name and name in seen:
            raise InputError(f"{path}: column '{name}' appears twice (columns {seen[name] + 1} and "
                             f"{k + 1} of the header row); rename one")
        seen[name] = k
    names = [str(c).strip() for c in frame.columns]
    cells = [_stripped(frame.iloc[:, k].fillna("")) for k in range(frame.shape[1])]
    filled = np.zeros(len(frame), dtype=bool)
    for column in cells:
        filled |= column != ""
    for found in formulas.values():
        filled[list(found)] = True
    keep = np.flatnonzero(filled)
    position = np.full(len(frame), -1)
    position[keep] = np.arange(keep.size)
    frame = pd.DataFrame({k: column[keep] for k, column in enumerate(cells)}, dtype=object)
    frame.columns = names
    frame.attrs["rows"] = keep + 2
    frame.attrs["encoding"] = encoding
    frame.attrs["sheet"] = title
    frame.attrs["formulas"] = {name: {int(position[r]): f for r, f in cells.items()}
                               for name, cells in formulas.items()}
    return frame


def row_numbers(frame: pd.DataFrame) -> list[int]:
    """Spreadsheet row number of each row of a table from :func:`read_raw_table`."""
    rows = frame.attrs.get("rows")
    return [int(r) for r in rows] if rows is not None else list(range(2, len(frame) + 2))


def _column(frame: pd.DataFrame, path: Path, column: str, key: str) -> pd.Series:
    if column not in frame.columns:
        raise InputError(f"{path}: no column '{column}' (named by '{key}' in the model)"
                         f"{did_you_mean(column, frame.columns)}")
    return frame[column]


def _cell_problem(text: str, formula: str | None, *, allow_empty: bool) -> str | None:
    """What is wrong with one number cell (stripped text), or None when it is a valid number."""
    if formula is not None:
        return (f"the formula {formula} has no calculated value (open the file in Excel or WPS "
                "and save it, so that the values are stored)")
    if text == "":
        return None if allow_empty else "empty value"
    if text in ERROR_VALUES:
        return f"'{text}' is a spreadsheet error value, not a number (fix the formula)"
    plain = _normalise(text)
    if re.fullmatch(_NOT_FINITE, plain, flags=re.IGNORECASE):
        return f"'{text}' is not a finite number"
    if not re.fullmatch(_PLAIN, plain) and not re.fullmatch(_GROUPED, plain):
        if "," in plain and re.fullmatch(_PLAIN, plain.replace(",", "")):
            return (f"'{text}' is not a number: a comma may only separate thousands, in groups "
                    "of three (1,234,567); write a decimal comma as a point (10.5)")
        return f"'{text}' is not a number"
    value = float(plain.replace(",", ""))
    if not np.isfinite(value):
        return f"'{text}' is not a finite number"
    if value < 0:
        return f"{text} is negative"
    if value > MAX_VALUE:
        return f"{text} is implausibly large (above {MAX_VALUE:.0e})"
    return None


# Full-width digits, signs and points, as Chinese input methods type them, read as ASCII (and
# nothing else: a circled or superscript digit is not a number).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，＋－ｅＥ", "0123456789.,+-eE")


def _normalise(text: str) -> str:
    """Full-width digits and signs as ASCII.

    >>> _normalise("１２,３４５．５"), _normalise("①")
    ('12,345.5', '①')
    """
    return text.translate(_FULL_WIDTH)


def _stripped(cells: pd.Series) -> np.ndarray:
    """The cells' text without surrounding white space (as ``str.strip``), as an object array."""
    text = cells.astype(str).to_numpy(dtype=object).astype(np.dtypes.StringDType())
    return np.strings.strip(text).astype(object)


# The same numbers as _PLAIN and _GROUPED, written with possessive quantifiers so that one
# match over a whole column (cells joined by line breaks) runs without backtracking.
_NUMBER_CELL = (r"[ \t]*+[+-]?+(?:[0-9]{1,3}+(?:,[0-9]{3}+)++(?![0-9])(?:\.[0-9]*+)?+"
                r"|(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+)[ \t]*+")
_ALL_NUMBERS = re.compile(rf"(?:{_NUMBER_CELL}\n)*+{_NUMBER_CELL}")
_ALL_NUMBERS_OR_EMPTY = re.compile(rf"(?:(?:{_NUMBER_CELL})?+[ \t]*+\n)*+(?:{_NUMBER_CELL})?+[ \t]*+")


def _numbers(frame: pd.DataFrame, path: Path, column: str, key: str, ids: list[str],
             *, allow_empty: bool = False) -> np.ndarray:
    """Parse a column as finite, non-negative numbers; name the row of the first bad cell.

    Vectorised: one regular expression checks the whole column at once (the usual case: every
    cell a number); otherwise masks find the first bad cell, and only that cell is looked at on
    its own, to say what is wrong with it.
    """
    cells = _column(frame, path, column, key).to_numpy(dtype=object)
    formulas = frame.attrs.get("formulas", {}).get(column, {})
    joined = "\n".join(cells)
    pattern = _ALL_NUMBERS_OR_EMPTY if allow_empty else _ALL_NUMBERS
    empty = (cells == "") if allow_empty else np.zeros(len(cells), dtype=bool)
    if joined.count("\n") == len(cells) - 1 and pattern.fullmatch(joined):
        good = ~empty
        text = np.array(joined.replace(",", "").split("\n"), dtype=object)[good]
    else:  # some cell is not a plain number: find which, with masks
        plain = pd.Series(cells, dtype=object).str.translate(_FULL_WIDTH)
        good = (plain.str.fullmatch(_PLAIN) | plain.str.fullmatch(_GROUPED)).to_numpy(dtype=bool)
        text = plain[good].str.replace(",", "", regex=False).to_numpy(dtype=object)
    values = np.full(len(cells), np.nan)
    values[good] = text.astype(float)
    with np.errstate(invalid="ignore"):
        bad = ~good & ~empty
        bad |= good & ~(np.isfinite(values) & (values >= 0) & (values <= MAX_VALUE))
    if formulas:
        bad[list(formulas)] = True
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        text_row = cells[row]
        problem = _cell_problem(text_row, formulas.get(row), allow_empty=allow_empty) or \
            f"'{text_row}' is not a valid number"
        raise InputError(f"{path}, row {row_numbers(frame)[row]} (id {ids[row]}), column "
                         f"'{column}' ({key}): {problem}")
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


CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # not allowed in XLSX, DOCX or HTML text


def _no_control_characters(frame: pd.DataFrame, cells: pd.Series, path: Path, column: str,
                           key: str) -> None:
    """Refuse a text cell holding a control character (a stray byte of an export): no
    spreadsheet or document could show it, and it would not match the same name typed again."""
    bad = cells.str.contains(CONTROL, regex=True).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        char = next(c for c in cells.iloc[row] if re.fullmatch(CONTROL, c))
        raise InputError(f"{path}, row {row_numbers(frame)[row]}, column '{column}' ({key}): "
                         f"contains the control character U+{ord(char):04X}; remove it")


def _ids(frame: pd.DataFrame, path: Path, column: str) -> list[str]:
    """The unit ids, checked: none empty, none an error value, none twice."""
    cells = _column(frame, path, column, "id")
    formulas = frame.attrs.get("formulas", {}).get(column, {})
    where = f"{path}, row {{row}}, column '{column}' (id)"
    bad = (cells == "").to_numpy() | cells.isin(ERROR_VALUES).to_numpy()
    if formulas:
        bad[list(formulas)] = True
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        text = cells.iloc[row]
        problem = (f"the formula {formulas[row]} has no calculated value (open the file in Excel "
                   "or WPS and save it, so that the values are stored)" if row in formulas else
                   "empty unit id" if text == "" else
                   f"unit id '{text}' is a spreadsheet error value (fix the formula)")
        raise InputError(f"{where.format(row=row_numbers(frame)[row])}: {problem}")
    _no_control_characters(frame, cells, path, column, "id")
    twice = cells.duplicated().to_numpy()
    if twice.any():
        row = int(np.flatnonzero(twice)[0])
        first = int(np.flatnonzero((cells == cells.iloc[row]).to_numpy())[0])
        rows = row_numbers(frame)
        raise InputError(f"{where.format(row=rows[row])}: duplicate unit id '{cells.iloc[row]}' "
                         f"(first on row {rows[first]})")
    return cells.tolist()


def load_table(spec: ModelSpec) -> UnitTable:
    """Read and check the model's data table; return its units in canonical order."""
    path = spec.data_path()
    if spec.source is not None:
        _remember(Path(spec.source))
    frame = read_raw_table(path, spec.sheet)
    if frame.empty:
        raise InputError(f"{path}: the table has no rows")
    ids = _ids(frame, path, spec.id)
    order = np.asarray(natural_order(ids), dtype=int)

    def text_column(column: str | None, key: str) -> tuple[str, ...] | None:
        if column is None:
            return None
        cells = _column(frame, path, column, key)
        _no_control_characters(frame, cells, path, column, key)
        return tuple(cells.to_numpy(dtype=object)[order].tolist())

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
        encoding=frame.attrs.get("encoding"),
        sheet=frame.attrs.get("sheet"),
    )
