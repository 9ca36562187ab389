"""Synthetic models for the scale benchmark and the byte-identical output checks.

Each model is a CSV of ``n`` units (lognormal population and area, rows in shuffled order so
that the canonical id order matters) and a TOML model file. ``groups=5`` puts the units in five
groups, four of them with a fixed total; ``binding=True`` adds a floor and change limits against
current posts that hold about a third of the units (27-39%) at a bound.

    python benchmarks/synthetic.py OUT_DIR [N ...]      # writes syn_<n>_g<groups>_<b|free>.toml

>>> import tempfile, pathlib
>>> path = write_model(pathlib.Path(tempfile.mkdtemp()), 50, groups=5)
>>> path.name
'syn_50_g5_b.toml'
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

POSTS_PER_UNIT = 50
WEIGHTS = {"population": 0.6, "area": 0.4}
FLOOR = 5
MAX_CUT = 0.2
MAX_INCREASE = 0.25
NOISE = 0.2  # lognormal spread of current posts around the target: sets the share held
GROUP_FACTORS = (1.03, 0.97, 1.02, 0.98)  # fixed totals of groups G1..G4 against their targets


def model_name(n: int, groups: int, binding: bool) -> str:
    """File stem of a synthetic model, e.g. ``syn_1000_g1_b``."""
    return f"syn_{n}_g{groups}_{'b' if binding else 'free'}"


def write_model(folder: Path, n: int, *, groups: int = 1, binding: bool = True, seed: int = 0,
                rounding: str = "hamilton") -> Path:
    """Write a synthetic model of ``n`` units into ``folder``; return the TOML path."""
    rng = np.random.default_rng([seed, n, groups, int(binding)])
    population = np.maximum(np.rint(rng.lognormal(11.0, 1.0, n)), 100).astype(np.int64)
    urban = np.rint(population * rng.uniform(0.1, 0.9, n)).astype(np.int64)
    area = np.round(np.maximum(rng.lognormal(7.0, 1.3, n), 1.0), 1)
    cap = POSTS_PER_UNIT * n
    share = (WEIGHTS["population"] * population / population.sum()
             + WEIGHTS["area"] * np.sqrt(area) / np.sqrt(area).sum())
    target = cap * share
    actual = np.maximum(np.rint(target * rng.lognormal(0.0, NOISE, n)), 8).astype(np.int64)
    group = (rng.integers(0, groups, n) if groups > 1 else np.zeros(n, dtype=int))
    ids = np.array([f"C{i + 1}" for i in range(n)])
    order = rng.permutation(n)
    stem = model_name(n, groups, binding)
    csv = folder / f"{stem}.csv"
    header = "code,name,province,population,urban,area,posts"
    rows = [f"{ids[i]},Unit {ids[i]},G{group[i] + 1},{population[i]},{urban[i]},{area[i]:.1f},"
            f"{actual[i]}" for i in order]
    csv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    lines = [
        f'name = "synthetic {n} units, {groups} group(s), bounds {"binding" if binding else "none"}"',
        f'data = "{csv.name}"',
        'id = "code"', 'label = "name"', 'actual = "posts"', 'population = "population"',
        f"cap = {cap}", f'rounding = "{rounding}"',
    ]
    if groups > 1:
        lines.append('group = "province"')
    lines += ["[indicators.population]", 'column = "population"',
              f"weight = {WEIGHTS['population']}",
              "[indicators.area]", 'column = "area"', f"weight = {WEIGHTS['area']}",
              'transform = "sqrt"']
    if binding:
        lines += ["[bounds]", f"floor = {FLOOR}", f"max_cut = {MAX_CUT}",
                  f"max_increase = {MAX_INCREASE}"]
    for g in range(min(groups, 5) - 1 if groups > 1 else 0):
        members = group == g
        total = int(round(GROUP_FACTORS[g % len(GROUP_FACTORS)] * target[members].sum()))
        lines += [f'[groups."G{g + 1}"]', f"total = {total}"]
    toml = folder / f"{stem}.toml"
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return toml


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    sizes = [int(v) for v in argv[1:]] or [1_000, 10_000, 100_000, 300_000]
    for n in sizes:
        for groups in (1, 5):
            for binding in (True, False):
                sys.stdout.write(f"{write_model(out, n, groups=groups, binding=binding)}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
