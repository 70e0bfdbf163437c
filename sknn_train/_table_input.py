"""The estimators' half of raw tables (SPEC 5): validate, fit the encoder, encode.

At the MLP defaults (``categorical_features=None``, ``handle_missing='error'``,
``numeric_scaling=None``) nothing here runs: X goes through scikit-learn's
``validate_data`` as always. Otherwise the encoder (:mod:`~sknn_train._tables`)
is fitted on every row ``fit`` gets (before any validation split), by the
first ``partial_fit`` call, and kept by ``warm_start``; its arrays are fitted
attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    check_array,
    check_consistent_length,
    validate_data,
)

from ._kernels.tables import EMBEDDED
from ._table_network import kernel_tables, network_inputs
from ._tables import (
    FITTED_ATTRIBUTES,
    TableEncoding,
    encode,
    fit_encoding,
    uses_tables,
)

__all__ = ["TABLE_PARAMETERS", "TableInput"]

#: The constructor parameters the encoder reads.
TABLE_PARAMETERS = (
    "categorical_features",
    "max_onehot_categories",
    "categorical_embedding_dim",
    "handle_missing",
    "numeric_scaling",
    "numeric_embedding",
)


class TableInput:
    """A mixin of :class:`~sknn_train._base.BaseMultilayerPerceptron`: raw tables in."""

    # the estimator's parameters and fitted state this half reads
    categorical_embedding_dim: int
    n_features_in_: int
    _theta: np.ndarray
    _layout: Any

    def _table_params(self) -> dict:
        return {name: getattr(self, name) for name in TABLE_PARAMETERS}

    def _encoding(self) -> TableEncoding | None:
        """The fitted encoder, or None for a model fitted without one."""
        if "is_categorical_" not in self.__dict__:
            return None
        return TableEncoding(*(self.__dict__[name] for name in FITTED_ATTRIBUTES))

    def _validate_rows(self, X, y, *, reset, incremental, y_numeric=False, sample_weight=None):
        """``validate_data`` for a fit's ``X`` and ``y``, or, with the encoder, the
        encoded ``X`` (fitting the encoder when ``reset``) and the checked ``y``."""
        if reset:
            for name in FITTED_ATTRIBUTES:
                self.__dict__.pop(name, None)
            self.__dict__.pop("_lookup_tables", None)
            use = uses_tables(self._table_params())
        else:
            use = self._encoding() is not None
        if not use:
            return validate_data(
                self,
                X,
                y,
                accept_sparse=["csr", "csc"],
                multi_output=True,
                y_numeric=y_numeric,
                dtype=(np.float64, np.float32),
                reset=reset,
            )
        X = _as_table(X)
        validate_data(self, X, y, skip_check_array=True, reset=reset)
        y = _check_y(y, multi_output=True, y_numeric=y_numeric, estimator=self)
        if reset:
            names = self.__dict__.get("feature_names_in_")
            weights = None
            if sample_weight is not None:
                weights = _check_sample_weight(sample_weight, X)
            encoding = fit_encoding(
                X, self._table_params(), names, declared=incremental, sample_weight=weights
            )
            for name, value in zip(FITTED_ATTRIBUTES, encoding):
                setattr(self, name, value)
        X = self._encode(X, reset)
        check_consistent_length(X, y)
        return X, y

    def _validate_predict_rows(self, X):
        """``validate_data(self, X, reset=False)``, or the encoded ``X``."""
        if self._encoding() is None:
            return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        X = _as_table(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        return self._encode(X, False)

    def _encode(self, X, first):
        """``X`` encoded, in the dtype of a float32 array on a first fit, else of the model."""
        dtype = np.dtype(np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64)
        if not first and "_theta" in self.__dict__:
            dtype = self._theta.dtype
        encoding = self._encoding()
        assert encoding is not None  # only called for a model with an encoder
        X = encode(encoding, X, dtype)
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {type(self).__name__}."
            )
        return X

    def _input_width(self, X) -> tuple[int, int, int]:
        """``(n_inputs, n_tables, n_numeric)`` of the network for the validated ``X``:
        its columns and no embeddings, or what the encoder makes of them."""
        encoding = self._encoding()
        if encoding is None:
            return X.shape[1], 0, 0
        return network_inputs(encoding, self.categorical_embedding_dim)

    def _network_inputs(self) -> int:
        """The network's input width for the fitted model: ``n_features_in_``, or what
        the encoder makes of them (its embeddings' length read off ``embedding_tables_``)."""
        encoding = self._encoding()
        if encoding is None:
            return int(self.n_features_in_)
        tables = self.__dict__.get("embedding_tables_")
        n_tables = 0 if tables is None else np.shape(tables)[-1]
        return network_inputs(encoding, _embedding_dim(encoding, n_tables))[0]

    def _lookup_tables_for(self, layout, store=False):
        """What the kernels take for the encoder's lookups (None: none), for ``layout``;
        kept for the model's predictions when ``store`` (a fit: predict changes nothing)."""
        encoding = self._encoding()
        if encoding is None:
            return None
        cached = self.__dict__.get("_lookup_tables")
        if cached is not None and cached[0] is layout:
            return cached[1]
        dim = _embedding_dim(encoding, layout.n_tables)
        tables = kernel_tables(encoding, dim, layout)
        if store:
            self._lookup_tables = (layout, tables)
        return tables

    def _fitted_embedding_dim(self) -> int:
        """The embeddings' length the model was fitted with (the parameter may have
        changed since)."""
        encoding = self._encoding()
        return 0 if encoding is None else _embedding_dim(encoding, self._layout.n_tables)


def _embedding_dim(encoding, n_tables: int) -> int:
    """The embeddings' length: the tables' size over their rows (0 without embeddings)."""
    kinds, levels = encoding.lookups()
    rows = int((levels[kinds == EMBEDDED] + 1).sum())
    return n_tables // rows if rows else 0


def _as_table(X):
    """A DataFrame as it is; anything else through ``check_array`` (2-D, rows and columns,
    scikit-learn's messages) keeping its dtype, NaN and strings."""
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        return X
    return check_array(
        X, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False, input_name="X"
    )
