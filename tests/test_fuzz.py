"""Fuzzing: random valid and invalid models and tables through the command line.

The tool either writes an allocation that has every property of a fair allocation, or exits 2 or 3
with one line; never a traceback, never exit 1, never a half-written folder.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .support import run_cli

GROUPS = ("district", "county", "=city")
TEXT = st.text(alphabet=st.sampled_from(list("aZ09 _-=+@[]/,\"'\n道区")), min_size=1, max_size=6)
GOOD_NUMBER = st.one_of(st.integers(0, 5000).map(str),
                        st.floats(0, 5000, allow_nan=False).map(lambda v: f"{v:.3f}"))
BAD_NUMBER = st.sampled_from(["", "x", "nan", "inf", "-3", "1e400", "1,0,0", "--1", "1e20", "10,5",
                             "1,23", "1234,567", "#DIV/0!", "#N/A", "1 234", "12%"])


@st.composite
def cases(draw, broken: bool):
    """A model (dict) and a table (rows of text cells); ``broken`` makes mistakes likely."""
    n = draw(st.integers(1, 7))
    # Tame cases are feasible by construction (bounds well inside the cap), so that the properties
    # of the allocation are checked often; wild ones are often infeasible.
    tame = not broken and draw(st.integers(0, 9)) < 7
    ids = draw(st.lists(st.one_of(st.integers(1, 30).map(lambda i: f"U{i}"), TEXT), min_size=n,
                        max_size=n, unique=not broken))
    cap = draw(st.integers(n, 20000))
    number = st.one_of(GOOD_NUMBER, BAD_NUMBER) if broken else GOOD_NUMBER
    positive = st.integers(1, 5000).map(str)
    if tame:
        positive = st.integers(cap // (2 * n) + 1, 3 * cap // (2 * n) + 1).map(str)
    rows = [{"code": ids[i], "name": draw(TEXT), "type": draw(st.sampled_from(GROUPS)),
             "pop": draw(st.one_of(positive, number)), "area": draw(number),
             "posts": draw(positive if tame else st.one_of(positive, number)),
             "minimum": draw(st.one_of(st.just(""), st.integers(0, cap // (2 * n)).map(str)
                                       if tame else number))}
            for i in range(n)]
    model: dict = {"name": draw(TEXT), "data": "table.csv", "id": "code", "label": "name",
                   "group": "type", "actual": "posts", "cap": cap}
    if draw(st.booleans()):
        model["reserve"] = draw(st.one_of(st.integers(0, cap // 3), st.floats(0, 0.3)))
    reserve = model.get("reserve", 0)
    allocatable = cap - (math.floor(reserve * cap + 0.5) if isinstance(reserve, float) else reserve)
    model["rounding"] = draw(st.sampled_from(["hamilton", "webster", "dhondt", "huntington-hill"]))
    weight = st.floats(0, 3, allow_nan=False)
    model["indicators"] = {
        "pop": {"column": "pop", "weight": draw(weight) + 0.1},
        "area": {"column": "area", "weight": draw(weight),
                 "transform": draw(st.sampled_from(["linear", "sqrt", "log"]))},
    }
    bounds = {}
    if draw(st.booleans()):
        bounds["floor"] = float(draw(st.integers(0, allocatable // (4 * n) if tame else 3000)))
    if draw(st.booleans()):
        bounds["floor_column"] = "minimum"
    if draw(st.booleans()):
        bounds["ceiling"] = float(draw(st.integers(cap, 2 * cap) if tame else st.integers(1, 20000)))
    if draw(st.booleans()):
        bounds["max_cut"] = draw(st.floats(0.8, 0.9) if tame else st.floats(0, 0.9))
    if draw(st.booleans()):
        bounds["max_increase"] = draw(st.floats(2, 3) if tame else st.floats(0, 2))
    if bounds:
        model["bounds"] = bounds
    present = sorted({r["type"] for r in rows})
    groups = draw(st.lists(st.sampled_from(present), unique=True, max_size=len(present)))
    if groups and tame:
        model["groups"] = {g: {"total": max(1, allocatable * sum(r["type"] == g for r in rows) // n)}
                           for g in groups}
    elif groups:
        model["groups"] = {g: {"total": draw(st.integers(1, cap))} for g in groups}
    if broken:
        mistake = draw(st.sampled_from(["none", "cap", "key", "weight", "max_cut", "group", "column",
                                        "reserve", "type"]))
        if mistake == "cap":
            model["cap"] = draw(st.sampled_from([str(cap), float(cap) + 0.5, 0, -cap, True]))
        elif mistake == "key":
            model[draw(st.sampled_from(["cpa", "bound", "weights", "floor"]))] = 1
        elif mistake == "weight":
            model["indicators"]["pop"]["weight"] = draw(st.sampled_from([-1.0, math.inf, math.nan, "1"]))
            model["indicators"]["area"]["weight"] = draw(st.sampled_from([0.0, -0.5, 1.0]))
        elif mistake == "max_cut":
            model.setdefault("bounds", {})["max_cut"] = draw(st.sampled_from([1.0, -0.1, 1.5, math.nan]))
        elif mistake == "group":
            model["groups"] = {"nowhere": {"total": 10}}
        elif mistake == "column":
            model["indicators"]["area"]["column"] = "Area"
        elif mistake == "reserve":
            model["reserve"] = draw(st.sampled_from([cap, cap + 1, 1.0, -1]))
        elif mistake == "type":
            model["indicators"] = draw(st.sampled_from([{}, 5, "pop"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return model, rows, encoding


def number(text: str) -> float:
    text = text.strip().replace(",", "")
    return math.nan if text == "" else float(text)


def check_allocation(model: dict, rows: list[dict], out: Path) -> None:
    """Every property of a fair whole-post allocation, from the inputs and the written file."""
    frame = pd.read_csv(out / "allocation.csv", dtype={"id": str}, keep_default_na=False)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    allocatable = record["allocatable"]
    alloc = frame["allocation"].to_numpy()
    exact = frame["exact"].to_numpy(dtype=float)
    assert alloc.sum() == allocatable
    assert np.all(alloc >= 0)
    by_id = {r["code"].strip(): r for r in rows}
    units = [by_id[u.removeprefix("'") if u.removeprefix("'") in by_id else u] for u in frame["id"]]
    # Targets from the inputs, independently of the tool: weighted shares of the cap.
    damp = {"linear": lambda a: a, "sqrt": np.sqrt, "log": np.log1p}
    total_weight = sum(ind["weight"] for ind in model["indicators"].values())
    target = np.zeros(len(frame))
    for ind in model["indicators"].values():
        values = damp[ind.get("transform", "linear")](
            np.array([number(u[ind["column"]]) for u in units]))
        target += ind["weight"] / total_weight * allocatable * values / values.sum()
    assert np.allclose(frame["target"], target, atol=1e-6)
    bounds = model.get("bounds", {})
    lower, upper = np.zeros(len(frame)), np.full(len(frame), math.inf)
    for k, row in enumerate(units):
        lows = [bounds.get("floor", 0.0)]
        highs = [bounds.get("ceiling", math.inf)]
        if "floor_column" in bounds and row["minimum"].strip():
            lows.append(number(row["minimum"]))
        if "max_cut" in bounds:
            lows.append((1 - bounds["max_cut"]) * number(row["posts"]))
        if "max_increase" in bounds:
            highs.append((1 + bounds["max_increase"]) * number(row["posts"]))
        lower[k] = math.ceil(max(lows) - 1e-9)
        upper[k] = math.floor(min(highs) + 1e-9) if min(highs) < math.inf else math.inf
    assert np.all(alloc >= lower) and np.all(alloc <= upper)
    assert np.all(exact >= lower - 1e-6) and np.all(exact <= upper + 1e-6)
    groups = frame["group"].str.removeprefix("'")
    pools = [(groups == g).to_numpy() for g in model.get("groups", {})]
    rest = ~np.any(pools, axis=0) if pools else np.ones(len(frame), dtype=bool)
    for g, members in zip(model.get("groups", {}), pools, strict=True):
        assert alloc[members].sum() == model["groups"][g]["total"]
    for members in [*pools, rest]:
        if not members.any():
            continue
        x, t = exact[members], target[members]  # exact values are written to 1e-6 posts
        tol = 2e-6 + 1e-6 * x
        free = (x > lower[members] + tol) & (x < upper[members] - tol)
        if free.any():  # one ruler: every unit no bound holds gets the same ratio lam ...
            lam = x[free].sum() / t[free].sum()
            assert np.allclose(x[free], lam * t[free], rtol=1e-6, atol=2e-6 * free.sum())
            at_low = x <= lower[members] + tol
            at_high = x >= upper[members] - tol
            # ... and a bound only ever holds a unit away from lam * target in its own direction.
            assert np.all(x[at_low & ~at_high] >= lam * t[at_low & ~at_high] - tol[at_low & ~at_high])
            assert np.all(x[at_high & ~at_low] <= lam * t[at_high & ~at_low] + tol[at_high & ~at_low])
    if model["rounding"] == "hamilton":
        assert np.all(np.abs(alloc - exact) < 1 + 1e-6)


def run_case(model: dict, rows: list[dict], encoding: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        pd.DataFrame(rows).to_csv(folder / "table.csv", index=False, encoding=encoding)
        (folder / "model.toml").write_text(tomli_w.dumps(model), encoding="utf-8")
        out = folder / "out"
        ran = run_cli("run", folder / "model.toml", "--out", out)
        assert ran.exception is None, repr(ran.exception)
        assert ran.exit_code in (0, 2, 3), (ran.exit_code, ran.stderr)
        event(f"exit {ran.exit_code}")
        if ran.exit_code:
            assert ran.stderr.startswith("error: ") and ran.stderr.count("\n") == 1
            assert "Traceback" not in ran.stderr
            assert not out.exists()
        else:
            check_allocation(model, rows, out)
        checked = run_cli("validate", folder / "model.toml")  # the same verdict, without solving
        assert (checked.exit_code, checked.stderr) == (ran.exit_code, ran.stderr)
        return ran.exit_code


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(broken=False))
def test_random_valid_models_allocate_or_explain(case):
    run_case(*case)


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(broken=True))
def test_random_broken_models_never_crash(case):
    run_case(*case)


@settings(max_examples=60, deadline=None)
@given(model_bytes=st.binary(max_size=200), table_bytes=st.binary(max_size=200),
       keep_model=st.booleans(), suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_arbitrary_bytes_as_model_or_table_exit_2(model_bytes, table_bytes, keep_model, suffix):
    """Garbage in either file: one line and exit 2 (or, by chance, a valid run)."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / f"table{suffix}").write_bytes(table_bytes)
        model = tomli_w.dumps({"name": "garbage", "data": f"table{suffix}", "id": "code", "cap": 10,
                           "indicators": {"pop": {"column": "pop", "weight": 1.0}}})
        (folder / "model.toml").write_bytes(model.encode() if keep_model else model_bytes)
        ran = run_cli("validate", folder / "model.toml")
        assert ran.exception is None, repr(ran.exception)
        assert ran.exit_code in (0, 2), (ran.exit_code, ran.stderr)
        if ran.exit_code:
            assert ran.stderr.startswith("error: ") and ran.stderr.count("\n") == 1


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.integers(0, 10**15), st.decimals(0, 10**12, places=3)),
       grouped=st.booleans())
