"""Explanation: each unit's allocation split into target parts and adjustments that add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import allocate
from allocator.core.explain import explain, split_tenths
from allocator.core.waterfill import water_fill
from allocator.errors import InputError
from allocator.pipeline.allocate import unit_index

from .support import HARBIN, ROOT


@pytest.fixture(scope="module")
def harbin():
    return allocate(HARBIN)


@pytest.fixture(scope="module")
def harbin_no_groups():
    """Harbin without group totals or change limits, a reserve, and a floor that binds."""
    text = HARBIN.read_text(encoding="utf-8")
    text = text.split("[bounds]")[0].replace('data = "../data/', f'data = "{ROOT}/data/')
    text = text.replace("reserve = 0", "reserve = 806")
    text += "[bounds]\nfloor = 2600\n"
    return allocate(_write(text, "no_groups.toml"))


def _write(text: str, name: str) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("which", ["harbin", "harbin_no_groups"])
def test_parts_add_up_to_the_allocation_for_every_unit(which, request):
    result = request.getfixturevalue(which)
    e = explain(result)
    for i in range(len(result.posts)):
        total = sum(value for _, value in e.parts(i))
        assert total == pytest.approx(result.posts[i], abs=1e-6)
        target = sum(e.components[k][i] for k in e.components)
        assert target == pytest.approx(result.problem.target[i], rel=1e-12)


def test_free_units_follow_the_closed_form_and_bounds_explain_the_rest(harbin):
    # Independent oracle: the closed form x_i = clip(lambda_pool * t_i, lower_i, upper_i).
    e = explain(harbin)
    p = harbin.problem
    closed = water_fill(p)
    for i in range(len(p)):
        before_rounding = sum(v for k, v in e.parts(i) if k != "rounding")
        assert before_rounding == pytest.approx(closed[i], abs=1e-6)
        assert abs(e.steps["rounding"][i]) < 1  # Hamilton keeps quota
        if harbin.binding[i] == "floor":
            assert harbin.posts[i] == p.lower[i]
            assert e.steps["floor"][i] > 0
        elif harbin.binding[i] == "max_cut":
            assert e.steps["change_limit"][i] > 0
        else:
            assert e.steps["floor"][i] == 0 and e.steps["change_limit"][i] == 0


def test_group_totals_appear_only_when_the_model_has_them(harbin, harbin_no_groups):
    assert "group_total" in explain(harbin).steps
    e = explain(harbin_no_groups)
    assert "group_total" not in e.steps and "change_limit" not in e.steps
    held = [i for i, rule in enumerate(harbin_no_groups.binding) if rule == "floor"]
    assert held, "the test model must have a unit held by its floor"
    for i in held:
        assert e.steps["floor"][i] > 0
    # Scaling brings the free units to the one common ratio lambda.
    free = [i for i, rule in enumerate(harbin_no_groups.binding) if not rule]
    ratios = [(harbin_no_groups.problem.target[i] + e.steps["scaling"][i])
              / harbin_no_groups.problem.target[i] for i in free]
    assert np.ptp(ratios) < 1e-12


def test_units_are_found_by_id_or_name_and_typos_get_a_hint(harbin):
    assert unit_index(harbin, "230108") == unit_index(harbin, "平房区")
    with pytest.raises(InputError, match="did you mean '平房区'"):
        unit_index(harbin, "平方区")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-5000, 5000, allow_nan=False), min_size=1, max_size=12))
def test_split_tenths_adds_up_and_stays_within_a_tenth(values):
    total = int(round(10 * sum(values)))
    tenths = split_tenths(values, total)
    assert sum(tenths) == total
    for value, t in zip(values, tenths, strict=True):
        assert abs(t / 10 - value) < 0.1 + 1e-9 * (1 + abs(value))
