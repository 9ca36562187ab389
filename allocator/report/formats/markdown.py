"""Markdown: the title, the notes, then each table as a captioned pipe table with its notes.

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

from allocator.report.formats.common import caption, notes
from allocator.report.model import NUMERIC, Report


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
