"""Write ``allocation.csv`` of models with every rounding method, to compare two versions byte
for byte (run once with each version first on ``PYTHONPATH``, then ``diff -r`` the folders).

    python benchmarks/compare_outputs.py OUT_DIR MODEL.toml [...] [--once]

``--once`` solves each model once and rounds its exact values with every method (what
``allocate(model, rounding=m)`` does, without re-solving): for slow versions on large models.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

METHODS = ("hamilton", "webster", "dhondt", "huntington-hill")


def main(argv: list[str]) -> None:
    from allocator.core.rounding import round_allocation
    from allocator.core.waterfill import binding_rules
    from allocator.outputs.runfiles import allocation_csv
    from allocator.pipeline.allocate import allocate

    once = "--once" in argv
    args = [a for a in argv if a != "--once"]
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    for model in map(Path, args[1:]):
        start = time.process_time()
        first = allocate(model)
        for method in METHODS:
            if method == first.spec.rounding:
                result = first
            elif once:
                spec = first.spec.with_overrides(rounding=method)
                posts = round_allocation(first.problem, first.exact, method)
                binding = binding_rules(first.problem, first.exact, posts)
                result = dataclasses.replace(first, spec=spec, posts=posts, binding=binding)
            else:
                result = allocate(model, rounding=method)
            path = out / f"{model.stem}.{method}.csv"
            path.write_text(allocation_csv(result), encoding="utf-8", newline="")
        sys.stdout.write(f"{model.stem}: {time.process_time() - start:.1f} s CPU\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
