"""Writers for every export format, all reading one :class:`~allocator.report.model.Report`.

CSV (UTF-8 with BOM, one file per table), XLSX (formatted, one sheet per table), DOCX (three-line
tables with numbered captions and notes), Markdown, LaTeX (booktabs) and a self-contained HTML
report. Numbers come from :meth:`Table.value` / :meth:`Table.text` only, so they cannot differ
between formats, and text cells are already neutralised against spreadsheet formulas.

>>> from allocator.report.model import Column, Report, Row, T, Table
>>> table = Table("t", T("示例", "Demo"), (Column("a", "单位", "Unit"),
...                Column("b", "编制数", "Posts", "int")), (Row(("x|y", 1200)),))
>>> print(markdown_text(Report(T("报告", "Report"), (table,), (T("示意", "Illustrative"),)), "en"))
# Report
<BLANKLINE>
Note: Illustrative
<BLANKLINE>
**Table 1. Demo**
<BLANKLINE>
| Unit | Posts |
| --- | ---: |
| x\\|y | 1,200 |
<BLANKLINE>
Note: Illustrative
<BLANKLINE>
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import unicodedata
from collections.abc import Callable
from pathlib import Path

from allocator.report.model import NUMERIC, Report, T, Table, number_format, text_in

FORMATS: tuple[str, ...] = ("csv", "xlsx", "docx", "md", "tex", "html")
SHEET_NAMES = {
    "comparison": T("配置对比", "Allocation"),
    "summary": T("汇总", "Summary"),
    "explanation": T("测算说明", "Explanation"),
    "inputs": T("参数与来源", "Inputs"),
}
CELL_PAD_CM = 0.3  # left + right cell margins of DOCX tables (0.1 cm each) and a little air
DOCUMENT_MAX_UNITS = 200  # larger tables keep only subtotals in DOCX and LaTeX (all rows elsewhere)
XLSX_MAX_WIDTH = 70  # widest XLSX column (characters); longer text wraps


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


def _omitted_note(table: Table, rows: list[int], lang: str) -> list[str]:
    if len(rows) == len(table.rows):
        return []
    units = sum(row.level == "unit" for row in table.rows)
    return [note_prefix(lang) + (f"共{units:,}个单位，此处仅列小计与合计；各单位数据见XLSX或CSV文件。"
                                 if lang == "zh" else
                                 f"{units:,} units: subtotals and total only; every unit is in "
                                 "the XLSX and CSV files.")]


# --- CSV ------------------------------------------------------------------------------------

def csv_text(report: Report, table: Table, lang: str) -> str:
    """One table as CSV text: header, rows with plain numbers (percentages in %), then notes.

    Write it with ``encoding="utf-8-sig"`` so that Excel shows Chinese correctly.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.header(lang) + (" (%)" if c.kind == "pct" else "") for c in table.columns])
    for i in range(len(table.rows)):
        cells = []
        for j in range(len(table.columns)):
            value = table.value(i, j, lang)
            kind, digits = table.format(i, j)
            if value is None:
                cells.append("")
            elif kind in ("float", "pct"):
                cells.append(f"{value:.{digits}f}")
            else:
                cells.append(value)
        writer.writerow(cells)
    writer.writerow([])
    for line in notes(report, table, lang):
        writer.writerow([line])
    return out.getvalue()


def write_csv(report: Report, table: Table, path: Path, lang: str) -> None:
    """Write one table as CSV in UTF-8 with BOM."""
    Path(path).write_text(csv_text(report, table, lang), encoding="utf-8-sig", newline="")


# --- XLSX -----------------------------------------------------------------------------------

