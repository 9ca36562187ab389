"""Transition plans: closed forms, max-min recruitment, invariants, pool, pace of change, files
and bad inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import allocate
from allocator.core.transition import (
    NEVER,
    Departures,
    project,
    share_recruitment,
    year_departures,
)
from allocator.errors import InfeasibleError, InputError
from allocator.outputs.transition import write_transition
from allocator.pipeline.transition import (
    FRAME_COLUMNS,
    SUMMARY_COLUMNS,
    plan_transition,
    with_transition,
)
from allocator.schema import load_model

from .support import HARBIN, transition_model, write_model

# -- core: closed forms -------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(rate=st.floats(0.01, 0.3), head=st.integers(20, 20_000), ratio=st.floats(0.2, 0.95),
       below=st.integers(0, 49))
def test_unlimited_recruitment_follows_the_closed_form(rate, head, ratio, below):
    quota = max(1, min(head - 1, int(head * ratio)))
    if rate * quota < 2:  # paths slower than 2 people a year near quota drift more than a year
        quota = math.ceil(2 / rate)
        if quota >= head:
            return
    years = math.ceil(math.log(quota / head) / math.log(1 - rate))
    p = project(np.array([quota, 50]), np.array([head, below]),
                Departures(rate=np.array([rate, rate])), years=years + 3, budget="unlimited")
    exact = np.maximum(quota, head * (1 - rate) ** np.arange(years + 4))
    assert np.all(np.abs(p.headcount[:, 0] - exact) <= 1)  # cumulative rounding: within one
    assert abs(int(p.reach_year()[0]) - years) <= 1
    assert p.reach_year()[1] == 1 and np.all(p.headcount[1:, 1] == 50)  # below quota: year 1


def test_cumulative_rounding_keeps_every_fraction():
    """0.4 expected leavers a year: one leaves in years 2 and 4, none is lost."""
    head, expected, out = np.array([10]), np.zeros(1), []
    for y in range(1, 6):
        d, expected = year_departures(Departures(rate=np.array([0.04])), y, head, expected)
        out.append(int(d[0]))
    assert out == [0, 1, 0, 1, 0]
    p = project(np.array([5]), np.array([10]), Departures(rate=np.array([0.3])), years=6,
                budget="unlimited")
    expected = 0.3 * p.headcount[:-1, 0].sum()
    assert abs(p.departures[:, 0].sum() - expected) <= 0.5 + 1e-9


# -- core: recruitment by the one ruler -----------------------------------------------------------


def greedy(after, quota, posts):
    """One post at a time to the unit with the lowest fill ratio (ties: the first unit)."""
    h = after.copy()
    for _ in range(posts):
        free = [i for i in range(len(h)) if h[i] < quota[i]]
        if not free:
            break
        i = min(free, key=lambda k: (h[k] / quota[k], k))
        h[i] += 1
    return h - after


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 45)), min_size=1, max_size=9),
       st.integers(0, 120))
def test_recruitment_is_the_greedy_max_min(units, posts):
    quota = np.array([q for q, _ in units])
    after = np.array([a for _, a in units])
    assert share_recruitment(after, quota, posts).tolist() == greedy(after, quota, posts).tolist()


def cities(max_units: int = 8):
    unit = st.tuples(st.integers(1, 300), st.integers(0, 400), st.floats(0.0, 0.25))
    return st.tuples(st.lists(unit, min_size=1, max_size=max_units),
                     st.one_of(st.just("departures"), st.just("unlimited"), st.integers(0, 60)),
                     st.integers(0, 80), st.integers(1, 12))


def run_city(city):
    units, budget, pool, years = city
    quota = np.array([q for q, _, _ in units])
    head = np.array([h for _, h, _ in units])
    rate = np.array([r for _, _, r in units])
    return project(quota, head, Departures(rate=rate), years=years, budget=budget, pool=pool), \
        budget, pool


@settings(max_examples=200, deadline=None)
@given(cities())
def test_limited_budget_is_max_min_and_used_exactly(city):
    p, budget, pool = run_city(city)
    owed = 0
    for y in range(1, p.years + 1):
        h, x, r = p.headcount[y], p.quota[y], p.recruited[y]
        for i in np.flatnonzero(h < x):  # below quota: no post could come from a fuller unit
            for j in np.flatnonzero(r >= 1):
                assert (h[j] - 1) * x[i] <= h[i] * x[j], (y, i, j)
        after = p.headcount[y - 1] - p.departures[y]
        demand = int(np.maximum(x - after, 0).sum())
        if budget == "unlimited":
            assert r.sum() == demand
            continue
        allowed = int(p.departures[y].sum()) if budget == "departures" else budget
        assert p.budget[y] == allowed
        assert r.sum() == min(demand, allowed + pool - owed)  # the budget is used when wanted
        owed = pool - int(p.pool_balance[y])


@settings(max_examples=200, deadline=None)
@given(cities())
def test_invariants_every_year(city):
    p, _, pool = run_city(city)
    for array in (p.quota, p.headcount, p.departures, p.recovered, p.recruited, p.lent,
                  p.repaid, p.pool_balance):
        assert array.dtype.kind == "i"
    prev, now = p.headcount[:-1], p.headcount[1:]
    above = prev > p.quota[1:]
    assert np.all(now[above] <= prev[above])  # headcount never rises in a unit above quota
    assert np.all(p.recovered <= p.departures)
    assert np.all(p.departures[1:] <= prev)
    assert np.all(now <= np.maximum(prev, p.quota[1:]))  # recruitment never passes the quota
    assert np.all(now == prev - p.departures[1:] + p.recruited[1:])
    assert np.all((p.pool_balance >= 0) & (p.pool_balance <= pool))


def test_pool_lends_and_is_repaid():
    p = project(np.array([60, 60]), np.array([100, 20]), Departures(rate=np.array([0.1, 0.1])),
                years=8, budget="departures", pool=15)
    assert p.departures[1].tolist() == [10, 2] and p.recruited[1].tolist() == [0, 27]
    assert (p.lent[1], p.pool_balance[1]) == (15, 0)
    assert p.departures[2].tolist() == [9, 5] and p.recruited[2].tolist() == [0, 14]
    assert p.departures[3].tolist() == [8, 5] and p.recruited[3].tolist() == [0, 11]
    assert (p.repaid[3], p.pool_balance[3]) == (2, 2)
    assert p.pool_balance[-1] == 15 and p.lent.sum() == p.repaid.sum() == 15
    without = project(np.array([60, 60]), np.array([100, 20]),
                      Departures(rate=np.array([0.1, 0.1])), years=1, budget="departures")
    assert without.recruited[1].tolist() == [0, 12]


def test_fixed_departures_then_the_rate():
    fixed = np.array([[5, 0], [0, 3]])
    p = project(np.array([50, 50]), np.array([60, 50]),
                Departures(rate=np.array([0.1, 0.0]), fixed=fixed), years=3, budget="unlimited")
    assert p.departures[1:].tolist() == [[5, 0], [0, 3], [6, 0]]
    assert p.headcount[1:].tolist() == [[55, 50], [55, 50], [50, 50]]


# -- pipeline -----------------------------------------------------------------------------------


def test_plan_rows_add_up_to_the_summary(tmp_path):
    model = transition_model(tmp_path, transition="years = 30\ndeparture_rate_column = 'rate'\n"
                                                   "recruitment = 45\npool = 10\n")
    plan = plan_transition(model)
    frame, summary = plan.frame(), plan.summary_frame()
    assert tuple(frame.columns) == FRAME_COLUMNS and tuple(summary.columns) == SUMMARY_COLUMNS
    sums = frame.groupby("year")[["quota", "headcount", "departures", "recovered", "recruited",
                                  "transitional"]].sum()
    for column in sums.columns:
        assert sums[column].tolist() == summary[column].tolist()
    assert (frame["quota"] == np.tile(plan.allocation.posts, 31)).all()
    assert frame.loc[frame["year"] == 0, "headcount"].tolist() == [120, 260, 150, 200, 270]
    for column in ("quota", "headcount", "departures", "recovered", "recruited", "transitional"):
        assert pd.api.types.is_integer_dtype(frame[column])
    reach = plan.reach_frame()
    assert reach["reach_year"].notna().all() and reach["change"].sum() == 0


def test_options_override_the_model_table(tmp_path):
    model = transition_model(tmp_path, transition="years = 5\ndeparture_rate_column = 'rate'\n")
    spec = with_transition(load_model(model), {"departure_rate": 0.1, "years": None})
    assert spec.transition.years == 5 and spec.transition.departure_rate == 0.1
    assert spec.transition.departure_rate_column is None
    plan = plan_transition(model, {"years": 40, "recruitment": "unlimited"})
    assert plan.years == 40 and plan.settings.departure_rate_column == "rate"


def test_departures_columns_in_the_model(tmp_path):
    model = transition_model(tmp_path, transition="years = 2\n"
                                                   "departures_columns = ['leave1', 'leave2']\n")
    plan = plan_transition(model, allow_unfinished=True)
    assert plan.projection.departures[1:].tolist() == [[3, 9, 8, 1, 6], [2, 10, 7, 4, 6]]


def test_harbin_plan_and_files(tmp_path):
    plan = plan_transition(HARBIN, {"years": 15, "departure_rate": 0.05, "pool": 300})
    summary = plan.summary_frame()
    assert summary["transitional"].iloc[-1] == 0
    assert summary["headcount"].is_monotonic_decreasing  # the budget is the year's departures
    out = write_transition(plan, tmp_path / "out")
    raw = (out / "transition.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and (out / "transition_summary.csv").read_bytes() \
        .startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out / "transition.csv", encoding="utf-8-sig", dtype={"id": str})
    assert tuple(frame.columns) == FRAME_COLUMNS and len(frame) == 16 * 18
    assert frame.loc[0, "label"] == "道里区"
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["command"] == "transition" and record["model"]["transition"]["pool"] == 300
    assert record["transition"]["transitional_last_year"] == 0
    write_transition(plan, tmp_path / "out")  # the same model's results may be replaced


# -- pace of change -----------------------------------------------------------------------------


def test_pace_each_year_is_allocate_on_that_years_inputs(tmp_path):
    model = transition_model(tmp_path, transition=(
        "years = 4\ndeparture_rate = 0.05\nrecruitment = 'unlimited'\n"
        "[transition.pace]\ncaps = [980, 960, 950]\nmax_cut = 0.08\nmax_increase = 0.1\n"),
        bounds={"floor": 100})
    plan = plan_transition(model, allow_unfinished=True)
    assert plan.pace.caps == (980, 960, 950, 950)
    assert plan.pace.quota[0].tolist() == [120, 260, 150, 200, 270]
    rows = pd.read_csv(tmp_path / "units.csv", dtype=str)
    for year in range(1, 5):
        rows["posts"] = plan.pace.quota[year - 1]
        folder = tmp_path / f"y{year}"
        folder.mkdir()
        rows.to_csv(folder / "units.csv", index=False)
        year_model = write_model(folder / "m.toml", {
            "name": "y", "data": "units.csv", "id": "code", "group": "kind", "actual": "posts",
            "cap": plan.pace.caps[year - 1],
            "indicators": {"pop": {"column": "pop", "weight": 0.7},
                           "area": {"column": "area", "weight": 0.3, "transform": "sqrt"}},
            "bounds": {"floor": 100, "max_cut": 0.08, "max_increase": 0.1}})
        assert allocate(year_model).posts.tolist() == plan.pace.quota[year].tolist()
        assert plan.projection.quota[year].tolist() == plan.pace.quota[year].tolist()


def test_pace_with_groups_and_own_limits_ends_at_the_allocation(tmp_path):
    spec = load_model(HARBIN)
    plan = plan_transition(HARBIN, {"years": 12, "departure_rate": 0.05,
                                    "pace": {"max_cut": 0.1, "max_increase": 0.1}})
    assert plan.pace.quota[-1].tolist() == plan.allocation.posts.tolist()
    today = plan.pace.quota[0].astype(float)
    data = pd.read_csv(spec.data_path(), dtype=str)
    for year in (1, 6):  # the model's own limits (against today) as floor and ceiling columns
        data["posts_illustrative"] = plan.pace.quota[year - 1]
        data["today_floor"] = [repr(float(v)) for v in (1 - spec.bounds.max_cut) * today]
        data["today_ceiling"] = [repr(float(v)) for v in (1 + spec.bounds.max_increase) * today]
        data.to_csv(tmp_path / f"h{year}.csv", index=False)
        raw = spec.model_dump(exclude_none=True)
        raw.update(data=str(tmp_path / f"h{year}.csv"), cap=plan.pace.caps[year - 1],
                   groups={g: {"total": t} for g, t in plan.pace.groups[year - 1].items()},
                   bounds={"floor": 1500, "floor_column": "today_floor",
                           "ceiling_column": "today_ceiling", "max_cut": 0.1,
                           "max_increase": 0.1})
        raw.pop("transition", None)
        year_spec = type(spec).model_validate({**raw, "source": str(HARBIN)})
        assert allocate(year_spec).posts.tolist() == plan.pace.quota[year].tolist()


# -- bad inputs ---------------------------------------------------------------------------------


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "--" not in text, text
    return text


@pytest.mark.parametrize("rate", [1.0, 1.5, -0.1])
def test_departure_rate_outside_zero_one(tmp_path, rate):
    model = transition_model(tmp_path)
    with pytest.raises(InputError) as exc:
        plan_transition(model, {"departure_rate": rate})
    assert "departure_rate" in one_line(exc)
    (tmp_path / "bad.toml").write_text(model.read_text(encoding="utf-8") +
                                       f"[transition]\ndeparture_rate = {rate}\n", "utf-8")
    with pytest.raises(InputError, match="transition.departure_rate"):
        load_model(tmp_path / "bad.toml")


def test_departure_rate_column_outside_zero_one(tmp_path):
    model = transition_model(tmp_path, rows=[
        ["U1", "North", "city", 100, 10, 120, 1.2, 0, 0],
        ["U2", "South", "city", 300, 20, 260, 0.04, 0, 0]])
    with pytest.raises(InputError) as exc:
        plan_transition(model, {"departure_rate_column": "rate"})
    assert "U1" in one_line(exc) and "1.2" in one_line(exc)


def test_horizon_too_short_names_units_excess_and_year(tmp_path):
    model = transition_model(tmp_path)
    with pytest.raises(InfeasibleError) as exc:
        plan_transition(model, {"years": 2, "departure_rate": 0.05})
    text = one_line(exc)
    plan = plan_transition(model, {"years": 2, "departure_rate": 0.05}, allow_unfinished=True)
    late = np.flatnonzero(plan.projection.transitional[-1] > 0)
    i = int(late[np.argmax(plan.projection.transitional[-1][late])])
    excess = int(plan.projection.transitional[-1][i])
    assert f"{plan.table.ids[i]} {plan.table.labels[i]} by {excess}" in text
    assert f"reaches it in year {plan.reach_year()[i]}" in text and plan.reach_year()[i] > 2
    longer = plan_transition(model, {"years": int(plan.reach_year().max()),
                                     "departure_rate": 0.05})
    assert longer.projection.reach_year()[i] == plan.reach_year()[i]


def test_horizon_never_reached(tmp_path):
    with pytest.raises(InfeasibleError, match="not within 500 years"):
        plan_transition(transition_model(tmp_path), {"years": 3, "departure_rate": 0.0})


def test_negative_or_fractional_headcount(tmp_path):
    rows = [["U1", "North", "city", 100, 10, 120, 0.05, 0, 0],
            ["U2", "South", "city", 300, 20, 260, 0.04, 0, 0]]
    model = transition_model(tmp_path, rows=[r[:6] + [-3] + r[7:] for r in rows])
    with pytest.raises(InputError) as exc:
        plan_transition(model, {"headcount": "rate", "departure_rate": 0.1})
    assert "negative" in one_line(exc) and "transition.headcount" in one_line(exc)
    model = transition_model(tmp_path, rows=[r[:6] + [2.5] + r[7:] for r in rows])
    with pytest.raises(InputError, match="headcount 2.5 is not a whole number"):
        plan_transition(model, {"headcount": "rate", "departure_rate": 0.1})


def test_pool_larger_than_the_cap(tmp_path):
    with pytest.raises(InputError) as exc:
        plan_transition(transition_model(tmp_path), {"departure_rate": 0.1, "pool": 1001})
    assert "pool of 1,001 posts is larger than the cap (1,000)" in one_line(exc)


def test_other_bad_inputs(tmp_path):
    model = transition_model(tmp_path)
    with pytest.raises(InputError, match="no departures"):
        plan_transition(model)
    with pytest.raises(InputError, match="did you mean 'years'"):
        plan_transition(model, {"yeras": 3})
    with pytest.raises(InputError, match="2 years of departures but the plan has 10"):
        plan_transition(model, {"departures_columns": ["leave1", "leave2"]})
    with pytest.raises(InputError, match="recruitment"):
        plan_transition(model, {"departure_rate": 0.1, "recruitment": "some"})
    with pytest.raises(InputError, match="unit U1: 30 departures in year 1"):
        project(np.array([10]), np.array([20]), Departures(fixed=np.array([[30]])), years=1,
                ids=("U1",))
    no_actual = tmp_path / "na.toml"
    no_actual.write_text(model.read_text(encoding="utf-8").replace('actual = "posts"\n', ""),
                         encoding="utf-8")
    with pytest.raises(InputError, match="no headcount"):
        plan_transition(no_actual, {"departure_rate": 0.1})
    with pytest.raises(InfeasibleError) as exc:
        plan_transition(model, {"departure_rate": 0.1, "pace": {"caps": [700], "max_cut": 0.05}})
    assert one_line(exc).startswith("pace of change, year 1 (cap 700)")


def test_unfinished_plan_on_request(tmp_path):
    plan = plan_transition(transition_model(tmp_path), {"years": 1, "departure_rate": 0.05},
                           allow_unfinished=True)
    assert plan.unfinished().startswith("after 1 year ")
    late = plan.projection.transitional[-1] > 0
    assert late.any() and (plan.reach_year()[late] > 1).all()
    short = (plan.projection.vacant[0] > 0) & (plan.projection.vacant[-1] > 0)
    assert short.any() and (plan.reach_year()[short] == NEVER).all()  # still below quota


def test_overrides_change_the_quota_and_are_recorded(tmp_path):
    from allocator.overrides import Overrides

    model = transition_model(tmp_path, transition="years = 40\ndeparture_rate = 0.05\n")
    plan = plan_transition(model, overrides=Overrides(weights={"area": 0.9}, cap=950,
                                                      rounding="webster"))
    assert plan.projection.quota[-1].sum() == 950 and plan.spec.rounding == "webster"
    assert plan.allocation.posts.tolist() == allocate(model, weights={"area": 0.9}, cap=950,
                                                      rounding="webster").posts.tolist()
    record = json.loads((write_transition(plan, tmp_path / "o") / "run.json").read_text("utf-8"))
    assert record["overrides"] == {"weights": {"area": 0.9}, "cap": 950, "rounding": "webster"}
    with pytest.raises(InputError, match=r"larger than the cap \(900\)"):
        plan_transition(model, {"pool": 901}, overrides=Overrides(cap=900))


def test_an_invalid_option_is_named_as_an_override(tmp_path):
    with pytest.raises(InputError) as exc:
        plan_transition(transition_model(tmp_path), {"departure_rate": 1.0, "years": 3})
    assert one_line(exc).endswith("(with overrides departure_rate 1.0; years 3)")
