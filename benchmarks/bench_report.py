"""How long each report stage takes, relative to the allocation itself (ratios within one run).

Run: python benchmarks/bench_report.py
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

from allocator import allocate
from allocator.report.build import build_report
from allocator.report.charts import FontFallbackWarning, render_charts
from allocator.report.formats import report_files

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("harbin_2020", "china_counties_2020")


def best_of(repeats: int, fn) -> float:
    """Smallest wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    warnings.simplefilter("ignore", FontFallbackWarning)
    folder = Path(tempfile.mkdtemp())
    for name in MODELS:
        model = ROOT / "models" / f"{name}.toml"
        result = allocate(model)
        base = best_of(3, lambda m=model: allocate(m))
        report = build_report(result)
        stages = {"build_report": lambda r=result: build_report(r),
                  "charts": lambda r=report: render_charts(r, "zh")}
        for fmt in ("csv", "xlsx", "docx", "md", "tex", "html"):
            def write(fmt=fmt, r=report):
                for file_name, writer in report_files(r, "zh", (fmt,)).items():
                    writer(folder / file_name)
            stages[fmt] = write
        print(f"{name} ({len(result.posts):,} units): time relative to allocate() = 1.00")
        for stage, fn in stages.items():
            print(f"  {stage:<13} {best_of(3, fn) / base:6.2f}")


if __name__ == "__main__":
    main()
