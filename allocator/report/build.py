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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich import box
from rich.table import Table as RichTable

from allocator.core.equity import coefficient_of_variation, gini
from allocator.core.explain import Explanation, explain, split_tenths
from allocator.errors import InputError, did_you_mean
from allocator.pipeline.allocate import AllocationResult, package_versions
from allocator.report.model import Column, Report, Row, T, Table
from allocator.schema import ModelSpec
from allocator.table import file_sha256

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


# --- Planning-document report: one table model for every export ------------------------------

INDICATOR_NAMES = {
    "population": T("常住人口", "Population"),
    "urban_population": T("城镇人口", "Urban population"),
    "area": T("面积（平方公里）", "Area (km²)"),
    "townships": T("乡镇（街道）数", "Townships"),
    "gdp": T("地区生产总值", "GDP"),
}
GROUP_NAMES = {"district": T("市辖区", "District"), "county": T("县（市）", "County")}
RULE_NAMES = {
    "floor": T("保底下限", "floor"),
    "ceiling": T("上限", "ceiling"),
    "max_cut": T("减幅限制", "max cut"),
    "max_increase": T("增幅限制", "max increase"),
}
STEP_NAMES = {
    "scaling": T("统一比例调整(λ)", "Scaling to the cap (λ)"),
    "group_total": T("分组总量调整", "Group total"),
    "floor": T("保底下限调整", "Floor"),
    "ceiling": T("上限调整", "Ceiling"),
    "change_limit": T("增减幅度限制", "Change limit"),
    "rounding": T("取整", "Rounding"),
}
TOTAL = T("合计", "Total")


def indicator_name(name: str) -> T:
    """Display name of an indicator key (known keys translated, others as they are).

    >>> indicator_name("population"), indicator_name("hospital_beds").en
    (T(zh='常住人口', en='Population'), 'Hospital beds')
    """
    return INDICATOR_NAMES.get(name, T(name, name.replace("_", " ").capitalize()))


def group_name(group: str) -> T:
    """Display name of a group value (``district`` and ``county`` translated)."""
    return GROUP_NAMES.get(group, T(group, group))


def _subtotal_label(group: str) -> T:
    name = group_name(group)
    return T(f"{name.zh}小计", f"{name.en} subtotal")


def _grouped_rows(n: int, groups: tuple[str, ...] | None, unit_row, total_row) -> tuple[Row, ...]:
    """Unit rows grouped by group (first-seen order in id order), each group followed by its
    subtotal, then the total row. ``unit_row(i)`` and ``total_row(indices, label, level)``
    make the rows."""
    rows: list[Row] = []
    if groups:
        for group in dict.fromkeys(groups):
            members = np.array([i for i in range(n) if groups[i] == group], dtype=int)
            rows.extend(unit_row(i) for i in members)
            rows.append(total_row(members, _subtotal_label(group), "subtotal"))
    else:
        rows.extend(unit_row(i) for i in range(n))
    rows.append(total_row(np.arange(n), TOTAL, "total"))
    return tuple(rows)


def _ratio(num, den, scale: float = 1.0):
    return scale * num / den if den else None


def _number_kind(values: np.ndarray) -> tuple[str, int]:
    """Whole numbers print as ints, others with one decimal."""
    return ("int", 0) if np.all(np.mod(values, 1) == 0) else ("float", 1)


@dataclass(frozen=True)
class _Figures:
    """Unit-level numbers every table shares (displayed targets sum exactly to the cap)."""

    result: AllocationResult
    target: np.ndarray  # displayed targets, whole tenths, sum = allocatable cap
    posts: np.ndarray
    actual: np.ndarray | None
    population: np.ndarray | None


def _figures(result: AllocationResult) -> _Figures:
    t = result.problem.target
    tenths = np.array(split_tenths(t, int(round(10 * t.sum()))), dtype=float)
    spec = result.spec
    population = result.table.indicators[spec.population] if spec.population else None
    return _Figures(result=result, target=tenths / 10, posts=result.posts.astype(float),
                    actual=result.table.actual, population=population)


