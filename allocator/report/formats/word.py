"""DOCX: a landscape document of three-line tables with numbered captions and notes (python-docx,
loaded when a document is written)."""

from __future__ import annotations

from pathlib import Path

from allocator.report.formats.common import document_rows, notes, omitted_note, text_width
from allocator.report.model import NUMERIC, Report, Table

CELL_PAD_CM = 0.3  # left + right cell margins of DOCX tables (0.1 cm each) and a little air


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
        for line in notes(report, table, lang) + omitted_note(table, rows, lang):
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.space_after = Pt(2)
            run = paragraph.add_run(line)
            run.font.size = Pt(9)
    document.save(str(path))