def text_width(text: str) -> int:
    """Display width: East Asian wide characters count two.

    >>> text_width("道里区"), text_width("Daoli")
    (6, 5)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def column_widths(table: Table, rows: list[int], lang: str, usable_cm: float,
                  points: float) -> list[float]:
    """Column widths in cm for a printed table: as wide as the widest cell (headers wrap, so
    they count up to 8 wide characters), scaled down to fit ``usable_cm``."""
    char_cm = points * 0.0353 * 0.6  # a narrow character (digit) at this size, in cm
    widths = []
    for j, column in enumerate(table.columns):
        cells = max((text_width(table.text(i, j, lang)) for i in rows), default=0)
        width = max(cells, min(text_width(column.header(lang)), 8), 4) * char_cm + CELL_PAD_CM
        widths.append(min(width, 0.6 * usable_cm))  # long text wraps
    scale = min(1.0, usable_cm / sum(widths))
    return [w * scale for w in widths]


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


# --- DOCX -----------------------------------------------------------------------------------

def _border(tag: str, **sides: int):
    """A ``w:tblBorders``/``w:tcBorders`` element: sides with size in eighths of a point
    (0 = none)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement(tag)
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if side not in sides:
            continue
        edge = OxmlElement(f"w:{side}")
        size = sides[side]
        edge.set(qn("w:val"), "single" if size else "nil")
        if size:
            edge.set(qn("w:sz"), str(size))
            edge.set(qn("w:space"), "0")
            edge.set(qn("w:color"), "000000")
        element.append(edge)
    return element


def _cell_margins(cm: float):
    """A ``w:tblCellMar`` element: left and right cell margins of ``cm``."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(round(cm * 567)))  # twentieths of a point
        edge.set(qn("w:type"), "dxa")
        element.append(edge)
    return element


def _mark_size(paragraph, size) -> None:
    """Give the paragraph mark the table's font size, so an empty cell is no taller."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = OxmlElement("w:rPr")
    for tag in ("w:sz", "w:szCs"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), str(round(size.pt * 2)))
        rpr.append(element)
    paragraph._p.get_or_add_pPr().append(rpr)


def _east_asian_font(style_or_run, name: str = "SimSun") -> None:
    from docx.oxml.ns import qn

    rpr = style_or_run.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)


def _caption(document, table: Table, number: int, lang: str) -> None:
    """A Caption paragraph whose number is a Word SEQ field (renumbers in Word/WPS)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    label = "表" if lang == "zh" else "Table"
    paragraph = document.add_paragraph(style="Caption")
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True
    paragraph.add_run(label if lang == "zh" else f"{label} ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" SEQ {label} \\* ARABIC ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = str(number)
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run((" " if lang == "zh" else ". ") + table.title.get(lang))


def write_docx(report: Report, path: Path, lang: str) -> None:
    """Landscape document: title, then per table a numbered caption, a three-line table
    (三线表: thick top and bottom rules, a thin rule under the header, no vertical lines) and
    its note line."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    for name in ("Normal", "Caption", "Title"):
        style = document.styles[name]
        style.font.name = "Times New Roman"
        _east_asian_font(style, "SimHei" if name != "Normal" else "SimSun")
    normal = document.styles["Normal"].paragraph_format
    normal.space_after, normal.line_spacing = Pt(0), 1.0
    caption_style = document.styles["Caption"]
    caption_style.font.size, caption_style.font.italic = Pt(10.5), False
    caption_style.font.bold = True
    caption_style.font.color.rgb = RGBColor(0, 0, 0)
    caption_style.paragraph_format.space_before = Pt(12)
    caption_style.paragraph_format.space_after = Pt(4)
    document.core_properties.title = report.title.get(lang)
    title = document.styles["Title"]
    title.font.size, title.font.color.rgb = Pt(16), RGBColor(0, 0, 0)
    document.add_paragraph(report.title.get(lang), style="Title").alignment = \
        WD_ALIGN_PARAGRAPH.CENTER
    for number, table in enumerate(report.tables, start=1):
        _caption(document, table, number, lang)
        rows = document_rows(table)
        grid = document.add_table(rows=len(rows) + 1, cols=len(table.columns))
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid._tbl.tblPr.append(_border("w:tblBorders", top=12, bottom=12, left=0, right=0,
                                       insideH=0, insideV=0))
        size = Pt(9 if len(table.columns) <= 8 else 7.5 if len(table.columns) <= 14 else 7)
        numeric = [c.kind in NUMERIC for c in table.columns]
        all_rows = grid.rows
        grid._tbl.tblPr.append(_cell_margins(0.1))
        widths = column_widths(table, rows, lang, usable_cm=26.5, points=size.pt)
        grid.autofit = False
        for column, width in zip(grid.columns, widths, strict=True):
            column.width = Cm(width)
        for row in all_rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = Cm(width)
        for j, cell in enumerate(all_rows[0].cells):
            cell._tc.get_or_add_tcPr().append(_border("w:tcBorders", bottom=6))
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(table.columns[j].header(lang))
            run.bold, run.font.size = True, size
        for r, i in enumerate(rows, start=1):
            bold = table.rows[i].level != "unit"
            for j, cell in enumerate(all_rows[r].cells):
                paragraph = cell.paragraphs[0]
                _mark_size(paragraph, size)
                if numeric[j]:  # item/value tables keep their mixed values left-aligned
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                run = paragraph.add_run(table.text(i, j, lang))
                run.bold, run.font.size = bold, size
        for line in notes(report, table, lang) + _omitted_note(table, rows, lang):
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.space_after = Pt(2)
            run = paragraph.add_run(line)
            run.font.size = Pt(9)
    document.save(path)


