"""The method statement (测算说明) of a report: a few paragraphs, in each language, generated from
the model as run: indicators and weights, transforms, cap and reserve, bounds, group totals, the
one-ruler rule, the rounding method and what it guarantees, data sources and date. Ready to paste
into a planning document.

>>> percent(0.45), percent(0.125), percent(1 / 3)
('45%', '12.5%', '33.3%')
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from allocator.core.constraints import number
from allocator.overrides import Overrides
from allocator.pipeline.allocate import AllocationResult
from allocator.report.labels import (
    GROUP_NAMES,
    SOLVER_NAMES,
    TRANSFORM_NAMES,
    ModelWords,
    constraint_label,
    group_path_label,
    rounding_guarantee,
    rounding_name,
)
from allocator.report.model import T
from allocator.schema import GroupSpec, ModelSpec

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
MAX_LISTED_GROUPS = 6  # more groups are counted, not listed


def percent(share: float) -> str:
    """A share as a percentage with at most one decimal, no trailing zero."""
    text = f"{100 * share:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def date_text(day: datetime.date) -> T:
    """A date in both languages.

    >>> date_text(datetime.date(2025, 3, 7))
    T(zh='2025年3月7日', en='7 March 2025')
    """
    return T(f"{day.year}年{day.month}月{day.day}日", f"{day.day} {MONTHS[day.month - 1]} {day.year}")


def _sentence(text: str, lang: str) -> str:
    text = text.strip().rstrip("。.;；")
    return text + ("。" if lang == "zh" else ".")


def _units(result: AllocationResult, words: ModelWords) -> T:
    n = len(result.table)
    groups = result.table.groups
    if not groups:
        return T(f"{n:,}个单位", f"{n:,} units")
    counts = {g: groups.count(g) for g in dict.fromkeys(groups)}
    if len(counts) > MAX_LISTED_GROUPS:
        return T(f"{n:,}个单位（分属{len(counts)}个分组）", f"{n:,} units in {len(counts)} groups")
    zh = "、".join(f"{words.groups[g].zh}{c}个" for g, c in counts.items())
    en = ", ".join(f"{c} {words.groups[g].en.lower()}" for g, c in counts.items())
    return T(f"{n:,}个单位（其中{zh}）", f"{n:,} units ({en})")


def _bounds(result: AllocationResult, words: ModelWords) -> tuple[list[str], list[str]]:
    spec = result.spec
    b = spec.bounds
    zh: list[str] = []
    en: list[str] = []
    if b.floor is not None:
        zh.append(f"每个单位不少于{b.floor:,.0f}名")
        en.append(f"every unit gets at least {b.floor:,.0f} posts")
    if b.floor_column:
        zh.append("部分单位另有各自的下限")
        en.append("some units have floors of their own")
    if b.ceiling is not None:
        zh.append(f"每个单位不多于{b.ceiling:,.0f}名")
        en.append(f"no unit gets more than {b.ceiling:,.0f} posts")
    if b.ceiling_column:
        zh.append("部分单位另有各自的上限")
        en.append("some units have ceilings of their own")
    limits = [(share, zh_word, en_word) for share, zh_word, en_word in
              ((b.max_cut, "减少", "loses"), (b.max_increase, "增加", "gains")) if share is not None]
    if limits:
        zh.append("较现有编制数" + "、".join(f"{w}不超过{percent(s)}" for s, w, _ in limits))
        en.append("no unit " + " or ".join(f"{w} more than {percent(s)}" for s, _, w in limits)
                  + " of its current posts")
    for rule in rule_texts(spec, words):
        zh.append(rule.zh)
        en.append(rule.en)
    return zh, en


def rule_texts(spec: ModelSpec, words: ModelWords, *, fixed: bool = True) -> list[T]:
    """The model's group totals, density standards and general constraints in words, one
    :class:`T` each: the fixed totals together (unless ``fixed`` is False), then each bounded
    group, the density standard, each equal-cut rule and each named constraint.

    >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 100,
    ...     "group": "g", "actual": "now", "groups": {"a": {"share": 0.4}, "b": {"min": 10,
    ...     "max_cut": 0.3}}, "equal_cut": [{"groups": ["a", "b"], "tolerance": 0.05}],
    ...     "indicators": {"p": {"column": "p", "weight": 1}}})
    >>> w = ModelWords(T("", ""), None, None, {}, {}, {"u1": T("一", "One")})
    >>> for text in rule_texts(spec, w):
    ...     print(text.en)
    group totals: a 40 posts (40% of the allocatable posts)
    b together: at least 10 posts, at most 30% below their current posts
    the cuts of a and b differ by at most 5 percentage points
    """
    out: list[T] = []
    totals = spec.group_totals() if fixed else {}
    if totals:
        names = {g: group_path_label(g, spec) for g in totals}
        shares = {g: percent(share) for g in totals if (share := spec.groups[g].share)}
        out.append(T("，".join(f"{names[g].zh}合计{t:,}名" + (
                         f"（可分配编制的{shares[g]}）" if g in shares else "")
                         for g, t in totals.items()),
                     "group totals: " + ", ".join(f"{_lower(names[g].en)} {t:,} posts" + (
                         f" ({shares[g]} of the allocatable posts)" if g in shares else "")
                         for g, t in totals.items())))
    for g, group in spec.groups.items():
        if group.bounded:
            name = group_path_label(g, spec)
            limits = _group_limits(group)
            out.append(T(f"{name.zh}合计{limits.zh}", f"{_lower(name.en)} together: {limits.en}"))
    b = spec.bounds
    if spec.population is not None and (b.min_per_10k is not None or b.max_per_10k is not None):
        people = words.indicators.get(spec.population, T(spec.population, spec.population))
        zh = "、".join(f"{word}{number(v)}名" for word, v in (("不少于", b.min_per_10k),
                                                              ("不多于", b.max_per_10k))
                      if v is not None)
        en = " and ".join(f"{word} {number(v)}" for word, v in (("at least", b.min_per_10k),
                                                               ("at most", b.max_per_10k))
                          if v is not None)
        out.append(T(f"每个单位按{people.zh}计每万人编制数{zh}",
                     f"every unit gets {en} posts per 10,000 of {people.en.lower()}"))
    for rule in spec.equal_cut:
        names = {g: group_path_label(g, spec) for g in rule.groups}
        points = f"{100 * rule.tolerance:g}"
        out.append(T("、".join(names[g].zh for g in rule.groups) + f"的精简比例相差不超过{points}个百分点",
                     "the cuts of " + " and ".join(_lower(names[g].en) for g in rule.groups)
                     + f" differ by at most {points} percentage points"))
    for c in spec.constraints:
        unit = {i: words.units.get(i, T(i, i)) for i in c.terms}
        zh_sum = _linear(c.terms, c.min, c.max, {i: t.zh for i, t in unit.items()})
        en_sum = _linear(c.terms, c.min, c.max, {i: t.en for i, t in unit.items()})
        name = constraint_label(c.name, spec, quote=True)
        out.append(T(f"{name.zh}：{zh_sum}", f"{name.en}: {en_sum}"))
    return out


def _lower(name: str) -> str:
    """A known English group name in running text (``Counties`` -> ``counties``); other names
    (from the data) as they are."""
    return name.lower() if name in {t.en for t in GROUP_NAMES.values()} else name


def _group_limits(group: GroupSpec) -> T:
    """A bounded group total's limits in words.

    >>> _group_limits(GroupSpec(min=100, max_cut=0.3)).en
    'at least 100 posts, at most 30% below their current posts'
    """
    limits = ((group.min, number, "不少于{}名", "at least {} posts"),
              (group.max, number, "不多于{}名", "at most {} posts"),
              (group.max_cut, percent, "较现有编制减少不超过{}", "at most {} below their current posts"),
              (group.max_increase, percent, "较现有编制增加不超过{}",
               "at most {} above their current posts"))
    given = [(shown(value), zh, en) for value, shown, zh, en in limits if value is not None]
    return T("，".join(zh.format(text) for text, zh, _ in given),
             ", ".join(en.format(text) for text, _, en in given))


def _linear(terms: Mapping[str, float], low: float | None, high: float | None,
            names: Mapping[str, str]) -> str:
    """A named constraint as a formula of unit names.

    >>> _linear({"a": 1, "b": -2}, 10, None, {"a": "North", "b": "South"})
    'North − 2 × South ≥ 10'
    """
    parts = []
    for k, (unit, coef) in enumerate(terms.items()):
        size = abs(coef)
        term = names[unit] if size == 1 else f"{size:g} × {names[unit]}"
        parts.append(("− " if coef < 0 else "") + term if k == 0 else
                     ("− " if coef < 0 else "+ ") + term)
    total = " ".join(parts)
    if low is not None and high is not None:
        return f"{number(low)} ≤ {total} ≤ {number(high)}"
    return f"{total} ≥ {number(low)}" if low is not None else f"{total} ≤ {number(high or 0)}"


def method_statement(result: AllocationResult, words: ModelWords, day: datetime.date
                     ) -> tuple[T, ...]:
    """The method statement: one :class:`T` per paragraph."""
    spec = result.spec
    units = _units(result, words)
    reserve = spec.reserve_posts
    first = T(f"本次测算对{units.zh}的编制总量进行零基测算。编制总量{spec.cap:,}名，"
              + (f"预留周转池{reserve:,}名，" if reserve else "不预留周转池，")
              + f"可分配编制{spec.allocatable_cap:,}名。",
              f"This calculation sets zero-based staffing totals for {units.en}. The cap is "
              f"{spec.cap:,} posts; "
              + (f"{reserve:,} are held back as a reserve pool, so " if reserve else
                 "no reserve pool is held back, so ")
              + f"{spec.allocatable_cap:,} posts are allocated.")
    weights = result.weights
    names = words.indicators
    damped = [n for n, ind in spec.indicators.items() if ind.transform != "linear"]
    second = T("测算指标及权重：" + "，".join(f"{names[n].zh}{percent(w)}" for n, w in weights.items())
               + "。各单位的零基测算数等于其各项指标占全部单位合计的比重按权重加权求和，"
                 "再乘以可分配编制数"
               + "".join(f"；其中{names[n].zh}{TRANSFORM_NAMES[spec.indicators[n].transform].zh}"
                         "后计算比重，以减弱差异过大的影响" for n in damped) + "。",
               "Indicators and weights: " + ", ".join(f"{names[n].en.lower()} {percent(w)}"
                                                        for n, w in weights.items())
               + ". Each unit's zero-based target is its weighted share of the indicators, summed "
                 "over the indicators, times the allocatable posts"
               + "".join(f"; {names[n].en.lower()} is taken as its "
                         f"{TRANSFORM_NAMES[spec.indicators[n].transform].en} first, to damp "
                         "large differences" for n in damped) + ".")
    zh, en = _bounds(result, words)
    third = T("约束条件：" + "；".join(zh) + "。" if zh else "除总量外不设其他约束条件。",
              "Bounds: " + "; ".join(en) + "." if en else "No bounds apart from the cap.")
    fourth = T("配置规则：坚持“一把尺子量到底”，在满足上述约束的前提下，依次使各单位优化配置数与零基测算数"
               "的最大相对偏差最小；凡未受约束的单位，优化配置数与零基测算数之比相同（统一比例λ）。",
               "Allocation rule (one ruler for all): within the bounds, the largest relative "
               "deviation of allocation from target is made as small as possible, then the next "
               "largest, and so on; every unit that no bound holds gets the same ratio of "
               "allocation to target (the common ratio λ).")
    if result.problem.constraints:
        fourth = T(fourth.zh + "分组总量上下限、同比例精简约束或专项约束起作用时，受其约束的单位另按"
                   "共同比例配置，结果说明中注明所受约束。",
                   fourth.en + " Where a group bound, an equal-cut rule or a named constraint "
                   "binds, the units it holds share a ratio of their own, and the explanation "
                   "names the constraint.")
    method = rounding_name(spec.rounding)
    promise = rounding_guarantee(spec.rounding)
    solver = SOLVER_NAMES.get(result.solver, T(result.solver, result.solver))
    kept = T("", "")
    if result.problem.constraints:
        kept = T("取整结果满足上述全部约束（取整后如有约束不满足，以调整最少编制的方式修正）；",
                 " The whole posts meet every rule above (where rounding alone would break one, "
                 "as few posts as possible are moved).")
    fifth = T(f"取整方法：采用{method.zh}将配置结果取整为整数，{promise.zh}；{kept.zh}各分组及合计恰好"
              f"等于总量。计算使用{solver.zh}。",
              f"Whole posts: the fair allocation is rounded by {method.en}: {promise.en}; each "
              f"group and the whole add up exactly.{kept.en} Computed with the {solver.en}.")
    day_text = date_text(day)
    last = T(("数据来源：" + _sentence(words.data_source.zh, "zh") if words.data_source else "")
             + f"测算日期：{day_text.zh}。",
             ("Data sources: " + _sentence(words.data_source.en, "en") + " "
              if words.data_source else "") + f"Date: {day_text.en}.")
    return first, second, third, fourth, fifth, last


def overrides_text(overrides: Overrides, words: ModelWords) -> T:
    """What a run changed in its model file, in words (no keys, no dicts).

    >>> from allocator.report.labels import indicator_label
    >>> w = ModelWords(T("", ""), None, None, {"area": indicator_label("area")}, {}, {})
    >>> overrides_text(Overrides(weights={"area": 0.5}, rounding="webster"), w).zh
    '权重：面积（平方公里）0.5；取整方法：圣拉古法（Webster/Sainte-Laguë）'
    """
    zh: list[str] = []
    en: list[str] = []
    if overrides.weights:
        names = {k: words.indicators.get(k, T(k, k)) for k in overrides.weights}
        zh.append("权重：" + "，".join(f"{names[k].zh}{v:g}" for k, v in overrides.weights.items()))
        en.append("weights: " + ", ".join(f"{names[k].en} {v:g}"
                                          for k, v in overrides.weights.items()))
    if overrides.cap is not None:
        zh.append(f"编制总量：{overrides.cap:,}")
        en.append(f"cap: {overrides.cap:,}")
    if overrides.solver is not None:
        solver = SOLVER_NAMES.get(str(overrides.solver), T(str(overrides.solver),
                                                           str(overrides.solver)))
        zh.append(f"求解器：{solver.zh}")
        en.append(f"solver: {solver.en}")
    if overrides.rounding is not None:
        name = rounding_name(str(overrides.rounding))
        zh.append(f"取整方法：{name.zh}")
        en.append(f"rounding: {name.en}")
    for group, total in (overrides.group_totals or {}).items():
        label = words.groups.get(group, T(group, group))
        zh.append(f"分组总量：{label.zh}{total:,}")
        en.append(f"group total: {label.en} {total:,}")
    return T("；".join(zh), "; ".join(en))
