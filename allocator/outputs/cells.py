"""Cells that are safe in a spreadsheet: text that would start a formula gets an apostrophe.

>>> neutralise("=SUM(A1:A9)")
"'=SUM(A1:A9)"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FLOAT_FORMAT = "%.6f"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")



def neutralise(text: Any) -> Any:
    """Make a text cell safe for spreadsheets: a leading ``= + - @`` (or tab/CR) would start a
    formula, so such cells get a leading apostrophe. Numbers and non-text pass through.

    >>> neutralise("=SUM(A1:A9)"), neutralise("道里区"), neutralise(-3)
    ("'=SUM(A1:A9)", '道里区', -3)
    """
    if isinstance(text, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) passed through :func:`neutralise`;
    use it on every table that is exported.

    >>> import pandas as pd
    >>> neutralise_frame(pd.DataFrame({"name": ["=1+1", "ok"], "n": [-1, 2]})).to_dict("list")
    {'name': ["'=1+1", 'ok'], 'n': [-1, 2]}
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(c) for c in out.columns]
    return out
