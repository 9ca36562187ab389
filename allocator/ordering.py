"""Canonical order of units: natural sort of their ids, so that no result depends on row order.

>>> natural_key("A10") > natural_key("A9")
True
>>> sorted(["U10", "U2", "U1"], key=natural_key)
['U1', 'U2', 'U10']
"""

from __future__ import annotations

import re


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value ("U2" before "U10")."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text) if part)
