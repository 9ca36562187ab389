"""Targets stage: weighted indicator shares and zero-based targets.

share_i = sum_k w_k * f_k(a_ik) / sum_j f_k(a_jk);  target_i = share_i * allocatable cap.

>>> import numpy as np
>>> parts = target_components({"pop": np.array([1.0, 3.0])}, {"pop": 1.0}, {"pop": "linear"}, 100)
>>> parts["pop"].tolist()
[25.0, 75.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def _linear(values: np.ndarray) -> np.ndarray:
    return values


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": _linear,
    "sqrt": np.sqrt,
    # log1p keeps a zero at zero and every value non-negative.
    "log": np.log1p,
}


def transform(values: np.ndarray, name: str) -> np.ndarray:
    """Apply an indicator transform: ``linear``, ``sqrt`` or ``log`` (that is, ln(1 + a))."""
    return TRANSFORMS[name](np.asarray(values, dtype=float))


def target_components(
    indicators: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    transforms: Mapping[str, str],
    allocatable: float,
) -> dict[str, np.ndarray]:
    """Posts of each unit's target that come from each indicator; they add up to the target.

    ``weights`` must already be normalised to sum to 1.
    """
    parts = {}
    for name, values in indicators.items():
        damped = transform(values, transforms[name])
        parts[name] = weights[name] * allocatable * damped / damped.sum()
    return parts


def targets(parts: dict[str, np.ndarray]) -> np.ndarray:
    """Zero-based targets: the sum of the indicator components.

    >>> targets({"a": np.array([1.0, 2.0]), "b": np.array([0.5, 0.5])}).tolist()
    [1.5, 2.5]
    """
    return np.sum(np.vstack(list(parts.values())), axis=0)
