"""Robust scaling with smooth clipping of the outliers (SPEC 4.9)."""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray
    from sklearn.utils import Tags
    from typing_extensions import Self

__all__ = ["SmoothClipScaler"]

_FLOAT_DTYPES = (np.float64, np.float32)


def _check_dense(X: object, name: str) -> None:
    """Raise scikit-learn's error for a centring scaler given sparse input."""
    if sp.issparse(X):
        raise ValueError(
            f"Cannot center sparse matrices: {name} subtracts each column's median, "
            "which turns the zeros of a sparse matrix into non-zeros (centring "
            "destroys sparsity). Convert X with X.toarray() first. See docstring "
            "for motivation and alternatives."
        )


def weighted_percentile(
    X: NDArray[np.float64], q: ArrayLike, weights: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """``np.percentile(X, q, axis=0)`` (linear interpolation) with row ``weights``.

    A row of integer weight ``w`` counts as ``w`` copies of it (0: left out), so
    the result is ``np.percentile`` of the rows repeated; other weights follow
    the same rule on the cumulative weights.
    """
    q = np.asarray(q, dtype=np.float64)
    if weights is None:
        return np.percentile(X, q, axis=0)
    keep = weights > 0
    X, weights = X[keep], weights[keep]
    out = np.empty((q.size, X.shape[1]))
    for c in range(X.shape[1]):
        order = np.argsort(X[:, c], kind="stable")
        values, cum = X[order, c], np.cumsum(weights[order])
        position = q.ravel() / 100.0 * (cum[-1] - 1.0)
        below, frac = np.floor(position), position - np.floor(position)
        at = np.minimum(np.searchsorted(cum, below, side="right"), len(values) - 1)
        after = np.minimum(np.searchsorted(cum, below + 1.0, side="right"), len(values) - 1)
        out[:, c] = values[at] + frac * (values[after] - values[at])
    return out.reshape((*q.shape, X.shape[1]))


def _column_scale(
    X: NDArray[np.float64], weights: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Median and the factor ``c`` of every column of the float64 array ``X`` (its rows
    weighted by ``weights``, see :func:`weighted_percentile`)."""
    if weights is not None:
        X = X[weights > 0]
        weights = weights[weights > 0]
    lo, hi = X.min(axis=0), X.max(axis=0)
    # np.percentile interpolates with b - a, which overflows (nan quartiles) in
    # columns spanning more than the float range: those are taken at half size.
    huge = np.maximum(-lo, hi) > np.finfo(np.float64).max / 4
    if np.any(huge):
        X = X.copy()
        X[:, huge] *= 0.5
    q25, median, q75 = weighted_percentile(X, [25.0, 50.0, 75.0], weights)
    if np.any(huge):
        for q in (q25, median, q75):
            q[huge] *= 2.0
    # Halves first: q75 - q25 and max - min overflow for columns spanning more
    # than the float range, and 1 / inf would pass for a constant column.
    half_iqr = 0.5 * q75 - 0.5 * q25
    half_range = 0.5 * hi - 0.5 * lo
    with np.errstate(divide="ignore", over="ignore"):
        scale = np.where(
            half_iqr > 0,
            0.5 / half_iqr,  # 1 / (q75 - q25)
            np.where(half_range > 0, 1.0 / half_range, 0.0),  # 2 / (max - min)
        )
    # A span near the smallest subnormal gives 1 / span = inf, and inf * 0 = nan.
    np.minimum(scale, np.finfo(np.float64).max, out=scale)
    return median, scale


def _as_dtype(values: NDArray[np.float64], dtype: np.dtype) -> NDArray[np.floating]:
    """``values`` in ``dtype``, the largest finite value standing in for overflow."""
    limit = np.finfo(dtype).max
    return np.clip(values, -limit, limit).astype(dtype)


def _squash(z: NDArray[np.floating], width: float) -> NDArray[np.floating]:
    """``z / sqrt(1 + (z / width)**2)`` elementwise, in ``z``'s dtype, overwriting ``z``.

    Computed as ``width / hypot(1, width / |z|)`` with the sign of ``z``: a
    chain of monotone steps (two correctly rounded divisions and ``hypot``,
    whose monotonicity the tests check on adjacent floats), so the result keeps
    the order of ``z`` (ties at most) where the textbook form swaps neighbours,
    no square overflows, and ``z = +-inf`` gives ``+-width``. The result is rounded
    towards zero at the bound, so that it lies strictly inside
    ``(-width, width)`` and ``_unsquash`` maps it back to a finite value.
    """
    w = z.dtype.type(width)
    with np.errstate(divide="ignore", over="ignore"):
        out = np.divide(w, np.abs(z))  # inf at z == 0, and the result is 0 there
    np.hypot(1, out, out=out)
    np.divide(w, out, out=out)
    np.minimum(out, np.nextafter(w, z.dtype.type(0)), out=out)
    return np.copysign(out, z, out=z)


def _unsquash(s: NDArray[np.floating], width: float) -> NDArray[np.floating]:
    """The inverse of ``_squash``: ``s / sqrt(1 - (s / width)**2)``, for ``|s| < width``.

    ``1 - (s / w)**2`` is formed as ``(w - |s|) (w + |s|) / w**2``: ``w - |s|``
    is exact for ``|s| >= w / 2`` (Sterbenz), so values near the bound keep
    their precision instead of cancelling to 0.
    """
    w = s.dtype.type(width)
    a = np.abs(s)
    if np.any(a >= w):
        raise ValueError(
            f"inverse_transform is defined for values strictly between -clip_width and "
            f"clip_width={width!r}, the range of transform; got {a.max()!r}."
        )
    return s / (np.sqrt(w - a) * np.sqrt(w + a)) * w


def smooth_clip_statistics(
    X: NDArray[np.floating], weights: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The center (median) and factor of each column of ``X``, as :class:`SmoothClipScaler`
    fits them (the estimators' ``numeric_scaling='smooth_clip'`` too, with the rows'
    sample ``weights``)."""
    return _column_scale(np.asarray(X, dtype=np.float64), weights)


def smooth_clip(
    X: NDArray[np.floating],
    center: NDArray[np.float64],
    scale: NDArray[np.float64],
    clip_width: float = 3.0,
) -> NDArray[np.floating]:
    """``(X - center) * scale``, smoothly clipped to ``(-clip_width, clip_width)``, in ``X``'s
    dtype: :class:`SmoothClipScaler`'s transform with the given statistics."""
    center_x = _as_dtype(center, X.dtype)
    scale_x = _as_dtype(scale, X.dtype)
    with np.errstate(over="ignore"):
        Z = X - center_x
        # the difference of two huge values can overflow; inf * 0 would be nan
        limit = np.finfo(X.dtype).max
        np.clip(Z, -limit, limit, out=Z)
        Z *= scale_x
    return _squash(Z, clip_width)


class SmoothClipScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Scale features robustly, then clip their outliers smoothly.

    Every column is centred on its median and divided by its interquartile
    range, as :class:`sklearn.preprocessing.RobustScaler` does, then passed
    through a smooth, odd, strictly increasing function that is the identity
    near 0 and tends to ``+-clip_width``: the bulk of the data is barely
    changed, outliers stay finite and in order, and no value leaves
    ``(-clip_width, clip_width)``. The statistics come from the data given to
    :meth:`fit` only.

    Parameters
    ----------
    clip_width : float, default=3.0
        The bound ``w`` of the output, in interquartile ranges: values up to
        about ``w / 2`` interquartile ranges from the median are scaled almost
        linearly (``w / 2`` becomes ``0.89 * w / 2``), values far out approach
        ``+-w``. Larger values clip less; it must be positive and finite.

    Attributes
    ----------
    center_ : ndarray of shape (n_features,), dtype float64
        The median of each feature in the training data.

    scale_ : ndarray of shape (n_features,), dtype float64
        The factor ``c`` of each feature (see Notes): ``1 / (q75 - q25)``,
        ``2 / (max - min)`` where the quartiles coincide, 0 for a constant
        feature.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.preprocessing.RobustScaler : The same centring and scaling, without
        the clipping.
    sklearn.preprocessing.QuantileTransformer : Bounded too, but maps every
        feature to a fixed distribution and loses the distances between values.

    Notes
    -----
    For each feature, with :math:`m` its median and :math:`q_{25}`,
    :math:`q_{75}` its quartiles (:func:`numpy.percentile`'s linear
    interpolation, as :class:`~sklearn.preprocessing.RobustScaler`) in the
    training data,

    .. math::

        x' = (x - m)\,c, \qquad
        c = \begin{cases}
            1 / (q_{75} - q_{25}) & q_{75} > q_{25} \\
            2 / (\max - \min) & q_{75} = q_{25},\ \max > \min \\
            0 & \text{constant feature}
        \end{cases}

    .. math::

        x'' = \frac{x'}{\sqrt{1 + (x' / w)^2}}

    with :math:`w` = ``clip_width``. :math:`x''` is :math:`x'` to a relative
    :math:`(x'/w)^2 / 2` for small :math:`x'` and stays strictly between
    :math:`-w` and :math:`w`. In floating point the order of the values is kept
    (equal outputs at most, never a swap), also for values near the ends of the
    float range. Far outliers saturate: from
    :math:`|x'| \approx 4 \cdot 10^7 w` on in float64 (:math:`2 \cdot 10^3 w`
    in float32) the output is the largest value below :math:`w`.

    :meth:`inverse_transform` computes
    :math:`x' = x'' / \sqrt{1 - (x''/w)^2}` and :math:`x = x'/c + m` (the
    median for a constant feature). Its round trip is exact up to rounding
    amplified by :math:`1 + (x'/w)^2` (the slope of the squashing
    function falls as :math:`(1 + (x'/w)^2)^{-3/2}`); saturated outliers come
    back as a finite value that :meth:`transform` maps to the same output.

    NaN and infinite values are an error: impute them first, e.g. with
    :class:`sklearn.impute.SimpleImputer` in a pipeline. Sparse input is an
    error too, because centring turns the zeros into non-zeros; scale sparse
    data with ``RobustScaler(with_centering=False)`` or
    :class:`~sklearn.preprocessing.MaxAbsScaler` instead. float32 input gives
    float32 output, any other input float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_train.preprocessing import SmoothClipScaler
    >>> X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [100.0, 1e6]])
    >>> scaler = SmoothClipScaler().fit(X)
    >>> scaler.center_
    array([ 3., 30.])
    >>> scaler.scale_
    array([0.5 , 0.05])
    >>> scaler.transform(X).round(3)
    array([[-0.949, -0.949],
           [-0.493, -0.493],
           [ 0.   ,  0.   ],
           [ 0.493,  0.493],
           [ 2.994,  3.   ]])
    >>> bool(np.all(np.abs(scaler.transform(X)) < 3.0))
    True
    >>> np.allclose(scaler.inverse_transform(scaler.transform(X[:4])), X[:4])
    True
    """

    _parameter_constraints: dict = {
        # np.inf excluded: w / |x'| would be inf / inf
        "clip_width": [Interval(Real, 0, np.inf, closed="neither")],
    }

    def __init__(self, clip_width: float = 3.0) -> None:
        self.clip_width = clip_width

    def _validate(self, X: ArrayLike, reset: bool) -> NDArray[np.floating]:
        _check_dense(X, type(self).__name__)
        return validate_data(self, X, reset=reset, dtype=_FLOAT_DTYPES, ensure_all_finite=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: object = None) -> Self:
        """Compute the median and the scale of each feature.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data; NaN, infinite values and sparse matrices are
            rejected.

        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        X = self._validate(X, reset=True)
        center, scale = smooth_clip_statistics(X)
        self.center_ = center
        self.scale_ = scale
        return self

    def transform(self, X: ArrayLike) -> NDArray[np.floating]:
        """Scale and smoothly clip the features of `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data to transform; NaN, infinite values and sparse matrices
            are rejected.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_features)
            The transformed data, strictly between ``-clip_width`` and
            ``clip_width``; float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return smooth_clip(X, self.center_, self.scale_, self.clip_width)

    def inverse_transform(self, X: ArrayLike) -> NDArray[np.floating]:
        """Map transformed data back to the original feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Transformed data, strictly between ``-clip_width`` and
            ``clip_width``; values outside raise a ``ValueError``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The data that `transform` maps to `X`, the median for constant
            features; float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        Z = _unsquash(X, self.clip_width)
        center = _as_dtype(self.center_, X.dtype)
        scale = _as_dtype(self.scale_, X.dtype)
        constant = scale == 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            Z /= scale
        Z[:, constant] = 0
        Z += center
        return Z

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # centring destroys sparsity
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
