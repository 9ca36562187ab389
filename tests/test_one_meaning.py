"""One meaning per word (issue 9): what a user saw, each guarded by a test.

A weight on the command line or in the API is the indicator's final share everywhere; a scenario
never replaces the model's own results; a new cap works with fixed group totals; the same options
on every command where they make sense; messages name the option and the value; the command-line
conventions (version, completion, help, umask, progress, pipes).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from allocator import InputError, allocate
from allocator.cli import app
from allocator.outputs.runfiles import read_allocation
from allocator.overrides import Overrides, final_weights
from allocator.schema import ModelSpec, load_model
from allocator.studies.batch import FastAllocator
from allocator.studies.oneway import oat, sweep

from .support import HARBIN, ROOT, run_cli

ESCAPE = "\x1b["


def invoke(*args):
    return run_cli(*args)


def ok(*args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def by_id(ids, posts) -> dict[str, int]:
    return {str(i): int(p) for i, p in zip(ids, posts, strict=True)}


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


# ---- 1. weights mean one thing everywhere -----------------------------------------------------


def test_one_scenario_gives_the_same_allocation_everywhere(tmp_path):
    """area = 0.3: run, report, sweep, oat, Monte Carlo (centred on it, and a sample replayed) and
    the API give identical allocations, pair by pair. Seen: run gave 道里区 3,957 and the sweep
    3,939 for "the same" scenario."""
    found: dict[str, dict[str, int]] = {}
    api = allocate(HARBIN, weights={"area": 0.3})
    found["api"] = by_id(api.table.ids, api.posts)

    ok("run", HARBIN, "-q", "-w", "area=0.3", "--out", tmp_path / "run")
    frame = read_allocation(tmp_path / "run" / "allocation.csv")
    found["run"] = by_id(frame["id"], frame["allocation"])

    ok("report", HARBIN, "-w", "area=0.3", "--format", "csv", "--no-charts",
       "--out", tmp_path / "report")
    frame = read_allocation(tmp_path / "report" / "allocation.csv")
    found["report"] = by_id(frame["id"], frame["allocation"])

    ok("sensitivity", HARBIN, "--method", "sweep", "--indicator", "area", "--from", "0.2",
       "--to", "0.3", "--steps", "2", "--no-charts", "--out", tmp_path / "sweep")
    rows = [r for r in read_csv(tmp_path / "sweep" / "sweep.csv") if float(r["value"]) == 0.3]
    assert {float(r["w_area"]) for r in rows} == {0.3}
    found["sweep"] = {r["id"]: int(r["allocation"]) for r in rows}

    ok("sensitivity", HARBIN, "--method", "oat", "--delta", "0.05", "--no-charts",
       "--out", tmp_path / "oat")
    rows = [r for r in read_csv(tmp_path / "oat" / "oat.csv") if r["indicator"] == "area"]
    assert {(float(r["weight"]), float(r["weight_up"])) for r in rows} == {(0.25, 0.3)}
    found["oat"] = {r["id"]: int(r["allocation_up"]) for r in rows}

    ok("sensitivity", HARBIN, "-w", "area=0.3", "--samples", "200", "--save-samples",
       "--no-charts", "--out", tmp_path / "mc")
    found["montecarlo"] = {r["id"]: int(r["base"])
                           for r in read_csv(tmp_path / "mc" / "montecarlo_summary.csv")}
    record = json.loads((tmp_path / "mc" / "study.json").read_text(encoding="utf-8"))
    assert record["weights_used"]["area"] == 0.3 and record["overrides"] == {"weights": {"area": 0.3}}

    # A sample of that study, fed back with every weight, is its own scenario: replayed by run
    # and by the API it gives the sample's posts exactly.
    sample = read_csv(tmp_path / "mc" / "montecarlo_samples.csv")[17]
    names = list(api.weights)
    args = [a for n in names for a in ("--weight", f"{n}={sample[f'w_{n}']}")]
    ok("run", HARBIN, "-q", *args, "--out", tmp_path / "replay")
    frame = read_allocation(tmp_path / "replay" / "allocation.csv")
    replay = allocate(HARBIN, weights={n: float(sample[f"w_{n}"]) for n in names})
    assert by_id(frame["id"], frame["allocation"]) == by_id(replay.table.ids, replay.posts) == \
        {i: int(sample[i]) for i in api.table.ids}

    assert len(found) == 6
    for (a, first), (b, second) in itertools.combinations(found.items(), 2):
        assert first == second, (a, b)


def test_a_weight_is_used_printed_and_recorded_as_given(tmp_path):
    """Seen: `run --weight area=0.3` printed `area 0.286` (the override was renormalised)."""
    result = ok("run", HARBIN, "-w", "area=0.3", "--out", tmp_path / "o")
    assert "weights: population 0.42, urban_population 0.14, area 0.3, townships 0.14" in \
        result.output
    record = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert record["weights_used"]["area"] == 0.3
    assert record["model"]["indicators"]["area"]["weight"] == 0.3
    text = ok("report", HARBIN, "-w", "area=0.3", "--format", "md", "--no-charts", "--lang", "en",
              "--out", tmp_path / "r").output
    assert "area 0.3," in text
    inputs = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert re.search(r"Weight: Area[^|]*\| 0\.3000 \|", inputs)
    assert "weights: Area (km²) 0.3" in inputs  # the override, in the report's words


def test_model_file_weights_stay_relative():
    spec = load_model(HARBIN)
    raw = spec.model_dump(exclude_none=True)
    for ind in raw["indicators"].values():
        ind["weight"] *= 20
    scaled = ModelSpec.model_validate({**raw, "source": str(HARBIN)})
    assert scaled.normalised_weights() == pytest.approx(spec.normalised_weights())
    assert allocate(scaled).posts.tolist() == allocate(HARBIN).posts.tolist()


@pytest.mark.parametrize(("given", "message"), [
    ({"area": 0.7, "population": 0.5},
     "weights area=0.7, population=0.5: the named shares add up to 1.2, more than 1"),
    ({"population": 0.5, "urban_population": 0.1, "area": 0.2, "townships": 0.1},
     "every indicator is named, so the shares must add up to 1, not 0.9"),
    ({"area": 1.5}, "weights area=1.5: a weight given for a run is the indicator's share"),
])
def test_shares_that_cannot_be_final_are_errors_naming_them(given, message):
    with pytest.raises(InputError, match=re.escape(message)):
        allocate(HARBIN, weights=given)


def test_the_rest_needs_an_indicator_to_take_it():
    model = {"a": 1.0, "b": 0.0, "c": 0.0}
    assert final_weights(model, {"a": 1.0}) == {"a": 1.0, "b": 0.0, "c": 0.0}
    with pytest.raises(InputError, match=r"weights a=0.6: .* other indicators \(b, c\) all weigh "
                                         r"0 in the model, so none takes the remaining 0.4"):
        final_weights(model, {"a": 0.6})
    assert final_weights(model, {"a": 0.6, "b": 0.4}) == {"a": 0.6, "b": 0.4, "c": 0.0}
    # every indicator named: used exactly as given when they add up to 1 within 1e-9
    assert final_weights(model, {"a": 0.5, "b": 0.25, "c": 0.25 + 1e-10})["c"] == 0.25 + 1e-10


def test_sweep_and_oat_use_the_run_rule():
    fast = FastAllocator.from_model(HARBIN)
    result = sweep(fast, "area", [0.1, 0.3, 0.6])
    for value, posts in zip(result.values, result.posts, strict=True):
        assert posts.tolist() == allocate(HARBIN, weights={"area": float(value)}).posts.tolist()
    moved = oat(fast, 0.05)
    for k, name in enumerate(fast.names):
        centre = float(fast.centre[k])
        for weights, posts, value in ((moved.weights_down, moved.down, centre - 0.05),
                                      (moved.weights_up, moved.up, centre + 0.05)):
            assert weights[k, k] == pytest.approx(value, abs=1e-12)
            expected = allocate(HARBIN, weights={name: round(value, 12)}).posts
            assert posts[k].tolist() == expected.tolist()


def test_oat_title_and_labels_show_the_weights_used(tmp_path):
    """Seen: the OAT title said "± 0.05" but the weights used were 0.421 and 0.476."""
    result = ok("sensitivity", HARBIN, "--method", "oat", "--no-charts", "--out", tmp_path / "o")
    assert "each moved by ± 0.05" in result.output
    moves = oat(FastAllocator.from_model(HARBIN), 0.05).moves()
    assert moves == {"population": "population 0.45 → 0.4 / 0.5",
                     "urban_population": "urban_population 0.15 → 0.1 / 0.2",
                     "area": "area 0.25 → 0.2 / 0.3", "townships": "townships 0.15 → 0.1 / 0.2"}
    assert "0.25 → 0.2 / 0.3" in result.output


def test_studies_are_centred_on_the_runs_overrides(tmp_path):
    ok("sensitivity", HARBIN, "--method", "oat", "--no-charts", "-w", "area=0.3", "--rounding",
       "webster", "--cap", "60806", "--out", tmp_path / "o")
    base = allocate(HARBIN, weights={"area": 0.3}, rounding="webster").posts
    rows = [r for r in read_csv(tmp_path / "o" / "oat.csv") if r["indicator"] == "area"]
    assert [int(r["base"]) for r in rows] == base.tolist()
    assert {float(r["weight"]) for r in rows} == {0.3}


# ---- 2. scenarios never overwrite the baseline ------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    for folder in ("models", "data"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_scenario_never_replaces_the_baseline(workspace):
    """Seen: `run MODEL -w area=0.4` (or `--rounding webster`) silently replaced the baseline in
    out/harbin_2020/; the same for report."""
    ok("run", "models/harbin_2020.toml", "-q")
    baseline = (workspace / "out" / "harbin_2020" / "allocation.csv").read_bytes()
    for args, folder in ((["-w", "area=0.4"], "harbin_2020@area=0.4"),
                         (["--rounding", "webster"], "harbin_2020@rounding=webster"),
                         (["--cap", "60806", "--solver", "cbc"], "harbin_2020@cap=60806,solver=cbc"),
                         (["--group-total", "county=33095"], "harbin_2020@county.total=33095")):
        result = ok("run", "models/harbin_2020.toml", "-q", *args)
        assert f"wrote out/{folder}/allocation.csv" in result.output
        assert (workspace / "out" / folder / "allocation.csv").is_file()
        ok("run", "models/harbin_2020.toml", "-q", *args)  # the same scenario again: its own
    assert (workspace / "out" / "harbin_2020" / "allocation.csv").read_bytes() == baseline
    ok("report", "models/harbin_2020.toml", "--format", "md", "--no-charts")
    result = ok("report", "models/harbin_2020.toml", "--format", "md", "--no-charts",
                "-w", "area=0.4")
    assert "scenario area=0.4: wrote out/harbin_2020_report@area=0.4" in result.output
    ok("sensitivity", "models/harbin_2020.toml", "--method", "oat", "--no-charts", "-w", "area=0.4")
    ok("transition", "models/harbin_2020.toml", "-w", "area=0.4")
    assert sorted(p.name for p in (workspace / "out").iterdir()) == [
        "harbin_2020", "harbin_2020@area=0.4", "harbin_2020@cap=60806,solver=cbc",
        "harbin_2020@county.total=33095", "harbin_2020@rounding=webster", "harbin_2020_report",
        "harbin_2020_report@area=0.4", "harbin_2020_sensitivity_oat@area=0.4",
        "harbin_2020_transition@area=0.4"]


def test_scenario_folder_names_are_safe_and_short():
    long = Overrides(weights={n: 0.123456789012345 for n in ("population", "urban_population")},
                     group_totals={"县/市": 5})
    tag = long.tag()
    assert len(tag) == 60 and re.fullmatch(r"[^/\\:*?\"<>| ]+~[0-9a-f]{10}", tag)
    assert tag != Overrides(weights={"population": 0.123456789012345}).tag()
    assert Overrides(group_totals={"a/b": 1}).tag() == "a_b.total=1"


def test_force_never_deletes_a_file_the_tool_did_not_write(tmp_path):
    """Seen: `--force` deleted a notes.txt in the output folder."""
    out = tmp_path / "o"
    ok("run", HARBIN, "-q", "--out", out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    for force in ([], ["--force"]):
        refused = invoke("run", HARBIN, "-q", "--out", out, *force)
        assert refused.exit_code == 2
        assert "holds files that are not allocator results (notes.txt)" in refused.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


# ---- 3. a new cap with fixed group totals ------------------------------------------------------


def test_a_new_cap_with_fixed_totals_names_the_way_out(tmp_path):
    """Seen: `validate models/harbin_2020.toml --cap 58000`, the example of `validate --help`,
    exited 2: with fixed group totals no other cap could be explored."""
    refused = invoke("validate", HARBIN, "--cap", "58000")
    assert refused.exit_code == 2
    assert refused.output.startswith(
        "error: --cap 58000: the model fixes the total of groups county (33,095) and district "
        "(27,711), which do not follow the cap; override them too (--group-total county=31568 "
        "--group-total district=26432 keeps the same shares of the new cap), or give the groups a "
        "share of the cap instead of a total in the model file ([groups.NAME] share = ...)")
    checked = ok("validate", HARBIN, "--cap", "58000", "--group-total", "county=31568",
                 "--group-total", "district=26432")
    assert "group 'county': 9 units share 31,568 posts" in checked.output
    result = allocate(HARBIN, cap=58000, group_totals={"county": 31568, "district": 26432})
    assert int(result.posts.sum()) == 58000


def test_group_shares_follow_the_cap(tmp_path):
    text = HARBIN.read_text(encoding="utf-8").replace("total = 27711", "share = 0.4557") \
        .replace("total = 33095", "share = 0.5443").replace("../data/", str(ROOT / "data") + "/")
    model = tmp_path / "shares.toml"
    model.write_text(text, encoding="utf-8")
    spec = load_model(model)
    assert spec.group_totals() == {"district": 27709, "county": 33097}
    result = allocate(model, cap=58000)
    assert result.spec.group_totals() == {"district": 26431, "county": 31569}
    assert int(result.posts.sum()) == 58000
    ran = ok("run", model, "-q", "--cap", "58000", "--out", tmp_path / "o")
    assert "scenario cap=58000" in ran.output
    verified = ok("verify", tmp_path / "o")
    assert "the result matches its inputs" in verified.output


@pytest.mark.parametrize(("groups", "message"), [
    ("[groups.county]\ntotal = 10\nshare = 0.5\n", "groups.county: give a total (posts) or a "
                                                   "share (of the allocatable cap), not both"),
    ("[groups.county]\n", "groups.county: give a total (posts) or a share (of the allocatable "
                          "cap), not neither"),
    ("[groups.county]\nshare = 0.7\n[groups.city]\nshare = 0.6\n",
     "groups: the shares add up to 1.3, more than 1"),
])
def test_a_group_gives_a_total_or_a_share(tmp_path, groups, message):
    from .support import demo_model

    model = demo_model(tmp_path, extra="\n" + groups)
    refused = invoke("validate", model)
    assert refused.exit_code == 2 and message in refused.output


def test_group_total_overrides_are_checked_and_recorded(tmp_path):
    refused = invoke("run", HARBIN, "--group-total", "countyy=1")
    assert refused.exit_code == 2 and refused.output == (
        "error: --group-total countyy: no such group (did you mean 'county'?) (groups with fixed "
        "totals: district, county)\n")
    refused = invoke("run", HARBIN, "--group-total", "county=1.5")
    assert "--group-total county=1.5: '1.5' is not a whole number of posts" in refused.output
    ok("run", HARBIN, "-q", "--cap", "60000", "--group-total", "county=32000",
       "--group-total", "district=28000", "--out", tmp_path / "o")
    record = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert record["overrides"]["group_totals"] == {"county": 32000, "district": 28000}
    assert "the result matches its inputs" in ok("verify", tmp_path / "o").output


# ---- 5. the same options everywhere they make sense --------------------------------------------


def _params(command: str) -> dict[str, object]:
    import typer

    root = typer.main.get_command(app)
    return {p.name: p for p in root.commands[command].params}


@pytest.mark.parametrize("command", ["run", "report", "sensitivity", "transition", "validate"])
def test_the_run_overrides_are_on_every_command_that_allocates(command):
    """Seen: `run` had --cap/--solver/--rounding, `report` none, `sensitivity` no --weight."""
    assert {"weight", "cap", "solver", "rounding", "group_total"} <= set(_params(command))


@pytest.mark.parametrize("command", ["report", "sensitivity", "weights"])
def test_lang_and_charts_are_chosen_the_same_way(command):
    """Seen: `sensitivity` and `weights` had no --lang; charts were turned off by --no-charts in
    one command and by --format in another."""
    params = _params(command)
    assert "lang" in params
    assert params["charts"].opts == ["--charts"] and params["charts"].secondary_opts == ["--no-charts"]


def test_report_charts_with_charts_not_format(tmp_path):
    refused = invoke("report", HARBIN, "--format", "md,png", "--out", tmp_path / "x")
    assert refused.exit_code == 2 and refused.output.startswith(
        "error: --format png: charts are chosen with --charts/--no-charts")
    ok("report", HARBIN, "--format", "md", "--out", tmp_path / "with")
    assert {p.suffix for p in (tmp_path / "with").iterdir()} >= {".md", ".png", ".svg"}
    ok("report", HARBIN, "--format", "md", "--no-charts", "--out", tmp_path / "without")
    assert not [p for p in (tmp_path / "without").iterdir() if p.suffix in (".png", ".svg")]


def test_lang_is_validated_and_recorded(tmp_path):
    ok("sensitivity", HARBIN, "--method", "oat", "--no-charts", "--lang", "en",
       "--out", tmp_path / "s")
    assert json.loads((tmp_path / "s" / "study.json").read_text("utf-8"))["lang"] == "en"
    ok("weights", HARBIN, "--method", "equal", "--lang", "en", "--out", tmp_path / "w")
    assert json.loads((tmp_path / "w" / "study.json").read_text("utf-8"))["lang"] == "en"
    refused = invoke("weights", HARBIN, "--lang", "fr", "--out", tmp_path / "x")
    assert refused.output == "error: --lang fr: use one of zh, en\n"


@pytest.mark.parametrize(("args", "message"), [
    (["sensitivity", "--uniform", "--concentration", "10"],
     "--concentration 10: does not apply with --uniform"),
    (["sensitivity", "--method", "oat", "--samples", "50"],
     "--samples 50: applies to --method montecarlo only, not oat"),
    (["sensitivity", "--method", "sweep"], "--method sweep: needs --indicator NAME"),
    (["sensitivity", "--method", "oat", "--indicator", "area", "--to", "0.5"],
     "--indicator area --to 0.5: apply to --method sweep only, not oat"),
    (["sensitivity", "--delta", "0.1"], "--delta 0.1: applies to --method oat only, not montecarlo"),
    (["weights", "--method", "entropy", "--matrix", "m.csv"],
     "--matrix m.csv: applies to --method ahp only, not entropy"),
    (["weights", "--method", "ahp"], "--method ahp: needs --matrix FILE"),
    (["weights", "--seed", "3"], "--seed 3: applies to the Monte Carlo study only: give --samples"),
    (["weights", "--no-charts"], "--no-charts: applies to the Monte Carlo study only"),
])
def test_options_that_do_not_apply_are_errors_naming_them(tmp_path, args, message):
    """Seen: `--uniform --concentration 10` and `--method oat --samples 50` were ignored."""
    result = invoke(args[0], HARBIN, *args[1:], "--out", tmp_path / "x")
    assert result.exit_code == 2 and result.output.startswith(f"error: {message}"), result.output
    assert not (tmp_path / "x").exists()


# ---- 6. messages name the option and the value given -----------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["sensitivity", "--method", "sweep", "--indicator", "area", "--to", "1.5"],
     "--to 1.5: a weight is a share between 0 and 1"),
    (["sensitivity", "--method", "sweep", "--indicator", "area", "--from", "-0.1"],
     "--from -0.1: a weight is a share between 0 and 1"),
    (["run", "-w", "population=abc"], "--weight population=abc: 'abc' is not a number"),
    (["run", "-w", "area=0.3", "-w", "area=0.4"], "--weight area=0.4: area is given twice"),
    (["run", "-w", "aera=0.3"], "--weight aera: no such indicator (did you mean 'area'?) "
                                "(indicators: population, urban_population, area, townships)"),
    (["run", "--solver", "gurobi"], "--solver gurobi: use one of highs, cbc"),
    (["report", "--solver", "gurobi"], "--solver gurobi: use one of highs, cbc"),
    (["sensitivity", "--solver", "gurobi"], "--solver gurobi: use one of highs, cbc"),
    (["transition", "--solver", "gurobi"], "--solver gurobi: use one of highs, cbc"),
    (["validate", "--solver", "gurobi"], "--solver gurobi: use one of highs, cbc"),
])
def test_messages_name_the_option_and_the_value(tmp_path, args, message):
    """Seen: `--to 1.5` said "not 1.05" and named no option; `-w population=abc` said "expected
    NAME=VALUE"; `--solver gurobi` was blamed on the model file."""
    extra = [] if args[0] == "validate" else ["--out", tmp_path / "x"]
    result = invoke(args[0], HARBIN, *args[1:], *extra)
    assert (result.exit_code, result.output) == (2, f"error: {message}\n")


