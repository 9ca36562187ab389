"""Divisor methods with bounds, exactly as the textbook defines them, against an exact reference.

The reference works in exact fractions: it searches the divisor over the finite set of candidate
divisors t_i / s(k) (the claims), and at the divisor of the last post given breaks ties to the
larger target, then to the unit first in natural id order. Huntington-Hill's signpost
sqrt(k(k + 1)) is irrational, so its claims are compared squared.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allocator.core.rounding import round_allocation, round_pool
from allocator.core.waterfill import water_fill
from allocator.ordering import natural_key

from .support import CHINA, make_problem

DIVISOR_METHODS = ("webster", "dhondt", "huntington-hill")
INFINITE = None  # the claim of Huntington-Hill's first post


def claim(method: str, t: Fraction, k: int) -> Fraction | None:
    """Unit's claim to its (k + 1)-th post, t / s(k); squared for Huntington-Hill; None = infinite."""
    if method == "dhondt":
        return t / (k + 1)
    if method == "webster":
        return 2 * t / (2 * k + 1)
    return INFINITE if k == 0 else t * t / (k * (k + 1))


def at_least(a: Fraction | None, d: Fraction | None) -> bool:
    """a >= d for claims, None being infinite."""
    return a is None or (d is not None and a >= d)


def posts_at(method, t, lower, upper, d, *, strict: bool) -> list[int]:
    """clamp(#{k : claim(t_i, k) >= d} (> d if strict), lower_i, upper_i) for each unit."""
    out = []
    for ti, lo, hi in zip(t, lower, upper, strict=True):
        n = 0
        while ti > 0 and (hi is None or n < hi):
            c = claim(method, ti, n)
            if not (at_least(c, d) and (not strict or c != d)):
                break
            n += 1
        out.append(max(lo, n if hi is None else min(hi, n)))
    return out


def reference(method, targets, lower, upper, total, ids) -> list[int]:
    """The bounded divisor method in exact arithmetic (``upper`` None = no upper bound)."""
    if total == sum(lower):
        return list(lower)
    t = [Fraction(v) for v in targets]
    candidates = {None} if method == "huntington-hill" else set()
    for ti, lo, hi in zip(t, lower, upper, strict=True):
        top = total if hi is None else min(hi, total)
        candidates |= {claim(method, ti, k) for k in range(lo, top) if ti > 0}
    # The divisor of the last post given: the largest candidate d with sum(posts >= d) >= total.
    ordered = sorted(candidates, key=lambda c: (c is None, c if c is not None else 0), reverse=True)
    d = next(c for c in ordered
             if sum(posts_at(method, t, lower, upper, c, strict=False)) >= total)
    below = posts_at(method, t, lower, upper, d, strict=True)
    at = posts_at(method, t, lower, upper, d, strict=False)
    tied = [i for i in range(len(t)) if at[i] > below[i]]
    tied.sort(key=lambda i: (-t[i], natural_key(ids[i])))
    for i in tied[:total - sum(below)]:
        below[i] += 1
    return below


@st.composite
def instances(draw):
    n = draw(st.integers(2, 12))
    targets = draw(st.lists(st.integers(1, 60), min_size=n, max_size=n))
    lower = [draw(st.sampled_from([0, 0, 1, 2, 5])) for _ in range(n)]
    upper = [draw(st.sampled_from([None, None, lo, lo + 1, lo + 3])) for lo in lower]
    room = sum(40 if hi is None else hi - lo for lo, hi in zip(lower, upper, strict=True))
    total = sum(lower) + draw(st.integers(0, min(room, 40)))
    ids = [f"U{k}" for k in range(n)]
    draw(st.randoms(use_true_random=False)).shuffle(ids)
    scale = draw(st.sampled_from([1.0, 0.1, 1 / 3, 7.3e4]))
    return targets, lower, upper, total, tuple(ids), scale


def fast(method, targets, lower, upper, total, ids, scale) -> list[int]:
    hi = np.array([np.inf if u is None else u for u in upper], dtype=float)
    values = np.array(targets, dtype=float) * scale  # inexact: ties must survive rounding noise
    return round_pool(values, np.array(lower, dtype=float), hi, total, method, ids).tolist()


@settings(max_examples=300, deadline=None)
@given(instances(), st.sampled_from(DIVISOR_METHODS))
@example(([1, 2, 3], [2, 0, 0], [None] * 3, 3, ("a", "b", "c"), 1.0), "dhondt")
@example(([7, 6], [0, 0], [None, None], 12, ("b", "a"), 0.1), "dhondt")  # 7/7 == 6/6
@example(([2, 8, 1], [0, 0, 0], [None, None, None], 2, ("c", "a", "b"), 1 / 3), "huntington-hill")
@example(([5, 5, 5], [0, 1, 0], [None, 2, 1], 4, ("U10", "U9", "U2"), 0.1), "webster")
def test_the_fast_divisor_methods_equal_the_exact_reference(case, method):
    targets, lower, upper, total, ids, scale = case
    expected = reference(method, targets, lower, upper, total, ids)
    assert sum(expected) == total
    assert fast(method, targets, lower, upper, total, ids, scale) == expected


@settings(max_examples=100, deadline=None)
@given(instances(), st.sampled_from(DIVISOR_METHODS))
def test_a_larger_total_never_costs_a_unit_a_post_even_with_bounds(case, method):
    targets, lower, upper, total, ids, scale = case
    room = sum(40 if hi is None else hi - lo for lo, hi in zip(lower, upper, strict=True))
    if total + 1 > sum(lower) + room:
        return
    now = fast(method, targets, lower, upper, total, ids, scale)
    more = fast(method, targets, lower, upper, total + 1, ids, scale)
    assert all(b >= a for a, b in zip(now, more, strict=True))


