"""The transition chapter: every format read back with its own reader holds the plan's numbers
(years, the year each unit reaches its quota, recruitment by unit), one language per document,
the charts in PNG and SVG, and the folder written whole with the plan's own files unchanged."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from docx import Document
from matplotlib.text import Text
from openpyxl import load_workbook

from allocator.core.transition import NEVER
from allocator.outputs.folders import MANIFEST
from allocator.outputs.transition import write_transition
from allocator.pipeline import plan_transition
from allocator.report import charts
from allocator.report.charts import FontFallbackWarning, chart_text
from allocator.report.labels import has_cjk
from allocator.report.transition import (
    TransitionReportOptions,
    build_transition_report,
    late_text,
    write_transition_report,
    year_spans,
)
from allocator.report.transition_charts import recruitment_chart, transition_chart

from .support import (
    HARBIN,
    HtmlReader,
    document_texts,
    pipe_tables,
    run_cli,
    transition_model,
    write_csv,
    write_model,
)

DAY = datetime.date(2025, 1, 15)
YEARS = 12  # longer than the unit tables show year by year, too short for every unit
PROPER_NAMES = ("Hamilton", "HiGHS", "SHA-256", "allocator")
DOCUMENTS = ("csv", "xlsx", "docx", "html", "md")


@pytest.fixture(scope="module")
def plan():
    return plan_transition(HARBIN, {"years": YEARS, "pool": 300}, allow_unfinished=True)


@pytest.fixture(scope="module", params=["zh", "en"])
def written(request, plan, tmp_path_factory):
    lang = request.param
    out = tmp_path_factory.mktemp(f"transition_{lang}") / "t"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        output = write_transition_report(plan, out, TransitionReportOptions(lang=lang, date=DAY))
    return lang, out, output


# -- reading the documents back ------------------------------------------------------------------


def _header(cells: list[str], lang: str) -> list[str]:
    """Headers on one line (DOCX and XLSX break long headers between words)."""
    return [c.replace("\n", "" if lang == "zh" else " ") for c in cells]


def _tables(out: Path, fmt: str, keys: list[str], lang: str) -> dict[str, list[list[str]]]:
    """Every table of the chapter as rows of cell text (the header first), read from ``fmt``."""
    if fmt == "csv":
        found = {}
        for key in keys:
            rows = list(csv.reader(io.StringIO((out / f"{key}.csv").read_text("utf-8-sig"))))
            found[key] = rows[:rows.index([])]
        return found
    if fmt == "xlsx":
        book = load_workbook(out / "report.xlsx")
        grids = []
        for sheet in book.worksheets[:len(keys)]:
            rows = []
            for row in sheet.iter_rows(min_row=2):
                values = [c.value for c in row]
                if all(v is None for v in values):
                    break
                rows.append(["" if v is None else f"{v:,}" if isinstance(v, int) else str(v)
                             for v in values])
            grids.append(rows)
    elif fmt == "docx":
        grids = [[[cell.text for cell in row.cells] for row in grid.rows]
                 for grid in Document(out / "report.docx").tables]
    elif fmt == "html":
        grids = HtmlReader((out / "report.html").read_text("utf-8")).tables
    else:
        grids = pipe_tables((out / "report.md").read_text("utf-8"))
    assert len(grids) == len(keys), fmt
    return {key: [_header(grid[0], lang), *grid[1:]] for key, grid in zip(keys, grids, strict=True)}


def _number(text: str) -> int | None:
    text = text.strip().replace(",", "")
    return None if text == "" else int(float(text))


def _column(rows: list[list[str]], header: str) -> list[str]:
    j = rows[0].index(header)
    return [r[j] for r in rows[1:]]


# -- the numbers ---------------------------------------------------------------------------------


BY_YEAR = {"zh": {"quota": "核定编制数", "headcount": "在编人数", "transitional": "过渡编制",
                  "departures": "自然减员", "recovered": "收回编制", "recruited": "补充人员",
                  "units_above_quota": "超编单位数", "pool_balance": "周转池余额"},
           "en": {"quota": "Quota", "headcount": "Staff", "transitional": "Transitional posts",
                  "departures": "Departures", "recovered": "Posts recovered",
                  "recruited": "Recruited", "units_above_quota": "Units above quota",
                  "pool_balance": "Pool balance"}}
FLOWS = ("departures", "recovered", "recruited")


@pytest.mark.parametrize("fmt", DOCUMENTS)
def test_every_format_holds_the_plans_years(written, plan, fmt):
    lang, out, output = written
    keys = [t.key for t in output.report.tables]
    rows = _tables(out, fmt, keys, lang)["by_year"]
    summary = plan.summary_frame()
    first = _column(rows, rows[0][0])
    years = ["现状" if lang == "zh" else "Today"] + [
        f"第{y}年" if lang == "zh" else f"Year {y}" for y in range(1, YEARS + 1)]
    assert first == [*years, "合计" if lang == "zh" else "Total"]
    for key, header in BY_YEAR[lang].items():
        cells = [_number(c) for c in _column(rows, header)]
        expected = summary[key].tolist()
        if key in FLOWS:
            assert cells[0] is None  # nothing leaves or comes today
            assert cells[1:-1] == expected[1:] and cells[-1] == sum(expected), (fmt, key)
        else:
            assert cells[:-1] == expected and cells[-1] is None, (fmt, key)


def _expected_reach(plan, lang: str) -> dict[str, str]:
    reach = plan.reach_year()
    out = {}
    for unit, year in zip(plan.table.ids, reach.tolist(), strict=True):
        within = 0 <= year <= plan.years
        out[unit] = str(year) if within else late_text(None if year == NEVER else year).get(lang)
    return out


@pytest.mark.parametrize("fmt", DOCUMENTS)
def test_every_format_holds_the_year_each_unit_reaches_its_quota(written, plan, fmt):
    lang, out, output = written
    keys = [t.key for t in output.report.tables]
    rows = _tables(out, fmt, keys, lang)["reach"]
    header = "达到核定编制年度" if lang == "zh" else "Reaches quota in year"
    ids = _column(rows, rows[0][0])
    cells = dict(zip(ids, _column(rows, header), strict=True))
    expected = _expected_reach(plan, lang)
    assert {i: cells[i] for i in plan.table.ids} == expected
    late = [i for i, t in expected.items() if not t.isdigit()]
    assert late and len(late) == int((plan.projection.transitional[-1] > 0).sum())
    assert "230112" in late and expected["230112"] == ("规划期内未达到（预计第15年）" if lang == "zh"
                                                     else "not within the plan (year 15 expected)")
    total = "合计" if lang == "zh" else "Total"
    assert cells[total] == late_text(int(plan.reach_year().max())).get(lang)
    frame = plan.reach_frame().set_index("id")
    for key, name in (("headcount", "现有人数" if lang == "zh" else "Staff today"),
                      ("change", "增减数" if lang == "zh" else "Change")):
        values = dict(zip(ids, (_number(c) for c in _column(rows, name)), strict=True))
        assert [values[i] for i in plan.table.ids] == frame[key].tolist()
        assert values[total] == frame[key].sum()


@pytest.mark.parametrize("fmt", DOCUMENTS)
def test_every_format_holds_the_recruitment_of_each_unit(written, plan, fmt):
    lang, out, output = written
    keys = [t.key for t in output.report.tables]
    rows = _tables(out, fmt, keys, lang)["recruitment"]
    ids = _column(rows, rows[0][0])
    frame = plan.frame()
    by_unit = frame.groupby("id")["recruited"].sum()
    total = _column(rows, "补充人员合计" if lang == "zh" else "Recruited in all")
    cells = dict(zip(ids, (_number(c) for c in total), strict=True))
    assert [cells[i] for i in plan.table.ids] == by_unit.loc[list(plan.table.ids)].tolist()
    assert cells["合计" if lang == "zh" else "Total"] == frame["recruited"].sum()
    assert year_spans(YEARS)[-1] == (6, YEARS)
    later = _column(rows, f"第6–{YEARS}年" if lang == "zh" else f"Years 6–{YEARS}")
    first = _column(rows, "第1年" if lang == "zh" else "Year 1")
    for unit, late_cell, first_cell in zip(ids, later, first, strict=True):
        if unit in plan.table.ids:
            own = frame[frame["id"] == unit]
            assert _number(late_cell) == own.loc[own["year"] >= 6, "recruited"].sum()
            assert _number(first_cell) == own.loc[own["year"] == 1, "recruited"].sum()


# -- the folder ----------------------------------------------------------------------------------


def test_the_folder_holds_the_plans_files_unchanged_and_every_document(written, plan, tmp_path):
    lang, out, output = written
    names = {p.name for p in out.iterdir()} - {MANIFEST}
    assert names == set(output.files)
    assert json.loads((out / MANIFEST).read_text("utf-8"))["files"] == sorted(names)
    assert output.files[:3] == ("transition.csv", "transition_summary.csv", "run.json")
    for name in ("by_year.csv", "reach.csv", "recruitment.csv", "inputs.csv", "method.txt",
                 "report.xlsx", "report.docx", "report.md", "report.tex", "report.html",
                 "transition.png", "transition.svg", "recruitment.png", "recruitment.svg"):
        assert name in names
    plain = write_transition(plan, tmp_path / "plain")
    for name in ("transition.csv", "transition_summary.csv"):
        assert (out / name).read_bytes() == (plain / name).read_bytes(), name
    # run.json: the plan's record, plus how the documents were written (for `allocator verify`)
    record = json.loads((out / "run.json").read_text("utf-8"))
    documents = record.pop("report")
    assert record == json.loads((plain / "run.json").read_text("utf-8"))
    assert documents["lang"] == lang and "docx" in documents["formats"]
    assert datetime.date.fromisoformat(documents["date"])


def test_the_charts_are_valid_png_and_svg(written):
    _, out, output = written
    for name in ("transition", "recruitment"):
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
        root = ET.fromstring((out / f"{name}.svg").read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    md = (out / "report.md").read_text("utf-8")
    assert re.findall(r"!\[.*?\]\((.*?)\)", md) == ["transition.png", "recruitment.png"]
    document = Document(out / "report.docx")
    assert len(document.inline_shapes) == 2
    tex = (out / "report.tex").read_text("utf-8")
    assert re.findall(r"\\includegraphics\[[^\]]*\]\{(.*?)\}", tex) == ["transition.png",
                                                                        "recruitment.png"]
    assert tex.count(r"\begin{longtable}") == len(output.report.tables)


def test_the_charts_show_the_plan_in_the_language_asked(plan):
    report = build_transition_report(plan, DAY)
    expected = {"zh": ("过渡编制：县（市）", "核定编制数", "补充人员：市辖区", "自然减员"),
                "en": ("Transitional posts: Counties", "Quota", "Recruited: Districts",
                       "Departures")}
    for lang in ("zh", "en"):
        text = chart_text(report, lang)
        # Without a font with Chinese glyphs a Chinese chart falls back to English (and says so).
        assert text.lang == lang or (lang == "zh" and text.lang == "en")
        words = expected[text.lang]
        shown = []
        for draw in (transition_chart, recruitment_chart):
            fig = draw(plan, report, text)
            shown += [t.get_text() for t in fig.findobj(Text) if t.get_text()]
        for word in words:
            assert any(word in s for s in shown), (lang, word)
        assert all(not has_cjk(s) for s in shown) if text.lang == "en" else True
    fig = transition_chart(plan, report, chart_text(report, "en"))
    top, below = fig.axes
    summary = plan.summary_frame()
    tops: dict[int, float] = {}  # the bars of a year stack up to its transitional posts
    for patch in top.patches:
        x = round(patch.get_x() + patch.get_width() / 2)
        tops[x] = max(tops.get(x, 0), patch.get_y() + patch.get_height())
    assert [round(tops[y]) for y in range(YEARS + 1)] == summary["transitional"].tolist()
    staff, quota = (line.get_ydata() for line in below.get_lines())
    assert np.round(staff).astype(int).tolist() == summary["headcount"].tolist()
    assert set(np.round(quota).astype(int)) == {int(plan.projection.quota[-1].sum())}


def test_without_a_cjk_font_the_charts_fall_back_and_the_documents_say_so(plan, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    monkeypatch.setattr(charts, "_warned", set())
    output = write_transition_report(plan, tmp_path / "t", TransitionReportOptions(
        formats=("md", "png"), date=DAY))
    assert output.notes and "no font with Chinese glyphs" in output.notes[0]
    md = (tmp_path / "t" / "report.md").read_text("utf-8")
    assert "未找到中文字体" in md and "apt-get install fonts-noto-cjk" in md


# -- one language per document -------------------------------------------------------------------


def test_one_language_per_document(written, plan):
    """A Chinese document holds no English word but file names, hashes and proper names; an
    English one no Chinese (Harbin's units and groups have English names)."""
    lang, out, _ = written
    paths = [str(plan.table.path), str(plan.spec.source)]
    for name, text in document_texts(out).items():
        if lang == "en":
            chinese = [line for line in text.splitlines() if has_cjk(line)]
            assert not chinese, (name, chinese[:3])
            continue
        text = re.sub(r"[0-9a-f]{64}", " ", text)  # SHA-256 of the model and data files
        for allowed in (*paths, *PROPER_NAMES):
            text = text.replace(allowed, " ")
        words = re.findall(r"[A-Za-z]{2,}", text)
        assert not words, (name, sorted(set(words))[:10])
        assert has_cjk(text), name


def test_the_method_statement_says_the_rules_and_the_outcome(written, plan):
    lang, out, _ = written
    method = (out / "method.txt").read_text("utf-8-sig")
    late = int((plan.projection.transitional[-1] > 0).sum())
    if lang == "zh":
        for words in ("退一收一", "一把尺子", "每年按上年末在编人数的4%计算", "设周转池300名",
                      f"规划期末仍有{late}个单位高于核定编制数", "2025年1月15日"):
            assert words in method, words
    else:
        for words in ("recovers a post for each person who leaves", "one ruler",
                      "4% of a unit's staff", "a pool of 300 posts",
                      f"{late} units are still above quota", "15 January 2025"):
            assert words in method, words


# -- other plans ---------------------------------------------------------------------------------


def test_a_unit_whose_later_departures_are_unknown_is_not_within_the_plan(tmp_path):
    model = transition_model(tmp_path, transition="years = 2\n"
                                                  "departures_columns = ['leave1', 'leave2']\n")
    plan = plan_transition(model, allow_unfinished=True)
    assert (plan.reach_year() == NEVER).any()
    table = build_transition_report(plan, DAY).table("reach")
    reach = table.index("reach_year")
    cells = {table.value(i, 0): table.text(i, reach, "zh") for i, row in enumerate(table.rows)
             if row.level == "unit"}
    for unit, year in zip(plan.table.ids, plan.reach_year().tolist(), strict=True):
        assert cells[unit] == ("规划期内未达到" if year == NEVER else str(year))
    assert table.text(len(table.rows) - 1, reach, "en") == "not within the plan"
    method = " ".join(p.zh for p in build_transition_report(plan, DAY).method)
    assert "前2年采用数据文件中的已知减员数" in method


def test_a_pace_of_change_shows_each_years_quota(tmp_path):
    model = transition_model(tmp_path, transition=(
        "years = 3\ndeparture_rate = 0.05\n"
        "[transition.pace]\ncaps = [980, 960, 950]\nmax_cut = 0.08\nmax_increase = 0.1\n"))
    plan = plan_transition(model, allow_unfinished=True)
    report = build_transition_report(plan, DAY)
    assert [t.key for t in report.tables] == ["by_year", "quota_by_year", "reach", "recruitment",
                                              "inputs"]
    quota = report.table("quota_by_year")
    for year in range(plan.years + 1):
        assert quota.column_values(f"y{year}") == [int(plan.projection.quota[year, i])
                                                   for i in _grouped_order(plan)]
    assert quota.column_values("y3", "total") == [950]
    assert report.table("by_year").column_values("quota") == [1000, 980, 960, 950]
    method = " ".join(p.zh for p in report.method)
    assert "各年编制总量依次为980名、960名、950名" in method and "减少不超过8%" in method
    late = plan.projection.transitional[-1] > 0
    assert late.any() and (plan.reach_year()[late] > plan.years).all()  # not "reached today"


def _grouped_order(plan) -> list[int]:
    groups = plan.table.groups
    return [i for g in dict.fromkeys(groups) for i in range(len(groups)) if groups[i] == g]


def test_a_model_without_labels_or_groups(tmp_path):
    write_csv(tmp_path / "u.csv", ["code", "pop", "posts"], [["A", 10, 30], ["B", 30, 40],
                                                             ["C", 20, 30]])
    model = write_model(tmp_path / "m.toml", {
        "name": "bare", "data": "u.csv", "id": "code", "actual": "posts", "cap": 90,
        "indicators": {"pop": {"column": "pop", "weight": 1}},
        "transition": {"years": 8, "departure_rate": 0.1}})
    plan = plan_transition(model)
    output = write_transition_report(plan, tmp_path / "t", TransitionReportOptions(
        formats=("md", "png"), lang="en", date=DAY))
    reach = output.report.table("reach")
    assert [c.key for c in reach.columns][:2] == ["id", "headcount"]
    assert reach.column_values("reach_year") == plan.reach_year().tolist()
    md = (tmp_path / "t" / "report.md").read_text("utf-8")
    assert "Figure 1. Transitional posts, staff and quota by year" in md


# -- the command ---------------------------------------------------------------------------------


def test_the_command_writes_the_documents_it_is_asked_for(tmp_path):
    out = tmp_path / "o"
    result = run_cli("transition", HARBIN, "--format", "md,xlsx", "--lang", "en", "--out", out)
    assert result.exit_code == 0, result.output
    files = ("transition.csv, transition_summary.csv, run.json, report.md, report.xlsx, "
             "transition.png, transition.svg, recruitment.png, recruitment.svg")
    assert f"wrote {out}: {files}" in " ".join(result.output.split())
    assert "# Harbin 2020: zero-based staffing totals — transition plan" in \
        (out / "report.md").read_text("utf-8")
    result = run_cli("transition", HARBIN, "--format", "docx", "--no-charts", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "report.docx", "run.json",
                                                      "transition.csv", "transition_summary.csv"]
    bad = run_cli("transition", HARBIN, "--format", "pdf", "--out", tmp_path / "x")
    assert bad.exit_code == 2 and "--format pdf" in bad.stderr
    assert not (tmp_path / "x").exists()
