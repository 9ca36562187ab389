"""The ``transition`` command: files written, what it prints, exit codes, errors in flag words."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from rich.console import Console

from allocator.cli.transition import reach_table
from allocator.pipeline import plan_transition
from allocator.pipeline.transition import FRAME_COLUMNS, SUMMARY_COLUMNS

from .support import HARBIN, run_cli, transition_model

COLUMNS = ["year", "id", "label", "group", "quota", "headcount", "departures", "recovered",
           "recruited", "transitional"]


def invoke(*args: str):
    return run_cli("transition", *args)


def row(output: str, *cells: str) -> bool:
    """Whether a printed line holds exactly these cells, separated by spaces."""
    pattern = r"^\s*" + r"\s+".join(re.escape(c) for c in cells) + r"\s*$"
    return re.search(pattern, output, re.M) is not None


def test_harbin_plan_from_the_model_table(tmp_path):
    out = tmp_path / "o"
    result = invoke(str(HARBIN), "--out", str(out))
    assert result.exit_code == 0, result.output
    text = result.output
    for header in ("year", "quota", "headcount", "departures", "recovered", "recruited",
                   "transitional", "pool balance", "reaches quota"):
        assert header in text
    assert row(text, "0", "60,806", "84,196", "0", "0", "0", "23,763", "0")  # today
    assert re.search(r"^\s*15\s+60,806\s+60,806\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+0\s+0\s*$", text, re.M)
    assert row(text, "230112", "阿城区", "4,351", "2,394", "-1,957", "15")
    assert row(text, "district subtotal", "35,527", "27,711", "-7,816", "15")
    assert row(text, "Total", "84,196", "60,806", "-23,390", "15")
    assert "every unit reaches its quota by year 15" in text
    assert "note: Current posts are illustrative" in text
    assert f"wrote {out}: transition.csv, transition_summary.csv, run.json" in " ".join(text.split())

    raw = (out / "transition.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfyear,id,label,group,quota,headcount,departures,")
    frame = pd.read_csv(out / "transition.csv", encoding="utf-8-sig", dtype={"id": str})
    assert list(frame.columns) == COLUMNS == list(FRAME_COLUMNS)
    assert len(frame) == 16 * 18 and frame["year"].max() == 15
    assert (frame["transitional"] == (frame["headcount"] - frame["quota"]).clip(lower=0)).all()
    assert (out / "transition_summary.csv").read_bytes().startswith(b"\xef\xbb\xbfyear,quota,")
    summary = pd.read_csv(out / "transition_summary.csv", encoding="utf-8-sig")
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary["headcount"].tolist() == frame.groupby("year")["headcount"].sum().tolist()
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["command"] == "transition"
    assert record["transition"]["settings"]["years"] == 15
    assert record["transition"]["last_unit_reaches_quota"] == 15


def test_options_override_the_model_table(tmp_path):
    out = tmp_path / "o"
    result = invoke(str(HARBIN), "--years", "20", "--departure-rate", "0.05", "--recruitment",
                    "unlimited", "--pool", "100", "--out", str(out))
    assert result.exit_code == 0, result.output
    settings = json.loads((out / "run.json").read_text(encoding="utf-8"))["transition"]["settings"]
    assert settings == {"years": 20, "departure_rate": 0.05, "recruitment": "unlimited",
                        "pool": 100}
    summary = pd.read_csv(out / "transition_summary.csv", encoding="utf-8-sig")
    assert len(summary) == 21 and summary["budget"].isna().all()
    assert "recruitment budget: unlimited; pool: 100 posts" in result.output
    assert "pool: 0 posts lent in all; never needed" in result.output


def test_a_number_as_the_budget_and_a_pool_not_repaid(tmp_path):
    result = invoke(str(HARBIN), "--recruitment", "1,000", "--pool", "300", "--out",
                    str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "recruitment budget: 1,000 posts a year; pool: 300 posts" in result.output
    summary = pd.read_csv(tmp_path / "o" / "transition_summary.csv", encoding="utf-8-sig")
    assert summary["budget"].iloc[1:].eq(1000).all() and summary["pool_lent"].sum() == 300
    vacant = summary["vacant"].iloc[-1]
    assert f"after year 15, {vacant:,} posts of the quota are vacant" in result.output
    assert "pool: 300 posts lent in all; not repaid within the plan" in result.output


def test_a_pool_lent_and_repaid(tmp_path):
    model = transition_model(tmp_path, transition="years = 30\ndeparture_rate = 0.05\n")
    result = invoke(str(model), "--pool", "30", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "o" / "transition_summary.csv", encoding="utf-8-sig")
    short = summary.loc[summary["pool_balance"] < 30, "year"]
    assert summary["pool_lent"].sum() == 30 and short.max() < 30
    assert f"pool: 30 posts lent in all; repaid by year {short.max() + 1}" in result.output


def test_the_default_folder_is_named_after_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(str(HARBIN)).exit_code == 0
    folder = tmp_path / "out" / "harbin_2020_transition"
    assert sorted(p.name for p in folder.iterdir()) == [".allocator-manifest.json", "run.json",
                                                        "transition.csv",
                                                        "transition_summary.csv"]


def test_overrides_of_the_allocation(tmp_path):
    model = transition_model(tmp_path, transition="years = 40\ndeparture_rate = 0.05\n")
    out = tmp_path / "o"
    result = invoke(str(model), "--weight", "area=0.9", "--cap", "950", "--rounding", "Webster",
                    "--solver", "cbc", "--out", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["overrides"] == {"weights": {"area": 0.9}, "cap": 950, "solver": "cbc",
                                   "rounding": "webster"}
    frame = pd.read_csv(out / "transition.csv", encoding="utf-8-sig")
    assert frame.loc[frame["year"] == 40, "quota"].sum() == 950
    assert "illustrative" not in result.output  # the model has no actual_note


@pytest.mark.parametrize(("args", "message"), [
    (["--departure-rate", "1"], "transition.departure_rate: must be less than 1 (got 1.0) "
                                "(with --departure-rate 1.0)"),
    (["--departure-rate", "-0.1"], "(with --departure-rate -0.1)"),
    (["--years", "0"], "transition.years: must be greater than 0 (got 0) (with --years 0)"),
    (["--recruitment", "some"], "not 'some' (with --recruitment some)"),
    (["--pool", "70000"], "the pool of 70,000 posts is larger than the cap (60,806)"),
    (["--weight", "areaa=1"], "--weight areaa: no such indicator (did you mean 'area'?)"),
])
def test_invalid_input_exits_2_with_one_line(tmp_path, args, message):
    result = invoke(str(HARBIN), *args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_negative_headcount_exits_2(tmp_path):
    rows = [["U1", "North", "city", 100, 10, 120, -3, 0, 0],
            ["U2", "South", "city", 300, 20, 260, 4, 0, 0]]
    model = transition_model(tmp_path, rows=rows, transition="headcount = 'rate'\n"
                                                              "departure_rate = 0.1\n")
    result = invoke(str(model), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "negative" in result.stderr and "transition.headcount" in result.stderr
    assert not (tmp_path / "o").exists()


def test_no_departures_exits_2(tmp_path):
    result = invoke(str(transition_model(tmp_path)), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "no departures" in result.stderr


def test_a_horizon_too_short_exits_3_naming_the_units(tmp_path):
    out = tmp_path / "o"
    result = invoke(str(HARBIN), "--years", "10", "--out", str(out))
    assert result.exit_code == 3
    text = result.stderr
    assert text.startswith("error: after 10 years 6 units are still above quota (2,338 "
                           "transitional posts): 230126 巴彦县 by 665 (reaches it in year 14)")
    assert text.rstrip().endswith("--allow-unfinished") and "--years" in text
    assert not out.exists()

    result = invoke(str(HARBIN), "--years", "10", "--allow-unfinished", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "note: after 10 years 6 units are still above quota" in result.output
    assert row(result.output, "230126", "巴彦县", "6,864", "3,898", "-2,966", "14*")
    assert "*: after year 10, an estimate at the same departures" in result.output
    assert "every unit reaches its quota" not in result.output
    frame = pd.read_csv(out / "transition.csv", encoding="utf-8-sig")
    assert frame.loc[frame["year"] == 10, "transitional"].sum() == 2338


def test_many_units_show_subtotals_only():
    plan = plan_transition(HARBIN)
    console = Console(record=True, width=160)
    console.print(reach_table(plan, max_units=10))
    text = console.export_text()
    assert "230102" not in text and row(text, "Total", "84,196", "60,806", "-23,390", "15")
    assert "18 units: subtotals only; every unit is in transition.csv" in " ".join(text.split())
