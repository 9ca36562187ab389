"""Targets: weighted, transformed indicator shares times the allocatable cap."""

import math

import numpy as np
import pytest

from allocator import allocate
from allocator.core.targets import target_components, targets, transform

from .support import write_csv, write_model


def test_hand_computed_shares_with_transforms():
    pop = np.array([100.0, 300.0])
    area = np.array([4.0, 16.0])
    parts = target_components({"pop": pop, "area": area}, {"pop": 0.5, "area": 0.5},
                              {"pop": "linear", "area": "sqrt"}, 600)
    # pop shares 1/4, 3/4; sqrt(area) = 2, 4 -> shares 1/3, 2/3.
    assert parts["pop"].tolist() == pytest.approx([75.0, 225.0])
    assert parts["area"].tolist() == pytest.approx([100.0, 200.0])
    assert targets(parts).tolist() == pytest.approx([175.0, 425.0])


def test_log_transform_is_log1p_so_zero_stays_zero():
    assert transform(np.array([0.0, math.e - 1]), "log").tolist() == pytest.approx([0.0, 1.0])


def test_reserve_is_taken_off_the_cap_before_targets(tmp_path):
    write_csv(tmp_path / "u.csv", ["id", "pop"], [["a", 1], ["b", 3]])
    model = write_model(tmp_path / "m.toml", {"name": "m", "data": "u.csv", "id": "id",
                                              "cap": 1000, "reserve": 0.1,
                                              "indicators": {"pop": {"column": "pop", "weight": 1}}})
    result = allocate(model)
    assert result.spec.allocatable_cap == 900
    assert result.problem.target.tolist() == pytest.approx([225.0, 675.0])
    assert result.posts.tolist() == [225, 675]


def test_weights_are_normalised_and_reported(tmp_path, small_model):
    small_model.write_text(small_model.read_text().replace("weight = 0.7", "weight = 7")
                           .replace("weight = 0.3", "weight = 3"))  # the file's are relative
    result = allocate(small_model)
    assert result.weights == pytest.approx({"pop": 0.7, "area": 0.3})
    assert sum(result.components["pop"]) == pytest.approx(700)
    assert sum(result.components["area"]) == pytest.approx(300)
