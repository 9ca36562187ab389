"""The report's table model: comparison, summary, explanation and inputs tables."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import allocate
from allocator.core.equity import coefficient_of_variation, gini
from allocator.report.build import build_report

from .support import HARBIN, ROOT


@pytest.fixture(scope="module")
def result():
    return allocate(HARBIN)


@pytest.fixture(scope="module")
def report(result):
    return build_report(result)


def _units(table, key):
    return dict(zip(table.column_values("id"), table.column_values(key), strict=True))


def test_comparison_numbers_are_the_allocation_and_the_data(result, report):
    table = report.table("comparison")
    frame = result.frame().set_index("id")
    population = dict(zip(result.table.ids, result.table.indicators["population"], strict=True))
    allocation = _units(table, "allocation")
    actual = _units(table, "actual")
    assert allocation == {i: int(frame.loc[i, "allocation"]) for i in frame.index}
    assert actual == {i: int(frame.loc[i, "actual"]) for i in frame.index}
    assert _units(table, "change") == {i: allocation[i] - actual[i] for i in frame.index}
    for i in frame.index:
        assert _units(table, "per10k_after")[i] == pytest.approx(
            allocation[i] / population[i] * 1e4, abs=0.05)
        assert _units(table, "per10k_before")[i] == pytest.approx(
            actual[i] / population[i] * 1e4, abs=0.05)
        assert _units(table, "change_pct")[i] == pytest.approx(
            100 * (allocation[i] - actual[i]) / actual[i], abs=0.05)
        assert _units(table, "target")[i] == pytest.approx(frame.loc[i, "target"], abs=0.05)


def test_subtotals_and_total_add_up_and_targets_sum_to_the_cap(result, report):
    table = report.table("comparison")
    groups = dict(zip(result.table.ids, result.table.groups, strict=True))
    levels = [row.level for row in table.rows]
    assert levels.count("subtotal") == len(set(result.table.groups))
    assert levels.index("total") == len(levels) - 1
    ids = [table.value(i, 0) for i in range(len(table.rows))]
    for key in ("allocation", "actual", "change", "target"):
        j = table.index(key)
        members: list[int] = []
        for i, level in enumerate(levels):
            if level == "unit":
                members.append(i)
                continue
            if level == "subtotal":
                assert len({groups[ids[k]] for k in members}) == 1  # one group per block
            else:
                members = [k for k, lv in enumerate(levels) if lv == "unit"]
            assert table.value(i, j) == pytest.approx(sum(table.value(k, j) for k in members),
                                                      abs=1e-9)
            members = []
    total = len(levels) - 1
    assert table.value(total, table.index("target")) == result.spec.allocatable_cap
    assert table.value(total, table.index("allocation")) == result.spec.allocatable_cap


def _ratio(num, den, scale):
    return None if den == 0 else pytest.approx(scale * num / den, rel=1e-12)


@pytest.mark.parametrize("model", ["harbin_2020_constraints", "china_counties_2020_provinces"])
def test_every_comparison_row_is_worked_out_from_its_own_units(model):
    """Row by row, as a reader checks it: each figure from the sums over the row's units (its
    own unit, its group's or all), every ratio blank where its denominator is 0."""
    result = allocate(ROOT / "models" / f"{model}.toml")
    table = build_report(result).table("comparison")
    rows = [dict(zip([c.key for c in table.columns], row.values, strict=True))
            for row in table.rows]
    position = {unit: i for i, unit in enumerate(result.table.ids)}
    target = np.zeros(len(position))
    for row in rows[:-1]:
        if isinstance(row["id"], str):
            target[position[row["id"]]] = row["target"]
    population = result.table.indicators[result.spec.population]
    group_of = result.table.groups
    block: list[int] = []
    for row, level in zip(rows, (r.level for r in table.rows), strict=True):
        if level == "unit":
            i = position[row["id"]]
            block.append(i)
            members = [i]
            assert row["group"]  # the unit's group, named
        else:
            members = sorted(block) if level == "subtotal" else list(range(len(position)))
            assert len({group_of[i] for i in members}) == 1 or level == "total"
            assert row["label"] == row["group"] == row["binding"] == ""
            block = []
        posts = result.posts[members].sum()
        residents = population[members].sum()
        assert row["allocation"] == posts
        assert row["target"] == pytest.approx(target[members].sum(), rel=1e-12)
        if result.table.actual is None:
            assert not {"actual", "change", "change_pct", "per10k_before"} & row.keys()
        else:
            actual = result.table.actual[members].sum()
            assert row["actual"] == pytest.approx(actual, rel=1e-12)
            assert row["change"] == pytest.approx(posts - actual, rel=1e-12)
            assert row["change_pct"] == _ratio(posts - actual, actual, 100)
            assert row["per10k_before"] == _ratio(actual, residents, 10_000)
        assert row["per10k_after"] == _ratio(posts, residents, 10_000)
        assert row["share"] == _ratio(row["target"], result.spec.allocatable_cap, 100)
        assert row["distance"] == pytest.approx(posts - row["target"], rel=1e-12, abs=1e-12)
        assert row["distance_pct"] == _ratio(posts - row["target"], row["target"], 100)
        for name, values in result.table.indicators.items():
            assert row[f"ind:{name}"] == pytest.approx(values[members].sum(), rel=1e-12)
    assert rows[-1]["allocation"] == result.spec.allocatable_cap


