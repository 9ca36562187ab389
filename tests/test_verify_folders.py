"""`allocator verify` on every folder the tool writes: report, transition, sensitivity (sweep, one
at a time, Monte Carlo) and weights. Each verifies untouched; a tampered cell in any table,
document or record fails with exit 5 and a line naming the file, row and column."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import shutil
from pathlib import Path

import pytest

from allocator.audit.files import compare_file

from .support import ROOT, run_cli

AHP = "\n".join([",population,urban_population,area,townships", "population,1,3,2,3",
                 "urban_population,,1,2/3,1", "area,,,1,3/2", "townships,,,,1"]) + "\n"

# folder -> the command that writes it (the model and --out are added)
COMMANDS = {
    "report": ("report", "--lang", "en", "--explain", "230108"),
    "report_zh": ("report", "--format", "xlsx,docx,md"),
    "sweep": ("sensitivity", "--method", "sweep", "--indicator", "area", "--steps", "4",
              "-w", "population=0.5"),
    "oat": ("sensitivity", "--method", "oat", "--lang", "en"),
    "montecarlo": ("sensitivity", "--samples", "40", "--save-samples", "--cap", "61000",
                   "--group-total", "district=27800", "--group-total", "county=33200"),
    "weights": ("weights", "--method", "ahp", "--samples", "30"),
    "transition": ("transition", "--years", "12", "--departure-rate", "0.05"),
}


def copy_model(folder: Path) -> Path:
    """The bundled Harbin model and its table, in ``folder/models`` and ``folder/data``."""
    (folder / "models").mkdir(parents=True)
    (folder / "data").mkdir()
    shutil.copy(ROOT / "data" / "harbin_2020.csv", folder / "data")
    model = folder / "models" / "harbin.toml"
    shutil.copy(ROOT / "models" / "harbin_2020.toml", model)
    return model


def write_folder(name: str, model: Path, out: Path) -> Path:
    command, *options = COMMANDS[name]
    if command == "weights":
        matrix = model.parent / "ahp.csv"
        matrix.write_text(AHP, encoding="utf-8")
        options += ["--matrix", str(matrix)]
    ran = run_cli(command, model, *options, "--out", out)
    assert ran.exit_code == 0, ran.stderr
    return out


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("verify_folders")
    model = copy_model(base)
    return {name: write_folder(name, model, base / "out" / name) for name in COMMANDS}


def tampered_copy(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    return copy


def fails(ran) -> list[str]:
    return [line for line in ran.stdout.splitlines() if line.startswith("FAIL")]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_kind_of_folder_verifies_untouched(folders, name):
    ran = run_cli("verify", folders[name])
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert ran.stdout.rstrip().endswith("the result matches its inputs")
    assert re.search(r"ok   files: \d+ files? holds? what a fresh run writes", ran.stdout)


def number_cell(rows: list[list[str]], rng: random.Random) -> tuple[int, int]:
    """A random data cell (not the first column, not the header) that holds a number."""
    cells = [(r, c) for r in range(1, len(rows)) for c in range(1, len(rows[r]))
             if re.fullmatch(r"-?\d+(\.\d+)?", rows[r][c])]
    return rng.choice(cells)


def tamper_csv(path: Path, rng: random.Random) -> tuple[str, str]:
    """Change one number of a CSV file: the row label and column the verdict must name."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    r, c = number_cell(rows, rng)
    rows[r][c] = str(float(rows[r][c]) + 7)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    return f"{path.name}: row {r} ({rows[r][0]}", f"column {rows[0][c]}: recorded {rows[r][c]}"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_changed_number_in_any_csv_is_named_by_file_row_and_column(folders, name, tmp_path):
    copy = tampered_copy(folders[name], tmp_path)
    rng = random.Random(name)
    expected = [tamper_csv(p, rng) for p in sorted(copy.glob("*.csv"))]
    assert expected
    ran = run_cli("verify", copy)
    assert ran.exit_code == 5, ran.stdout + ran.stderr
    lines = fails(ran)
    for start, column in expected:
        assert any(start in line and column in line for line in lines), (start, column, lines)


