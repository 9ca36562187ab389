"""Infeasibility diagnosis: plain words, exact numbers, fixes that work, and an elastic LP."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import InfeasibleError, load_model
from allocator.core.assemble import build_problem
from allocator.core.feasibility import elastic_relaxation, find_conflicts, infeasibility
from allocator.core.problem import Pool, Problem
from allocator.core.waterfill import water_fill
from allocator.table import load_table

from .support import HARBIN, ROOT, run_cli, write_csv, write_model

DATA = pd.read_csv(ROOT / "data" / "harbin_2020.csv")


def harbin(groups: bool = False, cap: int = 60806, **bounds):
    """The Harbin model with changed bounds, and (by default) without its group totals."""
    spec = load_model(HARBIN).model_copy(update={"cap": cap})
    if not groups:
        spec = spec.model_copy(update={"groups": {}, "group": None})
    return spec.model_copy(update={"bounds": spec.bounds.model_copy(update=bounds)})


def reason(spec) -> str:
    with pytest.raises(InfeasibleError) as caught:
        build_problem(spec, load_table(spec))
    return str(caught.value)


def feasible(spec) -> bool:
    try:
        build_problem(spec, load_table(spec))
    except InfeasibleError:
        return False
    return True


def test_floors_above_cap_names_both_sums():
    spec = harbin(floor=3500.0, max_cut=None, max_increase=None)
    floors = 3500 * len(DATA)  # independent: every unit held at the floor
    assert reason(spec).startswith(f"the floors of the units add up to {floors:,} posts but the cap "
                                   f"is {spec.cap:,} ({floors - spec.cap:,} too many;")


def test_max_cut_sum_is_exact():
    spec = harbin(max_cut=0.10, floor=None, max_increase=None, ceiling=None)
    keep = sum(math.ceil(0.9 * q - 1e-9) for q in DATA["posts_illustrative"])
    cap = spec.cap
    assert keep > cap
    assert reason(spec).startswith(f"with max_cut = 0.1 the units keep at least {keep:,} posts but "
                                   f"the cap is {cap:,} ({keep - cap:,} too many;")


def test_group_ceiling_sum_is_exact():
    spec = harbin(groups=True, ceiling=3000.0, floor=None, max_cut=None, max_increase=None)
    counties = int((DATA["type"] == "county").sum())
    assert reason(spec).startswith(f"group 'county' must total 33,095 but its units' ceilings allow "
                                   f"at most {3000 * counties:,} posts")


@pytest.mark.parametrize(("bounds", "setting", "loosen"), [
    ({"floor": 3500.0, "max_cut": None, "max_increase": None}, "floor", -1),
    ({"floor": 2000.0, "max_cut": 0.2, "max_increase": None}, "max_cut", 1),
    ({"floor": None, "ceiling": 3000.0, "max_cut": None, "max_increase": None}, "ceiling", 1),
    ({"floor": None, "max_cut": None, "max_increase": 0.2, "cap": 110_000}, "max_increase", 1),
])
def test_suggested_single_setting_is_the_tightest_fix(bounds, setting, loosen):
    """The suggested value repairs the model, and one step less (a post, or 0.0001) does not."""
    spec = harbin(**bounds)
    text = reason(spec)
    found = re.search(rf"(?:lower|raise) (?:the )?{setting} to ([\d,.]+)", text)
    assert found, text
    value = float(found.group(1).replace(",", ""))
    step = 1.0 if setting in ("floor", "ceiling") else 0.0001
    assert feasible(harbin(**{**bounds, setting: value}))
    assert not feasible(harbin(**{**bounds, setting: value - loosen * step}))


def test_suggested_cap_is_the_tightest_fix():
    spec = harbin(floor=3500.0, max_cut=None, max_increase=None)
    cap = int(re.search(r"raise the cap to ([\d,]+)", reason(spec)).group(1).replace(",", ""))
    assert feasible(spec.model_copy(update={"cap": cap}))
    assert not feasible(spec.model_copy(update={"cap": cap - 1}))


def test_cap_fix_for_the_units_outside_fixed_groups():
    """With one group fixed, the other units share what is left: the fix moves the cap."""
    from allocator.schema import GroupSpec

    spec = harbin(floor=3200.0, max_cut=None, max_increase=None).model_copy(
        update={"group": "type", "groups": {"county": GroupSpec(total=33095)}})
    districts = int((DATA["type"] == "district").sum())
    need = 3200 * districts - (60806 - 33095)
    text = reason(spec)
    assert text.startswith(f"the floors of the units outside fixed-total groups add up to "
                           f"{3200 * districts:,} posts but the cap less the group totals leaves "
                           f"them 27,711 ({need:,} too many;")
    cap = int(re.search(r"raise the cap to ([\d,]+)", text).group(1).replace(",", ""))
    assert cap == 60806 + need
    assert feasible(spec.model_copy(update={"cap": cap}))
    assert not feasible(spec.model_copy(update={"cap": cap - 1}))


def test_lower_cap_fix_for_the_units_outside_fixed_groups():
    from allocator.schema import GroupSpec

    spec = harbin(cap=70_000, ceiling=3700.0, floor=None, max_cut=None, max_increase=None)
    spec = spec.model_copy(update={"group": "type", "groups": {"county": GroupSpec(total=33095)}})
    districts = int((DATA["type"] == "district").sum())
    text = reason(spec)
    assert text.startswith(f"the units outside fixed-total groups must share {70_000 - 33095:,} "
                           f"posts (the cap less the group totals) but their ceilings allow at "
                           f"most {3700 * districts:,} posts")
    cap = int(re.search(r"lower the cap to ([\d,]+)", text).group(1).replace(",", ""))
    assert cap == 33095 + 3700 * districts
    assert feasible(spec.model_copy(update={"cap": cap}))
    assert not feasible(spec.model_copy(update={"cap": cap + 1}))


def test_several_causes_add_the_smallest_relaxation():
    spec = harbin(groups=True, floor=3500.0)
    text = reason(spec)
    assert text.startswith("unit 230108 (平房区): its floor needs at least 3,500 posts but its "
                           "max_increase (0.3 of 1,731 current posts) allows at most 2,250")
    assert "smallest relaxation that makes every constraint hold" in text
    assert "\n" not in text


def test_command_line_exits_3_with_one_line(tmp_path: Path):
    model = tmp_path / "harbin.toml"
    text = HARBIN.read_text(encoding="utf-8").replace("../data/", str(ROOT / "data") + "/")
    model.write_text(text.replace("floor = 1500 ", "floor = 4000 "), encoding="utf-8")
    ran = run_cli("run", model, "--out", tmp_path / "out")
    assert ran.exit_code == 3 and ran.exception is None
    assert ran.stderr.count("\n") == 1
    assert ran.stderr.startswith("error: unit 230108 (平房区): its floor needs at least 4,000 posts but "
                                 "its max_increase (0.3 of 1,731 current posts) allows at most 2,250")
    assert not (tmp_path / "out").exists()


@st.composite
def problems(draw):
    """Small problems with random bounds and one or two pools; many of them infeasible."""
    n = draw(st.integers(1, 7))
    target = np.array(draw(st.lists(st.floats(0.5, 100), min_size=n, max_size=n)))
    lower = np.array(draw(st.lists(st.integers(0, 60), min_size=n, max_size=n)), dtype=float)
    upper = np.array([draw(st.one_of(st.just(math.inf), st.integers(0, 90).map(float)))
                      for _ in range(n)])
    split = draw(st.integers(0, n - 1))
    members = [np.arange(0, split), np.arange(split, n)]
    pools = tuple(Pool(name, m, draw(st.integers(0, 400)))
                  for name, m in zip(("a", ""), members, strict=True) if m.size)
    return Problem(ids=tuple(f"u{i}" for i in range(n)), target=target, lower=lower, upper=upper,
                   lower_rule=("floor",) * n, upper_rule=tuple("" if math.isinf(u) else "ceiling"
                                                               for u in upper),
                   pools=pools, total=sum(p.total for p in pools))


def elastic_lp(p: Problem) -> float:
    """Independent oracle: the elastic LP (a slack on every bound and total), solved by HiGHS."""
    import pulp

    n = len(p)
    prob = pulp.LpProblem("elastic", pulp.LpMinimize)
    x = [prob.add_variable(f"x{i}", lowBound=0) for i in range(n)]
    a = [prob.add_variable(f"a{i}", lowBound=0) for i in range(n)]
    b = [prob.add_variable(f"b{i}", lowBound=0) for i in range(n)]
    slack = a + b
    for i in range(n):
        prob += x[i] + a[i] >= float(p.lower[i])
        if np.isfinite(p.upper[i]):
            prob += x[i] - b[i] <= float(p.upper[i])
    for k, pool in enumerate(p.pools):
        plus, minus = prob.add_variable(f"p{k}", lowBound=0), prob.add_variable(f"m{k}", lowBound=0)
        slack += [plus, minus]
        prob += pulp.lpSum(x[int(i)] for i in pool.members) - plus + minus == float(pool.total)
    prob += pulp.lpSum(slack)
    prob.solve(pulp.HiGHS(msg=False))
    return float(pulp.value(prob.objective) or 0.0)


def smallest_relaxation(p: Problem) -> float:
    """Independent closed form: each unit's own conflict, then each pool's distance from the
    range its units can reach once every conflict is resolved in the pool's favour."""
    conflict = np.maximum(0.0, p.lower - p.upper)
    low, high = np.minimum(p.lower, p.upper), np.maximum(p.lower, p.upper)
    total = conflict.sum()
    for pool in p.pools:
        m = pool.members
        total += max(0.0, low[m].sum() - pool.total, pool.total - high[m].sum())
    return float(total)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_elastic_lp_and_exact_arithmetic_agree(p: Problem):
    findings = find_conflicts(p)
    relaxation = elastic_relaxation(p)
    assert relaxation.posts == pytest.approx(smallest_relaxation(p), abs=1e-6)
    assert relaxation.posts == pytest.approx(elastic_lp(p), abs=1e-6)
    assert sum(v for _, v in relaxation.parts) == pytest.approx(relaxation.posts, abs=1e-6)
    assert (not findings) == (relaxation.posts < 1e-6)
    if not findings:
        x = water_fill(p)  # the closed-form allocation meets every bound and total
        assert np.all(x >= p.lower - 1e-6) and np.all(x <= p.upper + 1e-6)
        for pool in p.pools:
            assert x[pool.members].sum() == pytest.approx(pool.total, abs=1e-6)
        assert infeasibility(p) is None
    else:
        text = infeasibility(p)
        assert text is not None and "\n" not in text and re.search(r"\d", text)
        assert text.strip().lower() != "infeasible"


