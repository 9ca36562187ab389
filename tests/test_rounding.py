"""Whole posts: exact totals, integer bounds, quota, deterministic ties, oracle agreement."""

from fractions import Fraction

import apportionment.methods as oracle
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allocator.core.rounding import METHODS, round_allocation, round_pool
from allocator.core.waterfill import water_fill

from .conftest import make_problem

ORACLE_NAMES = {"hamilton": "hamilton", "webster": "webster", "dhondt": "dhondt",
                "huntington-hill": "huntington"}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=2, max_size=12), st.integers(12, 5000),
       st.sampled_from(METHODS))
@example([7, 6], 12, "dhondt")  # a true tie for the last post: 7/7 == 6/6
def test_unbounded_rounding_matches_the_apportionment_package(votes, seats, method):
    votes = np.array(votes, dtype=float)
    exact = votes / votes.sum() * seats
    ours = round_pool(exact, np.zeros(len(votes)), np.full(len(votes), np.inf), seats, method,
                      tuple(f"u{i}" for i in range(len(votes))))
    theirs = oracle.compute(ORACLE_NAMES[method], [int(v) for v in votes], seats, verbose=False)
    # The oracle breaks ties its own way; where the last post is a true tie both answers are right.
    if not _last_post_is_a_tie([int(v) for v in votes], seats, method, ours.tolist()):
        assert ours.tolist() == list(theirs)


def _priority(v: int, k: int, method: str) -> Fraction:
    """Claim of a unit with ``v`` votes to its (k+1)-th post, squared for Huntington-Hill
    (its signpost sqrt(k(k+1)) is irrational), in exact arithmetic."""
    if method == "dhondt":
        return Fraction(v, k + 1)
    if method == "webster":
        return Fraction(2 * v, 2 * k + 1)
    return Fraction(10**30) if k == 0 else Fraction(v * v, k * (k + 1))


def _last_post_is_a_tie(votes: list[int], seats: int, method: str, posts: list[int]) -> bool:
    """Whether another unit had exactly as strong a claim to the last post given."""
    if method == "hamilton":
        quotas = [Fraction(v * seats, sum(votes)) for v in votes]
        floors = [q.numerator // q.denominator for q in quotas]
        up = [q - f for q, f, p in zip(quotas, floors, posts, strict=True) if p > f]
        down = [q - f for q, f, p in zip(quotas, floors, posts, strict=True) if p == f]
        return bool(up and down) and min(up) == max(down)
    given = [_priority(v, p - 1, method) for v, p in zip(votes, posts, strict=True) if p > 0]
    waiting = [_priority(v, p, method) for v, p in zip(votes, posts, strict=True)]
    return min(given) == max(waiting)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.5, 500), min_size=2, max_size=15), st.data())
def test_hamilton_sums_stays_in_bounds_and_within_one_post(targets, data):
    t = np.array(targets)
    total = int(round(t.sum()))
    n = len(t)
    lower = np.array([data.draw(st.sampled_from([0.0, float(np.floor(v * 1.5))])) for v in t])
    upper = np.array([data.draw(st.sampled_from([np.inf, float(np.ceil(max(lower[i], v * 0.7)))]))
                      for i, v in enumerate(t)])
    if lower.sum() > total or upper.sum() < total:
        return
    p = make_problem(t, lower=lower, upper=upper, pools=[(np.arange(n), total)])
    exact = water_fill(p)
    for method in METHODS:
        posts = round_allocation(p, exact, method)
        assert posts.sum() == total
        assert np.all(posts >= lower) and np.all(posts <= upper)
        if method == "hamilton":
            assert np.all(np.abs(posts - exact) < 1 + 1e-9)


def test_ties_go_to_the_larger_exact_value_then_the_id_not_the_row_order():
    exact = np.array([2.5, 1.5, 0.5, 1.5])
    ids = ("d", "b", "a", "c")
    posts = round_pool(exact, np.zeros(4), np.full(4, np.inf), 7, "hamilton", ids)
    # Remainders all 0.5, two extra posts: d (2.5 is the largest), then b (1.5, 'b' < 'c').
    assert dict(zip(ids, posts.tolist(), strict=True)) == {"d": 3, "b": 2, "a": 0, "c": 2}
    order = [2, 0, 3, 1]
    shuffled = round_pool(exact[order], np.zeros(4), np.full(4, np.inf), 7, "hamilton",
                          tuple(ids[i] for i in order))
    assert dict(zip([ids[i] for i in order], shuffled.tolist(), strict=True)) == \
        {"d": 3, "b": 2, "a": 0, "c": 2}


def test_ids_tie_break_in_natural_order():
    exact = np.full(3, 1.5)
    posts = round_pool(exact, np.zeros(3), np.full(3, np.inf), 5, "hamilton", ("U10", "U9", "U2"))
    assert posts.tolist() == [1, 2, 2]


def test_divisor_methods_avoid_the_alabama_paradox_where_hamilton_shows_it():
    # With these sizes Hamilton gives unit C 1 post of 8 but none of 9 (Alabama paradox).
    sizes = np.array([64.1, 27.7, 5.1])
    ids = ("A", "B", "C")

    def posts(method, seats):
        return round_pool(sizes / sizes.sum() * seats, np.zeros(3), np.full(3, np.inf), seats,
                          method, ids)

    assert posts("hamilton", 8).tolist() == [5, 2, 1]
    assert posts("hamilton", 9).tolist() == [6, 3, 0]
    for method in ("webster", "dhondt", "huntington-hill"):
        for seats in range(3, 60):
            assert np.all(posts(method, seats + 1) >= posts(method, seats)), (method, seats)


def test_rounding_respects_group_totals():
    p = make_problem([10.4, 20.6, 5.5, 5.5], pools=[([0, 1], 31), ([2, 3], 11)])
    posts = round_allocation(p, water_fill(p), "hamilton")
    assert posts[:2].sum() == 31 and posts[2:].sum() == 11


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown rounding method"):
        round_pool(np.array([1.0]), np.zeros(1), np.full(1, np.inf), 1, "borda", ("a",))
