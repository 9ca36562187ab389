"""Errors a user can act on. The CLI turns each into one line and an exit code.

>>> InputError("models/x.toml: unknown key 'cpa' (did you mean 'cap'?)").exit_code
2
"""

from __future__ import annotations


class AllocatorError(Exception):
    """Base class: a problem with the user's inputs, never a bug in the tool."""

    exit_code = 1


class InputError(AllocatorError):
    """The model file or the data table is invalid (exit code 2)."""

    exit_code = 2


class InfeasibleError(AllocatorError):
    """The constraints cannot all hold at once (exit code 3)."""

    exit_code = 3


class SolverError(AllocatorError):
    """The LP solver failed or stopped without a proven optimum (exit code 4)."""

    exit_code = 4


def did_you_mean(word: str, choices) -> str:
    """A " (did you mean 'x'?)" hint for the closest choice, or "".

    >>> did_you_mean("cpa", ["cap", "name"])
    " (did you mean 'cap'?)"
    """
    import difflib

    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
