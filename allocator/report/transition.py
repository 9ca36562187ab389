"""The transition chapter: a transition plan (:class:`~allocator.pipeline.transition.TransitionPlan`)
as a report in Chinese and English, and the transition folder that holds it.

The chapter has the plan year by year (staff, quota, transitional posts, departures, posts
recovered, recruitment, the reserve pool), each year's quota of every unit under a pace of
change, the year each unit reaches its quota (units grouped with subtotals, as every report
groups them), the recruitment of every unit by year, and the inputs; a method statement says
the rules in words. Every format and chart of :mod:`allocator.report` writes it.

>>> from allocator.pipeline import plan_transition
>>> plan = plan_transition("models/harbin_2020.toml")        # from the repository root
>>> report = build_transition_report(plan)
>>> [t.key for t in report.tables]
['by_year', 'reach', 'recruitment', 'inputs']
>>> report.table("by_year").text(0, 0, "zh"), report.table("by_year").text(15, 0, "en")
('现状', 'Year 15')
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from allocator.choices import Language, Recruitment
from allocator.core.transition import NEVER
from allocator.pipeline.transition import TransitionPlan
from allocator.report.build import _grouped, inputs_table
from allocator.report.labels import TOTAL, ModelWords, model_words
from allocator.report.method import _units, date_text, percent
from allocator.report.model import BREAK, Column, Kind, Report, Row, T, Table
from allocator.report.write import FORMATS, checked_documents, document_files

ALL_YEARS = 10  # plans up to this long show every year in the unit tables
FIRST_YEARS = 5  # longer plans show the first years one by one, then the rest together
TODAY = T("现状", "Today")
LATE = T("规划期内未达到", "not within the plan")


def year_label(year: int) -> T:
    """The name of a year of the plan (year 0 is today).

    >>> year_label(0).zh, year_label(3).zh, year_label(3).en
    ('现状', '第3年', 'Year 3')
    """
    return TODAY if year == 0 else T(f"第{year}年", f"Year {year}")


def year_spans(years: int) -> list[tuple[int, int]]:
    """The year columns of the unit tables, as (first, last) years: every year of a plan of up
    to :data:`ALL_YEARS` years, else the first :data:`FIRST_YEARS` years one by one and then the
    rest as one column.

    >>> year_spans(3), year_spans(15)[-2:]
    ([(1, 1), (2, 2), (3, 3)], [(5, 5), (6, 15)])
    """
    if years <= ALL_YEARS:
        return [(y, y) for y in range(1, years + 1)]
    return [(y, y) for y in range(1, FIRST_YEARS + 1)] + [(FIRST_YEARS + 1, years)]


def _span_label(first: int, last: int) -> T:
    return year_label(first) if first == last else T(f"第{first}–{last}年", f"Years {first}–{last}")


def late_text(year: int | None) -> T:
    """A reach year after the plan: not within it, and the year expected at the same departures
    when known.

    >>> late_text(23).zh, late_text(None).en
    ('规划期内未达到（预计第23年）', 'not within the plan')
    """
    if year is None:
        return LATE
    return T(f"{LATE.zh}（预计第{year}年）", f"{LATE.en} (year {year} expected)")


def _reach_cell(years: list[int], horizon: int) -> int | T:
    """The reach year of a unit or of a group of units (the last of its units): a year within
    the plan, or the words for "not within the plan" (with the year expected when every late
    unit has one)."""
    if all(0 <= y <= horizon for y in years):
        return max(years)
    late = [y for y in years if not 0 <= y <= horizon]
    return late_text(None if NEVER in late else max(late))


def _unit_columns(plan: TransitionPlan) -> list[Column]:
    columns = [Column("id", "代码", "Code")]
    if plan.table.labels:
        columns.append(Column("label", "单位", "Unit"))
    return columns


def _unit_table(plan: TransitionPlan, words: ModelWords, key: str, title: T, sheet: T,
                columns: list[Column], values: dict[str, np.ndarray],
                special: dict[str, Callable[[np.ndarray], int | T]] | None = None,
                notes: tuple[T, ...] = ()) -> Table:
    """A grouped table of units (subtotals after each group, then the total) whose numeric
    columns sum ``values`` (column key -> one value per unit); ``special`` gives columns whose
    cells are made from the positions of the units of the row instead."""
    table = plan.table
    special = special or {}
    keys = [c.key for c in columns]
    lead = len(_unit_columns(plan))

    def cells(members: np.ndarray, first: list) -> Row:
        row = list(first)
        formats: list[tuple[Kind, int] | None] = [None] * len(keys)
        for k, key in enumerate(keys[lead:], start=lead):
            if key in special:
                value = special[key](members)
                row.append(value)
                if isinstance(value, T):
                    formats[k] = ("text", 0)
            else:
                row.append(int(values[key][members].sum()))
        return Row(tuple(row), formats=tuple(formats) if any(formats) else None)

    def unit_row(i: int) -> Row:
        unit = table.ids[i]
        first = [unit] + ([words.units[unit]] if table.labels else [])
        return cells(np.array([i]), first)

    def total_row(members: np.ndarray, label: T, level) -> Row:
        row = cells(members, [label] + [""] * (lead - 1))
        return replace(row, level=level)

    column_notes: tuple[tuple[str, T], ...] = ()
    if table.labels and words.untranslated is not None:
        column_notes = (("label", words.untranslated),)
    return Table(key, title, tuple(columns),
                 _grouped(len(table), table.groups, words, unit_row, total_row), notes,
                 column_notes, sheet)


def by_year_table(plan: TransitionPlan) -> Table:
    """One row per year (today first): the quota, staff, transitional and vacant posts at the end
    of the year, the year's departures, posts recovered and recruitment (none today), the units
    above their quota and the reserve pool; then the total of the flows over the plan."""
    frame = plan.summary_frame()
    columns = [Column("year", "年度", "Year"),
               Column("quota", f"核定{BREAK}编制数", "Quota", "int"),
               Column("headcount", f"在编{BREAK}人数", "Staff", "int"),
               Column("transitional", f"过渡{BREAK}编制", "Transitional posts", "int")]
    if frame["vacant"].any():
        columns.append(Column("vacant", "空编", "Vacant posts", "int"))
    columns += [Column("departures", f"自然{BREAK}减员", "Departures", "int"),
                Column("recovered", f"收回{BREAK}编制", "Posts recovered", "int"),
                Column("recruited", f"补充{BREAK}人员", "Recruited", "int"),
                Column("units_above_quota", f"超编{BREAK}单位数", "Units above quota", "int")]
    if plan.settings.pool:
        columns += [Column("pool_lent", f"周转池{BREAK}借出", "Lent by the pool", "int"),
                    Column("pool_repaid", f"周转池{BREAK}归还", "Repaid to the pool", "int"),
                    Column("pool_balance", f"周转池{BREAK}余额", "Pool balance", "int")]
    keys = [c.key for c in columns]
    flows = {"departures", "recovered", "recruited", "pool_lent", "pool_repaid"}
    rows = [Row(tuple(year_label(int(record["year"])) if key == "year" else
                      None if key in flows and record["year"] == 0 else int(record[key])
                      for key in keys))
            for record in frame.to_dict("records")]
    rows.append(Row(tuple(TOTAL if key == "year" else int(frame[key].sum()) if key in flows
                          else None for key in keys), "total"))
    notes = [T("核定编制数、在编人数、过渡编制" + ("、空编" if "vacant" in keys else "")
               + "等为年末数，自然减员、收回编制、补充人员等为当年数；过渡编制为各单位在编人数超出"
               "其核定编制数的部分之和" + ("，空编为低于核定编制数的部分之和" if "vacant" in keys
                                          else "") + "；合计行为规划期内各年之和。",
               "Quota, staff, transitional" + (" and vacant" if "vacant" in keys else "")
               + " posts are at the end of each year; departures, posts recovered and "
               "recruitment are the year's. Transitional posts are the staff above their unit's "
               "quota, added up over the units" + ("; vacant posts the posts of a quota not "
                                                   "filled" if "vacant" in keys else "")
               + ". The total row adds up the years of the plan.")]
    if plan.pace is not None:
        notes.append(T("各年核定编制数逐年过渡，各单位各年数见下表。",
                       "The quota is phased in year by year; the table after this one gives "
                       "each unit's quota of each year."))
    return Table("by_year", T("过渡期逐年人员与编制情况", "The transition year by year"),
                 tuple(columns), tuple(rows), tuple(notes), sheet=T("逐年情况", "By year"))


def quota_table(plan: TransitionPlan, words: ModelWords) -> Table:
    """Under a pace of change: each unit's quota today and in the years of :func:`year_spans`
    (the last year of a span of years)."""
    quota = plan.projection.quota
    spans = year_spans(plan.years)
    columns = _unit_columns(plan) + [Column("y0", "现有编制数", "Current posts", "int")]
    values = {"y0": quota[0]}
    for _, last in spans:
        label = year_label(last)
        columns.append(Column(f"y{last}", label.zh, label.en, "int"))
        values[f"y{last}"] = quota[last]
    notes = (T("逐年过渡：各年核定编制数为该年编制总量下按同一规则测算的优化配置结果。"
               + ("" if len(spans) == plan.years else
                  f"第{FIRST_YEARS + 1}年至第{plan.years - 1}年各单位数见transition.csv。"),
               "Pace of change: each year's quota is the fair allocation of that year's cap by "
               "the same rule." + ("" if len(spans) == plan.years else
                                   f" Years {FIRST_YEARS + 1} to {plan.years - 1} are in "
                                   "transition.csv.")),)
    return _unit_table(plan, words, "quota_by_year",
                       T("各单位逐年核定编制数", "Quota by unit and year"),
                       T("逐年编制数", "Quota by year"), columns, values,
                       notes=notes)


def reach_table(plan: TransitionPlan, words: ModelWords) -> Table:
    """Per unit: staff today, quota, the change between them, today's transitional posts and
    the year the unit reaches its quota ("not within the plan", with the year expected at the
    same departures when known); a group and the total reach it with their last unit."""
    p = plan.projection
    reach = plan.reach_year()
    horizon = plan.years
    final = "核定编制数" if plan.pace is None else f"第{horizon}年{BREAK}核定编制数"
    columns = _unit_columns(plan) + [
        Column("headcount", f"现有{BREAK}人数", "Staff today", "int"),
        Column("quota", final, "Quota" if plan.pace is None else f"Quota, year {horizon}", "int"),
        Column("change", "增减数", "Change", "int"),
        Column("transitional", f"现有{BREAK}过渡编制", "Transitional posts today", "int"),
        Column("reach_year", f"达到核定{BREAK}编制年度", "Reaches quota in year", "int")]
    values = {"headcount": p.headcount[0], "quota": p.quota[-1],
              "change": p.quota[-1] - p.headcount[0], "transitional": p.transitional[0]}
    special = {"reach_year": lambda members: _reach_cell([int(reach[i]) for i in members],
                                                         horizon)}
    notes = [T("达到核定编制年度：超编单位在编人数减至、缺编单位补至核定编制数的年度（0为现状即已达到）；"
               "小计与合计为其中最晚的年度。",
               "Reaches quota in year: the year a unit above its quota comes down to it, or a unit "
               "below it is filled (0: at its quota today); a subtotal or the total gives the "
               "year of its last unit.")]
    if (reach > horizon).any():
        notes.append(T("预计年度按规划期末的核定编制数和同样的减员速度推算。",
                       "Expected years assume the last year's quota and the same departures."))
    return _unit_table(plan, words, "reach",
                       T("各单位达到核定编制的年度", "The year each unit reaches its quota"),
                       T("达到年度", "Reaching quota"), columns, values, special, tuple(notes))


def recruitment_table(plan: TransitionPlan, words: ModelWords) -> Table:
    """Per unit: the people recruited in each year of :func:`year_spans` (a span of years
    together) and over the plan."""
    recruited = plan.projection.recruited
    columns = _unit_columns(plan)
    values: dict[str, np.ndarray] = {}
    for first, last in year_spans(plan.years):
        label = _span_label(first, last)
        columns.append(Column(f"y{first}", label.zh, label.en, "int"))
        values[f"y{first}"] = recruited[first:last + 1].sum(axis=0)
    columns.append(Column("total", f"补充人员{BREAK}合计", "Recruited in all", "int"))
    values["total"] = recruited.sum(axis=0)
    budget = plan.settings.recruitment
    said = (T("当年全部单位的自然减员数", "the year's departures of all units")
            if budget == Recruitment.DEPARTURES else T("不限", "unlimited")
            if budget == Recruitment.UNLIMITED else T(f"每年{budget:,}名", f"{budget:,} a year"))
    notes = (T(f"补充人员只进入低于核定编制数的单位，按“一把尺子”分配；每年补充计划：{said.zh}。",
               f"Only units below their quota recruit, shared by the one ruler; the yearly "
               f"recruitment budget is {said.en}."),)
    return _unit_table(plan, words, "recruitment",
                       T("各单位逐年补充人员", "Recruitment by unit and year"),
                       T("补充人员", "Recruitment"), columns, values,
                       notes=notes)


def _departures_words(plan: TransitionPlan) -> T:
    """Where the departures come from, in words."""
    s = plan.settings
    known = len(s.departures_columns or [])
    if s.departure_rate is not None:
        rate = T(f"每年按上年末在编人数的{percent(s.departure_rate)}计算",
                 f"{percent(s.departure_rate)} of a unit's staff at the end of the year before")
    elif s.departure_rate_column is not None:
        rate = T("每年按各单位各自的年减员率计算（见数据文件）",
                 "each unit's own yearly rate (in the data file) of its staff at the end of the "
                 "year before")
    else:
        rate = T("", "")
    if not known:
        return rate
    given = T(f"前{known}年采用数据文件中的已知减员数（如退休）",
              f"the known departures of the data file (e.g. retirements) in years 1 to {known}")
    if not rate.zh:
        return given
    return T(f"{given.zh}，其后{rate.zh}", f"{given.en}, then {rate.en}")


def _pace_words(plan: TransitionPlan) -> T:
    """The pace of change in words: the caps of the years and the yearly change limits."""
    pace = plan.settings.pace
    assert pace is not None and plan.pace is not None
    caps = plan.pace.caps
    if pace.caps is None:
        cap = T(f"由现有编制总量{int(plan.projection.quota[0].sum()):,}名逐年均匀过渡到第"
                f"{plan.years}年的{caps[-1]:,}名",
                f"moves in equal steps from today's {int(plan.projection.quota[0].sum()):,} "
                f"posts to {caps[-1]:,} in year {plan.years}")
    else:
        cap = T("依次为" + "、".join(f"{c:,}名" for c in caps[:len(pace.caps)])
                + ("，其后各年同最后一年" if len(pace.caps) < plan.years else ""),
                "is " + ", ".join(f"{c:,}" for c in caps[:len(pace.caps)])
                + (" posts, the last repeated" if len(pace.caps) < plan.years else " posts"))
    limits_zh = [f"每年较上年{w}不超过{percent(v)}" for v, w in
                 ((pace.max_cut, "减少"), (pace.max_increase, "增加")) if v is not None]
    limits_en = [f"{w} more than {percent(v)} a year" for v, w in
                 ((pace.max_cut, "loses no"), (pace.max_increase, "gains no")) if v is not None]
    return T("逐年过渡：核定编制数不一次到位，各年编制总量" + cap.zh
             + ("；各单位核定编制数" + "、".join(limits_zh) if limits_zh else "")
             + "；各年核定编制数均为该年条件下按“一把尺子”测算的优化配置结果（见表2）。",
             "Pace of change: the quota is phased in: each year's cap " + cap.en
             + ("; each unit's quota " + " and ".join(limits_en) if limits_en else "")
             + "; each year's quota is the one-ruler fair allocation of that year (Table 2).")


def _count(n: int, noun: str) -> str:
    """``1 unit``, ``2 units``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def method_paragraphs(plan: TransitionPlan, words: ModelWords, day: datetime.date
                      ) -> tuple[T, ...]:
    """The method statement of the transition plan: where it starts, the rules of each year in
    words, the pool and the pace of change when used, what the plan comes to, and the date."""
    p = plan.projection
    s = plan.settings
    units = _units(plan.allocation, words)
    quota, staff = int(p.quota[-1].sum()), int(p.headcount[0].sum())
    above = int((p.headcount[0] > p.quota[0]).sum())
    below = int((p.headcount[0] < p.quota[0]).sum())
    source = (T("现有编制数", "current posts") if s.headcount is None
              else T("数据文件中的现有人数", "the staff counts of the data file"))
    vacant = int(p.vacant[0].sum())
    start = T(f"本方案以{units.zh}的优化配置结果（合计{quota:,}名）为核定编制数，以{source.zh}为各单位"
              f"现有人数（合计{staff:,}名）。在编人数超出核定编制数的部分为过渡编制，"
              + (f"现状共{int(p.transitional[0].sum()):,}名（{above}个单位超编）" if above
                 else "现状无过渡编制")
              + (f"；{below}个单位低于核定编制数，共空编{vacant:,}名" if below else "")
              + f"。规划期{plan.years}年，现状为第0年，各年数据均为年末数。",
              f"This plan takes the allocation of {quota:,} posts to {units.en} as their quota, "
              f"and {source.en} as today's staff ({staff:,} people). Staff above their unit's "
              "quota hold transitional posts: "
              + (f"{int(p.transitional[0].sum()):,} today, in {_count(above, 'unit')} above "
                 "quota" if above else "none today")
              + (f"; {vacant:,} posts are vacant in {_count(below, 'unit')} below quota"
                 if below else "")
              + f". The plan runs {plan.years} years from today (year 0); every figure is at the "
              "end of its year.")
    departures = _departures_words(plan)
    leave = T(f"自然减员：{departures.zh}，按累计取整法取整为整数人数（各单位截至当年的减员数等于截至当年"
              "的预期减员数之和四舍五入），逐年的零头不会丢失。",
              f"Departures: {departures.en}, in whole people by cumulative rounding (a unit's "
              "departures up to a year are its expected departures up to that year, rounded "
              "half up), so no fraction is lost over the years.")
    recover = T("退一收一、走一收一：在编人数高于核定编制数的单位，每减员一人即收回一个编制，不补充人员，"
                "直至达到核定编制数，其过渡编制随之逐年消化。",
                "Posts recovered: a unit above its quota recovers a post for each person who "
                "leaves and recruits nobody until it reaches its quota, so its transitional "
                "posts fall year by year.")
    budget = s.recruitment
    limit = (T("每年补充人员总数不超过当年全部单位的自然减员数（在编人数总量不增加）",
               "each year's recruitment is at most the year's departures of all units (staff "
               "never grow in total)") if budget == Recruitment.DEPARTURES else
             T("补充人员不设年度限额，低于核定编制数的单位当年即补足",
               "recruitment has no yearly limit: a unit below its quota is filled within the "
               "year") if budget == Recruitment.UNLIMITED else
             T(f"每年补充计划{budget:,}名", f"the yearly recruitment budget is {budget:,} posts"))
    recruit = T(f"补充人员：{limit.zh}。补充名额按“一把尺子”分配：在不超过各自核定编制数的前提下，使低于"
                "核定编制数的各单位在编率（在编人数与核定编制数之比）尽可能均衡地提高，即每个名额依次"
                "给予在编率最低的单位。",
                f"Recruitment: {limit.en}. The posts are shared by the one ruler: the fill "
                "ratios (staff / quota) of the units below their quota rise as evenly as "
                "possible, each post going to the unit with the lowest fill ratio, and no unit "
                "beyond its quota.")
    paragraphs = [start, leave, recover, recruit]
    if s.pool:
        lent = int(p.lent.sum())
        repaid = plan.pool_repaid_year
        outcome = (T("规划期内未动用", "it is not needed") if not lent else
                   T(f"规划期内共借出{lent:,}名，第{repaid}年起全部归还",
                     f"it lends {lent:,} posts in all and holds them all again from year "
                     f"{repaid}") if repaid is not None else
                   T(f"规划期内共借出{lent:,}名，规划期末尚未全部归还（余额{int(p.pool_balance[-1]):,}名）",
                     f"it lends {lent:,} posts in all and is not repaid within the plan "
                     f"(balance {int(p.pool_balance[-1]):,})"))
        paragraphs.append(T(f"编制周转池：设周转池{s.pool:,}名，补充需求超出当年补充计划时由周转池借出，"
                            f"以后年度补充计划的结余归还；{outcome.zh}。",
                            f"Reserve pool: a pool of {s.pool:,} posts lends what recruitment "
                            "needs beyond the year's budget and is repaid from later years' "
                            f"unused budget; {outcome.en}."))
    if plan.pace is not None:
        paragraphs.append(_pace_words(plan))
    last = int(p.transitional[-1].sum())
    reach = plan.projection.reach_year()
    late = int((p.transitional[-1] > 0).sum())
    ending = (T(f"全部单位于第{int(reach.max())}年达到核定编制数",
                f"every unit reaches its quota by year {int(reach.max())}")
              if (reach != NEVER).all() else
              T(f"规划期末仍有{late}个单位高于核定编制数" if late else
                "规划期末仍有单位低于核定编制数",
                f"{_count(late, 'unit')} {'is' if late == 1 else 'are'} still above quota "
                "after the last year" if late else
                "some units are still below their quota after the last year"))
    paragraphs.append(T(f"测算结果：过渡编制现状{int(p.transitional[0].sum()):,}名，第{plan.years}年末"
                        f"{last:,}名；{ending.zh}；规划期内共自然减员{int(p.departures.sum()):,}名，"
                        f"收回编制{int(p.recovered.sum()):,}名，补充人员{int(p.recruited.sum()):,}名。",
                        f"Outcome: {int(p.transitional[0].sum()):,} transitional posts today, "
                        f"{last:,} at the end of year {plan.years}; {ending.en}; over the plan "
                        f"{int(p.departures.sum()):,} people leave, {int(p.recovered.sum()):,} "
                        f"posts are recovered and {int(p.recruited.sum()):,} people are "
                        "recruited."))
    day_text = date_text(day)
    paragraphs.append(T(f"核定编制数的测算方法、指标与权重见测算参数表。测算日期：{day_text.zh}。",
                        "How the quota is computed, its indicators and weights: see the inputs "
                        f"table. Date: {day_text.en}."))
    return tuple(paragraphs)


