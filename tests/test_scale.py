"""The fast path at scale: the certified closed form equals the LP sequence, and the certificate
rejects what is not the fair allocation."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.core import fair as fair_module
from allocator.core.certify import Certificate, certify, reduces_to_closed_form
from allocator.core.fair import solve_fair
from allocator.core.problem import Pool
from allocator.core.rounding import METHODS, round_allocation
from allocator.core.waterfill import binding_rules
from allocator.pipeline.allocate import prepare

from .support import CHINA, HARBIN, ROOT, make_problem, run_cli


@st.composite
def lognormal_problems(draw):
    """Lognormal targets, floors and ceilings holding about a third of the units, 1 to 4 pools."""
    n = draw(st.integers(2, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = rng.lognormal(3, 1.2, n)
    lo = np.where(rng.random(n) < 0.35, np.floor(t * rng.uniform(0.5, 2.5, n)), 0.0)
    hi = np.where(rng.random(n) < 0.35, np.ceil(np.maximum(lo, t * rng.uniform(0.3, 1.6, n))),
                  np.inf)
    labels = rng.integers(0, draw(st.integers(1, 4)), n)
    pools = []
    for g in np.unique(labels):
        m = np.flatnonzero(labels == g)
        low, high = lo[m].sum(), hi[m].sum()
        scale = draw(st.floats(0.6, 1.6))
        total = int(np.clip(round(scale * t[m].sum()), np.ceil(low), np.floor(high)))
        pools.append((m, total))
    return make_problem(t, lo, hi, pools)


def assert_same(closed, lp, problem):
    scale = np.maximum(1.0, np.abs(lp.exact))
    assert np.max(np.abs(closed.exact - lp.exact) / scale) <= 1e-9
    for method in METHODS:
        assert round_allocation(problem, closed.exact, method).tolist() == \
            round_allocation(problem, lp.exact, method).tolist(), method
    assert binding_rules(problem, closed.exact) == binding_rules(problem, lp.exact)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lognormal_problems())
def test_closed_form_equals_the_lp_sequence_on_random_instances(problem):
    closed = solve_fair(problem)
    lp = solve_fair(problem, method="lp")
    assert closed.path == "closed_form" and closed.certificate.ok
    assert lp.path == "lp" and lp.certificate.ok
    assert_same(closed, lp, problem)


@pytest.mark.parametrize("model", [HARBIN, CHINA], ids=["harbin", "china"])
def test_closed_form_equals_the_lp_sequence_on_the_bundled_models(model):
    problem = prepare(model).problem
    closed = solve_fair(problem)
    lp = solve_fair(problem, method="lp")
    assert closed.path == "closed_form" and closed.lp_solves == 0
    assert lp.lp_solves == len(lp.levels)  # the held set from the closed form: one LP per level
    assert closed.lambdas == pytest.approx(lp.lambdas, rel=1e-12)
    assert_same(closed, lp, problem)


@pytest.mark.parametrize("groups", [1, 5])
def test_closed_form_equals_the_lp_sequence_on_a_synthetic_model(tmp_path, monkeypatch, groups):
    # The generator of the scale benchmark: lognormal units, about a third held by a bound.
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from synthetic import write_model

    problem = prepare(write_model(tmp_path, 600, groups=groups)).problem
    closed = solve_fair(problem)
    x = closed.exact
    held = np.mean((x <= problem.lower + 1e-7) | (x >= problem.upper - 1e-7))
    assert 0.25 <= held <= 0.4 and len(problem.pools) == groups
    assert_same(closed, solve_fair(problem, method="lp"), problem)


def test_cbc_confirms_the_closed_form_on_harbin():
    problem = prepare(HARBIN).problem
    assert_same(solve_fair(problem), solve_fair(problem, "cbc", method="lp"), problem)


def fair_problem():
    # Targets 10, 30, 60, 100 of 200: a has a floor of 20, d a ceiling of 90.
    return make_problem([10, 30, 60, 100], lower=[20, 0, 0, 0], upper=[np.inf] * 3 + [90],
                        pools=[(np.arange(4), 200)])


def test_the_certificate_accepts_the_fair_allocation():
    p = fair_problem()
    x = solve_fair(p).exact
    assert x.tolist() == pytest.approx([20, 30, 60, 90])
    cert = certify(p, x)
    assert cert.ok and cert.worst <= 1e-12
    assert set(cert.as_dict()) == {"totals", "bounds", "ratio", "held", "tolerance", "worst", "ok"}


@pytest.mark.parametrize(("change", "violated"), [
    ([0, 1e-3, -1e-3, 0], "ratio"),     # free units off the common ratio (totals still exact)
    ([0, 0, 1e-3, 0], "totals"),        # a total missed
    ([-1e-3, 0, 1e-3, 0], "bounds"),    # a floor broken
])
def test_the_certificate_rejects_a_perturbed_solution(change, violated):
    p = fair_problem()
    x = solve_fair(p).exact + np.array(change)
    cert = certify(p, x)
    assert not cert.ok
    assert getattr(cert, violated) > cert.tolerance


@pytest.mark.parametrize(("lower", "upper", "x"), [
    ([5, 0, 0], [np.inf] * 3, [5, 95 / 3, 190 / 3]),   # held at a floor it does not need
    ([0, 0, 0], [np.inf, np.inf, 70], [7.5, 22.5, 70]),  # held at a ceiling it does not reach
])
def test_a_unit_held_at_a_bound_on_the_wrong_side_of_the_ratio_is_caught(lower, upper, x):
    # The free units share one ratio and every bound and total holds, yet the held unit would
    # get more (fewer) posts at that ratio than its floor (ceiling): not the fair allocation.
    p = make_problem([10, 30, 60], lower=lower, upper=upper, pools=[(np.arange(3), 100)])
    cert = certify(p, np.array(x, dtype=float))
    assert cert.totals == cert.bounds == cert.ratio == 0
    assert cert.held > 0.3 and not cert.ok


def test_a_unit_released_from_a_bound_it_should_hold_is_caught():
    # Lowering d below its ceiling (to 85) and giving the 5 posts to b and c keeps every bound
    # and the total, but d is then neither at its ceiling nor at the common ratio.
    p = fair_problem()
    x = np.array([20.0, 30 + 5 * 30 / 90, 60 + 5 * 60 / 90, 85.0])
    cert = certify(p, x)
    assert not cert.ok and cert.ratio > 1e-3


def test_a_failed_certificate_falls_back_to_the_lp_sequence(monkeypatch):
    p = fair_problem()
    failing = Certificate(totals=0.0, bounds=0.0, ratio=1.0, held=0.0)
    monkeypatch.setattr(fair_module, "certify", lambda problem, exact: failing)
    fair = solve_fair(p)
    assert fair.path == "lp" and fair.lp_solves >= 1
    assert fair.exact.tolist() == pytest.approx([20, 30, 60, 90])


def test_a_problem_without_the_closed_form_structure_is_solved_by_lps():
    p = fair_problem()
    overlapping = dataclasses.replace(p, pools=(Pool("", np.arange(4), 200),
                                                Pool("g", np.array([0]), 20)))
    assert reduces_to_closed_form(p) and not reduces_to_closed_form(overlapping)


def test_fixed_units_need_no_condition():
    # c is fixed at 50 by equal bounds, far from the common ratio: still fair.
    p = make_problem([10, 30, 60], lower=[0, 0, 50], upper=[np.inf, np.inf, 50],
                     pools=[(np.arange(3), 90)])
    fair = solve_fair(p)
    assert fair.path == "closed_form"
    assert fair.exact.tolist() == pytest.approx([10, 30, 50])


def reference_binding(problem, exact):
    """The per-unit loop of binding_rules before vectorisation (oracle)."""
    from allocator.core.waterfill import pool_lambdas

    lambdas = pool_lambdas(problem, exact)
    rules = [""] * len(problem)
    for pool in problem.pools:
        lam = lambdas[pool.name]
        for i in pool.members:
            ratio = exact[i] / problem.target[i]
            at_low = exact[i] <= problem.lower[i] + 1e-7 and problem.lower_rule[i]
            at_high = exact[i] >= problem.upper[i] - 1e-7 and problem.upper_rule[i]
            if at_low and (lam is None or ratio > lam + 1e-9):
                rules[i] = problem.lower_rule[i]
            elif at_high and (lam is None or ratio < lam - 1e-9):
                rules[i] = problem.upper_rule[i]
    return tuple(rules)


@settings(max_examples=40, deadline=None)
@given(lognormal_problems())
def test_vectorised_binding_rules_equal_the_per_unit_loop(problem):
    exact = solve_fair(problem).exact
    assert binding_rules(problem, exact) == reference_binding(problem, exact)
    # Every unit pinned at a bound (no lambda in its pool) too.
    pinned = np.where(np.isfinite(problem.upper), problem.upper, problem.lower)
    assert binding_rules(problem, pinned) == reference_binding(problem, pinned)


def test_run_check_lp_re_solves_by_lps_and_records_the_certified_path(tmp_path):



    out = tmp_path / "harbin"
    result = run_cli("run", str(HARBIN), "--check-lp", "--quiet", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "LP check: the LP sequence" in result.output and "the same whole posts" in result.output
    import json

    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["path"] == "closed_form" and record["certificate"]["ok"] is True
    assert record["status"].startswith("optimal: closed form")
