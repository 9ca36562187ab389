"""Derived weights: entropy, CRITIC and AHP against pymcdm; AHP matrix files; written models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pymcdm.weights import critic_weights as ref_critic
from pymcdm.weights import entropy_weights as ref_entropy
from pymcdm.weights.subjective import AHP

from allocator.errors import InputError
from allocator.pipeline.allocate import allocate
from allocator.report.studies import WeightsOptions, write_derived_weights
from allocator.schema import Bilingual, load_model
from allocator.studies.pairwise import read_pairwise
from allocator.studies.weights import (
    SAATY_RI,
    ahp_weights,
    critic_weights,
    derive_weights,
    entropy_weights,
    indicator_matrix,
)

from .support import HARBIN

NAMES = ("population", "urban_population", "area", "townships")

positive_matrices = st.integers(3, 12).flatmap(
    lambda n: st.integers(2, 5).flatmap(
        lambda k: arrays(float, (n, k), elements=st.floats(0.1, 1000))))


@settings(max_examples=60, deadline=None)
@given(positive_matrices)
def test_entropy_weights_match_pymcdm(matrix):
    if np.ptp(matrix, axis=0).max() < 1e-6:
        return  # no indicator varies: both refuse (ours) or divide by zero (pymcdm)
    np.testing.assert_allclose(entropy_weights(matrix), ref_entropy(matrix), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(positive_matrices)
def test_critic_weights_match_pymcdm(matrix):
    if (np.ptp(matrix, axis=0) < 1e-6).any():
        return  # a constant column: pymcdm's correlation is undefined
    try:
        ours = critic_weights(matrix)
    except InputError as exc:  # only when all columns are perfectly correlated
        assert "undefined" in str(exc)
        r = np.corrcoef(matrix, rowvar=False)
        assert (r[np.triu_indices(matrix.shape[1], 1)] > 1 - 1e-9).all()
        return
    np.testing.assert_allclose(ours, ref_critic(matrix), atol=1e-9)


def test_harbin_entropy_and_critic_match_pymcdm_on_the_model_data():
    spec = load_model(HARBIN)
    names, x = indicator_matrix(spec)
    assert names == NAMES
    for method, ref in (("entropy", ref_entropy), ("critic", ref_critic)):
        derived = derive_weights(spec, method)
        np.testing.assert_allclose(derived.weights, ref(x), atol=1e-12)
        assert (derived.jackknife_min <= derived.weights + 1e-12).all()
        assert (derived.weights <= derived.jackknife_max + 1e-12).all()
        alone = [ref(np.delete(x, i, axis=0)) for i in range(len(x))]
        np.testing.assert_allclose(derived.jackknife_max, np.max(alone, axis=0), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.05, 1), min_size=3, max_size=8))
def test_ahp_recovers_consistent_weights(raw):
    w = np.array(raw) / sum(raw)
    weights, check = ahp_weights(np.outer(w, 1 / w))
    np.testing.assert_allclose(weights, w, atol=1e-9)
    assert check.cr == pytest.approx(0, abs=1e-9) and check.acceptable


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 8).flatmap(lambda k: st.lists(
    st.sampled_from([1, 2, 3, 5, 7, 9, 1 / 2, 1 / 3, 1 / 5, 1 / 9]),
    min_size=k * (k - 1) // 2, max_size=k * (k - 1) // 2).map(lambda v: (k, v))))
def test_ahp_matches_pymcdm(case):
    k, values = case
    a = np.ones((k, k))
    a[np.triu_indices(k, 1)] = values
    a.T[np.triu_indices(k, 1)] = 1 / np.array(values)
    weights, check = ahp_weights(a)
    ref = AHP(matrix=a)
    np.testing.assert_allclose(weights, ref(), atol=1e-8)
    # pymcdm divides the same CI by another random index table (Alonso-Lamata): compare CI.
    assert check.ci == pytest.approx(max(ref.get_cr() * AHP.RI_M[k - 1], 0), abs=1e-8)
    assert check.cr == pytest.approx(check.ci / SAATY_RI[k - 1])


def _matrix_file(tmp_path, rows, name="ahp.csv"):
    path = tmp_path / name
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


CONSISTENT = [["", "population", "urban_population", "area", "townships"],
              ["population", "1", "3", "2", "3"],
              ["urban_population", "", "1", "2/3", "1"],
              ["area", "", "", "1", "3/2"],
              ["townships", "", "", "", "1"]]


def test_ahp_matrix_file_with_fractions_and_empty_lower_triangle(tmp_path):
    a = read_pairwise(_matrix_file(tmp_path, CONSISTENT), NAMES)
    np.testing.assert_allclose(a * a.T, 1.0)
    derived = derive_weights(HARBIN, "ahp", matrix=_matrix_file(tmp_path, CONSISTENT))
    np.testing.assert_allclose(derived.weights, np.array([3, 1, 1.5, 1]) / 6.5, atol=1e-9)
    assert derived.consistency.cr == pytest.approx(0, abs=1e-9)


def test_inconsistent_ahp_is_refused_unless_forced(tmp_path):
    rows = [r[:] for r in CONSISTENT]
    rows[1][2], rows[1][3], rows[2][3] = "9", "1/9", "9"  # pop >> urban >> area >> pop
    path = _matrix_file(tmp_path, rows)
    with pytest.raises(InputError, match=r"consistency ratio CR = \d\.\d+ is above 0.1"):
        derive_weights(HARBIN, "ahp", matrix=path)
    forced = derive_weights(HARBIN, "ahp", matrix=path, accept_inconsistent=True)
    assert forced.consistency.cr > 0.1 and forced.weights.sum() == pytest.approx(1)


@pytest.mark.parametrize(("change", "message"), [
    ((1, 0, "populaton"), "did you mean 'population'"),
    ((2, 1, "3"), "must be reciprocals"),
    ((1, 3, "x"), "row 2 \\(population\\), column 'area': 'x' is not a number"),
    ((1, 3, "-2"), "must be a positive number"),
    ((1, 1, "2"), "diagonal"),
])
def test_bad_ahp_matrices_name_the_cell(tmp_path, change, message):
    rows = [r[:] for r in CONSISTENT]
    r, c, value = change
    rows[r][c] = value
    with pytest.raises(InputError, match=message):
        derive_weights(HARBIN, "ahp", matrix=_matrix_file(tmp_path, rows))


def test_written_model_file_reproduces_the_derived_weights(tmp_path):
    out = write_derived_weights(HARBIN, WeightsOptions(method="critic"), tmp_path / "w")
    assert sorted(out.files) == ["harbin_2020_critic.toml", "study.json", "weights.csv"]
    spec = load_model(out.model_file)
    derived = out.derived.as_dict()
    for name, value in spec.normalised_weights().items():
        assert value == pytest.approx(derived[name], abs=1e-15)
    assert allocate(out.model_file).posts.tolist() == \
        allocate(HARBIN, weights=derived).posts.tolist()
    assert isinstance(spec.name, Bilingual)
    assert "CRITIC" in spec.name.en and "CRITIC法" in spec.name.zh
    assert spec.cap == load_model(HARBIN).cap


def test_study_around_derived_weights_is_written_with_them(tmp_path):
    out = write_derived_weights(HARBIN, WeightsOptions(method="entropy", samples=300),
                                tmp_path / "w")
    assert {"montecarlo_summary.csv", "montecarlo_bands.png", "weights.csv"} <= set(out.files)
    assert (out.out_dir / "montecarlo_summary.csv").exists()
    np.testing.assert_allclose(out.study.centre, out.derived.weights)
    base = allocate(HARBIN, weights=out.derived.as_dict()).posts
    assert out.study.summary["base"].tolist() == base.tolist()


@pytest.mark.parametrize("cell", ["1e-320", "12", "1/10", "0.1"])
def test_ahp_cells_outside_saatys_scale_are_refused(tmp_path, cell):
    from allocator.studies.pairwise import read_pairwise

    path = tmp_path / "ahp.csv"
    path.write_text(f",a,b\na,1,{cell}\nb,,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"outside Saaty's scale \(1/9 to 9\)"):
        read_pairwise(path, ("a", "b"))
