"""Evaluating the fitted network: predictions, losses and unit statistics on new rows.

The estimators' outputs come from one compiled pass (``_kernels.epoch.evaluate``)
over the flat parameter buffer; this mixin validates the input cheaply where it
can, keeps the buffer in sync with ``coefs_`` and runs the pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._kernels.activations import OUT_IDENTITY
from ._kernels.epoch import PASS_ALIVE, PASS_PREDICT, evaluate
from ._kernels.network import Net
from ._kernels.tiers import PLAIN, TIERS, tier_for
from ._threads import batch_macs, blas_threads
from ._workspace import KernelInput, chunk_rows, make_work

__all__ = ["NetworkEvaluation"]

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _sum_is_finite(X):
    """scikit-learn's own first finiteness test (``_assert_all_finite``).

    A finite sum means every value is finite; an infinite one can also come
    from an overflow, so it decides nothing: the caller then leaves the
    verdict (and the error message) to ``validate_data``.
    """
    with np.errstate(over="ignore"):
        return bool(np.isfinite(X.sum()))


class NetworkEvaluation:
    """The evaluation half of :class:`~sknn_train._base.BaseMultilayerPerceptron`
    (a mixin: it reads the fitted state and the prediction network)."""

    _theta: np.ndarray
    _layout: Any
    _prediction_net: Callable[[], Net]  # the estimator's: the network predictions run
    _sync_params: Callable[[], None]  # the fitted state's (FittedState)
    _validate_predict_rows: Callable[[Any], Any]  # the table input's (TableInput)
    _lookup_tables_for: Callable[..., Any]  # the table input's (TableInput)

    def _predictions(self, outputs):
        """Predictions from the network outputs (the estimator's)."""
        raise NotImplementedError

    def _score_function(self, y, y_pred, sample_weight=None):
        """accuracy or R² (the estimator's)."""
        raise NotImplementedError

    def _check_is_fitted(self):
        """``check_is_fitted(self)``, without its cost once ``coefs_`` exist.

        check_is_fitted reads the estimator's tags and scans its attributes
        (about 8 us); with ``coefs_`` set (a fitted attribute: trailing
        underscore) it always passes, unless a subclass decides otherwise.
        """
        if "coefs_" in self.__dict__ and not hasattr(self, "__sklearn_is_fitted__"):
            return
        check_is_fitted(self)

    def _is_plain_input(self, X):
        """Whether ``validate_data(self, X, reset=False)`` would hand back ``X`` as is.

        That is: a 2-D float32/float64 ndarray (no subclass, no dataframe,
        so no feature names) with rows, the fitted number of features and
        finite values, for an estimator fitted without feature names. Then
        validate_data would neither convert, warn nor raise, and its cost
        (70-80 us, mostly looking for dataframe types) is more than a
        one-row prediction. For anything else the caller runs validate_data,
        whose errors and warnings are scikit-learn's.
        """
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in _FLOAT_DTYPES
            and X.shape[0] > 0
            and X.shape[1] == self.__dict__.get("n_features_in_")
            and "feature_names_in_" not in self.__dict__
            and "is_categorical_" not in self.__dict__  # a table encoder: X is encoded
            and _sum_is_finite(X)
        )

    def _forward_pass_fast(self, X, check_input=True):
        """Output-layer activations for ``X`` from one compiled call."""
        if check_input and not self._is_plain_input(X):
            X = self._validate_predict_rows(X)
        self._sync_params()
        return self._outputs(X)

    def _outputs(self, X):
        """The output layer's activations for the validated ``X``: the model's predictions."""
        out = np.empty((X.shape[0], int(self._layout.units[-1])), dtype=self._theta.dtype)
        self._evaluate(X, PASS_PREDICT, out=out)
        return out

    def _evaluate(
        self, X, mode, out=None, alive=None, Y=None, sw=None, loss=0, eps_loss=0.0, member=None
    ):
        """Forward passes of the prediction network over ``X`` (see ``evaluate``).

        Returns the weighted mean loss (code ``loss``) against ``Y`` / ``sw``
        for ``PASS_LOSS``. ``member``: one member of the network alone, as
        ``(theta slice, net, layout, ensemble)``; the whole model when None.
        """
        dtype = self._theta.dtype
        if not sp.issparse(X):
            X = np.asarray(X)
        data = KernelInput(X, dtype)
        n = data.n_rows
        if n == 0:
            return 0.0
        if member is None:
            theta, net, layout = self._theta, self._prediction_net(), self._layout
            ensemble = layout.ensemble
        else:
            theta, net, layout, ensemble = member
        chunk = chunk_rows(layout, n)
        tables = self._lookup_tables_for(layout)
        work = make_work(
            net,
            chunk,
            data.n_features,
            False,
            dtype,
            reuse=True,
            ensemble=ensemble is not None,
            tables=tables,
        )
        with blas_threads(batch_macs(layout, chunk), batch_macs(layout, n)):
            return evaluate(
                *data.args(),
                n,
                chunk,
                theta,
                net,
                work,
                mode,
                Y,
                sw,
                np.int64(loss),
                float(eps_loss),
                out,
                alive,
                ensemble,
                self._evaluation_tier(net, data.is_sparse),
                tables,
            )

    def _evaluation_tier(self, net, is_sparse):
        """The tier the evaluations run in: the fit's (one specialisation for
        its training and its predictions), with sparse input's code when needed."""
        tier = TIERS.get(self.__dict__.get("_tier", "plain"), PLAIN)  # plain: set by hand, or older
        return tier_for(
            recipe=tier.recipe is not None
            or int(net.scale_off[0]) >= 0
            or int(net.table_off[2]) > int(net.table_off[0]),
            extras=tier.extras is not None or is_sparse,
        )

    def _member_logits(self, X):
        """Every member's output-layer pre-activation for ``X`` (validated, synced):
        an array of shape (n_members, n_samples, n_outputs)."""
        layout = self._layout
        single = layout.member_of()
        # the prediction network of one member, its output activation the identity
        net = self._prediction_net()
        act = net.act.copy()
        act[-1] = OUT_IDENTITY
        net = net._replace(act=act)
        form = layout.member_form()  # the form the fit compiled
        logits = np.empty((layout.n_members, X.shape[0], int(layout.units[-1])), self._theta.dtype)
        for k in range(layout.n_members):
            member = (layout.member_view(self._theta, k), net, single, form)
            self._evaluate(X, PASS_PREDICT, out=logits[k], member=member)
        return logits

    def _predict(self, X, check_input=True):
        """Predictions without the fitted check."""
        return self._predictions(self._forward_pass_fast(X, check_input=check_input))

    def _score(self, X, y, sample_weight=None):
        """Score without input validation (scikit-learn's private ``_score``)."""
        return self._score_outputs(self._forward_pass_fast(X, check_input=False), y, sample_weight)

    def _score_outputs(self, outputs, y, sample_weight=None):
        """Accuracy / R² of the network outputs ``outputs`` against ``y``."""
        y_pred = self._predictions(outputs)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    def _dead_units(self, X, config):
        """Per hidden layer, the fraction of units with zero output on every row of ``X``."""
        n_hidden = len(config.layout.units) - 2
        if not config.can_die:
            return np.zeros(n_hidden)
        n_members = config.layout.n_members
        alive = np.zeros(n_members * int(config.layout.units[1:-1].sum()), dtype=np.uint8)
        self._evaluate(X, PASS_ALIVE, alive=alive)
        # an ensemble's units: every member's, member after member
        bounds = np.cumsum(config.layout.units[1:-1])[:-1]
        per_layer = np.split(alive.reshape(n_members, -1), bounds, axis=1)
        return np.array([1.0 - a.mean() for a in per_layer])
