"""The pipeline: model file -> unit table -> problem -> fair allocation -> whole posts.

:func:`allocate` runs it all; :func:`prepare` stops before the solve; :func:`validate` runs every
check of a run without solving.
"""

from allocator.pipeline.allocate import AllocationResult, Prepared, allocate, prepare
from allocator.pipeline.validate import Validation, validate

__all__ = ["AllocationResult", "Prepared", "Validation", "allocate", "prepare", "validate"]
