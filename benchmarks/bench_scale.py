"""Benchmark: the cost of `allocate()` against `validate()` from 1,000 to 300,000 units.

For each size, synthetic models (benchmarks/synthetic.py) with 1 and 5 groups, with and without
binding bounds. Each measurement runs in a fresh process (after a warm-up allocation of Harbin, so
that imports and lazy set-up are not counted): CPU seconds of `validate()` and of `allocate()`,
their ratio, and the peak resident memory of the allocating process. A second table breaks one
run down by stage (read, targets, bounds, feasibility check, solve, round, binding rules, writing
allocation.csv and run.json) and says where the time goes. With ``--lp-max N`` the LP sequence
(``solve_fair(method="lp")``, as a check of the closed form would run it) is timed too for models
of at most N units.

    python benchmarks/bench_scale.py [--sizes 1000,10000,100000,300000] [--lp-max 10000]

Compare ratios within one run: absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic import model_name, write_model  # noqa: E402

HARBIN = ROOT / "models" / "harbin_2020.toml"
STAGES = ("read", "targets", "bounds", "check", "solve", "round", "binding", "write")


def _rss_mb() -> float:
    """Current resident memory (MB) from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, model: Path, lp_max: int) -> dict:
    """One measurement in this process: ``validate``, ``allocate`` or ``stages``."""
    from allocator.pipeline.allocate import allocate
    from allocator.pipeline.validate import validate

    allocate(HARBIN)  # warm up: imports, HiGHS banner, caches
    base = _rss_mb()
    out: dict = {"base_mb": base}
    if kind in ("validate", "allocate"):
        call = validate if kind == "validate" else allocate
        start = time.process_time()
        result = call(model)
        out["cpu"] = time.process_time() - start
        out["peak_mb"] = _peak_mb()
        if kind == "allocate":
            from allocator.outputs.runfiles import write_result

            folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
            try:
                write_result(result, folder / "out")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            out["run"] = time.process_time() - start  # as `allocator run`: allocate and write
            out["peak_mb"] = _peak_mb()
            out["path"] = result.fair.path
            out["certificate"] = result.fair.certificate.worst
            x, p = result.exact, result.problem
            out["held"] = float(((x <= p.lower + 1e-7) | (x >= p.upper - 1e-7)).mean())
        return out
    return stages(model, lp_max)


def stages(model: Path, lp_max: int) -> dict:
    """CPU seconds of each stage of one run, in the order `allocator run` goes through them."""
    from allocator.core.fair import solve_fair
    from allocator.core.feasibility import check_feasible
    from allocator.core.problem import Problem, build_pools, unit_bounds
    from allocator.core.rounding import round_allocation
    from allocator.core.targets import target_components, targets
    from allocator.core.waterfill import binding_rules
    from allocator.outputs.runfiles import write_result
    from allocator.pipeline.allocate import AllocationResult
    from allocator.schema import load_model
    from allocator.table import load_table

    seconds: dict[str, float] = {}
    clock = time.process_time()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.process_time()
        seconds[name] = now - clock
        clock = now

    spec = load_model(model)
    table = load_table(spec)
    lap("read")
    weights = spec.normalised_weights()
    transforms = {name: ind.transform for name, ind in spec.indicators.items()}
    parts = target_components(table.indicators, weights, transforms, spec.allocatable_cap)
    target = targets(parts)
    lap("targets")
    lower, upper, lower_rule, upper_rule = unit_bounds(spec, table)
    problem = Problem(ids=table.ids, target=target, lower=lower, upper=upper,
                      lower_rule=lower_rule, upper_rule=upper_rule,
                      pools=build_pools(spec, table), total=spec.allocatable_cap)
    lap("bounds")
    check_feasible(problem, table.labels, spec=spec, table=table, solver=spec.solver)
    lap("check")
    fair = solve_fair(problem, spec.solver)
    lap("solve")
    posts = round_allocation(problem, fair.exact, spec.rounding)
    lap("round")
    binding = binding_rules(problem, fair.exact)
    lap("binding")
    result = AllocationResult(spec=spec, table=table, problem=problem, components=parts,
                              fair=fair, posts=posts, binding=binding)
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        write_result(result, folder / "out")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lap("write")
    out: dict = {"stages": seconds}
    if len(problem) <= lp_max:
        start = time.process_time()
        lp = solve_fair(problem, spec.solver, method="lp")
        out["lp"] = {"cpu": time.process_time() - start, "solves": lp.lp_solves}
    return out


