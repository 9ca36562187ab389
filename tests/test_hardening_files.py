"""Faults in the documents a report writes: control characters in names, a full disk."""

from __future__ import annotations

import errno
import gc
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocator.cli import app

MODEL = '''name = "cc"
data = "u.csv"
id = "code"
label = "name"
cap = 100
[indicators.pop]
column = "pop"
weight = 1
'''


@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1b", "\x7f"])
def test_a_name_with_a_control_character_is_refused_in_one_line(tmp_path, char):
    (tmp_path / "u.csv").write_bytes(f"code,name,pop\n1,A{char}b,10\n2,B,20\n".encode())
    (tmp_path / "m.toml").write_text(MODEL, encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(tmp_path / "m.toml"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"row 2, column 'name' (label): contains the control character U+{ord(char):04X}" \
        in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_full_disk_while_writing_docx_is_one_line_and_nothing_is_left(tmp_path, monkeypatch):
    from allocator.report.formats import word

    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if self.suffix == ".docx":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(word.Path, "write_bytes", full)
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    root = Path(__file__).resolve().parents[1]
    result = CliRunner().invoke(app, ["report", str(root / "models" / "harbin_2020.toml"),
                                      "--format", "docx", "--no-charts", "--out",
                                      str(tmp_path / "out")])
    gc.collect()
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.stderr and result.stderr.count("\n") == 1
    assert not unraisable, unraisable  # no "Exception ignored" from a half-written zip file
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging folder left behind
