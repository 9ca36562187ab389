"""Round stage: whole posts that add up exactly to each pool's total, inside integer bounds.

Methods (an apportionment problem; Balinski-Young: no method has every good property):

* ``hamilton`` (largest remainder, default): the fair continuous values rounded down, then one
  more post for the largest remainders; every unit within one post of its fair value (quota); can
  lose a post when the cap grows (Alabama paradox).
* ``webster`` (Sainte-Lague), ``dhondt`` (Jefferson), ``huntington-hill``: divisor methods with
  minimum and maximum restrictions; each pool's total is apportioned by the units' targets with
  one divisor d: unit i gets clamp(R(t_i / d), lower_i, upper_i), R rounding at the signposts
  k + 1/2, k + 1 or sqrt(k(k + 1)). They never show the Alabama or population paradox, but can move
  a unit more than one post from its fair value. D'Hondt favours large units, Huntington-Hill
  small ones, Webster neither.

Ties are broken by larger value (fair value for Hamilton, target for the divisor methods), then by
unit id (natural order), never by row order. Hamilton compares fair values at 1e-6 posts (solver
noise cannot reorder them); the divisor methods compare claims and targets at a relative
precision of 1e-12.

>>> import numpy as np
>>> round_pool(np.array([1.5, 1.5, 3.0]), np.zeros(3), np.full(3, np.inf), 6, "hamilton",
...            ("b", "a", "c")).tolist()
[1, 2, 3]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from allocator.core.problem import Problem
from allocator.ordering import natural_key

METHODS = ("hamilton", "webster", "dhondt", "huntington-hill")
SNAP = 1e-7  # exact values this close to an integer count as that integer
QUANTUM_DECIMALS = 6  # exact values are compared at 1e-6 posts: solver noise cannot reorder them
TIE = 1e-12  # relative: divisor claims and targets this close are equal (their ties decided by id)
CONTENDERS = 256  # the divisor search lists and ranks at most about this many claims one by one


def _signpost(method: str, k: np.ndarray) -> np.ndarray:
    if method == "dhondt":
        return k + 1.0
    if method == "webster":
        return k + 0.5
    if method == "huntington-hill":
        return np.sqrt(k * (k + 1.0))
    raise ValueError(f"unknown rounding method '{method}'")


def _divisor_count(method: str, quotient: np.ndarray) -> np.ndarray:
    """Posts a unit gets at divisor d: the number of signposts at or below its quotient x/d."""
    k = np.floor(quotient)
    return np.where(_signpost(method, k) <= quotient, k + 1, k)


def natural_ties(order: np.ndarray, keys: Sequence[np.ndarray], ids: Sequence[str],
                 between: tuple[int, int] | None = None) -> np.ndarray:
    """``order`` (a stable sort by ``keys``) with each run of equal keys put in natural id order.

    Only tied units have their natural sort key computed, so a large pool costs one sort. With
    ``between=(a, b)``, only the run that holds both positions a and b is sorted (where a cut
    between them falls, the order inside that run decides; elsewhere it does not matter).

    >>> natural_ties(np.array([0, 1, 2]), [np.ones(3)], ["U10", "U9", "U2"]).tolist()
    [2, 1, 0]
    >>> natural_ties(np.array([0, 1, 2, 3]), [np.array([1.0, 1, 2, 2])], ["b", "a", "d", "c"],
    ...              between=(2, 3)).tolist()
    [0, 1, 3, 2]
    """
    if order.size < 2:
        return order
    same = np.ones(order.size - 1, dtype=bool)
    for key in keys:
        k = key[order]
        same &= k[1:] == k[:-1]
    if not same.any():
        return order
    edges = np.flatnonzero(np.diff(np.concatenate([[False], same, [False]]).astype(np.int8)))
    runs = list(zip(edges[::2].tolist(), (edges[1::2] + 1).tolist(), strict=True))
    if between is not None:
        a, b = sorted(between)
        runs = [(start, stop) for start, stop in runs if start <= a and b < stop]
    order = order.copy()
    for start, stop in runs:
        run = order[start:stop]
        # Python's sort is stable: equal natural keys keep their order, as in the full sort.
        order[start:stop] = sorted(run.tolist(), key=lambda i: natural_key(ids[i]))
    return order


def _hamilton_base(exact: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int):
    """Floor values inside the bounds and the posts left to hand out (per row)."""
    base = np.clip(np.floor(exact + SNAP), lower, upper)
    left = np.rint(total - base.sum(axis=-1)).astype(np.int64)
    if np.any(left < 0):
        raise ValueError("exact values exceed the pool total")
    return base, left


def _hand_out(base: np.ndarray, upper: np.ndarray, left: np.ndarray, order: np.ndarray):
    """One more post, in ``order`` (per row), to each unit with room, until none is left."""
    room = np.take_along_axis(base < upper, order, axis=-1)
    extra = room & (np.cumsum(room, axis=-1) <= left[..., None])
    np.put_along_axis(base, order, np.take_along_axis(base, order, axis=-1) + extra, axis=-1)
    return base


def batch_hamilton(exact: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int,
                   key_rank: np.ndarray) -> np.ndarray:
    """Row-wise largest remainder, identical to ``round_pool(..., "hamilton", ids)``.

    Exact values are quantised to 1e-6 posts; each row gets floor values (inside the bounds), then
    one more post for the largest remainders, ties to the larger exact value, then to the unit
    first in natural id order (``key_rank``). Each row needs only its cut: the ``left``-th largest
    remainder of the units with room. Units above it get a post; only rows where units tie at the
    cut (rare) are ordered by the full rule.

    >>> batch_hamilton(np.array([[1.5, 1.5, 3.0]]), np.zeros(3), np.full(3, np.inf), 6,
    ...                np.array([1, 0, 2])).tolist()
    [[1, 2, 3]]
    """
    e = np.round(np.atleast_2d(np.asarray(exact, dtype=float)), QUANTUM_DECIMALS)
    base, left = _hamilton_base(e, lower, upper, total)
    room = base < upper
    rem = np.subtract(e, base)
    np.copyto(rem, -np.inf, where=~room)  # units without room sort last
    rows = np.arange(e.shape[0])
    rooms = room.sum(axis=1)
    cut = (left > 0) & (left < rooms)
    threshold = np.full(e.shape[0], np.inf)
    threshold[cut] = _kth_largest(rem[cut], left[cut])
    threshold[left >= rooms] = -np.inf  # every unit with room gets a post
    give = rem > threshold[:, None]  # never a unit without room: its -inf is not above
    tie = room & (rem == threshold[:, None])
    short = left - give.sum(axis=1)
    tied = tie.sum(axis=1)
    give |= tie & (tied <= short)[:, None]
    for r in rows[(tied > short) & (short > 0)]:
        members = np.flatnonzero(tie[r])
        order = np.lexsort((key_rank[members], -e[r, members]))
        give[r, members[order[:short[r]]]] = True
    base += give
    return base.astype(np.int64)


def _kth_largest(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per row, the ``k``-th largest value (1 = the largest): a partial sort of each long row, a
    full sort of many short ones at once.

    >>> _kth_largest(np.array([[3.0, 1.0, 2.0], [5.0, 4.0, 6.0]]), np.array([1, 3])).tolist()
    [3.0, 4.0]
    """
    n = values.shape[1]
    if n < 256:
        return np.sort(values, axis=1)[np.arange(values.shape[0]), n - k]
    return np.array([np.partition(row, n - j)[n - j] for row, j in zip(values, k.tolist(),
                                                                      strict=True)])


