"""An allocation as the page shows it: plain JSON values (numbers, text in both languages), taken
from the report's own tables so that the page shows the numbers the documents show.

Text that differs between the languages is a ``{"zh": ..., "en": ...}`` object, other text a
string; numbers are rounded as the report rounds them (:meth:`allocator.report.model.Table.value`).

>>> words(T("合计", "Total")), words("道里区")
({'zh': '合计', 'en': 'Total'}, '道里区')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from allocator.core.explain import Explanation
from allocator.outputs.cells import neutralise
from allocator.pipeline.allocate import AllocationResult
from allocator.report.build import comparison_of
from allocator.report.charts import (
    LARGEST_CHANGE,
    LARGEST_VALUE,
    MAX_BARS,
    TITLES,
    waterfall_parts,
    waterfall_title,
)
from allocator.report.labels import (
    RULE_NAMES,
    ModelWords,
    binding_label,
    group_label,
    indicator_label,
)
from allocator.report.model import Column, Report, T, rounded, text_in
from allocator.schema import Bilingual, ModelSpec
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


def text(value: str | Bilingual) -> Any:
    """A model's display text for the page, as :func:`words` gives it.

    >>> text(Bilingual(zh="示例", en="Demo")), text("Demo")
    ({'zh': '示例', 'en': 'Demo'}, 'Demo')
    """
    return words(T(value.zh, value.en)) if isinstance(value, Bilingual) else value


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
    return [{"key": name, "name": words(indicator_label(name, spec, k)), "column": ind.column,
             "transform": str(ind.transform)}
            for k, (name, ind) in enumerate(spec.indicators.items(), start=1)]


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


def comparison(result: AllocationResult, wording: ModelWords) -> JSON:
    """The report's comparison table (:func:`allocator.report.build.comparison_of`) of
    ``result`` in the model's ``wording``, in the page's columns (PAGE_COLUMNS that the table
    has): the same rows, numbers and words, each cell as :meth:`Table.value` shows it in each
    language."""
    table = comparison_of(result, wording)
    shown = [(j, c) for j, c in enumerate(table.columns) if c.key in PAGE_COLUMNS]
    columns = list(zip(*(row.values for row in table.rows), strict=True))
    cells = zip(*(_cells(columns[j], c) for j, c in shown), strict=True)
    return {"columns": [{"key": c.key, "name": words(T(c.header("zh"), c.header("en"))),
                         "kind": c.kind, "digits": c.digits} for _, c in shown],
            "rows": [{"level": row.level, "cells": list(values)}
                     for row, values in zip(table.rows, cells, strict=True)],
            "notes": [words(n) for n in table.notes]}


def _cells(values: Sequence[Any], column: Column) -> list[Any]:
    """One column of a report table (no cell of its own kind) as :meth:`Table.value` shows
    each cell: a number rounded to the column's digits, a text in both languages (see
    :func:`words`), None for an empty cell.

    >>> _cells([1234.56, None], Column("n", "数", "N", "float", 1))
    [1234.6, None]
    >>> _cells(["=x", T("合计", "Total")], Column("t", "文", "T"))
    ["'=x", {'zh': '合计', 'en': 'Total'}]
    """
    if column.kind != "text":
        return [_number(rounded(v, column.kind, column.digits)) for v in values]
    texts = {v: words(T(neutralise(text_in(v, "zh")), neutralise(text_in(v, "en"))))
             for v in dict.fromkeys(values) if v is not None}
    return [texts.get(v) if v is not None else None for v in values]


def _limited(units: list[JSON], key: str, title: T, which: T) -> tuple[list[JSON], JSON]:
    """At most MAX_BARS units, those with the largest ``|key|``, as the report's charts do."""
    if len(units) <= MAX_BARS:
        return units, words(title)
    top = sorted(units, key=lambda u: -abs(u[key] or 0))[:MAX_BARS]
    return top, {"zh": f"{title.zh}（{which.zh.format(n=MAX_BARS)}）",
                 "en": f"{title.en} ({which.en.format(n=MAX_BARS)})"}


