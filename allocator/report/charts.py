"""Charts for planning documents (matplotlib's Figure API, PNG and SVG), drawn from the report's
tables.

* allocation against current posts per unit, sorted;
* posts per 10,000 residents, current and allocated;
* the waterfall of one unit: its target by indicator, then each adjustment, then the allocation.

A chart carries no title: every document numbers and captions it (图1 / Figure 1), so the title
is not said twice; :func:`chart_caption` gives the caption.

Chinese text needs a CJK-capable font. When none is found, matplotlib's font list is rebuilt
once from the fonts installed now (its cache can predate a font installed since) and the search
repeated; when there is still none, the charts use English words and English unit names (the
model's ``label_en`` column, or the ids) and say so once, naming the fix for each platform, with a
:class:`FontFallbackWarning`: a chart never shows boxes for missing glyphs.

No chart reads or changes matplotlib's global settings (``rcParams``) for its fonts: every text
is given its font family (:func:`use_font`), so charts look the same whatever ran before.

>>> from allocator import allocate
>>> from allocator.report.build import build_report
>>> charts = render_charts(build_report(allocate("models/harbin_2020.toml")), "en")  # doctest: +SKIP
>>> sorted(charts.files)                                                           # doctest: +SKIP
['allocation.png', 'allocation.svg', 'per10k.png', 'per10k.svg']
>>> chart_caption(build_report(allocate("models/harbin_2020.toml")), "per10k", "zh")  # doctest: +SKIP
'每万人编制数（调整前后）'
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
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
MAX_BARS = 30  # more bars cannot be read on a printed page
BLUE, GREY, GREEN, RED = "#2f5597", "#a6a6a6", "#548235", "#c00000"


TITLES = {
    "allocation": T("各单位优化配置数与现有编制数", "Allocation and current posts, by unit"),
    "allocation_only": T("各单位优化配置数", "Allocation, by unit"),
    "per10k": T("各单位每万人编制数（调整前后）", "Posts per 10,000 residents, current and allocated"),
    "per10k_only": T("各单位每万人编制数", "Posts per 10,000 residents, by unit"),
}
FONT_FIX = T("未找到中文字体，图中文字改用英文及{names_zh}。安装中文字体后重新运行即可显示中文："
             "Debian/Ubuntu 运行 apt-get install fonts-noto-cjk，Fedora 运行 "
             "dnf install google-noto-sans-cjk-fonts；macOS 与 Windows 自带中文字体"
             "（苹方；微软雅黑、黑体）。",
             "no font with Chinese glyphs was found, so charts use English words and {names}. "
             "To draw Chinese, install a CJK font and run again: Debian/Ubuntu "
             "'apt-get install fonts-noto-cjk', Fedora 'dnf install google-noto-sans-cjk-fonts'; "
             "macOS and Windows have one built in (PingFang SC; Microsoft YaHei, SimHei).")


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


def _find_cjk_font() -> str | None:
    from matplotlib import font_manager

    entries = sorted(font_manager.fontManager.ttflist,
                     key=lambda e: (PREFERRED_CJK.index(e.name) if e.name in PREFERRED_CJK
                                    else len(PREFERRED_CJK), e.name))
    for entry in entries:
        if not entry.name.startswith("Last Resort") and covers(entry.fname, CJK_PROBE):
            return entry.name
    return None


def refresh_font_list() -> int:
    """Add the fonts installed since matplotlib cached its font list (e.g. after
    ``apt-get install fonts-noto-cjk``) to that list, and save it for later runs; returns how
    many font files were added."""
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {entry.fname for entry in manager.ttflist}
    added = 0
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                manager.addfont(path)
                added += 1
            except (OSError, RuntimeError, ValueError):  # not a font matplotlib can read
                continue
    if added:
        cache = Path(matplotlib.get_cachedir(), f"fontlist-v{manager.__version__}.json")
        with contextlib.suppress(OSError):  # a read-only cache: rebuilt in memory on every run
            font_manager.json_dump(manager, cache)
    return added


@functools.cache
def cjk_font() -> str | None:
    """Family name of an installed font that can draw Chinese, or None. When matplotlib's font
    list has none, it is refreshed once (:func:`refresh_font_list`) and searched again."""
    found = _find_cjk_font()
    if found is None and refresh_font_list():
        found = _find_cjk_font()
    return found


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
    note: T | None = None


_warned: set[str] = set()


def chart_text(report: Report, lang: str) -> ChartText:
    """Pick the chart language and unit names so that every glyph can be drawn.

    The units are those of the report's comparison table (without one, every unit it names).
    With a CJK font: as asked, unit names in that language. Without one, Chinese words fall back
    to English and Chinese unit names to the English names (or ids); a
    :class:`FontFallbackWarning` says so once per process, with the fix for each platform.
    """
    has_units = any(t.key == "comparison" for t in report.tables)
    ids = report.table("comparison").column_values("id") if has_units else list(report.unit_names)
    names = {i: report.unit_names[i].get(lang) if i in report.unit_names else i for i in ids}
    font = cjk_font()
    if font is not None:
        return ChartText(lang, font, names)
    plain = default_font_path()
    english = {i: report.unit_names[i].en if i in report.unit_names else i for i in ids}
    if lang == "en" and all(covers(plain, name) for name in english.values()):
        return ChartText(lang, None, english)
    english = {i: name if covers(plain, name) else i for i, name in english.items()}
    named = any(english[i] != i for i in ids)
    note = T(FONT_FIX.zh.format(names_zh="英文单位名称" if named else "单位代码"),
             FONT_FIX.en.format(names="English unit names" if named else "unit ids"))
    if note.en not in _warned:
        _warned.add(note.en)
        warnings.warn(note.en, FontFallbackWarning, stacklevel=3)
    return ChartText("en", None, english, note)


def finish_chart(fig: Figure, report: Report, text: ChartText) -> None:
    """Put the report's notes (e.g. illustrative current posts) under the chart, in the chart's
    language when its glyphs can be drawn, else in English, else a pointer to the model's note;
    then give every text the chart's font."""
    lines = []
    for note in report.notes:
        line = ("注：" if text.lang == "zh" else "Note: ") + note.get(text.lang)
        if text.font is None and not covers(default_font_path(), line):
            line = "Note: " + note.en
            if not covers(default_font_path(), line):
                line = "Note: see the model file's note on the current posts."
        lines.append(line)
    if lines:
        fig.supxlabel("\n".join(lines), x=0.01, ha="left", fontsize=8, color="#404040")
    use_font(fig, text.font)


