"""Where the command line prints: standard output for results, standard error for errors and
progress.

Everything printed holds user text (names, cells, notes), so no console ever reads markup; styles
are given with ``style=``. Piped output gets a wide, fixed width so tables are not cut, and no
colour; progress is shown on a terminal only, and vanishes when the step is done, so that a
pipe or a log holds nothing but the result.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console

console = Console(markup=False, highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, markup=False, highlight=False,
                      width=None if sys.stderr.isatty() else 10_000)


def note(text: str) -> None:
    """Print a note line (e.g. that the comparison figures are illustrative)."""
    console.print(f"note: {text}", style="yellow", soft_wrap=True)


def shows_progress() -> bool:
    """Progress is drawn only when standard error is a terminal (not in pipes, logs, tests)."""
    return err_console.is_terminal and not err_console.is_dumb_terminal


@contextlib.contextmanager
def working(step: str) -> Iterator[Callable[[str], None]]:
    """A spinner on standard error naming the step under way, on a terminal only; yields the
    function that names the next step. It vanishes when the block ends.

    >>> with working("solving") as step:
    ...     step("writing")
    """
    if not shows_progress():
        yield lambda text: None
        return
    with err_console.status(step, spinner="dots") as status:
        yield lambda text: status.update(text)


def progress_bar(stack: contextlib.ExitStack, what: str = "scenarios"
                 ) -> Callable[[int, int], None] | None:
    """A progress bar on standard error for a long study, on a terminal only (None elsewhere);
    returns the callback the studies call with (done, total). It vanishes when ``stack`` closes.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    if not shows_progress():
        return None
    progress = stack.enter_context(Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err_console, transient=True))
    task = progress.add_task(what, total=None)
    return lambda done, total: progress.update(task, completed=done, total=total)
