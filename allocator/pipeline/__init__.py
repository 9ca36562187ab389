"""The pipeline: model file -> unit table -> problem -> fair allocation -> whole posts.

:func:`allocate` runs it all; :func:`prepare` stops before the solve and :func:`solve` finishes
from there; :func:`validate` runs every check of a run without solving. Each takes the run's
:class:`~allocator.overrides.Overrides`.
"""

from allocator.overrides import Overrides
from allocator.pipeline.allocate import AllocationResult, Prepared, allocate, prepare, solve
from allocator.pipeline.validate import Validation, validate

__all__ = ["AllocationResult", "Overrides", "Prepared", "Validation", "allocate", "prepare", "solve",
           "validate"]
