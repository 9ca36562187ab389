"""The four tables of the planning-document report, built from one allocation: the comparison
with current posts, the summary, the explanation of every allocation and the inputs. Each is a
:class:`~allocator.report.model.Table` in both languages, so every format shows the same numbers.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from allocator.core.equity import coefficient_of_variation, gini
from allocator.core.explain import Explanation, explain, split_tenths
from allocator.pipeline.allocate import AllocationResult, package_versions
from allocator.report.grouping import Level, grouped_rows
from allocator.report.labels import (
    SOLVER_NAMES,
    TOTAL,
    TRANSFORM_NAMES,
    ModelWords,
    binding_label,
    group_path_label,
    model_words,
    rounding_name,
    step_name,
    subtotal_label,
)
from allocator.report.method import method_statement, overrides_text, rule_texts
from allocator.report.model import BREAK, Column, Kind, Report, Row, T, Table
from allocator.table import file_sha256


def _grouped(n: int, groups: tuple[str, ...] | None, words: ModelWords,
             unit_row: Callable[[int], Row],
             total_row: Callable[[np.ndarray, T, Level], Row]) -> tuple[Row, ...]:
    """The rows of a unit table in the one grouped layout (see :mod:`allocator.report.grouping`):
    ``unit_row(i)`` makes a unit's row, ``total_row(members, label, level)`` a subtotal or total."""
    rows = []
    for slot in grouped_rows(n, groups or None):
        if slot.level == "unit":
            rows.append(unit_row(int(slot.members[0])))
        else:
            label = subtotal_label(words.groups[slot.group]) if slot.group is not None else TOTAL
            rows.append(total_row(slot.members, label, slot.level))
    return tuple(rows)


def _ratio(num, den, scale: float = 1.0):
    return scale * num / den if den else None