def _hamilton(exact, lower, upper, total, ids):
    base, left = _hamilton_base(exact, lower, upper, total)
    remainder = -(exact - base)
    order = np.lexsort((-exact, remainder))
    # Only the tie at the cut (between the last unit with room that gets a post and the first
    # that does not) needs the natural id order.
    taken = np.cumsum((base < upper)[order])
    if taken.size and 0 < left < taken[-1]:
        cut = (int(np.searchsorted(taken, left)), int(np.searchsorted(taken, left + 1)))
        order = natural_ties(order, (remainder, -exact), ids, between=cut)
    return _hand_out(base, upper, np.asarray(left), order)


def _tie_classes(descending: np.ndarray) -> np.ndarray:
    """Class number of each value of a descending array: neighbours within ``TIE`` (relative) of
    each other share one, so values equal in exact arithmetic tie whatever their rounding noise.

    >>> _tie_classes(np.array([3.0, 1.0 + 1e-15, 1.0, 0.5])).tolist()
    [0, 1, 1, 2]
    """
    if descending.size == 0:
        return np.zeros(0, dtype=np.int64)
    gaps = descending[:-1] - descending[1:] > TIE * np.abs(descending[:-1])
    return np.concatenate([[0], np.cumsum(gaps)])


def _largest_first(values: np.ndarray, ids: Sequence[str]) -> np.ndarray:
    """Positions of ``values``, largest first; values equal at relative precision ``TIE`` in the
    natural order of their ``ids`` (one per position), never in row order.

    >>> _largest_first(np.array([1.0, 2.0, 1.0 + 1e-15]), ("U10", "U1", "U9")).tolist()
    [1, 2, 0]
    """
    order = np.argsort(-values, kind="stable")
    classes = _tie_classes(values[order])
    return order[natural_ties(np.arange(order.size), (classes,), _Members(ids, order))]