@settings(max_examples=60, deadline=None)
@given(instances(), st.sampled_from(DIVISOR_METHODS), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(case, method, rnd):
    targets, lower, upper, total, ids, scale = case
    order = list(range(len(targets)))
    rnd.shuffle(order)
    base = fast(method, targets, lower, upper, total, ids, scale)
    moved = fast(method, *([v[i] for i in order] for v in (targets, lower, upper)), total,
                 tuple(ids[i] for i in order), scale)
    assert [base[i] for i in order] == moved


def test_the_issue_example_dhondt_with_a_floor_apportions_the_unclipped_targets():
    # Targets proportional to 1:2:3, 3 posts, a floor of 2 on the first unit. The fair values are
    # [2, 0.4, 0.6]; D'Hondt on those would give [3, 0, 0]; the definition gives [2, 0, 1].
    p = make_problem([0.5, 1.0, 1.5], lower=np.array([2.0, 0, 0]), pools=[(np.arange(3), 3)])
    exact = water_fill(p)
    assert exact.round(9).tolist() == [2.0, 0.4, 0.6]
    assert round_allocation(p, exact, "dhondt").tolist() == [2, 0, 1]
    assert reference("dhondt", [1, 2, 3], [2, 0, 0], [None] * 3, 3, ("a", "b", "c")) == [2, 0, 1]


def test_divisor_methods_use_the_targets_not_the_solver_values():
    p = make_problem([12.3, 40.1, 7.7, 39.9], lower=np.array([15.0, 0, 0, 0]),
                     upper=np.array([np.inf, np.inf, 5, np.inf]), pools=[(np.arange(4), 100)])
    exact = water_fill(p)
    noisy = exact + np.array([1e-7, -1e-7, 0, 0])  # what another solver might return
    for method in DIVISOR_METHODS:
        assert round_allocation(p, exact, method).tolist() == \
            round_allocation(p, noisy, method).tolist() == \
            reference(method, [123, 401, 77, 399], [15, 0, 0, 0], [None, None, 5, None], 100,
                      p.ids)


@pytest.mark.parametrize("method", DIVISOR_METHODS)
def test_zero_targets_get_no_posts(method):
    posts = round_pool(np.array([0.0, 1.0, 2.0]), np.zeros(3), np.full(3, np.inf), 3, method,
                       ("a", "b", "c"))
    assert posts.tolist() == [0, 1, 2]
    # A zero target gets its lower bound and nothing more, even from Huntington-Hill.
    posts = round_pool(np.array([0.0, 5.0]), np.array([1.0, 0]), np.full(2, np.inf), 4, method,
                       ("a", "b"))
    assert posts.tolist() == [1, 3]


def test_no_divisor_when_only_zero_targets_have_room():
    with pytest.raises(ValueError, match="no divisor gives 5 posts"):
        round_pool(np.array([0.0, 1.0]), np.zeros(2), np.array([np.inf, 2.0]), 5, "webster",
                   ("a", "b"))


def test_huntington_hill_first_posts_go_to_the_larger_targets_then_the_ids():
    # Four units claim a first post (an infinite claim) and there is one post: the larger target
    # takes it; 3(1 + 1e-14) and 3 tie at relative precision, so the id decides: U9 before U10.
    t = np.array([1.0, 3.0 * (1 + 1e-14), 2.0, 3.0])
    posts = round_pool(t, np.zeros(4), np.full(4, np.inf), 1, "huntington-hill",
                       ("a", "U10", "c", "U9"))
    assert posts.tolist() == [0, 0, 0, 1]


def test_ties_are_decided_at_relative_precision_at_any_scale():
    # 7/7 == 6/6 exactly; at any scale the tie goes to the larger target (7), whatever the noise.
    for scale in (1e-9, 0.1, 1.0, 3.3e7):
        posts = round_pool(np.array([6.0, 7.0]) * scale, np.zeros(2), np.full(2, np.inf), 12,
                           "dhondt", ("a", "b"))
        assert posts.tolist() == [5, 7], scale


def test_a_long_chain_of_near_ties_is_decided_by_id_over_a_large_pool():
    # 5,000 targets 3e-13 apart (relative): one tie class spanning more than the first margin of
    # the divisor search. The 2,500 second posts go in natural id order, not row order.
    n = 5000
    t = 1 + np.arange(n) * 3e-13
    order = np.random.default_rng(1).permutation(n)
    ids = tuple(f"U{i}" for i in range(n))
    posts = round_pool(t[order], np.zeros(n), np.full(n, np.inf), 7500, "dhondt",
                       tuple(ids[i] for i in order))
    back = np.empty(n, dtype=np.int64)
    back[order] = posts
    assert back[:2500].tolist() == [2] * 2500 and back[2500:].tolist() == [1] * 2500


@pytest.mark.parametrize("method", ("hamilton", *DIVISOR_METHODS))
def test_published_labels_sit_at_their_bounds(method):
    from allocator import allocate


    result = allocate(CHINA, rounding=method)
    p = result.problem
    for i, rule in enumerate(result.binding):
        if rule:
            bound = p.lower[i] if rule == p.lower_rule[i] else p.upper[i]
            assert result.posts[i] == bound, (p.ids[i], rule)
    assert sum(1 for rule in result.binding if rule) > 0
