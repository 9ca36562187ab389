"""An allocation as the page shows it: plain JSON values (numbers, text in both languages), taken
from the report's own tables so that the page shows the numbers the documents show.

Text that differs between the languages is a ``{"zh": ..., "en": ...}`` object, other text a
string; numbers are rounded as the report rounds them (:meth:`allocator.report.model.Table.value`).

>>> words(T("合计", "Total")), words("道里区")
({'zh': '合计', 'en': 'Total'}, '道里区')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from allocator.core.explain import Explanation
from allocator.pipeline.allocate import AllocationResult
from allocator.report.charts import (
    LARGEST_CHANGE,
    LARGEST_VALUE,
    MAX_BARS,
    TITLES,
    waterfall_parts,
    waterfall_title,
)
from allocator.report.labels import RULE_NAMES, group_name, indicator_name
from allocator.report.model import Report, T, Table
from allocator.schema import ModelSpec
from allocator.studies.montecarlo import MonteCarloResult

# The comparison table's columns that the page shows (in the report's order).
PAGE_COLUMNS = ("id", "label", "target", "allocation", "actual", "change", "change_pct",
                "per10k_before", "per10k_after", "binding")
BOUND_NAMES = {**RULE_NAMES, "floor_column": T("保底下限列", "Floor column"),
               "ceiling_column": T("上限列", "Ceiling column")}
BANDS_TITLE = T("蒙特卡洛区间（5%–95%）", "Monte Carlo band (5th to 95th percentile)")
WIDEST_BANDS = T("区间最宽的{n}个单位", "{n} units with the widest band")

JSON = dict[str, Any]


def words(text: Any) -> Any:
    """A text for the page: ``{"zh", "en"}`` when the languages differ, else the text itself."""
    if isinstance(text, T):
        return {"zh": text.zh, "en": text.en} if text.zh != text.en else text.zh
    return text


def _number(value: Any) -> float | int | None:
    """A number fit for JSON (NaN and infinities become None)."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def indicators(spec: ModelSpec) -> list[JSON]:
    """Each indicator: key, display name, data column and transform."""
    return [{"key": name, "name": words(indicator_name(name)), "column": ind.column,
             "transform": str(ind.transform)} for name, ind in spec.indicators.items()]


def bounds(spec: ModelSpec) -> list[JSON]:
    """Each bound the model sets: key, display name and its value as text."""
    out = []
    for key, value in spec.bounds.model_dump(exclude_none=True).items():
        if key in ("max_cut", "max_increase"):
            shown = f"{100 * value:g}%"
        elif isinstance(value, str):
            shown = value
        else:
            shown = f"{value:,g}"
        out.append({"key": key, "name": words(BOUND_NAMES.get(key, T(key, key))), "value": shown})
    return out


def table(source: Table, keys: Iterable[str] | None = None) -> JSON:
    """A report table (only the columns ``keys``, when given): columns, rows and notes."""
    wanted = [j for j, c in enumerate(source.columns) if keys is None or c.key in keys]
    columns = [{"key": source.columns[j].key, "name": words(T(source.columns[j].zh,
                                                                 source.columns[j].en)),
                "kind": source.columns[j].kind, "digits": source.columns[j].digits}
               for j in wanted]
    rows = []
    for i, row in enumerate(source.rows):
        cells = []
        for j in wanted:
            kind, digits = source.format(i, j)
            if kind == "text":
                zh, en = source.value(i, j, "zh"), source.value(i, j, "en")
                cells.append(None if zh is None else words(T(zh, en)))
            else:
                cells.append(_number(source.value(i, j)))
        rows.append({"level": row.level, "cells": cells,
                     "formats": [list(source.format(i, j)) for j in wanted]
                     if row.formats is not None else None})
    return {"key": source.key, "title": words(source.title), "columns": columns, "rows": rows,
            "notes": [words(n) for n in source.notes]}


def _limited(units: list[JSON], key: str, title: T, which: T) -> tuple[list[JSON], JSON]:
    """At most MAX_BARS units, those with the largest ``|key|``, as the report's charts do."""
    if len(units) <= MAX_BARS:
        return units, words(title)
    top = sorted(units, key=lambda u: -abs(u[key] or 0))[:MAX_BARS]
    return top, {"zh": f"{title.zh}（{which.zh.format(n=MAX_BARS)}）",
                 "en": f"{title.en} ({which.en.format(n=MAX_BARS)})"}


def _units(result: AllocationResult, report: Report) -> list[JSON]:
    """One entry per unit (id order): names, group, posts, current posts, per 10,000 residents and
    the binding bound, from the comparison table."""
    comparison = report.table("comparison")
    keys = {c.key for c in comparison.columns}
    values = {k: comparison.column_values(k) for k in
              ("id", "per10k_before", "per10k_after", "change") if k in keys}
    table_ = result.table
    out = []
    for i, unit in enumerate(table_.ids):
        label = table_.labels[i] if table_.labels else unit
        out.append({
            "id": unit,
            "name": {"zh": label, "en": report.names_en.get(unit, unit)},
            "group": words(group_name(table_.groups[i])) if table_.groups else None,
            "posts": int(result.posts[i]),
            "actual": _number(table_.actual[i]) if table_.actual is not None else None,
            "change": _number(values["change"][i]) if "change" in values else None,
            "per10k_before": _number(values["per10k_before"][i]) if "per10k_before" in values
            else None,
            "per10k_after": _number(values["per10k_after"][i]) if "per10k_after" in values
            else None,
            "binding": result.binding[i],
        })
    return out