def replace_once(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in a text file; the line number where it was."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
    return text[:at].count("\n") + 1


def test_a_changed_cell_in_any_document_is_named(folders, tmp_path):
    from docx import Document
    from openpyxl import load_workbook

    copy = tampered_copy(folders["report"], tmp_path)
    allocated = next(csv.DictReader(io.StringIO(
        (copy / "allocation.csv").read_text(encoding="utf-8-sig"))))
    posts = f"{int(allocated['allocation']):,}"
    unit = allocated["id"]
    md = replace_once(copy / "report.md", f"| {posts} |", "| 9,999 |")
    tex = replace_once(copy / "report.tex", f"& {posts} &", "& 9,999 &")
    html = replace_once(copy / "report.html", f">{posts}<", ">9,999<")
    replace_once(copy / "method.txt", "Harbin", "Harbim")
    book = load_workbook(copy / "report.xlsx")
    sheet = book.worksheets[0]
    cell = next(c for row in sheet.iter_rows() for c in row
                if c.value == int(allocated["allocation"]))
    cell.value = 9999
    book.save(copy / "report.xlsx")
    document = Document(str(copy / "report.docx"))
    row = next(r for r in document.tables[0].rows if r.cells[0].text == unit)
    target = next(c for c in row.cells if c.text == posts)
    target.paragraphs[0].runs[0].text = "9,999"
    document.save(str(copy / "report.docx"))
    png = copy / "allocation.png"
    png.write_bytes(png.read_bytes()[:-16] + bytes(16))
    record = json.loads((copy / "run.json").read_text(encoding="utf-8"))
    record["weights_used"]["area"] = 0.3
    (copy / "run.json").write_text(json.dumps(record), encoding="utf-8")

    ran = run_cli("verify", copy)
    assert ran.exit_code == 5
    lines = "\n".join(fails(ran))
    named = f"({unit}, "
    assert f"FAIL report.md: line {md} {named}" in lines and "recorded 9,999" in lines
    assert f"FAIL report.tex: line {tex} {named}" in lines
    assert f"FAIL report.html: line {html} {named}" in lines
    assert f"FAIL report.xlsx: sheet {sheet.title}, cell {cell.coordinate} {named}" in lines
    assert re.search(rf"FAIL report.docx: table 1 row \d+ \({unit}, .*recorded 9,999", lines)
    assert "FAIL method.txt: line 1, character" in lines and "Harbim" in lines
    assert "FAIL allocation.png: " in lines
    assert "FAIL run.json weights_used: at weights_used.area: recorded 0.3" in lines
    for line in fails(ran):
        if line.startswith(("FAIL report.", "FAIL method")):
            assert "column" in line or "character" in line, line


def test_a_study_record_that_was_edited_fails(folders, tmp_path):
    copy = tampered_copy(folders["montecarlo"], tmp_path)
    record = json.loads((copy / "study.json").read_text(encoding="utf-8"))
    record["weights_used"]["area"] += 0.01
    (copy / "study.json").write_text(json.dumps(record), encoding="utf-8")
    ran = run_cli("verify", copy)
    assert ran.exit_code == 5
    assert any(line.startswith("FAIL study.json weights_used: at weights_used.area")
               for line in fails(ran)), ran.stdout


def test_recorded_settings_are_used_to_write_the_folder_again(folders, tmp_path):
    """The seed is a setting: changing it in study.json makes every table differ, and says so."""
    copy = tampered_copy(folders["montecarlo"], tmp_path)
    record = json.loads((copy / "study.json").read_text(encoding="utf-8"))
    record["options"]["seed"] = 1
    (copy / "study.json").write_text(json.dumps(record), encoding="utf-8")
    ran = run_cli("verify", copy)
    names = {line.split(":")[0] for line in fails(ran)}
    assert ran.exit_code == 5
    assert {"FAIL montecarlo_samples.csv", "FAIL montecarlo_summary.csv"} <= names, ran.stdout


def test_files_the_tool_did_not_write_are_listed_and_missing_ones_fail(folders, tmp_path):
    copy = tampered_copy(folders["oat"], tmp_path)
    (copy / "my notes.txt").write_text("mine", encoding="utf-8")
    ran = run_cli("verify", copy)
    assert ran.exit_code == 0, ran.stdout
    assert "ok   files not written by allocator: not checked: my notes.txt" in ran.stdout
    (copy / "tornado.png").unlink()
    ran = run_cli("verify", copy)
    assert ran.exit_code == 5
    assert "FAIL tornado.png: missing (a fresh run writes it)" in ran.stdout


def test_a_damaged_workbook_is_a_failed_check_not_a_crash(folders, tmp_path):
    copy = tampered_copy(folders["report_zh"], tmp_path)
    book = copy / "report.xlsx"
    book.write_bytes(book.read_bytes()[: len(book.read_bytes()) // 2])
    ran = run_cli("verify", copy)
    assert ran.exit_code == 5 and "Traceback" not in ran.stdout + ran.stderr
    assert "FAIL report.xlsx: cannot be read as its kind of file" in ran.stdout


def test_a_changed_model_or_matrix_fails_its_check(tmp_path):
    model = copy_model(tmp_path / "m")
    study = write_folder("sweep", model, tmp_path / "sweep")
    weights = write_folder("weights", model, tmp_path / "weights")
    model.write_text(model.read_text(encoding="utf-8").replace("weight = 0.25", "weight = 0.3"),
                     encoding="utf-8")
    ran = run_cli("verify", study)
    assert ran.exit_code == 5
    assert f"FAIL model file: {model} has changed since the run" in ran.stdout
    matrix = model.parent / "ahp.csv"
    matrix.write_text(AHP.replace("1,3,2,3", "1,3,2,4"), encoding="utf-8")
    ran = run_cli("verify", weights)
    assert f"FAIL matrix file: {matrix} has changed since the run" in ran.stdout
    assert "FAIL weights.csv: row 1 (population), column" in ran.stdout


def test_a_record_without_the_settings_fails_clearly(folders, tmp_path):
    copy = tampered_copy(folders["sweep"], tmp_path)
    record = json.loads((copy / "study.json").read_text(encoding="utf-8"))
    del record["charts"]
    (copy / "study.json").write_text(json.dumps(record), encoding="utf-8")
    ran = run_cli("verify", copy)
    assert ran.exit_code == 5
    assert "FAIL recorded settings: cannot be used: 'charts' missing" in ran.stdout
    copy = tampered_copy(folders["report_zh"], tmp_path / "r")
    record = json.loads((copy / "run.json").read_text(encoding="utf-8"))
    record["report"]["formats"] = "xlsx"
    (copy / "run.json").write_text(json.dumps(record), encoding="utf-8")
    ran = run_cli("verify", copy)
    assert ran.exit_code == 5
    assert "FAIL recorded settings: cannot be used: \"xlsx\" is not a list" in ran.stdout


def test_a_study_json_of_another_command_is_an_input_error(tmp_path):
    (tmp_path / "study.json").write_text(json.dumps({"model": "x", "command": "run"}),
                                         encoding="utf-8")
    ran = run_cli("verify", tmp_path)
    assert ran.exit_code == 2
    assert "'command' is \"run\", not sensitivity or weights" in ran.stderr


# ---- the comparison of single files, against hand-made cases ----------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("suffix", "old", "new", "expected"), [
    (".csv", "id,x\na,1.0\n", "id,x\na,1.0000000000001\n", None),  # numbers to 1e-9
    (".csv", "id,x\na,1\n", "id,x\na,1.1\n", "row 1 (a), column x: recorded 1, a fresh run gives 1.1"),
    (".csv", "id,x\na,1\n", "id,x\na,1\nb,2\n", "row 2: recorded (no row), a fresh run gives b, 2"),
    (".csv", "id,y\na,1\n", "id,x\na,1\n", "header (id), column 2: recorded y, a fresh run gives x"),
    (".md", "| A | B |\n| --- | --- |\n| u | 1 |\n", "| A | B |\n| --- | --- |\n| u | 2 |\n",
     "line 3 (u), column B: recorded 1, a fresh run gives 2"),
    (".tex", "\\toprule\nA & \\makecell[rb]{B\\\\C} \\\\\n\\midrule\nu & 1 \\\\\n",
     "\\toprule\nA & \\makecell[rb]{B\\\\C} \\\\\n\\midrule\nu & 2 \\\\\n",
     "line 4 (u), column BC: recorded 1, a fresh run gives 2"),
    (".html", "<tr><th>A</th><th>B</th></tr>\n<tr><td>u</td><td>1</td></tr>\n",
     "<tr><th>A</th><th>B</th></tr>\n<tr><td>u</td><td>2</td></tr>\n",
     "line 2 (u), column B: recorded 1, a fresh run gives 2"),
    (".txt", "same\nold line\n", "same\nnew line\n",
     "line 2, character 1: recorded old line, a fresh run gives new line"),
    (".png", "abc", "abd", "contents: 3 bytes that differ from the 3 of a fresh drawing or copy"),
])
def test_compare_file_names_the_first_difference(tmp_path, suffix, old, new, expected):
    a = write(tmp_path / f"a{suffix}", old)
    b = write(tmp_path / f"b{suffix}", new)
    assert compare_file(f"f{suffix}", a, b) == expected


def test_model_files_compare_where_their_data_path_points(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y" / "z").mkdir(parents=True)
    a = write(tmp_path / "x" / "m.toml", 'data = "../d.csv"\ncap = 1\n')
    b = write(tmp_path / "y" / "z" / "m.toml", 'data = "../../d.csv"\ncap = 1\n')
    assert compare_file("m.toml", a, b) is None
    c = write(tmp_path / "y" / "z" / "n.toml", 'data = "../../e.csv"\ncap = 1\n')
    assert compare_file("m.toml", a, c).startswith("key data: ")
