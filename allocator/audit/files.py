"""Compare one file of an output folder with the same file written afresh, and name the first
difference the way a reader finds it: the row and column of a table, the cell of a sheet, the
line of a document.

Tables are compared cell by cell (CSV; the sheets of a workbook; the tables of a Word document;
the table rows of Markdown, LaTeX and HTML documents), numbers in CSV files to 1e-9 relative (a
re-solve may differ in the last digits); other text line by line; model files (TOML) as data,
with the data path resolved from each file's own folder; charts and other files byte by byte.

>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "old.csv").write_text("id,name,posts\\n1,a,10\\n2,b,20\\n", encoding="utf-8")
>>> _ = (d / "new.csv").write_text("id,name,posts\\n1,a,10\\n2,b,21\\n", encoding="utf-8")
>>> compare_file("t.csv", d / "old.csv", d / "new.csv")
'row 2 (2, b), column posts: recorded 20, a fresh run gives 21'
>>> compare_file("t.csv", d / "old.csv", d / "old.csv") is None
True
"""

from __future__ import annotations

import csv
import functools
import hashlib
import html
import io
import math
import re
import tomllib
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = (".md", ".tex", ".html", ".htm", ".txt")
LABEL_CELLS = 3  # leading cells of a row that name it


@dataclass(frozen=True)
class Difference:
    """Where two versions of a file first differ, what each holds there, and how many places
    differ in all."""

    where: str
    recorded: str
    fresh: str
    count: int = 1
    note: str | None = None  # said instead of the two values (when they cannot be shown)

    def __str__(self) -> str:
        more = f" (and {self.count - 1} more)" if self.count > 1 else ""
        if self.note is not None:
            return f"{self.where}: {self.note}{more}"
        return f"{self.where}: recorded {_quoted(self.recorded)}, a fresh run gives " \
               f"{_quoted(self.fresh)}{more}"


def _quoted(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    if not text:
        return "(empty)"
    return text if len(text) <= width else text[:width - 3] + "..."


def compare_file(name: str, recorded: Path, fresh: Path) -> str | None:
    """None when the recorded file holds what a fresh run writes, else where and how it differs.

    ``name`` chooses the comparison by its suffix (see the module's docstring).
    """
    old, new = recorded.read_bytes(), fresh.read_bytes()
    if old == new:
        return None
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".toml":
            found = _model_file(old, new, recorded.parent, fresh.parent)
        else:
            found = COMPARERS.get(suffix, _binary)(old, new)
    except Exception as exc:  # a damaged file: it cannot hold what a fresh run writes
        return f"cannot be read as its kind of file ({' '.join(str(exc).split())[:80]})"
    return None if found is None else str(found)


def _first(differences: Iterator[Difference]) -> Difference | None:
    """The first difference, counting all of them."""
    first, count = None, 0
    for found in differences:
        first = first or found
        count += found.count
    return None if first is None else Difference(first.where, first.recorded, first.fresh, count,
                                                 first.note)


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig")


def _same_cell(old: str, new: str) -> bool:
    """Equal text, or numbers equal to 1e-9 relative."""
    if old == new:
        return True
    try:
        a, b = float(old), float(new)
    except ValueError:
        return False
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u9fff\uff00-\uffef])")


def _clean(text: str) -> str:
    """One line: runs of white space made one space, none left between Chinese characters (a
    header broken over two lines in a document reads as one word)."""
    return _CJK_GAP.sub("", " ".join(text.split()))


def _row_label(cells: Sequence[str]) -> str:
    shown = [_clean(c) for c in cells[:LABEL_CELLS] if c.strip()]
    return f" ({', '.join(shown)})" if shown else ""


Place = Callable[[int, int], str]  # (row, column or -1 for a whole row) -> where, for a reader


