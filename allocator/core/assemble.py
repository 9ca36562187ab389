"""Assemble one allocation problem from a model and its unit table, and check it can hold.

Targets come from the weighted indicator shares (:mod:`allocator.core.targets`), integer bounds and
pools from :mod:`allocator.core.problem`, general constraints from :mod:`allocator.core.constraints`;
:func:`build_problem` refuses a problem whose constraints cannot all hold, explaining why
(:mod:`allocator.core.feasibility` for bounds and totals, :mod:`allocator.core.constraint_diagnosis`
for the general constraints).
"""

from __future__ import annotations

import numpy as np

from allocator.core.constraint_diagnosis import check_constraints
from allocator.core.constraints import build_constraints
from allocator.core.feasibility import check_feasible
from allocator.core.problem import MIN_TARGET, Problem, build_pools, unit_bounds
from allocator.core.targets import target_components, targets
from allocator.errors import InputError
from allocator.schema import ModelSpec
from allocator.units import UnitTable


def build_problem(spec: ModelSpec, table: UnitTable) -> tuple[Problem, dict[str, np.ndarray]]:
    """The allocation problem and each unit's target broken down by indicator."""
    weights = spec.normalised_weights()
    transforms = {name: ind.transform.value for name, ind in spec.indicators.items()}
    parts = target_components(table.indicators, weights, transforms, spec.allocatable_cap)
    target = targets(parts)
    if not np.all(np.isfinite(target)):
        raise InputError(f"{table.path}: the indicator values are too large to add up; "
                         "give them in larger units (e.g. 10,000 people)")
    for i in np.flatnonzero(target <= 0):
        raise InputError(
            f"{table.path}: unit {table.ids[i]} is zero on every weighted indicator, so its "
            "zero-based target is 0; give it a positive value or drop it"
        )
    for i in np.flatnonzero(target < MIN_TARGET):
        raise InputError(
            f"{table.path}: unit {table.ids[i]} has a zero-based target of only {target[i]:.1e} "
            "posts (it is nearly zero on every weighted indicator); give it a larger value or "
            "drop it"
        )
    lower, upper, lower_rule, upper_rule = unit_bounds(spec, table)
    problem = Problem(
        ids=table.ids,
        target=target,
        lower=lower,
        upper=upper,
        lower_rule=lower_rule,
        upper_rule=upper_rule,
        pools=build_pools(spec, table),
        total=spec.allocatable_cap,
        constraints=build_constraints(spec, table),
    )
    check_feasible(problem, table.labels, spec=spec, table=table, solver=spec.solver)
    check_constraints(problem, spec.solver)
    return problem, parts
