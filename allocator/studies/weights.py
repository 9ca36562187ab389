"""Weights derived from the data (equal, entropy, CRITIC) or from a pairwise comparison (AHP).

Data-driven methods work on the indicator values as the model uses them (after each
indicator's transform, e.g. the square root of area), one row per unit:

* ``equal``: 1/k each.
* ``entropy``: p_ij = x_ij / sum_i x_ij, e_j = -sum_i p_ij ln p_ij / ln n (0 ln 0 = 0),
  w_j proportional to 1 - e_j. An indicator that varies more between units weighs more.
* ``critic``: columns scaled to [0, 1] by min-max, w_j proportional to
  sigma_j * sum_k (1 - r_jk) (contrast times conflict with the other indicators).
* ``ahp``: the principal eigenvector of a reciprocal pairwise-comparison matrix, with Saaty's
  consistency ratio CR = CI / RI, CI = (lambda_max - k) / (k - 1); CR > 0.1 is refused unless
  forced.

Data-driven weights can be fragile: :attr:`DerivedWeights.jackknife_min`/``max`` give the range of
each weight when any one unit is left out.

>>> import numpy as np
>>> entropy_weights(np.array([[1.0, 5.0], [1.0, 1.0], [1.0, 9.0]])).round(3).tolist()
[0.0, 1.0]
>>> w, check = ahp_weights(np.array([[1.0, 3.0], [1 / 3, 1.0]]))
>>> w.round(3).tolist(), check.cr
([0.75, 0.25], 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.choices import WeightingMethod
from allocator.choices import names as choice_names
from allocator.core.targets import transform
from allocator.errors import InputError, did_you_mean
from allocator.schema import ModelSpec, load_model
from allocator.studies.pairwise import read_pairwise
from allocator.table import load_table

CR_LIMIT = 0.1
# Saaty's random consistency index for k = 1..15 criteria.
SAATY_RI = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59)


def equal_weights(matrix: np.ndarray) -> np.ndarray:
    """1/k for each of the k columns.

    >>> equal_weights(np.ones((3, 4))).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    k = np.asarray(matrix).shape[1]
    return np.full(k, 1.0 / k)


def entropy_weights(matrix: np.ndarray) -> np.ndarray:
    """Entropy weights of the columns of a non-negative matrix (units x indicators)."""
    x = np.asarray(matrix, dtype=float)
    n = x.shape[0]
    if n < 2:
        raise InputError("entropy weights need at least two units")
    p = x / x.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(axis=0) / np.log(n)
    d = np.clip(1.0 - e, 0.0, None)
    if d.sum() <= 0:
        raise InputError("entropy weights: no indicator varies between units")
    return d / d.sum()


def critic_weights(matrix: np.ndarray) -> np.ndarray:
    """CRITIC weights of the columns of a matrix (units x indicators)."""
    x = np.asarray(matrix, dtype=float)
    if x.shape[0] < 3:
        raise InputError("CRITIC weights need at least three units")
    span = x.max(axis=0) - x.min(axis=0)
    z = np.where(span > 0, (x - x.min(axis=0)) / np.where(span > 0, span, 1.0), 0.0)
    sigma = z.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.corrcoef(z, rowvar=False) if x.shape[1] > 1 else np.ones((1, 1))
    r = np.nan_to_num(np.atleast_2d(r), nan=0.0)
    c = sigma * (1.0 - r).sum(axis=0)
    if c.sum() <= 1e-12:
        raise InputError("CRITIC weights are undefined: every indicator is constant or they "
                         "are all perfectly correlated")
    return c / c.sum()


@dataclass(frozen=True)
class Consistency:
    """Saaty's consistency check of a pairwise-comparison matrix."""

    lambda_max: float
    ci: float
    ri: float
    cr: float

    @property
    def acceptable(self) -> bool:
        return self.cr <= CR_LIMIT


