"""Raw tables in (SPEC 5.1-5.4): the encoder fitted on a fit's rows, applied before the passes.

A table (a pandas DataFrame, or an array) becomes one float matrix that the
compiled passes read, its columns in this order::

    [numeric, imputed and scaled | missing indicators | binary categories | category codes]

The first three blocks are the network's dense input. A categorical column with
two categories and no missing value in training is one input, -1 / +1, with 0
for the slot (an unseen or missing value). Every other categorical column is
one column of codes: the category's index among the column's sorted
categories, ``k`` for the slot. The kernels read a code column as a row lookup
(:mod:`~sknn_train._kernels.tables`): into the first layer's weights for a
one-hot column (``k + 1 <= max_onehot_categories``: ``k`` inputs, the slot the
all-zero vector), into a learnt table of ``categorical_embedding_dim`` values
per category (the slot's row starts at zero) for an embedded one. Codes are
small integers, exact in float32 up to :data:`MAX_CATEGORIES`.

The fitted encoder is plain data (:class:`TableEncoding`): numpy arrays and
lists of them, stored on the estimator as fitted attributes (see
:data:`FITTED_ATTRIBUTES`) so that pickle and skops load them without trusting
any object type. Categories are mapped by value (never by pandas' codes): a
category column's values, an object column's strings or numbers, a bool
column's two values.
"""

from __future__ import annotations

import sys
from numbers import Integral
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import ndtri

from ._kernels.tables import EMBEDDED, ONEHOT
from .preprocessing import smooth_clip, smooth_clip_statistics, weighted_percentile

__all__ = [
    "BINARY",
    "EMBEDDED",
    "FITTED_ATTRIBUTES",
    "MAX_CATEGORIES",
    "ONEHOT",
    "TableEncoding",
    "encode",
    "fit_encoding",
]

# How the encoded table enters the network (widths, the kernels' lookups, the
# embeddings' initial values): _table_network.py.

#: The most categories a column may have (its codes stay exact in float32).
MAX_CATEGORIES = 1_000_000

#: How a categorical column enters the network (the lookups' codes, and one more).
BINARY = 0

#: The most training quantiles ``numeric_scaling='quantile'`` keeps per column.
N_QUANTILES = 1000
#: Normal scores are clipped at ndtri(1e-7) (scikit-learn's QuantileTransformer's bound).
_QUANTILE_BOUND = 1e-7


class TableEncoding(NamedTuple):
    """A fitted encoder, as the estimator stores it (one fitted attribute per field).

    is_categorical_ : ndarray of shape (n_features_in_,), bool
        Which input columns are categorical.
    categories_ : list of ndarray
        Each categorical column's categories (sorted; strings, numbers or
        bools), in column order.
    categorical_encoding_ : ndarray of shape (n_categorical,), int64
        How each categorical column enters the network: ``BINARY`` (one
        input, -1 / +1, 0 for the slot), ``ONEHOT`` or ``EMBEDDED``.
    numeric_fill_ : ndarray of shape (n_numeric,), float64
        The value a missing numeric entry takes: its column's training median
        (0 for a column without any value).
    missing_indicator_ : ndarray of shape (n_numeric,), bool
        Which numeric columns had a missing value in training: each gets a
        0 / 1 input saying so.
    numeric_center_, numeric_scale_ : ndarray of shape (n_numeric,), float64
        ``numeric_scaling`` 'standard' (mean, 1 / standard deviation) and
        'smooth_clip' (median, the robust factor of SPEC 4.9): the scaled
        value is ``(x - center) * scale`` (smoothly clipped for 'smooth_clip').
        Empty for the other scalings; on sparse input the center is 0.
    numeric_quantiles_ : ndarray of shape (n_quantiles, n_numeric), float64
        ``numeric_scaling='quantile'``: each column's training quantiles,
        mapped to ``numeric_references_`` (standard normal scores), linearly
        between them. Empty for the other scalings.
    numeric_references_ : ndarray of shape (n_quantiles,), float64
        The normal scores of the quantiles' levels, clipped at ``ndtri(1e-7)``.
    numeric_scaling_ : str or None
        The scaling fitted (``numeric_scaling`` at the fit).
    handle_missing_ : str
        What a missing number does (``handle_missing`` at the fit).
    numeric_embedding_ : str or None
        The numeric features' embedding (``numeric_embedding`` at the fit).
    """

    is_categorical_: np.ndarray
    categories_: list
    categorical_encoding_: np.ndarray
    numeric_fill_: np.ndarray
    missing_indicator_: np.ndarray
    numeric_center_: np.ndarray
    numeric_scale_: np.ndarray
    numeric_quantiles_: np.ndarray
    numeric_references_: np.ndarray
    numeric_scaling_: str | None
    handle_missing_: str
    numeric_embedding_: str | None

    @property
    def n_numeric(self) -> int:
        return int(self.numeric_fill_.shape[0])

    @property
    def n_dense(self) -> int:
        """Columns of the dense input: numeric, indicators, binary categories."""
        return (
            self.n_numeric
            + int(self.missing_indicator_.sum())
            + int((self.categorical_encoding_ == BINARY).sum())
        )

    def lookups(self) -> tuple[np.ndarray, np.ndarray]:
        """The code columns: each one's encoding and number of categories ``k``."""
        keep = self.categorical_encoding_ != BINARY
        levels = np.array([len(c) for c in self.categories_], dtype=np.int64)
        return self.categorical_encoding_[keep], levels[keep]


