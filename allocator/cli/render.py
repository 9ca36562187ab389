"""Terminal rendering (rich): the allocation table, any report table, one unit's breakdown; and
the ``--format`` option, which speaks of the option where the library speaks of a format.

Tables use the same grouped layout and the same text as the report
(:mod:`allocator.report.grouping`, :class:`allocator.report.model.Table`).

>>> import pandas as pd
>>> f = pd.DataFrame({"id": ["a", "b"], "label": [None, None], "group": ["x", "x"],
...     "target": [1.0, 2.0], "exact": [1.0, 2.0], "allocation": [1, 2], "actual": [2.0, 2.0],
...     "difference": [-1.0, 0.0], "change_pct": [-50.0, 0.0], "binding": ["", ""]})
>>> [row["id"] for row in table_rows(f)]
['a', 'b', 'x subtotal', 'Total']
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import pandas as pd
from rich import box
from rich.table import Table as RichTable

from allocator.choices import OutputFormat
from allocator.errors import InputError
from allocator.report.grouping import grouped_rows
from allocator.report.model import NUMERIC, Report, T, Table
from allocator.report.write import parse_formats

SUM_COLUMNS = ("target", "exact", "allocation", "actual", "difference")


def _total_row(rows: pd.DataFrame, name: str) -> dict:
    row: dict = {"id": name, "label": "", "group": "", "binding": ""}
    for col in SUM_COLUMNS:
        row[col] = rows[col].sum() if rows[col].notna().any() else None
    actual = row["actual"]
    row["change_pct"] = (100 * row["difference"] / actual) if actual else None
    row["subtotal"] = True
    return row


def table_rows(frame: pd.DataFrame, *, units: bool = True) -> Iterator[dict]:
    """Rows of :meth:`AllocationResult.frame` in the report's grouped layout: units by group,
    each group followed by its subtotal, then a total row. With ``units=False`` only the
    subtotal and total rows."""
    groups = frame["group"].tolist() if frame["group"].notna().any() else None
    records = frame.to_dict("records")
    for slot in grouped_rows(len(frame), groups):
        if slot.level == "unit":
            if units:
                yield {**records[int(slot.members[0])], "subtotal": False}
        else:
            name = f"{slot.group} subtotal" if slot.level == "subtotal" else "Total"
            yield _total_row(frame.iloc[slot.members], name)


def _fmt(value, digits: int = 0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.{digits}f}{suffix}"


def terminal_table(frame: pd.DataFrame, title: str, *, max_units: int = 60) -> RichTable:
    """A rich table of the allocation that fits an 80-column terminal: units under their group's
    subtotal (so no group column), numbers never cut. Above ``max_units`` units, only subtotals
    and the total."""
    units = len(frame) <= max_units
    table = RichTable(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name, numeric in [("id", False), ("unit", False), ("target", True), ("posts", True),
                          ("current", True), ("change", True), ("change %", True),
                          ("held by", False)]:
        table.add_column(name, justify="right" if numeric else "left", no_wrap=numeric)
    for row in table_rows(frame, units=units):
        table.add_row(str(row["id"]), str(row["label"] or ""), _fmt(row["target"], 1),
                      _fmt(row["allocation"]), _fmt(row["actual"]), _fmt(row["difference"]),
                      _fmt(row["change_pct"], 1, "%"), str(row["binding"] or ""),
                      style="bold" if row["subtotal"] else None,
                      end_section=bool(row["subtotal"]))
    if not units:
        table.caption = f"{len(frame):,} units: subtotals only; every unit is in allocation.csv"
    return table


def rich_table(table: Table, lang: str) -> RichTable:
    """Any report table for the terminal, with the same text as every export."""
    out = RichTable(title=table.title.get(lang))
    for j, column in enumerate(table.columns):
        numbers = column.kind in NUMERIC or any(table.format(i, j)[0] in NUMERIC
                                                for i in range(len(table.rows)))
        out.add_column(column.header(lang), justify="right" if numbers else "left")
    for i, row in enumerate(table.rows):
        out.add_row(*(table.text(i, j, lang) for j in range(len(table.columns))),
                    style=None if row.level == "unit" else "bold")
    return out


def breakdown_table(report: Report, unit_id: str, lang: str) -> RichTable:
    """One unit's explanation as a terminal table: each part and the running total."""
    table = report.table("explanation")
    i = [k for k, row in enumerate(table.rows) if row.level == "unit"][
        table.column_values("id").index(unit_id)]
    out = RichTable(title=f"{unit_id} " + (table.text(i, 1, lang) if table.columns[1].key == "label"
                                           else ""), caption=table.title.get(lang))
    out.add_column(T("项目", "Part").get(lang))
    out.add_column(T("编制数", "Posts").get(lang), justify="right")
    for j, column in enumerate(table.columns):
        if column.kind == "text":
            continue
        total = column.key in ("target", "allocation")
        out.add_row(column.header(lang), table.text(i, j, lang), style="bold" if total else None,
                    end_section=total)
    return out


def format_option(text: str | None, charts: bool = True) -> tuple[str, ...]:
    """The ``--format`` option (table formats; every one when not given) and ``--charts``:
    the report's formats for :func:`allocator.report.write.write_report`, with PNG and SVG
    charts unless ``charts`` is off. Errors name the option (the library speaks of a "format").

    >>> format_option("md", charts=False)
    ('md',)
    >>> format_option("md,xlsl")
    Traceback (most recent call last):
    allocator.errors.InputError: --format xlsl: unknown format (did you mean 'xlsx'?); use any of ...
    >>> format_option("md,png")
    Traceback (most recent call last):
    allocator.errors.InputError: --format png: charts are chosen with --charts/--no-charts; ...
    """
    tables = OutputFormat.tables()
    for fmt in (f.strip().lower() for f in (text or "").split(",")):
        if fmt in OutputFormat.charts():
            raise InputError(f"--format {fmt}: charts are chosen with --charts/--no-charts; "
                             f"--format takes table formats: {','.join(tables)}")
    try:
        formats = parse_formats(text) if text else tables
    except InputError as exc:
        message = str(exc)
        if message.startswith("format '"):
            bad, _, rest = message.removeprefix("format '").partition("'")
            message = f"--format {bad}{rest.replace(','.join(parse_formats(None)), ','.join(tables))}"
        raise InputError(message) from None
    formats = tuple(f for f in formats if f in tables)
    return formats + (OutputFormat.charts() if charts else ())


def weights_line(weights: Mapping[str, float], label: str = "weights") -> str:
    """The weights as used, for the terminal: ``weights: population 0.42, area 0.3``.

    >>> weights_line({"population": 0.42, "area": 0.3, "townships": 0.28000000000000003})
    'weights: population 0.42, area 0.3, townships 0.28'
    """
    return f"{label}: " + ", ".join(f"{name} {value:.4g}" for name, value in weights.items())
