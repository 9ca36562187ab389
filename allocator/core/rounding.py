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

import numpy as np

from allocator.core.problem import Problem
from allocator.ordering import natural_key

METHODS = ("hamilton", "webster", "dhondt", "huntington-hill")
SNAP = 1e-7  # exact values this close to an integer count as that integer
QUANTUM_DECIMALS = 6  # exact values are compared at 1e-6 posts: solver noise cannot reorder them


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


def _hamilton(exact, lower, upper, total, keys):
    base = np.clip(np.floor(exact + SNAP), lower, upper)
    left = int(round(total - base.sum()))
    if left < 0:
        raise ValueError("exact values exceed the pool total")
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - base[i]), -exact[i], keys[i]))
    for i in order:
        if left == 0:
            break
        if base[i] < upper[i]:
            base[i] += 1
            left -= 1
    return base


def _divisor(method, exact, lower, upper, total, keys):
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
    order = sorted(range(len(exact)), key=lambda i: (-exact[i], keys[i]))
    rank = np.empty(len(exact), dtype=int)
    rank[order] = np.arange(len(exact))  # 0 = first in line for a post when priorities tie

    def priority(i, k):  # claim of unit i to its (k + 1)-th post
        sign = float(_signpost(method, np.array(k, dtype=float)))
        # 12 significant digits: claims equal in exact arithmetic must tie, then rank decides.
        return math.inf if sign == 0 else float(f"{exact[i] / sign:.12g}")

    left = int(round(total - seats.sum()))
    if left > 0:
        heap = [(-priority(i, seats[i]), rank[i], i) for i in range(len(exact)) if seats[i] < upper[i]]
        heapq.heapify(heap)
        while left > 0:
            _, _, i = heapq.heappop(heap)
            seats[i] += 1
            left -= 1
            if seats[i] < upper[i]:
                heapq.heappush(heap, (-priority(i, seats[i]), rank[i], i))
    elif left < 0:
        # Only Huntington-Hill gets here: its first post has an infinite claim, so with fewer posts
        # than units the weakest claims give their posts back.
        heap = [(priority(i, seats[i] - 1), -rank[i], i) for i in range(len(exact))
                if seats[i] > lower[i]]
        heapq.heapify(heap)
        while left < 0:
            _, _, i = heapq.heappop(heap)
            seats[i] -= 1
            left += 1
            if seats[i] > lower[i]:
                heapq.heappush(heap, (priority(i, seats[i] - 1), -rank[i], i))
    return seats


def round_pool(exact: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int,
               method: str, ids: tuple[str, ...]) -> np.ndarray:
    """Integer allocation of one pool: sums to ``total``, inside [lower, upper].

    Exact values are first rounded to 1e-6 posts, so that two solvers (or the LP and the closed
    form) whose answers differ by floating-point noise give the same whole posts.
    """
    exact = np.round(np.asarray(exact, dtype=float), QUANTUM_DECIMALS)
    keys = [natural_key(i) for i in ids]
    if method == "hamilton":
        seats = _hamilton(exact, lower, upper, total, keys)
    elif method in METHODS:
        seats = _divisor(method, exact, lower, upper, total, keys)
    else:
        raise ValueError(f"unknown rounding method '{method}' (use {', '.join(METHODS)})")
    return seats.astype(np.int64)


def round_allocation(problem: Problem, exact: np.ndarray, method: str) -> np.ndarray:
    """Whole posts for every unit: each pool rounded to its exact total with ``method``."""
    posts = np.zeros(len(problem), dtype=np.int64)
    for pool in problem.pools:
        m = pool.members
        posts[m] = round_pool(exact[m], problem.lower[m], problem.upper[m], pool.total, method,
                              tuple(problem.ids[i] for i in m))
    return posts