def test_numbers_with_thousands_separators_read_exactly(value, grouped):
    from allocator.table import _numbers

    text = f"{value:,}" if grouped else str(value)
    frame = pd.DataFrame({"v": [text, "1"]}, dtype=object)
    assert _numbers(frame, Path("t.csv"), "v", "k", ["a", "b"])[0] == float(str(value))


@settings(max_examples=200, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=9),
       cut=st.integers(1, 8), fraction=st.sampled_from(["", ".5"]))
def test_a_comma_anywhere_but_between_groups_of_three_is_refused(digits, cut, fraction):
    from allocator import InputError
    from allocator.table import _numbers

    text = digits[:cut] + "," + digits[cut:] + fraction
    valid = 1 <= cut <= 3 and len(digits) - cut == 3
    frame = pd.DataFrame({"v": [text]}, dtype=object)
    try:
        value = _numbers(frame, Path("t.csv"), "v", "k", ["a"])[0]
    except InputError as exc:
        assert not valid and "a comma may only separate thousands" in str(exc)
    else:
        assert valid and value == float(digits + fraction)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aZ0159_-①²١１\x00\ufeff")), min_size=1,
                        max_size=8) | st.text(min_size=1), max_size=12, unique=True))
def test_natural_order_is_the_natural_key_sort_and_never_raises(ids):
    from allocator.ordering import natural_key, natural_order

    assert natural_order(ids) == sorted(range(len(ids)), key=lambda r: (natural_key(ids[r]), ids[r]))
