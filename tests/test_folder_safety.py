"""Output folders under faults: a failure or a kill at any step leaves the old folder or the new
one (never neither, never a half-written one), the next run cleans up, ``--force`` never deletes
what the tool did not write or what the run reads, links are written through."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from allocator import InputError
from allocator.outputs import folders
from allocator.outputs.folders import MANIFEST, write_files

from .support import HARBIN, ROOT, run_cli


def generation(folder: Path) -> set[str]:
    """The contents of every file the tool wrote (one value when the folder is whole)."""
    return {p.read_text() for p in folder.iterdir() if p.name != MANIFEST}


def files_of(value: str, count: int = 3) -> dict:
    return {f"f{k}.txt": (lambda p, v=value: p.write_text(v)) for k in range(count)}


def leftovers(parent: Path) -> list[str]:
    """Hidden entries beside the output folder: staging or backup folders left behind."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


class Faults:
    """Make the k-th file operation (rename, delete, mkdir, file write) fail."""

    def __init__(self, monkeypatch, fail_at: int, error: type[BaseException]) -> None:
        self.count = 0
        self.fail_at = fail_at
        self.error = error
        for owner, name in ((os, "rename"), (shutil, "rmtree"), (os, "mkdir"),
                            (Path, "write_text")):
            monkeypatch.setattr(owner, name, self.wrap(getattr(owner, name)))

    def wrap(self, real):
        def call(*args, **kwargs):
            self.count += 1
            if self.count == self.fail_at:
                raise self.error(5, "Input/output error") if self.error is OSError \
                    else self.error()
            return real(*args, **kwargs)
        return call


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
@pytest.mark.parametrize("fail_at", range(1, 12))
def test_a_fault_at_any_step_leaves_the_old_or_the_new_folder(tmp_path: Path, monkeypatch,
                                                              fail_at: int, error):
    out = tmp_path / "out"
    write_files(out, files_of("old"))
    with monkeypatch.context() as patch:
        Faults(patch, fail_at, error)
        try:
            write_files(out, files_of("new"))
            failed = False
        except (InputError, KeyboardInterrupt):
            failed = True
    assert generation(out) == {"new"} if not failed else generation(out) in ({"old"}, {"new"})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "f0.txt", "f1.txt", "f2.txt"]
    write_files(out, files_of("next"))  # the next run cleans whatever the fault left
    assert generation(out) == {"next"}
    assert leftovers(tmp_path) == []


def test_the_next_run_moves_an_orphaned_backup_back_before_anything_else(tmp_path: Path):
    out = tmp_path / "out"
    write_files(out, files_of("old"), model="A")
    staging, backup = folders._side_names(out.resolve())
    out.rename(backup)  # killed between the two renames
    staging.mkdir()
    (staging / "f0.txt").write_text("half")
    with pytest.raises(InputError, match="holds results of another model"):
        write_files(out, files_of("new"), model="B")
    assert generation(out) == {"old"} and leftovers(tmp_path) == []
    write_files(out, files_of("new"), model="A")
    assert generation(out) == {"new"} and leftovers(tmp_path) == []


KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from allocator.outputs.folders import write_files

    real_rename = os.rename

    def slow_rename(*args):  # widen the window between the two renames
        time.sleep(0.02)
        real_rename(*args)
        time.sleep(0.02)

    os.rename = slow_rename
    out = Path(sys.argv[1])
    print("ready", flush=True)
    for k in range(1000):
        write_files(out, {f"f{j}.txt": (lambda p, v=str(k): (p.write_text(v), time.sleep(0.005)))
                          for j in range(3)})