# --- Markdown -------------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_text(report: Report, lang: str) -> str:
    """Title, notes, then each table as a captioned pipe table followed by its notes."""
    lines = [f"# {_md_cell(report.title.get(lang))}", ""]
    lines += [_md_cell(line) for line in notes(report, None, lang)] + [""]
    for number, table in enumerate(report.tables, start=1):
        lines += [f"**{_md_cell(caption(table, number, lang))}**", ""]
        lines.append("| " + " | ".join(_md_cell(h) for h in table.headers(lang)) + " |")
        lines.append("| " + " | ".join("---:" if c.kind in NUMERIC else "---"
                                       for c in table.columns) + " |")
        for i in range(len(table.rows)):
            lines.append("| " + " | ".join(_md_cell(table.text(i, j, lang))
                                           for j in range(len(table.columns))) + " |")
        lines += [""] + [_md_cell(line) for line in notes(report, table, lang)] + [""]
    return "\n".join(lines)


# --- LaTeX ----------------------------------------------------------------------------------

_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "λ": r"$\lambda$", "×": r"$\times$", "−": r"$-$",
                "²": r"\textsuperscript{2}", "|": r"\textbar{}", "<": r"\textless{}",
                ">": r"\textgreater{}"}


def tex_escape(text: str) -> str:
    r"""Escape LaTeX special characters.

    >>> tex_escape("12.5% & a_b")
    '12.5\\% \\& a\\_b'
    """
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def _tex_cell(table: Table, i: int, j: int, lang: str) -> str:
    """A cell for LaTeX: escaped, with a true minus sign on negative numbers."""
    text = tex_escape(table.text(i, j, lang))
    if table.format(i, j)[0] in NUMERIC and text.startswith("-"):
        return "$-$" + text[1:]
    return text


def latex_text(report: Report, lang: str) -> str:
    """A complete XeLaTeX document (``ctexart`` for Chinese text, with ``scheme=plain`` for an
    English report that holds Chinese unit names) with booktabs tables; each ``table``
    environment can be pasted into another document as it is."""
    out = ["% Compile with XeLaTeX. Tables need \\usepackage{booktabs,graphicx}.", "CLASS",
           r"\usepackage[landscape,margin=1.8cm]{geometry}", r"\usepackage{booktabs,graphicx}",
           r"\begin{document}", rf"\section*{{{tex_escape(report.title.get(lang))}}}"]
    out += [tex_escape(line) + r"\par" for line in notes(report, None, lang)]
    for table in report.tables:
        rows = document_rows(table)
        narrow = len(table.columns) <= 2
        spec = "l p{0.6\\textwidth}" if narrow else "".join(
            "r" if c.kind in NUMERIC else "l" for c in table.columns)
        out += ["", r"\begin{table}[htbp]", r"\centering",
                rf"\caption{{{tex_escape(table.title.get(lang))}}}", rf"\label{{tab:{table.key}}}",
                r"\small"]
        if not narrow:
            out.append(r"\resizebox{\textwidth}{!}{%")
        out += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
                " & ".join(tex_escape(h) for h in table.headers(lang)) + r" \\", r"\midrule"]
        for i in rows:
            out.append(" & ".join(_tex_cell(table, i, j, lang)
                                  for j in range(len(table.columns))) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}" + ("" if narrow else "}"), r"\par\smallskip",
                r"\begin{minipage}{\textwidth}\footnotesize"]
        out += [tex_escape(line) + r"\par" for line in notes(report, table, lang)
                + _omitted_note(table, rows, lang)]
        out += [r"\end{minipage}", r"\end{table}"]
    out += ["", r"\end{document}", ""]
    text = "\n".join(out)
    # ctexart sets up Chinese fonts; scheme=plain keeps English headings and captions.
    cjk = any(text_width(ch) == 2 for ch in text)
    cls = (r"\documentclass[a4paper]{ctexart}" if lang == "zh" else
           r"\documentclass[a4paper,scheme=plain]{ctexart}" if cjk else
           r"\documentclass[a4paper]{article}")
    return text.replace("\nCLASS\n", f"\n{cls}\n", 1)


