"""Round stage: whole posts that add up exactly to each pool's total, inside integer bounds.

Methods (an apportionment problem; Balinski-Young: no method has every good property):

* ``hamilton`` (largest remainder, default): every unit within one post of its exact value
  (quota); can lose a post when the cap grows (Alabama paradox).
* ``webster`` (Sainte-Lague), ``dhondt`` (Jefferson), ``huntington-hill``: divisor methods; never
  show the Alabama or population paradox, but can move a unit more than one post from its exact
  value. D'Hondt favours large units, Huntington-Hill small ones, Webster neither.

Ties are broken by larger exact value, then by unit id (natural order), never by row order.

>>> import numpy as np
>>> round_pool(np.array([1.5, 1.5, 3.0]), np.zeros(3), np.full(3, np.inf), 6, "hamilton",
...            ("b", "a", "c")).tolist()
[1, 2, 3]
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np

from allocator.core.problem import Problem
from allocator.ordering import natural_key

METHODS = ("hamilton", "webster", "dhondt", "huntington-hill")
SNAP = 1e-7  # exact values this close to an integer count as that integer
QUANTUM_DECIMALS = 6  # exact values are compared at 1e-6 posts: solver noise cannot reorder them
MARGIN = 1e-9  # relative: claims this close to the deciding one are ranked exactly, one by one


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
    first in natural id order (``key_rank``).

    >>> batch_hamilton(np.array([[1.5, 1.5, 3.0]]), np.zeros(3), np.full(3, np.inf), 6,
    ...                np.array([1, 0, 2])).tolist()
    [[1, 2, 3]]
    """
    e = np.round(np.asarray(exact, dtype=float), QUANTUM_DECIMALS)
    base, left = _hamilton_base(e, lower, upper, total)
    keys = np.broadcast_to(key_rank, e.shape)
    order = np.lexsort((keys, -e, -(e - base)), axis=-1)
    return _hand_out(base, upper, left, order).astype(np.int64)


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


def _claims(method, exact, seats):
    """Each unit's claim exact / signpost(seats) (inf where the signpost is 0), as floats."""
    sign = _signpost(method, seats)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sign == 0, np.inf, exact / np.where(sign == 0, 1.0, sign))


def _contenders(claims: np.ndarray, count: int, largest: bool) -> np.ndarray:
    """Positions whose claim can be among the ``count`` largest (or smallest) ones."""
    if count >= claims.size:
        return np.arange(claims.size)
    if largest:
        edge = np.partition(claims, claims.size - count)[claims.size - count]
        return np.flatnonzero(claims >= edge * (1 - MARGIN))
    edge = np.partition(claims, count - 1)[count - 1]
    return np.flatnonzero(claims <= edge * (1 + MARGIN))


def _divisor(method, exact, lower, upper, total, ids):
    def count(d):
        return np.clip(_divisor_count(method, exact / d), lower, upper)

    low_d, high_d = 1e-12, max(1.0, float(exact.max())) * 4 + 1
    for _ in range(200):  # the smallest divisor whose allocation does not exceed the total
        mid = math.sqrt(low_d * high_d)
        if count(mid).sum() > total:
            low_d = mid
        else:
            high_d = mid
        if high_d / low_d < 1 + 1e-15:
            break
    # A slightly larger divisor leaves claims that tie (up to rounding noise) at the boundary to
    # the priority queue below, where ties are broken by rank, not by floating-point accident.
    seats = count(high_d * (1 + 1e-9))
    left = int(round(total - seats.sum()))
    if left == 0:
        return seats
    # Only units whose claim is near the deciding one can take (or give back) a post: the queue
    # holds those. Rank among them: larger exact value first, then natural id order.
    if left > 0:
        open_ = np.flatnonzero(seats < upper)
        units = open_[_contenders(_claims(method, exact[open_], seats[open_]), left, largest=True)]
    else:
        open_ = np.flatnonzero(seats > lower)
        units = open_[_contenders(_claims(method, exact[open_], seats[open_] - 1), -left, largest=False)]
    by_size = units[np.argsort(-exact[units], kind="stable")]
    by_size = natural_ties(by_size, (-exact,), ids)
    rank = dict(zip(by_size.tolist(), range(by_size.size), strict=True))

    def priority(i, k):  # claim of unit i to its (k + 1)-th post
        sign = float(_signpost(method, np.array(k, dtype=float)))
        # 12 significant digits: claims equal in exact arithmetic must tie, then rank decides.
        return math.inf if sign == 0 else float(f"{exact[i] / sign:.12g}")

    if left > 0:
        heap = [(-priority(i, seats[i]), rank[i], i) for i in by_size.tolist()]
        heapq.heapify(heap)
        while left > 0:
            _, _, i = heapq.heappop(heap)
            seats[i] += 1
            left -= 1
            if seats[i] < upper[i]:
                heapq.heappush(heap, (-priority(i, seats[i]), rank[i], i))
    else:
        # Only Huntington-Hill gets here: its first post has an infinite claim, so with fewer posts
        # than units the weakest claims give their posts back.
        heap = [(priority(i, seats[i] - 1), -rank[i], i) for i in by_size.tolist()]
        heapq.heapify(heap)
        while left < 0:
            _, _, i = heapq.heappop(heap)
            seats[i] -= 1
            left += 1
            if seats[i] > lower[i]:
                heapq.heappush(heap, (priority(i, seats[i] - 1), -rank[i], i))
    return seats


def round_pool(exact: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int,
               method: str, ids: Sequence[str]) -> np.ndarray:
    """Integer allocation of one pool: sums to ``total``, inside [lower, upper].

    Exact values are first rounded to 1e-6 posts, so that two solvers (or the LP and the closed
    form) whose answers differ by floating-point noise give the same whole posts.
    """
    exact = np.round(np.asarray(exact, dtype=float), QUANTUM_DECIMALS)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if method == "hamilton":
        seats = _hamilton(exact, lower, upper, total, ids)
    elif method in METHODS:
        seats = _divisor(method, exact, lower, upper, total, ids)
    else:
        raise ValueError(f"unknown rounding method '{method}' (use {', '.join(METHODS)})")
    return seats.astype(np.int64)


def round_allocation(problem: Problem, exact: np.ndarray, method: str) -> np.ndarray:
    """Whole posts for every unit: each pool rounded to its exact total with ``method``."""
    posts = np.zeros(len(problem), dtype=np.int64)
    for pool in problem.pools:
        m = pool.members
        posts[m] = round_pool(exact[m], problem.lower[m], problem.upper[m], pool.total, method,
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