def test_the_library_blames_the_override_not_the_model_file():
    with pytest.raises(InputError) as caught:
        allocate(HARBIN, solver="gurobi")
    assert str(caught.value) == "solver 'gurobi': use one of highs, cbc"


def test_an_ahp_row_naming_no_indicator_lists_the_valid_names(tmp_path):
    matrix = tmp_path / "m.csv"
    matrix.write_text(",population,urban_population,area,townships\npopulaton,1,2,2,4\n"
                      "urban_population,,1,1,2\narea,,,1,2\ntownships,,,,1\n", encoding="utf-8")
    result = invoke("weights", HARBIN, "--method", "ahp", "--matrix", matrix, "--out", tmp_path / "x")
    assert result.exit_code == 2
    assert result.output == (f"error: {matrix}: row 'populaton' is not an indicator of the model "
                             "(did you mean 'population'?) (indicators: population, "
                             "urban_population, area, townships)\n")


# ---- 7. command-line conventions ---------------------------------------------------------------


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and re.fullmatch(r"allocator \S+\n", result.output)


def test_shell_completion_prints_a_script():
    result = invoke("--show-completion", "bash")
    assert result.exit_code == 0 and "complete" in result.output and "_ALLOCATOR_COMPLETE" in \
        result.output
    assert "--install-completion" in invoke("--help").output


