"""LaTeX: a complete XeLaTeX document of booktabs tables; each ``table`` environment can be
pasted into another document as it is."""

from __future__ import annotations

from allocator.report.formats.common import document_rows, notes, omitted_note, text_width
from allocator.report.model import NUMERIC, Report, Table

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
                + omitted_note(table, rows, lang)]
        out += [r"\end{minipage}", r"\end{table}"]
    out += ["", r"\end{document}", ""]
    text = "\n".join(out)
    # ctexart sets up Chinese fonts; scheme=plain keeps English headings and captions.
    cjk = any(text_width(ch) == 2 for ch in text)
    cls = (r"\documentclass[a4paper]{ctexart}" if lang == "zh" else
           r"\documentclass[a4paper,scheme=plain]{ctexart}" if cjk else
           r"\documentclass[a4paper]{article}")
    return text.replace("\nCLASS\n", f"\n{cls}\n", 1)
