"""Equity of a distribution across units: coefficient of variation and Gini coefficient.

>>> import numpy as np
>>> round(gini(np.array([1.0, 1.0, 1.0])), 12), round(coefficient_of_variation(np.array([1.0, 3.0])), 3)
(0.0, 0.5)
"""

from __future__ import annotations

import numpy as np


def coefficient_of_variation(values: np.ndarray) -> float | None:
    """Standard deviation (population form) over the mean; None when the mean is 0.

    >>> round(coefficient_of_variation(np.array([1.0, 3.0])), 6)
    0.5
    """
    values = np.asarray(values, dtype=float)
    mean = values.mean() if values.size else 0.0
    return float(values.std() / mean) if mean > 0 else None


def gini(values: np.ndarray) -> float | None:
    """Gini coefficient of non-negative values, each unit counted once (0 = all equal; None
    when all are 0).

    >>> gini(np.array([1.0, 1.0, 1.0])), round(gini(np.array([0.0, 0.0, 0.0, 4.0])), 6)
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    if n == 0 or x.sum() <= 0:
        return None
    ranks = np.arange(1, n + 1)
    return float(2 * np.sum(ranks * x) / (n * x.sum()) - (n + 1) / n)
