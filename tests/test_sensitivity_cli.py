"""The sensitivity and weights commands: files written, one-line errors, help with examples."""

from __future__ import annotations

import csv

import pytest

from allocator.pipeline.allocate import allocate

from .support import ROOT, run_cli

HARBIN = str(ROOT / "models" / "harbin_2020.toml")


def invoke(*args):
    return run_cli(*args)


@pytest.mark.parametrize("command", ["sensitivity", "weights"])
def test_help_has_an_example(command):
    outcome = invoke(command, "--help")
    assert outcome.exit_code == 0 and "Example: allocator " + command in outcome.output


def test_sweep_writes_table_and_chart(tmp_path):
    out = tmp_path / "sweep"
    outcome = invoke("sensitivity", HARBIN, "--method", "sweep", "--indicator", "area",
                     "--from", "0", "--to", "0.5", "--steps", "3", "--out", out)
    assert outcome.exit_code == 0, outcome.output
    assert sorted(p.name for p in out.iterdir() if p.name[0] != ".") == [
        "notes.txt", "study.json", "sweep.csv", "sweep.png"]
    assert (out / "sweep.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8
    note = (out / "notes.txt").read_text(encoding="utf-8-sig")
    assert note.startswith("注：现有编制数为示意性的虚构数据") and "illustrative" in outcome.output
    with (out / "sweep.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 18
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    base = allocate(HARBIN, weights={"area": 0.25}).posts  # the middle step
    assert [int(r["allocation"]) for r in rows if r["step"] == "2"] == base.tolist()


def test_oat_writes_table_and_tornado(tmp_path):
    out = tmp_path / "oat"
    outcome = invoke("sensitivity", HARBIN, "--method", "oat", "--delta", "0.1", "--out", out)
    assert outcome.exit_code == 0, outcome.output
    assert sorted(p.name for p in out.iterdir() if p.name[0] != ".") == [
        "oat.csv", "study.json", "tornado.png"]
    assert "largest swings" in outcome.output
    assert "illustrative" not in outcome.output  # nothing here compares with current posts


def test_montecarlo_writes_summary_samples_and_bands(tmp_path):
    out = tmp_path / "mc"
    outcome = invoke("sensitivity", HARBIN, "--samples", "400", "--save-samples",
                     "--concentration", "20", "--seed", "3", "--out", out)
    assert outcome.exit_code == 0, outcome.output
    assert sorted(p.name for p in out.iterdir() if p.name[0] != ".") == [
        "montecarlo_bands.png", "montecarlo_indices.csv", "montecarlo_samples.csv",
        "montecarlo_summary.csv", "notes.txt", "study.json"]
    for name in ("montecarlo_indices.csv", "montecarlo_samples.csv", "montecarlo_summary.csv"):
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    with (out / "montecarlo_samples.csv").open(encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header[:5] == ["scenario", "w_population", "w_urban_population", "w_area",
                              "w_townships"]
        assert sum(1 for _ in reader) == 400
    with (out / "montecarlo_summary.csv").open(encoding="utf-8-sig") as handle:
        summary = list(csv.DictReader(handle))
    assert {r["verdict"] for r in summary} <= {"over", "under", "depends"}
    assert "verdict at 95% of scenarios" in outcome.output
    assert "note: Current posts are illustrative" in outcome.output  # the verdicts' caveat


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "sweep", "--indicator", "aera"], "did you mean 'area'"),
    (["--method", "sweep"], "--method sweep: needs --indicator NAME"),
    (["--method", "sweep", "--indicator", "area", "--to", "1.5"],
     "--to 1.5: a weight is a share between 0 and 1"),
    (["--method", "tornado"], "use one of sweep, oat, montecarlo"),
    (["--samples", "0"], "--samples 0: use 1 to 10,000,000 scenarios"),
    (["--samples", "1000000000"], "--samples 1,000,000,000: use 1 to 10,000,000 scenarios"),
    (["--concentration", "0"], "concentration 0"),
    (["--rounding", "banker"], "rounding"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "never"
    outcome = invoke("sensitivity", HARBIN, *args, "--out", out)
    assert outcome.exit_code == 2, outcome.output
    assert message in outcome.output and "Traceback" not in outcome.output
    assert len(outcome.output.strip().splitlines()) == 1
    assert not out.exists()


def test_weights_command_writes_a_model_that_runs(tmp_path):
    out = tmp_path / "w"
    outcome = invoke("weights", HARBIN, "--method", "entropy", "--out", out)
    assert outcome.exit_code == 0, outcome.output
    assert "leave_one_out" in outcome.output
    model = out / "harbin_2020_entropy.toml"
    run = invoke("run", model, "-q", "--out", tmp_path / "run")
    assert run.exit_code == 0, run.output


def test_weights_ahp_refuses_inconsistent_matrix(tmp_path):
    matrix = tmp_path / "m.csv"
    matrix.write_text(",population,urban_population,area,townships\n"
                      "population,1,9,1/9,1\nurban_population,,1,9,1\narea,,,1,1\n"
                      "townships,,,,1\n", encoding="utf-8")
    out = tmp_path / "w"
    outcome = invoke("weights", HARBIN, "--method", "ahp", "--matrix", matrix, "--out", out)
    assert outcome.exit_code == 2 and "CR = " in outcome.output and not out.exists()
    forced = invoke("weights", HARBIN, "--method", "ahp", "--matrix", matrix, "--accept-inconsistent",
                    "--out", out)
    assert forced.exit_code == 0, forced.output
    assert "above 0.1, forced" in forced.output