def ahp_weights(matrix: np.ndarray) -> tuple[np.ndarray, Consistency]:
    """Principal-eigenvector weights of a positive reciprocal matrix and its consistency."""
    a = np.asarray(matrix, dtype=float)
    k = a.shape[0]
    values, vectors = np.linalg.eig(a)
    top = int(np.argmax(values.real))
    w = np.abs(vectors[:, top].real)
    w = w / w.sum()
    lambda_max = float(values.real[top])
    if k < 3:
        return w, Consistency(lambda_max, 0.0, 0.0, 0.0)
    if k > len(SAATY_RI):
        raise InputError(f"AHP: no random index for {k} indicators (at most {len(SAATY_RI)})")
    ci = max((lambda_max - k) / (k - 1), 0.0)
    ri = SAATY_RI[k - 1]
    return w, Consistency(lambda_max, ci, ri, ci / ri)


@dataclass(frozen=True, eq=False)
class DerivedWeights:
    """Weights derived by one method, next to the model's own."""

    method: str
    names: tuple[str, ...]
    weights: np.ndarray
    model_weights: np.ndarray
    jackknife_min: np.ndarray | None = None
    jackknife_max: np.ndarray | None = None
    consistency: Consistency | None = None

    def as_dict(self) -> dict[str, float]:
        """Derived weights by indicator name (they sum to 1)."""
        return {n: float(w) for n, w in zip(self.names, self.weights, strict=True)}

    def frame(self) -> pd.DataFrame:
        """One row per indicator: model weight, derived weight, and the leave-one-out range."""
        frame = pd.DataFrame({"indicator": list(self.names), "model_weight": self.model_weights,
                              "derived_weight": self.weights})
        if self.jackknife_min is not None:
            frame["leave_one_out_min"] = self.jackknife_min
            frame["leave_one_out_max"] = self.jackknife_max
        return frame


def indicator_matrix(spec: ModelSpec) -> tuple[tuple[str, ...], np.ndarray]:
    """Indicator names and the units x indicators matrix as the model uses it (transformed)."""
    table = load_table(spec)
    names = tuple(spec.indicators)
    columns = [transform(table.indicators[n], spec.indicators[n].transform) for n in names]
    return names, np.column_stack(columns)


DATA_METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    WeightingMethod.EQUAL: equal_weights, WeightingMethod.ENTROPY: entropy_weights,
    WeightingMethod.CRITIC: critic_weights,
}


def derive_weights(model: ModelSpec | str | Path, method: str, *, matrix: Path | None = None,
                   accept_inconsistent: bool = False) -> DerivedWeights:
    """Derive weights for a model's indicators.

    ``matrix`` (AHP only) is the pairwise-comparison file; an AHP matrix with CR > 0.1 raises
    :class:`InputError` unless ``accept_inconsistent``.

    >>> derive_weights("models/harbin_2020.toml", "equal").as_dict()
    {'population': 0.25, 'urban_population': 0.25, 'area': 0.25, 'townships': 0.25}
    """
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    indicators = tuple(spec.indicators)
    model_weights = np.array([spec.normalised_weights()[n] for n in indicators])
    methods = choice_names(WeightingMethod)
    if method not in methods:
        raise InputError(f"method '{method}': use one of {', '.join(methods)}"
                         f"{did_you_mean(method, methods)}")
    if method == WeightingMethod.AHP:
        if matrix is None:
            raise InputError("AHP weights need a pairwise-comparison matrix")
        weights, check = ahp_weights(read_pairwise(Path(matrix), indicators))
        if not check.acceptable and not accept_inconsistent:
            raise InputError(f"{matrix}: consistency ratio CR = {check.cr:.3f} is above "
                             f"{CR_LIMIT} (the comparisons contradict each other); revise the "
                             "matrix or accept it as inconsistent")
        return DerivedWeights(method, indicators, weights, model_weights, consistency=check)
    if matrix is not None:
        raise InputError(f"a pairwise-comparison matrix is only used by AHP, not by {method}")
    _, x = indicator_matrix(spec)
    derive = DATA_METHODS[method]
    weights = derive(x)
    low = high = None
    if method != WeightingMethod.EQUAL:
        rest = np.vstack([derive(np.delete(x, i, axis=0)) for i in range(x.shape[0])])
        low, high = rest.min(axis=0), rest.max(axis=0)
    return DerivedWeights(method, indicators, weights, model_weights, low, high)
