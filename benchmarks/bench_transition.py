"""Benchmark: a 30-year transition plan of the 2,810-county model against one allocation.

The national model has no current staff, so the benchmark gives it an illustrative headcount (its
fair allocation times a seeded factor between 0.8 and 1.3, in a temporary copy of the data) and a
4% departure rate. Prints the median of REPEATS runs of `allocate()` and of `plan_transition()`
(which includes its own allocation) and their ratio (aim: <= 5). A 10-year pace of change on
Harbin is timed for information: every year of it is one fair allocation.

    python benchmarks/bench_transition.py [REPEATS]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CHINA = ROOT / "models" / "china_counties_2020.toml"
HARBIN = ROOT / "models" / "harbin_2020.toml"
YEARS = 30


def china_with_headcount(work: Path) -> Path:
    """A copy of the national model whose table has an illustrative ``headcount`` column."""
    from allocator import allocate, load_model

    spec = load_model(CHINA)
    result = allocate(spec)
    data = pd.read_csv(spec.data_path(), dtype=str)
    factor = np.random.default_rng(2020).uniform(0.8, 1.3, len(result.posts))
    headcount = pd.Series(np.round(result.posts * factor).astype(int), index=list(result.table.ids))
    data["headcount"] = headcount.loc[data[spec.id].str.strip()].to_numpy()
    data.to_csv(work / "china.csv", index=False)
    text = CHINA.read_text(encoding="utf-8").replace(
        'data = "../data/china_counties_2020.csv"', f'data = "{(work / "china.csv").as_posix()}"')
    model = work / "china.toml"
    model.write_text(text + f'\n[transition]\nyears = {YEARS}\ndeparture_rate = 0.04\n'
                     'headcount = "headcount"\npool = 2000\n', encoding="utf-8")
    return model


def median_seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = Path(tempfile.mkdtemp(prefix="bench-transition-"))
    try:
        from allocator import allocate
        from allocator.pipeline.transition import plan_transition

        model = china_with_headcount(work)
        plan = plan_transition(model, allow_unfinished=True)  # warm caches
        one = median_seconds(lambda: allocate(CHINA), repeats)
        plans = median_seconds(lambda: plan_transition(model, allow_unfinished=True), repeats)
        summary = plan.summary_frame()
        print(f"china, {len(plan.table):,} units, {YEARS} years (median of {repeats}):")
        print(f"  allocate()         {one:7.3f} s")
        print(f"  plan_transition()  {plans:7.3f} s   ratio {plans / one:.2f}  (aim: <= 5)")
        print(f"  transitional posts: {summary['transitional'].iloc[0]:,} today, "
              f"{summary['transitional'].iloc[-1]:,} after {YEARS} years")
        harbin = median_seconds(lambda: allocate(HARBIN), repeats)
        pace = median_seconds(lambda: plan_transition(
            HARBIN, {"years": 10, "departure_rate": 0.05, "pace": {"max_cut": 0.1}},
            allow_unfinished=True), repeats)
        print(f"harbin, pace of change over 10 years: {pace:.3f} s, "
              f"{pace / harbin:.1f} x one allocate() ({harbin:.3f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
