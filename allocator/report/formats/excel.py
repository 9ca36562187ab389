"""XLSX: one formatted sheet per table (openpyxl, loaded when a workbook is written)."""

from __future__ import annotations

import math
from pathlib import Path

from allocator.report.formats.common import notes, text_width
from allocator.report.model import NUMERIC, Report, T, number_format

SHEET_NAMES = {
    "comparison": T("配置对比", "Allocation"),
    "summary": T("汇总", "Summary"),
    "explanation": T("测算说明", "Explanation"),
    "inputs": T("参数与来源", "Inputs"),
}
XLSX_MAX_WIDTH = 70  # widest XLSX column (characters); longer text wraps


def write_xlsx(report: Report, path: Path, lang: str) -> None:
    """One formatted sheet per table: styled frozen header, number formats with thousands
    separators, one-decimal percentages, fitted widths, bold subtotals, notes below."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    book = Workbook()
    book.remove(book.active)
    book.properties.title = report.title.get(lang)
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="305496")
    thin = Side(style="thin", color="000000")
    for table in report.tables:
        sheet = book.create_sheet(SHEET_NAMES.get(table.key, T(table.key, table.key)).get(lang)[:31])
        widths = [min(text_width(h), 16) for h in table.headers(lang)]  # headers wrap
        for j, head in enumerate(table.headers(lang), start=1):
            cell = sheet.cell(row=1, column=j, value=head)
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = Border(bottom=thin)
        for i, row in enumerate(table.rows):
            for j in range(len(table.columns)):
                value = table.value(i, j, lang)
                kind, digits = table.format(i, j)
                cell = sheet.cell(row=i + 2, column=j + 1)
                if kind == "pct" and value is not None:
                    cell.value = value / 100
                else:
                    cell.value = value
                if kind in NUMERIC:
                    cell.number_format = number_format(kind, digits)
                elif value is not None:
                    cell.data_type = "s"  # text is never a formula
                    cell.alignment = Alignment(vertical="top")
                    wide = text_width(str(value))
                    if wide > XLSX_MAX_WIDTH - 2:  # wrap, on a row tall enough to show it all
                        cell.alignment = Alignment(wrap_text=True, vertical="top")
                        lines = math.ceil(wide / (XLSX_MAX_WIDTH - 3))
                        sheet.row_dimensions[i + 2].height = max(
                            sheet.row_dimensions[i + 2].height or 15, 15 * lines)
                if row.level != "unit":
                    cell.font = Font(bold=True)
                    cell.border = Border(top=thin) if row.level == "total" else Border()
                widths[j] = max(widths[j], text_width(table.text(i, j, lang)))
        last = len(table.rows) + 3
        for k, line in enumerate(notes(report, table, lang)):
            cell = sheet.cell(row=last + k, column=1, value=line)
            cell.data_type = "s"
            cell.font = Font(italic=True)
        lines = 1
        for j, width in enumerate(widths, start=1):
            width = min(max(width + 2, 8), XLSX_MAX_WIDTH)
            sheet.column_dimensions[sheet.cell(row=1, column=j).column_letter].width = width
            lines = max(lines, math.ceil(text_width(table.columns[j - 1].header(lang)) / (width - 1)))
        sheet.row_dimensions[1].height = 15 * lines  # wrapped headers show whole
        sheet.freeze_panes = "A2"
        sheet.page_setup.orientation = "landscape"
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    book.save(path)
