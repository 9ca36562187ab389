"""Invalid input: one line naming file, key, column and row; exit 2 (or 3); nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from allocator import InputError, allocate
from allocator.pipeline.validate import validate

from .support import BAD_INPUTS, GOOD_TABLE, demo_model, expectation, run_cli

CASES = sorted(BAD_INPUTS.glob("*.toml"))


def test_corpus_covers_the_issue_list():
    names = {c.stem for c in CASES}
    for needed in ("data_missing", "id_column_missing", "indicator_column_missing",
                   "actual_column_missing", "value_not_number", "value_empty", "value_nan",
                   "value_infinite", "value_negative", "id_duplicate", "id_empty",
                   "indicator_all_zero", "weight_negative", "weights_all_zero", "unknown_key",
                   "cap_string", "cap_not_integer", "cap_zero", "reserve_not_below_cap",
                   "max_cut_one", "max_cut_negative", "group_unknown"):
        assert needed in names


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_input_gives_its_message_and_writes_nothing(case: Path, tmp_path: Path):
    exit_code, message = expectation(case)
    out = tmp_path / "out"
    ran = run_cli("run", case, "--out", out, "--quiet")
    assert ran.exception is None
    assert ran.exit_code == exit_code
    assert ran.stderr == f"error: {message}\n"
    assert "Traceback" not in ran.stdout + ran.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    checked = run_cli("validate", case)
    assert (checked.exit_code, checked.stderr) == (exit_code, f"error: {message}\n")


def _table_rows() -> list[list[str]]:
    return [line.split(",") for line in GOOD_TABLE.strip().splitlines()]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_read_not_rejected(encoding: str, tmp_path: Path):
    chinese = GOOD_TABLE.replace("Alpha", "道里区").replace("Beta", "南岗区")
    plain = demo_model(tmp_path / "plain", table=chinese)
    other = demo_model(tmp_path / "other", table=None)
    (tmp_path / "other" / "units.csv").write_bytes(chinese.encode(encoding))
    expected = allocate(plain).frame()
    got = allocate(other).frame()
    assert got["label"].tolist()[:2] == ["道里区", "南岗区"]
    assert got.equals(expected)


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


def _typed(rows: list[list[str]]) -> list[list]:
    return [rows[0]] + [[float(c) if c.isdigit() else c for c in row] for row in rows[1:]]


def test_xlsx_first_sheet_and_named_sheet(tmp_path: Path):
    csv_model = demo_model(tmp_path / "csv")
    expected = allocate(csv_model).frame()
    rows = _typed(_table_rows())
    junk = [["code", "population"], ["X", 1]]
    first = demo_model(tmp_path / "first", data="units.xlsx", table=None)
    _xlsx(tmp_path / "first" / "units.xlsx", {"units": rows, "other": junk})
    assert allocate(first).frame().equals(expected)
    named = demo_model(tmp_path / "named", data="units.xlsx", table=None)
    named.write_text(named.read_text().replace('cap = 400', 'cap = 400\nsheet = "units"'))
    _xlsx(tmp_path / "named" / "units.xlsx", {"notes": junk, "units": rows})
    assert allocate(named).frame().equals(expected)


def test_xlsx_row_numbers_match_the_spreadsheet(tmp_path: Path):
    rows = _typed(_table_rows())
    rows[3][3] = "many"  # spreadsheet row 4
    model = demo_model(tmp_path, data="units.xlsx", table=None)
    _xlsx(tmp_path / "units.xlsx", {"units": rows})
    with pytest.raises(InputError, match=r"units.xlsx, row 4 \(id U3\), column 'population'"):
        allocate(model)


def test_xlsx_missing_sheet_and_corrupt_file(tmp_path: Path):
    model = demo_model(tmp_path, data="units.xlsx", table=None)
    model.write_text(model.read_text().replace('cap = 400', 'cap = 400\nsheet = "Units 2020"'))
    _xlsx(tmp_path / "units.xlsx", {"units": _typed(_table_rows())})
    ran = run_cli("validate", model)
    assert ran.exit_code == 2
    assert ran.stderr.startswith(f"error: {tmp_path / 'units.xlsx'}, sheet 'Units 2020': cannot read")
    (tmp_path / "units.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    ran = run_cli("validate", model)
    assert ran.exit_code == 2 and ran.exception is None
    assert ran.stderr.count("\n") == 1 and str(tmp_path / "units.xlsx") in ran.stderr


def test_unreadable_data_files(tmp_path: Path):
    model = demo_model(tmp_path, table=None)
    (tmp_path / "units.csv").mkdir()
    ran = run_cli("validate", model)
    assert (ran.exit_code, ran.stderr) == (2, f"error: {tmp_path / 'units.csv'}: is a folder, not a "
                                              "data file\n")
    shutil.rmtree(tmp_path / "units.csv")
    (tmp_path / "units.csv").write_bytes(bytes(range(128, 256)) * 4)
    ran = run_cli("validate", model)
    assert (ran.exit_code, ran.stderr) == (2, f"error: {tmp_path / 'units.csv'}: not readable as "
                                              "UTF-8 or GB18030 text\n")


def test_model_file_missing_or_unreadable(tmp_path: Path):
    ran = run_cli("validate", tmp_path / "nope.toml")
    assert (ran.exit_code, ran.stderr) == (2, f"error: {tmp_path / 'nope.toml'}: model file not found\n")
    (tmp_path / "latin1.toml").write_bytes("name = 'caf\xe9'".encode("latin-1"))
    ran = run_cli("validate", tmp_path / "latin1.toml")
    assert ran.exit_code == 2 and ran.stderr.startswith(f"error: {tmp_path / 'latin1.toml'}: cannot read")


@pytest.mark.parametrize(("args", "message"), [
    (["--weight", "popluation=0.5"], "--weight popluation: no such indicator (did you mean "
                                     "'population'?) (indicators: population, area)"),
    (["--weight", "population"], "--weight population: expected NAME=VALUE, e.g. --weight population=0.5"),
    (["--weight", "population=abc"], "--weight population=abc: 'abc' is not a number"),
    (["--weight", "population=-1"], "--weight population=-1: a weight given for a run is the "
                                    "indicator's share, a number between 0 and 1"),
    (["--weight", "population=0", "--weight", "area=0"],
     "--weight population=0 --weight area=0: every indicator is named, so the shares must add up "
     "to 1, not 0"),
    (["--weight", "population=0.7", "--weight", "area=0.5"],
     "--weight population=0.7 --weight area=0.5: the named shares add up to 1.2, more than 1"),
    (["--cap", "0"], "{model}: cap: must be greater than 0 (got 0) (with --cap 0)"),
    (["--cap", "-5"], "{model}: cap: must be greater than 0 (got -5) (with --cap -5)"),
])
def test_bad_overrides(args: list[str], message: str, tmp_path: Path):
    model = demo_model(tmp_path)
    for command in (["run", model, "--out", tmp_path / "out"], ["validate", model]):
        ran = run_cli(*command, *args)
        assert (ran.exit_code, ran.stderr) == (2, f"error: {message.format(model=model)}\n")
    assert not (tmp_path / "out").exists()


def test_label_with_markup_characters_is_printed_as_is(tmp_path: Path):
    model = demo_model(tmp_path, table=GOOD_TABLE.replace("U4,Delta", "[/b],Delta"))
    model.write_text(model.read_text() + "\n[bounds]\nfloor = 61\nmax_increase = 0.01\n")
    ran = run_cli("validate", model)
    assert ran.exit_code == 3 and ran.exception is None
    assert ran.stderr.startswith("error: unit [/b] (Delta): its floor needs at least 61 posts but "
                                 "its max_increase (0.01 of 60 current posts) allows at most 60;")


def test_validate_reports_what_it_checked(tmp_path: Path):
    model = demo_model(tmp_path, extra="\n[groups.county]\ntotal = 150\n")
    ran = run_cli("validate", model)
    assert ran.exit_code == 0, ran.stderr
    assert "4 units" in ran.stdout and "group 'county': 2 units share 150 posts" in ran.stdout
    assert "other units: 2 units share 250 posts" in ran.stdout
    assert not (tmp_path / "out").exists() and not Path("out", model.stem).exists()
    checked = validate(model)
    assert [p.total for p in checked.problem.pools] == [150, 250]


@pytest.mark.parametrize("command", ["validate", "verify", "run"])
def test_every_command_help_has_an_example(command: str):
    ran = run_cli(command, "--help")
    assert ran.exit_code == 0 and "Example: allocator " + command in ran.stdout
