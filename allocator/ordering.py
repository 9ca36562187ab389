"""Canonical order of units: natural sort of their ids, so that no result depends on row order.

Only the ASCII digits 0-9 count as numbers; other digits (``①``, ``²``, ``١``, full-width ``１``)
sort as text.

>>> natural_key("A10") > natural_key("A9")
True
>>> sorted(["U10", "U2", "U1"], key=natural_key)
['U1', 'U2', 'U10']
>>> natural_order(["01", "U10", "1", "U9", "①"])
[0, 2, 3, 1, 4]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_NUMBER = re.compile(r"[0-9]+")
_PARTS = re.compile(r"([0-9]+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value ("U2" before "U10").

    >>> natural_key("①-1²")
    ((1, 0, '①-'), (0, 1, ''), (1, 0, '²'))
    """
    # re.split with one group alternates text and numbers: odd positions hold the numbers.
    return tuple((0, int(part), "") if k % 2 else (1, 0, part)
                 for k, part in enumerate(_PARTS.split(text)) if part)


def _number_code(match: re.Match) -> str:
    digits = match.group().lstrip("0")
    return "\x00" + chr(1 + len(digits)) + digits


def _flat_key(text: str) -> str:
    """One string that sorts as :func:`natural_key` does, for texts without NUL characters: each
    number becomes NUL, its length and its digits (NUL sorts before any text, a longer number
    after a shorter one)."""
    return _NUMBER.sub(_number_code, text)


def natural_order(ids: Sequence[str]) -> list[int]:
    """Positions of ``ids`` in canonical order: natural sort, then the text itself, so that ids
    that differ only in leading zeros ("01", "1") never depend on the row order. Each key is
    computed once and the sort runs in numpy.

    >>> natural_order(["10", "9", "09"])
    [2, 1, 0]
    """
    if not ids:
        return []
    if any("\x00" in i for i in ids):  # numpy strings drop trailing NULs: sort in Python
        return sorted(range(len(ids)), key=lambda r: (natural_key(ids[r]), ids[r]))
    keys = np.array([_flat_key(i) for i in ids])
    return np.lexsort((np.array(ids), keys)).tolist()
