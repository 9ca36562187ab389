"""Command line: parses options, calls one library function per command, renders the result.

``app`` builds the commands (:mod:`allocator.cli.allocation`, :mod:`~allocator.cli.documents`,
:mod:`~allocator.cli.studies`) from the shared options (:mod:`allocator.cli.options`).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point. Ctrl-C at any moment, even while the modules load, ends the
    command with one line and exit code 130, never a traceback."""
    try:
        from allocator.cli.application import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


def __getattr__(name: str) -> Any:
    if name == "app":
        from allocator.cli.application import app

        return app
    raise AttributeError(f"module 'allocator.cli' has no attribute {name!r}")
