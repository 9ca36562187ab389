"""The command line: files written, exit codes, help texts."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocator.cli import app

from .conftest import HARBIN

runner = CliRunner()

COLUMNS = ["id", "label", "group", "target", "exact", "allocation", "actual", "difference",
           "change_pct", "binding"]


def test_run_writes_allocation_csv_and_run_json(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(HARBIN), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Total" in result.output and "60,806" in result.output
    assert "illustrative" in result.output
    frame = pd.read_csv(out / "allocation.csv", dtype={"id": str})
    assert list(frame.columns) == COLUMNS
    assert frame["allocation"].sum() == 60806
    assert len(frame) == 18
    assert (frame["difference"] == frame["allocation"] - frame["actual"]).all()
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == (f"optimal: lexicographic min-max in {record['lp_solves']} LP solves "
                                f"over {len(record['levels'])} levels")
    assert record["weights_used"] == pytest.approx(
        {"population": 0.45, "urban_population": 0.15, "area": 0.25, "townships": 0.15})
    assert len(record["data_sha256"]) == 64
    assert record["versions"]["pulp"]
    assert record["solver"] == "highs"


def test_weight_cap_solver_and_rounding_overrides(tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(HARBIN), "--out", str(out), "-q", "--weight",
                                 "area=0.5", "--solver", "cbc", "--rounding", "webster"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["overrides"]["weights"] == {"area": 0.5}
    assert record["model"]["solver"] == "cbc" and record["rounding"] == "webster"
    assert record["weights_used"]["area"] == pytest.approx(0.5 / 1.25)


def test_model_without_actual_leaves_comparison_columns_empty(tmp_path, small_model):
    text = small_model.read_text().replace('actual = "posts"\n', "")
    small_model.write_text(text)
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(small_model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "allocation.csv")
    assert frame[["actual", "difference", "change_pct"]].isna().all().all()
    assert frame["allocation"].sum() == 1000


@pytest.mark.parametrize("args, code, message", [
    (["--weight", "areaa=1"], 2, "did you mean 'area'"),
    (["--weight", "area"], 2, "expected NAME=VALUE"),
    (["--cap", "1000"], 2, "group totals add up to 60,806"),
    (["--rounding", "borda"], 2, "rounding"),
])
def test_bad_overrides_exit_2_with_one_line(tmp_path, args, code, message):
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(HARBIN), "--out", str(out), *args])
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_infeasible_floors_exit_3(tmp_path, small_model):
    small_model.write_text(small_model.read_text() + "[bounds]\nfloor = 400\n")
    result = runner.invoke(app, ["run", str(small_model), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert "2,000" in result.output and "1,000" in result.output
    assert not (tmp_path / "o").exists()


def test_missing_model_file_exits_2(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "model file not found" in result.output


def test_every_command_has_help_with_an_example():
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.output, name