# --- HTML -----------------------------------------------------------------------------------

_CSS = """body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",SimSun,sans-serif;
margin:2em;color:#111}table{border-collapse:collapse;margin:0.5em 0;font-size:0.85em}
caption{font-weight:bold;padding:0.4em}thead tr{border-top:2px solid #000;border-bottom:1px solid #000}
tbody tr:last-child{border-bottom:2px solid #000}th,td{padding:0.2em 0.6em}td.num{text-align:right}
tr.subtotal td,tr.total td{font-weight:bold}p.note{font-size:0.85em;margin:0.2em 0}
figure{margin:1em 0}img{max-width:100%}td{white-space:nowrap}div.wide{overflow-x:auto}"""


def html_text(report: Report, lang: str, charts: dict[str, bytes] | None = None,
              chart_notes: tuple[str, ...] = ()) -> str:
    """A self-contained HTML page: title, notes, charts (inline PNG, captioned) and every
    table."""
    esc = html.escape
    parts = ["<!DOCTYPE html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
             '<head><meta charset="utf-8">', f"<title>{esc(report.title.get(lang))}</title>",
             f"<style>{_CSS}</style></head>", "<body>", f"<h1>{esc(report.title.get(lang))}</h1>"]
    parts += [f'<p class="note">{esc(line)}</p>' for line in notes(report, None, lang)]
    for title, png in (charts or {}).items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<figure><img alt="{esc(title)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{esc(title)}</figcaption></figure>")
    if charts:
        parts += [f'<p class="note">{esc(note_prefix(lang) + n)}</p>' for n in chart_notes]
    for number, table in enumerate(report.tables, start=1):
        parts.append(f'<div class="wide"><table id="{esc(table.key)}">'
                     f"<caption>{esc(caption(table, number, lang))}</caption><thead><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in table.headers(lang))
                     + "</tr></thead><tbody>")
        for i, row in enumerate(table.rows):
            cells = []
            for j in range(len(table.columns)):
                cls = ' class="num"' if table.columns[j].kind in NUMERIC else ""
                cells.append(f"<td{cls}>{esc(table.text(i, j, lang))}</td>")
            parts.append(f'<tr class="{row.level}">' + "".join(cells) + "</tr>")
        parts.append("</tbody></table></div>")
        parts += [f'<p class="note">{esc(line)}</p>' for line in notes(report, table, lang)]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def report_files(report: Report, lang: str, formats: tuple[str, ...],
                 charts: dict[str, bytes] | None = None,
                 chart_notes: tuple[str, ...] = ()) -> dict[str, Callable[[Path], None]]:
    """File name -> writer for each requested format (for :func:`allocator.outputs.runfiles.write_files`)."""
    files: dict[str, Callable[[Path], None]] = {}
    for fmt in formats:
        if fmt == "csv":
            for table in report.tables:
                files[f"{table.key}.csv"] = (lambda p, t=table: write_csv(report, t, p, lang))
        elif fmt == "xlsx":
            files["report.xlsx"] = lambda p: write_xlsx(report, p, lang)
        elif fmt == "docx":
            files["report.docx"] = lambda p: write_docx(report, p, lang)
        elif fmt == "md":
            files["report.md"] = lambda p: p.write_text(markdown_text(report, lang), encoding="utf-8")
        elif fmt == "tex":
            files["report.tex"] = lambda p: p.write_text(latex_text(report, lang), encoding="utf-8")
        elif fmt == "html":
            files["report.html"] = lambda p: p.write_text(
                html_text(report, lang, charts, chart_notes), encoding="utf-8")
        else:
            raise ValueError(f"unknown format '{fmt}'")
    return files