def comparison_table(fig: _Figures) -> Table:
    """Per unit: indicators, weighted share, target, allocation, actual, change, posts per
    10,000 residents before and after, distance from target and the bound that holds it."""
    result = fig.result
    table = result.table
    spec = result.spec
    cap = result.problem.total
    cols: list[Column] = [Column("id", "代码", "Code")]
    if table.labels:
        cols.append(Column("label", "单位", "Unit"))
    if table.groups:
        cols.append(Column("group", "类别", "Type"))
    for name, values in table.indicators.items():
        kind, digits = _number_kind(values)
        ind = indicator_name(name)
        cols.append(Column(f"ind:{name}", ind.zh, ind.en, kind, digits))
    cols += [Column("share", "加权份额", "Weighted share", "pct", 2),
             Column("target", "零基测算数", "Zero-based target", "float", 1),
             Column("allocation", "优化配置数", "Allocation", "int")]
    has_actual = fig.actual is not None
    if has_actual:
        kind, digits = _number_kind(fig.actual)
        cols += [Column("actual", "现有编制数", "Current posts", kind, digits),
                 Column("change", "增减数", "Change", kind, digits),
                 Column("change_pct", "增减比例", "Change %", "pct", 1)]
    if fig.population is not None:
        if has_actual:
            cols.append(Column("per10k_before", "调整前每万人编制数",
                               "Posts per 10,000 residents, current", "float", 1))
        cols.append(Column("per10k_after", "调整后每万人编制数" if has_actual else "每万人编制数",
                           "Posts per 10,000 residents, allocated" if has_actual else
                           "Posts per 10,000 residents", "float", 1))
    cols += [Column("distance", "与测算数差距", "Distance from target", "float", 1),
             Column("distance_pct", "差距比例", "Distance from target %", "pct", 1),
             Column("binding", "约束条件", "Held by")]
    keys = [c.key for c in cols]

    def cells(idx, first, level) -> Row:
        posts = fig.posts[idx].sum()
        target = fig.target[idx].sum()
        values = {"id": first, "label": "", "group": "",
                  "share": _ratio(target, cap, 100), "target": target, "allocation": posts,
                  "distance": posts - target, "distance_pct": _ratio(posts - target, target, 100),
                  "binding": ""}
        for name, arr in table.indicators.items():
            values[f"ind:{name}"] = arr[idx].sum()
        if has_actual:
            actual = fig.actual[idx].sum()
            values.update(actual=actual, change=posts - actual,
                          change_pct=_ratio(posts - actual, actual, 100))
        if fig.population is not None:
            pop = fig.population[idx].sum()
            values["per10k_after"] = _ratio(posts, pop, 10_000)
            if has_actual:
                values["per10k_before"] = _ratio(fig.actual[idx].sum(), pop, 10_000)
        return Row(tuple(values[k] for k in keys), level)

    def unit_row(i: int) -> Row:
        row = cells(np.array([i]), table.ids[i], "unit")
        extra = {"label": table.labels[i] if table.labels else "",
                 "group": group_name(table.groups[i]) if table.groups else "",
                 "binding": RULE_NAMES.get(result.binding[i], result.binding[i])}
        return Row(tuple(extra.get(k, v) for k, v in zip(keys, row.values, strict=True)))

    def total_row(idx, label, level) -> Row:
        return cells(idx, label, level)

    notes = [T("零基测算数 = 加权份额 × 可分配编制数，按最大余数法保留一位小数，合计等于可分配编制数。",
               "Zero-based target = weighted share × allocatable posts, shown to one decimal by "
               "largest remainder so that the targets add up to the allocatable posts."),
             T("约束条件：配置数受该约束限制而偏离统一比例λ；空白表示未受约束。",
               "Held by: the bound that keeps the allocation away from the common ratio λ; "
               "blank when no bound holds the unit.")]
    if fig.population is not None:
        column = spec.indicators[spec.population].column
        notes.append(T(f"每万人编制数按{indicator_name(spec.population).zh}（{column}）计算。",
                       f"Posts per 10,000 residents use {indicator_name(spec.population).en} "
                       f"({column})."))
    return Table("comparison", T("各单位编制配置对比", "Allocation compared with current posts"),
                 tuple(cols), _grouped_rows(len(table), table.groups, unit_row, total_row), tuple(notes))


