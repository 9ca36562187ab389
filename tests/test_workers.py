"""Study workers: capped at the cores available, results independent of them, none orphaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from allocator.studies.montecarlo import MonteCarloOptions, montecarlo
from allocator.studies.workers import available_cores, ordered_map, worker_count

from .support import HARBIN, ROOT


def test_workers_are_capped_at_the_cores_available():
    cores = available_cores()
    assert worker_count(1000) == cores
    assert worker_count(-1) == cores
    assert worker_count(1) == 1


def test_ordered_map_keeps_the_order_of_its_tasks():
    assert list(ordered_map(divmod, [(7, 2), (9, 4), (5, 5)] * 3, workers=2)) == \
        [(3, 1), (2, 1), (1, 0)] * 3


def test_a_thousand_jobs_give_the_same_study_as_one():
    options = MonteCarloOptions(samples=400, chunk_size=50, seed=3)
    one = montecarlo(HARBIN, options)
    many = montecarlo(HARBIN, MonteCarloOptions(samples=400, chunk_size=50, seed=3, jobs=1000))
    assert one.summary.equals(many.summary)
    np.testing.assert_array_equal(one.indices.filter(like="s1_").to_numpy(),
                                  many.indices.filter(like="s1_").to_numpy())


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def test_killing_the_main_process_leaves_no_workers(tmp_path):
    if not sys.platform.startswith("linux"):
        return  # the parent-death signal is Linux's; elsewhere workers end with their queue
    script = textwrap.dedent(f"""
        import sys
        from allocator.studies.montecarlo import MonteCarloOptions, montecarlo
        print("start", flush=True)
        montecarlo({str(HARBIN)!r}, MonteCarloOptions(samples=10_000_000, chunk_size=64, jobs=2))
    """)
    main = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert main.stdout is not None and main.stdout.readline().strip() == "start"
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _children(main.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "the study never started its workers"
        main.send_signal(signal.SIGKILL)
        main.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{w}") and
                                                  _state(w) != "Z" for w in workers):
            time.sleep(0.2)
        alive = [w for w in workers if os.path.exists(f"/proc/{w}") and _state(w) != "Z"]
        assert not alive, f"orphaned workers: {alive}"
    finally:
        if main.poll() is None:
            main.kill()


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_ctrl_c_while_the_command_line_loads_is_one_line(tmp_path):
    """SIGINT at many moments from the entry point's start until the command has finished
    (while typer, rich, pandas and PuLP load, and while it runs): never a traceback, but one
    line and exit 130 (or click's "Aborted!" with exit 1, or the plain SIGINT exit status)."""
    # As the console script does: import the entry point (a few small modules), then call it.
    code = ("import sys\nfrom allocator.cli import main\n"
            "sys.stdout.write('ready\\n'); sys.stdout.flush()\nmain()")
    command = [sys.executable, "-c", code, "run", str(HARBIN), "--quiet", "--out",
               str(tmp_path / "out")]
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8):
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert "Traceback" not in err, (delay, err)
        assert process.returncode in (0, 1, 130, -signal.SIGINT), (delay, process.returncode, err)
