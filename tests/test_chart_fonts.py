"""Charts set their fonts on their own texts: no chart reads or changes matplotlib's global
settings, so no test depends on what ran before it (with or without a CJK font installed)."""

from __future__ import annotations

import warnings

import matplotlib
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from allocator import allocate
from allocator.report import charts, study_charts
from allocator.report.build import build_report
from allocator.report.charts import FontFallbackWarning, render_charts

from .support import HARBIN, run_cli

FAKE_CJK = "DejaVu Serif"  # stands in for a CJK font: any installed family other than the default
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # it has no Chinese


@pytest.fixture(scope="module")
def report():
    return build_report(allocate(HARBIN))


@pytest.fixture
def cjk(monkeypatch):
    """As on a machine with a CJK font, whatever this machine has."""
    monkeypatch.setattr(charts, "cjk_font", lambda: FAKE_CJK)
    monkeypatch.setattr(study_charts, "cjk_font", lambda: FAKE_CJK)


def _families(fig) -> set[tuple[str, ...]]:
    fig.draw_without_rendering()  # tick labels exist once drawn
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    for ax in fig.axes:
        texts += ax.get_xticklabels() + ax.get_yticklabels()
    return {tuple(t.get_fontfamily()) for t in texts}


def test_charts_and_study_charts_leave_matplotlib_settings_alone(report, cjk, tmp_path):
    before = dict(matplotlib.rcParams)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        render_charts(report, "zh", waterfall="230108")
    for args in (["--method", "sweep", "--indicator", "area"], ["--method", "oat"],
                 ["--samples", "50"]):
        out = tmp_path / args[-1]
        done = run_cli("sensitivity", str(HARBIN), *args, "--out", str(out))
        assert done.exit_code == 0, done.output
        assert any(p.suffix == ".png" for p in out.iterdir())
    assert dict(matplotlib.rcParams) == before


def test_every_chart_text_names_its_font_family(report, cjk):
    text = charts.chart_text(report, "zh")
    for fig in (charts.allocation_chart(report, text), charts.per10k_chart(report, text),
                charts.waterfall_chart(report, text, "230108")):
        assert _families(fig) == {(FAKE_CJK, charts.LATIN_FONT)}


@pytest.fixture
def fresh_font_path():
    """The cached default font looked up afresh in this test, and again by the tests after it."""
    charts.default_font_path.cache_clear()
    yield
    charts.default_font_path.cache_clear()


def test_global_font_settings_do_not_reach_the_charts(report, monkeypatch, fresh_font_path):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    with matplotlib.rc_context({"font.family": "serif", "font.sans-serif": [FAKE_CJK]}):
        path = charts.default_font_path()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FontFallbackWarning)
            text = charts.chart_text(report, "en")
        families = _families(charts.allocation_chart(report, text))
    assert path.endswith("DejaVuSans.ttf")
    assert families == {(charts.LATIN_FONT,)}


def _axis_texts(fig) -> list[str]:
    fig.draw_without_rendering()
    out = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.get_yticklabels()]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_study_charts_speak_the_language_with_display_names(lang, cjk, tmp_path, monkeypatch):
    from allocator.report.labels import model_words
    from allocator.studies.batch import fast_allocator
    from allocator.studies.montecarlo import MonteCarloOptions, montecarlo
    from allocator.studies.oneway import oat, sweep

    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: drawn.append(self))
    fast = fast_allocator(HARBIN)
    words = model_words(fast.spec, fast.table)
    text = study_charts.study_text(words, lang)
    study_charts.sweep_chart(sweep(fast, "area", [0.1, 0.3, 0.5]), text, tmp_path / "s.png", top=15)
    study_charts.tornado_chart(oat(fast, 0.05), text, tmp_path / "t.png")
    study_charts.band_chart(montecarlo(fast, MonteCarloOptions(samples=40)), text,
                            tmp_path / "b.png")
    sweep_fig, tornado_fig, band_fig = drawn
    assert len(sweep_fig.axes) == 2  # 15 units: two panels
    assert all(len(ax.get_lines()) <= study_charts.MAX_SERIES + 1 for ax in sweep_fig.axes)
    words_seen = " ".join(_axis_texts(sweep_fig) + _axis_texts(tornado_fig) + _axis_texts(band_fig))
    assert "urban_population" not in words_seen and "townships" not in words_seen
    if lang == "zh":
        assert "面积（平方公里）的权重" in words_seen and "道里区" in words_seen
        assert "注：现有编制数为示意性的虚构数据" in words_seen  # the band chart shows them
    else:
        assert "Weight of Area (km²)" in words_seen and "Daoli" in words_seen
        assert "Note: Current posts are illustrative" in words_seen
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in words_seen)
