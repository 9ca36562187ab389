"""Report stage: the allocation table with group subtotals and a total row.

>>> import pandas as pd
>>> f = pd.DataFrame({"id": ["a", "b"], "label": [None, None], "group": ["x", "x"],
...     "target": [1.0, 2.0], "exact": [1.0, 2.0], "allocation": [1, 2], "actual": [2.0, 2.0],
...     "difference": [-1.0, 0.0], "change_pct": [-50.0, 0.0], "binding": ["", ""]})
>>> [row["id"] for row in table_rows(f)]
['a', 'b', 'x subtotal', 'Total']
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd
from rich.table import Table

SUM_COLUMNS = ("target", "exact", "allocation", "actual", "difference")


def _total_row(rows: pd.DataFrame, name: str) -> dict:
    row = {"id": name, "label": "", "group": "", "binding": ""}
    for col in SUM_COLUMNS:
        row[col] = rows[col].sum() if rows[col].notna().any() else None
    actual = row["actual"]
    row["change_pct"] = (100 * row["difference"] / actual) if actual else None
    row["subtotal"] = True
    return row


def table_rows(frame: pd.DataFrame, *, units: bool = True) -> Iterator[dict]:
    """Unit rows grouped by group (in first-seen order), each group followed by its subtotal,
    then a total row. With ``units=False`` only the subtotal and total rows."""
    has_groups = frame["group"].notna().any()
    if has_groups:
        for group, rows in frame.groupby("group", sort=False):
            if units:
                yield from (dict(r, subtotal=False) for r in rows.to_dict("records"))
            yield _total_row(rows, f"{group} subtotal")
    elif units:
        yield from (dict(r, subtotal=False) for r in frame.to_dict("records"))
    yield _total_row(frame, "Total")


def _fmt(value, digits: int = 0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.{digits}f}{suffix}"


def terminal_table(frame: pd.DataFrame, title: str, *, max_units: int = 60) -> Table:
    """A rich table of the allocation; above ``max_units`` units, only subtotals and total."""
    units = len(frame) <= max_units
    table = Table(title=title, show_lines=False)
    for name, justify in [("id", "left"), ("label", "left"), ("group", "left"),
                          ("target", "right"), ("allocation", "right"), ("actual", "right"),
                          ("difference", "right"), ("change %", "right"), ("binding", "left")]:
        table.add_column(name, justify=justify)
    for row in table_rows(frame, units=units):
        style = "bold" if row["subtotal"] else None
        table.add_row(str(row["id"]), str(row["label"] or ""), str(row["group"] or ""),
                      _fmt(row["target"], 1), _fmt(row["allocation"]), _fmt(row["actual"]),
                      _fmt(row["difference"]), _fmt(row["change_pct"], 1, "%"),
                      str(row["binding"] or ""), style=style,
                      end_section=bool(row["subtotal"]))
    if not units:
        table.caption = f"{len(frame):,} units: subtotals only; every unit is in allocation.csv"
    return table