def _ratios(num: np.ndarray, den, scale: float = 1.0) -> list:
    """:func:`_ratio` of arrays (``den`` an array or one number), element by element.

    >>> _ratios(np.array([1.0, 2.0, 3.0]), np.array([4.0, 0.0, 8.0]), 100)
    [25.0, None, 37.5]
    """
    dens = np.broadcast_to(den, num.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = scale * num / dens
    return [v if d else None for v, d in zip(out.tolist(), dens.tolist(), strict=True)]


def _number_kind(values: np.ndarray) -> tuple[Kind, int]:
    """Whole numbers print as ints, others with one decimal."""
    return ("int", 0) if np.all(np.mod(values, 1) == 0) else ("float", 1)


@dataclass(frozen=True, eq=False)
class _Figures:
    """Unit-level numbers every table shares (displayed targets sum exactly to the cap), and
    the model's words."""

    result: AllocationResult
    words: ModelWords
    target: np.ndarray  # displayed targets, whole tenths, sum = allocatable cap
    posts: np.ndarray
    actual: np.ndarray | None
    population: np.ndarray | None


def _figures(result: AllocationResult, words: ModelWords | None = None) -> _Figures:
    t = result.problem.target
    tenths = np.array(split_tenths(t.tolist(), int(round(10 * t.sum()))), dtype=np.float64)
    spec = result.spec
    population = result.table.indicators[spec.population] if spec.population else None
    return _Figures(result=result, words=words or model_words(spec, result.table),
                    target=tenths / 10, posts=result.posts.astype(float),
                    actual=result.table.actual, population=population)


def _unit_notes(words: ModelWords) -> list[T]:
    return [words.untranslated] if words.untranslated is not None else []


def comparison_table(fig: _Figures) -> Table:
    """Per unit: indicators, weighted share, target, allocation, actual, change, posts per
    10,000 residents before and after, distance from target and the bound that holds it.
    Built column by column over every row at once (subtotals and the total summed over their
    units in the layout of :mod:`allocator.report.grouping`)."""
    result = fig.result
    table = result.table
    spec = result.spec
    words = fig.words
    cap = result.problem.total
    cols: list[Column] = [Column("id", "代码", "Code")]
    if table.labels:
        cols.append(Column("label", "单位", "Unit"))
    if table.groups:
        cols.append(Column("group", "类别", "Group"))
    for name, values in table.indicators.items():
        kind, digits = _number_kind(values)
        ind = words.indicators[name]
        cols.append(Column(f"ind:{name}", ind.zh, ind.en, kind, digits))
    cols += [Column("share", f"加权{BREAK}份额", "Weighted share", "pct", 2),
             Column("target", f"零基{BREAK}测算数", "Zero-based target", "float", 1),
             Column("allocation", f"优化{BREAK}配置数", "Allocation", "int")]
    actual_posts = fig.actual
    has_actual = actual_posts is not None
    if actual_posts is not None:
        kind, digits = _number_kind(actual_posts)
        cols += [Column("actual", f"现有{BREAK}编制数", "Current posts", kind, digits),
                 Column("change", "增减数", "Change", kind, digits),
                 Column("change_pct", f"增减{BREAK}比例", "Change %", "pct", 1)]
    if fig.population is not None:
        if has_actual:
            cols.append(Column("per10k_before", f"调整前{BREAK}每万人{BREAK}编制数",
                               "Posts per 10,000 residents, current", "float", 1))
        cols.append(Column("per10k_after",
                           f"调整后{BREAK}每万人{BREAK}编制数" if has_actual
                           else f"每万人{BREAK}编制数",
                           "Posts per 10,000 residents, allocated" if has_actual else
                           "Posts per 10,000 residents", "float", 1))
    cols += [Column("distance", f"与测算数{BREAK}差距", "Distance from target", "float", 1),
             Column("distance_pct", f"差距{BREAK}比例", "Distance from target %", "pct", 1),
             Column("binding", f"约束{BREAK}条件", "Held by")]
    slots = grouped_rows(len(table), table.groups or None)
    units = np.array([s.members[0] for s in slots if s.level == "unit"], dtype=np.intp)
    is_unit = np.array([s.level == "unit" for s in slots])

    def rows_of(values: np.ndarray) -> np.ndarray:
        """``values`` (one per unit) on the table's rows: a unit's own value, the sum of the
        members' values on a subtotal or total row."""
        out = np.empty(len(slots), dtype=values[:0].sum().dtype)
        out[is_unit] = values[units]
        for r in np.flatnonzero(~is_unit):
            out[r] = values[slots[r].members].sum()
        return out

    posts, target = rows_of(fig.posts), rows_of(fig.target)
    by_key: dict[str, list] = {
        "share": _ratios(target, cap, 100), "target": target.tolist(),
        "allocation": posts.tolist(), "distance": (posts - target).tolist(),
        "distance_pct": _ratios(posts - target, target, 100)}
    for name, arr in table.indicators.items():
        by_key[f"ind:{name}"] = rows_of(arr).tolist()
    actual = rows_of(actual_posts) if actual_posts is not None else None
    if actual is not None:
        by_key.update(actual=actual.tolist(), change=(posts - actual).tolist(),
                      change_pct=_ratios(posts - actual, actual, 100))
    if fig.population is not None:
        residents = rows_of(fig.population)
        by_key["per10k_after"] = _ratios(posts, residents, 10_000)
        if actual is not None:
            by_key["per10k_before"] = _ratios(actual, residents, 10_000)
    held = {rule: binding_label(rule, spec) for rule in dict.fromkeys(result.binding) if rule}
    first: list = []
    label: list = []
    group: list = []
    binding: list = []
    for slot in slots:
        if slot.level == "unit":
            i = int(slot.members[0])
            first.append(table.ids[i])
            label.append(words.units[table.ids[i]])
            group.append(words.groups[table.groups[i]] if table.groups else "")
            binding.append(held.get(result.binding[i], ""))
        else:
            first.append(subtotal_label(words.groups[slot.group]) if slot.group is not None
                         else TOTAL)
            label.append("")
            group.append("")
            binding.append("")
    by_key.update(id=first, label=label, group=group, binding=binding)
    rows = tuple(Row(cells, slot.level) for cells, slot
                 in zip(zip(*(by_key[c.key] for c in cols), strict=True), slots, strict=True))

    notes = [T("零基测算数 = 加权份额 × 可分配编制数，按最大余数法保留一位小数，合计等于可分配编制数。",
               "Zero-based target = weighted share × allocatable posts, shown to one decimal by "
               "largest remainder so that the targets add up to the allocatable posts.")]
    column_notes = [("binding", T("约束条件：配置数受该约束限制而偏离统一比例λ；空白表示未受约束。",
                                  "Held by: the bound that keeps the allocation away from the "
                                  "common ratio λ; blank when no bound holds the unit.")
                     if not result.problem.constraints else
                     T("约束条件：使配置数偏离统一比例λ的单位自身限制或约束（分组总量上下限、同比例精简约束、"
                       "专项约束）；空白表示未受约束。",
                       "Held by: the unit's own bound, or the constraint (group bound, equal-cut "
                       "rule, named constraint), that keeps the allocation away from the common "
                       "ratio λ; blank when nothing holds the unit."))]
    if fig.population is not None and spec.population is not None:
        population = words.indicators[spec.population]
        column_notes.append(("per10k_after", T(f"每万人编制数按{population.zh}计算。",
                                               "Posts per 10,000 residents use "
                                               f"{population.en.lower()}.")))
    if table.labels:
        column_notes += [("label", note) for note in _unit_notes(words)]
    title = T("各单位编制配置对比", "Allocation compared with current posts") if has_actual \
        else T("各单位编制配置", "Allocation by unit")
    return Table("comparison", title, tuple(cols), rows, tuple(notes), tuple(column_notes))


def comparison_of(result: AllocationResult, words: ModelWords | None = None) -> Table:
    """The comparison table (:func:`comparison_table`) of ``result`` alone, in the model's
    ``words`` (default: :func:`~allocator.report.labels.model_words` of its model): what the
    explorer's page shows after each move.

    >>> from allocator import allocate
    >>> table = comparison_of(allocate("models/harbin_2020.toml"))   # from the repository root
    >>> table.rows[-1].level, table.value(len(table.rows) - 1, table.index("allocation"))
    ('total', 60806)
    """
    return comparison_table(_figures(result, words))


def explanation_table(fig: _Figures, explanation: Explanation) -> Table:
    """Per unit: target by indicator, then each adjustment, then the allocation. Parts are shown
    in whole tenths that add up to the displayed target and allocation exactly."""
    result = fig.result
    table = result.table
    words = fig.words
    cols: list[Column] = [Column("id", "代码", "Code")]
    if table.labels:
        cols.append(Column("label", "单位", "Unit"))
    comp_keys = list(explanation.components)
    step_keys = list(explanation.steps)
    for name in comp_keys:
        ind = words.indicators[name]
        cols.append(Column(f"from:{name}", f"{ind.zh}{BREAK}贡献", f"From {ind.en[:1].lower()}"
                           f"{ind.en[1:]}", "float", 1))
    cols.append(Column("target", f"零基{BREAK}测算数", "Zero-based target", "float", 1))
    for name in step_keys:
        label = step_name(name)
        cols.append(Column(f"step:{name}", label.zh, label.en, "float", 1))
    cols.append(Column("allocation", f"优化{BREAK}配置数", "Allocation", "int"))
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
        first = [table.ids[i]] + ([words.units[table.ids[i]]] if table.labels else [])
        return Row(tuple(first) + tuple(tenths[i] / 10))

    def total_row(idx, label, level) -> Row:
        return Row((label,) + ("",) * (lead - 1) + tuple(tenths[idx].sum(axis=0) / 10), level)

    pools = {(words.groups[k] if k in words.groups else T(k, k)) if k else T("全部", "all"): v
             for k, v in explanation.lambdas.items()}
    lam = ", ".join(f"{name.en} {v:.4f}" for name, v in pools.items())
    lam_zh = "，".join(f"{name.zh}{v:.4f}" for name, v in pools.items())
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
    column_notes = tuple(("label", note) for note in _unit_notes(words)) if table.labels else ()
    return Table("explanation", T("零基测算数构成及调整说明",
                                  "How each allocation is built: target by indicator and adjustments"),
                 tuple(cols), _grouped(len(table), table.groups, words, unit_row, total_row),
                 tuple(notes), column_notes)


def _item(label: T, value, kind: Kind = "text", digits: int = 0) -> Row:
    return Row((label, value), formats=(None, (kind, digits)))


def summary_table(fig: _Figures, explanation: Explanation) -> Table:
    """Cap, reserve, allocated, totals and change (overall and by group), units up and down,
    and the equity of posts per 10,000 residents before and after."""
    result = fig.result
    spec = result.spec
    posts = fig.posts
    words = fig.words
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
                name = words.groups[group]
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
    rows.append(_item(T("统一比例λ：全部单位为一个池时", "Common ratio λ, all units as one pool"),
                      explanation.lambda_all, "float", 4))
    for pool, lam in explanation.lambdas.items():
        rest = T("其余单位", "other units") if spec.groups else T("全部单位", "all units")
        name = words.groups.get(pool, T(pool, pool)) if pool else rest
        rows.append(_item(T(f"统一比例λ：{name.zh}", f"Common ratio λ, {name.en}"),
                          lam, "float", 4))
    notes = [T("变异系数与基尼系数按单位计算（不按人口加权），数值越小越均衡。",
               "Coefficient of variation and Gini are across units (not population-weighted); "
               "smaller means more even.")]
    return Table("summary", T("配置结果汇总", "Summary"),
                 (Column("item", "项目", "Item"), Column("value", "数值", "Value")),
                 tuple(rows), tuple(notes))


def inputs_table(result: AllocationResult, words: ModelWords | None = None) -> Table:
    """What produced the report: model, data and hashes, weights, cap, bounds, method."""
    spec = result.spec
    words = words or model_words(spec, result.table)
    model_file = Path(spec.source) if spec.source else None
    rows = [_item(T("模型名称", "Model"), words.title),
            _item(T("模型文件", "Model file"), str(model_file) if model_file else "")]
    if model_file and model_file.is_file():
        rows.append(_item(T("模型文件SHA-256", "Model file SHA-256"), file_sha256(model_file)))
    rows += [_item(T("数据文件", "Data file"), str(result.table.path)),
             _item(T("数据文件SHA-256", "Data file SHA-256"), result.table.sha256)]
    if words.data_source is not None:
        rows.append(_item(T("数据来源", "Data sources"), words.data_source))
    rows.append(_item(T("单位数", "Units"), len(result.table), "int"))
    for name, weight in result.weights.items():
        label = words.indicators[name]
        rows.append(_item(T(f"权重：{label.zh}", f"Weight: {label.en}"), weight, "float", 4))
    for name, ind in spec.indicators.items():
        if ind.transform != "linear":
            label = words.indicators[name]
            rows.append(_item(T(f"指标处理：{label.zh}", f"Transform: {label.en}"),
                              TRANSFORM_NAMES[ind.transform]))
    if not result.overrides.is_empty:
        rows.append(_item(T("本次对模型文件的调整（上列为实际使用值）",
                            "Overrides of the model file (values above are as used)"),
                          overrides_text(result.overrides, words)))
    rows += [_item(T("编制总量", "Cap"), spec.cap, "int"),
             _item(T("周转池（预留）", "Reserve pool"), spec.reserve_posts, "int"),
             _item(T("可分配编制数", "Allocatable posts"), spec.allocatable_cap, "int")]
    b = spec.bounds
    if b.floor is not None:
        rows.append(_item(T("保底下限（每单位）", "Floor (every unit)"), b.floor, "float", 0))
    if b.floor_column:
        rows.append(_item(T("保底下限", "Floor"), T("各单位另有下限（见数据文件）",
                                                    f"per unit, column {b.floor_column}")))
    if b.ceiling is not None:
        rows.append(_item(T("上限（每单位）", "Ceiling (every unit)"), b.ceiling, "float", 0))
    if b.ceiling_column:
        rows.append(_item(T("上限", "Ceiling"), T("各单位另有上限（见数据文件）",
                                                  f"per unit, column {b.ceiling_column}")))
    if b.max_cut is not None:
        rows.append(_item(T("最大减幅", "Largest cut"), 100 * b.max_cut, "pct", 1))
    if b.max_increase is not None:
        rows.append(_item(T("最大增幅", "Largest increase"), 100 * b.max_increase, "pct", 1))
    for group, total in spec.group_totals().items():
        label = words.groups.get(group) or group_path_label(group, spec)
        rows.append(_item(T(f"分组总量：{label.zh}", f"Group total: {label.en}"), total, "int"))
    for rule in rule_texts(spec, words, fixed=False):
        rows.append(_item(T("约束条件", "Rule"), rule))
    solver = SOLVER_NAMES.get(result.solver, T(result.solver, result.solver))
    version = result.solver_version.split()[-1]
    rows += [_item(T("求解器", "Solver"), T(f"{solver.zh}（版本{version}）",
                                            f"{solver.en} ({result.solver_version})")),
             _item(T("取整方法", "Rounding"), rounding_name(spec.rounding)),
             _item(T("软件版本", "Software"), f"allocator {package_versions()['allocator']}")]
    return Table("inputs", T("测算参数与数据来源", "Inputs, parameters and sources"),
                 (Column("item", "项目", "Item"), Column("value", "内容", "Value")), tuple(rows))


def build_report(result: AllocationResult, explanation: Explanation | None = None,
                 date: datetime.date | None = None, words: ModelWords | None = None) -> Report:
    """Every table of the planning-document report, in both languages, with the method
    statement (dated ``date``, default today), in the model's ``words`` (default:
    :func:`~allocator.report.labels.model_words` of its model).

    >>> from allocator import allocate
    >>> report = build_report(allocate("models/harbin_2020.toml"))   # doctest: +SKIP
    >>> [t.key for t in report.tables]                                # doctest: +SKIP
    ['comparison', 'summary', 'explanation', 'inputs']
    """
    explanation = explanation or explain(result)
    words = words or model_words(result.spec, result.table)
    fig = _figures(result, words)
    notes: tuple[T, ...] = ()
    if words.actual_note is not None and result.table.actual is not None:
        notes = (words.actual_note,)
    tables = (comparison_table(fig), summary_table(fig, explanation),
              explanation_table(fig, explanation), inputs_table(result, words))
    return Report(title=words.title, tables=tables, notes=notes,
                  method=method_statement(result, words, date or datetime.date.today()),
                  unit_names=words.units)
