"""The fast Monte Carlo kernels give exactly what the plain formulations give."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.core.rounding import QUANTUM_DECIMALS, SNAP, batch_hamilton
from allocator.studies.batch import batch_water_fill
from allocator.studies.montecarlo import _Histograms, _Indices, _rank


def _hamilton_by_sorting(exact, lower, upper, total, key_rank):
    """Largest remainder by one full sort per row (remainder, exact value, natural id order)."""
    e = np.round(exact, QUANTUM_DECIMALS)
    base = np.clip(np.floor(e + SNAP), lower, upper)
    left = np.rint(total - base.sum(axis=1)).astype(np.int64)
    out = base.copy()
    for r in range(e.shape[0]):
        order = np.lexsort((key_rank, -e[r], -(e[r] - base[r])))
        room = order[base[r, order] < upper[order]]
        out[r, room[:max(left[r], 0)]] += 1
    return out.astype(np.int64)


@pytest.mark.parametrize("units", [1, 3, 17, 300])
def test_batch_hamilton_matches_a_full_sort(units):
    rng = np.random.default_rng(units)
    for trial in range(60):
        rows = int(rng.integers(1, 12))
        if trial % 3 == 0:  # many ties: remainders and values repeat
            exact = rng.integers(0, 12, (rows, units)) / rng.choice([2, 3, 4])
        else:
            exact = np.round(rng.random((rows, units)) * 8, int(rng.integers(0, 7)))
        lower = np.where(rng.random(units) < 0.3, rng.integers(0, 3, units), 0).astype(float)
        upper = np.where(rng.random(units) < 0.3, lower + rng.integers(0, 4, units), np.inf)
        exact = np.clip(exact, lower, upper)
        floors = np.clip(np.floor(exact + SNAP), lower, upper).sum(axis=1).max()
        total = int(floors) + int(rng.integers(0, units + 1))
        key_rank = rng.permutation(units)
        want = _hamilton_by_sorting(exact, lower, upper, total, key_rank)
        assert np.array_equal(batch_hamilton(exact, lower, upper, total, key_rank), want)


def test_water_fill_without_upper_bounds_matches_the_general_path():
    """No finite upper bound takes a shortcut; a bound that is never reached must agree."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        units, rows = int(rng.integers(1, 60)), int(rng.integers(1, 20))
        target = rng.lognormal(0, float(rng.choice([0.3, 1.0, 2.0])), (rows, units))
        lower = np.where(rng.random(units) < 0.5, rng.integers(0, 5, units), 0).astype(float)
        total = float(lower.sum() + rng.integers(0, 10 * units + 1))
        open_ended = batch_water_fill(target, lower, np.full(units, np.inf), total)
        far = batch_water_fill(target, lower, np.full(units, 1e300), total)
        assert np.array_equal(open_ended, far)
        assert np.allclose(open_ended.sum(axis=1), total)


def test_histograms_match_the_samples():
    rng = np.random.default_rng(5)
    hist, seen = _Histograms(40), []
    for chunk in range(25):  # the spread grows chunk by chunk: the layout moves many times
        spread = 1 + chunk * 3
        posts = rng.integers(-spread, spread + 1, (int(rng.integers(1, 30)), 40))
        posts += np.arange(40) * 7
        hist.add(posts)
        seen.append(posts)
    every = np.concatenate(seen)
    for q in (0.0, 0.05, 0.5, 0.95, 1.0):
        want = np.quantile(every, q, axis=0, method="inverted_cdf")
        assert np.array_equal(hist.quantile(q), want)
    actual = np.arange(40) * 7 + rng.normal(0, 20, 40)
    actual[3] = np.nan
    assert np.array_equal(hist.share(actual, True), (every > actual).mean(axis=0))
    assert np.array_equal(hist.share(actual, False), (every < actual).mean(axis=0))


def test_rank_matches_a_stable_sort():
    rng = np.random.default_rng(7)
    for units, high in ((1, 3), (5, 2), (300, 10), (300, 100_000), (300, 10_000_000)):
        posts = rng.integers(0, high, (20, units))
        order = np.argsort(-posts, axis=1, kind="stable")
        want = np.empty_like(order)
        np.put_along_axis(want, order, np.arange(1, units + 1)[None, :], axis=1)
        assert np.array_equal(_rank(posts), want)


def test_index_sums_match_float_bincount():
    rng = np.random.default_rng(9)
    edges = np.array([[0.2, 0.5], [np.nan, np.nan], [0.1, 0.3]])
    indices = _Indices(edges, 6)
    seen_w, seen_y = [], []
    for _ in range(4):
        w = rng.random((int(rng.integers(1, 40)), 3))
        posts = rng.integers(0, 5000, (w.shape[0], 6))
        indices.add(w, posts)
        seen_w.append(w)
        seen_y.append(posts.astype(float))
    w, y = np.concatenate(seen_w), np.concatenate(seen_y)
    assert np.array_equal(indices.total, y.sum(axis=0))
    assert np.array_equal(indices.total_sq, (y * y).sum(axis=0))
    for k in (0, 2):
        cls = np.searchsorted(edges[k], w[:, k], side="right")
        for c in range(3):
            assert np.array_equal(indices.sum[k][c], y[cls == c].sum(axis=0))
