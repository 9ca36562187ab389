"""Charts of sensitivity studies, in Chinese or English, with the model's display names
(matplotlib's Figure API: no display, no global settings).

Units are named as in the report (duplicated names told apart); indicators by their display
names. Without a font for Chinese the charts fall back to English words and English unit names
(or ids), as the report's charts do: a chart never shows empty boxes. No panel holds more than
:data:`MAX_SERIES` lines; more units are drawn in further panels. A chart that shows current
posts carries the model's note on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from allocator.ordering import natural_key
from allocator.report.charts import FONT_FIX, cjk_font, covers, default_font_path, use_font
from allocator.report.labels import ModelWords
from allocator.report.model import T

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_SERIES = 8  # lines per panel: more cannot be told apart by colour
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf")


@dataclass(frozen=True)
class StudyText:
    """The words of a study's charts in one language: the model's title, unit and indicator
    names, the note on current posts, the font, and why the language differs from the one
    asked for (None when it does not)."""

    lang: str
    title: str
    units: dict[str, str]
    indicators: dict[str, str]
    actual_note: str | None
    font: str | None
    fallback: T | None = None

    def say(self, text: T) -> str:
        """``text`` in the chart's language."""
        return text.get(self.lang)


def study_text(words: ModelWords, lang: str) -> StudyText:
    """The chart words of a model in ``lang``: Chinese only when a font can draw it."""
    font = cjk_font()
    fallback = None
    if font is None and lang == "zh":
        lang = "en"
        fallback = T(FONT_FIX.zh.format(names_zh="英文单位名称"),
                     FONT_FIX.en.format(names="English unit names"))
    units = {i: name.get(lang) for i, name in words.units.items()}
    if font is None:
        plain = default_font_path()
        units = {i: name if covers(plain, name) else i for i, name in units.items()}
    note = words.actual_note.get(lang) if words.actual_note else None
    return StudyText(lang=lang, title=words.title.get(lang), units=units,
                     indicators={k: v.get(lang) for k, v in words.indicators.items()},
                     actual_note=note, font=font, fallback=fallback)


def unit_label(text: StudyText, unit: str) -> str:
    """``id name`` of a unit (the id alone when the name is the id)."""
    name = text.units.get(unit, unit)
    return unit if name == unit else f"{unit} {name}"


def _figure(rows: int, panels: int = 1, width: float = 9.0) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    height = max(3.5, 0.32 * rows + 1.8) if panels == 1 else 2.6 * panels + 1.2
    fig = Figure(figsize=(width, height), dpi=120, layout="constrained")
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0].tolist()
    return fig, axes


def _save(fig: Figure, text: StudyText, path: Path, note: bool = False) -> None:
    """The note on current posts under the chart (when it shows them), every text in the chart
    font, then a PNG."""
    if note and text.actual_note:
        prefix = "注：" if text.lang == "zh" else "Note: "
        fig.supxlabel(prefix + text.actual_note, x=0.01, ha="left", fontsize=8, color="#404040")
    use_font(fig, text.font)
    fig.savefig(path, format="png")


def _heading(text: StudyText, what: T) -> str:
    return f"{text.title}\n{text.say(what)}"


def sweep_chart(result, text: StudyText, path: Path, top: int = 15) -> None:
    """Each unit's posts against the swept weight: the ``top`` units that move most, at most
    :data:`MAX_SERIES` to a panel."""
    posts = result.posts
    swing = posts.max(axis=0) - posts.min(axis=0)
    ids = result.units["id"].tolist()
    order = sorted(range(len(ids)), key=lambda i: (-swing[i], natural_key(ids[i])))[:top]
    panels = [order[k:k + MAX_SERIES] for k in range(0, len(order), MAX_SERIES)]
    fig, axes = _figure(0, len(panels))
    indicator = text.indicators.get(result.indicator, result.indicator)
    for ax, members in zip(axes, panels, strict=True):
        for k, i in enumerate(members):
            ax.plot(result.values, posts[:, i], marker="o", markersize=3,
                    color=COLOURS[k % len(COLOURS)], label=unit_label(text, ids[i]))
        if np.isfinite(result.model_value):
            ax.axvline(result.model_value, color="grey", linestyle=":", linewidth=1)
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_formatter("{x:,.0f}")
        ax.set_ylabel(text.say(T("优化配置数", "Allocated posts")))
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    if np.isfinite(result.model_value):
        axes[0].annotate(text.say(T("模型权重", "model's weight")), (result.model_value, 1.0),
                         xycoords=("data", "axes fraction"), xytext=(3, -12),
                         textcoords="offset points", fontsize=8, color="grey")
    axes[-1].set_xlabel(text.say(T(f"{indicator}的权重（其余指标按原比例分配）",
                                   f"Weight of {indicator} (the other weights keep their "
                                   "proportions)")))
    shown = len(order) < len(ids)
    axes[0].set_title(_heading(text, T(
        f"{indicator}权重变化时的优化配置数" + (f"（变动最大的{len(order)}个单位）" if shown else ""),
        f"Posts as the weight of {indicator} moves"
        + (f" ({len(order)} of {len(ids):,} units that move most)" if shown else ""))),
        fontsize=10)
    _save(fig, text, path)


