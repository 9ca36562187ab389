"""Benchmark: one `allocator run` of Harbin (18 units) against one of the 2,810-county model.

Prints end-to-end wall times (the CLI as a user runs it, in a fresh process) and the library
call alone, each the median of REPEATS runs, and their ratios. Compare ratios within one run:
absolute times depend on the machine and its load.

    python benchmarks/bench_run.py [REPEATS]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"harbin": ROOT / "models" / "harbin_2020.toml",
          "china": ROOT / "models" / "china_counties_2020.toml"}


def cli_seconds(model: Path, out: Path) -> float:
    command = [sys.executable, "-m", "allocator.cli", "run", str(model), "--out", str(out), "-q"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def library_seconds(model: Path) -> tuple[float, int]:
    from allocator import allocate

    start = time.perf_counter()
    result = allocate(model)
    return time.perf_counter() - start, result.fair.lp_solves


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    try:
        from allocator import allocate

        allocate(MODELS["harbin"])  # warm caches (imports, HiGHS) for the library timings
        cli, lib = {}, {}
        for name, model in MODELS.items():
            cli[name] = statistics.median(cli_seconds(model, work / name) for _ in range(repeats))
            runs = [library_seconds(model) for _ in range(repeats)]
            lib[name] = (statistics.median(t for t, _ in runs), runs[0][1])
        print(f"allocator run, end to end (median of {repeats}):")
        for name in MODELS:
            print(f"  {name:7s} {cli[name]:7.3f} s")
        print(f"  ratio china/harbin: {cli['china'] / cli['harbin']:.2f}  (aim: <= 3)")
        print(f"allocate() in process (median of {repeats}):")
        for name in MODELS:
            print(f"  {name:7s} {lib[name][0]:7.3f} s   LP solves: {lib[name][1]}")
        print(f"  ratio china/harbin: {lib['china'][0] / lib['harbin'][0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
