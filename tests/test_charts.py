"""Charts: the numbers of the tables, PNG and SVG, and never a box for a missing glyph."""

from __future__ import annotations

import dataclasses
import warnings
import xml.etree.ElementTree as ET

import pytest
from matplotlib import font_manager, ft2font
from matplotlib.text import Text

from allocator import allocate
from allocator.report import charts
from allocator.report.build import build_report
from allocator.report.charts import (
    FontFallbackWarning,
    allocation_chart,
    chart_text,
    render_charts,
    waterfall_chart,
)
from allocator.report.model import T

from .support import HARBIN


@pytest.fixture(scope="module")
def report():
    return build_report(allocate(HARBIN))


@pytest.fixture
def no_cjk(monkeypatch):
    """As on a machine without Chinese fonts, whatever this machine has."""
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    monkeypatch.setattr(charts, "_warned", set())


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_without_a_cjk_font_charts_fall_back_to_english_names_and_say_so_once(report, no_cjk):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = render_charts(report, "zh", waterfall="230108")
        second = render_charts(report, "zh")
    fallbacks = [w for w in caught if issubclass(w.category, FontFallbackWarning)]
    assert len(fallbacks) == 1
    assert first.notes and first.notes == second.notes
    others = [w for w in caught if not issubclass(w.category, FontFallbackWarning)]
    assert not [w for w in others if "glyph" in str(w.message).lower()
                or "missing from" in str(w.message).lower()]
    text = chart_text(report, "zh")
    assert text.lang == "en" and text.names["230102"] == "Daoli"


def test_every_character_drawn_is_in_the_font_used(report, no_cjk):
    # Independent check: DejaVu Sans's own character map, read directly.
    charmap = ft2font.FT2Font(font_manager.findfont("DejaVu Sans")).get_charmap()
    text = chart_text(report, "zh")
    figures = [allocation_chart(report, text), charts.per10k_chart(report, text),
               waterfall_chart(report, text, "230108")]
    for fig in figures:
        for s in _texts(fig):
            missing = [ch for ch in s if not ch.isspace() and ord(ch) not in charmap]
            assert not missing, s


def test_every_chart_carries_the_illustrative_data_note(report, no_cjk):
    text = chart_text(report, "zh")
    note = allocate(HARBIN).spec.actual_note.en
    for fig in (allocation_chart(report, text), charts.per10k_chart(report, text),
                waterfall_chart(report, text, "230108")):
        assert any(note in s for s in _texts(fig))


def test_without_english_names_the_ids_are_used(report, no_cjk):
    chinese = {i: T(name.zh, name.zh) for i, name in report.unit_names.items()}
    text = chart_text(dataclasses.replace(report, unit_names=chinese), "en")
    assert text.names == {i: i for i in report.table("comparison").column_values("id")}


def test_with_a_cjk_font_the_requested_language_and_names_stay(report, monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: "Some CJK Font")
    text = chart_text(report, "zh")
    assert text.lang == "zh" and text.font == "Some CJK Font" and text.note is None
    assert text.names["230102"] == "道里区"


def test_bars_show_the_table_numbers_sorted(report, no_cjk):
    text = chart_text(report, "en")
    fig = allocation_chart(report, text)
    ax = fig.axes[0]
    table = report.table("comparison")
    allocation = dict(zip(table.column_values("id"), table.column_values("allocation"),
                          strict=True))
    by_name = {text.names[i]: v for i, v in allocation.items()}
    labels = [t.get_text() for t in ax.get_yticklabels()]
    bars = [p for p in ax.patches if p.get_facecolor()[:3] != (0.65, 0.65, 0.65)]
    widths = sorted(ax.containers[1].datavalues.tolist())
    assert widths == sorted(allocation.values())
    assert [by_name[name] for name in labels] == sorted(by_name.values())  # sorted bottom up
    assert len(bars) >= len(allocation)