""")


def test_a_run_killed_at_random_points_never_loses_the_folder(tmp_path: Path):
    out = tmp_path / "out"
    write_files(out, files_of("start"))
    staging, backup = folders._side_names(out.resolve())
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(11)
    for _ in range(6):
        child = subprocess.Popen([sys.executable, str(script), str(out)], env=env,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert out.is_dir() or backup.is_dir()  # never neither
        for folder in (out, backup):
            if folder.is_dir() and (folder / MANIFEST).exists():
                assert len(generation(folder)) == 1  # and never a half-written one
        write_files(out, files_of("after"))
        assert generation(out) == {"after"} and leftovers(tmp_path) == []


def test_sigterm_is_handled_like_ctrl_c_and_the_handlers_are_restored(tmp_path: Path):
    out = tmp_path / "out"
    write_files(out, files_of("old"))
    before = signal.getsignal(signal.SIGTERM)

    def terminated(path: Path) -> None:
        path.write_text("half")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the signal arrives meanwhile

    with pytest.raises(KeyboardInterrupt):
        write_files(out, {**files_of("new"), "f1.txt": terminated})
    assert generation(out) == {"old"} and leftovers(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_during_the_swap_waits_until_the_new_folder_is_in_place(tmp_path: Path,
                                                                         monkeypatch):
    out = tmp_path / "out"
    write_files(out, files_of("old"))
    real_rename = os.rename

    def rename_then_signal(source, target):
        real_rename(source, target)
        if Path(target).name.endswith(".old"):  # between the two renames
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)

    monkeypatch.setattr(os, "rename", rename_then_signal)
    with pytest.raises(KeyboardInterrupt):
        write_files(out, files_of("new"))
    assert generation(out) == {"new"} and leftovers(tmp_path) == []


def harbin_here(folder: Path) -> Path:
    """The bundled model and its data in ``folder/models`` and ``folder/data``."""
    (folder / "models").mkdir(parents=True)
    (folder / "data").mkdir()
    shutil.copy(HARBIN, folder / "models")
    shutil.copy(ROOT / "data" / "harbin_2020.csv", folder / "data")
    return folder / "models" / HARBIN.name


@pytest.mark.parametrize("out", ["data", "models", ".", "..", "elsewhere/.."])
def test_force_never_removes_what_the_run_reads_or_the_current_folder(tmp_path: Path,
                                                                      monkeypatch, out: str):
    work = tmp_path / "work"
    model = harbin_here(work)
    (work / "elsewhere").mkdir()
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    monkeypatch.chdir(work)
    ran = run_cli("run", "models/harbin_2020.toml", "--out", out, "-q", "--force")
    assert ran.exit_code == 2 and ran.exception is None, ran.stdout + ran.stderr
    assert ran.stderr.count("\n") == 1
    assert "which this run reads" in ran.stderr or "is the current folder" in ran.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert model.read_bytes() == HARBIN.read_bytes()


def test_a_derived_model_is_never_replaced_by_its_own_run(tmp_path: Path):
    out = tmp_path / "w"
    assert run_cli("weights", HARBIN, "--method", "equal", "--out", out).exit_code == 0
    derived = out / "harbin_2020_equal.toml"
    text = derived.read_text(encoding="utf-8")
    ran = run_cli("run", derived, "--out", out, "-q", "--force")
    assert ran.exit_code == 2 and "which this run reads" in ran.stderr
    assert derived.read_text(encoding="utf-8") == text


def test_a_link_to_a_folder_is_written_through(tmp_path: Path):
    target = tmp_path / "real"
    write_files(target, files_of("old"))
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    assert write_files(link, files_of("new")) == link
    assert link.is_symlink() and generation(target) == {"new"}
    assert leftovers(tmp_path) == []
    ran = run_cli("run", HARBIN, "--out", link, "-q", "--force")
    assert ran.exit_code == 0 and link.is_symlink() and (target / "run.json").exists()


def test_a_link_to_nothing_or_to_a_file_is_refused(tmp_path: Path):
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "missing")
    with pytest.raises(InputError, match="is a link to a folder that does not exist"):
        write_files(dangling, files_of("x"))
    note = tmp_path / "note.txt"
    note.write_text("keep")
    to_file = tmp_path / "to_file"
    to_file.symlink_to(note)
    with pytest.raises(InputError, match="exists and is not a folder"):
        write_files(to_file, files_of("x"))
    assert note.read_text() == "keep" and leftovers(tmp_path) == []


def test_long_folder_names(tmp_path: Path):
    legal = tmp_path / ("a" * 250)
    ran = run_cli("run", HARBIN, "--out", legal, "-q")
    assert ran.exit_code == 0, ran.stderr
    assert (legal / "allocation.csv").exists() and leftovers(tmp_path) == []
    too_long = tmp_path / ("é" * 128)  # 256 bytes
    ran = run_cli("run", HARBIN, "--out", too_long, "-q")
    assert ran.exit_code == 2 and ran.exception is None
    assert "the folder name is 256 bytes long; file systems allow at most 255" in ran.stderr


def test_another_commands_files_need_force_and_a_damaged_manifest_protects(tmp_path: Path):
    out = tmp_path / "out"
    write_files(out, files_of("sweep"))
    with pytest.raises(InputError, match=r"other allocator results that would be lost \(f2.txt\)"):
        write_files(out, files_of("other", 2))
    write_files(out, files_of("other", 2), force=True)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "f0.txt", "f1.txt"]
    (out / MANIFEST).write_text("{broken")
    (out / "extra.txt").write_text("mine")
    with pytest.raises(InputError, match=r"not allocator results \(extra.txt\)"):
        write_files(out, files_of("x", 2), force=True)
