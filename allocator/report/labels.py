"""The words of the report in Chinese and English: the model's own words (title, note on the
current posts, indicator, group and unit names) and the tool's (bounds, adjustment steps, method
names, the total row). Every table, chart and method statement takes its words from here.

A model gives a text as a ``{zh, en}`` table or as one string; a string counts for the language of
its script (Chinese when it holds a Chinese character), and the other language gets a default that
never shows a raw key:

>>> in_language("常住人口", "zh"), in_language("常住人口", "en"), in_language("Beds", "en")
('常住人口', None, 'Beds')
>>> indicator_label("population"), indicator_label("hospital_beds", position=3)
(T(zh='常住人口', en='Population'), T(zh='指标3', en='Hospital beds'))
>>> subtotal_label(T("市辖区", "Districts"))
T(zh='市辖区小计', en='Districts subtotal')
>>> ROUNDING_NAMES["hamilton"].zh
'最大余数法（Hamilton）'
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from allocator.errors import InputError
from allocator.report.model import BREAK, T
from allocator.schema import Bilingual, ModelSpec, OptionalText
from allocator.units import UnitTable

INDICATOR_NAMES = {  # defaults for indicator keys that models often use
    "population": T("常住人口", "Population"),
    "urban_population": T("城镇人口", "Urban population"),
    "area": T("面积（平方公里）", "Area (km²)"),
    "townships": T("乡镇（街道）数", "Townships"),
    "gdp": T("地区生产总值", "GDP"),
}
GROUP_NAMES = {"district": T("市辖区", "Districts"), "county": T("县（市）", "Counties")}
RULE_NAMES = {
    "floor": T("保底下限", "Floor"),
    "ceiling": T("上限", "Ceiling"),
    "max_cut": T("减幅限制", "Largest cut"),
    "max_increase": T("增幅限制", "Largest increase"),
    "min_per_10k": T("每万人编制下限", "Floor per 10,000"),
    "max_per_10k": T("每万人编制上限", "Ceiling per 10,000"),
}
STEP_NAMES = {  # headers of the explanation: BREAK marks where a long Chinese one may break
    "scaling": T("统一比例调整（λ）", "Scaling to the cap (λ)"),
    "group_total": T(f"分组总量{BREAK}调整", "Group total"),
    "floor": T(f"保底下限{BREAK}调整", "Floor"),
    "ceiling": T("上限调整", "Ceiling"),
    "change_limit": T(f"增减幅度{BREAK}限制", "Change limit"),
    "density": T(f"每万人{BREAK}编制标准{BREAK}调整", "Density standard"),
    "constraints": T(f"其他约束对{BREAK}统一比例的{BREAK}影响", "Common ratio under the constraints"),
    "group_bound": T(f"分组总量{BREAK}上下限{BREAK}调整", "Group bound"),
    "equal_cut": T(f"同比例精简{BREAK}约束调整", "Equal-cut rule"),
    "constraint": T(f"专项约束{BREAK}调整", "Named constraint"),
    "rounding": T("取整", "Rounding"),
}
ROUNDING_NAMES = {
    "hamilton": T("最大余数法（Hamilton）", "largest remainder (Hamilton)"),
    "webster": T("圣拉古法（Webster/Sainte-Laguë）", "Webster (Sainte-Laguë)"),
    "dhondt": T("洪德法（D'Hondt）", "D'Hondt (Jefferson)"),
    "huntington-hill": T("亨廷顿-希尔法（Huntington-Hill）", "Huntington-Hill (equal proportions)"),
}
ROUNDING_GUARANTEES = {
    "hamilton": T("每个单位的配置数与其精确配置值之差不足1名",
                  "every unit is within one post of its exact fair value"),
    "divisor": T("总量增加时没有单位减少编制，单位自身指标增长时其编制也不减少",
                 "no unit loses a post when the cap grows, nor when its own indicators grow"),
}
TRANSFORM_NAMES = {
    "linear": T("线性", "linear"),
    "sqrt": T("取平方根", "square root"),
    "log": T("取对数", "logarithm"),
}
SOLVER_NAMES = {"highs": T("HiGHS线性规划求解器", "HiGHS LP solver"),
                "cbc": T("CBC线性规划求解器", "CBC LP solver")}
WEIGHTING_NAMES = {
    "equal": T("等权重法", "equal weights"),
    "entropy": T("熵权法", "entropy"),
    "critic": T("CRITIC法", "CRITIC"),
    "ahp": T("层次分析法（AHP）", "AHP"),
}
TOTAL = T("合计", "Total")
DEFAULT_TITLE = T("编制配置测算报告", "Staffing allocation report")
DEFAULT_ACTUAL_NOTE = T("现有编制数仅作比较之用，其来源与可靠性见模型文件中的说明。",
                        "Current posts are for comparison only; the model file says where they "
                        "come from.")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a Chinese (wide) character.

    >>> has_cjk("道里区"), has_cjk("Daoli"), has_cjk("（")
    (True, False, True)
    """
    return any(unicodedata.east_asian_width(ch) in ("W", "F") for ch in text)


