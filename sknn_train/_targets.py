"""The regressor's target standardization (``normalize_y``): statistics that do not overflow."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _scaled_average(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """``np.average(values, axis=0, weights=weights)`` without overflow: the values are
    divided by their largest magnitude (per column) first."""
    largest = np.max(np.abs(values), axis=0)
    largest = np.where(largest > 0, largest, 1.0)
    return largest * np.average(values / largest, axis=0, weights=weights)


def standardization(
    y: ArrayLike, sample_weight: ArrayLike | None, poisson: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(target_mean_, target_scale_)`` of the 2-D targets ``y``, per column.

    Squared error: the sample-weighted mean and standard deviation (1 for a
    constant column, scikit-learn's zero-scale rule). Poisson: mean 0 and the
    weighted mean as the scale (a count's scale; the log link keeps it
    positive). Sums and squares are taken of values divided by their largest
    magnitude, so targets near 1e200 do not overflow; a ValueError names y's
    magnitude where even ``y - mean`` leaves the float64 range.
    """
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    mean = _scaled_average(y64, weights)
    if poisson:
        return np.zeros_like(mean), np.where(mean > 0, mean, 1.0)
    deviation = y64 - mean
    largest = np.max(np.abs(deviation), axis=0)
    largest = np.where(largest > 0, largest, 1.0)
    std = largest * np.sqrt(_scaled_average((deviation / largest) ** 2, weights))
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise ValueError(
            "normalize_y=True cannot standardize y: its values span more than "
            f"the float64 range (up to {np.max(np.abs(y64)):.3g} in magnitude). "
            "Scale y down before fitting."
        )
    return mean, np.where(std > 10 * np.finfo(np.float64).eps, std, 1.0)