def explanation_table(fig: _Figures, explanation: Explanation) -> Table:
    """Per unit: target by indicator, then each adjustment, then the allocation. Parts are shown
    in whole tenths that add up to the displayed target and allocation exactly."""
    result = fig.result
    table = result.table
    cols: list[Column] = [Column("id", "代码", "Code")]
    if table.labels:
        cols.append(Column("label", "单位", "Unit"))
    comp_keys = list(explanation.components)
    step_keys = list(explanation.steps)
    for name in comp_keys:
        ind = indicator_name(name)
        cols.append(Column(f"from:{name}", f"{ind.zh}贡献", f"From {ind.en.lower()}", "float", 1))
    cols.append(Column("target", "零基测算数", "Zero-based target", "float", 1))
    for name in step_keys:
        label = STEP_NAMES.get(name, T(name, name.replace("_", " ").capitalize()))
        cols.append(Column(f"step:{name}", label.zh, label.en, "float", 1))
    cols.append(Column("allocation", "优化配置数", "Allocation", "int"))
    n = len(table)
    tenths = np.zeros((n, len(comp_keys) + 1 + len(step_keys) + 1), dtype=np.int64)
    for i in range(n):
        target10 = int(round(fig.target[i] * 10))
        comps = split_tenths([explanation.components[k][i] for k in comp_keys], target10)
        steps = split_tenths([explanation.steps[k][i] for k in step_keys],
                             int(fig.posts[i]) * 10 - target10)
        tenths[i] = [*comps, target10, *steps, int(fig.posts[i]) * 10]
    lead = len(cols) - tenths.shape[1]

    def unit_row(i: int) -> Row:
        first = [table.ids[i]] + ([table.labels[i]] if table.labels else [])
        return Row(tuple(first) + tuple(tenths[i] / 10))

    def total_row(idx, label, level) -> Row:
        return Row((label,) + ("",) * (lead - 1) + tuple(tenths[idx].sum(axis=0) / 10), level)

    lam = ", ".join(f"{group_name(k).en if k else 'all'} {v:.4f}"
                    for k, v in explanation.lambdas.items())
    lam_zh = "，".join(f"{group_name(k).zh if k else '全部'}{v:.4f}"
                      for k, v in explanation.lambdas.items())
    notes = [T("各项之和等于优化配置数：指标贡献之和为零基测算数；统一比例调整 = (λ全局 − 1) × 测算数"
               f"（λ全局 = {explanation.lambda_all:.4f}）"
               + ("；分组总量调整 = (λ组 − λ全局) × 测算数（λ组：" + lam_zh + "）"
                  if "group_total" in explanation.steps else "")
               + "；约束调整使受约束单位达到其上下限；取整使配置数为整数。",
               "The parts add up to the allocation: the indicator parts make the zero-based target; "
               f"scaling = (λ all − 1) × target (λ all = {explanation.lambda_all:.4f})"
               + ("; group total = (λ group − λ all) × target (λ group: " + lam + ")"
                  if "group_total" in explanation.steps else "")
               + "; a bound moves a unit it holds to that bound; rounding makes whole posts.")]
    return Table("explanation", T("零基测算数构成及调整说明",
                                  "How each allocation is built: target by indicator and adjustments"),
                 tuple(cols), _grouped_rows(len(table), table.groups, unit_row, total_row), tuple(notes))


def _item(label: T, value, kind: str = "text", digits: int = 0) -> Row:
    return Row((label, value), formats=(None, (kind, digits)))