def test_a_tiny_ceiling_suggests_a_possible_fix_not_a_cap_of_zero():
    spec = harbin(ceiling=0.5, floor=None, max_cut=None, max_increase=None)
    text = reason(spec)
    assert "the cap to 0" not in text and "cap to -" not in text
    found = re.search(r"raise the ceiling to ([\d,]+)", text)
    assert found, text
    ceiling = float(found.group(1).replace(",", ""))
    assert feasible(harbin(ceiling=ceiling, floor=None, max_cut=None, max_increase=None))


def test_the_cap_fix_with_a_reserve_fraction_is_the_tightest():
    spec = harbin(floor=3500.0, max_cut=None, max_increase=None).model_copy(
        update={"reserve": 0.05})
    cap = int(re.search(r"raise the cap to ([\d,]+)", reason(spec)).group(1).replace(",", ""))
    assert feasible(spec.model_copy(update={"cap": cap}))
    assert not feasible(spec.model_copy(update={"cap": cap - 1}))


def test_no_group_total_is_suggested_that_the_cap_cannot_hold():
    from allocator.schema import GroupSpec

    spec = harbin(floor=4000.0, max_cut=None, max_increase=None, cap=35_000).model_copy(
        update={"group": "type", "groups": {"county": GroupSpec(total=33095)}})
    counties = int((DATA["type"] == "county").sum())
    text = reason(spec)
    assert f"the floors of the units of group 'county' add up to {4000 * counties:,}" in text
    assert "raise the total of group 'county'" not in text
    assert "lower the floor to" in text


