"""Charts for planning documents (matplotlib's Figure API, PNG and SVG), drawn from the report's
tables.

* allocation against current posts per unit, sorted;
* posts per 10,000 residents, current and allocated;
* the waterfall of one unit: its target by indicator, then each adjustment, then the allocation.

Chinese text needs a CJK-capable font. When none is installed the charts use English titles and
English unit names (the model's ``label_en`` column, or the ids) and say so once, with a
:class:`FontFallbackWarning`: a chart never shows boxes for missing glyphs.

No chart reads or changes matplotlib's global settings (``rcParams``) for its fonts: every text
is given its font family (:func:`use_font`), so charts look the same whatever ran before.

>>> from allocator import allocate
>>> from allocator.report.build import build_report
>>> charts = render_charts(build_report(allocate("models/harbin_2020.toml")), "en")  # doctest: +SKIP
>>> sorted(charts.files)                                                           # doctest: +SKIP
['allocation.png', 'allocation.svg', 'per10k.png', 'per10k.svg']
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from allocator.choices import OutputFormat
from allocator.report.model import Report, T, Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CJK_PROBE = "编制数优化配置现有"
PREFERRED_CJK = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                 "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
                 "Sarasa Gothic SC", "AR PL UMing CN")
LATIN_FONT = "DejaVu Sans"  # ships with matplotlib, so it is always there
SVG_SALT = "allocator"  # fixed ids in SVG files, so that runs are reproducible
MAX_BARS = 60
BLUE, GREY, GREEN, RED = "#2f5597", "#a6a6a6", "#548235", "#c00000"


TITLES = {
    "allocation": T("优化配置数与现有编制数", "Allocation and current posts, by unit"),
    "allocation_only": T("优化配置数", "Allocation, by unit"),
    "per10k": T("每万人编制数", "Posts per 10,000 residents"),
}


def waterfall_title(name: str) -> T:
    """Title of a unit's waterfall."""
    return T(f"{name}：从零基测算数到优化配置数", f"{name}: from zero-based target to allocation")


class FontFallbackWarning(UserWarning):
    """Charts fell back to English labels because no font can draw the Chinese text."""