def _divisor(method, target, lower, upper, total, ids):
    """The bounded divisor method: posts clamp(R(t_i / d), lower_i, upper_i) adding up to ``total``.

    Equivalently: every unit starts at its lower bound and the posts left go one at a time to the
    largest claim t_i / s(k) (s the signpost of the unit's next post k + 1, skipping units at their
    upper bound). The claim of the posts at the cut is found by bisection on the divisor; the
    claims near it are then listed and ranked exactly: by claim, ties (at relative precision
    ``TIE``) to the larger target, then to the unit first in natural id order.
    """
    if np.any(target < 0) or not np.all(np.isfinite(target)):
        raise ValueError("targets must be finite and non-negative")
    if np.any(lower > upper):
        raise ValueError("a lower bound exceeds its upper bound")
    seats = lower.copy()
    units = np.flatnonzero((target > 0) & (upper > lower))  # the units that can take a post
    need = int(round(total - lower.sum()))
    if need < 0:
        raise ValueError("the lower bounds exceed the pool total")
    room = float((upper[units] - lower[units]).sum())
    if need > room:
        raise ValueError(f"no divisor gives {total} posts: the units with a positive target have "
                         f"room for {room:.0f} posts above their lower bounds, {need} are needed")
    if need == 0:
        return seats
    t, lo, hi = target[units], lower[units], upper[units]
    if method == "huntington-hill":
        # The first post's signpost is 0: every positive target claims it before any second post.
        first = lo == 0
        if need <= first.sum():  # fewer posts than such units: the larger targets get them
            seats[units[first][_largest_first(t[first], _Members(ids, units[first]))[:need]]] = 1
            return seats
        lo = np.where(first, 1.0, lo)
    goal = need + lower[units].sum()  # posts of these units together

    def posts_at(d):  # each unit's posts at divisor d (the claims >= d), inside its bounds
        return np.clip(_divisor_count(method, t / d), lo, hi)

    def count(d):
        return float(posts_at(d).sum())

    # Bracket the claim of the last post given: at_low = count(low) >= goal > count(high).
    low = high = float(t.sum()) / goal
    while (at_high := count(high)) >= goal:
        high *= 2
    while (at_low := count(low)) < goal:
        low /= 2
    while at_low - at_high > CONTENDERS and high > low * (1 + 1e-12):
        mid = math.sqrt(low * high)
        if (at_mid := count(mid)) >= goal:
            low, at_low = mid, at_mid
        else:
            high, at_high = mid, at_mid
    margin = 1e-9
    while True:
        # Claims in [bottom, top] are ranked one by one; the bracket is widened by a margin so that
        # no tie at the cut reaches past it.
        top, bottom = high * (1 + margin), low * (1 - margin)
        sure, maybe = posts_at(top), posts_at(bottom)
        left = int(round(goal - sure.sum()))
        extra = (maybe - sure).astype(np.int64)
        who = np.repeat(np.arange(t.size), extra)
        k = sure[who] + np.arange(who.size) - np.repeat(np.cumsum(extra) - extra, extra)
        claims = t[who] / _signpost(method, k)
        order = np.argsort(-claims, kind="stable")
        classes = _tie_classes(claims[order])
        cut = classes[left - 1]  # the class of the last claim given
        start = int(np.searchsorted(classes, cut, side="left"))
        stop = int(np.searchsorted(classes, cut, side="right"))
        tied = stop > left
        near_top = claims[order[start]] >= top * (1 - 4 * TIE)
        near_bottom = claims[order[stop - 1]] <= bottom * (1 + 4 * TIE)
        if margin < 1e-3 and ((tied and near_top) or ((tied or stop == who.size) and near_bottom)):
            margin *= 1e3
            continue
        break
    given = order[:left]
    if tied:
        run = order[start:stop]
        pick = _largest_first(t[who[run]], _Members(ids, units[who[run]]))[:left - start]
        given = np.concatenate([order[:start], run[pick]])
    seats[units] = sure + np.bincount(who[given], minlength=t.size)
    return seats