def _grid_differences(old: Sequence[Sequence[str]], new: Sequence[Sequence[str]],
                      header: Sequence[str] | Callable[[int], Sequence[str]], place: Place,
                      same: Callable[[str, str], bool] = _same_cell) -> Iterator[Difference]:
    """Every differing cell of two grids, named by ``place(r, c)``, the row's leading cells
    (those before the cell) and its column (``header[c]``, or ``header(r)[c]`` when the header
    above row ``r`` depends on ``r``)."""
    for r in range(max(len(old), len(new))):
        a = list(old[r]) if r < len(old) else []
        b = list(new[r]) if r < len(new) else []
        if r >= len(old) or r >= len(new):
            yield Difference(place(r, -1), ", ".join(a) or "(no row)", ", ".join(b) or "(no row)")
            continue
        heads = header(r) if callable(header) else header
        for c in range(max(len(a), len(b))):
            x = a[c] if c < len(a) else ""
            y = b[c] if c < len(b) else ""
            if not same(x, y):
                column = heads[c] if c < len(heads) and heads[c].strip() else f"{c + 1}"
                yield Difference(f"{place(r, c)}{_row_label(b[:c])}, column {_clean(column)}",
                                 x, y)


# ---- CSV -------------------------------------------------------------------------------------


def _csv(old: bytes, new: bytes) -> Difference | None:
    a = list(csv.reader(io.StringIO(_text(old))))
    b = list(csv.reader(io.StringIO(_text(new))))
    if not a or not b or a[0] != b[0]:
        return _first(_grid_differences(a[:1], b[:1], (), _csv_header))
    return _first(_grid_differences(a[1:], b[1:], b[0], _csv_row))


def _csv_header(r: int, c: int) -> str:
    return "header"


def _csv_row(r: int, c: int) -> str:
    return f"row {r + 1}"


def _exact(a: str, b: str) -> bool:
    return a == b


# ---- Text documents: Markdown, LaTeX, HTML, plain text ----------------------------------------

_HTML_CELL = re.compile(r"<t([dh])([^>]*)>(.*?)</t[dh]>", re.S)
_COLSPAN = re.compile(r'colspan="(\d+)"')
_TAGS = re.compile(r"<[^>]+>")
_MAKECELL = re.compile(r"\\makecell\[[a-z]*\]\{(.*?)\}")
_TEX_MARKUP = re.compile(r"\\(?:textbf|emph|textit)\{(.*?)\}")
_MULTICOLUMN = re.compile(r"\\multicolumn\{(\d+)\}\{[^}]*\}\{(.*)\}")


def _md_cells(line: str) -> list[str] | None:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [c.strip() for c in line[1:-1].split("|")]


def _tex_cells(line: str) -> list[str] | None:
    """The cells of a LaTeX table row (``\\\\`` or ``\\\\*``); a ``\\multicolumn{n}`` cell as its
    text and n - 1 empty cells, so that every row has the header's columns."""
    line = line.strip().removesuffix("*")
    if " & " not in line or not line.endswith("\\\\"):
        return None
    cells: list[str] = []
    for cell in (c.strip() for c in line[:-2].split(" & ")):
        spanned = _MULTICOLUMN.fullmatch(cell)
        cells += [spanned[2]] + [""] * (int(spanned[1]) - 1) if spanned else [cell]
    return cells


def _html_cells(line: str) -> list[str] | None:
    """The cells of an HTML table row; a cell spanning n columns as its text and n - 1 empty."""
    cells: list[str] = []
    for _, attributes, text in _HTML_CELL.findall(line):
        span = _COLSPAN.search(attributes)
        cells += [html.unescape(_TAGS.sub("", text)).strip()] + [""] * (int(span[1]) - 1 if span
                                                                         else 0)
    return cells or None


def _plain(cell: str) -> str:
    """A header cell without its markup: ``\\makecell[rb]{A\\\\B}`` -> ``AB``."""
    cell = _MAKECELL.sub(lambda m: m.group(1).replace("\\\\", ""), cell)
    cell = _TEX_MARKUP.sub(lambda m: m.group(1), cell)
    return cell.replace("\\%", "%").replace("$-$", "-").strip()