def _figure(height: float, width: float = 7.2) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _units(table: Table, keys: list[str]) -> list[dict]:
    """Unit rows of a table as dicts of the given column keys (values as every format shows)."""
    idx = [table.index(k) for k in keys]
    return [{k: table.value(i, j) for k, j in zip(keys, idx, strict=True)}
            for i, row in enumerate(table.rows) if row.level == "unit"]


LARGEST_CHANGE = T("变化最大的{n}个单位", "{n} units with the largest change")
LARGEST_VALUE = T("数值最大的{n}个单位", "{n} largest units")


def _limit(units: list[dict], key: str) -> list[dict]:
    """At most MAX_BARS units: those with the largest |key| (the caption says so)."""
    if len(units) <= MAX_BARS:
        return units
    return sorted(units, key=lambda u: -abs(u[key] or 0))[:MAX_BARS]


def _has(table: Table, key: str) -> bool:
    return any(c.key == key for c in table.columns)


def chart_caption(report: Report, name: str, lang: str) -> str:
    """Caption of chart ``name`` (``allocation``, ``per10k`` or ``waterfall_<id>``) in
    ``lang``: its title, and which units it shows when it cannot show them all."""
    table = report.table("comparison")
    has_actual = _has(table, "actual")
    if name.startswith("waterfall_"):
        unit = name.removeprefix("waterfall_")
        label = report.unit_names.get(unit)
        return waterfall_title(label.get(lang) if label else unit).get(lang)
    key = name if has_actual else f"{name}_only"
    title = TITLES[key].get(lang)
    units = sum(row.level == "unit" for row in table.rows)
    if units <= MAX_BARS:
        return title
    which = (LARGEST_CHANGE if has_actual else LARGEST_VALUE).get(lang).format(n=MAX_BARS)
    return title + (f"（{which}）" if lang == "zh" else f" ({which})")


def allocation_chart(report: Report, text: ChartText):
    """Horizontal bars per unit, largest allocation on top: current posts and allocation."""
    table = report.table("comparison")
    has_actual = _has(table, "actual")
    units = _units(table, ["id", "allocation"] + (["actual", "change"] if has_actual else []))
    units = _limit(units, "change" if has_actual else "allocation")
    fig, ax = _paired_bars(units, text, before=("actual", T("现有编制数", "Current posts"))
                           if has_actual else None,
                           after=("allocation", T("优化配置数", "Allocation")),
                           xlabel=T("编制数", "Posts"))
    finish_chart(fig, report, text)
    return fig