FITTED_ATTRIBUTES = TableEncoding._fields


def uses_tables(params: dict) -> bool:
    """Whether the estimator's parameters ask for the table encoder at all."""
    return (
        params["categorical_features"] is not None
        or params["handle_missing"] != "error"
        or params["numeric_scaling"] is not None
        or params["numeric_embedding"] is not None
    )


# ----------------------------------------------------------------- columns
def _frame(X):
    """``X`` as a pandas DataFrame when it is a dataframe of any library, else None."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "to_pandas") and hasattr(X, "columns"):  # polars and the like
        return X.to_pandas()
    return None


def _is_categorical_dtype(dtype) -> bool:
    """category, object, string and bool columns (``categorical_features='from_dtype'``)."""
    if getattr(dtype, "name", "") == "category":
        return True
    kind = getattr(dtype, "kind", "O")
    return kind in "OSUb" or str(dtype) in ("string", "boolean", "str")


def _columns(X):
    """The columns of ``X`` as 1-D numpy arrays, and whether each is categorical by dtype.

    Missing values become NaN in numeric columns and None in categorical ones.
    """
    frame = _frame(X)
    if frame is not None:
        columns, dtype_categorical = [], []
        for j in range(frame.shape[1]):
            col = frame.iloc[:, j]
            categorical = _is_categorical_dtype(col.dtype)
            dtype_categorical.append(categorical)
            if categorical:
                values = col.astype(object).to_numpy(copy=True)
                missing = col.isna().to_numpy()
                values[missing] = None
            else:
                values = col.to_numpy(dtype=np.float64, na_value=np.nan)
            columns.append(values)
        return columns, np.array(dtype_categorical, dtype=bool), frame
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D table, got an array of shape {X.shape}.")
    by_dtype = np.zeros(X.shape[1], dtype=bool)
    if X.dtype.kind in "OSU":  # strings (and bools) are categorical, numbers numeric
        by_dtype = np.array([_all_text(X[:, j]) for j in range(X.shape[1])], dtype=bool)
    elif X.dtype.kind == "b":
        by_dtype[:] = True
    return [X[:, j] for j in range(X.shape[1])], by_dtype, None


def _is_missing(values: np.ndarray) -> np.ndarray:
    """Missing entries of a 1-D array: NaN, None, pandas' NA and NaT."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(values.shape[0], dtype=bool)
    return np.array([v is None or v != v for v in values], dtype=bool)


def _all_text(values: np.ndarray) -> bool:
    present = values[~_is_missing(values)]
    return all(isinstance(v, (str, bool, np.str_, np.bool_)) for v in present)


