"""Explanation stage: why a unit gets the posts it gets.

Each unit's allocation is split into parts that add up to it exactly:

1. its zero-based target, by indicator (posts from population, from area, ...);
2. ``scaling``: (lambda_all - 1) * target, where lambda_all is the common ratio every unit would
   share if the whole allocatable cap were one pool (the "one ruler");
3. ``group_total``: (lambda_pool - lambda_all) * target, the effect of the fixed group totals
   (zero when the model has none);
4. ``floor``, ``ceiling``, ``change_limit``, ``density`` (min_per_10k, max_per_10k):
   exact - lambda_pool * target for a unit that one of those bounds holds away from its pool's
   common ratio;
5. ``rounding``: whole posts less the exact fair value.

With general constraints (:mod:`allocator.core.constraints`), ``group_total`` is the effect of
the fixed totals on the closed form's ratio (lambda0_pool - lambda_all) * target, and three more
kinds of step come between it and the unit's own bound:

* ``constraints``: (ruler - lambda0_pool) * target, how the constraints move the common ratio of
  the units that none of them holds (the posts the held units take or give back);
* ``group_bound``, ``equal_cut``, ``constraint``: one step per constraint on the way from the
  ruler to the ratio of the unit's class (:class:`~allocator.core.constraints.Holding`), e.g. an
  equal-cut rule moves all districts, then a named constraint the core districts among them;
* the own-bound step is then taken from the class's ratio, not the pool's.

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

from allocator.core.constraints import holding, step_of
from allocator.core.problem import Problem
from allocator.core.waterfill import fill_level

STEPS = ("scaling", "group_total", "constraints", "group_bound", "equal_cut", "constraint",
         "floor", "ceiling", "change_limit", "density", "rounding")
RULE_STEP = {"floor": "floor", "ceiling": "ceiling", "max_cut": "change_limit",
             "max_increase": "change_limit", "min_per_10k": "density", "max_per_10k": "density"}


def step_for(rule: str) -> str:
    """The explanation step of a binding label.

    >>> step_for("max_cut"), step_for("min_per_10k"), step_for("group_max:district")
    ('change_limit', 'density', 'group_bound')
    """
    return RULE_STEP.get(rule) or step_of(rule)


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
    if p.constraints:
        return _explain_constrained(result)
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
    for step in ("floor", "ceiling", "change_limit", "density"):
        if any(RULE_STEP.get(r) == step for r in rules):
            steps[step] = np.zeros(len(p))
    binding = np.asarray(result.binding, dtype=object)
    held = binding != ""
    for rule in dict.fromkeys(binding[held].tolist()):  # in order of first appearance
        held_by = steps.setdefault(step_for(rule), np.zeros(len(p)))
        by_rule = binding == rule
        held_by[by_rule] = exact[by_rule] - lam_pool[by_rule] * t[by_rule]
    before_rounding = t + sum(steps.values())
    steps["rounding"] = posts - before_rounding
    return Explanation(ids=p.ids, components=dict(result.components), target=t, steps=steps,
                       allocation=result.posts, lambda_all=float(lambda_all), lambdas=lambdas)


def _explain_constrained(result: Explainable) -> Explanation:
    """The breakdown with general constraints: closed-form ratios without them, then the ruler,
    the constraints on the way to each unit's class ratio, its own bound, rounding."""
    p = result.problem
    t = p.target
    n = len(p)
    exact = result.exact
    h = holding(p, exact)
    free_ratio = np.empty(n)  # lambda0: each pool's closed form without the constraints
    lambdas: dict[str, float] = {}
    for pool in p.pools:
        m = pool.members
        free_ratio[m] = fill_level(t[m], p.lower[m], p.upper[m], pool.total)
        lambdas[pool.name] = float(h.reference[m][0]) if m.size else float(free_ratio[m][0])
    fixed_groups = any(pool.name for pool in p.pools)
    lambda_all = fill_level(t, p.lower, p.upper, p.total) if fixed_groups else float(free_ratio[0])
    steps = {"scaling": (lambda_all - 1) * t}
    if fixed_groups:
        steps["group_total"] = (free_ratio - lambda_all) * t
    shift = (h.reference - free_ratio) * t
    if np.any(np.abs(shift) > 1e-9 * np.maximum(1.0, t)):  # only when the ruler moved
        steps["constraints"] = shift
    rules = set(p.lower_rule) | set(p.upper_rule)
    for step in STEPS:
        if step not in steps and step != "rounding" and (
                any(RULE_STEP.get(r) == step for r in rules) or
                any(step_of(label) == step for chain in h.chain for label, _ in chain)):
            steps[step] = np.zeros(n)
    for i in range(n):
        before = float(h.reference[i])
        last = "constraints" if "constraints" in steps else "scaling"
        for label, ratio in h.chain[i]:
            last = step_of(label)
            steps[last][i] += (ratio - before) * t[i]
            before = ratio
        own = h.binding[i]
        if own and (not h.chain[i] or own != h.chain[i][-1][0]):
            last = step_for(own)
            steps.setdefault(last, np.zeros(n))
        steps[last][i] += exact[i] - before * t[i]
    steps["rounding"] = result.posts.astype(float) - (t + sum(steps.values()))
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
