"""What every document format shares: numbered captions, note lines, the rows a printed document
keeps, and the display width of text.

>>> from allocator.report.model import T, Table
>>> caption(Table("t", T("示例", "Demo"), (), ()), 2, "zh"), note_prefix("en")
('表2 示例', 'Note: ')
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path

from allocator.report.model import Report, Table, text_in

Writer = Callable[[Path], None]  # writes one file of a folder (see allocator.outputs.folders)

DOCUMENT_MAX_UNITS = 200  # larger tables keep only subtotals in DOCX and LaTeX (all rows elsewhere)


def caption(table: Table, number: int, lang: str) -> str:
    """Numbered caption: ``表1 title`` or ``Table 1. title``."""
    title = table.title.get(lang)
    return f"表{number} {title}" if lang == "zh" else f"Table {number}. {title}"


def note_prefix(lang: str) -> str:
    """``注：`` or ``Note: ``."""
    return "注：" if lang == "zh" else "Note: "


def notes(report: Report, table: Table | None, lang: str) -> list[str]:
    """Note lines under a table: the report's notes (e.g. illustrative data) then the table's."""
    items = list(report.notes) + (list(table.notes) if table is not None else [])
    return [note_prefix(lang) + text_in(n, lang) for n in items]


def document_rows(table: Table, max_units: int = DOCUMENT_MAX_UNITS) -> list[int]:
    """Rows for a printed document: every row, or only subtotals and total above ``max_units``."""
    units = sum(row.level == "unit" for row in table.rows)
    if units <= max_units or len(table.columns) <= 2:
        return list(range(len(table.rows)))
    return [i for i, row in enumerate(table.rows) if row.level != "unit"]


def omitted_note(table: Table, rows: list[int], lang: str) -> list[str]:
    """The note that says a printed table keeps only subtotals (none when it keeps every row)."""
    if len(rows) == len(table.rows):
        return []
    units = sum(row.level == "unit" for row in table.rows)
    return [note_prefix(lang) + (f"共{units:,}个单位，此处仅列小计与合计；各单位数据见XLSX或CSV文件。"
                                 if lang == "zh" else
                                 f"{units:,} units: subtotals and total only; every unit is in "
                                 "the XLSX and CSV files.")]


def text_width(text: str) -> int:
    """Display width: East Asian wide characters count two.

    >>> text_width("道里区"), text_width("Daoli")
    (6, 5)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def text_file(make: Callable[[], str], newline: str | None = None) -> Writer:
    """A writer of the UTF-8 text ``make()`` returns (made when the file is written)."""
    def write(path: Path) -> None:
        path.write_text(make(), encoding="utf-8", newline=newline)

    return write


def bytes_file(data: bytes) -> Writer:
    """A writer of ``data``."""
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write
