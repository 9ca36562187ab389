"""Determinism and audit: same inputs, same bytes; `allocator verify` re-runs and compares."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from .support import ROOT, demo_model, run_cli

HARBIN_TABLE = (ROOT / "data" / "harbin_2020.csv").read_text(encoding="utf-8")


def harbin_copy(folder: Path, table: str = HARBIN_TABLE) -> Path:
    """The bundled Harbin model and a copy of its table in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "harbin.csv").write_text(table, encoding="utf-8")
    model = (ROOT / "models" / "harbin_2020.toml").read_text(encoding="utf-8")
    path = folder / "harbin.toml"
    path.write_text(model.replace("../data/harbin_2020.csv", "harbin.csv"), encoding="utf-8")
    return path


def shuffled(table: str, seed: int) -> str:
    header, *rows = table.strip().splitlines()
    random.Random(seed).shuffle(rows)
    return "\n".join([header, *rows]) + "\n"


def run_to(model: Path, out: Path, *extra: str) -> bytes:
    ran = run_cli("run", model, "--out", out, "-q", *extra)
    assert ran.exit_code == 0, ran.stderr
    return (out / "allocation.csv").read_bytes()


@pytest.mark.parametrize("rounding", ["hamilton", "webster"])
def test_allocation_csv_is_byte_identical_whatever_the_row_order(rounding: str, tmp_path: Path):
    reference = run_to(harbin_copy(tmp_path / "ref"), tmp_path / "out_ref", "--rounding", rounding)
    for seed in range(3):
        model = harbin_copy(tmp_path / f"s{seed}", shuffled(HARBIN_TABLE, seed))
        assert run_to(model, tmp_path / f"out{seed}", "--rounding", rounding) == reference


def test_ids_that_differ_only_in_leading_zeros_keep_one_order(tmp_path: Path):
    table = ("code,name,type,population,area,posts\n01,A,district,100,10,50\n1,B,district,100,10,50\n"
             "001,C,county,100,10,50\n2,D,county,300,10,50\n")
    outs = set()
    for seed in range(4):
        model = demo_model(tmp_path / f"m{seed}", table=shuffled(table, seed), cap=101)
        outs.add(run_to(model, tmp_path / f"out{seed}"))
    assert len(outs) == 1


def test_repeated_runs_give_identical_files(tmp_path: Path):
    model = harbin_copy(tmp_path / "m")
    first = run_to(model, tmp_path / "out")
    record = (tmp_path / "out" / "run.json").read_bytes()
    assert run_to(model, tmp_path / "out") == first
    assert (tmp_path / "out" / "run.json").read_bytes() == record


def test_run_json_records_hashes_and_versions(tmp_path: Path):
    import hashlib

    model = harbin_copy(tmp_path / "m")
    run_to(model, tmp_path / "out", "-w", "area=0.5")
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["data_sha256"] == hashlib.sha256((tmp_path / "m" / "harbin.csv").read_bytes()).hexdigest()
    assert record["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert record["overrides"] == {"weights": {"area": 0.5}}
    assert record["model"]["indicators"]["area"]["weight"] == 0.5
    for package in ("allocator", "pulp", "highspy", "numpy", "pandas", "python"):
        assert record["versions"][package]


def test_verify_accepts_an_untouched_result(tmp_path: Path):
    model = harbin_copy(tmp_path / "m")
    run_to(model, tmp_path / "out", "-w", "area=0.5", "--rounding", "webster")
    ran = run_cli("verify", tmp_path / "out")
    assert ran.exit_code == 0, ran.stdout
    assert "ok   allocation.csv: identical to a fresh run" in ran.stdout
    assert ran.stdout.rstrip().endswith("the result matches its inputs")


def test_verify_finds_a_changed_data_file(tmp_path: Path):
    model = harbin_copy(tmp_path / "m")
    run_to(model, tmp_path / "out")
    changed = HARBIN_TABLE.replace("Daoli,district,1097430", "Daoli,district,1597430")
    assert changed != HARBIN_TABLE
    (tmp_path / "m" / "harbin.csv").write_text(changed, encoding="utf-8")
    ran = run_cli("verify", tmp_path / "out")
    assert ran.exit_code == 5
    assert f"FAIL data file: {tmp_path / 'm' / 'harbin.csv'} has changed since the run" in ran.stdout
    assert "FAIL allocation.csv:" in ran.stdout and "230102" in ran.stdout
    assert ran.stdout.rstrip().endswith("the result does NOT match its inputs")


def test_verify_finds_an_edited_allocation(tmp_path: Path):
    model = harbin_copy(tmp_path / "m")
    run_to(model, tmp_path / "out")
    path = tmp_path / "out" / "allocation.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[5] = str(int(cells[5]) + 1)  # allocation column of the first unit
    lines[1] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    ran = run_cli("verify", tmp_path / "out")
    assert ran.exit_code == 5
    assert f"FAIL allocation.csv: 1 units differ: {cells[0]} {cells[5]} -> {int(cells[5]) - 1}" in ran.stdout


def test_verify_a_moved_model_and_a_folder_that_is_not_a_result(tmp_path: Path):
    model = harbin_copy(tmp_path / "m")
    run_to(model, tmp_path / "out")
    shutil.move(tmp_path / "m", tmp_path / "moved")
    ran = run_cli("verify", tmp_path / "out")
    assert ran.exit_code == 5 and "FAIL model file:" in ran.stdout
    ran = run_cli("verify", tmp_path / "out", "--model", tmp_path / "moved" / "harbin.toml")
    assert ran.exit_code == 0, ran.stdout
    ran = run_cli("verify", tmp_path / "moved")
    assert (ran.exit_code, ran.stderr) == (
        2, f"error: {tmp_path / 'moved' / 'run.json'}: not found; is {tmp_path / 'moved'} an "
           "allocator output folder?\n")


def test_large_real_table_in_reverse_order_gives_the_same_bytes(tmp_path: Path):
    table = (ROOT / "data" / "china_counties_2020.csv").read_text(encoding="utf-8")
    header, *rows = table.strip().splitlines()
    outs = []
    for name, body in (("given", rows), ("reversed", rows[::-1])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "counties.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
        model = (ROOT / "models" / "china_counties_2020.toml").read_text(encoding="utf-8")
        (folder / "m.toml").write_text(model.replace("../data/china_counties_2020.csv",
                                                     "counties.csv"), encoding="utf-8")
        outs.append(run_to(folder / "m.toml", tmp_path / f"out_{name}"))
    assert outs[0] == outs[1]


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "cannot read"),
    ("[1, 2]", "no 'model' recorded"),
    ('{"model": 5, "model_file": "m.toml", "data_sha256": "x"}', "'model' is not a table"),
    ('{"model": {"cap": "many"}, "model_file": "m.toml", "data_sha256": "x"}', None),
])
def test_verify_a_damaged_run_json_in_one_line(text: str, message: str | None, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(text, encoding="utf-8")
    ran = run_cli("verify", out)
    assert ran.exception is None and ran.exit_code in (2, 5)
    if message is None:  # a recorded model that no longer validates is a failed check
        assert ran.exit_code == 5 and "FAIL recorded model:" in ran.stdout
    else:
        assert ran.exit_code == 2 and ran.stderr.count("\n") == 1 and message in ran.stderr