@functools.cache
def _charmap(path: str) -> dict[int, int]:
    from matplotlib import ft2font

    try:
        return dict(ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return {}


def covers(path: str, text: str) -> bool:
    """Whether the font file at ``path`` has a real glyph for every visible character of
    ``text``. A placeholder font (such as "Last Resort", which draws one box per Unicode block)
    maps different characters of a block to one glyph, so does not count.

    >>> covers(default_font_path(), "Daoli 12,345"), covers(default_font_path(), "道里区")
    (True, False)
    """
    charmap = _charmap(path)
    chars = {ord(ch) for ch in text if not ch.isspace()}
    if not all(c in charmap for c in chars):
        return False
    wide = [c for c in chars if c > 0x2E7F]  # CJK and beyond: distinct characters, distinct glyphs
    return len({charmap[c] for c in wide}) == len(wide)


@functools.cache
def cjk_font() -> str | None:
    """Family name of an installed font that can draw Chinese, or None."""
    from matplotlib import font_manager

    entries = sorted(font_manager.fontManager.ttflist,
                     key=lambda e: (PREFERRED_CJK.index(e.name) if e.name in PREFERRED_CJK
                                    else len(PREFERRED_CJK), e.name))
    for entry in entries:
        if not entry.name.startswith("Last Resort") and covers(entry.fname, CJK_PROBE):
            return entry.name
    return None


@functools.cache
def default_font_path() -> str:
    """The file of the font charts draw Latin text with (and every text, without a CJK font)."""
    from matplotlib import font_manager

    return font_manager.findfont(font_manager.FontProperties(family=LATIN_FONT))


def font_family(font: str | None) -> list[str]:
    """The font family of every chart text: the CJK font (when there is one), then the Latin
    font for what it lacks.

    >>> font_family(None), font_family("Noto Sans CJK SC")
    (['DejaVu Sans'], ['Noto Sans CJK SC', 'DejaVu Sans'])
    """
    return [font, LATIN_FONT] if font else [LATIN_FONT]


def use_font(fig: Figure, font: str | None) -> None:
    """Give every text of ``fig`` (tick labels drawn later included) the family
    :func:`font_family` names, whatever matplotlib's global settings say."""
    from matplotlib.text import Text

    family = font_family(font)
    for ax in fig.axes:
        ax.tick_params(which="both", labelfontfamily=family)
    for text in fig.findobj(Text):
        text.set_fontfamily(family)


@dataclass(frozen=True)
class ChartText:
    """Language and unit names the charts use, and why they differ from what was asked."""

    lang: str
    font: str | None
    names: dict[str, str]
    note: str | None = None


_warned: set[str] = set()


def chart_text(report: Report, lang: str) -> ChartText:
    """Pick the chart language and unit names so that every glyph can be drawn.

    With a CJK font: as asked, unit names as in the table. Without one, Chinese titles fall back
    to English and Chinese unit names to the English names (or ids); a
    :class:`FontFallbackWarning` says so once per process.
    """
    table = report.table("comparison")
    ids = table.column_values("id")
    has_label = any(c.key == "label" for c in table.columns)
    labels = table.column_values("label") if has_label else ids
    names = dict(zip(ids, labels, strict=True))
    font = cjk_font()
    if font is not None:
        return ChartText(lang, font, names)
    plain = default_font_path()
    names_ok = all(covers(plain, name) for name in names.values())
    if lang == "en" and names_ok:
        return ChartText(lang, None, names)
    english = {i: report.names_en.get(i, i) for i in ids}
    english = {i: name if covers(plain, name) else i for i, name in english.items()}
    named = any(report.names_en.get(i, i) != i for i in ids)
    note = ("no font with Chinese glyphs is installed: charts use English labels and "
            f"{'English unit names' if named else 'unit ids'}")
    if note not in _warned:
        _warned.add(note)
        warnings.warn(note, FontFallbackWarning, stacklevel=3)
    return ChartText("en", None, english, note)


def _finish(fig: Figure, report: Report, text: ChartText) -> None:
    """Put the report's notes (e.g. illustrative current posts) under the chart, in the chart's
    language when its glyphs can be drawn, else in English, else a pointer to the model's note;
    then give every text the chart's font."""
    lines = []
    for note in report.notes:
        line = ("注：" if text.lang == "zh" else "Note: ") + note.get(text.lang)
        if text.font is None and not covers(default_font_path(), line):
            line = "Note: " + note.en
            if not covers(default_font_path(), line):
                line = "Note: see the model's note on current posts (actual_note)."
        lines.append(line)
    if lines:
        fig.supxlabel("\n".join(lines), x=0.01, ha="left", fontsize=7, color="#404040")
    use_font(fig, text.font)


def _figure(height: float, width: float = 9.0) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _units(table: Table, keys: list[str]) -> list[dict]:
    """Unit rows of a table as dicts of the given column keys (values as every format shows)."""
    idx = [table.index(k) for k in keys]
    return [{k: table.value(i, j) for k, j in zip(keys, idx, strict=True)}
            for i, row in enumerate(table.rows) if row.level == "unit"]


LARGEST_CHANGE = T("变化最大的{n}个单位", "{n} units with the largest change")
LARGEST_VALUE = T("数值最大的{n}个单位", "{n} largest units")


def _limit(units: list[dict], key: str, title: str, lang: str,
           which: T) -> tuple[list[dict], str]:
    """At most MAX_BARS units: those with the largest |key|, said in the title."""
    if len(units) <= MAX_BARS:
        return units, title
    top = sorted(units, key=lambda u: -abs(u[key] or 0))[:MAX_BARS]
    what = which.get(lang).format(n=MAX_BARS)
    return top, title + (f"（{what}）" if lang == "zh" else f" ({what})")


def allocation_chart(report: Report, text: ChartText):
    """Horizontal bars per unit, largest allocation on top: current posts and allocation."""
    table = report.table("comparison")
    keys = [c.key for c in table.columns]
    has_actual = "actual" in keys
    units = _units(table, ["id", "allocation"] + (["actual", "change"] if has_actual else []))
    title = TITLES["allocation" if has_actual else "allocation_only"]
    units, heading = _limit(units, "change" if has_actual else "allocation", title.get(text.lang),
                            text.lang, LARGEST_CHANGE if has_actual else LARGEST_VALUE)
    fig, ax = _paired_bars(units, text, before=("actual", T("现有编制数", "Current posts"))
                           if has_actual else None,
                           after=("allocation", T("优化配置数", "Allocation")),
                           xlabel=T("编制数", "Posts"), title=heading)
    ax.xaxis.set_major_formatter("{x:,.0f}")
    _finish(fig, report, text)
    return fig


def _paired_bars(units: list[dict], text: ChartText, *, before: tuple[str, T] | None,
                 after: tuple[str, T], xlabel: T, title: str):
    """Horizontal bars per unit, sorted by the ``after`` value (largest on top): a grey bar for
    ``before`` (when given) beside a blue bar for ``after``."""
    after_key, after_label = after
    units = sorted(units, key=lambda u: u[after_key])
    fig = _figure(max(3.0, 0.28 * len(units) + 1.2))
    ax = fig.add_subplot()
    y = list(range(len(units)))
    if before is not None:
        before_key, before_label = before
        ax.barh([v - 0.2 for v in y], [u[before_key] for u in units], height=0.4, color=GREY,
                label=before_label.get(text.lang))
    ax.barh([v + (0.2 if before else 0) for v in y], [u[after_key] for u in units],
            height=0.4 if before else 0.7, color=BLUE, label=after_label.get(text.lang))
    ax.set_yticks(y, [text.names[u["id"]] for u in units])
    ax.set_xlabel(xlabel.get(text.lang))
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig, ax


def per10k_chart(report: Report, text: ChartText):
    """Posts per 10,000 residents per unit, current and allocated; None without population."""
    table = report.table("comparison")
    keys = [c.key for c in table.columns]
    if "per10k_after" not in keys:
        return None
    before = "per10k_before" in keys
    units = [u for u in _units(table, ["id", "per10k_after"] + (["per10k_before"] if before else []))
             if u["per10k_after"] is not None]  # units without residents have no figure
    title = TITLES["per10k"].get(text.lang)
    if len(units) > MAX_BARS:
        for u in units:
            u["gap"] = u["per10k_after"] - (u.get("per10k_before") or 0)
        units, title = _limit(units, "gap", title, text.lang,
                              LARGEST_CHANGE if before else LARGEST_VALUE)
    fig, _ = _paired_bars(units, text, before=("per10k_before", T("调整前", "Current"))
                          if before else None,
                          after=("per10k_after", T("调整后", "Allocated")),
                          xlabel=T("每万人编制数", "Posts per 10,000 residents"), title=title)
    _finish(fig, report, text)
    return fig


def waterfall_parts(report: Report, unit_id: str) -> list[tuple[str, float, str]]:
    """``(column key, posts, kind)`` of one unit's waterfall, kind ``part`` or ``total``, read
    from the explanation table (so the chart shows the table's numbers)."""
    table = report.table("explanation")
    ids = table.column_values("id")
    if unit_id not in ids:
        raise KeyError(unit_id)
    i = [k for k, row in enumerate(table.rows) if row.level == "unit"][ids.index(unit_id)]
    out = []
    for j, column in enumerate(table.columns):
        if column.kind == "text":
            continue
        kind = "total" if column.key in ("target", "allocation") else "part"
        out.append((column.key, table.value(i, j), kind))
    return out


def waterfall_chart(report: Report, text: ChartText, unit_id: str):
    """Waterfall of one unit: indicator parts build the target, adjustments lead to the
    allocation; current posts as a dashed line when known."""
    table = report.table("explanation")
    headers = {c.key: c for c in table.columns}
    parts = waterfall_parts(report, unit_id)
    fig = _figure(4.8, 9.5)
    ax = fig.add_subplot()
    level = 0.0
    names = []
    for x, (key, value, kind) in enumerate(parts):
        column = headers[key]
        names.append(column.header(text.lang) if text.lang == "zh" or text.font else column.en)
        if kind == "total":
            ax.bar(x, value, color=BLUE)
            level = value
            ax.annotate(f"{value:,.1f}" if key == "target" else f"{value:,.0f}", (x, value),
                        ha="center", va="bottom", fontsize=8)
            continue
        colour = GREEN if value >= 0 else RED
        ax.bar(x, value, bottom=level, color=colour if key.startswith("step:") else "#8faadc")
        ax.annotate(f"{value:+,.1f}", (x, max(level, level + value)), ha="center", va="bottom",
                    fontsize=8)
        level += value
    comparison = report.table("comparison")
    if any(c.key == "actual" for c in comparison.columns):
        actual = dict(zip(comparison.column_values("id"), comparison.column_values("actual"),
                          strict=True))[unit_id]
        ax.axhline(actual, color=GREY, linestyle="--", linewidth=1,
                   label=T(f"现有编制数 {actual:,}", f"Current posts {actual:,}").get(text.lang))
        ax.legend(loc="upper right")
    ax.margins(y=0.12)
    ax.set_xticks(range(len(parts)), names, rotation=30, ha="right", fontsize=8)
    ax.yaxis.set_major_formatter("{x:,.0f}")
    name = text.names.get(unit_id, unit_id)
    ax.set_title(waterfall_title(name).get(text.lang))
    ax.set_ylabel(T("编制数", "Posts").get(text.lang))
    ax.grid(axis="y", alpha=0.3)
    _finish(fig, report, text)
    return fig


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes (no timestamps and fixed SVG ids, so runs are
    reproducible). matplotlib takes the SVG id salt from ``rcParams`` only: it is set for the
    length of the save and restored."""
    import matplotlib

    buffer = io.BytesIO()
    if fmt == "svg":
        with matplotlib.rc_context({"svg.hashsalt": SVG_SALT}):
            fig.savefig(buffer, format=fmt, metadata={"Date": None})
    else:
        fig.savefig(buffer, format=fmt, metadata={"Software": None})
    return buffer.getvalue()


@dataclass(frozen=True)
class Charts:
    """Rendered charts: file name -> bytes, PNGs by caption (in the requested language, for the
    HTML report), and notes (e.g. the font fallback)."""

    files: dict[str, bytes] = field(default_factory=dict)
    inline: dict[str, bytes] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def render_charts(report: Report, lang: str, *, waterfall: str | None = None,
                  formats: tuple[str, ...] = OutputFormat.charts()) -> Charts:
    """Draw every chart (and the waterfall of unit id ``waterfall``) in ``formats``."""
    text = chart_text(report, lang)
    figures = [("allocation", allocation_chart), ("per10k", per10k_chart)]
    has_actual = any(c.key == "actual" for c in report.table("comparison").columns)
    captions = {"allocation": TITLES["allocation" if has_actual else "allocation_only"].get(lang),
                "per10k": TITLES["per10k"].get(lang)}
    if waterfall is not None:
        table = report.table("comparison")
        labels = table.column_values("label") if any(c.key == "label" for c in table.columns) \
            else table.column_values("id")
        name = dict(zip(table.column_values("id"), labels, strict=True)).get(waterfall, waterfall)
        captions[f"waterfall_{waterfall}"] = waterfall_title(name).get(lang)
    files: dict[str, bytes] = {}
    inline: dict[str, bytes] = {}
    drawn = [(name, make(report, text)) for name, make in figures]
    if waterfall is not None:
        drawn.append((f"waterfall_{waterfall}", waterfall_chart(report, text, waterfall)))
    for name, fig in drawn:
        if fig is None:
            continue
        png = figure_bytes(fig, "png")
        inline[captions[name]] = png
        for fmt in formats:
            files[f"{name}.{fmt}"] = png if fmt == "png" else figure_bytes(fig, fmt)
    return Charts(files=files, inline=inline, notes=(text.note,) if text.note else ())
