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
    KEEP_TOGETHER,
    document_rows,
    figure_notes,
    header_lines,
    label_span,
    method_heading,
    method_paragraphs,
    notes,
    omitted_note,
    printed_table,
    shown_columns,
    table_figures,
    text_width,
    title_lines,
)
from allocator.report.formats.word import (
    CELL_PAD_CM,
    POINT_CM,
    Printed,
    column_widths,
    header_cm,
    kept_together,
)
from allocator.report.model import NUMERIC, Report, Table

if TYPE_CHECKING:
    from allocator.report.charts import ChartImage

_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "λ": r"$\lambda$", "×": r"$\times$", "−": r"$-$",
                "≥": r"$\geq$", "≤": r"$\leq$", "²": r"\textsuperscript{2}", "|": r"\textbar{}",
                "<": r"\textless{}", ">": r"\textgreater{}"}
TEXT_WIDTH_CM = {"portrait": 21.0 - 4.0, "landscape": 29.7 - 4.0}  # 2 cm margins
TEXT_HEIGHT_CM = {"portrait": 29.7 - 4.0, "landscape": 21.0 - 4.0}
LEADING = {"zh": 1.25 * 1.3, "en": 1.25}  # baselines in type sizes (ctexart spreads lines 1.3)
FONT_POINTS = (8.0, 7.5, 7.0)  # the tables' type sizes: the largest that fits
WIDER = 1.1  # Latin Modern at these sizes is wider than Times
COLSEP, TIGHT_COLSEP = 3.0, 1.5  # points each side of a column; narrower in a table too wide


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


def _layout(printed: Printed) -> tuple[str, float, list[float], float]:
    """Orientation, type size, column widths and the gap each side of a column (points) of a
    table: the largest size on the narrowest page at which it fits the width and, when it is
    short, one page; long Chinese text breaks a word only when the table fits no page at any
    size otherwise."""
    table, rows, columns, lang = printed.table, printed.rows, printed.columns, printed.lang
    fits = []
    for broken in (False, True):
        for page in ("portrait", "landscape"):
            for size in FONT_POINTS:
                widths = column_widths(table, rows, columns, lang, size * WIDER,
                                       TEXT_WIDTH_CM[page], break_words=broken)
                if widths is not None:
                    fits.append((page, size, widths))
        if fits:
            break
    for page, size, widths in fits:
        if len(rows) > KEEP_TOGETHER or _together(printed, page, size, widths):
            return page, size, widths, COLSEP
    if fits:
        return *fits[0], COLSEP
    # Too wide for any page: as narrow as it goes, English words whole, with narrower gaps
    # between the columns, which give their room to the text that wraps most.
    size = FONT_POINTS[-1]
    least = column_widths(table, rows, columns, lang, size * WIDER, 1e9, least=True,
                          break_words=True) or []
    natural = column_widths(table, rows, columns, lang, size * WIDER, 1e9) or least
    want = [n - m for n, m in zip(natural, least, strict=True)]
    room = len(least) * 2 * (COLSEP - TIGHT_COLSEP) * POINT_CM
    return "landscape", size, [m + room * w / sum(want) if sum(want) else m
                               for m, w in zip(least, want, strict=True)], TIGHT_COLSEP


def _together(printed: Printed, page: str, size: float, widths: list[float]) -> bool:
    """Whether a table is short enough to be kept on one page (see :func:`kept_together`)."""
    return kept_together(printed, size * WIDER, widths, (TEXT_WIDTH_CM[page],
                                                         TEXT_HEIGHT_CM[page]),
                         LEADING[printed.lang])


def _longtable(report: Report, table: Table, lang: str) -> list[str]:
    rows = document_rows(table)
    table = printed_table(table, rows)
    columns = shown_columns(table, rows, lang)
    printed = Printed(table, rows, columns, lang,
                      notes(report, table, lang, columns) + omitted_note(table, rows, lang))
    orientation, points, widths, colsep = _layout(printed)
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
    out += [rf"{{\fontsize{{{points:g}}}{{{points * 1.25:g}}}\selectfont"
            rf"\setlength{{\tabcolsep}}{{{colsep:g}pt}}",
            rf"\begin{{longtable}}{{{''.join(spec)}}}",
            rf"\caption{{{tex_escape(table.title.get(lang))}}}\label{{tab:{table.key}}}\\",
            r"\toprule", head + r" \\", r"\midrule", r"\endfirsthead",
            rf"\multicolumn{{{n}}}{{l}}{{{more}}}\\", r"\toprule", head + r" \\", r"\midrule",
            r"\endhead", r"\bottomrule", r"\endfoot", r"\bottomrule", r"\endlastfoot"]
    mixed = {j: s != "r" for j, s in zip(columns, spec, strict=True)}
    # A short table never breaks across pages (\\* forbids a break after a row): it moves to the
    # next page whole rather than leave its last rows alone there.
    end = r" \\*" if _together(printed, orientation, points, widths) else r" \\"
    for n, i in enumerate(rows, start=1):
        cells = [_tex_cell(table, i, j, lang, right=mixed[j]) for j in columns]
        span = label_span(table, i, columns, lang)
        if span > 1:  # a subtotal's label runs on over the empty unit and group cells
            cells[:span] = [rf"\multicolumn{{{span}}}{{l}}{{{cells[0]}}}"]
        out.append(" & ".join(cells) + (end if n < len(rows) else r" \\"))
    out += [r"\end{longtable}", "}"]
    if printed.notes:
        out += [r"{\footnotesize\setlength{\parindent}{0pt}"]  # notes flush with the table
        out += [tex_escape(line) + r"\par" for line in printed.notes] + ["}"]
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
    size = 22 if lang == "zh" else 14.4  # \zihao{2}; \Large of an 11-point document
    lines = title_lines(report.title.get(lang), TEXT_WIDTH_CM["portrait"] / (size * POINT_CM))
    title = r"\\".join(tex_escape(line) for line in lines)
    heading = (rf"\begin{{center}}{{\zihao{{2}}\heiti {title}}}\end{{center}}" if lang == "zh"
               else rf"\begin{{center}}{{\Large\bfseries {title}}}\end{{center}}")
    return text.replace("\nCLASS\n", f"\n{cls}\n", 1).replace("\nTITLE", f"\n{heading}", 1)
