"""Explanation stage: why a unit gets the posts it gets.

Each unit's allocation is split into parts that add up to it exactly:

1. its zero-based target, by indicator (posts from population, from area, ...);
2. ``scaling``: (lambda_all - 1) * target, where lambda_all is the common ratio every unit would
   share if the whole allocatable cap were one pool (the "one ruler");
3. ``group_total``: (lambda_pool - lambda_all) * target, the effect of the fixed group totals
   (zero when the model has none);
4. ``floor``, ``ceiling``, ``change_limit``: exact - lambda_pool * target for a unit that one of
   those bounds holds away from its pool's common ratio;
5. ``rounding``: whole posts less the exact fair value.

>>> from allocator import allocate
>>> result = allocate("models/harbin_2020.toml")              # doctest: +SKIP
>>> e = explain(result)                                        # doctest: +SKIP
>>> round(sum(v for _, v in e.parts(0)), 9) == result.posts[0]  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from allocator.core.problem import Problem
from allocator.core.waterfill import fill_level

STEPS = ("scaling", "group_total", "floor", "ceiling", "change_limit", "rounding")
RULE_STEP = {"floor": "floor", "ceiling": "ceiling", "max_cut": "change_limit",
             "max_increase": "change_limit"}


class Explainable(Protocol):
    """What an explanation reads from an allocation (an :class:`~allocator.AllocationResult`)."""

    @property
    def problem(self) -> Problem: ...
    @property
    def components(self) -> Mapping[str, np.ndarray]: ...
    @property
    def exact(self) -> np.ndarray: ...
    @property
    def posts(self) -> np.ndarray: ...
    @property
    def binding(self) -> tuple[str, ...]: ...
    @property
    def lambdas(self) -> Mapping[str, float | None]: ...


@dataclass(frozen=True, eq=False)
class Explanation:
    """Target by indicator and the adjustments from target to allocation, per unit."""

    ids: tuple[str, ...]
    components: dict[str, np.ndarray]
    target: np.ndarray
    steps: dict[str, np.ndarray]
    allocation: np.ndarray
    lambda_all: float
    lambdas: dict[str, float]

    def parts(self, i: int) -> list[tuple[str, float]]:
        """``(name, posts)`` for unit ``i``: indicators, then adjustments; they sum to its posts."""
        return ([(k, float(v[i])) for k, v in self.components.items()]
                + [(k, float(v[i])) for k, v in self.steps.items()])


def explain(result: Explainable) -> Explanation:
    """Break every unit's allocation down into its target's indicator parts and adjustments.

    Only the steps the model can produce are listed (``group_total`` needs fixed group totals,
    ``floor`` a floor, ...); ``scaling`` and ``rounding`` are always there.
    """
    p = result.problem
    t = p.target
    exact = result.exact
    posts = result.posts.astype(float)
    rules = set(p.lower_rule) | set(p.upper_rule)
    fixed_groups = any(pool.name for pool in p.pools)

    lam_pool = np.empty(len(p))
    lambdas: dict[str, float] = {}
    for pool in p.pools:
        m = pool.members
        lam = result.lambdas.get(pool.name)
        if lam is None:
            lam = fill_level(t[m], p.lower[m], p.upper[m], pool.total)
        lambdas[pool.name] = lam
        lam_pool[m] = lam
    # With fixed group totals, lambda_all is the ratio one pool over every unit would give.
    lambda_all = fill_level(t, p.lower, p.upper, p.total) if fixed_groups else float(lam_pool[0])

    steps = {"scaling": (lambda_all - 1) * t}
    if fixed_groups:
        steps["group_total"] = (lam_pool - lambda_all) * t
    for step in ("floor", "ceiling", "change_limit"):
        if any(RULE_STEP.get(r) == step for r in rules):
            steps[step] = np.zeros(len(p))
    binding = np.asarray(result.binding, dtype=object)
    held = binding != ""
    for rule in dict.fromkeys(binding[held].tolist()):  # in order of first appearance
        adjustment = steps.setdefault(RULE_STEP.get(rule, rule), np.zeros(len(p)))
        by_rule = binding == rule
        adjustment[by_rule] = exact[by_rule] - lam_pool[by_rule] * t[by_rule]
    before_rounding = t + sum(steps.values())
    steps["rounding"] = posts - before_rounding
    return Explanation(ids=p.ids, components=dict(result.components), target=t, steps=steps,
                       allocation=result.posts, lambda_all=float(lambda_all), lambdas=lambdas)


def split_tenths(parts: Sequence[float], total_tenths: int) -> list[int]:
    """Round ``parts`` to whole tenths that add up to ``total_tenths`` (largest remainder).

    Used so that the displayed parts of an explanation add up to the displayed total exactly.

    >>> split_tenths([0.33, 0.33, 0.34], 10)
    [3, 3, 4]
    >>> split_tenths([12.26, -2.26], 100)
    [123, -23]
    """
    scaled = [10 * float(v) for v in parts]
    base = [int(np.floor(v)) for v in scaled]
    left = total_tenths - sum(base)
    order = sorted(range(len(parts)), key=lambda i: (-(scaled[i] - base[i]), i))
    if left >= 0:
        for i in order[:left]:
            base[i] += 1
    else:  # parts exceed the total: take tenths back from the smallest remainders
        for i in order[::-1][:-left]:
            base[i] -= 1
    return base
