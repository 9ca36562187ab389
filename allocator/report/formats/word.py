"""DOCX in the style of a Chinese official document (GB/T 9704 in spirit), with python-docx
(loaded when a document is written):

* A4; the title centred in a 黑体 face (二号), the method statement (测算说明) in 仿宋 (三号) with
  a first-line indent of two characters, page numbers "— 1 —" at the foot;
* tables as 三线表 (a thick rule above and below, a thin one under the header, no vertical lines)
  with a numbered caption above (表1, a Word SEQ field), a header row that repeats on every page,
  rows that never split across pages, numbers right-aligned, headers broken only between words,
  columns that are empty in every row dropped, and the notes (注：) below;
* the charts embedded, each with a numbered caption below (图1);
* narrow tables and tall charts on portrait pages, wide tables (and wide charts) on landscape
  pages.

An English document has the same layout in Times New Roman (its title in Arial).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.report.formats.common import (
    KEEP_TOGETHER,
    WRAP_WIDTH,
    document_rows,
    em_width,
    figure_notes,
    header_lines,
    header_min_width,
    label_span,
    method_heading,
    method_paragraphs,
    note_prefix,
    notes,
    omitted_note,
    printed_table,
    shown_columns,
    table_figures,
    title_lines,
    wrapped_lines,
)
from allocator.report.model import NUMERIC, Report, Table

if TYPE_CHECKING:
    from allocator.report.charts import ChartImage

PORTRAIT = {"width": 21.0, "height": 29.7, "top": 3.7, "bottom": 3.5, "left": 2.8, "right": 2.6}
LANDSCAPE = {"width": 29.7, "height": 21.0, "top": 2.5, "bottom": 2.2, "left": 2.0, "right": 2.0}
FONTS = {  # (East Asian face, Latin face) of each kind of text
    "zh": {"title": ("黑体", "Arial"), "heading": ("黑体", "Arial"), "body": ("仿宋", "Times New Roman"),
           "table": ("宋体", "Times New Roman"), "header": ("黑体", "Arial")},
    "en": {"title": ("黑体", "Arial"), "heading": ("黑体", "Arial"), "body": ("宋体", "Times New Roman"),
           "table": ("宋体", "Times New Roman"), "header": ("黑体", "Times New Roman")},
}
TABLE_SIZES = (10.5, 9.0, 8.0, 7.5, 7.0)  # 五号 down to the smallest readable size, in points
CELL_PAD_CM = 0.22  # left + right cell margins (0.1 cm each) and a little air
BOLD = {"zh": 1.03, "en": 1.1}  # how much wider a header (黑体, Times bold) is than the text
SAFETY = 1.06  # room for a substitute face a little wider than Times New Roman
POINT_CM = 0.03528
LEADING = 1.45  # lines of a table cell, in type sizes apart (Chinese faces set them wide)
NOTE_POINTS = 10.5  # the notes under a table (at most)


def usable_width(page: dict[str, float]) -> float:
    """Width between the margins of a page, in cm."""
    return page["width"] - page["left"] - page["right"]


def usable_height(page: dict[str, float]) -> float:
    """Height between the margins of a page, in cm."""
    return page["height"] - page["top"] - page["bottom"]


def text_cm(text: str, points: float) -> float:
    """Printed width of ``text`` at ``points`` in cm, with room for a substitute face."""
    return em_width(text) * points * POINT_CM * SAFETY


def header_cm(text: str, lang: str, points: float) -> float:
    """Printed width of a header line in cm (headers are bold or 黑体)."""
    return text_cm(text, points) * BOLD[lang]


def _cell_width(table: Table, i: int, j: int, lang: str, points: float, *,
                least: bool = False, break_words: bool = False) -> float:
    """Printed width of a cell on one line in cm, or with ``least`` the least it needs: numbers
    and Chinese text whole (with ``break_words``, Chinese text of more than 8 characters wraps
    after 8), English text its longest word (it wraps between words)."""
    text = table.text(i, j, lang)
    bold = BOLD[lang] if table.rows[i].level != "unit" else 1.0  # subtotals are bold
    if not least or table.format(i, j)[0] in NUMERIC:
        return text_cm(text, points) * bold
    if lang == "zh":
        most = text_cm("字" * (WRAP_WIDTH // 2), points) if break_words else float("inf")
        return min(text_cm(text, points), most) * bold
    return max((text_cm(word, points) for word in text.split()), default=0.0) * bold


def column_widths(table: Table, rows: list[int], columns: list[int], lang: str,
                  points: float, usable_cm: float, *, least: bool = False,
                  break_words: bool = False) -> list[float] | None:
    """Column widths in cm that show every header without breaking a word and every number
    on one line: each column as wide as its widest cell when that fits, else English text wraps
    between words; long text (wider than 40% of the page) wraps and takes the room left; a
    table of two columns is at least 60% of the page wide. None when nothing fits. With
    ``least``, the narrowest widths that keep every word whole, whatever the page;
    ``break_words`` lets long Chinese text wrap (after 8 characters), for a table that does
    not fit otherwise."""
    natural: list[float] = []
    narrowest: list[float] = []
    wrapped = []  # columns of long text, which wrap
    smallest = text_cm("0000", points)
    spans = {i: label_span(table, i, columns, lang) for i in rows}
    for k, j in enumerate(columns):
        column = table.columns[j]
        own = [i for i in rows if k or spans[i] == 1]  # a spanning label is fitted below
        header = header_min_width(column, lang, lambda t: header_cm(t, lang, points))
        cells = max((_cell_width(table, i, j, lang, points) for i in own), default=0.0)
        fewest = max((_cell_width(table, i, j, lang, points, least=True,
                                  break_words=break_words) for i in own), default=0.0)
        width = max(cells, header, smallest) + CELL_PAD_CM
        if column.kind == "text" and cells > 0.4 * usable_cm:
            width = max(0.4 * usable_cm, header + CELL_PAD_CM)
            wrapped.append(k)
        natural.append(width)
        narrowest.append(min(width, max(fewest, header, smallest) + CELL_PAD_CM))
    for i, span in spans.items():  # the first column widens if a label needs more than its span
        if span > 1:
            j = columns[0]
            natural[0] = max(natural[0], _cell_width(table, i, j, lang, points) + CELL_PAD_CM
                             - sum(natural[1:span]))
            narrowest[0] = max(narrowest[0], CELL_PAD_CM - sum(narrowest[1:span])
                               + _cell_width(table, i, j, lang, points, least=True,
                                             break_words=break_words))
    if least:
        return narrowest
    if sum(natural) <= usable_cm:
        widths = natural
    elif sum(narrowest) <= usable_cm:  # wrap English text between words, as little as needed
        spare = usable_cm - sum(narrowest)
        want = sum(n - m for n, m in zip(natural, narrowest, strict=True))
        return [m + spare * (n - m) / want for n, m in zip(natural, narrowest, strict=True)]
    else:
        return None
    spare = usable_cm - sum(widths)
    for k in wrapped:  # long text takes the room that is left, but for a little air
        widths[k] += max(spare - 0.3, 0.0) / len(wrapped)
    if wrapped:
        return widths
    if len(widths) == 2 and sum(widths) < 0.6 * usable_cm:
        widths[0] += 0.6 * usable_cm - sum(widths)
        return widths
    # Headers that would take more than two lines get room to spare, while it lasts.
    for k, j in enumerate(columns):
        full = header_cm(table.columns[j].header(lang), lang, points) + CELL_PAD_CM
        if full > widths[k] and spare > 0:
            grow = min(full / 2 + CELL_PAD_CM - widths[k], spare)
            if grow > 0:
                widths[k] += grow
                spare -= grow
    return widths


@dataclass(frozen=True)
class Printed:
    """A table as a printed document shows it: the rows and columns it keeps, in one language,
    with the note lines under it."""

    table: Table
    rows: list[int]
    columns: list[int]
    lang: str
    notes: list[str]


def table_height(printed: Printed, points: float, widths: list[float],
                 leading: float = LEADING) -> float:
    """Estimated height in cm of a printed table, header and rows, at ``points`` in columns of
    ``widths``: each row as many lines as its longest text wraps to (a subtotal's label across
    the cells it spans), lines ``leading`` times the type size apart."""
    table, columns, lang = printed.table, printed.columns, printed.lang
    em = points * POINT_CM * SAFETY
    head = max((len(header_lines(table.columns[j], lang, w - CELL_PAD_CM,
                                 lambda t: header_cm(t, lang, points)))
                for j, w in zip(columns, widths, strict=True)), default=1)
    lines = head
    for i in printed.rows:
        span = label_span(table, i, columns, lang)
        cells = [(columns[0], sum(widths[:span]))] + list(zip(columns[span:], widths[span:],
                                                                strict=True))
        lines += max(1, *(wrapped_lines(table.text(i, j, lang), 2 * (w - CELL_PAD_CM) / em)
                          for j, w in cells if table.format(i, j)[0] not in NUMERIC))
    return lines * points * leading * POINT_CM


def kept_together(printed: Printed, points: float, widths: list[float],
                  page_cm: tuple[float, float], leading: float = LEADING) -> bool:
    """Whether a printed table should never break across pages: it is short (at most
    :data:`KEEP_TOGETHER` rows) and, with its caption and notes, fits a page of ``page_cm``
    (text width and height)."""
    if len(printed.rows) > KEEP_TOGETHER:
        return False
    width, height = page_cm
    per_line = 2 * width / (NOTE_POINTS * POINT_CM)  # display width of a note line
    notes = sum(wrapped_lines(n, per_line) for n in printed.notes)
    return table_height(printed, points, widths, leading) + 2.0 \
        + notes * NOTE_POINTS * LEADING * POINT_CM <= height


def layout(printed: Printed) -> tuple[dict[str, float], float, list[float]]:
    """Page (portrait when the table fits it at 9 points or more, else landscape), font size
    and column widths of a printed table: the largest size at which it fits the page's width
    and, when it is short (:func:`kept_together`), one page; long Chinese text breaks a word
    only when the table fits no page at any size otherwise."""
    table, rows, columns, lang = printed.table, printed.rows, printed.columns, printed.lang
    fits = []
    for break_words in (False, True):
        for page in (PORTRAIT, LANDSCAPE):
            for points in TABLE_SIZES:
                if page is PORTRAIT and points < 9:
                    break
                widths = column_widths(table, rows, columns, lang, points, usable_width(page),
                                       break_words=break_words)
                if widths is not None:
                    fits.append((page, points, widths))
        if fits:
            break
    for page, points, widths in fits:
        if len(rows) > KEEP_TOGETHER or kept_together(printed, points, widths, _text_area(page)):
            return page, points, widths
    if fits:
        return fits[0]
    points = TABLE_SIZES[-1]
    widths = column_widths(table, rows, columns, lang, points, 1e9, least=True,
                           break_words=True) or []
    scale = usable_width(LANDSCAPE) / sum(widths)
    return LANDSCAPE, points, [w * min(scale, 1.0) for w in widths]


def _text_area(page: dict[str, float]) -> tuple[float, float]:
    return usable_width(page), usable_height(page)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels of a PNG."""
    width, height = struct.unpack(">II", png[16:24])
    return width, height


