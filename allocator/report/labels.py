"""The words of the report in Chinese and English: indicators, groups, bounds, adjustment steps,
the total row and the method statement. Every table and chart takes its words from here.

>>> indicator_name("population"), indicator_name("hospital_beds").en
(T(zh='常住人口', en='Population'), 'Hospital beds')
>>> subtotal_label("district")
T(zh='市辖区小计', en='District subtotal')
"""

from __future__ import annotations

from allocator.report.model import T

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
    "min_per_10k": T("每万人编制下限", "min per 10,000"),
    "max_per_10k": T("每万人编制上限", "max per 10,000"),
}
STEP_NAMES = {
    "scaling": T("统一比例调整(λ)", "Scaling to the cap (λ)"),
    "group_total": T("分组总量调整", "Group total"),
    "floor": T("保底下限调整", "Floor"),
    "ceiling": T("上限调整", "Ceiling"),
    "change_limit": T("增减幅度限制", "Change limit"),
    "density": T("每万人编制标准调整", "Density standard"),
    "constraints": T("其他约束对统一比例的影响", "Common ratio under the constraints"),
    "group_bound": T("分组总量上下限调整", "Group bound"),
    "equal_cut": T("同比例精简约束调整", "Equal-cut rule"),
    "constraint": T("专项约束调整", "Named constraint"),
    "rounding": T("取整", "Rounding"),
}
TOTAL = T("合计", "Total")
METHOD = T("零基测算：各指标按权重计算份额，乘以可分配编制数得零基测算数；公平配置（“一把尺子”）："
           "按字典序最小化最大相对偏差 |配置数/测算数 − 1|，未受约束的单位配置数与测算数之比相同（λ）；"
           "整数化：{rounding}，各组及合计精确等于总量。",
           "Zero-based targets: weighted indicator shares × allocatable posts. Fair allocation "
           "(one ruler): lexicographic min-max of |allocation/target − 1|; every unit no bound "
           "holds gets the same ratio λ. Whole posts: {rounding}, each group and the whole adding "
           "up exactly.")


def indicator_name(name: str) -> T:
    """Display name of an indicator key (known keys translated, others as they are)."""
    return INDICATOR_NAMES.get(name, T(name, name.replace("_", " ").capitalize()))


def group_name(group: str) -> T:
    """Display name of a group value (``district`` and ``county`` translated)."""
    return GROUP_NAMES.get(group, T(group, group))


def step_name(step: str) -> T:
    """Display name of an adjustment step of the explanation.

    >>> step_name("rounding").en, step_name("some_step").en
    ('Rounding', 'Some step')
    """
    return STEP_NAMES.get(step, T(step, step.replace("_", " ").capitalize()))


def subtotal_label(group: str) -> T:
    """Label of a group's subtotal row."""
    name = group_name(group)
    return T(f"{name.zh}小计", f"{name.en} subtotal")