@dataclass(frozen=True)
class _Markup:
    """How one text format writes table rows and which row is a header."""

    cells: Callable[[str], list[str] | None]
    is_header: Callable[[list[str], int], bool]  # (lines, index) -> the row at index heads a table


def _md_header(lines: list[str], k: int) -> bool:
    nxt = lines[k + 1].strip() if k + 1 < len(lines) else ""
    return nxt.startswith("| ---") or nxt.startswith("|---") or nxt.startswith("| :")


def _tex_header(lines: list[str], k: int) -> bool:
    return k > 0 and lines[k - 1].strip() == "\\toprule"


def _html_header(lines: list[str], k: int) -> bool:
    return "<th" in lines[k]


MARKUPS = {".md": _Markup(_md_cells, _md_header), ".tex": _Markup(_tex_cells, _tex_header),
           ".html": _Markup(_html_cells, _html_header), ".htm": _Markup(_html_cells, _html_header)}


def _document(old: bytes, new: bytes, suffix: str) -> Difference | None:
    a, b = _text(old).splitlines(), _text(new).splitlines()
    markup = MARKUPS.get(suffix)
    return _first(_line_differences(a, b, markup))


def _line_differences(a: list[str], b: list[str], markup: _Markup | None
                      ) -> Iterator[Difference]:
    header: list[str] = []
    for k in range(max(len(a), len(b))):
        x = a[k] if k < len(a) else ""
        y = b[k] if k < len(b) else ""
        cells_y = markup.cells(y) if markup and k < len(b) else None
        if cells_y is not None and markup and markup.is_header(b, k):
            header = [_plain(c) for c in cells_y]
        if x == y:
            continue
        cells_x = markup.cells(x) if markup and k < len(a) else None
        if cells_x is not None and cells_y is not None and len(cells_x) == len(cells_y):
            yield from _grid_differences([cells_x], [cells_y], header,
                                         functools.partial(_at_line, k), same=_exact)
        else:
            yield _line_difference(k, x if k < len(a) else None, y if k < len(b) else None)


def _at_line(k: int, r: int, c: int) -> str:
    return f"line {k + 1}"


def _line_difference(k: int, old: str | None, new: str | None, width: int = 24) -> Difference:
    """Line ``k`` differs: show both around the first character where they part."""
    if old is None or new is None:
        return Difference(f"line {k + 1}", old or "(no line)", new or "(no line)")
    i = next((j for j, (p, q) in enumerate(zip(old, new, strict=False)) if p != q),
             min(len(old), len(new)))
    start = max(i - width, 0)

    def part(text: str) -> str:
        return ("..." if start else "") + text[start:i + 2 * width] + \
            ("..." if len(text) > i + 2 * width else "")

    return Difference(f"line {k + 1}, character {i + 1}", part(old), part(new))


# ---- Workbooks and Word documents ------------------------------------------------------------


def _cell_text(value) -> str:
    return "" if value is None else str(value)


def _xlsx(old: bytes, new: bytes) -> Difference | None:
    from openpyxl import load_workbook

    a = load_workbook(io.BytesIO(old), read_only=True, data_only=False)
    b = load_workbook(io.BytesIO(new), read_only=True, data_only=False)

    def differences() -> Iterator[Difference]:
        if a.sheetnames != b.sheetnames:
            yield Difference("sheets", ", ".join(a.sheetnames), ", ".join(b.sheetnames))
            return
        for name in b.sheetnames:
            x = [[_cell_text(v) for v in row] for row in a[name].iter_rows(values_only=True)]
            y = [[_cell_text(v) for v in row] for row in b[name].iter_rows(values_only=True)]
            heads = _sheet_headers(y)
            yield from _grid_differences(x, y, functools.partial(_nth, heads),
                                         functools.partial(_sheet_cell, name), same=_exact)
        if _images(old, "xl/media/") != _images(new, "xl/media/"):
            yield Difference("charts", "", "", note="its images differ from a fresh drawing")

    try:
        return _first(differences())
    finally:
        a.close()
        b.close()


