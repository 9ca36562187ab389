"""Safe outputs: all-or-nothing folders, no overwriting another model's results, no formulas."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from allocator import InputError
from allocator.outputs.cells import neutralise_frame
from allocator.outputs.folders import MANIFEST, write_files

from .support import GOOD_TABLE, HARBIN, demo_model, run_cli, write_csv, write_model


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_failing_writer_leaves_the_old_folder_and_no_debris(tmp_path: Path):
    out = tmp_path / "out"
    write_files(out, {"a.txt": lambda p: p.write_text("old")})
    before = snapshot(out)

    def broken(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_files(out, {"a.txt": lambda p: p.write_text("new"), "b.txt": broken})
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_os_error_while_writing_is_a_one_line_input_error(tmp_path: Path):
    def denied(path: Path) -> None:
        raise PermissionError(13, "Permission denied")

    with pytest.raises(InputError, match="out: cannot write the output folder"):
        write_files(tmp_path / "out", {"a.txt": denied})
    assert list(tmp_path.iterdir()) == []


def test_no_partial_folder_when_the_run_fails(tmp_path: Path):
    model = demo_model(tmp_path / "m", extra="\n[bounds]\nfloor = 150\n")
    ran = run_cli("run", model, "--out", tmp_path / "out")
    assert ran.exit_code == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_refuses_another_models_folder_unless_forced(tmp_path: Path):
    first = demo_model(tmp_path / "a", name="model A")
    second = demo_model(tmp_path / "b", name="model B", cap=500)
    out = tmp_path / "out"
    assert run_cli("run", first, "--out", out, "-q").exit_code == 0
    before = snapshot(out)
    ran = run_cli("run", second, "--out", out, "-q")
    assert ran.exit_code == 2
    assert ran.stderr == (f"error: {out}: holds results of another model ('model A', not 'model B'); "
                          "choose another output folder, or use --force to replace it\n")
    assert snapshot(out) == before
    assert run_cli("run", second, "--out", out, "-q", "--force").exit_code == 0
    assert '"name": "model B"' in (out / "run.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "out"]


def test_another_scenario_of_the_same_model_needs_force(tmp_path: Path):
    model = demo_model(tmp_path / "a")
    out = tmp_path / "out"
    assert run_cli("run", model, "--out", out, "-q").exit_code == 0
    before = (out / "allocation.csv").read_bytes()
    ran = run_cli("run", model, "--out", out, "-q", "-w", "area=0.5")
    assert (ran.exit_code, ran.stderr) == (2, f"error: {out}: holds results of another scenario "
                                              "(the model as it is, not 'area=0.5'); choose another "
                                              "output folder, or use --force to replace it\n")
    assert (out / "allocation.csv").read_bytes() == before
    assert run_cli("run", model, "--out", out, "-q", "-w", "area=0.5", "--force").exit_code == 0
    assert (out / "allocation.csv").read_bytes() != before
    assert run_cli("run", model, "--out", out, "-q", "-w", "area=0.5").exit_code == 0  # again


def test_refuses_a_folder_of_other_files_a_file_and_the_current_folder(tmp_path: Path,
                                                                        monkeypatch):
    model = demo_model(tmp_path / "m")
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "plan.docx").write_text("precious")
    ran = run_cli("run", model, "--out", mine, "-q")
    assert ran.exit_code == 2 and "holds files that are not allocator results" in ran.stderr
    assert (mine / "plan.docx").read_text() == "precious"
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    ran = run_cli("run", model, "--out", a_file, "-q", "--force")
    assert ran.exit_code == 2 and "exists and is not a folder" in ran.stderr
    assert a_file.read_text() == "keep"
    monkeypatch.chdir(mine)
    ran = run_cli("run", model, "--out", ".", "-q", "--force")
    assert ran.exit_code == 2 and "is the current folder or holds it" in ran.stderr
    assert (mine / "plan.docx").read_text() == "precious"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("run", model, "--out", empty, "-q").exit_code == 0


def test_formulas_in_text_cells_are_neutralised(tmp_path: Path):
    table = (GOOD_TABLE.replace("U1,Alpha,district", "=1+1,=HYPERLINK(\"x\"),@district")
             .replace("U2,Beta", "+U2,-Beta"))
    model = demo_model(tmp_path, table=table)
    out = tmp_path / "out"
    assert run_cli("run", model, "--out", out, "-q").exit_code == 0
    rows = list(csv.DictReader(io.StringIO((out / "allocation.csv").read_text(encoding="utf-8-sig"))))
    cells = [row[c] for row in rows for c in ("id", "label", "group")]
    assert "'=1+1" in cells and "'=HYPERLINK(\"x\")" in cells and "'@district" in cells
    assert "'+U2" in cells and "'-Beta" in cells
    assert not any(c[:1] in "=+-@" for c in cells)
    differences = [row["difference"] for row in rows]
    assert any(d.startswith("-") for d in differences)  # numbers are left alone


def test_neutralise_frame_covers_every_text_column_and_header():
    frame = pd.DataFrame({"=name": ["=A1", "fine", None], "count": [-1, 2, 3]})
    safe = neutralise_frame(frame)
    assert safe.columns.tolist() == ["'=name", "count"]
    assert safe["'=name"].tolist()[:2] == ["'=A1", "fine"]
    assert safe["count"].tolist() == [-1, 2, 3]
    assert frame["=name"].tolist()[0] == "=A1"  # the input is not changed


def test_a_folder_of_this_commands_own_files_is_replaced_without_run_json(tmp_path: Path):
    out = tmp_path / "out"
    files = {"sweep.csv": lambda p: p.write_text("a"), "sweep.png": lambda p: p.write_bytes(b"b")}
    write_files(out, files)
    write_files(out, files)  # the same command again
    write_files(out, {"sweep.csv": lambda p: p.write_text("c"), **files})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "sweep.csv", "sweep.png"]
    (out / "notes.txt").write_text("mine")
    for force in (False, True):  # a file the tool did not write is never deleted
        with pytest.raises(InputError,
                           match=r"holds files that are not allocator results \(notes.txt\)"):
            write_files(out, files, force=force)
    assert (out / "notes.txt").read_text() == "mine"


def test_a_results_folder_holding_sub_folders_is_not_replaced_without_force(tmp_path: Path):

    out = tmp_path / "harbin"
    assert run_cli("run", str(HARBIN), "-q", "--out", str(out)).exit_code == 0
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("keep me")
    for force in ([], ["--force"]):
        refused = run_cli("run", str(HARBIN), "-q", "--out", str(out), *force)
        assert refused.exit_code == 2 and "folders that would be lost (notes)" in refused.stderr
    assert (out / "notes" / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("command", [
    ["report", "--format", "md"],
    ["sensitivity", "--method", "oat", "--no-charts"],
    ["weights", "--method", "equal"],
])
def test_every_writing_command_refuses_a_foreign_folder_even_forced(tmp_path: Path, command):

    out = tmp_path / "o"
    out.mkdir()
    (out / "budget.xlsx").write_text("not ours")
    args = [command[0], str(HARBIN), *command[1:], "--out", str(out)]
    for force in ([], ["--force"]):
        refused = run_cli(*args, *force)
        assert refused.exit_code == 2 and "budget.xlsx" in refused.stderr
    assert (out / "budget.xlsx").read_text() == "not ours"
    (out / "budget.xlsx").unlink()
    assert run_cli(*args).exit_code == 0


def test_default_study_folders_sit_beside_the_run_folder_not_inside_it(tmp_path: Path,
                                                                       monkeypatch):
    import shutil


    model = tmp_path / "models" / "harbin_2020.toml"
    model.parent.mkdir()
    shutil.copy(HARBIN, model)
    (tmp_path / "data").mkdir()
    shutil.copy(HARBIN.parents[1] / "data" / "harbin_2020.csv", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    for args in (["run", "-q"], ["sensitivity", "--method", "oat", "--no-charts"],
                 ["weights", "--method", "equal"], ["report", "--format", "md"], ["run", "-q"]):
        result = run_cli(args[0], str(model), *args[1:])
        assert result.exit_code == 0, (result.stdout + result.stderr)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "harbin_2020", "harbin_2020_report", "harbin_2020_sensitivity_oat",
        "harbin_2020_weights_equal"]


def test_markup_like_names_print_literally_in_every_command(tmp_path: Path):

    write_csv(tmp_path / "u.csv", ["id", "name", "pop"],
              [["a", "[/b]", 10], ["b", "[bold]x", 30]])
    model = write_model(tmp_path / "m.toml", {"name": "[red]m", "data": "u.csv", "id": "id",
                                              "label": "name", "cap": 40,
                                              "indicators": {"pop": {"column": "pop", "weight": 1}}})
    for args in (["run"], ["report", "--format", "md", "--lang", "en"]):
        result = run_cli(args[0], str(model), *args[1:], "--out", str(tmp_path / args[0]))
        assert result.exit_code == 0, (result.stdout + result.stderr)
        assert "Traceback" not in (result.stdout + result.stderr)
    assert "[/b]" in run_cli("run", str(model), "--out", str(tmp_path / "run")).stdout


def test_study_and_weights_csvs_neutralise_every_text_cell(tmp_path: Path):

    write_csv(tmp_path / "u.csv", ["id", "name", "name_en", "pop", "area"],
              [["a", "=HYPERLINK(1)", "@evil", 10, 5], ["b", "ok", "+1", 30, 2]])
    model = write_model(tmp_path / "m.toml", {
        "name": "m", "data": "u.csv", "id": "id", "label": "name", "label_en": "name_en",
        "cap": 40,
        "indicators": {"pop": {"column": "pop", "weight": 1}, "area": {"column": "area", "weight": 1}}})
    for args, name in ((["sensitivity", "--method", "oat", "--no-charts"], "oat.csv"),
                       (["weights", "--method", "equal"], "weights.csv")):
        out = tmp_path / args[0]
        assert run_cli(args[0], str(model), *args[1:], "--out", str(out)).exit_code == 0
        rows = list(csv.reader(io.StringIO((out / name).read_text(encoding="utf-8-sig"))))
        cells = [c for row in rows for c in row]
        assert not any(c.startswith(("=", "+", "@")) for c in cells), cells
    oat_cells = (tmp_path / "sensitivity" / "oat.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in oat_cells