def transition_inputs(plan: TransitionPlan, words: ModelWords) -> Table:
    """The inputs of the allocation that gives the quota, then the settings of the plan."""
    s = plan.settings

    def item(label: T, value) -> Row:
        return Row((label, value), formats=(None, ("text", 0)))

    budget = s.recruitment
    rows = [item(T("规划年限", "Years of the plan"), T(f"{plan.years}年", f"{plan.years} years")),
            item(T("现有人数", "Staff today"),
                 T("现有编制数", "current posts") if s.headcount is None
                 else T("数据文件中的现有人数", "the staff counts of the data file")),
            item(T("自然减员", "Departures"), _departures_words(plan)),
            item(T("补充计划", "Recruitment budget"),
                 T("当年全部单位的自然减员数", "the year's departures of all units")
                 if budget == Recruitment.DEPARTURES else T("不限", "unlimited")
                 if budget == Recruitment.UNLIMITED else T(f"每年{budget:,}名", f"{budget:,} a year")),
            item(T("补充人员周转池", "Reserve pool for recruitment"),
                 T(f"{s.pool:,}名", f"{s.pool:,} posts") if s.pool else T("不设", "none"))]
    if plan.pace is not None:
        rows.append(item(T("逐年过渡", "Pace of change"), T("是（见测算说明）", "yes (see Method)")))
    table = inputs_table(plan.allocation, words)
    return replace(table, rows=table.rows + tuple(rows))


