"""Replay the red-team corpus (``tests/redteam/``): hostile data files and models as real exports
and real mistakes produce them, and tampered ``run.json`` records. See ``tests/redteam/README.md``.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from allocator import load_model
from allocator.table import load_table

from .support import run_cli
from .test_verify import harbin_copy

REDTEAM = Path(__file__).parent / "redteam"
DATA_CASES = sorted(p.parent for p in (REDTEAM / "data").glob("*/expect.toml"))
RECORD_CASES = sorted((REDTEAM / "run_json").glob("*.toml"))


def test_the_corpus_covers_every_class():
    names = {p.name for p in DATA_CASES} | {p.stem for p in RECORD_CASES}
    for needed in ("decimal_comma", "utf8_with_a_stray_byte", "gbk_export", "bom_inside_cells",
                   "tab_separated", "ids_with_other_digits", "xlsx_hidden_first_sheet",
                   "xlsx_uncalculated_formula", "xlsx_error_cells", "model_with_a_bom",
                   "tiny_ceiling", "forged_cap", "forged_weights", "forged_status",
                   "status_missing", "cap_as_text"):
        assert needed in names


@pytest.mark.parametrize("case", DATA_CASES, ids=[p.name for p in DATA_CASES])
def test_data_case(case: Path, tmp_path: Path):
    expect = tomllib.loads((case / "expect.toml").read_text(encoding="utf-8"))
    model = case / "model.toml"
    ran = run_cli("run", model, "--out", tmp_path / "out", "-q")
    assert ran.exception is None, ran.exception
    assert "Traceback" not in ran.stdout + ran.stderr
    assert ran.exit_code == expect["exit"], ran.stdout + ran.stderr
    if expect["exit"] != 0:
        assert ran.stderr.count("\n") == 1 and ran.stderr.startswith("error: ")
        assert not (tmp_path / "out").exists()
        if "message" in expect:
            assert ran.stderr == f"error: {expect['message'].replace('{dir}', str(case))}\n"
    for part in expect.get("contains", []):
        assert part in ran.stderr
    for part in expect.get("absent", []):
        assert part not in ran.stdout + ran.stderr
    if expect["exit"] == 0:
        table = load_table(load_model(model))
        for key in ("ids", "labels", "encoding", "sheet"):
            if key in expect:
                value = getattr(table, key)
                assert (list(value) if isinstance(value, tuple) else value) == expect[key]
        for name, values in expect.get("values", {}).items():
            assert np.array_equal(table.indicators[name], np.array(values))


@pytest.fixture(scope="module")
def harbin_run(tmp_path_factory) -> Path:
    """One untouched run of the bundled model (on a copy of its files)."""
    base = tmp_path_factory.mktemp("harbin")
    model = harbin_copy(base / "m")
    out = base / "out"
    assert run_cli("run", model, "--out", out, "-q").exit_code == 0
    assert run_cli("verify", out).exit_code == 0
    return out


def tampered(record_text: str, case: dict) -> str | bytes:
    if "text" in case:
        return case["text"]
    if "binary" in case:
        return bytes(case["binary"])
    if "deep" in case:
        return "[" * case["deep"]
    if "text_replace" in case:
        old, new = case["text_replace"]
        assert old in record_text
        return record_text.replace(old, new)
    record = json.loads(record_text)
    for dotted, value in case.get("set", {}).items():
        *parents, last = dotted.split(".")
        node = record
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    for dotted in case.get("null", []):
        record[dotted] = None
    for dotted in case.get("delete", []):
        del record[dotted]
    return json.dumps(record, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("case_file", RECORD_CASES, ids=[p.stem for p in RECORD_CASES])
def test_tampered_run_json(case_file: Path, harbin_run: Path, tmp_path: Path):
    case = tomllib.loads(case_file.read_text(encoding="utf-8"))
    out = tmp_path / "out"
    shutil.copytree(harbin_run, out)
    text = tampered((out / "run.json").read_text(encoding="utf-8"), case)
    if isinstance(text, bytes):
        (out / "run.json").write_bytes(text)
    else:
        (out / "run.json").write_text(text, encoding="utf-8")
    ran = run_cli("verify", out)
    assert ran.exception is None, ran.exception
    assert "Traceback" not in ran.stdout + ran.stderr
    assert ran.exit_code == case["exit"], ran.stdout + ran.stderr
    if case["exit"] == 2:
        assert ran.stderr.count("\n") == 1 and case["message"] in ran.stderr
        return
    for part in case.get("fails", []):
        assert part in ran.stdout, ran.stdout
    for part in case.get("shows", []):
        assert part in ran.stdout, ran.stdout
    verdict = "the result matches its inputs" if case["exit"] == 0 else "does NOT match"
    assert verdict in ran.stdout.splitlines()[-1]
