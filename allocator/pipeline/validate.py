"""Validate a model without solving: every input check and the feasibility diagnosis.

>>> v = validate("models/harbin_2020.toml")
>>> len(v.table), v.lines()[-1]
(18, 'every check passed: the bounds and totals can all hold')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.core.problem import Problem
from allocator.overrides import Overrides
from allocator.pipeline.allocate import prepare
from allocator.schema import ModelSpec
from allocator.units import UnitTable


@dataclass(frozen=True, eq=False)
class Validation:
    """A model that passed every check: its spec, its table and the problem it defines."""

    spec: ModelSpec
    table: UnitTable
    problem: Problem

    def lines(self) -> list[str]:
        """A short human-readable summary, one fact per line."""
        spec, table, problem = self.spec, self.table, self.problem
        weights = ", ".join(f"{k} {v:.4g}" for k, v in spec.normalised_weights().items())
        out = [
            f"model: {spec.source or spec.name} ({spec.name})",
            f"data: {table.path}, {len(table):,} units, sha256 {table.sha256[:12]}",
            f"weights: {weights}",
            f"cap: {spec.cap:,}, reserve {spec.reserve_posts:,}, allocatable {spec.allocatable_cap:,}",
        ]
        for pool in problem.pools:
            m = pool.members
            name = f"group '{pool.name}'" if pool.name else "other units" if any(
                p.name for p in problem.pools) else "all units"
            high = problem.upper[m].sum()
            upper = f"upper bounds allow {high:,.0f}" if high < float("inf") else \
                "not every unit has an upper bound"
            out.append(f"{name}: {len(m):,} units share {pool.total:,} posts; lower bounds add up "
                       f"to {problem.lower[m].sum():,.0f}, {upper}")
        if problem.constraints:
            names = ", ".join(c.name for c in problem.constraints[:5])
            more = f" and {len(problem.constraints) - 5} more" if len(problem.constraints) > 5 else ""
            out.append(f"{len(problem.constraints)} general constraints ({names}{more}) can hold "
                       "together with the bounds and totals")
        out.append("every check passed: the bounds and totals can all hold")
        return out


def validate(model: ModelSpec | str | Path, overrides: Overrides | None = None, /,
             **fields: Any) -> Validation:
    """Run every check that :func:`allocator.allocate` runs before solving, and nothing more;
    ``overrides`` (or the same fields as keywords) as for :func:`prepare`.

    Raises :class:`~allocator.errors.InputError` (invalid model or data) or
    :class:`~allocator.errors.InfeasibleError` (with the diagnosis) exactly as a run would.
    """
    ready = prepare(model, overrides, **fields)
    spec, table, problem = ready.spec, ready.table, ready.problem
    return Validation(spec=spec, table=table, problem=problem)
