"""XLSX: one print-ready sheet per table and a sheet with the method statement (openpyxl, loaded
when a workbook is written).

Every table sheet has a title row (表1 ...), a styled header whose lines break only between
words, one number format per column (with thousands separators; percentages as fractions shown
with one decimal), bold subtotals, the notes below, the header and the unit column frozen, and a
print setup: A4, landscape for wide tables, fitted to the page width, the header row repeated on
every printed page, page numbers in the footer. A note wraps within the width of its table.
"""

from __future__ import annotations

import math
from pathlib import Path

from allocator.report.formats.common import (
    caption,
    header_lines,
    header_min_width,
    method_heading,
    method_paragraphs,
    notes,
    text_width,
    wrapped_lines,
)
from allocator.report.model import NUMERIC, Report, T, Table, number_format

SHEET_NAMES = {
    "comparison": T("配置对比", "Allocation"),
    "summary": T("汇总", "Summary"),
    "explanation": T("构成及调整", "Explanation"),
    "inputs": T("参数与来源", "Inputs"),
    "method": T("测算说明", "Method"),
}
XLSX_MAX_WIDTH = 70  # widest XLSX column (characters); longer text wraps
WIDE_TEXT_WIDTH = 40  # widest text column of a wide (landscape) sheet: longer text
# wraps, so that the page fitted to its width keeps a readable size
HEADER_WIDTH = 14  # headers wider than this break onto more lines (between words)
TITLE_ROW, HEADER_ROW = 1, 2
A4 = 9  # the paper size code of A4 in a workbook's page setup
PORTRAIT_COLUMNS = 4  # sheets with more columns print landscape
NOTE_SCALE = 0.85  # a note's characters (9 points) against a column width's (11 points)


def _column_format(table: Table, j: int) -> str | None:
    """The one number format of column ``j`` (None for a column of mixed kinds, such as the
    values of an item/value table, whose cells keep their own)."""
    column = table.columns[j]
    if column.kind in NUMERIC:
        return number_format(column.kind, column.digits)
    kinds = {table.format(i, j) for i in range(len(table.rows))
             if table.value(i, j) is not None}
    if len(kinds) == 1 and next(iter(kinds))[0] in NUMERIC:
        kind, digits = next(iter(kinds))
        return number_format(kind, digits)
    return None


def _print_setup(sheet, wide: bool, header_row: int | None, lang: str) -> None:
    """A4, fitted to the page width, the header row on every page, page numbers."""
    sheet.page_setup.paperSize = A4
    sheet.page_setup.orientation = "landscape" if wide else "portrait"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.page_margins.header = sheet.page_margins.footer = 0.25  # inside the margins, not cut
    sheet.print_options.horizontalCentered = True
    if header_row is not None:
        sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页" if lang == "zh" else "Page &P of &N"


def _table_sheet(book, report: Report, table: Table, number: int, lang: str) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    name = table.sheet or SHEET_NAMES.get(table.key, T(table.key, table.key))
    sheet = book.create_sheet(name.get(lang)[:31])
    thin = Side(style="thin", color="000000")
    width_of = len(table.columns)
    title = sheet.cell(row=TITLE_ROW, column=1, value=caption(table, number, lang))
    title.font = Font(bold=True, size=13)
    title.alignment = Alignment(horizontal="left", vertical="center")
    sheet.row_dimensions[TITLE_ROW].height = 22
    widths = []
    wide = width_of > PORTRAIT_COLUMNS
    for j, column in enumerate(table.columns):
        cells = max((text_width(table.text(i, j, lang)) for i in range(len(table.rows))),
                    default=0)
        most = WIDE_TEXT_WIDTH if wide and column.kind == "text" and j > 0 else XLSX_MAX_WIDTH
        widths.append(min(max(cells, header_min_width(column, lang), 6) + 2, most))
    formats = [_column_format(table, j) for j in range(width_of)]
    lines = 1
    for j, column in enumerate(table.columns):
        fit = max(int(widths[j]) - 2, min(HEADER_WIDTH, text_width(column.header(lang))))
        widths[j] = max(widths[j], fit + 2)
        head = header_lines(column, lang, fit)
        lines = max(lines, len(head))
        cell = sheet.cell(row=HEADER_ROW, column=j + 1, value="\n".join(head))
        cell.data_type = "s"
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=thin)
    sheet.row_dimensions[HEADER_ROW].height = 15 * lines + 3
    first = HEADER_ROW + 1
    for i, row in enumerate(table.rows):
        r = first + i
        for j in range(width_of):
            value = table.value(i, j, lang)
            kind, digits = table.format(i, j)
            cell = sheet.cell(row=r, column=j + 1)
            cell.value = value / 100 if kind == "pct" and value is not None else value
            if kind in NUMERIC:
                cell.number_format = formats[j] or number_format(kind, digits)
                cell.alignment = Alignment(horizontal="right", vertical="top")
            elif value is not None:
                cell.data_type = "s"  # text is never a formula
                cell.alignment = Alignment(vertical="top", wrap_text=True)
                lines_needed = wrapped_lines(str(value), widths[j] - 2)
                if lines_needed > 1:  # wrap, on a row tall enough to show it all
                    sheet.row_dimensions[r].height = max(sheet.row_dimensions[r].height or 15,
                                                         15 * lines_needed)
            if row.level != "unit":
                cell.font = Font(bold=True)
                cell.border = Border(top=thin) if row.level == "total" else Border()
    last = first + len(table.rows) + 1
    across = sum(widths)  # a note wraps within the table's width, so that it prints on its page
    for k, line in enumerate(notes(report, table, lang)):
        cell = sheet.cell(row=last + k, column=1, value=line)
        cell.data_type = "s"
        cell.font = Font(italic=True, size=9)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if width_of > 1:
            sheet.merge_cells(start_row=last + k, start_column=1, end_row=last + k,
                              end_column=width_of)
        lines_needed = math.ceil(text_width(line) * NOTE_SCALE / max(across - 2, 1))
        sheet.row_dimensions[last + k].height = 13 * max(lines_needed, 1) + 2
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = width
    frozen = 1 + sum(c.key in ("id", "label") for c in table.columns[:2])
    if width_of <= 2:
        frozen = 1
    sheet.freeze_panes = f"{get_column_letter(frozen)}{first}"
    _print_setup(sheet, wide, HEADER_ROW, lang)


def _method_sheet(book, report: Report, lang: str) -> None:
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet(SHEET_NAMES["method"].get(lang))
    sheet.column_dimensions["A"].width = 80
    sheet.cell(row=1, column=1, value=report.title.get(lang)).font = Font(bold=True, size=14)
    sheet.cell(row=2, column=1, value=method_heading(lang)).font = Font(bold=True, size=12)
    lines = method_paragraphs(report, lang) + notes(report, None, lang)
    for k, text in enumerate(lines, start=3):
        cell = sheet.cell(row=k, column=1, value=text)
        cell.data_type = "s"
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        per_line = 76 if lang == "zh" else 96  # Chinese characters count two
        sheet.row_dimensions[k].height = 16 * math.ceil(text_width(text) / per_line) + 4
    _print_setup(sheet, False, None, lang)


def write_xlsx(report: Report, path: Path, lang: str) -> None:
    """One print-ready sheet per table, then the method statement."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    book.properties.title = report.title.get(lang)
    for number, table in enumerate(report.tables, start=1):
        _table_sheet(book, report, table, number, lang)
    if report.method:
        _method_sheet(book, report, lang)
    book.save(path)
