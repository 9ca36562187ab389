"""Cost of a Monte Carlo weight study relative to one allocation, printed as ratios in one run.

    python benchmarks/bench_sensitivity.py [--quick]

Harbin: 10,000 scenarios against one allocation; counties: 1,000 scenarios against one, and the
national target (issue 12): 10,000 scenarios of the 2,810 counties in process against one
``allocator run`` of them, at most 5x. Each
figure is measured twice: in-process through the library and end to end through the command
line (a fresh process each, as a user runs it); the two sides of each ratio run alternately and
the best time of each counts, so that load from other processes affects both alike. Memory: the peak traced
allocation of a Monte Carlo study at N and 10 N scenarios (it should not grow with N).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allocator.pipeline.allocate import allocate  # noqa: E402
from allocator.studies.montecarlo import MonteCarloOptions, montecarlo  # noqa: E402

CLI = [sys.executable, "-c", "from allocator.cli import main; main()"]


def paired_times(first, second, repeats: int) -> tuple[float, float]:
    """Best time of each of two functions, run alternately so that both see the same load."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for k, fn in enumerate((first, second)):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best[0], best[1]


def cli(args: list[str]):
    return lambda: subprocess.run(CLI + args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def study(model: str, samples: int, repeats: int, tmp: Path) -> None:
    name = Path(model).stem
    options = MonteCarloOptions(samples=samples)
    allocate(model)  # warm up imports and solver
    montecarlo(model, options)
    one, many = paired_times(lambda: allocate(model), lambda: montecarlo(model, options), repeats)
    print(f"{name}: library   one allocate() {one * 1000:8.1f} ms | {samples:,} scenarios "
          f"{many * 1000:8.1f} ms | ratio {many / one:5.2f}x | per scenario "
          f"{many / samples * 1e6:8.1f} us")
    tmp = tmp / name  # one folder per model: a folder of another model is never replaced
    run_cmd = cli(["run", model, "-q", "--out", str(tmp / "run")])
    run, full = paired_times(run_cmd, cli(["sensitivity", model, "--samples", str(samples),
                                           "--save-samples", "--out", str(tmp / "mc")]), repeats)
    _, bare = paired_times(lambda: None, cli(["sensitivity", model, "--samples", str(samples),
                                              "--no-charts", "--out", str(tmp / "mc2")]), repeats)
    print(f"{name}: command   allocator run {run:6.2f} s | sensitivity --samples {samples:,} "
          f"--save-samples {full:6.2f} s (ratio {full / run:4.2f}x) | without charts and samples "
          f"{bare:6.2f} s (ratio {bare / run:4.2f}x)")


def national(model: str, samples: int, repeats: int, tmp: Path) -> None:
    """A whole Monte Carlo study in process against one allocation as a user runs it."""
    name = Path(model).stem
    options = MonteCarloOptions(samples=samples)
    run, many = paired_times(cli(["run", model, "-q", "--out", str(tmp / name / "one"), "--force"]),
                             lambda: montecarlo(model, options), repeats)
    print(f"{name}: national  allocator run {run:6.2f} s | montecarlo({samples:,} scenarios) "
          f"{many:6.2f} s | ratio {many / run:4.2f}x (target <= 5x)")


def memory(model: str, small: int) -> None:
    name = Path(model).stem
    montecarlo(model, MonteCarloOptions(samples=small))
    low = peak_bytes(lambda: montecarlo(model, MonteCarloOptions(samples=small)))
    high = peak_bytes(lambda: montecarlo(model, MonteCarloOptions(samples=10 * small)))
    print(f"{name}: memory    peak {low / 2**20:6.1f} MiB at {small:,} scenarios, "
          f"{high / 2**20:6.1f} MiB at {10 * small:,} (ratio {high / low:4.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    tmp = Path(tempfile.mkdtemp(prefix="bench-sensitivity-"))
    try:
        study("models/harbin_2020.toml", 10_000, repeats, tmp)
        study("models/china_counties_2020.toml", 1_000, max(2, repeats // 2), tmp)
        national("models/china_counties_2020.toml", 10_000, 2 if args.quick else 3, tmp)
        memory("models/harbin_2020.toml", 5_000)
        memory("models/china_counties_2020.toml", 500)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
