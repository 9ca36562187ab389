"""Benchmark: general constraints against the closed form.

1. The national model with provinces and prefectures as nested levels with bounds
   (models/china_counties_2020_provinces.toml) against today's national run
   (models/china_counties_2020.toml): `allocator run` end to end and `allocate()` in process, with
   the stages of the constrained run (checks, fair LP sequence, integer repair) and its LP count.
2. How the number of LPs grows: synthetic models (benchmarks/synthetic.py) whose groups get
   bounds that bind (each group's total held 3% off its unconstrained total), for more bound
   groups at a fixed size and for more units at a fixed number of groups.
3. Sensitivity studies: whole posts per scenario by FastAllocator, closed form against the LP
   fallback, for Harbin and for the national model.

Absolute times depend on the machine and its load; compare ratios within one run.

    python benchmarks/bench_constraints.py [REPEATS]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MODELS = ROOT / "models"


def cli_seconds(model: Path, out: Path) -> float:
    command = [sys.executable, "-c", "from allocator.cli import main; main()", "run", str(model),
               "--out", str(out), "-q", "--force"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def stages(model: Path) -> dict[str, float]:
    """Seconds per stage of one in-process run, and its LP count."""
    from allocator.core.fair import solve_fair
    from allocator.core.repair import round_within_constraints
    from allocator.pipeline.allocate import prepare

    start = time.perf_counter()
    ready = prepare(model)
    prepared = time.perf_counter()
    fair = solve_fair(ready.problem, ready.spec.solver)
    solved = time.perf_counter()
    round_within_constraints(ready.problem, fair.exact, ready.spec.rounding, ready.spec.solver)
    rounded = time.perf_counter()
    return {"prepare": prepared - start, "fair": solved - prepared, "whole posts": rounded - solved,
            "total": rounded - start, "lp_solves": fair.lp_solves, "levels": len(fair.levels)}


def national(repeats: int) -> None:
    from allocator import allocate

    plain, bounded = MODELS / "china_counties_2020.toml", MODELS / "china_counties_2020_provinces.toml"
    allocate(MODELS / "harbin_2020.toml")  # warm imports and HiGHS
    work = Path(tempfile.mkdtemp(prefix="bench-constraints-"))
    try:
        cli = {name: statistics.median(cli_seconds(model, work / name) for _ in range(repeats))
               for name, model in (("national", plain), ("provinces", bounded))}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runs = {name: [stages(model) for _ in range(repeats)]
            for name, model in (("national", plain), ("provinces", bounded))}
    print(f"1. national model, median of {repeats}")
    print(f"   allocator run end to end: today {cli['national']:.2f} s, with provincial rules "
          f"{cli['provinces']:.2f} s, ratio {cli['provinces'] / cli['national']:.2f}")
    for name, rows in runs.items():
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"   allocate() {name:9s}: {med['total']:.3f} s (prepare {med['prepare']:.3f}, fair "
              f"{med['fair']:.3f}, whole posts {med['whole posts']:.3f}); {med['lp_solves']:.0f} "
              f"LP solves over {med['levels']:.0f} levels")
    ratio = statistics.median(r["total"] for r in runs["provinces"]) / \
        statistics.median(r["total"] for r in runs["national"])
    print(f"   ratio in process: {ratio:.2f}")


def bounded_model(folder: Path, n: int, groups: int, bound: int) -> Path:
    """A synthetic model with ``groups`` groups and no fixed totals; the first ``bound`` groups
    get a bound 3% off their unconstrained total (a maximum and a minimum in turn), so that each
    binds."""
    import tomllib

    import tomli_w

    from allocator import allocate
    from benchmarks.synthetic import write_model

    path = write_model(folder, n, groups=groups, binding=True)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw.pop("groups", None)
    free = folder / f"free_{n}_{groups}.toml"
    free.write_text(tomli_w.dumps(raw), encoding="utf-8")
    result = allocate(free)
    totals = {g: int(result.posts[np.array(result.table.groups) == g].sum())
              for g in sorted(set(result.table.groups or ()))}
    raw["groups"] = {}
    for k, (g, total) in enumerate(list(totals.items())[:bound]):
        raw["groups"][g] = {"max": round(0.97 * total)} if k % 2 == 0 else \
            {"min": round(1.03 * total)}
    out = folder / f"bounded_{n}_{groups}_{bound}.toml"
    out.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return out


def growth() -> None:
    from allocator.core.fair import solve_fair
    from allocator.pipeline.allocate import prepare

    folder = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    try:
        print("2. LP solves as the bound groups grow (3,000 units, 32 groups) and as the units grow "
              "(8 bound groups of 16)")
        print(f"   {'units':>7s} {'bound':>6s} {'levels':>7s} {'LPs':>5s} {'LPs/level':>10s} "
              f"{'fair (s)':>9s}")
        cases = [(3000, 32, b) for b in (0, 2, 4, 8, 16, 32)] + \
            [(n, 16, 8) for n in (1000, 10_000, 50_000)]
        for n, groups, bound in cases:
            ready = prepare(bounded_model(folder, n, groups, bound))
            start = time.perf_counter()
            fair = solve_fair(ready.problem, ready.spec.solver)
            seconds = time.perf_counter() - start
            levels = max(len(fair.levels), 1)
            print(f"   {n:7,d} {bound:6d} {len(fair.levels):7d} {fair.lp_solves:5d} "
                  f"{fair.lp_solves / levels:10.2f} {seconds:9.3f}   ({fair.path})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def studies() -> None:
    from allocator.studies.batch import FastAllocator

    print("3. sensitivity studies: whole posts per scenario (FastAllocator)")
    rng = np.random.default_rng(0)
    for plain, bounded, count in (("harbin_2020", "harbin_2020_constraints", 100),
                                  ("china_counties_2020", "china_counties_2020_provinces", 10)):
        per = {}
        for name in (plain, bounded):
            fast = FastAllocator.from_model(MODELS / f"{name}.toml")
            weights = rng.dirichlet(np.full(len(fast.names), 4.0), count)
            start = time.perf_counter()
            fast.posts(weights)
            per[name] = (time.perf_counter() - start) / count
        print(f"   {plain}: closed form {per[plain] * 1e3:.2f} ms, {bounded}: LP fallback "
              f"{per[bounded] * 1e3:.1f} ms per scenario ({count} scenarios), ratio "
              f"{per[bounded] / per[plain]:.0f}")


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    national(repeats)
    growth()
    studies()


if __name__ == "__main__":
    main()