def summary_table(fig: _Figures, explanation: Explanation) -> Table:
    """Cap, reserve, allocated, totals and change (overall and by group), units up and down,
    and the equity of posts per 10,000 residents before and after."""
    result = fig.result
    spec = result.spec
    posts = fig.posts
    rows = [_item(T("编制总量", "Cap"), spec.cap, "int"),
            _item(T("周转池（预留）", "Reserve pool"), spec.reserve_posts, "int"),
            _item(T("已分配编制数", "Allocated"), posts.sum(), "int")]
    if fig.actual is not None:
        actual = fig.actual
        kind, digits = _number_kind(actual)
        change = posts - actual
        rows += [_item(T("现有编制数合计", "Total current posts"), actual.sum(), kind, digits),
                 _item(T("增减数合计", "Total change"), change.sum(), kind, digits),
                 _item(T("增减比例", "Total change %"), _ratio(change.sum(), actual.sum(), 100),
                       "pct", 1)]
        if result.table.groups:
            groups = np.array(result.table.groups)
            for group in dict.fromkeys(result.table.groups):
                m = groups == group
                name = group_name(group)
                rows.append(_item(T(f"{name.zh}增减比例", f"Change %, {name.en}"),
                                  _ratio(change[m].sum(), actual[m].sum(), 100), "pct", 1))
        rows += [_item(T("增加编制的单位数", "Units up"), int(np.sum(change > 0)), "int"),
                 _item(T("减少编制的单位数", "Units down"), int(np.sum(change < 0)), "int"),
                 _item(T("编制不变的单位数", "Units unchanged"), int(np.sum(change == 0)), "int")]
    if fig.population is not None:
        lived = fig.population > 0  # units without residents have no per-resident figure
        after = posts[lived] / fig.population[lived] * 10_000
        stages = [("调整后", "allocated", after)]
        if fig.actual is not None:
            stages.insert(0, ("调整前", "current",
                              fig.actual[lived] / fig.population[lived] * 10_000))
        for zh, en, values in stages:
            rows.append(_item(T(f"每万人编制数变异系数（{zh}）",
                                f"Coefficient of variation of posts per 10,000 residents, {en}"),
                              coefficient_of_variation(values), "float", 3))
        for zh, en, values in stages:
            rows.append(_item(T(f"每万人编制数基尼系数（{zh}）",
                                f"Gini of posts per 10,000 residents, {en}"),
                              gini(values), "float", 3))
    rows.append(_item(T("统一比例λ（全部单位为一个池时）", "Common ratio λ, all units as one pool"),
                      explanation.lambda_all, "float", 4))
    for pool, lam in explanation.lambdas.items():
        name = group_name(pool) if pool else T("其余单位", "other units")
        rows.append(_item(T(f"统一比例λ（{name.zh}）", f"Common ratio λ, {name.en}"),
                          lam, "float", 4))
    notes = [T("变异系数与基尼系数按单位计算（不按人口加权），数值越小越均衡。",
               "Coefficient of variation and Gini are across units (not population-weighted); "
               "smaller means more even.")]
    return Table("summary", T("配置结果汇总", "Summary"),
                 (Column("item", "项目", "Item"), Column("value", "数值", "Value")),
                 tuple(rows), tuple(notes))


METHOD = T("零基测算：各指标按权重计算份额，乘以可分配编制数得零基测算数；公平配置（“一把尺子”）："
           "按字典序最小化最大相对偏差 |配置数/测算数 − 1|，未受约束的单位配置数与测算数之比相同（λ）；"
           "整数化：{rounding}，各组及合计精确等于总量。",
           "Zero-based targets: weighted indicator shares × allocatable posts. Fair allocation "
           "(one ruler): lexicographic min-max of |allocation/target − 1|; every unit no bound "
           "holds gets the same ratio λ. Whole posts: {rounding}, each group and the whole adding "
           "up exactly.")


