"""The fair allocation: lexicographic min-max of |x_i/t_i - 1| by the LP sequence and by the
certified closed form, against independent oracles."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.core.fair import lp_sequence, solve_fair
from allocator.core.waterfill import binding_rules, pool_lambdas, water_fill
from allocator.errors import InfeasibleError

from .support import make_problem


def bisection_fill(t, lo, hi, total):
    """Independent oracle: bisection on lambda for sum(clip(lambda*t, lo, hi)) == total."""
    a, b = 0.0, 1.0
    while np.clip(b * t, lo, hi).sum() < total:
        b *= 2
    for _ in range(200):
        mid = 0.5 * (a + b)
        if np.clip(mid * t, lo, hi).sum() < total:
            a = mid
        else:
            b = mid
    return np.clip(b * t, lo, hi)


@pytest.fixture(params=["auto", "lp"])
def method(request):
    """Both paths: the certified closed form and the LP sequence."""
    return request.param


def test_hand_solved_floor_takes_posts_from_everyone_in_proportion(method):
    # Targets 10, 30, 60 of 100; unit a has floor 20. The 10 extra posts come from b and c in
    # proportion to their targets: lambda = 80/90, so b = 26.667, c = 53.333.
    p = make_problem([10, 30, 60], lower=[20, 0, 0])
    x = solve_fair(p, method=method).exact
    assert x.tolist() == pytest.approx([20, 80 / 90 * 30, 80 / 90 * 60], abs=1e-7)
    assert binding_rules(p, x) == ("floor", "", "")


def test_hand_solved_ceiling_and_floor_together(method):
    # Targets 50, 30, 20 of 100. Ceiling 40 on a frees 10 posts; floor 25 on c takes 5 of them.
    # b is the only free unit: b = 100 - 40 - 25 = 35, lambda = 35/30.
    p = make_problem([50, 30, 20], lower=[0, 0, 25], upper=[40, np.inf, np.inf])
    x = solve_fair(p, method=method).exact
    assert x.tolist() == pytest.approx([40, 35, 25], abs=1e-7)
    assert pool_lambdas(p, x) == {"": pytest.approx(35 / 30)}
    assert binding_rules(p, x) == ("ceiling", "", "floor")


def test_unbounded_solution_is_the_target(method):
    p = make_problem([12.5, 37.5, 50])
    assert solve_fair(p, method=method).exact.tolist() == pytest.approx([12.5, 37.5, 50], abs=1e-9)


def test_fixed_groups_get_one_lambda_each(method):
    p = make_problem([10, 30, 40, 20], pools=[([0, 1], 60), ([2, 3], 40)])
    x = solve_fair(p, method=method).exact
    assert x.tolist() == pytest.approx([15, 45, 40 * 40 / 60, 20 * 40 / 60], abs=1e-7)
    assert pool_lambdas(p, x) == {"g0": pytest.approx(1.5), "g1": pytest.approx(2 / 3)}


def test_not_an_l1_optimum_the_cut_is_shared_not_dumped_on_one_unit(method):
    # An L1 objective is indifferent to who pays for the floor; the fair rule spreads it evenly.
    p = make_problem([5, 45, 50], lower=[15, 0, 0])
    x = solve_fair(p, method=method).exact
    assert x[1] / 45 == pytest.approx(x[2] / 50, abs=1e-9)


def test_many_floor_held_units_need_few_lps():
    # 200 small units each held at a floor, each with its own deviation: the LP count must not
    # grow with the number of held units.
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(1, 9, 200), rng.uniform(50, 100, 50)])
    total = int(round(t.sum()))
    lower = np.where(np.arange(250) < 200, 10.0, 0.0)
    p = make_problem(t, lower=lower, pools=[(np.arange(250), total)])
    fair = lp_sequence(p)  # without the closed form's hint: the held set found by arithmetic
    assert np.abs(fair.exact - water_fill(p)).max() < 1e-6
    assert fair.lp_solves <= 6
    assert solve_fair(p, method="lp").lp_solves == len(solve_fair(p, method="lp").levels)


def test_lp_count_grows_slowly_when_many_units_are_held_on_both_sides():
    # 400 units, ~40% with floors (many above target) and ~40% with ceilings, and a total that
    # lifts the common ratio above most floors: every held unit has its own deviation.
    rng = np.random.default_rng(5)
    n = 400
    t = rng.lognormal(3, 1.2, n)
    lo = np.where(rng.random(n) < 0.4, np.floor(t * rng.uniform(0.3, 3, n)), 0.0)
    hi = np.where(rng.random(n) < 0.4, np.ceil(np.maximum(lo, t * rng.uniform(0.2, 2.5, n))),
                  np.inf)
    p = make_problem(t, lo, hi, [(np.arange(n), int(lo.sum() + 1.5 * t.sum()))])
    fair = lp_sequence(p)
    assert np.abs(fair.exact - water_fill(p)).max() < 1e-6
    held = int(np.sum((fair.exact <= lo + 1e-7) | (fair.exact >= hi - 1e-7)))
    assert held > 100
    assert fair.lp_solves <= 15
    hinted = solve_fair(p, method="lp")  # the held set from the closed form: one LP per level
    assert hinted.lp_solves == len(hinted.levels) == 1
    assert np.abs(hinted.exact - fair.exact).max() < 1e-9 * float(t.max())


@st.composite
def bounded_problems(draw):
    n = draw(st.integers(2, 10))
    t = np.array(draw(st.lists(st.floats(1, 1000), min_size=n, max_size=n)))
    lo = np.array([draw(st.sampled_from([0.0, float(np.floor(v * draw(st.floats(0.2, 2.5))))]))
                   for v in t])
    hi = np.array([draw(st.sampled_from([np.inf, float(np.ceil(max(lo[i], t[i] *
                   draw(st.floats(0.3, 3.0)))))])) for i in range(n)])
    n_groups = draw(st.integers(1, 3))
    labels = np.array(draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n)))
    pools = []
    for g in range(n_groups):
        members = np.flatnonzero(labels == g)
        if members.size == 0:
            continue
        low, high = lo[members].sum(), hi[members].sum()
        top = min(high, low + 2 * t[members].sum() + 10)
        pools.append((members, int(draw(st.integers(int(np.ceil(low)), int(np.floor(top)))))))
    return make_problem(t, lower=lo, upper=hi, pools=pools)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bounded_problems())
def test_lp_equals_closed_form_and_bisection_oracle(p):
    lp = lp_sequence(p).exact
    closed = water_fill(p)
    oracle = np.empty(len(p))
    for pool in p.pools:
        m = pool.members
        oracle[m] = bisection_fill(p.target[m], p.lower[m], p.upper[m], pool.total)
    scale = max(1.0, float(p.target.max()))
    assert np.abs(lp - closed).max() <= 1e-6 * scale
    assert np.abs(closed - oracle).max() <= 1e-7 * scale
    for pool in p.pools:
        assert lp[pool.members].sum() == pytest.approx(pool.total, abs=1e-6 * pool.total)
    assert np.all(lp >= p.lower - 1e-7) and np.all(lp <= p.upper + 1e-7)


@settings(max_examples=15, deadline=None)
@given(bounded_problems())
def test_cbc_gives_the_same_fair_solution_as_highs(p):
    highs = solve_fair(p, "highs", method="lp").exact
    cbc = solve_fair(p, "cbc", method="lp").exact
    assert np.abs(highs - cbc).max() <= 1e-5 * max(1.0, float(p.target.max()))


@pytest.mark.parametrize("method", ["auto", "lp"])
def test_infeasible_bounds_are_reported(method):
    p = make_problem([10, 10], lower=[15, 15], pools=[([0, 1], 20)])
    with pytest.raises(InfeasibleError, match="floors of the units add up to 30 posts but the cap is 20"):
        solve_fair(p, method=method)


def test_lp_sequence_without_a_hint_reports_infeasible_totals_too():
    p = make_problem([10, 10], lower=[15, 15], pools=[([0, 1], 20)])
    with pytest.raises(InfeasibleError, match="floors of the units add up to 30 posts"):
        lp_sequence(p)


def test_the_path_that_ran_is_recorded():
    p = make_problem([10, 30, 60], lower=[20, 0, 0])
    closed, lp = solve_fair(p), solve_fair(p, method="lp")
    assert (closed.path, closed.lp_solves) == ("closed_form", 0)
    assert lp.path == "lp" and lp.lp_solves >= 1
    assert closed.certificate.ok and lp.certificate.ok


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown solve method"):
        solve_fair(make_problem([1.0, 2.0]), method="simplex")
