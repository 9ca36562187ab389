"""Where the command line prints: standard output for results, standard error for errors.

Everything printed holds user text (names, cells, notes), so no console ever reads markup; styles
are given with ``style=``. Piped output gets a wide, fixed width so tables are not cut.
"""

from __future__ import annotations

import sys

from rich.console import Console

console = Console(markup=False, highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, markup=False, highlight=False,
                      width=None if sys.stderr.isatty() else 10_000)


def note(text: str) -> None:
    """Print a note line (e.g. that the comparison figures are illustrative)."""
    console.print(f"note: {text}", style="yellow", soft_wrap=True)