def categorical_mask(categorical_features, by_dtype, feature_names) -> np.ndarray:
    """The columns ``categorical_features`` names, as a boolean mask."""
    n = by_dtype.shape[0]
    if categorical_features is None:
        return np.zeros(n, dtype=bool)
    if isinstance(categorical_features, str):  # 'from_dtype' (the constraints allow no other)
        return by_dtype.copy()
    given = np.asarray(categorical_features)
    if given.dtype.kind == "b":
        if given.shape != (n,):
            raise ValueError(
                f"categorical_features as a boolean mask must have {n} entries, one per "
                f"column of X; got shape {given.shape}."
            )
        return given.astype(bool)
    mask = np.zeros(n, dtype=bool)
    if given.dtype.kind in "OSU":
        if feature_names is None:
            raise ValueError(
                "categorical_features names columns, but X has no column names: pass a "
                "DataFrame, or give the columns as integer indices or a boolean mask."
            )
        names = list(feature_names)
        for name in given.ravel():
            if name not in names:
                raise ValueError(
                    f"categorical_features names the column {name!r}, which X does not "
                    f"have; its columns are {names}."
                )
            mask[names.index(name)] = True
        return mask
    if given.dtype.kind not in "iu":
        raise ValueError(
            "categorical_features must be None, 'from_dtype', a boolean mask, integer "
            f"indices or column names; got an array of dtype {given.dtype}."
        )
    for j in given.ravel():
        if not -n <= int(j) < n:
            raise ValueError(
                f"categorical_features has the column index {int(j)}, but X has {n} columns."
            )
        mask[int(j)] = True
    return mask


# -------------------------------------------------------------------- fit
def _category_values(values: np.ndarray, name) -> np.ndarray:
    """The sorted distinct non-missing values of a categorical column, as a plain array."""
    present = values[~_is_missing(values)]
    if present.dtype.kind == "O":
        kinds = {_value_kind(v) for v in present}
        if len(kinds) > 1:
            raise TypeError(
                f"The categorical column {name} mixes {' and '.join(sorted(kinds))} values: "
                "categories are matched by value, so give each column one type."
            )
        kind = kinds.pop() if kinds else "str"
        present = present.astype({"str": str, "bool": bool, "number": np.float64}[kind])
    categories = np.unique(present)
    if categories.shape[0] > MAX_CATEGORIES:
        raise ValueError(
            f"The categorical column {name} has {categories.shape[0]} categories, more than "
            f"the {MAX_CATEGORIES} a column may have. Is it an identifier? Drop it, or "
            "leave it out of categorical_features."
        )
    return categories


def _value_kind(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (Integral, float, np.number)):
        return "number"
    return "str"


def _column_name(j, feature_names):
    return repr(feature_names[j]) if feature_names is not None else f"{j}"


def fit_encoding(
    X, params: dict, feature_names, *, declared: bool = False, sample_weight=None
) -> TableEncoding:
    """Fit the encoder on the table ``X`` with the estimator's ``params``.

    ``declared``: a category column's declared categories count as seen
    (the first ``partial_fit`` call), not only the values present. Rows
    weigh by ``sample_weight`` as if repeated: a row of weight 0 is not seen
    at all, medians and scalings are weighted.
    """
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if sp.issparse(X):
        return _fit_sparse(X, params, weights)
    columns, by_dtype, _ = _columns(X)
    if weights is not None:
        columns = [values[weights > 0] for values in columns]
        weights = weights[weights > 0]
    mask = categorical_mask(params["categorical_features"], by_dtype, feature_names)
    categories, encoding = [], []
    for j in np.flatnonzero(mask):
        name = _column_name(j, feature_names)
        cats = _category_values(columns[j], name)
        if declared:
            cats = _with_declared(X, j, cats)
        k = cats.shape[0]
        if k == 2 and not _is_missing(columns[j]).any():
            encoding.append(BINARY)
        elif k + 1 <= params["max_onehot_categories"]:
            encoding.append(ONEHOT)
        else:
            encoding.append(EMBEDDED)
        categories.append(cats)
    numeric = _numeric_block(columns, mask, feature_names, params["handle_missing"])
    missing = np.isnan(numeric)
    indicator = missing.any(axis=0)
    fill = np.zeros(numeric.shape[1])
    for c in range(numeric.shape[1]):
        present = ~missing[:, c]
        w = None if weights is None else weights[present]
        if present.any():
            fill[c] = weighted_percentile(numeric[present, c : c + 1], 50.0, w)[0]
    filled = np.where(missing, fill, numeric)
    stats = _scaling_statistics(filled, params["numeric_scaling"], weights)
    return TableEncoding(
        is_categorical_=mask,
        categories_=categories,
        categorical_encoding_=np.array(encoding, dtype=np.int64),
        numeric_fill_=fill,
        missing_indicator_=indicator,
        **stats,
        numeric_scaling_=params["numeric_scaling"],
        handle_missing_=params["handle_missing"],
        numeric_embedding_=params["numeric_embedding"],
    )


