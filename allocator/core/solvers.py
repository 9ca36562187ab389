"""Solver construction: the one place that builds a HiGHS or CBC solver for PuLP, used by the fair
LP and the elastic diagnosis alike, and the status a solve ends in.

>>> make_solver("cbc").name
'PULP_CBC_CMD'
"""

from __future__ import annotations

import enum
import functools
import os
import sys
import warnings
from importlib import metadata
from typing import Any

import numpy as np
import pulp

from allocator.errors import SolverError


class Status(enum.Enum):
    """Outcome of a finished solve. There is one: an infeasible model raises
    :class:`~allocator.errors.InfeasibleError` and a failed solve :class:`SolverError` instead."""

    OPTIMAL = "optimal"


def solver_version(name: str) -> str:
    """Version string of the solver backend, e.g. ``highspy 1.7.2``."""
    if name == "highs":
        try:
            return f"highspy {metadata.version('highspy')}"
        except metadata.PackageNotFoundError:
            return "highspy (unknown version)"
    return f"CBC bundled with PuLP {pulp.__version__}"


@functools.cache
def silence_highs_banner() -> None:
    """HiGHS prints a banner to the C-level stdout on its first construction in a process;
    construct it once with stdout pointed at /dev/null so that it never reaches a report."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def make_highs(method: str = "ipm") -> Any:
    """A quiet in-process HiGHS (``highspy.Highs``) for LPs built from arrays; ``method`` as in
    :func:`make_solver` (interior point with crossover: a vertex solution, basic duals)."""
    import highspy

    silence_highs_banner()
    highs = highspy.Highs()
    for option, setting in (("output_flag", False), ("solver", method), ("run_crossover", "on")):
        highs.setOptionValue(option, setting)
    return highs


def make_solver(name: str, *, method: str = "ipm") -> pulp.LpSolver:
    """A PuLP solver for ``name`` (``highs`` or ``cbc``), quiet; ``method`` is HiGHS's LP algorithm
    (``ipm`` with crossover gives a vertex solution, so duals are basic as with CBC)."""
    if name == "highs":
        silence_highs_banner()
        # Interior point with crossover: a vertex solution (so duals are basic, as with CBC),
        # and about twice as fast as simplex on these highly degenerate min-max LPs.
        solver = pulp.HiGHS(msg=False, solver=method, run_crossover="on")
    elif name == "cbc":
        with warnings.catch_warnings():  # PuLP 3.x announces CBC's move in 4.0 on every call
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(msg=False)
    else:
        raise SolverError(f"unknown solver '{name}' (use highs or cbc)")
    if not solver.available():
        raise SolverError(f"solver '{name}' is not available on this machine")
    return solver


def run_highs(lp: Any, method: str = "ipm") -> tuple[np.ndarray, np.ndarray] | None:
    """Solve a ``highspy.HighsLp`` on a :func:`make_highs` solver: ``(column values, absolute row
    duals)``, or None when it is infeasible; :class:`SolverError` when HiGHS stops without an
    optimum."""
    import highspy

    h = make_highs(method)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return None
    solution = h.getSolution()
    if status != highspy.HighsModelStatus.kOptimal or not solution.value_valid:
        raise SolverError(f"highs stopped without an optimum (status "
                          f"{h.modelStatusToString(status)})")
    return np.asarray(solution.col_value), np.abs(np.asarray(solution.row_dual))


MIP_SECONDS = 60  # a small integer program that takes longer is reported, not trusted


def make_mip_solver(name: str) -> pulp.LpSolver:
    """A PuLP solver for a small integer program (``highs`` or ``cbc``), quiet, that proves
    optimality to the last unit (no relative or absolute gap), so that both give the same answer
    when it is unique; it stops after MIP_SECONDS (check ``sol_status``).

    >>> make_mip_solver("cbc").name
    'PULP_CBC_CMD'
    """
    if name == "highs":
        silence_highs_banner()
        solver = pulp.HiGHS(msg=False, gapRel=0.0, gapAbs=0.0, timeLimit=MIP_SECONDS)
    elif name == "cbc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(msg=False, gapRel=0.0, gapAbs=0.0, timeLimit=MIP_SECONDS)
    else:
        raise SolverError(f"unknown solver '{name}' (use highs or cbc)")
    if not solver.available():
        raise SolverError(f"solver '{name}' is not available on this machine")
    return solver
