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

from allocator.report.formats.common import outline
from allocator.report.model import NUMERIC, Report

if TYPE_CHECKING:
    from allocator.report.charts import ChartImage


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_text(report: Report, lang: str, charts: tuple[ChartImage, ...] = (),
                  chart_notes: tuple[str, ...] = ()) -> str:
    """Title, method statement and notes, then each table as a captioned pipe table followed by
    its notes and its charts (``![图1 ...](allocation.png)``, the PNG beside the document)."""
    document = outline(report, lang, charts, chart_notes)
    lines = [f"# {_md_cell(document.title)}", ""]
    if document.method_heading:
        lines += [f"## {document.method_heading}", ""]
        for paragraph in document.method:
            lines += [_md_cell(paragraph), ""]
    lines += [_md_cell(line) for line in document.notes] + [""]
    for section in document.sections:
        table = section.table
        lines += [f"**{_md_cell(section.caption)}**", ""]
        lines.append("| " + " | ".join(_md_cell(h) for h in table.headers(lang)) + " |")
        lines.append("| " + " | ".join("---:" if c.kind in NUMERIC else "---"
                                       for c in table.columns) + " |")
        for i in range(len(table.rows)):
            lines.append("| " + " | ".join(_md_cell(table.text(i, j, lang))
                                           for j in range(len(table.columns))) + " |")
        lines += [""] + [_md_cell(line) for line in section.notes] + [""]
        for image, text in section.figures:
            lines += [f"![{_md_cell(text)}]({image.name}.png)", "", f"**{_md_cell(text)}**", ""]
        if section.figures:
            lines += [_md_cell(line) for line in section.figure_notes] + [""]
    return "\n".join(lines)