# ----------------------------------------------------------------------------------------------
# OOXML details python-docx has no API for
# ----------------------------------------------------------------------------------------------


def _element(tag: str, **attrs: str):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), value)
    return element


def _border(tag: str, **sides: int):
    """A ``w:tblBorders``/``w:tcBorders`` element: sides with size in eighths of a point
    (0 = none)."""
    element = _element(tag)
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if side in sides:
            size = sides[side]
            attrs = {"val": "single", "sz": str(size), "space": "0", "color": "000000"} \
                if size else {"val": "nil"}
            element.append(_element(f"w:{side}", **attrs))
    return element


def _cell_margins(cm: float):
    """A ``w:tblCellMar`` element: left and right cell margins of ``cm``."""
    element = _element("w:tblCellMar")
    for side in ("left", "right"):
        element.append(_element(f"w:{side}", w=str(round(cm * 567)), type="dxa"))
    return element


def _set_fonts(target, kind: str, lang: str) -> None:
    """Give a style or run the East Asian and Latin faces of ``kind``."""
    from docx.oxml.ns import qn

    east, latin = FONTS[lang][kind]
    target.font.name = latin
    fonts = target.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)


def _mark_size(paragraph, points: float) -> None:
    """Give the paragraph mark the table's font size, so an empty cell is no taller."""
    rpr = _element("w:rPr")
    for tag in ("w:sz", "w:szCs"):
        rpr.append(_element(tag, val=str(round(points * 2))))
    paragraph._p.get_or_add_pPr().append(rpr)