def _paired_bars(units: list[dict], text: ChartText, *, before: tuple[str, T] | None,
                 after: tuple[str, T], xlabel: T):
    """Horizontal bars per unit, sorted by the ``after`` value (largest on top): a grey bar for
    ``before`` (when given) beside a blue bar for ``after``; the legend above the bars, the axis
    with thousands separators."""
    after_key, after_label = after
    units = sorted(units, key=lambda u: u[after_key])
    fig = _figure(max(3.0, 0.28 * len(units) + 1.4))
    ax = fig.add_subplot()
    y = list(range(len(units)))
    if before is not None:
        before_key, before_label = before
        ax.barh([v - 0.2 for v in y], [u[before_key] for u in units], height=0.4, color=GREY,
                label=before_label.get(text.lang))
    ax.barh([v + (0.2 if before else 0) for v in y], [u[after_key] for u in units],
            height=0.4 if before else 0.7, color=BLUE, label=after_label.get(text.lang))
    ax.set_yticks(y, [text.names[u["id"]] for u in units])
    ax.set_ylim(-0.6, len(units) - 0.4)
    ax.set_xlabel(xlabel.get(text.lang))
    ax.xaxis.set_major_formatter("{x:,.0f}")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False,
              borderaxespad=0.2)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def per10k_chart(report: Report, text: ChartText):
    """Posts per 10,000 residents per unit, current and allocated; None without population."""
    table = report.table("comparison")
    if not _has(table, "per10k_after"):
        return None
    before = _has(table, "per10k_before")
    units = [u for u in _units(table, ["id", "per10k_after"] + (["per10k_before"] if before else []))
             if u["per10k_after"] is not None]  # units without residents have no figure
    for u in units:
        u["gap"] = u["per10k_after"] - (u.get("per10k_before") or 0)
    units = _limit(units, "gap")
    fig, _ = _paired_bars(units, text, before=("per10k_before", T("调整前", "Current"))
                          if before else None,
                          after=("per10k_after", T("调整后", "Allocated") if before
                                 else T("每万人编制数", "Posts per 10,000 residents")),
                          xlabel=T("每万人编制数", "Posts per 10,000 residents"))
    finish_chart(fig, report, text)
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
    allocation (adjustments of zero are left out); current posts as a dashed line, named in a
    legend beside the plot, when known."""
    table = report.table("explanation")
    headers = {c.key: c for c in table.columns}
    parts = [p for p in waterfall_parts(report, unit_id)
             if not (p[0].startswith("step:") and p[1] == 0)]
    fig = _figure(4.6, 7.6)
    ax = fig.add_subplot()
    level = 0.0
    names = []
    reached = [0.0]  # every level a bar starts or ends at
    for x, (key, value, kind) in enumerate(parts):
        reached += [level, level + value] if kind == "part" else [value]
        column = headers[key]
        names.append(column.header(text.lang))
        if kind == "total":
            ax.bar(x, value, color=BLUE)
            level = value
            ax.annotate(f"{value:,.1f}" if key == "target" else f"{value:,.0f}", (x, value),
                        ha="center", va="bottom", fontsize=8)
            continue
        colour = GREEN if value >= 0 else RED
        ax.bar(x, value, bottom=level, color=colour if key.startswith("step:") else "#8faadc")
        if value != 0:
            sign = "+" if value > 0 else "−"
            ax.annotate(f"{sign}{abs(value):,.1f}", (x, max(level, level + value)),
                        ha="center", va="bottom", fontsize=8)
        level += value
    comparison = report.table("comparison")
    if _has(comparison, "actual"):
        actual = dict(zip(comparison.column_values("id"), comparison.column_values("actual"),
                          strict=True))[unit_id]
        ax.axhline(actual, color=GREY, linestyle="--", linewidth=1,
                   label=T(f"现有编制数\n{actual:,}", f"Current posts\n{actual:,}").get(text.lang))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    # Room above the highest bar for its label (a bar that falls from the top would otherwise
    # pin the axis to its top, the label on the frame), below the lowest when one goes below 0.
    low, high = min(reached), max(reached)
    room = 0.12 * (high - low or 1.0)
    ax.set_ylim(low - room if low < 0 else 0.0, high + room)
    ax.set_xticks(range(len(parts)), names, rotation=30, ha="right", fontsize=8)
    ax.yaxis.set_major_formatter("{x:,.0f}")
    ax.set_ylabel(T("编制数", "Posts").get(text.lang))
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    finish_chart(fig, report, text)
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
class ChartImage:
    """One chart for a document: its file name stem, its caption in the document's language, its
    PNG and the key of the table the documents show it after."""

    name: str
    caption: str
    png: bytes
    table: str


@dataclass(frozen=True)
class Charts:
    """Rendered charts: file name -> bytes, the PNGs for documents (with their captions, in the
    requested language), and notes in both languages (e.g. the font fallback)."""

    files: dict[str, bytes] = field(default_factory=dict)
    images: tuple[ChartImage, ...] = ()
    notes: tuple[T, ...] = ()


def render_charts(report: Report, lang: str, *, waterfall: str | None = None,
                  formats: tuple[str, ...] = OutputFormat.charts()) -> Charts:
    """Draw every chart (and the waterfall of unit id ``waterfall``) in ``formats``."""
    text = chart_text(report, lang)
    drawn = [("allocation", allocation_chart(report, text)), ("per10k", per10k_chart(report, text))]
    if waterfall is not None:
        drawn.append((f"waterfall_{waterfall}", waterfall_chart(report, text, waterfall)))
    files: dict[str, bytes] = {}
    images = []
    for name, fig in drawn:
        if fig is None:
            continue
        png = figure_bytes(fig, "png")
        after = "explanation" if name.startswith("waterfall_") else "comparison"
        images.append(ChartImage(name, chart_caption(report, name, lang), png, after))
        for fmt in formats:
            files[f"{name}.{fmt}"] = png if fmt == "png" else figure_bytes(fig, fmt)
    return Charts(files=files, images=tuple(images), notes=(text.note,) if text.note else ())