def _nth(rows: list[list[str]], r: int) -> list[str]:
    return rows[r] if r < len(rows) else []


def _sheet_cell(sheet: str, r: int, c: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"sheet {sheet}, " + (f"cell {get_column_letter(c + 1)}{r + 1}" if c >= 0 else
                                 f"row {r + 1}")


def _sheet_headers(rows: list[list[str]]) -> list[list[str]]:
    """For each row, the header row that stands above it: the last row before it whose filled
    cells are all text, more than one, and not a title (a title fills one cell)."""
    heads: list[list[str]] = []
    current: list[str] = []
    for row in rows:
        heads.append(current)
        filled = [c for c in row if c.strip()]
        if len(filled) > 1 and all(not _is_number(c) for c in filled):
            current = row
    return heads


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def _docx(old: bytes, new: bytes) -> Difference | None:
    from docx import Document

    a, b = Document(io.BytesIO(old)), Document(io.BytesIO(new))

    def differences() -> Iterator[Difference]:
        x = [p.text for p in a.paragraphs]
        y = [p.text for p in b.paragraphs]
        yield from (Difference(d.where.replace("line", "paragraph", 1), d.recorded, d.fresh)
                    for d in _line_differences(x, y, None))
        if len(a.tables) != len(b.tables):
            yield Difference("tables", f"{len(a.tables)} tables", f"{len(b.tables)} tables")
            return
        for t, (ta, tb) in enumerate(zip(a.tables, b.tables, strict=True), start=1):
            ga = [[c.text for c in row.cells] for row in ta.rows]
            gb = [[c.text for c in row.cells] for row in tb.rows]
            yield from _grid_differences(ga, gb, gb[0] if gb else [],
                                         functools.partial(_table_row, t), same=_exact)
        if _images(old, "word/media/") != _images(new, "word/media/"):
            yield Difference("charts", "", "", note="its images differ from a fresh drawing")

    return _first(differences())


def _table_row(t: int, r: int, c: int) -> str:
    return f"table {t} row {r + 1}"


def _images(data: bytes, folder: str) -> list[str]:
    """The hashes of the images an Office document holds under ``folder``, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [hashlib.sha256(archive.read(n)).hexdigest() for n in sorted(archive.namelist())
                if n.startswith(folder)]


# ---- Model files and everything else ---------------------------------------------------------


def _model_file(old: bytes, new: bytes, old_folder: Path, new_folder: Path
                ) -> Difference | None:
    """Model files as data; the data path is compared where it points from each file's folder,
    not as written (a model file written elsewhere reaches the same data by another path)."""
    a, b = tomllib.loads(_text(old)), tomllib.loads(_text(new))
    for raw, folder in ((a, old_folder), (b, new_folder)):
        if isinstance(raw.get("data"), str):
            raw["data"] = str((folder / raw["data"]).resolve())
    if a == b:
        return None
    keys = [k for k in {**a, **b} if a.get(k) != b.get(k)]
    return Difference(f"key {keys[0]}", repr(a.get(keys[0], "(missing)")),
                      repr(b.get(keys[0], "(missing)")), len(keys))


def _binary(old: bytes, new: bytes) -> Difference | None:
    return Difference("contents", "", "", note=f"{len(old):,} bytes that differ from the "
                                               f"{len(new):,} of a fresh drawing or copy")


COMPARERS: dict[str, Callable[[bytes, bytes], Difference | None]] = {
    ".csv": _csv,
    ".xlsx": _xlsx,
    ".docx": _docx,
    **{suffix: functools.partial(_document, suffix=suffix) for suffix in TEXT_SUFFIXES},
}
