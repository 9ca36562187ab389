"""The command line: files written, exit codes, help texts."""

import enum
import json
import os
import subprocess
import sys
import typing

import pandas as pd
import pytest

from allocator.choices import OutputFormat
from allocator.cli import app

from .support import HARBIN, ROOT, run_cli

COLUMNS = ["id", "label", "group", "target", "exact", "allocation", "actual", "difference",
           "change_pct", "binding"]


def test_run_writes_allocation_csv_and_run_json(tmp_path):
    out = tmp_path / "out"
    result = run_cli("run", str(HARBIN), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Total" in result.output and "60,806" in result.output
    assert "illustrative" in result.output
    frame = pd.read_csv(out / "allocation.csv", dtype={"id": str})
    assert list(frame.columns) == COLUMNS
    assert frame["allocation"].sum() == 60806
    assert len(frame) == 18
    assert (frame["difference"] == frame["allocation"] - frame["actual"]).all()
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    worst = record["certificate"]["worst"]
    assert record["path"] == "closed_form" and worst < 1e-9
    assert record["status"] == ("optimal: closed form clip(lambda*t, lower, upper), certified "
                                f"(largest violation {worst:.1e})")
    assert record["weights_used"] == pytest.approx(
        {"population": 0.45, "urban_population": 0.15, "area": 0.25, "townships": 0.15})
    assert len(record["data_sha256"]) == 64
    assert record["versions"]["pulp"]
    assert record["solver"] == "highs"


def test_weight_cap_solver_and_rounding_overrides(tmp_path):
    out = tmp_path / "o"
    result = run_cli("run", str(HARBIN), "--out", str(out), "-q", "--weight",
                                 "area=0.5", "--solver", "cbc", "--rounding", "webster")
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["overrides"]["weights"] == {"area": 0.5}
    assert record["model"]["solver"] == "cbc" and record["rounding"] == "webster"
    # area gets its final share exactly; the others share the rest in the model's proportions
    assert record["weights_used"]["area"] == 0.5
    assert record["weights_used"] == pytest.approx(
        {"population": 0.3, "urban_population": 0.1, "area": 0.5, "townships": 0.1})


def test_model_without_actual_leaves_comparison_columns_empty(tmp_path, small_model):
    text = small_model.read_text().replace('actual = "posts"\n', "")
    small_model.write_text(text)
    out = tmp_path / "o"
    result = run_cli("run", str(small_model), "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "allocation.csv")
    assert frame[["actual", "difference", "change_pct"]].isna().all().all()
    assert frame["allocation"].sum() == 1000


@pytest.mark.parametrize("args, code, message", [
    (["--weight", "areaa=1"], 2, "did you mean 'area'"),
    (["--weight", "area"], 2, "expected NAME=VALUE"),
    (["--cap", "1000"], 2, "--cap 1000: the model fixes the total of groups county (33,095) and "
                           "district (27,711)"),
    (["--rounding", "borda"], 2, "rounding"),
])
def test_bad_overrides_exit_2_with_one_line(tmp_path, args, code, message):
    out = tmp_path / "o"
    result = run_cli("run", str(HARBIN), "--out", str(out), *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_infeasible_floors_exit_3(tmp_path, small_model):
    small_model.write_text(small_model.read_text() + "[bounds]\nfloor = 400\n")
    result = run_cli("run", str(small_model), "--out", str(tmp_path / "o"))
    assert result.exit_code == 3
    assert "2,000" in result.output and "1,000" in result.output
    assert not (tmp_path / "o").exists()


def test_missing_model_file_exits_2(tmp_path):
    result = run_cli("run", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert "model file not found" in result.output


def _choices(callback) -> list[type[enum.Enum]]:
    """The enums a command's options take."""
    found = []
    for hint in typing.get_type_hints(callback).values():
        found += [arg for arg in typing.get_args(hint) or (hint,)
                  if isinstance(arg, type) and issubclass(arg, enum.Enum)]
    return found


def test_every_command_has_help_with_an_example_and_its_choices():
    assert {c.callback.__name__ for c in app.registered_commands} == {
        "run", "validate", "verify", "report", "sensitivity", "weights", "transition", "explore"}
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = run_cli(name, "--help", env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert f"Example: allocator {name}" in result.output, name
        text = " ".join(result.output.split())
        for choice in _choices(command.callback):
            values = ", ".join(member.value for member in choice)
            assert f"One of: {values}." in text, (name, choice)
    assert len(_choices(next(c.callback for c in app.registered_commands
                             if c.callback.__name__ == "sensitivity"))) == 4  # +solver, rounding, lang
    report = run_cli("report", "--help", env={"COLUMNS": "200"}).output
    assert ",".join(OutputFormat.tables()) in report and "--no-charts" in report


@pytest.mark.parametrize(("args", "message"), [
    (["run", str(HARBIN), "--solver", "gurobi"], "error: --solver gurobi: use one of highs, cbc\n"),
    (["run", str(HARBIN), "--rounding", "websterr"],
     "error: --rounding websterr: use one of hamilton, webster, dhondt, huntington-hill "
     "(did you mean 'webster'?)\n"),
    (["report", str(HARBIN), "--lang", "fr"], "error: --lang fr: use one of zh, en\n"),
    (["weights", str(HARBIN), "--method", "pca"],
     "error: --method pca: use one of equal, entropy, critic, ahp\n"),
])
def test_a_wrong_choice_is_one_line_exit_2(args, message, tmp_path):
    result = run_cli(*args, "--out", str(tmp_path / "o"))
    assert (result.exit_code, result.stderr) == (2, message)
    assert not (tmp_path / "o").exists()


def test_choices_are_case_insensitive(tmp_path):
    result = run_cli("run", str(HARBIN), "-q", "--rounding", "Webster", "--solver", "HiGHS",
                                 "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert record["overrides"] == {"solver": "highs", "rounding": "webster"}


def test_help_imports_no_heavy_library():
    """``allocator --help`` (and every command's) builds the app without pandas, PuLP or
    matplotlib, or any library layer above the base modules."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from allocator.cli import app\n"
        "runner = CliRunner()\n"
        "for args in ([], ['--help'], *([c.callback.__name__, '--help'] for c in app.registered_commands)):\n"
        "    assert runner.invoke(app, args).exit_code in (0, 2), args\n"
        "heavy = ('pandas', 'pulp', 'matplotlib', 'allocator.pipeline', 'allocator.report',\n"
        "         'allocator.studies', 'allocator.outputs', 'allocator.core')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                     os.environ.get("PYTHONPATH")]))}
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == ""