def run_child(kind: str, model: Path, lp_max: int) -> dict:
    command = [sys.executable, __file__, "--child", kind, str(model), "--lp-max", str(lp_max)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,300000")
    parser.add_argument("--lp-max", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(measure(args.child[0], Path(args.child[1]), args.lp_max)) + "\n")
        return
    sizes = [int(v) for v in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows = []
    try:
        for n in sizes:
            for groups in (1, 5):
                for binding in (True, False):
                    model = write_model(work, n, groups=groups, binding=binding)
                    v = run_child("validate", model, args.lp_max)
                    a = run_child("allocate", model, args.lp_max)
                    s = run_child("stages", model, args.lp_max)
                    rows.append((n, groups, binding, v, a, s))
                    sys.stderr.write(f"{model_name(n, groups, binding)}: done\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(rows)


def report(rows) -> None:
    out = sys.stdout.write
    out("CPU seconds in a fresh process (after a warm-up run of Harbin). run = allocate() and "
        "writing allocation.csv and run.json,\nas `allocator run` does; ratios to validate() of "
        "the same model; peak = peak RSS of the allocating process (+MB above its start).\n\n")
    out(f"{'units':>8} {'groups':>6} {'bounds':>7} {'held':>6} {'validate':>9} {'allocate':>9} "
        f"{'ratio':>6} {'run':>8} {'ratio':>6} {'peak MB':>8} {'+MB':>6}  path (certificate)\n")
    for n, groups, binding, v, a, _ in rows:
        out(f"{n:>8,} {groups:>6} {'binding' if binding else 'none':>7} {a['held']:>6.1%} "
            f"{v['cpu']:>9.3f} {a['cpu']:>9.3f} {a['cpu'] / v['cpu']:>6.2f} {a['run']:>8.3f} "
            f"{a['run'] / v['cpu']:>6.2f} {a['peak_mb']:>8.0f} {a['peak_mb'] - a['base_mb']:>6.0f}"
            f"  {a['path']} ({a['certificate']:.1e})\n")
    out("\nWhere the time goes: CPU seconds by stage (one run, the same process)\n\n")
    out(f"{'units':>8} {'groups':>6} {'bounds':>7} " + " ".join(f"{s:>8}" for s in STAGES)
        + f" {'total':>8}  {'LP check':>14}\n")
    for n, groups, binding, _, _, s in rows:
        st = s["stages"]
        lp = f"{s['lp']['cpu']:.2f} s/{s['lp']['solves']} LP" if "lp" in s else "-"
        out(f"{n:>8,} {groups:>6} {'binding' if binding else 'none':>7} "
            + " ".join(f"{st[k]:>8.3f}" for k in STAGES) + f" {sum(st.values()):>8.3f}  {lp:>14}\n")
    n, groups, binding, _, _, s = max(rows, key=lambda r: (r[0], sum(r[5]["stages"].values())))
    st = s["stages"]
    total = sum(st.values())
    ranked = sorted(st.items(), key=lambda kv: -kv[1])
    shares = ", ".join(f"{k} {v / total:.0%}" for k, v in ranked[:4])
    out(f"\nLargest model ({n:,} units, {groups} group(s), bounds "
        f"{'binding' if binding else 'none'}): {total:.2f} s; {shares}.\n")
    core = sum(st[k] for k in ("targets", "bounds", "solve", "round", "binding"))
    out(f"The core stages (targets, bounds, solve, round, binding) take {core:.2f} s "
        f"({core / total:.0%}); reading takes {st['read']:.2f} s ({st['read'] / total:.0%}), "
        f"the feasibility check {st['check']:.2f} s, writing {st['write']:.2f} s.\n")


if __name__ == "__main__":
    main()
