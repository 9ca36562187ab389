r"""LaTeX: a complete XeLaTeX document: title, method statement, every table as a ``longtable``
(three-line: booktabs rules; numbered caption; the header repeated on every page; headers broken
only between words; bold subtotals; empty columns dropped; landscape pages for wide tables, never
shrunk), and the charts as numbered figures from the PNG files beside the document.

>>> tex_escape("12.5% & a_b")
'12.5\\% \\& a\\_b'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allocator.report.formats.common import (
    document_rows,
    figure_notes,
    header_lines,
    method_heading,
    method_paragraphs,
    notes,
    omitted_note,
    shown_columns,
    table_figures,
    text_width,
)
from allocator.report.formats.word import CELL_PAD_CM, column_widths, header_cm
from allocator.report.model import NUMERIC, Report, Table

if TYPE_CHECKING:
    from allocator.report.charts import ChartImage

_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "λ": r"$\lambda$", "×": r"$\times$", "−": r"$-$",
                "²": r"\textsuperscript{2}", "|": r"\textbar{}", "<": r"\textless{}",
                ">": r"\textgreater{}"}
TEXT_WIDTH_CM = {"portrait": 21.0 - 4.0, "landscape": 29.7 - 4.0}  # 2 cm margins
FONT_POINTS = (8.0, 7.5, 7.0)  # the tables' type sizes: the largest that fits
WIDER = 1.1  # Latin Modern at these sizes is wider than Times


def tex_escape(text: str) -> str:
    r"""Escape LaTeX special characters.

    >>> tex_escape("a_b & 50% #1")
    'a\\_b \\& 50\\% \\#1'
    """
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def _tex_cell(table: Table, i: int, j: int, lang: str, right: bool = False) -> str:
    """A cell for LaTeX: escaped, a true minus sign on negative numbers, bold on subtotals;
    ``right`` pushes a number in a column of text to the right (``\\hfill``)."""
    text = tex_escape(table.text(i, j, lang))
    numeric = table.format(i, j)[0] in NUMERIC
    if numeric and text.startswith("-"):
        text = "$-$" + text[1:]
    if table.rows[i].level != "unit" and text:
        text = rf"\textbf{{{text}}}"
    if right and numeric and text:
        text = r"\hfill " + text
    return text


def _header(table: Table, j: int, lang: str, width_cm: float, points: float) -> str:
    lines = [tex_escape(line) for line in header_lines(
        table.columns[j], lang, width_cm - CELL_PAD_CM,
        lambda t: header_cm(t, lang, points * WIDER))]
    body = r"\\".join(lines)
    return rf"\makecell[{'r' if table.columns[j].kind in NUMERIC else 'l'}b]{{{body}}}" \
        if len(lines) > 1 else body


def _longtable(report: Report, table: Table, lang: str) -> list[str]:
    rows = document_rows(table)
    columns = shown_columns(table, rows, lang)
    orientation, points, widths = "landscape", FONT_POINTS[-1], None
    for page in ("portrait", "landscape"):
        for size in FONT_POINTS:
            widths = column_widths(table, rows, columns, lang, size * WIDER, TEXT_WIDTH_CM[page])
            if widths is not None:
                orientation, points = page, size
                break
        if widths is not None:
            break
    if widths is None:  # too wide for any page: as narrow as it goes, words whole
        widths = column_widths(table, rows, columns, lang, points * WIDER, 1e9, least=True) \
            or []
    spec = []
    for j, width in zip(columns, widths, strict=True):
        numeric = all(table.format(i, j)[0] in NUMERIC for i in rows
                      if table.value(i, j) is not None)
        if numeric and any(table.value(i, j) is not None for i in rows):
            spec.append("r")
        else:  # text wraps between words within the width; a number in it is pushed right
            spec.append(rf">{{\raggedright\arraybackslash}}p{{{width - 0.25:.2f}cm}}")
    head = " & ".join(_header(table, j, lang, w, points)
                      for j, w in zip(columns, widths, strict=True))
    n = len(columns)
    more = "（续表）" if lang == "zh" else "(continued)"
    out = [r"\begin{landscape}"] if orientation == "landscape" else []
    out += [rf"{{\fontsize{{{points:g}}}{{{points * 1.25:g}}}\selectfont\setlength{{\tabcolsep}}{{3pt}}",
            rf"\begin{{longtable}}{{{''.join(spec)}}}",
            rf"\caption{{{tex_escape(table.title.get(lang))}}}\label{{tab:{table.key}}}\\",
            r"\toprule", head + r" \\", r"\midrule", r"\endfirsthead",
            rf"\multicolumn{{{n}}}{{l}}{{{more}}}\\", r"\toprule", head + r" \\", r"\midrule",
            r"\endhead", r"\bottomrule", r"\endfoot", r"\bottomrule", r"\endlastfoot"]
    mixed = {j: s != "r" for j, s in zip(columns, spec, strict=True)}
    for i in rows:
        out.append(" & ".join(_tex_cell(table, i, j, lang, right=mixed[j]) for j in columns)
                   + r" \\")
    out += [r"\end{longtable}", "}"]
    lines = notes(report, table, lang, columns) + omitted_note(table, rows, lang)
    if lines:
        out += [r"{\footnotesize"] + [tex_escape(line) + r"\par" for line in lines] + ["}"]
    if orientation == "landscape":
        out.append(r"\end{landscape}")
    return out


def _figure(image: ChartImage) -> list[str]:
    return [r"\begin{figure}[htbp]", r"\centering",
            rf"\includegraphics[width=\linewidth,height=0.7\textheight,keepaspectratio]"
            rf"{{{image.name}.png}}",
            rf"\caption{{{tex_escape(image.caption)}}}\label{{fig:{image.name}}}",
            r"\end{figure}"]


def latex_text(report: Report, lang: str, charts: tuple[ChartImage, ...] = (),
               chart_notes: tuple[str, ...] = ()) -> str:
    """A complete XeLaTeX document (``ctexart`` for Chinese text, with ``scheme=plain`` for an
    English report that holds Chinese unit names); each ``longtable`` can be pasted into another
    document that loads the packages it names."""
    out = ["% Compile with XeLaTeX (twice, for the numbering). Tables need "
           r"\usepackage{array,booktabs,longtable,makecell,pdflscape}; figures the PNG files beside "
           "this file.", "CLASS",
           r"\usepackage[a4paper,margin=2cm]{geometry}",
           r"\usepackage{array,booktabs,longtable,makecell,pdflscape,graphicx,caption}",
           r"\captionsetup{labelsep=" + ("quad" if lang == "zh" else "period") + "}",
           r"\setlength{\LTcapwidth}{\linewidth}", r"\renewcommand{\cellgape}{\Gape[1pt]}",
           r"\begin{document}", "TITLE"]
    if report.method:
        out += [rf"\section*{{{tex_escape(method_heading(lang))}}}"]
        out += [tex_escape(p) + "\n" for p in method_paragraphs(report, lang)]
    out += [r"{\small " + tex_escape(line) + r"\par}" for line in notes(report, None, lang)]
    for table in report.tables:
        out += [""] + _longtable(report, table, lang)
        figures = table_figures(report, table, charts)
        for _, image in figures:
            out += [""] + _figure(image)
        out += [r"{\footnotesize " + tex_escape(n) + r"\par}"
                for n in figure_notes(figures, chart_notes, lang)]
    out += ["", r"\end{document}", ""]
    text = "\n".join(out)
    # ctexart sets up Chinese fonts; scheme=plain keeps English headings and captions.
    cjk = any(text_width(ch) == 2 for ch in text + report.title.get(lang))
    cls = (r"\documentclass[a4paper,zihao=-4]{ctexart}" if lang == "zh" else
           r"\documentclass[a4paper,11pt,scheme=plain]{ctexart}" if cjk else
           r"\documentclass[a4paper,11pt]{article}")
    title = tex_escape(report.title.get(lang))
    heading = (rf"\begin{{center}}{{\zihao{{2}}\heiti {title}}}\end{{center}}" if lang == "zh"
               else rf"\begin{{center}}{{\Large\bfseries {title}}}\end{{center}}")
    return text.replace("\nCLASS\n", f"\n{cls}\n", 1).replace("\nTITLE", f"\n{heading}", 1)