def build_transition_report(plan: TransitionPlan, date: datetime.date | None = None) -> Report:
    """The transition chapter of ``plan`` in both languages: the year-by-year table, each unit's
    quota by year (pace of change only), the year each unit reaches its quota, recruitment by unit
    and year, the inputs, and the method statement (dated ``date``, default today)."""
    words = model_words(plan.spec, plan.table)
    tables = [by_year_table(plan)]
    if plan.pace is not None:
        tables.append(quota_table(plan, words))
    tables += [reach_table(plan, words), recruitment_table(plan, words),
               transition_inputs(plan, words)]
    s = plan.settings
    notes: tuple[T, ...] = ()
    from_actual = s.headcount is None or plan.pace is not None
    if words.actual_note is not None and from_actual:
        notes = (words.actual_note,)
    title = T(f"{words.title.zh}：人员过渡测算", f"{words.title.en} — transition plan")
    return Report(title=title, tables=tuple(tables), notes=notes,
                  method=method_paragraphs(plan, words, date or datetime.date.today()),
                  unit_names=words.units)


@dataclass(frozen=True)
class TransitionReportOptions:
    """The documents of a transition folder: formats (table and chart formats; none: only the
    plan's CSV files and ``run.json``), whether to draw charts, language, and the date of the
    method statement (default: today). ``charts`` as for
    :class:`~allocator.report.write.ReportOptions`: on, every document shows the charts and the
    chart formats in ``formats`` write the chart files besides; off, no chart anywhere."""

    formats: tuple[str, ...] = FORMATS
    lang: str = Language.ZH.value
    date: datetime.date | None = None
    charts: bool = True


