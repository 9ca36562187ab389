"""Zero-based, fair staffing totals under a fixed cap.

>>> from allocator import allocate, load_model
"""

from allocator.api import AllocationResult, allocate
from allocator.config import ModelSpec, load_model
from allocator.errors import AllocatorError, InfeasibleError, InputError

__all__ = ["AllocationResult", "AllocatorError", "InfeasibleError", "InputError", "ModelSpec",
           "allocate", "load_model"]
