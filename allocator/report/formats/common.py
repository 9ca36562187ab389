"""What every document format shares: numbered captions of tables and figures, note lines, the
rows and columns a printed document keeps, header lines that never break a word, the method
statement, and the display width of text.

>>> from allocator.report.model import T, Table
>>> caption(Table("t", T("示例", "Demo"), (), ()), 2, "zh"), note_prefix("en")
('表2 示例', 'Note: ')
>>> figure_caption("分配", 1, "zh"), figure_caption("Allocation", 1, "en")
('图1 分配', 'Figure 1. Allocation')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.report.model import NUMERIC, Column, Report, Table, text_in

if TYPE_CHECKING:
    from allocator.report.charts import ChartImage

Writer = Callable[[Path], None]  # writes one file of a folder (see allocator.outputs.folders)

DOCUMENT_MAX_UNITS = 200  # larger tables keep only subtotals in DOCX and LaTeX (all rows elsewhere)
KEEP_TOGETHER = 35  # a printed table of at most this many rows never breaks across pages
WRAP_WIDTH = 16  # text wider than this (display width: 8 Chinese characters) may wrap in a
# table that would not fit otherwise, breaking a Chinese word if need be; shorter text keeps whole


def text_width(text: str) -> int:
    """Display width: East Asian wide characters count two.

    >>> text_width("道里区"), text_width("Daoli")
    (6, 5)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` takes in a column ``width`` characters wide (display width):
    English wraps between words, Chinese between any two characters.

    >>> wrapped_lines("Named constraint: core districts keep their service base", 30)
    3
    >>> wrapped_lines("同比例精简约束：市辖区、县（市）", 30), wrapped_lines("道里区", 30)
    (2, 1)
    """
    lines, used = 1, 0
    for piece in re.findall(r"[^\s\u2e80-\uffef]+\s*|[\u2e80-\uffef]|\s+", text):
        size = text_width(piece.rstrip())
        if used and used + size > width:
            lines, used = lines + 1, 0
        used += text_width(piece)
    return lines


def caption(table: Table, number: int, lang: str) -> str:
    """Numbered caption: ``表1 title`` or ``Table 1. title``."""
    title = table.title.get(lang)
    return f"表{number} {title}" if lang == "zh" else f"Table {number}. {title}"


def figure_caption(title: str, number: int, lang: str) -> str:
    """Numbered figure caption: ``图1 title`` or ``Figure 1. title``."""
    return f"图{number} {title}" if lang == "zh" else f"Figure {number}. {title}"


def method_heading(lang: str) -> str:
    """Heading of the method statement."""
    return "测算说明" if lang == "zh" else "Method"


def method_paragraphs(report: Report, lang: str) -> list[str]:
    """The method statement of ``report``, one string per paragraph."""
    return [p.get(lang) for p in report.method]


def method_text(report: Report, lang: str) -> str:
    """The method statement as plain text: title, heading, paragraphs and the report's notes."""
    lines = [report.title.get(lang), "", method_heading(lang), ""]
    lines += [p + "\n" for p in method_paragraphs(report, lang)]
    lines += notes(report, None, lang)
    return "\n".join(lines).rstrip("\n") + "\n"


def table_figures(report: Report, table: Table, charts: tuple[ChartImage, ...]
                  ) -> list[tuple[int, ChartImage]]:
    """The charts a document shows after ``table``, each with its figure number (each chart
    names its table: in a report the bar charts follow the comparison, a unit's waterfall the
    explanation; figures are numbered through the document in the order of its tables)."""
    ordered = [c for t in report.tables for c in charts if c.table == t.key]
    return [(n, c) for n, c in enumerate(ordered, start=1) if c.table == table.key]


def figure_notes(figures: list[tuple[int, ChartImage]], chart_notes: tuple[str, ...],
                 lang: str) -> list[str]:
    """The note lines under the figures of a table (e.g. the charts' font fallback); none under
    a table without figures."""
    return [note_prefix(lang) + n for n in chart_notes] if figures else []


@dataclass(frozen=True)
class Section:
    """One table of a document in reading order: its numbered caption, the note lines under it,
    then the charts that follow it with their numbered captions, and the note lines under those
    (none without a chart)."""

    table: Table
    caption: str
    notes: list[str]
    figures: list[tuple[ChartImage, str]]
    figure_notes: list[str]


@dataclass(frozen=True)
class Outline:
    """What a document says, in reading order, in one language: the title, the method statement
    (heading and paragraphs; no heading without one), the report's notes, then each table with
    its figures (numbered through the document). Markdown and HTML only format it."""

    title: str
    method_heading: str | None
    method: list[str]
    notes: list[str]
    sections: list[Section]


def outline(report: Report, lang: str, charts: tuple[ChartImage, ...] = (),
            chart_notes: tuple[str, ...] = ()) -> Outline:
    """The :class:`Outline` of ``report`` in ``lang`` with ``charts`` (each after its table)
    and ``chart_notes`` under them.

    >>> from allocator.report.model import T
    >>> o = outline(Report(T("报告", "Report"), (Table("t", T("示例", "Demo"), (), ()),)), "en")
    >>> o.title, o.method_heading, [s.caption for s in o.sections]
    ('Report', None, ['Table 1. Demo'])
    """
    sections = []
    for number, table in enumerate(report.tables, start=1):
        figures = table_figures(report, table, charts)
        sections.append(Section(
            table, caption(table, number, lang), notes(report, table, lang),
            [(image, figure_caption(image.caption, n, lang)) for n, image in figures],
            figure_notes(figures, chart_notes, lang)))
    return Outline(report.title.get(lang), method_heading(lang) if report.method else None,
                   method_paragraphs(report, lang), notes(report, None, lang), sections)


def note_prefix(lang: str) -> str:
    """``注：`` or ``Note: ``."""
    return "注：" if lang == "zh" else "Note: "


def notes(report: Report, table: Table | None, lang: str,
          columns: list[int] | None = None) -> list[str]:
    """Note lines under a table: the report's notes (e.g. illustrative data), then the table's,
    then those on its columns (only the ``columns`` shown, when given)."""
    items = list(report.notes)
    if table is not None:
        shown = {table.columns[j].key for j in columns} if columns is not None else None
        items += list(table.notes)
        items += [n for key, n in table.column_notes if shown is None or key in shown]
    return [note_prefix(lang) + text_in(n, lang) for n in items if text_in(n, lang)]


def document_rows(table: Table, max_units: int = DOCUMENT_MAX_UNITS) -> list[int]:
    """Rows for a printed document: every row, or only subtotals and total above ``max_units``."""
    units = sum(row.level == "unit" for row in table.rows)
    if units <= max_units or len(table.columns) <= 2:
        return list(range(len(table.rows)))
    return [i for i, row in enumerate(table.rows) if row.level != "unit"]


def printed_table(table: Table, rows: list[int]) -> Table:
    """``table`` as a printed document shows ``rows``: when they are only subtotals and the
    total, its first column holds group names, and its header says so (分组 / Group, not 代码).

    >>> from allocator.report.model import Row, T
    >>> t = Table("t", T("", ""), (Column("id", "代码", "Code"),), (Row(("1",)),
    ...           Row((T("合计", "Total"),), "total")))
    >>> printed_table(t, [1]).columns[0].header("zh"), printed_table(t, [0, 1]).columns[0].zh
    ('分组', '代码')
    """
    if any(table.rows[i].level == "unit" for i in rows) or not table.columns:
        return table
    first = replace(table.columns[0], zh="分组", en="Group")
    return replace(table, columns=(first, *table.columns[1:]))


def shown_columns(table: Table, rows: list[int], lang: str) -> list[int]:
    """The columns a printed table keeps: the first, and every other with a cell to show in
    ``rows`` (a column that is empty in every shown row is dropped)."""
    return [j for j in range(len(table.columns))
            if j == 0 or any(table.text(i, j, lang) for i in rows)]


def label_span(table: Table, i: int, columns: list[int], lang: str) -> int:
    """How many of the shown ``columns`` the first cell of row ``i`` spans: the label of a
    subtotal or total row runs on over the text cells after it that are empty in that row (the
    unit and group columns), so that it needs no column of its own width; 1 in a unit row.

    >>> from allocator.report.model import Row, T
    >>> t = Table("t", T("", ""), (Column("id", "代码", "Code"), Column("label", "单位", "Unit"),
    ...           Column("n", "数", "N", "int")), (Row(("1", "a", 2)), Row((T("合计", "Total"),
    ...           "", 2), "total")))
    >>> label_span(t, 0, [0, 1, 2], "en"), label_span(t, 1, [0, 1, 2], "en")
    (1, 2)
    """
    if table.rows[i].level == "unit":
        return 1
    span = 1
    for j in columns[1:]:
        if table.columns[j].kind in NUMERIC or table.format(i, j)[0] in NUMERIC \
                or table.text(i, j, lang):
            break
        span += 1
    return span


def header_lines(column: Column, lang: str, width: float,
                 measure: Callable[[str], float] = text_width) -> list[str]:
    """The header of ``column`` in lines no wider than ``width`` (by ``measure``, display width
    by default), broken only between the pieces of :meth:`Column.header_parts` (a piece wider
    than ``width`` keeps a line of its own).

    >>> header_lines(Column("k", "调整前\u200b每万人\u200b编制数", "x"), "zh", 12)
    ['调整前每万人', '编制数']
    """
    lines: list[str] = []
    for part in column.header_parts(lang):
        if lines and measure((lines[-1] + part).rstrip()) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return [line.strip() for line in lines]


def header_min_width(column: Column, lang: str,
                     measure: Callable[[str], float] = text_width) -> float:
    """The widest piece of a header: no narrower column shows it without breaking a word."""
    return max((measure(p.strip()) for p in column.header_parts(lang)), default=0)


AUTOSPACE = 0.25  # ems between Chinese and Latin letters or digits, as word processors space them
_EM = {**dict.fromkeys("0123456789$#_", 0.5), **dict.fromkeys(",.:;'!|", 0.25),
       **dict.fromkeys("()[]-/", 0.33), " ": 0.25, "%": 0.83, "²": 0.3, "λ": 0.55,
       **dict.fromkeys("mwMW", 0.85), **dict.fromkeys("fijlrt", 0.3)}


def em_width(text: str) -> float:
    """Printed width of ``text`` in ems of a Times-like face (a Chinese character is one em):
    what a document needs to fit a cell on one line. Word, WPS and LibreOffice put a quarter of
    an em between Chinese characters and Latin letters or digits, which is counted too.

    >>> em_width("道里区"), em_width("1,234"), round(em_width("Daoli"), 2), em_width("第10年")
    (3.0, 2.25, 2.3, 3.5)
    """
    total = 0.0
    previous: str | None = None  # "wide" (Chinese) or "latin" (letters, digits); None otherwise
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        if wide:
            total += 1.0
        elif ch in _EM:
            total += _EM[ch]
        else:
            total += 0.7 if ch.isupper() else 0.5
        kind = None if not ch.isalnum() else "wide" if wide else "latin" if ch.isascii() else None
        if kind is not None and previous is not None and kind != previous:
            total += AUTOSPACE
        previous = kind
    return total


def title_lines(title: str, ems: float) -> list[str]:
    """A document's title in lines: whole when it fits a line of ``ems`` ems, else broken
    before its bracket (never inside a Chinese word; the last resort of a word processor).

    >>> title_lines("哈尔滨市2020年区县事业编制零基测算（规划约束）", 20)
    ['哈尔滨市2020年区县事业编制零基测算', '（规划约束）']
    >>> title_lines("哈尔滨市2020年区县事业编制零基测算", 20)
    ['哈尔滨市2020年区县事业编制零基测算']
    """
    head, bracket, tail = title.partition("（")
    if head and bracket and em_width(title) > ems:
        return [head, bracket + tail]
    return [title]


def omitted_note(table: Table, rows: list[int], lang: str) -> list[str]:
    """The note that says a printed table keeps only subtotals (none when it keeps every row)."""
    if len(rows) == len(table.rows):
        return []
    units = sum(row.level == "unit" for row in table.rows)
    text = (f"共{units:,}个单位，此处仅列小计与合计；各单位数据见同一文件夹中的电子表格文件。"
            if lang == "zh" else
            f"{units:,} units: subtotals and total only; every unit is in the XLSX and CSV files.")
    return [note_prefix(lang) + text]


def text_file(make: Callable[[], str], newline: str | None = None, *,
              bom: bool = False) -> Writer:
    """A writer of the UTF-8 text ``make()`` returns (made when the file is written), with a
    byte-order mark when ``bom`` (Excel and Notepad then read Chinese correctly)."""
    def write(path: Path) -> None:
        path.write_text(make(), encoding="utf-8-sig" if bom else "utf-8", newline=newline)

    return write


def bytes_file(data: bytes) -> Writer:
    """A writer of ``data``."""
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write