def inputs_table(result: AllocationResult) -> Table:
    """What produced the report: model, data and hashes, weights, cap, bounds, method."""
    spec = result.spec
    model_file = Path(spec.source) if spec.source else None
    rows = [_item(T("模型名称", "Model"), spec.name),
            _item(T("模型文件", "Model file"), str(model_file) if model_file else "")]
    if model_file and model_file.is_file():
        rows.append(_item(T("模型文件SHA-256", "Model file SHA-256"), file_sha256(model_file)))
    rows += [_item(T("数据文件", "Data file"), str(result.table.path)),
             _item(T("数据文件SHA-256", "Data file SHA-256"), result.table.sha256),
             _item(T("单位数", "Units"), len(result.table), "int")]
    for name, weight in result.weights.items():
        ind = spec.indicators[name]
        label = indicator_name(name)
        rows.append(_item(T(f"权重：{label.zh}（{ind.column}，{ind.transform}）",
                            f"Weight: {label.en} ({ind.column}, {ind.transform})"),
                          weight, "float", 4))
    if not result.overrides.is_empty:
        given = "; ".join(f"{k} {v}" for k, v in result.overrides.as_dict().items())
        rows.append(_item(T("对模型文件的覆盖（上列为实际使用值）",
                            "Overrides of the model file (values above are as used)"), given))
    rows += [_item(T("编制总量", "Cap"), spec.cap, "int"),
             _item(T("周转池（预留）", "Reserve pool"), spec.reserve_posts, "int"),
             _item(T("可分配编制数", "Allocatable posts"), spec.allocatable_cap, "int")]
    b = spec.bounds
    if b.floor is not None:
        rows.append(_item(T("保底下限（每单位）", "Floor (every unit)"), b.floor, "float", 0))
    if b.floor_column:
        rows.append(_item(T("保底下限列", "Floor column"), b.floor_column))
    if b.ceiling is not None:
        rows.append(_item(T("上限（每单位）", "Ceiling (every unit)"), b.ceiling, "float", 0))
    if b.ceiling_column:
        rows.append(_item(T("上限列", "Ceiling column"), b.ceiling_column))
    if b.max_cut is not None:
        rows.append(_item(T("最大减幅", "Largest cut"), 100 * b.max_cut, "pct", 1))
    if b.max_increase is not None:
        rows.append(_item(T("最大增幅", "Largest increase"), 100 * b.max_increase, "pct", 1))
    for group, g in spec.groups.items():
        name = group_name(group)
        rows.append(_item(T(f"分组总量：{name.zh}", f"Group total: {name.en}"), g.total, "int"))
    if spec.actual:
        rows.append(_item(T("现有编制数列", "Current posts column"), spec.actual))
    rows += [_item(T("求解器", "Solver"), f"{result.solver} ({result.solver_version})"),
             _item(T("取整方法", "Rounding"), spec.rounding),
             _item(T("方法", "Method"), T(METHOD.zh.format(rounding=spec.rounding),
                                          METHOD.en.format(rounding=spec.rounding))),
             _item(T("软件版本", "Software"), f"allocator {package_versions()['allocator']}")]
    return Table("inputs", T("测算参数与数据来源", "Inputs, parameters and method"),
                 (Column("item", "项目", "Item"), Column("value", "内容", "Value")), tuple(rows))


def _names_en(result: AllocationResult) -> dict[str, str]:
    """Unit id -> English name from the model's ``label_en`` column (the id where none)."""
    table = result.table
    english = table.labels_en or table.ids
    return {i: name or i for i, name in zip(table.ids, english, strict=True)}


def build_report(result: AllocationResult, explanation: Explanation | None = None) -> Report:
    """Every table of the planning-document report, in both languages.

    >>> from allocator import allocate
    >>> report = build_report(allocate("models/harbin_2020.toml"))   # doctest: +SKIP
    >>> [t.key for t in report.tables]                                # doctest: +SKIP
    ['comparison', 'summary', 'explanation', 'inputs']
    """
    explanation = explanation or explain(result)
    fig = _figures(result)
    spec = result.spec
    notes = ()
    if spec.actual_note:
        notes = (T(f"现有编制数说明：{spec.actual_note}", spec.actual_note),)
    tables = (comparison_table(fig), summary_table(fig, explanation),
              explanation_table(fig, explanation), inputs_table(result))
    return Report(title=T(f"编制配置测算报告：{spec.name}", spec.name), tables=tables,
                  notes=notes, names_en=_names_en(result))


# --- Writing a report folder ----------------------------------------------------------------

