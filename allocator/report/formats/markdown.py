"""Markdown: the title, the method statement, then each table as a captioned pipe table with its
notes, and the charts as numbered figures that show the PNG files beside the document.

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

from typing import TYPE_CHECKING

from allocator.report.formats.common import (
    caption,
    figure_caption,
    method_heading,
    method_paragraphs,
    note_prefix,
    notes,
    table_charts,
)
from allocator.report.model import NUMERIC, Report

if TYPE_CHECKING:
    from allocator.report.charts import ChartImage


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_text(report: Report, lang: str, charts: tuple[ChartImage, ...] = (),
                  chart_notes: tuple[str, ...] = ()) -> str:
    """Title, method statement and notes, then each table as a captioned pipe table followed by
    its notes and its charts (``![图1 ...](allocation.png)``, the PNG beside the document)."""
    lines = [f"# {_md_cell(report.title.get(lang))}", ""]
    if report.method:
        lines += [f"## {method_heading(lang)}", ""]
        for paragraph in method_paragraphs(report, lang):
            lines += [_md_cell(paragraph), ""]
    lines += [_md_cell(line) for line in notes(report, None, lang)] + [""]
    figure = 0
    for number, table in enumerate(report.tables, start=1):
        lines += [f"**{_md_cell(caption(table, number, lang))}**", ""]
        lines.append("| " + " | ".join(_md_cell(h) for h in table.headers(lang)) + " |")
        lines.append("| " + " | ".join("---:" if c.kind in NUMERIC else "---"
                                       for c in table.columns) + " |")
        for i in range(len(table.rows)):
            lines.append("| " + " | ".join(_md_cell(table.text(i, j, lang))
                                           for j in range(len(table.columns))) + " |")
        lines += [""] + [_md_cell(line) for line in notes(report, table, lang)] + [""]
        shown = table_charts(table, charts)
        for image in shown:
            figure += 1
            text = _md_cell(figure_caption(image.caption, figure, lang))
            lines += [f"![{text}]({image.name}.png)", "", f"**{text}**", ""]
        if shown:
            lines += [_md_cell(note_prefix(lang) + n) for n in chart_notes] + [""]
    return "\n".join(lines)