def in_language(text: OptionalText, lang: str) -> str | None:
    """``text`` in ``lang``: a ``{zh, en}`` table picks its language; a string counts for the
    language of its script and is None in the other."""
    if text is None:
        return None
    if isinstance(text, Bilingual):
        return text.zh if lang == "zh" else text.en
    text = text.strip()
    return text if text and has_cjk(text) == (lang == "zh") else None


def plain_text(text: OptionalText, lang: str = "en") -> str | None:
    """``text`` for a reader of ``lang`` when there is one, else as written (e.g. a model's
    name or note on a terminal).

    >>> plain_text(Bilingual(zh="示意", en="Illustrative")), plain_text("示意")
    ('Illustrative', '示意')
    """
    if text is None:
        return None
    return in_language(text, lang) or (text if isinstance(text, str) else text.zh)


def both(text: OptionalText, default: T) -> T:
    """``text`` in both languages, each missing language from ``default``.

    >>> both("Harbin", DEFAULT_TITLE)
    T(zh='编制配置测算报告', en='Harbin')
    """
    return T(in_language(text, "zh") or default.zh, in_language(text, "en") or default.en)


def _humane(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def indicator_label(name: str, spec: ModelSpec | None = None, position: int = 1) -> T:
    """Display name of indicator ``name`` (``position`` counts from 1): the model's ``label``,
    else a known name, else the key or the column when they are words of that language, else
    "指标n" / "Indicator n"."""
    ind = spec.indicators[name] if spec is not None else None
    label = ind.label if ind is not None else None
    known = INDICATOR_NAMES.get(name)
    column = ind.column if ind is not None else ""
    zh = in_language(label, "zh") or (known.zh if known else None) \
        or next((t for t in (name, column) if has_cjk(t)), None) or f"指标{position}"
    en = in_language(label, "en") or (known.en if known else None) \
        or next((_humane(t) for t in (name, column) if t and t.isascii()), None) \
        or f"Indicator {position}"
    return T(zh, en)


def group_label(value: str, spec: ModelSpec | None = None) -> T:
    """Display name of a value of the group column: the model's ``group_labels``, else a known
    name, else the value itself (a name from the data stays as the data give it)."""
    given = spec.group_labels.get(value) if spec is not None else None
    known = GROUP_NAMES.get(value, T(value, value))
    return T(in_language(given, "zh") or known.zh, in_language(given, "en") or known.en)


def group_path_label(name: str, spec: ModelSpec) -> T:
    """Display name of a group named in the model: a value of the group column, or with nested
    levels a path ``A/B`` (its outer parts by their display names, unless ``group_labels`` names
    the whole path).

    >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
    ...     "group": ["p", "q"], "group_labels": {"北": {"zh": "北方", "en": "North"}},
    ...     "indicators": {"a": {"column": "a", "weight": 1}}})
    >>> group_path_label("北/哈尔滨", spec)
    T(zh='北方/哈尔滨', en='North/哈尔滨')
    """
    if name in spec.group_labels or len(spec.levels) < 2 or "/" not in name:
        return group_label(name, spec)
    outer, _, last = name.rpartition("/")
    head = group_path_label(outer, spec)
    return T(f"{head.zh}/{last}", f"{head.en}/{last}")


CONSTRAINT_NAMES = {
    "group_min": T("分组总量下限", "Group minimum"),
    "group_max": T("分组总量上限", "Group maximum"),
    "group_max_cut": T("分组总量减幅限制", "Group's largest cut"),
    "group_max_increase": T("分组总量增幅限制", "Group's largest increase"),
    "equal_cut": T("同比例精简约束", "Equal-cut rule"),
    "constraint": T("专项约束", "Named constraint"),
}


def binding_label(rule: str, spec: ModelSpec | None = None) -> T:
    """Display name of what holds a unit (a ``binding`` value): a bound's rule, or a constraint
    with the groups or the name it is about.

    >>> binding_label("floor").en, binding_label("group_max:county").en
    ('Floor', 'Group maximum: Counties')
    >>> binding_label("equal_cut:district,county").zh, binding_label("constraint:core").en
    ('同比例精简约束：市辖区、县（市）', 'Named constraint: core')
    """
    kind, sep, what = rule.partition(":")
    if not sep or kind not in CONSTRAINT_NAMES:
        return RULE_NAMES.get(rule, T(rule, rule))
    name = CONSTRAINT_NAMES[kind]
    if kind == "constraint":
        return constraint_label(what, spec)

    def label(group: str) -> T:
        return group_path_label(group, spec) if spec is not None else group_label(group)

    groups = [label(g) for g in what.split(",")] if kind == "equal_cut" else [label(what)]
    return T(f"{name.zh}：" + "、".join(g.zh for g in groups),
             f"{name.en}: " + ", ".join(g.en for g in groups))


def constraint_label(name: str, spec: ModelSpec | None = None, *, quote: bool = False) -> T:
    """A named constraint as documents name it: its kind, then the model's ``label`` (or the
    name, for readers of its language), with ``quote`` as running text names it; in a language
    without a name, its place among the model's constraints (a document never shows a name in
    the other language).

    >>> spec = ModelSpec.model_validate({"name": "d", "data": "u.csv", "id": "c", "cap": 10,
    ...     "indicators": {"a": {"column": "a", "weight": 1}}, "constraints": [
    ...     {"name": "core", "terms": {"x": 1}, "min": 1},
    ...     {"name": "base", "label": {"zh": "基础", "en": "the base"}, "terms": {"x": 1}, "min": 1}]})
    >>> constraint_label("core", spec), constraint_label("base", spec, quote=True).zh
    (T(zh='专项约束1', en='Named constraint: core'), '专项约束“基础”')
    """
    places = {c.name: (k, c.label) for k, c in enumerate(spec.constraints if spec else (), 1)}
    place, label = places.get(name, (None, None))
    kind = CONSTRAINT_NAMES["constraint"]
    zh = in_language(label, "zh") or in_language(name, "zh")
    en = in_language(label, "en") or in_language(name, "en")
    if zh is None:
        zh_text = f"{kind.zh}{place}" if place else f"{kind.zh}：{name}"
    else:
        zh_text = f"{kind.zh}“{zh}”" if quote else f"{kind.zh}：{zh}"
    if en is None:
        en_text = f"{kind.en} {place}" if place else f"{kind.en}: {name}"
    else:
        en_text = f"{kind.en} '{en}'" if quote else f"{kind.en}: {en}"
    return T(zh_text, en_text[0].lower() + en_text[1:] if quote else en_text)


def step_name(step: str) -> T:
    """Display name of an adjustment step of the explanation.

    >>> step_name("rounding").en, step_name("some_step").en
    ('Rounding', 'Some step')
    """
    return STEP_NAMES.get(step, T(step, _humane(step)))


def subtotal_label(group: T) -> T:
    """Label of a group's subtotal row."""
    return T(f"{group.zh}小计", f"{group.en} subtotal")


def rounding_name(method: str) -> T:
    """Standard name of a rounding method in both languages."""
    return ROUNDING_NAMES.get(method, T(method, method))


def rounding_guarantee(method: str) -> T:
    """What the rounding method guarantees, in words."""
    return ROUNDING_GUARANTEES["hamilton" if method == "hamilton" else "divisor"]


@dataclass(frozen=True)
class ModelWords:
    """A model's words in both languages: its title, its note on the current posts, its data
    source, and the names of its indicators, groups (by value) and units (by id), duplicated unit
    names told apart; ``untranslated`` says, per language, what stays as the data give it."""

    title: T
    actual_note: T | None
    data_source: T | None
    indicators: dict[str, T]
    groups: dict[str, T]
    units: dict[str, T]
    untranslated: T | None = None


def _context(spec: ModelSpec, table: UnitTable) -> dict[str, list[str]]:
    """Unit id -> the values of the model's ``label_context`` columns (empty without any)."""
    if not spec.label_context:
        return {}
    from allocator.table import read_raw_table

    frame = read_raw_table(table.path, spec.sheet)
    for column in (spec.id, *spec.label_context):
        if column not in frame.columns:
            raise InputError(f"{table.path}: no column '{column}' (label_context)")
    return {str(row[0]).strip(): [str(v).strip() for v in row[1:]]
            for row in frame[[spec.id, *spec.label_context]].itertuples(index=False)}


def distinct_names(names: dict[str, str], contexts: Sequence[dict[str, str]],
                   wide: bool) -> dict[str, str]:
    """``names`` (id -> name) with every name that occurs more than once followed by the first
    context (id -> text) that tells those units apart, in brackets (wide brackets for Chinese).

    >>> distinct_names({"1": "鼓楼区", "2": "鼓楼区", "3": "城区"},
    ...                [{"1": "南京市", "2": "徐州市", "3": "大同市"}], wide=True)
    {'1': '鼓楼区（南京市）', '2': '鼓楼区（徐州市）', '3': '城区'}
    """
    counts = Counter(names.values())
    out = dict(names)
    for name in (n for n, c in counts.items() if c > 1 and n):
        ids = [i for i, n in names.items() if n == name]
        for context in (*contexts, {i: i for i in ids}):
            texts = [context.get(i, "") for i in ids]
            if all(texts) and len(set(texts)) == len(texts):
                for i, text in zip(ids, texts, strict=True):
                    out[i] = f"{name}（{text}）" if wide else f"{name} ({text})"
                break
    return out


def model_words(spec: ModelSpec, table: UnitTable) -> ModelWords:
    """Every word the documents of ``spec`` take from the model, in both languages."""
    indicators = {name: indicator_label(name, spec, k)
                  for k, name in enumerate(spec.indicators, start=1)}
    groups = {g: group_label(g, spec) for g in dict.fromkeys(table.groups or ())}
    labels = table.labels or table.ids
    english = table.labels_en or ("",) * len(table)
    context_rows = _context(spec, table)
    contexts = [{i: context_rows.get(i, [""] * k)[k - 1] for i in table.ids}
                for k in range(1, len(spec.label_context or ()) + 1)]
    group_of = dict(zip(table.ids, table.groups or (), strict=False))
    zh = distinct_names({i: (name or i) for i, name in zip(table.ids, labels, strict=True)},
                        [*contexts, {i: groups[g].zh for i, g in group_of.items()}], wide=True)
    en = distinct_names({i: (name_en or label or i) for i, label, name_en
                         in zip(table.ids, labels, english, strict=True)},
                        [*contexts, {i: groups[g].en for i, g in group_of.items()}], wide=False)
    units = {i: T(zh[i], en[i]) for i in table.ids}
    kept = T("", "")
    if table.labels and any(not has_cjk(n) and not n.replace(" ", "").isdigit() and n != i
                            for i, n in zip(table.ids, labels, strict=True)):
        kept = T("部分单位名称沿用数据原文。", "")
    if any(has_cjk(t.en) for t in units.values()):
        kept = T(kept.zh, "Unit names without an English name in the data (model key label_en) "
                          "are given in Chinese.")
    if any(has_cjk(t.en) for t in groups.values()):
        kept = T(kept.zh, (kept.en + " " if kept.en else "") + "Group names without an English "
                 "name (model key group_labels) are given as the data give them.")
    if any(not has_cjk(t.zh) for t in groups.values()):
        kept = T(kept.zh + "部分分组名称沿用数据原文。", kept.en)
    actual_note = both(spec.actual_note, DEFAULT_ACTUAL_NOTE) if spec.actual_note else None
    source = None
    if spec.data_source is not None:
        source = T(in_language(spec.data_source, "zh") or "见数据文件",
                   in_language(spec.data_source, "en") or "see the data file")
    return ModelWords(title=both(spec.name, DEFAULT_TITLE), actual_note=actual_note,
                      data_source=source, indicators=indicators, groups=groups, units=units,
                      untranslated=kept if kept.zh or kept.en else None)
