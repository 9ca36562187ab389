"""Audit: check an output folder against its inputs by writing it again from the files on disk.

``allocator verify`` covers every folder the tool writes (run, report, transition plan,
sensitivity study, derived weights): see :mod:`allocator.audit.folder` for what is compared and
:mod:`allocator.audit.files` for how a difference is named (file, row, column).

>>> from allocator.audit import MISMATCH_EXIT_CODE
>>> MISMATCH_EXIT_CODE
5
"""

from allocator.audit.folder import verify
from allocator.audit.records import MISMATCH_EXIT_CODE, Check, Verification

__all__ = ["MISMATCH_EXIT_CODE", "Check", "Verification", "verify"]
