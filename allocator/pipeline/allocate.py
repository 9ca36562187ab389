"""Library API: one call from a model to a fair, whole-post allocation.

>>> from pathlib import Path
>>> import allocator
>>> model = Path(allocator.__file__).parents[1] / "models" / "harbin_2020.toml"
>>> result = allocator.allocate(model, weights={"area": 0.3})
>>> int(result.posts.sum()), result.frame().loc[0, "id"]
(60806, '230102')
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.choices import Rounding, Solver
from allocator.core.assemble import build_problem
from allocator.core.constraints import ConstraintState, constrained_binding, constraint_states
from allocator.core.fair import FairSolution, solve_fair
from allocator.core.problem import Problem
from allocator.core.repair import RoundingRepair, round_within_constraints
from allocator.core.solvers import Status
from allocator.core.waterfill import binding_rules
from allocator.errors import InputError, did_you_mean
from allocator.overrides import Overrides
from allocator.schema import ModelSpec, load_model
from allocator.table import load_table
from allocator.units import UnitTable

COLUMNS = ("id", "label", "group", "target", "exact", "allocation", "actual", "difference",
           "change_pct", "binding")


@dataclass(frozen=True, eq=False)
class AllocationResult:
    """Everything one allocation produced. Nothing here is written back onto the model."""

    spec: ModelSpec
    table: UnitTable
    problem: Problem
    components: dict[str, np.ndarray]
    fair: FairSolution
    posts: np.ndarray
    binding: tuple[str, ...]
    overrides: Overrides = field(default_factory=Overrides)
    repair: RoundingRepair | None = None
    """What the integer repair after rounding did (None: the rounded posts met every constraint)."""

    @property
    def constraints(self) -> tuple[ConstraintState, ...]:
        """Each general constraint's value, bounds, binding side and dual (empty without any)."""
        return constraint_states(self.problem, self.fair.exact, self.posts, self.fair.duals)

    @property
    def status(self) -> Status:
        return self.fair.status

    @property
    def weights(self) -> dict[str, float]:
        """Indicator weights as used: final shares, summing to 1."""
        return self.spec.normalised_weights()

    @property
    def exact(self) -> np.ndarray:
        """The fair continuous allocation, before rounding to whole posts."""
        return self.fair.exact

    @property
    def lambdas(self) -> dict[str, float | None]:
        """Common ratio allocation/target per pool ('' = units outside fixed-total groups)."""
        return self.fair.lambdas

    @property
    def solver(self) -> str:
        return self.fair.solver

    @property
    def solver_version(self) -> str:
        return self.fair.solver_version

    def frame(self) -> pd.DataFrame:
        """One row per unit, in id order, with the stable columns of ``allocation.csv``."""
        n = len(self.table)
        actual = self.table.actual
        frame = pd.DataFrame({
            "id": list(self.table.ids),
            "label": list(self.table.labels) if self.table.labels else [None] * n,
            "group": list(self.table.groups) if self.table.groups else [None] * n,
            "target": self.problem.target,
            "exact": self.fair.exact,
            "allocation": self.posts,
        })
        if actual is not None:
            frame["actual"] = actual
            frame["difference"] = self.posts - actual
            with np.errstate(divide="ignore", invalid="ignore"):
                frame["change_pct"] = np.where(actual > 0, 100 * (self.posts - actual) / actual,
                                               np.nan)
        else:
            frame["actual"] = frame["difference"] = frame["change_pct"] = None
        frame["binding"] = list(self.binding)
        return frame[list(COLUMNS)]