def _with_declared(X, j, cats):
    """``cats`` and the declared categories of column ``j`` when it is a category dtype."""
    frame = _frame(X)
    if frame is None:
        return cats
    dtype = frame.dtypes.iloc[j]
    if getattr(dtype, "name", "") != "category":
        return cats
    declared = np.asarray(dtype.categories.to_numpy())
    if cats.size:  # as the values' kind (strings of any length)
        declared = declared.astype(str if cats.dtype.kind == "U" else cats.dtype)
    return np.union1d(cats, declared)


def _numeric_block(columns, mask, feature_names, handle_missing) -> np.ndarray:
    """The numeric columns as one float64 matrix (NaN where missing)."""
    numeric = []
    for j in np.flatnonzero(~mask):
        values = columns[j]
        if values.dtype.kind not in "fiub":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"The column {_column_name(j, feature_names)} is not numeric ({exc}). "
                    "Name it in categorical_features, or use categorical_features='from_dtype'."
                ) from None
        numeric.append(values.astype(np.float64, copy=False))
    n = columns[0].shape[0] if columns else 0
    block = np.column_stack(numeric) if numeric else np.zeros((n, 0))
    if np.isinf(block).any():
        raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
    if handle_missing == "error" and np.isnan(block).any():
        raise ValueError(
            "Input X contains NaN. Set handle_missing='indicator' to impute missing values "
            "with the column's median and add an indicator input."
        )
    return block


def _scaling_statistics(filled: np.ndarray, scaling, weights=None) -> dict:
    empty = np.zeros(0)
    stats = dict(
        numeric_center_=empty,
        numeric_scale_=empty,
        numeric_quantiles_=np.zeros((0, filled.shape[1])),
        numeric_references_=empty,
    )
    if scaling == "standard":
        mean = np.average(filled, axis=0, weights=weights)
        std = np.sqrt(np.average((filled - mean) ** 2, axis=0, weights=weights))
        stats["numeric_center_"] = mean
        stats["numeric_scale_"] = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 1.0)
    elif scaling == "smooth_clip":
        center, scale = smooth_clip_statistics(filled, weights)
        stats["numeric_center_"], stats["numeric_scale_"] = center, scale
    elif scaling == "quantile":
        n_rows = filled.shape[0] if weights is None else int(round(weights.sum()))
        n_q = max(2, min(N_QUANTILES, n_rows))
        levels = np.linspace(0.0, 1.0, n_q)
        stats["numeric_quantiles_"] = weighted_percentile(filled, levels * 100, weights).reshape(
            n_q, filled.shape[1]
        )
        # monotone, as np.percentile may not be by a rounding error
        np.maximum.accumulate(stats["numeric_quantiles_"], axis=0, out=stats["numeric_quantiles_"])
        stats["numeric_references_"] = ndtri(np.clip(levels, _QUANTILE_BOUND, 1 - _QUANTILE_BOUND))
    return stats


def _fit_sparse(X, params, weights) -> TableEncoding:
    """Sparse input: every column numeric, scaled without centring (zeros stay zeros)."""
    if params["categorical_features"] is not None and not isinstance(
        params["categorical_features"], str
    ):
        mask = np.asarray(params["categorical_features"])
        if mask.size and (mask.dtype.kind != "b" or mask.any()):
            raise ValueError(
                "Categorical columns need dense input: a sparse matrix holds numbers only. "
                "Pass a DataFrame or a dense array, or set categorical_features=None."
            )
    if params["numeric_embedding"] is not None:
        raise ValueError(
            f"numeric_embedding={params['numeric_embedding']!r} needs dense input: an "
            "embedding of every value turns a sparse matrix's zeros into non-zeros. Pass a "
            "dense array or a DataFrame, or set numeric_embedding=None."
        )
    X = sp.csc_matrix(X, dtype=np.float64)
    if np.isnan(X.data).any():
        raise ValueError(
            "Input X contains NaN: missing values in sparse input are not supported. "
            "Impute them first, or pass a dense table."
        )
    n = X.shape[1]
    empty = np.zeros(0)
    center, scale = empty, empty
    if params["numeric_scaling"] is not None:
        w = np.ones(X.shape[0]) if weights is None else weights
        mean = np.asarray(X.T @ w).ravel() / w.sum()
        sq = np.asarray(X.multiply(X).T @ w).ravel() / w.sum()
        std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
        center = np.zeros(n)
        scale = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 1.0)
    return TableEncoding(
        is_categorical_=np.zeros(n, dtype=bool),
        categories_=[],
        categorical_encoding_=np.zeros(0, dtype=np.int64),
        numeric_fill_=np.zeros(n),
        missing_indicator_=np.zeros(n, dtype=bool),
        numeric_center_=center,
        numeric_scale_=scale,
        numeric_quantiles_=np.zeros((0, n)),
        numeric_references_=empty,
        numeric_scaling_=params["numeric_scaling"],
        handle_missing_=params["handle_missing"],
        numeric_embedding_=params["numeric_embedding"],
    )


