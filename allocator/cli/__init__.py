"""Command line: parses options, calls one library function per command, renders the result.

``app`` builds the commands (:mod:`allocator.cli.allocation`, :mod:`~allocator.cli.documents`,
:mod:`~allocator.cli.studies`) from the shared options (:mod:`allocator.cli.options`).
"""

from allocator.cli.app import app, main

__all__ = ["app", "main"]
