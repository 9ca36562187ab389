"""Zero-based, fair staffing totals under a fixed cap.

>>> from allocator import allocate, load_model
>>> callable(allocate)
True

The heavy modules (pandas, PuLP) load on first use of a name, so that ``allocator --help`` starts
fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from allocator.errors import AllocatorError, InfeasibleError, InputError, SolverError

if TYPE_CHECKING:
    from allocator.pipeline.allocate import AllocationResult, allocate
    from allocator.schema import ModelSpec, load_model

_LAZY = {
    "AllocationResult": "allocator.pipeline.allocate",
    "allocate": "allocator.pipeline.allocate",
    "ModelSpec": "allocator.schema",
    "load_model": "allocator.schema",
}

__all__ = ["AllocationResult", "AllocatorError", "InfeasibleError", "InputError", "ModelSpec",
           "SolverError", "allocate", "load_model"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'allocator' has no attribute {name!r}")