@dataclass(frozen=True, eq=False)
class TransitionOutput:
    """What :func:`write_transition_report` wrote, the plan and the report it wrote them from,
    and notes for the reader (in English; e.g. the font fallback of the charts)."""

    out_dir: Path
    files: tuple[str, ...]
    plan: TransitionPlan
    report: Report
    notes: tuple[str, ...] = ()


def write_transition_report(plan: TransitionPlan, out_dir: str | Path,
                            options: TransitionReportOptions = TransitionReportOptions(), *,
                            force: bool = False) -> TransitionOutput:
    """Write the transition folder in one atomic step: ``transition.csv``,
    ``transition_summary.csv`` and ``run.json`` (as
    :func:`allocator.outputs.transition.write_transition` writes them), the chapter in every
    requested format and language (``report.docx``, ..., one CSV per table and ``method.txt``)
    and the charts (``transition.png``, ``recruitment.png``, and SVG), unless
    ``options.charts`` is off.

    >>> import tempfile
    >>> from allocator.pipeline import plan_transition
    >>> plan = plan_transition("models/harbin_2020.toml")      # from the repository root
    >>> out = write_transition_report(plan, Path(tempfile.mkdtemp()) / "t",
    ...                               TransitionReportOptions(formats=("md", "png"), lang="en"))
    >>> out.files     # doctest: +NORMALIZE_WHITESPACE
    ('transition.csv', 'transition_summary.csv', 'run.json', 'report.md', 'transition.png',
     'recruitment.png')
    >>> write_transition_report(plan, Path(tempfile.mkdtemp()) / "t", TransitionReportOptions(
    ...     formats=("md",), lang="en", charts=False)).files
    ('transition.csv', 'transition_summary.csv', 'run.json', 'report.md')
    """
    from allocator.outputs.folders import write_files
    from allocator.outputs.transition import transition_files
    from allocator.report.charts import Charts
    from allocator.report.transition_charts import render_transition_charts

    formats = checked_documents(options.formats, options.lang, options.charts)
    date = options.date or datetime.date.today()
    report = build_transition_report(plan, date=date)

    def draw(chart_formats: tuple[str, ...]) -> Charts:
        return render_transition_charts(plan, report, options.lang, formats=chart_formats)

    settings = {"formats": list(formats), "charts": options.charts, "lang": options.lang,
                "date": date.isoformat()}
    files = transition_files(plan, {"report": settings})
    documents, notes = document_files(report, options.lang, formats,
                                      draw if options.charts else None)
    clash = sorted(set(files) & set(documents))
    if clash:  # the names of the plan's files are a contract: no document may take one
        raise ValueError(f"document files named like the plan's files: {', '.join(clash)}")
    files.update(documents)
    written = write_files(Path(out_dir), files, model=str(plan.spec.name), force=force,
                          scenario=plan.allocation.overrides.tag())
    return TransitionOutput(out_dir=written, files=tuple(files), plan=plan, report=report,
                            notes=tuple(n.en for n in notes))