def test_an_infeasible_model_of_100000_units_is_diagnosed_in_seconds(tmp_path: Path):
    """Was about 7 minutes in the elastic LP; the closed form is linear in the units."""
    import time


    rng = np.random.default_rng(1)
    n = 100_000
    posts = rng.integers(100, 3000, n)
    write_csv(tmp_path / "u.csv", ["code", "type", "pop", "posts"],
              [[i + 1, "county" if i % 2 else "district", int(p), int(q)]
               for i, (p, q) in enumerate(zip(rng.integers(1000, 100000, n), posts, strict=True))])
    model = write_model(tmp_path / "m.toml", {
        "name": "big", "data": "u.csv", "id": "code", "group": "type", "actual": "posts",
        "cap": 100_000_000, "indicators": {"pop": {"column": "pop", "weight": 1}},
        "bounds": {"floor": 1500, "max_increase": 0.3}, "groups": {"county": {"total": 40_000_000}}})
    spec = load_model(model)
    table = load_table(spec)
    start = time.process_time()
    with pytest.raises(InfeasibleError) as caught:
        build_problem(spec, table)
    assert time.process_time() - start < 20
    text = str(caught.value)
    conflicts = int((np.floor(1.3 * posts + 1e-9) < 1500).sum())
    assert f"and {conflicts - 3:,} more units whose lower bound is above their upper bound" in text
    assert "smallest relaxation that makes every constraint hold: 50,000,000 posts in all" in text