def test_waterfall_walks_from_parts_to_the_allocation(report, no_cjk):
    text = chart_text(report, "en")
    fig = waterfall_chart(report, text, "230108")
    ax = fig.axes[0]
    table = report.table("explanation")
    i = [k for k, r in enumerate(table.rows) if r.level == "unit"][
        table.column_values("id").index("230108")]
    shown = [c for j, c in enumerate(table.columns) if c.kind != "text"
             and not (c.key.startswith("step:") and table.value(i, j) == 0)]
    numbers = [table.value(i, table.index(c.key)) for c in shown]
    assert len(shown) < len([c for c in table.columns if c.kind != "text"])  # zero steps left out
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(numbers)
    labels = [t.get_text() for t in ax.texts]
    assert not [t for t in labels if t.lstrip("+−-").replace(",", "") in ("0", "0.0")]
    tops = [p.get_y() + p.get_height() for p in ax.patches]
    assert tops[-1] == table.value(i, table.index("allocation"))
    # every part starts where the previous one ended
    level = 0.0
    for patch, column in zip(ax.patches, shown, strict=True):
        if column.key in ("target", "allocation"):
            assert patch.get_height() == pytest.approx(level)
            level = patch.get_height()
        else:
            assert patch.get_y() == pytest.approx(level)
            level += patch.get_height()


def test_png_and_svg_are_valid_and_reproducible(report, no_cjk):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        a = render_charts(report, "en")
        b = render_charts(report, "en")
    assert a.files["allocation.png"].startswith(b"\x89PNG\r\n\x1a\n")
    root = ET.fromstring(a.files["per10k.svg"])
    assert root.tag.endswith("svg")
    assert a.files["per10k.svg"] == b.files["per10k.svg"]


def test_many_units_show_the_thirty_that_change_most(tmp_path, no_cjk):
    rows = [f"U{i},{100 + 37 * i % 500},{(i * 7919) % 300 + 50}" for i in range(70)]
    (tmp_path / "u.csv").write_text("code,pop,posts\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "m.toml").write_text(
        'name = "many"\ndata = "u.csv"\nid = "code"\nactual = "posts"\ncap = 12000\n'
        '[indicators.pop]\ncolumn = "pop"\nweight = 1\n', encoding="utf-8")
    report = build_report(allocate(tmp_path / "m.toml"))
    text = chart_text(report, "en")
    ax = allocation_chart(report, text).axes[0]
    assert ax.get_title() == ""  # the documents caption the chart
    assert "30 units with the largest change" in charts.chart_caption(report, "allocation", "en")
    assert "变化最大的30个单位" in charts.chart_caption(report, "allocation", "zh")
    shown = {t.get_text() for t in ax.get_yticklabels()}
    table = report.table("comparison")
    change = dict(zip(table.column_values("id"), table.column_values("change"), strict=True))
    threshold = sorted((abs(c) for c in change.values()), reverse=True)[29]
    assert len(shown) == 30
    assert all(abs(change[i]) >= threshold for i in shown)


def test_the_waterfall_legend_stays_clear_of_the_bars(report, no_cjk):
    text = chart_text(report, "en")
    fig = waterfall_chart(report, text, "230108")
    fig.draw_without_rendering()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # beside the plot, never over the line
    assert "Current posts" in ax.get_legend().get_texts()[0].get_text()


def test_axes_have_thousands_separators(report, no_cjk):
    text = chart_text(report, "en")
    for fig in (allocation_chart(report, text), charts.per10k_chart(report, text)):
        formatter = fig.axes[0].xaxis.get_major_formatter()
        assert formatter(4000, 0) == "4,000"


def test_no_cjk_font_refreshes_the_font_list_once_and_names_the_fix(monkeypatch):
    found = iter([None, "Noto Sans CJK SC"])
    calls = []
    monkeypatch.setattr(charts, "_find_cjk_font", lambda: next(found))
    monkeypatch.setattr(charts, "refresh_font_list", lambda: calls.append(1) or 3)
    charts.cjk_font.cache_clear()
    try:
        assert charts.cjk_font() == "Noto Sans CJK SC" and calls == [1]
        assert charts.cjk_font() == "Noto Sans CJK SC" and calls == [1]  # once per process
    finally:
        charts.cjk_font.cache_clear()
    fix = charts.FONT_FIX
    assert "apt-get install fonts-noto-cjk" in fix.en and "Windows" in fix.en
    assert "apt-get install fonts-noto-cjk" in fix.zh and "微软雅黑" in fix.zh


def test_refresh_adds_fonts_installed_since_the_cache(monkeypatch, tmp_path):
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = list(manager.ttflist)
    added = []
    monkeypatch.setattr(font_manager, "findSystemFonts",
                        lambda *a, **k: [e.fname for e in known[:1]] + ["/new/font.ttf"])
    monkeypatch.setattr(manager, "addfont", lambda path: added.append(path))
    monkeypatch.setattr(font_manager, "json_dump", lambda fm, path: added.append(str(path)))
    assert charts.refresh_font_list() == 1
    assert added[0] == "/new/font.ttf" and added[1].endswith(".json")  # and saved for next time