@pytest.mark.parametrize("command", ["run", "validate", "verify", "report", "sensitivity",
                                     "weights", "transition"])
def test_help_shows_choices_and_no_type_noise(command):
    """Seen: `--help` showed `<bool>` after flags, `<str>` for choices, `{model}` in the usage."""
    text = invoke(command, "--help").output
    assert "<bool>" not in text and "<str>" not in text and "{" not in text
    assert re.search(rf"Usage: allocator {command} \[OPTIONS\] (MODEL|FOLDER)\n", text)
    if command in ("run", "report", "sensitivity", "transition", "validate"):
        assert "--rounding hamilton|webster|dhondt|huntington-hill" in text
        assert "--solver highs|cbc" in text


@pytest.mark.parametrize("mask", [0o002, 0o022, 0o077])
def test_output_folders_and_files_follow_the_umask(tmp_path, mask):
    """Seen: output folders were created drwx------ whatever the umask."""
    old = os.umask(mask)
    try:
        ok("run", HARBIN, "-q", "--out", tmp_path / "o")
        ok("sensitivity", HARBIN, "--method", "oat", "--no-charts", "--out", tmp_path / "s")
    finally:
        os.umask(old)
    for folder in (tmp_path / "o", tmp_path / "s"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask
        for path in folder.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path


@pytest.fixture
def terminal(monkeypatch) -> io.StringIO:
    """Standard error as a colour terminal, to see the progress shown there."""
    import allocator.cli.console as console

    screen = io.StringIO()
    monkeypatch.setattr(console, "err_console", Console(
        file=screen, force_terminal=True, markup=False, highlight=False, width=100,
        color_system="standard"))
    return screen


def test_the_monte_carlo_bar_renders_on_a_terminal(terminal):
    """Seen: the Monte Carlo bar printed a raw `[progress.description]` tag."""
    from allocator.cli.console import progress_bar

    with contextlib.ExitStack() as stack:
        update = progress_bar(stack)
        assert update is not None
        update(300, 1000)
    shown = terminal.getvalue()
    assert "scenarios" in shown and "300/1000" in shown
    assert "[progress" not in shown and "{task" not in shown


@pytest.mark.parametrize("args", [
    ["report", "--format", "md", "--no-charts"],
    ["sensitivity", "--method", "oat", "--no-charts"],
    ["weights", "--method", "equal"],
    ["transition"],
    ["run", "-q"],
])
def test_long_steps_show_progress_on_a_terminal(tmp_path, terminal, args):
    """Seen: `report` showed no progress at 5-11 s."""
    ok(args[0], HARBIN, *args[1:], "--out", tmp_path / "o")
    shown = terminal.getvalue()
    assert re.search(r"[a-z]+ing", shown) and "[progress" not in shown


def test_nothing_but_the_result_when_piped(tmp_path):
    """No bars, no colour when standard output and error are not terminals."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["TERM"] = "xterm-256color"
    script = "from allocator.cli import main; main()"
    for args in (["run", str(HARBIN), "--out", str(tmp_path / "r")],
                 ["sensitivity", str(HARBIN), "--samples", "3000", "--no-charts",
                  "--out", str(tmp_path / "s")],
                 ["run", str(HARBIN), "--cap", "1"]):
        ran = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                             text=True, env=env, cwd=tmp_path, timeout=300)
        assert ESCAPE not in ran.stdout and ESCAPE not in ran.stderr, args
        assert ran.returncode in (0, 2)
        assert ran.stderr == "" if ran.returncode == 0 else ran.stderr.startswith("error: ")
    in_process = invoke("sensitivity", HARBIN, "--samples", "500", "--no-charts",
                        "--out", tmp_path / "c")
    assert ESCAPE not in in_process.output and "scenarios" not in in_process.stderr


def test_weights_in_montecarlo_samples_replay_exactly_with_every_weight(tmp_path):
    """The replay of a saved sample (all weights named, adding up to 1 within 1e-9)."""
    ok("sensitivity", HARBIN, "--samples", "100", "--save-samples", "--no-charts",
       "--concentration", "5", "--out", tmp_path / "mc")
    rows = read_csv(tmp_path / "mc" / "montecarlo_samples.csv")
    names = ("population", "urban_population", "area", "townships")
    for row in rows[::9]:
        weights = {n: float(row[f"w_{n}"]) for n in names}
        assert abs(sum(weights.values()) - 1) < 1e-12
        posts = allocate(HARBIN, weights=weights)
        assert {i: int(row[i]) for i in posts.table.ids} == by_id(posts.table.ids, posts.posts)
        np.testing.assert_array_equal(list(posts.weights.values()), list(weights.values()))