def tornado_chart(result, text: StudyText, path: Path, top: int = 15) -> None:
    """Tornado: the (unit, indicator) pairs whose posts swing most when one weight moves ±delta."""
    frame = result.largest(top).iloc[::-1]
    labels = [f"{unit_label(text, u)} · {text.indicators.get(k, k)}"
              for u, k in zip(frame["id"], frame["indicator"], strict=True)]
    fig, (ax,) = _figure(len(frame))
    y = np.arange(len(frame))
    delta = f"{result.delta:g}"
    ax.barh(y, frame["change_down"], color="#d95f02",
            label=text.say(T(f"权重 −{delta}", f"Weight − {delta}")))
    ax.barh(y, frame["change_up"], color="#1b9e77",
            label=text.say(T(f"权重 +{delta}", f"Weight + {delta}")))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.xaxis.set_major_formatter("{x:,.0f}")
    ax.set_xlabel(text.say(T("与模型权重相比的优化配置数变化", "Change in allocated posts against "
                             "the model's weights")))
    ax.set_title(_heading(text, T(
        f"各指标权重分别增减{delta}时变动最大的单位与指标（其余权重按比例调整）",
        f"Largest swings, one weight at a time ± {delta} (the others renormalised)")),
        fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, text, path)


def band_chart(result, text: StudyText, path: Path, top: int = 15) -> None:
    """Bands per unit: min–max line, p5–p95 bar, median dot, current posts (x), base run (|)."""
    summary = result.summary.copy()
    summary["_width"] = summary["alloc_p95"] - summary["alloc_p5"]
    summary["_key"] = summary["id"].map(natural_key)
    limit = max(top, 30)
    if len(summary) > limit:
        summary = summary.sort_values(["_width", "_key"], ascending=[False, True]).head(limit)
    summary = summary.sort_values(["base", "_key"], ascending=[True, False])
    fig, (ax,) = _figure(len(summary))
    y = np.arange(len(summary))
    say = text.say
    ax.hlines(y, summary["alloc_min"], summary["alloc_max"], color="#9ecae1", linewidth=1.2,
              label=say(T("最小–最大", "min – max")))
    ax.hlines(y, summary["alloc_p5"], summary["alloc_p95"], color="#3182bd", linewidth=6,
              label=say(T("5%–95%分位", "p5 – p95")))
    ax.plot(summary["alloc_p50"], y, "o", color="white", markeredgecolor="#08519c",
            markersize=4, label=say(T("中位数", "median")))
    ax.plot(summary["base"], y, "|", color="black", markersize=10,
            label=say(T("模型权重", "model's weights")))
    shows_actual = bool(summary["actual"].notna().all())
    if shows_actual:
        ax.plot(summary["actual"], y, "x", color="#d62728", markersize=6,
                label=say(T("现有编制数", "current posts")))
    ax.set_yticks(y, [unit_label(text, u) for u in summary["id"]], fontsize=8)
    ax.xaxis.set_major_formatter("{x:,.0f}")
    ax.set_xlabel(say(T("优化配置数", "Allocated posts")))
    opts = result.options
    how = T("在单纯形上均匀抽样", "uniform on the simplex") if opts.uniform else \
        T(f"狄利克雷分布，集中度{opts.concentration:g}",
          f"Dirichlet, concentration {opts.concentration:g}")
    shown = len(summary) < len(result.summary)
    which = T(f"；区间最宽的{len(summary)}个单位" if shown else "",
              f"; {len(summary)} of {len(result.summary):,} units with the widest bands"
              if shown else "")
    ax.set_title(_heading(text, T(f"{opts.samples:,}组权重情景下的优化配置数（{how.zh}{which.zh}）",
                                  f"{opts.samples:,} weight scenarios ({how.en}{which.en})")),
                 fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    _save(fig, text, path, note=shows_actual)
