"""Fitted state: the flat parameter buffer and the views a user sees, the training
history in the fitted attributes, pickling and the checks of a loaded model.

``coefs_``, ``intercepts_`` and ``input_scale_`` are views into one flat buffer
``_theta`` laid out by :class:`~sknn_train._layout.Layout`; the kernels train
and read the buffer. A user (or ``pickle``) may replace the arrays: before any
kernel runs, :meth:`FittedState._sync_params` rebuilds the buffer from them,
so what the user sees is what the kernels use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._kernels.network import Net
from ._layout import Layout
from ._train import History, OptimizerState
from ._warnings import warn


def _version():
    from . import __version__

    return __version__


#: The views of ``_theta`` after the weights and biases, in the buffer's order.
_EXTRA_VIEWS = ("input_scale_", "embedding_tables_", "numeric_embeddings_")


class FittedState:
    """The fitted-state half of :class:`~sknn_train._base.BaseMultilayerPerceptron`.

    A mixin: it holds no parameters and reads the estimator's ``ensemble``
    (a batch ensemble's layout) and its prediction network.
    """

    coefs_: list
    intercepts_: list
    n_layers_: int
    n_outputs_: int
    n_features_in_: int
    _theta: np.ndarray
    _layout: Any
    _prediction_net: Callable[[], Net]  # the estimator's: the network predictions run
    _network_inputs: Callable[[], int]  # the table input's (TableInput)

    def _history(self, config):
        """The training history in the fitted attributes, to continue (partial_fit, warm start).

        Attributes missing from a model whose fitted state was set by hand
        start empty, as far as scikit-learn's own partial_fit needs none.
        """
        get = self.__dict__.get
        best = get("_best_theta")
        loss_curve = get("loss_curve_")
        return History(
            loss_curve=loss_curve if loss_curve is not None else [],
            grad_norm_curve=get("grad_norm_curve_") or [],
            layer_grad_norm_curve=get("layer_grad_norm_curve_") or [],
            clip_fraction_curve=get("clip_fraction_curve_") or [],
            validation_scores=get("validation_scores_"),
            validation_loss_curve=get("validation_loss_curve_"),
            best_loss=get("best_loss_", np.inf),
            best_validation_score=get("best_validation_score_"),
            best_validation_loss=get("best_validation_loss_"),
            best_params=self._theta.copy() if best is None else best,
            best_epoch=get("best_epoch_", 0),
            no_improvement_count=get("_no_improvement_count", 0),
            t=get("t_", 0),
            n_iter=get("n_iter_", 0),
            loss=get("loss_"),
        )

    def _store_history(self, history, config):
        """Copy a trainer's history into the fitted attributes: the one place that does."""
        self.n_iter_ = history.n_iter
        self._diverged_at = history.diverged_at
        if history.loss is not None:
            self.loss_ = history.loss
        if not config.stochastic:
            self.best_epoch_ = history.n_iter
            return
        # the epoch whose weights are kept: the restored one, else the last
        self.best_epoch_ = history.best_epoch if config.validation else len(history.loss_curve)
        self.t_ = history.t
        self.loss_curve_ = history.loss_curve
        self.grad_norm_curve_ = history.grad_norm_curve
        self.layer_grad_norm_curve_ = history.layer_grad_norm_curve
        self.clip_fraction_curve_ = history.clip_fraction_curve
        self.validation_scores_ = history.validation_scores
        self.validation_loss_curve_ = history.validation_loss_curve
        self.best_loss_ = history.best_loss
        self.best_validation_score_ = history.best_validation_score
        self.best_validation_loss_ = history.best_validation_loss
        self._best_theta = history.best_params
        self._no_improvement_count = history.no_improvement_count

    def _set_theta(self, theta):
        self._theta = theta
        self.coefs_ = self._layout.coef_views(theta)
        self.intercepts_ = self._layout.intercept_views(theta)
        for name, view in (
            ("input_scale_", self._layout.scale_view(theta)),
            ("embedding_tables_", self._layout.table_view(theta)),
            ("numeric_embeddings_", self._layout.numeric_view(theta)),
        ):
            if view is not None:
                setattr(self, name, view)
            else:
                self.__dict__.pop(name, None)
        self._param_views = self._user_arrays()

    def _user_arrays(self):
        """The fitted arrays a user sees: ``coefs_``, ``intercepts_`` and the views of
        :data:`_EXTRA_VIEWS` the model has."""
        extra = (self.__dict__.get(name) for name in _EXTRA_VIEWS)
        return (*self.coefs_, *self.intercepts_, *(a for a in extra if a is not None))

    def _views_unchanged(self):
        """Whether ``coefs_``/``intercepts_`` are still the very views ``_set_theta`` made.

        Object identity, a few hundred nanoseconds: ``Layout.is_view_of``
        reads every array's address (microseconds), too slow for every
        predict. The same objects are views of ``_theta`` at the right
        offsets; ``base is theta`` rules out copies that kept the identity
        relation (``copy.deepcopy`` copies views into separate arrays).
        """
        views = self.__dict__.get("_param_views")
        theta = self.__dict__.get("_theta")
        if views is None or theta is None:
            return False
        arrays = self._user_arrays()
        if len(arrays) != len(views):
            return False
        for arr, view in zip(arrays, views):
            if arr is not view or view.base is not theta:
                return False
        return True

    def _sync_params(self):
        """Make ``coefs_``/``intercepts_`` views of the flat buffer again.

        They stop being views after unpickling or when a user assigns new arrays;
        the flat buffer is then rebuilt from them, so what the user sees is what
        the kernels use. A new layout gets a new prediction network.
        """
        if self._views_unchanged():
            return
        layout = self.__dict__.get("_layout")
        theta = self.__dict__.get("_theta")
        scale = self.__dict__.get("input_scale_")
        tables = self.__dict__.get("embedding_tables_")
        numeric = self.__dict__.get("numeric_embeddings_")
        if (
            layout is not None
            and theta is not None
            and layout.is_view_of(theta, self.coefs_, self.intercepts_)
            and (scale is None) == (layout.n_scale == 0)
            and (scale is None or scale.base is theta)
            and (tables is None) == (layout.n_tables == 0)
            and (tables is None or tables.base is theta)
            and (numeric is None) == (layout.n_numeric == 0)
            and (numeric is None or numeric.base is theta)
        ):
            # new view objects of the same buffer: remember them
            self._param_views = self._user_arrays()
            return
        coefs = [np.asarray(c) for c in self.coefs_]
        intercepts = [np.asarray(b) for b in self.intercepts_]
        # an ensemble's arrays have the member axis first
        n_members = coefs[0].shape[0] if coefs[0].ndim == 3 else 1
        member = (n_members,) if coefs[0].ndim == 3 else ()
        units = [c.shape[-2] for c in coefs] + [coefs[-1].shape[-1]]
        common = np.result_type(*coefs, *intercepts)
        dtype = np.float32 if common == np.float32 else np.float64
        if scale is not None:
            scale = np.asarray(scale)
            if scale.shape != (*member, units[0]):
                raise ValueError(
                    f"input_scale_ has shape {scale.shape}; the network takes {units[0]} "
                    "features, so it must have shape "
                    f"{(*member, units[0])}."
                )
        sizes = []
        for name, values in (("embedding_tables_", tables), ("numeric_embeddings_", numeric)):
            if values is not None and np.shape(values)[:-1] != member:
                raise ValueError(
                    f"{name} has shape {np.shape(values)}; an ensemble of {n_members} "
                    "needs a leading axis of that length, a single network none."
                )
            sizes.append(0 if values is None else np.shape(values)[-1])
        shared = self.__dict__.get("ensemble") == "batch"
        n_scale = 0 if scale is None else units[0]
        self._layout = Layout(units, n_scale, n_members, shared, *sizes)
        net = self.__dict__.get("_predict_net")
        if net is not None and net.units.tolist() != units:
            self._predict_net = None  # another network: rebuilt from the parameters
        self._set_theta(self._layout.pack(coefs, intercepts, dtype, scale, tables, numeric))

    def __getstate__(self):
        # a copy: Python may hand out __dict__
        state = dict(super().__getstate__())  # type: ignore[misc]
        # coefs_ / intercepts_ carry the weights; the flat buffer they view and
        # its layout are rebuilt on load instead of being stored twice. The
        # optimizer state is stored as plain arrays and numbers, so that
        # skops.io needs to trust nothing but the estimator class.
        state.pop("_theta", None)
        state.pop("_layout", None)
        # rebuilt on demand (the prediction network, the views _sync_params
        # compares with, the generator _fresh_random_state re-seeds)
        for name in ("_param_views", "_seeded_rng", "_lookup_tables"):
            state.pop(name, None)
        # the prediction network as plain arrays (skops loads them without trust)
        net = state.pop("_predict_net", None)
        if net is not None:
            state["_predict_net"] = {k: np.asarray(v) for k, v in net._asdict().items()}
        opt = state.get("_optimizer_state")
        if opt is not None:
            state["_optimizer_state"] = dict(vars(opt))
        state["_sknn_train_version"] = _version()
        return state

    def __setstate__(self, state):
        saved = state.pop("_sknn_train_version", "unknown (before 0.1.0)")
        current = _version()
        opt = state.get("_optimizer_state")
        if isinstance(opt, dict):
            state["_optimizer_state"] = OptimizerState.from_dict(opt)
        net = state.get("_predict_net")
        if isinstance(net, dict):
            # rebuilt from the parameters when stored by a version with other fields
            state["_predict_net"] = Net(**net) if set(net) == set(Net._fields) else None
        super().__setstate__(state)  # type: ignore[misc]
        if saved != current:
            warn(
                f"This {type(self).__name__} was saved with sknn_train {saved} and is "
                f"loaded with sknn_train {current}; it may not work as before. "
                "Refit it with this version or load it with the version that saved it.",
                UserWarning,
            )
        if hasattr(self, "coefs_"):
            try:
                self._check_fitted_shapes()
                self._layout = None
                self._sync_params()
                self._prediction_net()
            except Exception as exc:
                raise ValueError(
                    f"Cannot load this {type(self).__name__}: it was saved with "
                    f"sknn_train {saved} and this is sknn_train {current}, whose "
                    f"fitted state differs ({exc}). Load it with sknn_train {saved} "
                    "or refit it."
                ) from exc

    def _check_fitted_shapes(self):
        """The weight matrices and bias vectors form one network of ``n_layers_``."""
        coefs, intercepts = self.coefs_, self.intercepts_
        n = self.n_layers_ - 1
        if len(coefs) != n or len(intercepts) != n:
            raise ValueError(
                f"{len(coefs)} weight matrices and {len(intercepts)} bias vectors for "
                f"{self.n_layers_} layers"
            )
        # an ensemble's arrays: the member axis first, the same for every layer
        member = np.shape(coefs[0])[:-2]
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            W, b = np.asarray(W), np.asarray(b)
            if W.ndim != 2 + len(member) or W.shape[:-2] != member:
                raise ValueError(f"layer {i}: weights {W.shape}, layer 0: {np.shape(coefs[0])}")
            if b.shape != (*member, W.shape[-1]):
                raise ValueError(f"layer {i}: weights {W.shape}, bias {b.shape}")
            if i + 1 < n and np.shape(coefs[i + 1])[-2] != W.shape[-1]:
                raise ValueError(
                    f"layer {i} outputs {W.shape[-1]} units, layer {i + 1} "
                    f"takes {np.shape(coefs[i + 1])[-2]}"
                )
        if np.shape(coefs[-1])[-1] != self.n_outputs_:
            raise ValueError(f"{np.shape(coefs[-1])[-1]} outputs for n_outputs_={self.n_outputs_}")
        expected = self._network_inputs()
        if np.shape(coefs[0])[-2] != expected:
            raise ValueError(
                f"{np.shape(coefs[0])[-2]} inputs for n_features_in_={self.n_features_in_}"
                + ("" if expected == self.n_features_in_ else f" ({expected} once encoded)")
            )