def test_summary_counts_changes_and_measures_equity(result, report):
    summary = report.table("summary")
    items = {summary.text(i, 0, "en"): summary.value(i, 1) for i in range(len(summary.rows))}
    frame = result.frame()
    assert items["Cap"] == result.spec.cap
    assert items["Allocated"] == frame["allocation"].sum()
    assert items["Total current posts"] == frame["actual"].sum()
    assert items["Units up"] == (frame["difference"] > 0).sum()
    assert items["Units down"] == (frame["difference"] < 0).sum()
    assert items["Units up"] + items["Units down"] + items["Units unchanged"] == len(frame)
    district = frame[frame["group"] == "district"]
    assert items["Change %, Districts"] == pytest.approx(
        100 * district["difference"].sum() / district["actual"].sum(), abs=0.05)
    pop = result.table.indicators["population"]
    after = result.posts / pop * 1e4
    assert items["Gini of posts per 10,000 residents, allocated"] == pytest.approx(
        _gini_pairs(after), abs=5e-4)
    assert items["Coefficient of variation of posts per 10,000 residents, allocated"] == \
        pytest.approx(np.std(after) / np.mean(after), abs=5e-4)


def _gini_pairs(x):
    """Oracle: mean absolute difference over all pairs / (2 * mean)."""
    x = list(x)
    n = len(x)
    diff = sum(abs(a - b) for a, b in combinations(x, 2)) * 2
    return diff / (n * n) / (2 * np.mean(x))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.01, 1e4), min_size=2, max_size=30))
def test_gini_and_cv_match_their_definitions(values):
    x = np.array(values)
    assert gini(x) == pytest.approx(_gini_pairs(x), abs=1e-9)
    assert coefficient_of_variation(x) == pytest.approx(x.std() / x.mean(), rel=1e-9)


def test_explanation_table_parts_add_up_as_displayed(result, report):
    table = report.table("explanation")
    from_cols = [j for j, c in enumerate(table.columns) if c.key.startswith("from:")]
    step_cols = [j for j, c in enumerate(table.columns) if c.key.startswith("step:")]
    t, a = table.index("target"), table.index("allocation")
    for i in range(len(table.rows)):
        parts = [round(table.value(i, j) * 10) for j in from_cols]
        steps = [round(table.value(i, j) * 10) for j in step_cols]
        assert sum(parts) == round(table.value(i, t) * 10)
        assert sum(parts) + sum(steps) == table.value(i, a) * 10
    assert _units(table, "allocation") == dict(zip(result.table.ids, result.posts.tolist(),
                                                   strict=True))


def test_headers_exist_in_both_languages_and_the_note_travels(report, result):
    comparison = report.table("comparison")
    zh = comparison.headers("zh")
    for header in ("单位", "现有编制数", "零基测算数", "优化配置数", "增减数", "增减比例",
                   "调整后每万人编制数"):
        assert header in zh
    assert "Allocation" in comparison.headers("en")
    note = result.spec.actual_note
    assert [n.get(lang) for n in report.notes for lang in ("zh", "en")] == [note.zh, note.en]
    inputs = report.table("inputs")
    values = [inputs.text(i, 1, "en") for i in range(len(inputs.rows))]
    assert result.table.sha256 in values


def test_a_unit_without_residents_has_no_per_resident_figure(tmp_path):
    (tmp_path / "u.csv").write_text("code,pop,area,posts\nA,0,50,10\nB,100,5,40\nC,300,5,50\n",
                                    encoding="utf-8")
    (tmp_path / "m.toml").write_text(
        'name = "n"\ndata = "u.csv"\nid = "code"\nactual = "posts"\npopulation = "pop"\n'
        'cap = 90\n[indicators.pop]\ncolumn = "pop"\nweight = 1\n'
        '[indicators.area]\ncolumn = "area"\nweight = 1\n', encoding="utf-8")
    result = allocate(tmp_path / "m.toml")
    report = build_report(result)
    per10k = _units(report.table("comparison"), "per10k_after")
    assert per10k["A"] is None
    assert per10k["B"] == pytest.approx(result.posts[1] / 100 * 1e4, abs=0.05)
    summary = report.table("summary")
    items = {summary.text(i, 0, "en"): summary.value(i, 1) for i in range(len(summary.rows))}
    lived = result.posts[1:] / np.array([100, 300]) * 1e4
    assert items["Gini of posts per 10,000 residents, allocated"] == pytest.approx(
        _gini_pairs(lived), abs=5e-4)