def package_versions() -> dict[str, str]:
    """Versions of this package and of what the result depends on."""
    names = ("allocator", "pulp", "highspy", "numpy", "pandas", "pydantic")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything before the solve: the model with its overrides applied, its table, its problem
    and each target broken down by indicator."""

    spec: ModelSpec
    table: UnitTable
    problem: Problem
    components: dict[str, np.ndarray]
    overrides: Overrides


def prepare(model: ModelSpec | str | Path, overrides: Overrides | None = None, /,
            **fields: Any) -> Prepared:
    """Load a model (a TOML path or a :class:`ModelSpec`), apply ``overrides`` (or the same fields
    as keywords), read and check its table and build its problem; raise as :func:`allocate` does.
    Shared by every command."""
    given = replace(overrides or Overrides(), **fields)
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    spec = spec.with_overrides(given)
    table = load_table(spec)
    problem, components = build_problem(spec, table)
    return Prepared(spec, table, problem, components, given)


def solve(ready: Prepared, *, method: str = "auto") -> AllocationResult:
    """The rest of the pipeline for a prepared model: the fair allocation, then whole posts.

    ``method="auto"`` takes the certified closed form where it applies, ``"lp"`` always solves
    the LP sequence (see :func:`allocator.core.fair.solve_fair`)."""
    problem = ready.problem
    fair = solve_fair(problem, ready.spec.solver, method=method)
    posts, repair = round_within_constraints(problem, fair.exact, ready.spec.rounding,
                                             ready.spec.solver)
    return AllocationResult(spec=ready.spec, table=ready.table, problem=problem,
                            components=ready.components, fair=fair, posts=posts,
                            binding=binding_of(problem, fair.exact, posts),
                            overrides=ready.overrides, repair=repair)


def binding_of(problem: Problem, exact: np.ndarray,
               posts: np.ndarray | None = None) -> tuple[str, ...]:
    """What holds each unit: its own bound's rule (closed form) or, with general constraints,
    also the constraint that holds it (:func:`allocator.core.constraints.constrained_binding`).
    With ``posts``, a unit's own bound is named only where its whole posts sit at it
    (:func:`allocator.core.waterfill.binding_rules`)."""
    if problem.constraints:
        return constrained_binding(problem, exact, posts)[0]
    return binding_rules(problem, exact, posts)


@dataclass(frozen=True)
class LpCheck:
    """The same allocation re-solved by the LP sequence, compared with the result."""

    lp_solves: int
    largest_difference: float  # posts, between the two fair continuous allocations
    same_posts: bool

    def describe(self) -> str:
        """One line for the terminal."""
        verdict = "the same whole posts" if self.same_posts else "DIFFERENT whole posts"
        return (f"LP check: the LP sequence ({self.lp_solves} LP solves) gives {verdict}; the fair "
                f"values differ by at most {self.largest_difference:.1e} posts")


def check_with_lp(result: AllocationResult) -> LpCheck:
    """Re-solve ``result``'s problem by the LP sequence with its solver and compare.

    >>> from pathlib import Path
    >>> import allocator
    >>> r = allocator.allocate(Path(allocator.__file__).parents[1] / "models" / "harbin_2020.toml")
    >>> check_with_lp(r).same_posts
    True
    """
    lp = solve_fair(result.problem, result.spec.solver, method="lp")
    posts, _ = round_within_constraints(result.problem, lp.exact, result.spec.rounding,
                                        result.spec.solver)
    return LpCheck(lp_solves=lp.lp_solves,
                   largest_difference=float(np.max(np.abs(lp.exact - result.exact))),
                   same_posts=bool(np.array_equal(posts, result.posts)))


def allocate(
    model: ModelSpec | str | Path,
    *,
    weights: dict[str, float] | None = None,
    cap: int | None = None,
    solver: Solver | str | None = None,
    rounding: Rounding | str | None = None,
    group_totals: dict[str, int] | None = None,
) -> AllocationResult:
    """Fair whole-post allocation for a model (a path to a TOML file or a :class:`ModelSpec`).

    Keyword overrides (see :class:`~allocator.overrides.Overrides`) replace the model's weights
    (by indicator name, each its final share: the others share the rest in the model's
    proportions), cap, solver, rounding method or fixed group totals. Raises
    :class:`~allocator.errors.InputError` on invalid input and
    :class:`~allocator.errors.InfeasibleError` when the constraints cannot all hold.
    """
    return solve(prepare(model, Overrides(weights=weights, cap=cap, solver=solver,
                                          rounding=rounding, group_totals=group_totals)))


def unit_index(result: AllocationResult, unit: str) -> int:
    """Position of a unit given by id, name or English name; :class:`InputError` if none.

    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(table=SimpleNamespace(ids=("1", "2"), labels=("甲", "乙")))
    >>> unit_index(r, "乙"), unit_index(r, "1")
    (1, 0)
    """
    table = result.table
    key = str(unit).strip()
    if key in table.ids:
        return table.ids.index(key)
    if table.labels and key in table.labels:
        return table.labels.index(key)
    names = list(table.ids) + list(table.labels or ())
    raise InputError(f"no unit with id or name '{key}'{did_you_mean(key, names)}")