# -------------------------------------------------------------- transform
def encode(encoding: TableEncoding, X, dtype) -> np.ndarray:
    """The matrix the passes read for the table ``X`` (see the module's docstring)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=dtype)
        if encoding.numeric_scale_.size:
            X = X @ sp.diags(encoding.numeric_scale_.astype(dtype))
            X = sp.csr_matrix(X, dtype=dtype)
        return X
    columns, _, _ = _columns(X)
    mask = encoding.is_categorical_
    numeric = _numeric_block(columns, mask, None, encoding.handle_missing_)
    missing = np.isnan(numeric)
    filled = np.where(missing, encoding.numeric_fill_, numeric)
    blocks = [_scale(encoding, filled, encoding.numeric_scaling_)]
    blocks.append(missing[:, encoding.missing_indicator_].astype(np.float64))
    binary, codes = [], []
    for values, cats, how in zip(
        (columns[j] for j in np.flatnonzero(mask)),
        encoding.categories_,
        encoding.categorical_encoding_,
    ):
        code = _codes(values, cats)
        if how == BINARY:
            binary.append(np.select([code == 0, code == 1], [-1.0, 1.0], 0.0))
        else:
            codes.append(code.astype(np.float64))
    n = filled.shape[0]
    blocks += [np.column_stack(b) if b else np.zeros((n, 0)) for b in (binary, codes)]
    return np.ascontiguousarray(np.hstack(blocks), dtype=dtype)


def _scale(encoding: TableEncoding, filled: np.ndarray, scaling) -> np.ndarray:
    if scaling == "standard":
        return (filled - encoding.numeric_center_) * encoding.numeric_scale_
    if scaling == "smooth_clip":
        return smooth_clip(filled, encoding.numeric_center_, encoding.numeric_scale_)
    if scaling == "quantile":
        return quantile_normal(filled, encoding.numeric_quantiles_, encoding.numeric_references_)
    return filled


def quantile_normal(x: np.ndarray, quantiles: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Each column of ``x`` mapped linearly between its quantiles to ``references``.

    Outside the quantiles the ends (clipped normal scores) hold. Where
    several quantiles are equal (a value repeated in training), the value
    maps to the middle of their scores: the mean of interpolating from below
    and from above, as scikit-learn's QuantileTransformer does.
    """
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        q = quantiles[:, c]
        up = np.interp(x[:, c], q, references)
        down = -np.interp(-x[:, c], -q[::-1], -references[::-1])
        out[:, c] = 0.5 * (up + down)
    return out


def _codes(values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Each value's index among ``categories``; ``len(categories)`` (the slot) for a
    missing or unseen value. Matched by value."""
    k = categories.shape[0]
    codes = np.full(values.shape[0], k, dtype=np.int64)
    present = ~_is_missing(values)
    if k == 0 or not present.any():
        return codes
    rows = np.flatnonzero(present)
    seen = values[present]
    kind = {"U": "str", "b": "bool"}.get(categories.dtype.kind, "number")
    if seen.dtype.kind == "O":  # by value: a value of another kind is no category
        same = np.array([_value_kind(v) == kind for v in seen], dtype=bool)
        rows, seen = rows[same], seen[same]
    elif {"U": "US", "b": "b"}.get(categories.dtype.kind, "iuf").find(seen.dtype.kind) < 0:
        return codes
    # strings as str, not the categories' fixed width (which would cut longer ones)
    seen = seen.astype(str if kind == "str" else categories.dtype)
    where = np.searchsorted(categories, seen)
    where = np.minimum(where, k - 1)
    hit = categories[where] == seen
    codes[rows[hit]] = where[hit]
    return codes