def _units(result: AllocationResult, names: dict[str, T], table: JSON) -> list[JSON]:
    """One entry per unit (id order) with its names and the numbers of its row of ``table``
    (:func:`comparison`): what the charts draw."""
    keys = [c["key"] for c in table["columns"]]
    rows = {row["cells"][0]: dict(zip(keys, row["cells"], strict=True))
            for row in table["rows"] if row["level"] == "unit"}
    out = []
    english = {unit: name.en for unit, name in names.items()} if result.table.labels_en else {}
    for i, unit in enumerate(result.table.ids):
        row = rows[neutralise(unit)]
        label = result.table.labels[i] if result.table.labels else unit
        out.append({"id": unit, "name": {"zh": label, "en": english.get(unit) or label},
                    "posts": int(result.posts[i]), "binding": result.binding[i],
                    **{k: row.get(k) for k in ("actual", "change", "per10k_before",
                                                "per10k_after")}})
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
    everyone = T("全部单位", "all units")
    out = [{"pool": pool, "name": words(group_label(pool, result.spec) if pool else everyone),
            "value": _number(value)} for pool, value in result.lambdas.items()]
    if any(pool for pool in result.lambdas):
        out.append({"pool": None, "name": words(T("全部单位为一个池时", "all units as one pool")),
                    "value": _number(explanation.lambda_all)})
    return out


def allocation(result: AllocationResult, explanation: Explanation, template: Report,
               wording: ModelWords) -> JSON:
    """Everything the page shows for one allocation: the weights, each unit's posts and the
    bound that holds it, the comparison table, λ per pool, the charts' data and the notes.
    ``template`` is a report of the same model (any weights): its notes; ``wording`` the
    model's words."""
    table = comparison(result, wording)
    units = _units(result, wording.units, table)
    return {
        "weights": dict(result.weights),
        "units": [{"id": u["id"], "posts": u["posts"], "binding": u["binding"]} for u in units],
        "table": table,
        "lambdas": lambdas(result, explanation),
        "charts": charts(units),
        "notes": [words(n) for n in template.notes],
    }


def waterfall(report: Report, result: AllocationResult, unit_id: str) -> JSON:
    """One unit's explanation as the report's waterfall draws it: the indicator parts, the
    target, each adjustment and the allocation (in whole tenths that add up), with the unit's
    current posts and the bound that holds it."""
    explanation = report.table("explanation")
    headers = {c.key: T(c.header("zh"), c.header("en")) for c in explanation.columns}
    i = result.table.ids.index(unit_id)
    label = result.table.labels[i] if result.table.labels else unit_id
    name = report.unit_names.get(unit_id)
    english = (name.en if name is not None and result.table.labels_en else None) or label
    rule = result.binding[i]
    return {
        "id": unit_id,
        "title": {"zh": waterfall_title(f"{unit_id} {label}").zh,
                  "en": waterfall_title(f"{unit_id} {english}").en},
        "parts": [{"key": key, "name": words(headers[key]), "value": _number(value),
                   "kind": kind} for key, value, kind in waterfall_parts(report, unit_id)],
        "actual": _number(result.table.actual[i]) if result.table.actual is not None else None,
        "binding": words(binding_label(rule, result.spec)) if rule else None,
        "notes": [words(n) for n in explanation.notes],
    }


def bands(mc: MonteCarloResult, result: AllocationResult) -> JSON:
    """The Monte Carlo bands around the page's weights: per unit the 5th, 50th and 95th
    percentiles of its posts, its posts at the weights themselves, current posts and the
    verdict; at most MAX_BARS units (the widest bands)."""
    s = mc.summary
    table_ = result.table
    labels = table_.labels or table_.ids
    english = table_.labels_en or labels
    column = {key: s[key].to_numpy() for key in ("alloc_p5", "alloc_p50", "alloc_p95", "base")}
    verdict = s["verdict"].tolist() if "verdict" in s else [None] * len(s)
    units = []
    for i, unit in enumerate(s["id"].tolist()):
        p5, p50, p95 = (int(column[k][i]) for k in ("alloc_p5", "alloc_p50", "alloc_p95"))
        units.append({"id": unit, "name": {"zh": labels[i], "en": english[i] or labels[i]},
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
