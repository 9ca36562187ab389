"""CSV: one file per table, UTF-8 with BOM (so that Excel shows Chinese), plain numbers with
percentages in %, the notes under the table.

>>> from allocator.report.model import Column, Report, Row, T, Table
>>> table = Table("t", T("示例", "Demo"), (Column("a", "单位", "Unit"),
...                Column("b", "增减比例", "Change", "pct", 1)), (Row(("x", -12.34)),))
>>> print(csv_text(Report(T("报告", "Report"), (table,)), table, "en"))
Unit,Change (%)
x,-12.3
<BLANKLINE>
<BLANKLINE>
>>> csv_header(Column("c", "增减比例", "Change %", "pct", 1), "zh"), \\
...     csv_header(Column("c", "增减比例", "Change %", "pct", 1), "en")
('增减比例（%）', 'Change %')
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from allocator.report.formats.common import notes
from allocator.report.model import Column, Report, Table


def csv_header(column: Column, lang: str) -> str:
    """A column's CSV header: a percentage column says "%" once (its numbers carry none)."""
    header = column.header(lang)
    if column.kind != "pct" or "%" in header:
        return header
    return header + ("（%）" if lang == "zh" else " (%)")


def csv_text(report: Report, table: Table, lang: str) -> str:
    """One table as CSV text: header, rows with plain numbers (percentages in %), then notes.

    Write it with ``encoding="utf-8-sig"`` so that Excel shows Chinese correctly.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_header(c, lang) for c in table.columns])
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