CHART_FILES = ("png", "svg")
TABLE_FILES = ("csv", "xlsx", "docx", "md", "tex", "html")
REPORT_FORMATS = TABLE_FILES + CHART_FILES


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``"csv,xlsx"`` -> ``("csv", "xlsx")``; empty means every format.

    >>> parse_formats("xlsx, CSV"), len(parse_formats(None))
    (('xlsx', 'csv'), 8)
    """
    if not text:
        return REPORT_FORMATS
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    for fmt in formats:
        if fmt not in REPORT_FORMATS:
            raise InputError(f"--format {fmt}: unknown format{did_you_mean(fmt, REPORT_FORMATS)}; "
                             f"use any of {','.join(REPORT_FORMATS)}")
    return formats or REPORT_FORMATS


@dataclass(frozen=True)
class ReportOptions:
    """What to write: formats, language, the unit to explain, and weight overrides."""

    formats: tuple[str, ...] = REPORT_FORMATS
    lang: str = "zh"
    explain: str | None = None
    weights: dict[str, float] | None = None


@dataclass(frozen=True)
class ReportOutput:
    """What :func:`write_report` wrote and the objects it wrote them from."""

    out_dir: Path
    files: tuple[str, ...]
    result: AllocationResult
    report: Report
    explained: str | None = None
    notes: tuple[str, ...] = ()


def write_report(model: AllocationResult | ModelSpec | str | Path, out_dir: str | Path,
                 options: ReportOptions = ReportOptions(), *, force: bool = False) -> ReportOutput:
    """Allocate ``model`` (a model file, a :class:`ModelSpec` or an :class:`AllocationResult`)
    and write the report folder in one atomic step: the tables in every requested format and
    language, the charts, and ``allocation.csv`` and ``run.json`` for provenance.

    >>> import tempfile, allocator
    >>> model = Path(allocator.__file__).parents[1] / "models" / "harbin_2020.toml"
    >>> out = write_report(model, Path(tempfile.mkdtemp()) / "report",
    ...                    ReportOptions(formats=("md",), lang="en"))
    >>> out.files
    ('report.md', 'allocation.csv', 'run.json')
    """
    import json
    import warnings

    from allocator.outputs.folders import write_files
    from allocator.outputs.runfiles import allocation_csv, run_record
    from allocator.pipeline.allocate import allocate
    from allocator.report.charts import FontFallbackWarning, render_charts
    from allocator.report.formats import report_files

    if options.lang not in ("zh", "en"):
        raise InputError(f"--lang {options.lang}: use zh or en")
    formats = tuple(options.formats)
    for fmt in formats:
        if fmt not in REPORT_FORMATS:
            raise InputError(f"--format {fmt}: unknown format{did_you_mean(fmt, REPORT_FORMATS)}")
    if isinstance(model, AllocationResult):
        result = model
        if options.weights:
            raise InputError("weights: give weight overrides with the model, not with a result")
    else:
        result = allocate(model, weights=options.weights or None)
    unit = None
    if options.explain is not None:
        from allocator.pipeline.allocate import unit_index

        unit = result.table.ids[unit_index(result, options.explain)]
    report = build_report(result)
    chart_formats = tuple(f for f in formats if f in CHART_FILES)
    notes: tuple[str, ...] = ()
    charts_inline: dict[str, bytes] = {}
    files = {}
    if chart_formats or "html" in formats:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FontFallbackWarning)
            charts = render_charts(report, options.lang, waterfall=unit,
                                   formats=chart_formats)
        notes, charts_inline = charts.notes, charts.inline
        files.update({name: (lambda p, b=data: p.write_bytes(b))
                      for name, data in charts.files.items()})
    files = {**report_files(report, options.lang,
                            tuple(f for f in formats if f in TABLE_FILES), charts_inline, notes),
             **files}
    csv_text = allocation_csv(result)
    record = json.dumps(run_record(result), indent=2, ensure_ascii=False) + "\n"
    files["allocation.csv"] = lambda p: p.write_text(csv_text, encoding="utf-8", newline="")
    files["run.json"] = lambda p: p.write_text(record, encoding="utf-8")
    written = write_files(Path(out_dir), files, force=force)
    return ReportOutput(out_dir=written, files=tuple(files), result=result, report=report,
                        explained=unit, notes=notes)


def rich_table(table: Table, lang: str) -> RichTable:
    """Any report table for the terminal, with the same text as every export."""
    from allocator.report.model import NUMERIC

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
