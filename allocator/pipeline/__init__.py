"""The pipeline: model file -> unit table -> problem -> fair allocation -> whole posts.

:func:`allocate` runs it all; :func:`prepare` stops before the solve and :func:`solve` finishes
from there; :func:`validate` runs every check of a run without solving; :func:`plan_transition`
projects the way from today's staff to the allocation, year by year (a :class:`TransitionPlan`).
Each takes the run's :class:`~allocator.overrides.Overrides`.
"""

from allocator.overrides import Overrides
from allocator.pipeline.allocate import AllocationResult, Prepared, allocate, prepare, solve
from allocator.pipeline.transition import TransitionPlan, plan_transition
from allocator.pipeline.validate import Validation, validate

__all__ = ["AllocationResult", "Overrides", "Prepared", "TransitionPlan", "Validation", "allocate",
           "plan_transition", "prepare", "solve", "validate"]