def round_pool(values: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int,
               method: str, ids: Sequence[str]) -> np.ndarray:
    """Integer allocation of one pool: sums to ``total``, inside [lower, upper].

    ``values`` are what the method apportions: for ``hamilton`` the fair continuous values (they
    add up to ``total``), rounded first to 1e-6 posts so that two solvers (or the LP and the
    closed form) whose answers differ by floating-point noise give the same whole posts; for the
    divisor methods the targets, at any scale (see :func:`round_allocation`).

    >>> round_pool(np.array([1.0, 2.0, 3.0]), np.array([2.0, 0, 0]), np.full(3, np.inf), 3,
    ...            "dhondt", ("a", "b", "c")).tolist()
    [2, 0, 1]
    """
    values = np.asarray(values, dtype=float)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if method == "hamilton":
        seats = _hamilton(np.round(values, QUANTUM_DECIMALS), lower, upper, total, ids)
    elif method in METHODS:
        seats = _divisor(method, values, lower, upper, total, ids)
    else:
        raise ValueError(f"unknown rounding method '{method}' (use {', '.join(METHODS)})")
    return seats.astype(np.int64)


def rounded_values(method: str, exact: np.ndarray, target: np.ndarray) -> np.ndarray:
    """What ``method`` apportions: the fair continuous values for ``hamilton``, else the targets.

    >>> rounded_values("webster", np.array([2.0]), np.array([1.5])).tolist()
    [1.5]
    """
    return exact if method == "hamilton" else target


def round_allocation(problem: Problem, exact: np.ndarray, method: str) -> np.ndarray:
    """Whole posts for every unit: each pool rounded to its exact total with ``method``.

    Hamilton rounds the fair continuous values ``exact`` (largest remainders). A divisor method
    apportions each pool's total by the units' (unclipped) targets, with the integer bounds as
    minimum and maximum restrictions: one divisor d per pool with
    sum_i clamp(R(t_i / d), lower_i, upper_i) = the pool's total (Balinski-Young; Pukelsheim).
    """
    posts = np.zeros(len(problem), dtype=np.int64)
    for pool in problem.pools:
        m = pool.members
        values = rounded_values(method, exact[m], problem.target[m])
        posts[m] = round_pool(values, problem.lower[m], problem.upper[m], pool.total, method,
                              _Members(problem.ids, m))
    return posts


class _Members(Sequence[str]):
    """The ids of a pool's members, looked up one by one (only tied units need theirs)."""

    def __init__(self, ids: Sequence[str], members: np.ndarray):
        self.ids, self.members = ids, members

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, k):
        return self.ids[self.members[k]]
