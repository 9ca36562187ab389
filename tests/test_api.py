"""End-to-end properties of allocate(): what a user relies on."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator import allocate
from allocator.choices import Rounding
from allocator.core.waterfill import water_fill
from allocator.errors import InputError
from allocator.overrides import Overrides
from allocator.pipeline import prepare, solve

from .support import CHINA, HARBIN, write_csv, write_model


def test_harbin_model_meets_cap_group_totals_and_bounds():
    result = allocate(HARBIN)
    frame = result.frame()
    assert frame["allocation"].sum() == 60806
    totals = frame.groupby("group")["allocation"].sum().to_dict()
    assert totals == {"district": 27711, "county": 33095}
    assert np.all(result.posts >= result.problem.lower)
    assert np.all(result.posts <= result.problem.upper)
    assert np.all(frame["allocation"] >= 1500)
    assert np.all(frame["allocation"] >= np.ceil(0.55 * frame["actual"]) - 1e-9)
    assert np.all(np.abs(frame["allocation"] - frame["exact"]) < 1)
    assert set(result.lambdas) == {"district", "county"}
    # Units that no bound holds share their group's lambda.
    free = frame[frame["binding"] == ""]
    for group, rows in free.groupby("group"):
        ratios = rows["exact"] / rows["target"]
        assert ratios.to_numpy() == pytest.approx(result.lambdas[group], rel=1e-9)


def test_harbin_targets_add_up_to_the_cap_and_components_to_targets():
    result = allocate(HARBIN)
    assert result.problem.target.sum() == pytest.approx(60806)
    summed = sum(result.components.values())
    assert summed == pytest.approx(result.problem.target)


def test_national_model_runs_and_matches_the_closed_form():
    result = allocate(CHINA)
    assert len(result.table) == 2810
    assert result.posts.sum() == 6_000_000
    assert np.all(result.posts >= 300)
    assert np.abs(result.fair.exact - water_fill(result.problem)).max() < 1e-6


def _random_table(draw, tmp_path):
    n = draw(st.integers(3, 9))
    rows = []
    for i in range(n):
        rows.append([f"R{i}", draw(st.sampled_from(["a", "b"])), draw(st.integers(1, 10_000)),
                     draw(st.integers(1, 500)), draw(st.integers(10, 400))])
    write_csv(tmp_path / "t.csv", ["code", "grp", "pop", "area", "posts"], rows)
    return rows


@st.composite
def models(draw):
    return {
        "cap": draw(st.integers(200, 3000)),
        "w_pop": draw(st.floats(0.01, 1)),
        "w_area": draw(st.floats(0, 1)),
        "floor": draw(st.sampled_from([None, 5, 20])),
        "max_cut": draw(st.sampled_from([None, 0.5, 0.9])),
        "rounding": draw(st.sampled_from(["hamilton", "webster", "dhondt", "huntington-hill"])),
        "seed": draw(st.integers(0, 2**16)),
    }


def _write(tmp_path, params, rows, name="m.toml"):
    write_csv(tmp_path / "t.csv", ["code", "grp", "pop", "area", "posts"], rows)
    bounds = {k: params[k] for k in ("floor", "max_cut") if params[k] is not None}
    return write_model(tmp_path / name, {
        "name": "random", "data": "t.csv", "id": "code", "group": "grp", "actual": "posts",
        "cap": params["cap"], "rounding": params["rounding"],
        "indicators": {"pop": {"column": "pop", "weight": params["w_pop"]},
                       "area": {"column": "area", "weight": params["w_area"], "transform": "sqrt"}},
        "bounds": bounds,
    })


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=models(), data=st.data())
def test_properties_total_bounds_quota_permutation_and_weight_scale(tmp_path, params, data):
    from allocator.errors import InfeasibleError

    n = data.draw(st.integers(3, 9))
    rows = [[f"R{i}", data.draw(st.sampled_from(["a", "b"])), data.draw(st.integers(1, 10_000)),
             data.draw(st.integers(1, 500)), data.draw(st.integers(10, 400))] for i in range(n)]
    try:
        base = allocate(_write(tmp_path, params, rows))
    except InfeasibleError:
        return
    posts = base.posts
    assert posts.sum() == params["cap"]
    assert np.all(posts >= base.problem.lower) and np.all(posts <= base.problem.upper)
    if params["rounding"] == "hamilton":
        assert np.all(np.abs(posts - base.fair.exact) < 1 + 1e-9)
    # Permuting the rows permutes nothing in the result.
    order = np.random.default_rng(params["seed"]).permutation(n)
    shuffled = allocate(_write(tmp_path, params, [rows[i] for i in order], "p.toml"))
    pd.testing.assert_frame_equal(shuffled.frame(), base.frame())
    # Scaling every weight of the model file by a constant changes nothing (they are relative).
    scaled = allocate(_write(tmp_path, {**params, "w_pop": params["w_pop"] * 7,
                                        "w_area": params["w_area"] * 7}, rows, "s.toml"))
    assert scaled.posts.tolist() == posts.tolist()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=models(), data=st.data())
def test_highs_and_cbc_give_the_same_whole_posts(tmp_path, params, data):
    from allocator.errors import InfeasibleError

    n = data.draw(st.integers(3, 8))
    rows = [[f"R{i}", "a", data.draw(st.integers(1, 10_000)), data.draw(st.integers(1, 500)),
             data.draw(st.integers(10, 400))] for i in range(n)]
    model = _write(tmp_path, params, rows)
    try:
        highs = allocate(model, solver="highs")
    except InfeasibleError:
        return
    cbc = allocate(model, solver="cbc")
    assert cbc.posts.tolist() == highs.posts.tolist()
    assert cbc.solver == "cbc" and highs.solver == "highs"


@pytest.mark.parametrize("model", [HARBIN, CHINA], ids=["harbin", "china"])
def test_bundled_models_are_the_same_with_cbc(model):
    highs, cbc = allocate(model), allocate(model, solver="cbc")
    assert cbc.posts.tolist() == highs.posts.tolist()
    assert np.abs(cbc.fair.exact - highs.fair.exact).max() < 1e-9


def test_overrides_are_recorded(small_model):
    result = allocate(small_model, weights={"area": 1}, cap=900, rounding="webster")
    assert result.spec.cap == 900 and result.spec.rounding == "webster"
    assert result.overrides == Overrides(weights={"area": 1}, cap=900, rounding="webster")
    assert result.overrides.as_dict() == {"weights": {"area": 1}, "cap": 900, "rounding": "webster"}
    assert result.posts.sum() == 900
    assert allocate(small_model).overrides.is_empty


def test_prepare_then_solve_is_allocate(small_model):
    given = Overrides(weights={"area": 1}, rounding=Rounding.DHONDT)
    assert solve(prepare(small_model, given)).posts.tolist() == \
        allocate(small_model, weights={"area": 1}, rounding="dhondt").posts.tolist()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"weights": {"aera": 1}},
     "weights: no such indicator 'aera' (did you mean 'area'?) (indicators: pop, area)"),
    ({"cap": 0}, "{model}: cap: must be greater than 0 (got 0) (with overrides cap 0)"),
    ({"weights": {"pop": 0, "area": 0}, "rounding": "webster"},
     "weights pop=0, area=0: every indicator is named, so the shares must add up to 1, not 0"),
    ({"solver": "gurobi"}, "solver 'gurobi': use one of highs, cbc"),  # not the model file's fault
])
def test_library_errors_speak_of_arguments_not_flags(small_model, overrides, message):
    with pytest.raises(InputError) as caught:
        allocate(small_model, **overrides)
    assert str(caught.value) == message.format(model=small_model)
    assert "--" not in str(caught.value)
