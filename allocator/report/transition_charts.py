"""Charts of a transition plan (matplotlib's Figure API, PNG and SVG), in the language and font of
the report's charts (:func:`allocator.report.charts.chart_text`: Chinese when a font can draw it,
else English words and names).

* ``transition``: above, the transitional posts (staff above their unit's quota) of each year,
  stacked by group; below, on the same years, the staff and the quota (the sum of the units'
  quotas) as lines. Two panels rather than staff bars with the quota across them: transitional
  posts are often a small part of the staff (a few per cent nationally), which bars of the staff
  would show as slivers, and the part of such a bar above the quota line is transitional posts
  less the vacant posts of units below their quota, not the transitional posts.
* ``recruitment``: the people recruited each year, stacked by group, with the year's departures
  as a line.

The :data:`MAX_GROUPS` largest groups (by staff today) get a colour each; the others are drawn
together as one. A chart carries no title: the documents caption it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.choices import OutputFormat
from allocator.pipeline.transition import TransitionPlan
from allocator.report.charts import (
    BLUE,
    GREY,
    RED,
    ChartImage,
    Charts,
    ChartText,
    chart_text,
    covers,
    default_font_path,
    figure_bytes,
    finish_chart,
)
from allocator.report.labels import group_label
from allocator.report.model import Report, T

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_GROUPS = 7  # colours that can be told apart in a stack; more groups are drawn as one
COLOURS = ("#2f5597", "#ed7d31", "#70ad47", "#ffc000", "#5b9bd5", "#a5a5a5", "#9e480e", "#7f6084")
OTHERS = T("其他", "Other")
CAPTIONS = {
    "transition": T("逐年过渡编制（按分组）及在编人数与核定编制数",
                    "Transitional posts by year, by group, with staff and quota"),
    "transition_ungrouped": T("逐年过渡编制及在编人数与核定编制数",
                              "Transitional posts, staff and quota by year"),
    "recruitment": T("逐年补充人员（按分组）与自然减员", "Recruitment by year, by group, and departures"),
    "recruitment_ungrouped": T("逐年补充人员与自然减员", "Recruitment and departures by year"),
}
AFTER = {"transition": "by_year", "recruitment": "recruitment"}  # the table each chart follows


def chart_groups(plan: TransitionPlan, text: ChartText) -> list[tuple[str, np.ndarray]]:
    """The series of the stacks: (name in the chart's language, positions of the units), the
    :data:`MAX_GROUPS` groups with the most staff today first, then the others together; one
    series of every unit (named "") without groups."""
    table = plan.table
    if not table.groups:
        return [("", np.arange(len(table)))]
    labels = np.asarray(table.groups, dtype=object)
    staff = plan.projection.headcount[0]
    order = sorted(dict.fromkeys(table.groups), key=lambda g: -int(staff[labels == g].sum()))
    shown = order if len(order) <= MAX_GROUPS else order[:MAX_GROUPS - 1]
    series = [(_group_name(g, plan, text), np.flatnonzero(labels == g)) for g in shown]
    rest = [g for g in order if g not in shown]
    if rest:
        series.append((OTHERS.get(text.lang), np.flatnonzero(np.isin(labels, rest))))
    return series


def _group_name(group: str, plan: TransitionPlan, text: ChartText) -> str:
    """A group's name in the chart's language; without a CJK font, the value itself when the
    Latin font cannot draw the English name."""
    name = group_label(group, plan.spec).get(text.lang)
    if text.font is None and not covers(default_font_path(), name):
        return group if covers(default_font_path(), group) else "?"
    return name


def _figure(panels: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure of ``panels`` panels above one another, sharing the years; the first one twice as
    tall as the others."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.6, 4.4 if panels == 1 else 5.6), dpi=110, layout="constrained")
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False,
                        height_ratios=[2] + [1] * (panels - 1))[:, 0].tolist()
    return fig, axes


def _years_axis(ax: Axes, years: np.ndarray, text: ChartText, ylabel: T, *,
                xlabel: bool = True) -> None:
    """Year ticks (today as a word; every year up to 20 years, else every fifth), thousands on
    the y axis, a light grid, the legend above the panel (bars first, then lines)."""
    from matplotlib.lines import Line2D

    step = 1 if len(years) <= 21 else 5
    ticks = [y for y in years if y % step == 0]
    ax.set_xticks(ticks, [T("现状", "Today").get(text.lang) if y == 0 else str(y) for y in ticks])
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    if xlabel:
        ax.set_xlabel(T("规划年度", "Year of the plan").get(text.lang))
    ax.set_ylabel(ylabel.get(text.lang))
    ax.yaxis.set_major_formatter("{x:,.0f}")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(handles)), key=lambda k: isinstance(handles[k], Line2D))
    ax.legend([handles[k] for k in order], [labels[k] for k in order], loc="lower left",
              bbox_to_anchor=(0.0, 1.0), ncols=min(4, len(handles)), frameon=False,
              borderaxespad=0.2, fontsize=8)


def _label(what: T, name: str, lang: str) -> str:
    """A series of one group: ``过渡编制：市辖区`` / ``Transitional posts: Districts``."""
    if not name:
        return what.get(lang)
    return f"{what.zh}：{name}" if lang == "zh" else f"{what.en}: {name}"


def transition_chart(plan: TransitionPlan, report: Report, text: ChartText) -> Figure:
    """Above: the transitional posts of each year, stacked by group, their total over each bar.
    Below, on the same years: staff and the quota (the sum of the units' quotas) as lines."""
    p = plan.projection
    years = np.arange(plan.years + 1)
    fig, (top, below) = _figure(2)
    say = text.lang
    bottom = np.zeros(len(years))
    for k, (name, members) in enumerate(chart_groups(plan, text)):
        values = p.transitional[:, members].sum(axis=1)
        top.bar(years, values, width=0.75, bottom=bottom, color=COLOURS[k % len(COLOURS)],
                label=_label(T("过渡编制", "Transitional posts"), name, say))
        bottom += values
    if len(years) <= 21:  # the transitional posts of each year above its bar
        for y in years:
            if bottom[y]:
                top.annotate(f"{int(bottom[y]):,}", (y, bottom[y]), xytext=(0, 2),
                             textcoords="offset points", ha="center", va="bottom", fontsize=6.5,
                             color="#404040")
    top.set_ylim(bottom=0)
    top.margins(y=0.12)
    _years_axis(top, years, text, T("过渡编制", "Transitional posts"), xlabel=False)
    below.plot(years, p.headcount.sum(axis=1), color=BLUE, marker="o", markersize=3,
               linewidth=1.4, label=T("在编人数", "Staff").get(say))
    quota = p.quota.sum(axis=1)
    below.plot(np.repeat(years, 2) + np.tile([-0.5, 0.5], len(years)), np.repeat(quota, 2),
               color=RED, linewidth=1.6, label=T("核定编制数", "Quota").get(say))
    below.margins(y=0.15)
    _years_axis(below, years, text, T("人数", "People"))
    finish_chart(fig, report, text)
    return fig


def recruitment_chart(plan: TransitionPlan, report: Report, text: ChartText) -> Figure:
    """People recruited each year, by group, and the year's departures as a line."""
    p = plan.projection
    years = np.arange(1, plan.years + 1)
    fig, (ax,) = _figure()
    say = text.lang
    bottom = np.zeros(len(years))
    for k, (name, members) in enumerate(chart_groups(plan, text)):
        values = p.recruited[1:, members].sum(axis=1)
        ax.bar(years, values, width=0.75, bottom=bottom, color=COLOURS[k % len(COLOURS)],
               label=_label(T("补充人员", "Recruited"), name, say))
        bottom += values
    ax.plot(years, p.departures[1:].sum(axis=1), color=GREY, marker="o", markersize=3,
            linewidth=1.4, label=T("自然减员", "Departures").get(say))
    ax.set_ylim(bottom=0)
    ax.margins(y=0.1)
    _years_axis(ax, years, text, T("人数", "People"))
    finish_chart(fig, report, text)
    return fig


def render_transition_charts(plan: TransitionPlan, report: Report, lang: str, *,
                             formats: tuple[str, ...] = OutputFormat.charts()) -> Charts:
    """Both charts of a transition plan, as files in ``formats`` and as images for the
    documents (each after its table), captioned in ``lang``."""
    text = chart_text(report, lang)
    grouped = bool(plan.table.groups)
    files: dict[str, bytes] = {}
    images = []
    for name, draw in (("transition", transition_chart), ("recruitment", recruitment_chart)):
        fig = draw(plan, report, text)
        png = figure_bytes(fig, "png")
        caption = CAPTIONS[name if grouped else f"{name}_ungrouped"].get(lang)
        images.append(ChartImage(name, caption, png, AFTER[name]))
        for fmt in formats:
            files[f"{name}.{fmt}"] = png if fmt == "png" else figure_bytes(fig, fmt)
    return Charts(files=files, images=tuple(images), notes=(text.note,) if text.note else ())