def charts(units: list[JSON]) -> JSON:
    """The report's two unit charts as data: allocation against current posts, and posts per
    10,000 residents; each with at most MAX_BARS units, sorted by the value drawn."""
    has_actual = any(u["actual"] is not None for u in units)
    picked, title = _limited(units, "change" if has_actual else "posts",
                             TITLES["allocation" if has_actual else "allocation_only"],
                             LARGEST_CHANGE if has_actual else LARGEST_VALUE)
    picked = sorted(picked, key=lambda u: u["posts"])
    out: JSON = {"allocation": {
        "title": title, "ids": [u["id"] for u in picked], "names": [u["name"] for u in picked],
        "series": [*([{"name": words(T("现有编制数", "Current posts")),
                       "values": [u["actual"] for u in picked]}] if has_actual else []),
                   {"name": words(T("优化配置数", "Allocation")),
                    "values": [u["posts"] for u in picked]}]}}
    lived = [u for u in units if u["per10k_after"] is not None]
    if lived:
        before = any(u["per10k_before"] is not None for u in lived)
        for u in lived:
            u["gap"] = u["per10k_after"] - (u["per10k_before"] or 0)
        picked, title = _limited(lived, "gap", TITLES["per10k"],
                                 LARGEST_CHANGE if before else LARGEST_VALUE)
        picked = sorted(picked, key=lambda u: u["per10k_after"])
        out["per10k"] = {
            "title": title, "ids": [u["id"] for u in picked],
            "names": [u["name"] for u in picked],
            "series": [*([{"name": words(T("调整前", "Current")),
                           "values": [u["per10k_before"] for u in picked]}] if before else []),
                       {"name": words(T("调整后", "Allocated")),
                        "values": [u["per10k_after"] for u in picked]}]}
        for u in lived:
            del u["gap"]
    return out


def lambdas(result: AllocationResult, explanation: Explanation) -> list[JSON]:
    """λ per pool (the common ratio allocation/target of the units no bound holds), then λ of
    all units as one pool when there are groups."""
    out = [{"pool": pool, "name": words(group_name(pool) if pool else T("全部单位", "all units")),
            "value": _number(value)} for pool, value in result.lambdas.items()]
    if any(pool for pool in result.lambdas):
        out.append({"pool": None, "name": words(T("全部单位为一个池时", "all units as one pool")),
                    "value": _number(explanation.lambda_all)})
    return out


def allocation(result: AllocationResult, report: Report, explanation: Explanation) -> JSON:
    """Everything the page shows for one allocation."""
    units = _units(result, report)
    return {
        "weights": dict(result.weights),
        "units": units,
        "table": table(report.table("comparison"), PAGE_COLUMNS),
        "summary": table(report.table("summary")),
        "lambdas": lambdas(result, explanation),
        "charts": charts(units),
        "notes": [words(n) for n in report.notes],
        "status": result.fair.status.value,
    }


def waterfall(report: Report, result: AllocationResult, unit_id: str) -> JSON:
    """One unit's explanation as the report's waterfall draws it: the indicator parts, the
    target, each adjustment and the allocation (in whole tenths that add up), with the unit's
    current posts and the bound that holds it."""
    explanation = report.table("explanation")
    headers = {c.key: T(c.zh, c.en) for c in explanation.columns}
    i = result.table.ids.index(unit_id)
    label = result.table.labels[i] if result.table.labels else unit_id
    english = report.names_en.get(unit_id, unit_id)
    rule = result.binding[i]
    return {
        "id": unit_id,
        "title": {"zh": waterfall_title(f"{unit_id} {label}").zh,
                  "en": waterfall_title(f"{unit_id} {english}").en},
        "parts": [{"key": key, "name": words(headers[key]), "value": _number(value),
                   "kind": kind} for key, value, kind in waterfall_parts(report, unit_id)],
        "actual": _number(result.table.actual[i]) if result.table.actual is not None else None,
        "binding": words(RULE_NAMES.get(rule, T(rule, rule))) if rule else None,
        "notes": [words(n) for n in explanation.notes],
    }


def bands(mc: MonteCarloResult, result: AllocationResult) -> JSON:
    """The Monte Carlo bands around the page's weights: per unit the 5th, 50th and 95th
    percentiles of its posts, its posts at the weights themselves, current posts and the
    verdict; at most MAX_BARS units (the widest bands)."""
    s = mc.summary
    table_ = result.table
    labels = table_.labels or table_.ids
    english = table_.labels_en or table_.ids
    column = {key: s[key].to_numpy() for key in ("alloc_p5", "alloc_p50", "alloc_p95", "base")}
    verdict = s["verdict"].tolist() if "verdict" in s else [None] * len(s)
    units = []
    for i, unit in enumerate(s["id"].tolist()):
        p5, p50, p95 = (int(column[k][i]) for k in ("alloc_p5", "alloc_p50", "alloc_p95"))
        units.append({"id": unit, "name": {"zh": labels[i], "en": english[i] or unit},
                      "p5": p5, "p50": p50, "p95": p95, "base": int(column["base"][i]),
                      "width": p95 - p5,
                      "actual": _number(table_.actual[i]) if table_.actual is not None else None,
                      "verdict": verdict[i]})
    picked, title = _limited(units, "width", BANDS_TITLE, WIDEST_BANDS)
    picked = sorted(picked, key=lambda u: u["base"])
    verdicts = s["verdict"].value_counts().to_dict() if "verdict" in s else {}
    return {"title": title, "units": picked, "samples": mc.options.samples,
            "concentration": mc.options.concentration, "seed": mc.options.seed,
            "around": dict(zip(mc.names, (float(w) for w in mc.centre), strict=True)),
            "verdicts": {k: int(v) for k, v in verdicts.items()}}
