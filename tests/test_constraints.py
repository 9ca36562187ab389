"""General constraints: bounded group totals, nested levels, density bounds, equal-cut rules and
named constraints -- the model file, the fair allocation (against a brute-force oracle), whole
posts, the diagnosis, the explanation, studies and the bundled models."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pulp
import pytest

from allocator.core.constraint_diagnosis import constraint_infeasibility, elastic_constraints
from allocator.core.constraints import holding, step_of
from allocator.core.explain import explain
from allocator.core.fair import solve_fair
from allocator.core.problem import LinearConstraint, Pool, Problem
from allocator.core.repair import _candidates_repair, _repair, round_within_constraints
from allocator.core.rounding import round_allocation
from allocator.errors import InfeasibleError, InputError
from allocator.pipeline.allocate import allocate, prepare, solve
from allocator.schema import spec_from_dict
from allocator.studies.batch import FastAllocator

from .support import ROOT, run_cli, write_csv

HARBIN_C = ROOT / "models" / "harbin_2020_constraints.toml"
CHINA_P = ROOT / "models" / "china_counties_2020_provinces.toml"


# ------------------------------------------------------------------------------------------
# A brute-force oracle: at each level, every unit tested with its own LP
# ------------------------------------------------------------------------------------------


def _oracle_lp(p: Problem, caps: dict[int, float], level: float | None, unit: int | None):
    """min z (or, with ``unit``, min unit's deviation w with every other uncapped unit within
    ``level``), capped units within their caps; x in posts (not ratios, unlike the tool)."""
    t = p.target
    prob = pulp.LpProblem("oracle", pulp.LpMinimize)
    x = [prob.add_variable(f"x{i}", lowBound=p.lower[i],
                           upBound=None if np.isinf(p.upper[i]) else p.upper[i])
         for i in range(len(p))]
    z = prob.add_variable("z", lowBound=0)
    prob += z
    for i in range(len(p)):
        if i in caps:
            cap = caps[i]
        elif unit is not None and i != unit:
            cap = level
        else:
            prob += x[i] - t[i] <= t[i] * z
            prob += t[i] - x[i] <= t[i] * z
            continue
        prob += x[i] <= t[i] * (1 + cap)
        prob += x[i] >= t[i] * (1 - cap)
    for pool in p.pools:
        prob += pulp.lpSum(x[int(i)] for i in pool.members) == pool.total
    for c in p.constraints:
        expr = pulp.lpSum(float(a) * x[int(i)] for i, a in zip(c.members, c.coef, strict=True))
        if np.isfinite(c.lower):
            prob += expr >= c.lower
        if np.isfinite(c.upper):
            prob += expr <= c.upper
    prob.solve(pulp.HiGHS(msg=False))
    if prob.status != pulp.LpStatusOptimal:
        return None
    return z.value(), np.array([v.value() for v in x])


def oracle(p: Problem) -> np.ndarray:
    """Lexicographic min-max by definition: at each level, the smallest largest deviation of the
    units not yet fixed, then each of them tested alone (can it go below the level while the
    others stay within it?); the units that cannot are capped at the level. Caps get a slack
    that is as small as the LPs allow (a larger one lets ill-conditioned rows trade it away)."""
    for slack in (1e-11, 1e-10, 1e-9, 1e-8):
        caps: dict[int, float] = {}
        ok = True
        while ok and len(caps) < len(p):
            out = _oracle_lp(p, caps, None, None)
            if out is None:
                ok = False
                break
            z = out[0]
            blocked = []
            for i in (i for i in range(len(p)) if i not in caps):
                own = _oracle_lp(p, caps, z + slack, i)
                if own is None:
                    ok = False
                    break
                if own[0] >= z - 1e-7:
                    blocked.append(i)
            for i in blocked:
                caps[i] = z + slack
        final = _oracle_lp(p, caps, None, None) if ok else None
        if final is not None:
            return final[1]
    raise AssertionError("the oracle's LPs failed")


def random_problem(rng: np.random.Generator) -> Problem:
    """A small instance that can hold: whole posts x0 inside random bounds, one or two pools,
    and one to three random constraints around x0 (group sums, equal-cut-like rows with real
    coefficients of both signs, integer combinations), some tight, some one-sided."""
    n = int(rng.integers(4, 9))
    t = rng.uniform(5, 60, n)
    x0 = np.round(t * rng.uniform(0.6, 1.4, n))
    lower = np.where(rng.random(n) < 0.3, np.floor(x0 * rng.uniform(0.7, 1.0, n)), 0.0)
    upper = np.where(rng.random(n) < 0.3, np.ceil(x0 * rng.uniform(1.0, 1.3, n)), np.inf)
    if rng.random() < 0.4:
        cut = int(rng.integers(1, n))
        perm = rng.permutation(n)
        parts = [np.sort(perm[:cut]), np.sort(perm[cut:])]
    else:
        parts = [np.arange(n)]
    pools = tuple(Pool(f"g{k}" if len(parts) > 1 else "", m, int(x0[m].sum()))
                  for k, m in enumerate(parts))
    rows = []
    for k in range(int(rng.integers(1, 4))):
        kind = rng.integers(0, 3)
        size = int(rng.integers(1, n))
        m = np.sort(rng.choice(n, size, replace=False))
        if kind == 0:
            coef = np.ones(size)
        elif kind == 1:
            coef = np.where(rng.random(size) < 0.5, 1.0, -1.0) * rng.uniform(0.5, 2, size)
        else:
            coef = rng.choice([1.0, 2.0, 3.0, -1.0], size)
        act = float(coef @ x0[m])
        whole = bool(np.all(coef == np.round(coef)))  # equalities only with whole coefficients
        lo = act - (0 if whole and rng.random() < 0.3 else rng.uniform(0.5, 10))
        hi = act + (0 if whole and rng.random() < 0.3 else rng.uniform(0.5, 10))
        if rng.random() < 0.3:
            lo = -np.inf
        elif rng.random() < 0.3:
            hi = np.inf
        rows.append(LinearConstraint(f"c{k}", f"c{k}", m, coef, lo, hi))
    return Problem(ids=tuple(f"u{i}" for i in range(n)), target=t, lower=lower, upper=upper,
                   lower_rule=tuple("floor" if v > 0 else "" for v in lower),
                   upper_rule=tuple("ceiling" if np.isfinite(v) else "" for v in upper),
                   pools=pools, total=int(x0.sum()), constraints=tuple(rows))


@pytest.mark.parametrize("seed", range(80))
def test_lp_sequence_equals_the_brute_force_oracle_and_the_solvers_agree(seed):
    p = random_problem(np.random.default_rng(seed))
    reference = oracle(p)
    posts = {}
    for solver in ("highs", "cbc"):
        fair = solve_fair(p, solver)
        assert np.max(np.abs(fair.exact - reference) / np.maximum(1.0, reference)) < 1e-6
        assert not p.violated(fair.exact)
        posts[solver], _ = round_within_constraints(p, fair.exact, "hamilton", solver)
        assert not p.violated(posts[solver].astype(float))
        for pool in p.pools:
            assert posts[solver][pool.members].sum() == pool.total
        assert np.all(posts[solver] >= p.lower) and np.all(posts[solver] <= p.upper)
    assert np.array_equal(posts["highs"], posts["cbc"])


def test_the_number_of_lps_grows_with_the_levels_not_the_units():
    # Each round costs at most 2 + log2(thresholds) LPs; on these instances, at most 3 per level.
    rounds = []
    for seed in range(40):
        p = random_problem(np.random.default_rng(seed))
        fair = solve_fair(p, "highs")
        if fair.path == "lp":
            assert fair.lp_solves <= 2 + math.log2(len(p) + 1) * len(fair.levels) + \
                2 * len(fair.levels)
            rounds.append(fair.lp_solves / len(fair.levels))
    assert rounds and np.mean(rounds) <= 3


# ------------------------------------------------------------------------------------------
# Hand-solved cases and what holds each unit
# ------------------------------------------------------------------------------------------


def problem(target, pools=None, rows=(), lower=None, upper=None):
    target = np.asarray(target, dtype=float)
    n = target.size
    pools = pools or [(np.arange(n), int(round(target.sum())))]
    lower = np.zeros(n) if lower is None else np.asarray(lower, dtype=float)
    upper = np.full(n, np.inf) if upper is None else np.asarray(upper, dtype=float)
    return Problem(ids=tuple(f"u{i}" for i in range(n)), target=target, lower=lower, upper=upper,
                   lower_rule=tuple("floor" if v > 0 else "" for v in lower),
                   upper_rule=tuple("ceiling" if np.isfinite(v) else "" for v in upper),
                   pools=tuple(Pool(f"g{k}" if len(pools) > 1 else "", np.asarray(m), total)
                               for k, (m, total) in enumerate(pools)),
                   total=sum(total for _, total in pools), constraints=tuple(rows))


def group(name, members, low=-np.inf, high=np.inf):
    m = np.asarray(members)
    return LinearConstraint(f"group_min:{name}", f"group_max:{name}", m, np.ones(m.size),
                            float(low), float(high))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_a_group_maximum_gives_its_units_their_own_ratio(solver):
    # Targets 20, 30 | 25, 25 (cap 100); group a = {0, 1} at most 40: its units share 40 at
    # 40/50, the others share 60 at 60/50. The group's units are held by its maximum.
    p = problem([20, 30, 25, 25], rows=[group("a", [0, 1], high=40)])
    fair = solve_fair(p, solver)
    assert fair.path == "lp"
    assert fair.exact.tolist() == pytest.approx([16, 24, 30, 30], abs=1e-9)
    h = holding(p, fair.exact)
    assert h.binding == ("group_max:a", "group_max:a", "", "")
    assert h.rulers == {"": pytest.approx(1.2)}
    if solver == "highs":
        level, dual = fair.duals["group:a"]
        assert level == 0 and dual > 0  # relaxing the maximum lowers the largest deviation
    else:
        assert fair.duals == {}  # CBC's duals through PuLP are not trusted


def test_the_closed_form_answers_when_it_meets_the_constraints():
    p = problem([20, 30, 25, 25], rows=[group("a", [0, 1], high=60)])
    fair = solve_fair(p)
    assert fair.path == "closed_form" and fair.exact.tolist() == pytest.approx([20, 30, 25, 25])
    assert solve_fair(p, method="lp").exact.tolist() == pytest.approx([20, 30, 25, 25], abs=1e-9)


def test_nested_classes_are_explained_step_by_step():
    # A group b = {0, 1, 2} with a maximum, and inside it a named constraint on unit 0: unit 0's
    # class sits inside b's class, so its chain has two steps and it is held by the constraint.
    core = LinearConstraint("constraint:core", "constraint:core", np.array([0]), np.ones(1),
                            30.0, np.inf)
    p = problem([20, 20, 20, 40], rows=[group("b", [0, 1, 2], high=54), core])
    fair = solve_fair(p)
    x = fair.exact
    assert x.tolist() == pytest.approx([30, 12, 12, 46], abs=1e-9)
    h = holding(p, x)
    assert h.binding == ("constraint:core", "group_max:b", "group_max:b", "")
    assert [label for label, _ in h.chain[0]] == ["group_max:b", "constraint:core"]
    assert [step_of(label) for label, _ in h.chain[0]] == ["group_bound", "constraint"]


def test_a_unit_at_its_own_bound_inside_a_held_class_is_held_by_its_bound():
    # Group a = {0, 1} at most 40; unit 1 has a floor of 27 (above the group's ratio 0.8).
    p = problem([20, 30, 25, 25], rows=[group("a", [0, 1], high=40)], lower=[0, 27, 0, 0])
    x = solve_fair(p).exact
    assert x.tolist() == pytest.approx([13, 27, 30, 30], abs=1e-9)
    assert holding(p, x).binding == ("group_max:a", "floor", "", "")


# ------------------------------------------------------------------------------------------
# Whole posts
# ------------------------------------------------------------------------------------------


def test_rounding_that_breaks_a_group_bound_is_repaired_within_one_post():
    p = problem(np.full(7, 74 / 7), rows=[group("a", [0, 1, 2, 3], low=42)])
    exact = np.array([10.5, 10.5, 10.5, 10.5, 10.6, 10.6, 10.8])
    assert round_allocation(p, exact, "hamilton")[:4].sum() == 41
    for solver in ("highs", "cbc"):
        posts, repair = round_within_constraints(p, exact, "hamilton", solver)
        assert posts.tolist() == [11, 11, 10, 10, 10, 11, 11]
        assert repair.violated == ("group:a",) and repair.moved == 2 and repair.within_one_post
        assert "every unit stays within one post" in repair.describe()


def test_when_the_constraints_need_it_the_repair_says_which_units_leave_their_quota():
    # 2 x0 + x1 = 13 holds for the exact values (4.5, 4.0) but for no whole posts with x1 = 4:
    # x0 = 5 needs x1 = 3, x0 = 4 needs x1 = 5. Both move two posts equally close to the exact
    # values; the tie goes to the units first in id order (u0 and u1).
    row = LinearConstraint("constraint:pair", "constraint:pair", np.array([0, 1]),
                           np.array([2.0, 1.0]), 13.0, 13.0)
    p = problem([5.0, 5.0, 10.0], rows=[row])
    exact = np.array([4.5, 4.0, 11.5])
    for solver in ("highs", "cbc"):
        posts, repair = round_within_constraints(p, exact, "hamilton", solver)
        assert posts.tolist() == [5, 3, 12]
        assert not repair.within_one_post and repair.outside == ("u1",)
        assert "the constraints need u1 more than one post from the exact value" in \
            repair.describe()


@pytest.mark.parametrize("seed", range(12))
def test_the_repair_over_candidates_equals_the_repair_over_every_unit(seed):
    rng = np.random.default_rng(100 + seed)
    n = 40
    members = np.sort(rng.choice(n, 15, replace=False))
    exact = rng.uniform(5, 15, n)
    exact *= 400 / exact.sum()
    p = problem(exact, rows=[group("a", members, low=math.ceil(exact[members].sum()))])
    posts = round_allocation(p, exact, "hamilton")
    low, high = np.floor(exact), np.ceil(exact)
    full = _repair(p, exact, posts, low, high, "highs")
    assert np.array_equal(_candidates_repair(p, exact, posts, low, high, "highs"), full)


# ------------------------------------------------------------------------------------------
# Diagnosis
# ------------------------------------------------------------------------------------------


def test_conflicting_constraints_are_named_with_numbers_and_the_smallest_relaxation():
    p = problem([100 / 3] * 3, rows=[group("a", [0, 1], low=80), group("b", [2], low=30)])
    text = constraint_infeasibility(p)
    assert "group:a needs at least 80 but with every other constraint holding it can reach at " \
           "most 70 (10 short; limited by the allocatable cap, group:b)" in text
    assert "smallest relaxation that makes every constraint hold: 10 in all" in text
    assert elastic_constraints(p).total == pytest.approx(10)
    with pytest.raises(InfeasibleError, match="group:a needs at least 80"):
        solve_fair(p)


def test_a_model_whose_constraints_conflict_exits_3_with_one_line(tmp_path: Path):
    model = _small_model(tmp_path, '[groups.city]\nmin = 700\n\n[[constraints]]\nname = "hill"\n'
                                   'terms = { "U5" = 1 }\nmin = 400\n')
    ran = run_cli("run", model, "--out", tmp_path / "out")
    assert ran.exit_code == 3 and ran.stderr.count("\n") == 1
    assert "group:city needs at least 700 but with every other constraint holding it can reach " \
           "at most 600 (100 short; limited by" in ran.stderr
    assert "smallest relaxation that makes every constraint hold: 100 in all" in ran.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------
# The model file
# ------------------------------------------------------------------------------------------


def _small_model(tmp_path: Path, extra: str = "", group: str = '"kind"') -> Path:
    write_csv(tmp_path / "units.csv", ["code", "name", "kind", "region", "pop", "area", "posts"], [
        ["U1", "North", "city", "n", 100, 10, 120],
        ["U2", "South", "city", "s", 300, 20, 260],
        ["U3", "East", "rural", "n", 50, 90, 150],
        ["U4", "West", "rural", "s", 150, 40, 200],
        ["U5", "Hill", "rural", "s", 400, 40, 270],
    ])
    path = tmp_path / "small.toml"
    path.write_text(
        'name = "small"\ndata = "units.csv"\nid = "code"\nlabel = "name"\n'
        f'group = {group}\nactual = "posts"\npopulation = "pop"\ncap = 1000\n\n'
        '[indicators.pop]\ncolumn = "pop"\nweight = 0.7\n\n'
        '[indicators.area]\ncolumn = "area"\nweight = 0.3\n\n' + extra, encoding="utf-8")
    return path


@pytest.mark.parametrize(("extra", "message"), [
    ("[groups.city]\ntotal = 500\nmax = 600\n",
     "groups.city: give a fixed total or bounds (min, max, max_cut, max_increase), not both"),
    ("[groups.city]\nmin = 600\nmax = 500\n", "groups.city: min 600 is above max 500"),
    ("[groups.city]\nmax_cutt = 0.1\n", "unknown key 'groups.city.max_cutt' (did you mean"),
    ("[[constraints]]\nname = \"a\"\nterms = { U1 = 1 }\n", "constraints[0]: give min, max or both"),
    ("[[constraints]]\nname = \"a\"\nterms = { U9 = 1 }\nmin = 1\n",
     "constraints[0].terms: no unit with id 'U9'"),
    ("[[constraints]]\nname = \"a\"\nterms = { U1 = 1 }\nmin = 1\n"
     "[[constraints]]\nname = \"a\"\nterms = { U2 = 1 }\nmin = 1\n",
     "constraints[1].name: 'a' is used twice"),
    ("[[constraints]]\nname = \"a\"\nterms = { U1 = 0 }\nmin = 1\n",
     "constraints[0]: terms: every coefficient is 0"),
    ("[[equal_cut]]\ngroups = [\"city\", \"town\"]\ntolerance = 0.05\n",
     "equal_cut[0].groups: no unit has 'town' in column 'kind'"),
    ("[[equal_cut]]\ngroups = [\"city\"]\ntolerance = 0.05\n", "equal_cut[0].groups:"),
    ("[[equal_cut]]\ngroups = [\"city\", \"rural\"]\ntolerance = 1.5\n",
     "equal_cut[0].tolerance: must be less than 1"),
    ("[bounds]\nmin_per_10k = 50\nmax_per_10k = 40\n",
     "bounds: min_per_10k 50 is above max_per_10k 40"),
])
def test_every_new_key_is_checked_with_one_line_naming_it(tmp_path, extra, message):
    with pytest.raises(InputError) as info:
        prepare(_small_model(tmp_path, extra))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_nested_levels_name_groups_by_path(tmp_path):
    model = _small_model(tmp_path, '[groups."rural/s"]\ntotal = 400\n'
                                   '[groups.rural]\ntotal = 600\n[groups."city/n"]\nmax = 150\n',
                         group='["kind", "region"]')
    ready = prepare(model)
    pools = {pool.name: (sorted(ready.problem.ids[i] for i in pool.members), pool.total)
             for pool in ready.problem.pools}
    # rural/s (U4, U5) has its own pool; rural keeps U3 with 600 - 400; the rest: the cap less 600.
    assert pools == {"rural": (["U3"], 200), "rural/s": (["U4", "U5"], 400),
                     "": (["U1", "U2"], 400)}
    [row] = ready.problem.constraints
    assert row.upper_name == "group_max:city/n" and row.upper == 150
    result = solve(ready)
    assert result.posts[[0]].sum() <= 150 and result.posts[[3, 4]].sum() == 400
    with pytest.raises(InputError, match="groups.a/b/c: a group of nested levels is named by its "
                                         "path"):
        prepare(_small_model(tmp_path, '[groups."a/b/c"]\nmax = 1\n', group='["kind", "region"]'))
    with pytest.raises(InputError, match="groups.city/x: no unit has 'city/x' in columns kind, "
                                         "region"):
        prepare(_small_model(tmp_path, '[groups."city/x"]\nmax = 1\n', group='["kind", "region"]'))


def test_density_bounds_are_per_unit_bounds_with_their_own_rule(tmp_path):
    result = allocate(_small_model(tmp_path, "[bounds]\nmin_per_10k = 9000\n"))
    # 9,000 posts per 10,000 of the 'pop' indicator: 0.9 posts per unit of pop; U5 (pop 400,
    # target 340) is held at 360.
    assert np.all(result.posts >= 0.9 * result.table.indicators["pop"] - 1e-9)
    assert result.binding[4] == "min_per_10k" and result.posts[4] == 360
    assert result.fair.path == "closed_form"


def test_group_cut_limits_are_against_the_groups_current_posts(tmp_path):
    # The cities (U1, U2) have 380 current posts and a target of 325: a 5% cut at most keeps 361.
    result = allocate(_small_model(tmp_path, "[groups.city]\nmax_cut = 0.05\n"))
    assert result.posts[:2].sum() == math.ceil(0.95 * 380) == 361
    assert result.binding[:2] == ("group_max_cut:city", "group_max_cut:city")
    assert result.binding[2:] == ("", "", "")


def test_equal_cut_keeps_the_groups_cuts_within_the_tolerance(tmp_path):
    result = allocate(_small_model(tmp_path, '[[equal_cut]]\ngroups = ["city", "rural"]\n'
                                             'tolerance = 0.02\n'))
    groups = np.array(result.table.groups)
    cuts = [1 - result.exact[groups == g].sum() / result.table.actual[groups == g].sum()
            for g in ("city", "rural")]
    assert abs(cuts[0] - cuts[1]) <= 0.02 + 1e-9
    [state] = result.constraints
    assert state.name == "equal_cut:city,rural" and state.binding == "equal_cut:city,rural"
    assert state.dual is not None and state.dual > 0


def test_the_model_round_trips_through_run_json(tmp_path):
    from allocator.outputs.runfiles import run_record

    result = allocate(HARBIN_C)
    record = run_record(result)
    spec = spec_from_dict(record["model"], str(HARBIN_C))
    assert spec == result.spec.model_copy(update={"source": str(HARBIN_C)})
    names = [c["name"] for c in record["constraints"]]
    assert names == ["group:county", "equal_cut:district,county",
                     "constraint:core districts keep their service base"]
    assert "general constraints bind" in record["status"]
    json.dumps(record)


# ------------------------------------------------------------------------------------------
# The bundled models, explanation and studies
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harbin_c():
    return allocate(HARBIN_C)


def test_harbin_constraints_model_meets_its_rules_in_whole_posts(harbin_c):
    r = harbin_c
    groups = np.array(r.table.groups)
    cut = {g: 1 - r.posts[groups == g].sum() / r.table.actual[groups == g].sum()
           for g in ("district", "county")}
    assert abs(cut["district"] - cut["county"]) <= 0.05 + 1e-12
    assert np.all(r.posts >= 35 * r.table.indicators["population"] / 10_000 - 1e-9)
    assert r.posts[:3].sum() >= 12_000
    assert r.posts.sum() == 60_806 and r.fair.path == "lp"
    kinds = {step_of(b) for b in r.binding}
    assert {"equal_cut", "constraint", "min_per_10k", "floor", "max_cut"} <= kinds


def test_every_unit_of_the_harbin_constraints_model_is_explained(harbin_c):
    e = explain(harbin_c)
    for i in range(len(harbin_c.problem)):
        assert sum(v for _, v in e.parts(i)) == pytest.approx(harbin_c.posts[i], abs=1e-6)
    assert {"equal_cut", "constraint", "density", "change_limit", "floor"} <= set(e.steps)
    # A unit held by its density floor: its breakdown shows the equal-cut rule, the core
    # districts' constraint and the density floor as steps.
    nangang = harbin_c.table.ids.index("230103")
    assert harbin_c.binding[nangang] == "min_per_10k"
    parts = dict(e.parts(nangang))
    assert parts["equal_cut"] < 0 < parts["constraint"] and parts["density"] > 0


def test_the_report_words_know_the_new_steps():
    from allocator.report.labels import step_name

    for step in ("constraints", "group_bound", "equal_cut", "constraint", "density"):
        assert step_name(step).zh != step


def test_the_national_model_with_provinces_meets_every_level(tmp_path):
    r = allocate(CHINA_P)
    levels = r.table.group_paths()
    assert len(levels) == 2 and r.fair.path == "lp"
    provinces, prefectures = np.array(levels[0]), np.array(levels[1])
    assert r.posts[prefectures == "黑龙江省/哈尔滨市"].sum() == 60_806
    assert r.posts[provinces == "北京市"].sum() == 85_000
    assert r.posts[provinces == "西藏自治区"].sum() <= 90_000
    assert r.posts[provinces == "广东省"].sum() >= 420_000
    assert not r.problem.violated(r.posts.astype(float))
    assert "group_max:西藏自治区" in r.binding and "group_min:广东省" in r.binding
    assert r.repair is None or r.repair.within_one_post


def test_studies_fall_back_to_the_lp_path_and_match_a_run():
    fast = FastAllocator.from_model(HARBIN_C)
    assert not fast.closed_form
    weights = np.random.default_rng(3).dirichlet(np.full(4, 3.0), 3)
    posts = fast.posts(weights)
    for row, w in enumerate(weights):
        run = allocate(HARBIN_C, weights=dict(zip(fast.names, w, strict=True)))
        assert np.array_equal(run.posts, posts[row])


def test_a_pace_of_change_keeps_the_bounded_groups(tmp_path):
    from allocator.pipeline.transition import plan_transition

    model = _small_model(tmp_path, "[groups.rural]\nmax_cut = 0.2\n\n[transition]\nyears = 3\n"
                                   "departure_rate = 0.1\n\n[transition.pace]\nmax_cut = 0.1\n")
    plan = plan_transition(model)
    rural = np.array([g == "rural" for g in plan.table.groups])
    assert np.all(plan.pace.quota[1:, rural].sum(axis=1) >= math.ceil(0.8 * 620))


def test_validate_lists_the_general_constraints():
    from allocator.pipeline.validate import validate

    lines = validate(HARBIN_C).lines()
    assert lines[-2] == ("3 general constraints (group:county, equal_cut:district,county, "
                         "constraint:core districts keep their service base) can hold together "
                         "with the bounds and totals")


def test_nested_fixed_totals_that_exceed_their_parent_cannot_hold(tmp_path):
    model = _small_model(tmp_path, '[groups.rural]\ntotal = 300\n[groups."rural/s"]\ntotal = 250\n'
                                   '[groups."rural/n"]\ntotal = 100\n', group='["kind", "region"]')
    with pytest.raises(InfeasibleError, match="the groups nested in group 'rural' have fixed totals "
                                              "adding up to 350 but group 'rural' must total 300"):
        prepare(model)


def test_highs_and_cbc_give_the_same_whole_posts_on_the_harbin_constraints_model(harbin_c):
    cbc = allocate(HARBIN_C, solver="cbc")
    assert np.array_equal(cbc.posts, harbin_c.posts)
    assert np.max(np.abs(cbc.exact - harbin_c.exact)) < 1e-6
    assert cbc.binding == harbin_c.binding


def test_highs_and_cbc_give_the_same_whole_posts_on_the_national_model_with_provinces():
    # Rows in posts (sums of millions, hundreds of nearly parallel pieces) made CBC's simplex
    # report levels of 2.09 or 4.46 where the optimum is 0.372; scaled rows give the optimum.
    highs, cbc = allocate(CHINA_P), allocate(CHINA_P, solver="cbc")
    assert cbc.fair.levels == pytest.approx(highs.fair.levels, rel=1e-6)
    assert np.array_equal(cbc.posts, highs.posts) and cbc.binding == highs.binding


# ------------------------------------------------------------------------------------------
# With main's features: group shares, bounded rounding labels, reports, overrides
# ------------------------------------------------------------------------------------------


def test_a_group_share_and_a_bounded_group_live_together(tmp_path):
    model = _small_model(tmp_path, "[groups.rural]\nshare = 0.6\n[groups.city]\nmax_cut = 0.1\n")
    result = allocate(model)
    assert result.spec.group_totals() == {"rural": 600}
    assert [(p.name, p.total) for p in result.problem.pools] == [("rural", 600), ("", 400)]
    [row] = result.problem.constraints
    assert row.lower_name == "group_max_cut:city" and row.lower == math.ceil(0.9 * 380)
    assert result.posts[2:].sum() == 600 and result.posts[:2].sum() >= 342
    with pytest.raises(InputError, match="groups.city: give a fixed share or bounds"):
        prepare(_small_model(tmp_path, "[groups.city]\nshare = 0.4\nmax = 500\n"))


def test_nested_shares_are_rounded_level_by_level(tmp_path):
    model = _small_model(tmp_path, '[groups.rural]\nshare = 0.6\n[groups."rural/s"]\nshare = 0.4\n'
                                   '[groups."city/n"]\nmax = 150\n', group='["kind", "region"]')
    ready = prepare(model)
    assert ready.spec.group_totals() == {"rural": 600, "rural/s": 400}
    assert {p.name: p.total for p in ready.problem.pools} == {"rural": 200, "rural/s": 400, "": 400}
    with pytest.raises(InputError, match=r"groups: the shares of level 2 \(region\) add up to 1.1"):
        prepare(_small_model(tmp_path, '[groups."rural/s"]\nshare = 0.6\n[groups."rural/n"]\n'
                                       'share = 0.5\n', group='["kind", "region"]'))


def test_a_nested_pool_that_cannot_hold_names_its_own_total(tmp_path):
    model = _small_model(tmp_path, '[bounds]\nceiling = 190\n[groups.rural]\ntotal = 600\n'
                                   '[groups."rural/s"]\ntotal = 380\n', group='["kind", "region"]')
    with pytest.raises(InfeasibleError) as info:
        prepare(model)
    # U3 is rural's only unit outside rural/s: 600 - 380 = 220 posts, at most 190 by its ceiling.
    assert ("the units of group 'rural' outside its nested fixed-total groups must total 220 "
            "(its total 600 less theirs)") in str(info.value)
    assert "lower the total of group 'rural' to 570" in str(info.value)


def test_a_units_own_bound_is_named_only_where_its_whole_posts_sit_at_it():
    from allocator.core.constraints import constrained_binding

    cap_b = LinearConstraint("constraint:b", "constraint:b", np.array([1]), np.array([1.0]),
                             -np.inf, 30.0)
    p = Problem(ids=("a", "b", "c"), target=np.array([20.0, 40.0, 40.0]),
                lower=np.array([25.0, 0, 0]), upper=np.full(3, np.inf),
                lower_rule=("floor", "", ""), upper_rule=("", "", ""),
                pools=(Pool("", np.arange(3), 100),), total=100, constraints=(cap_b,))
    x = solve_fair(p, "highs").exact
    assert constrained_binding(p, x)[0] == ("floor", "constraint:b", "")
    assert constrained_binding(p, x, np.array([25, 30, 45]))[0] == ("floor", "constraint:b", "")
    # Rounding that moves a off its floor removes the label; the constraint's stays.
    assert constrained_binding(p, x, np.array([26, 30, 44]))[0] == ("", "constraint:b", "")


def test_the_published_labels_of_the_constraints_models_sit_at_their_bounds(harbin_c):
    r = harbin_c
    for i, rule in enumerate(r.binding):
        if rule and rule == r.problem.lower_rule[i]:
            assert r.posts[i] == r.problem.lower[i]
        if rule and rule == r.problem.upper_rule[i]:
            assert r.posts[i] == r.problem.upper[i]


def test_the_report_names_the_rules_in_words(harbin_c):
    from allocator.report.build import build_report

    report = build_report(harbin_c)
    method = " ".join(p.en for p in report.method)
    assert "counties together: at most 35% below their current posts" in method
    assert "at least 35 posts per 10,000 of resident population" in method
    assert "the cuts of districts and counties differ by at most 5 percentage points" in method
    assert ("named constraint 'Core districts keep their service base': Daoli + Nangang + Daowai "
            "≥ 12,000") in method  # by its label in the model file
    assert "as few posts as possible are moved" in method
    comparison = next(t for t in report.tables if t.key == "comparison")
    column = [c.key for c in comparison.columns].index("binding")
    held = {row.values[column].en for row in comparison.rows
            if row.values[column] and hasattr(row.values[column], "en")}
    assert {"Equal-cut rule: Districts, Counties", "Named constraint: Core districts keep their "
            "service base", "Floor per 10,000", "Largest cut", "Floor"} <= held
    assert not any(":" in text.split(": ")[0] for text in held)  # no raw key such as equal_cut:
    assert any("or the constraint (group bound, equal-cut rule, named constraint)" in note.en
               for _, note in comparison.column_notes)
    inputs = next(t for t in report.tables if t.key == "inputs")
    rules = [row.values[1].en for row in inputs.rows if row.values[0].en == "Rule"]
    assert len(rules) == 4


def test_the_report_of_a_model_with_group_shares_states_them(tmp_path):
    from allocator.report.build import build_report

    result = allocate(_small_model(tmp_path, "[groups.rural]\nshare = 0.6\n"))
    method = " ".join(p.en for p in build_report(result).method)
    assert "group totals: rural 600 posts (60% of the allocatable posts)" in method


def test_a_group_total_override_fixes_a_bounded_group(tmp_path):
    model = _small_model(tmp_path, "[groups.rural]\nmax_cut = 0.2\n[groups.city]\ntotal = 400\n")
    result = allocate(model, group_totals={"rural": 600})
    assert result.spec.group_totals() == {"city": 400, "rural": 600}
    assert not result.problem.constraints and result.posts[2:].sum() == 600
    with pytest.raises(InputError, match=r"no such group 'rurall' \(did you mean 'rural'\?\) "
                                         r"\(groups with fixed totals: city; with bounded totals: "
                                         r"rural\)"):
        allocate(model, group_totals={"rurall": 550})