def _row_flags(row, header: bool) -> None:
    """Rows never split across pages; the header row repeats on every page."""
    trpr = row._tr.get_or_add_trPr()
    trpr.append(_element("w:cantSplit"))
    if header:
        trpr.append(_element("w:tblHeader"))


def _seq_caption(document, label: str, number: int, title: str, lang: str, *, before: bool):
    """A centred caption whose number is a Word SEQ field (renumbers in Word/WPS)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = document.add_paragraph(style="Caption")
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = before
    paragraph.add_run(label if lang == "zh" else f"{label} ")
    field = _element("w:fldSimple", instr=f" SEQ {label} \\* ARABIC ")
    run = _element("w:r")
    text = _element("w:t")
    text.text = str(number)
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run((" " if lang == "zh" else ". ") + title)
    paragraph.paragraph_format.space_before = Pt(6 if before else 2)
    paragraph.paragraph_format.space_after = Pt(3 if before else 10)
    return paragraph


def _page_number_footer(section, lang: str) -> None:
    """Page numbers at the foot of every page: "— 1 —"."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("— ")
    field = _element("w:fldSimple", instr=" PAGE ")
    run = _element("w:r")
    text = _element("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run(" —")
    for run_ in paragraph.runs:
        run_.font.size = Pt(14 if lang == "zh" else 11)


# ----------------------------------------------------------------------------------------------
# The document
# ----------------------------------------------------------------------------------------------


class _Pages:
    """Sections of the document: a new one (on a new page) whenever the orientation changes."""

    def __init__(self, document) -> None:
        self.document = document
        self.page = PORTRAIT
        self._apply(document.sections[0], PORTRAIT)

    @staticmethod
    def _apply(section, page: dict[str, float]) -> None:
        from docx.enum.section import WD_ORIENT
        from docx.shared import Cm

        section.orientation = WD_ORIENT.LANDSCAPE if page is LANDSCAPE else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(page["width"]), Cm(page["height"])
        for side in ("top", "bottom", "left", "right"):
            setattr(section, f"{side}_margin", Cm(page[side]))

    def use(self, page: dict[str, float]) -> None:
        from docx.enum.section import WD_SECTION

        if page is not self.page:
            self._apply(self.document.add_section(WD_SECTION.NEW_PAGE), page)
            self.page = page


def _styles(document, lang: str) -> None:
    from docx.shared import Pt, RGBColor

    normal = document.styles["Normal"]
    _set_fonts(normal, "body", lang)
    normal.font.size = Pt(16 if lang == "zh" else 12)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    caption_style = document.styles["Caption"]
    _set_fonts(caption_style, "heading", lang)
    caption_style.font.size = Pt(12 if lang == "zh" else 11)
    caption_style.font.italic = False
    caption_style.font.bold = lang == "en"
    caption_style.font.color.rgb = RGBColor(0, 0, 0)


def _add_lines(paragraph, lines: list[str], kind: str, lang: str, points: float) -> None:
    """``lines`` in one paragraph, a line break between them, in the faces of ``kind`` (bold in
    an English document)."""
    from docx.shared import Pt

    for n, line in enumerate(lines):
        if n:
            paragraph.runs[-1].add_break()
        run = paragraph.add_run(line)
        _set_fonts(run, kind, lang)
        run.font.size = Pt(points)
        run.bold = lang == "en"


def _title(document, report: Report, lang: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_before = Pt(12)
    paragraph.paragraph_format.space_after = Pt(24)
    paragraph.paragraph_format.line_spacing = Pt(35 if lang == "zh" else 26)
    title = report.title.get(lang)
    points = 22 if lang == "zh" else 18
    _add_lines(paragraph, title_lines(title, usable_width(PORTRAIT) / (points * POINT_CM)),
               "title", lang, points)
    document.core_properties.title = title


def _heading(document, text: str, lang: str) -> None:
    from docx.shared import Pt

    paragraph = document.add_paragraph()
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.line_spacing = Pt(28 if lang == "zh" else 18)
    if lang == "zh":
        paragraph.paragraph_format.first_line_indent = Pt(32)
    run = paragraph.add_run(text)
    _set_fonts(run, "heading", lang)
    run.font.size = Pt(16 if lang == "zh" else 13)
    run.bold = lang == "en"


def _body(document, text: str, lang: str, *, size: float | None = None,
          indent: bool = True) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    points = size or (16 if lang == "zh" else 12)
    paragraph.paragraph_format.line_spacing = Pt(28 if points >= 16 else points * 1.5)
    if indent and lang == "zh":
        paragraph.paragraph_format.first_line_indent = Pt(2 * points)
    elif lang == "en":
        paragraph.paragraph_format.space_after = Pt(6 if indent else 0)
    run = paragraph.add_run(text)
    run.font.size = Pt(points)


def _note_lines(document, lines: list[str], lang: str) -> None:
    """The notes under a table or figure, in a smaller size, wrapped lines under the text."""
    from docx.shared import Pt

    for line in lines:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(1)
        paragraph.paragraph_format.line_spacing = 1.0
        prefix = note_prefix(lang)
        size = NOTE_POINTS if lang == "zh" else 9.5
        if line.startswith(prefix):  # hanging indent: wrapped lines start under the text
            paragraph.paragraph_format.left_indent = Pt(size * em_width(prefix))
            paragraph.paragraph_format.first_line_indent = -Pt(size * em_width(prefix))
        run = paragraph.add_run(line)
        run.font.size = Pt(size)
    if lines:
        document.paragraphs[-1].paragraph_format.space_after = Pt(12)


def _table(document, report: Report, table: Table, number: int, lang: str, pages: _Pages
           ) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    rows = document_rows(table)
    table = printed_table(table, rows)
    columns = shown_columns(table, rows, lang)
    printed = Printed(table, rows, columns, lang,
                      notes(report, table, lang, columns) + omitted_note(table, rows, lang))
    page, points, widths = layout(printed)
    pages.use(page)
    _seq_caption(document, "表" if lang == "zh" else "Table", number, table.title.get(lang),
                 lang, before=True)
    grid = document.add_table(rows=len(rows) + 1, cols=len(columns))
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    tblpr = grid._tbl.tblPr
    tblpr.append(_border("w:tblBorders", top=12, bottom=12, left=0, right=0, insideH=0,
                         insideV=0))
    tblpr.append(_cell_margins(0.1))
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = Cm(width)
    header_row = grid.rows[0]
    _row_flags(header_row, header=True)
    # a short table moves to the next page whole rather than leave its last rows alone there
    together = kept_together(printed, points, widths, _text_area(page))
    for k, (cell, j) in enumerate(zip(header_row.cells, columns, strict=True)):
        cell.width = Cm(widths[k])
        cell._tc.get_or_add_tcPr().append(_border("w:tcBorders", bottom=6))
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_with_next = together
        fit = widths[k] - CELL_PAD_CM
        _add_lines(paragraph, header_lines(table.columns[j], lang, fit,
                                           lambda t: header_cm(t, lang, points)),
                   "header", lang, points)
    for r, i in enumerate(rows, start=1):
        level = table.rows[i].level
        row = grid.rows[r]
        _row_flags(row, header=False)
        cells = list(zip(row.cells, columns, widths, strict=True))
        span = label_span(table, i, columns, lang)
        if span > 1:  # a subtotal's label runs on over the empty unit and group cells
            merged = cells[0][0].merge(cells[span - 1][0])
            cells = [(merged, columns[0], sum(widths[:span])), *cells[span:]]
        for cell, j, width in cells:
            cell.width = Cm(width)
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.keep_with_next = together and r < len(rows)
            _mark_size(paragraph, points)
            if table.format(i, j)[0] in NUMERIC:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                cell._tc.get_or_add_tcPr().append(_element("w:noWrap"))
            run = paragraph.add_run(table.text(i, j, lang))
            _set_fonts(run, "table", lang)
            run.font.size = Pt(points)
            if level != "unit":
                run.bold = True
                if lang == "zh":  # 黑体 for the Chinese words, the table's Latin face for numbers
                    run.element.get_or_add_rPr().get_or_add_rFonts().set(
                        qn("w:eastAsia"), FONTS[lang]["header"][0])
    _note_lines(document, printed.notes, lang)


def _figure(document, image: ChartImage, number: int, lang: str, pages: _Pages) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    pixels_w, pixels_h = png_size(image.png)
    if pixels_h > pixels_w:  # a tall chart gets a portrait page
        pages.use(PORTRAIT)
    page = pages.page
    width = min(usable_width(page), 17.0)
    height = width * pixels_h / pixels_w
    room = usable_height(page) - 2.0  # the caption and a note line
    if height > room:
        width, height = width * room / height, room
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True
    paragraph.add_run().add_picture(io.BytesIO(image.png), width=Cm(width), height=Cm(height))
    _seq_caption(document, "图" if lang == "zh" else "Figure", number, image.caption, lang,
                 before=False)


def write_docx(report: Report, path: Path, lang: str, charts: tuple[ChartImage, ...] = (),
               chart_notes: tuple[str, ...] = ()) -> None:
    """The report as an official-style document: title, method statement, then each table
    (三线表, numbered, notes below) with the charts that belong to it, numbered."""
    from docx import Document

    document = Document()
    _styles(document, lang)
    pages = _Pages(document)
    _page_number_footer(document.sections[0], lang)
    _title(document, report, lang)
    if report.method:
        _heading(document, method_heading(lang), lang)
        for paragraph in method_paragraphs(report, lang):
            _body(document, paragraph, lang)
    _note_lines(document, notes(report, None, lang), lang)
    for number, table in enumerate(report.tables, start=1):
        _table(document, report, table, number, lang, pages)
        figures = table_figures(report, table, charts)
        for figure, image in figures:
            _figure(document, image, figure, lang, pages)
        _note_lines(document, figure_notes(figures, chart_notes, lang), lang)
    # Built in memory, then written in one call: a full disk is one OSError, and no half-written
    # zip file is left for the garbage collector to complain about.
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
