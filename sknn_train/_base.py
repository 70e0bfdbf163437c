"""Shared estimator: constraints, the fit / partial_fit template, predict plumbing."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _config
from ._callbacks import CallbackSupportMixin, FitCallbacks
from ._kernels.epoch import EVAL_ALIVE, EVAL_PREDICT, evaluate
from ._layout import Layout, build_net, residual_skips
from ._train import (
    OptimizerState,
    batch_macs,
    blas_threads,
    fit_lbfgs,
    fit_stochastic,
)
from ._workspace import KernelInput, chunk_rows, kernel_array, make_work

_STOCHASTIC_SOLVERS = ["sgd", "adam"]

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _sum_is_finite(X):
    """scikit-learn's own first finiteness test (``_assert_all_finite``).

    A finite sum means every value is finite; an infinite one can also come
    from an overflow, so it decides nothing: the caller then leaves the
    verdict (and the error message) to ``validate_data``.
    """
    with np.errstate(over="ignore"):
        return bool(np.isfinite(X.sum()))


def _version():
    from . import __version__

    return __version__


class BaseMultilayerPerceptron(CallbackSupportMixin, BaseEstimator, ABC):
    """Base class of :class:`MLPClassifier` and :class:`MLPRegressor`.

    Do not use directly.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_config.ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "residual": ["boolean"],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "weight_init": [StrOptions(_config.WEIGHT_INITS)],
        "validation_metric": [StrOptions({"score", "loss"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        dropout,
        input_dropout,
        residual,
        max_grad_norm,
        weight_init,
        validation_metric,
        n_init,
    ):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.residual = residual
        self.max_grad_norm = max_grad_norm
        self.weight_init = weight_init
        self.validation_metric = validation_metric
        self.n_init = n_init

    # ------------------------------------------------------------------ setup
    def _loss_name(self):
        if self.loss == "log_loss" and self.out_activation_ == "logistic":
            return "binary_log_loss"
        return self.loss

    def _kernel_codes(self):
        """The loss code and the log losses' clipping bound (activations are in ``_net``)."""
        return {
            "loss": _config.LOSSES[self._loss_name()],
            "eps": float(np.finfo(self._theta.dtype).eps),
        }

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        return list(sizes)

    def _dropout_rates(self):
        """Dropout probability of the input and of every hidden layer."""
        rates = self._check_dropout(len(self._layout.units) - 2)
        return np.concatenate([[float(self.input_dropout)], rates])

    def _check_dropout(self, n_hidden):
        """The per-hidden-layer dropout rates; ValueError for a wrong list."""
        rates = np.asarray(self.dropout, dtype=np.float64)
        if rates.ndim == 0:
            rates = np.full(n_hidden, float(rates))
        elif rates.shape != (n_hidden,):
            raise ValueError(
                f"dropout must be a float or one float per hidden layer ({n_hidden}), "
                f"got {len(rates)} values: {list(rates)}."
            )
        if not ((rates >= 0) & (rates < 1)).all():
            raise ValueError(f"dropout values must be in [0, 1), got {list(rates)}.")
        return rates

    def _net(self, dropout):
        """The network description the kernels take; ``dropout=False`` for evaluation.

        Kept between calls: building it costs more than the compiled forward
        pass of a one-row predict. The key holds everything the network is
        made of: the layout (a new one whenever ``coefs_`` are replaced, see
        ``_sync_params``), the activations and ``residual`` (``set_params``
        after fit takes effect at the next call, as without the cache) and,
        for training, the dropout rates.
        """
        drop = self._dropout_rates() if dropout else None
        key = (
            self._layout,
            self.activation,
            self.out_activation_,
            bool(self.residual),
            None if drop is None else drop.tobytes(),
        )
        cache = self.__dict__.setdefault("_net_cache", {})
        hit = cache.get(dropout)
        if hit is not None and hit[0] == key:
            return hit[1]
        n_hidden = len(self._layout.units) - 2
        skip = residual_skips(self._layout.units[1:-1]) if self.residual else np.full(
            n_hidden + 2, -1
        )
        net = build_net(
            self._layout,
            _config.ACTIVATIONS[self.activation],
            _config.OUT_ACTIVATIONS[self.out_activation_],
            skip,
            np.zeros(n_hidden + 1) if drop is None else drop,
        )
        cache[dropout] = (key, net)
        return net

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)

        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"

        # scikit-learn's draw order: weights, then bias, layer by layer.
        coefs, intercepts = [], []
        for i in range(self.n_layers_ - 1):
            coef_init, intercept_init = self._init_coef(layer_units[i], layer_units[i + 1])
            coefs.append(coef_init)
            intercepts.append(intercept_init)
        self._layout = Layout(layer_units)
        self._set_theta(self._layout.pack(coefs, intercepts, dtype))
        self._best_theta = self._theta.copy()
        self._optimizer_state = None

        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self.grad_norm_curve_ = []
            self.layer_grad_norm_curve_ = []
            self.clip_fraction_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_validation_loss_ = np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None
                self.best_validation_loss_ = None

    def _fresh_random_state(self):
        """``check_random_state(self.random_state)``, as scikit-learn draws on every call.

        For an integer seed, the generator of the previous call is re-seeded
        instead of a new one being made: ``RandomState(seed)`` first seeds
        itself from the OS's entropy (100-200 us, more than a partial_fit's
        training on a few hundred rows), ``seed(seed)`` then sets the very
        state ``RandomState(seed)`` ends with. Only a generator made here is
        re-seeded, never one the user passed.
        """
        seed = self.random_state
        if not isinstance(seed, Integral):  # None, a RandomState: as scikit-learn
            return check_random_state(seed)
        rng = self.__dict__.get("_seeded_rng")
        if rng is None:
            rng = np.random.RandomState(seed)
            self._seeded_rng = rng
        else:
            rng.seed(seed)
        return rng

    def _init_coef(self, fan_in, fan_out):
        rng = self._random_state
        if self.weight_init == "glorot_uniform":
            # scikit-learn's scheme: Glorot's bound (sqrt(2) instead of sqrt(6)
            # for logistic), biases drawn too, weights first.
            factor = 2.0 if self.activation == "logistic" else 6.0
            init_bound = np.sqrt(factor / (fan_in + fan_out))
            coef_init = rng.uniform(-init_bound, init_bound, (fan_in, fan_out))
            intercept_init = rng.uniform(-init_bound, init_bound, fan_out)
            return coef_init, intercept_init
        if self.weight_init == "he_uniform":
            bound = np.sqrt(6.0 / fan_in)
            coef_init = rng.uniform(-bound, bound, (fan_in, fan_out))
        elif self.weight_init == "he_normal":
            coef_init = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
        else:  # lecun_normal
            coef_init = rng.normal(0.0, np.sqrt(1.0 / fan_in), (fan_in, fan_out))
        return coef_init, np.zeros(fan_out)

    def _set_theta(self, theta):
        self._theta = theta
        self.coefs_ = self._layout.coef_views(theta)
        self.intercepts_ = self._layout.intercept_views(theta)
        self._param_views = tuple(self.coefs_) + tuple(self.intercepts_)

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
        coefs, intercepts = self.coefs_, self.intercepts_
        if len(coefs) + len(intercepts) != len(views):
            return False
        for arr, view in zip([*coefs, *intercepts], views):
            if arr is not view or view.base is not theta:
                return False
        return True

    def _sync_params(self):
        """Make ``coefs_``/``intercepts_`` views of the flat buffer again.

        They stop being views after unpickling or when a user assigns new arrays;
        the flat buffer is then rebuilt from them, so what the user sees is what
        the kernels use.
        """
        if self._views_unchanged():
            return
        layout = getattr(self, "_layout", None)
        theta = getattr(self, "_theta", None)
        if layout is not None and theta is not None and layout.is_view_of(
            theta, self.coefs_, self.intercepts_
        ):
            # new view objects of the same buffer: remember them
            self._param_views = tuple(self.coefs_) + tuple(self.intercepts_)
            return
        coefs = [np.asarray(c) for c in self.coefs_]
        intercepts = [np.asarray(b) for b in self.intercepts_]
        units = [c.shape[0] for c in coefs] + [coefs[-1].shape[1]]
        dtype = np.result_type(*coefs, *intercepts)
        dtype = np.float32 if dtype == np.float32 else np.float64
        self._layout = Layout(units)
        self._set_theta(self._layout.pack(coefs, intercepts, dtype))

    # -------------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden_layer_sizes = self._hidden_sizes()
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        if self.residual:
            residual_skips(hidden_layer_sizes)  # clear error before any work
        if self.solver == "lbfgs" and (
            np.any(np.asarray(self.dropout) > 0) or self.input_dropout > 0
        ):
            raise ValueError(
                "dropout and input_dropout must be 0 with solver='lbfgs': a random "
                "objective breaks L-BFGS's line search. Use solver='adam' or 'sgd'."
            )
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        y_raw = y
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        self._check_dropout(len(hidden_layer_sizes))
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            dtype = X.dtype if first_pass else self._theta.dtype
            # in the working dtype: 1e-50 is positive in float64 but 0 in float32
            if not sample_weight.astype(dtype).sum() > 0:
                raise ValueError(
                    "sample_weight sums to zero (in the working dtype "
                    f"{np.dtype(dtype).name}): there is nothing to fit. Give at least "
                    "one sample a weight that is positive in that dtype."
                )
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self._check_target(y)

        n_features = X.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [y.shape[1]]
        self._random_state = self._fresh_random_state()

        n_init = 1 if (incremental or not first_pass) else self.n_init
        # one task per epoch; L-BFGS also opens a last, empty one after it stops
        per_run = 1 if incremental else self.max_iter + (self.solver == "lbfgs")
        callbacks = FitCallbacks(self, X, y_raw, sample_weight, per_run * n_init)
        if first_pass:
            runs = []
            for _ in range(n_init):
                self._initialize(y, layer_units, X.dtype)
                interrupted = self._train(X, y, sample_weight, incremental, callbacks)
                runs.append((self._init_criterion(), dict(self.__dict__)))
                if interrupted:
                    break
            # Keep the best run; the runs' own objects are disjoint, so a
            # shallow copy of the instance dictionary is a snapshot.
            best = int(np.argmin([c for c, _ in runs]))
            if best != len(runs) - 1:
                self.__dict__.update(runs[best][1])
            sign = -1.0 if self._criterion_is_score() else 1.0
            self.init_scores_ = [sign * c for c, _ in runs]
        else:
            self._sync_params()
            if list(self._layout.units) != layer_units:
                raise ValueError(
                    "The network of the previous fit has layer sizes "
                    f"{[int(u) for u in self._layout.units]}, but this call needs "
                    f"{layer_units} (n_features, *hidden_layer_sizes, n_outputs). "
                    "Set warm_start=False or keep hidden_layer_sizes and the targets."
                )
            self._train(X, y, sample_weight, incremental, callbacks)

        if not np.isfinite(self._theta).all():
            where = ""
            if getattr(self, "_diverged_at", None) is not None:
                where = f" (training diverged in epoch {self._diverged_at})"
            hint = ""
            if self.solver in _STOCHASTIC_SOLVERS:
                hint = (
                    f", or the learning rate is too large: lower learning_rate_init "
                    f"(now {self.learning_rate_init:g}) or clip updates with "
                    "max_grad_norm (for example 1.0)"
                )
            raise ValueError(
                f"Solver produced non-finite parameter weights{where}. The input data "
                f"may contain large values and need to be preprocessed{hint}."
            )
        self.dead_units_ = self._dead_units(X)
        callbacks.finish()
        return self

    def _train(self, X, y, sample_weight, incremental, callbacks):
        """Run the solver on the current network; returns whether it was interrupted."""
        self.n_outputs_ = y.shape[1]
        dtype = self._theta.dtype
        Y = kernel_array(y, dtype)
        if sample_weight is None:
            sw = np.ones(X.shape[0], dtype=dtype)
        else:
            sw = kernel_array(sample_weight, dtype)
        if self.solver in _STOCHASTIC_SOLVERS:
            return fit_stochastic(self, X, Y, sw, sample_weight, incremental, callbacks)
        return fit_lbfgs(self, X, Y, sw, callbacks)

    def _criterion_is_score(self):
        return (
            self.solver in _STOCHASTIC_SOLVERS
            and self.early_stopping
            and self.validation_metric == "score"
        )

    def _init_criterion(self):
        """What n_init minimises: -best validation score, best validation loss or loss_."""
        if self.solver in _STOCHASTIC_SOLVERS and self.early_stopping:
            if self.validation_metric == "score":
                return -float(self.best_validation_score_)
            return float(self.best_validation_loss_)
        loss = float(self.loss_)
        return loss if np.isfinite(loss) else np.inf

    def _dead_units(self, X):
        """Per hidden layer, the fraction of units with zero output on every row of ``X``."""
        n_hidden = len(self._layout.units) - 2
        if self.activation not in _config.RELU_FAMILY or n_hidden == 0:
            return np.zeros(n_hidden)
        alive = np.zeros(int(self._layout.units[1:-1].sum()), dtype=np.uint8)
        self._evaluate(X, EVAL_ALIVE, alive=alive)
        bounds = np.cumsum(self._layout.units[1:-1])[:-1]
        return np.array([1.0 - a.mean() for a in np.split(alive, bounds)])

    def _check_target(self, y):
        """Hook for target checks that need the 2-D target."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    # ---------------------------------------------------------------- predict
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
            and _sum_is_finite(X)
        )

    def _forward_pass_fast(self, X, check_input=True):
        """Output-layer activations for ``X`` from one compiled call."""
        if check_input and not self._is_plain_input(X):
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        self._sync_params()
        out = np.empty((X.shape[0], int(self._layout.units[-1])), dtype=self._theta.dtype)
        self._evaluate(X, EVAL_PREDICT, out=out)
        return out

    def _evaluate(self, X, mode, out=None, alive=None, Y=None, sw=None):
        """Forward passes without dropout over ``X`` (see ``evaluate``).

        Returns the weighted mean loss against ``Y`` / ``sw`` for ``EVAL_LOSS``.
        """
        dtype = self._theta.dtype
        if not sp.issparse(X):
            X = np.asarray(X)
        data = KernelInput(X, dtype)
        n = data.n_rows
        if n == 0:
            return 0.0
        net = self._net(dropout=False)
        chunk = chunk_rows(self._layout, n)
        work = make_work(net, chunk, data.n_features, False, dtype, reuse=True)
        codes = self._kernel_codes()
        with blas_threads(batch_macs(self._layout, chunk), batch_macs(self._layout, n)):
            return evaluate(*data.args(), n, chunk, self._theta, net, work, mode, Y, sw,
                            np.int64(codes["loss"]), codes["eps"], out, alive)

    def _predict(self, X, check_input=True):
        """Predictions without the fitted check."""
        return self._predictions(self._forward_pass_fast(X, check_input=check_input))

    def _score(self, X, y, sample_weight=None):
        """Score without input validation (scikit-learn's private ``_score``)."""
        return self._score_outputs(
            self._forward_pass_fast(X, check_input=False), y, sample_weight
        )

    def _score_outputs(self, outputs, y, sample_weight=None):
        """Accuracy / R² of the network outputs ``outputs`` against ``y``."""
        y_pred = self._predictions(outputs)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: Python may hand out __dict__
        # coefs_ / intercepts_ carry the weights; the flat buffer they view and
        # its layout are rebuilt on load instead of being stored twice. The
        # optimizer state is stored as plain arrays and numbers, so that
        # skops.io needs to trust nothing but the estimator class.
        state.pop("_theta", None)
        state.pop("_layout", None)
        # caches, rebuilt on demand (the network, the views _sync_params
        # compares with, the generator _fresh_random_state re-seeds)
        for name in ("_net_cache", "_param_views", "_seeded_rng"):
            state.pop(name, None)
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
        super().__setstate__(state)
        if saved != current:
            warnings.warn(
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
                self._net(dropout=False)
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
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            W, b = np.asarray(W), np.asarray(b)
            if W.ndim != 2 or b.shape != (W.shape[1],):
                raise ValueError(f"layer {i}: weights {W.shape}, bias {b.shape}")
            if i + 1 < n and np.shape(coefs[i + 1])[0] != W.shape[1]:
                raise ValueError(f"layer {i} outputs {W.shape[1]} units, layer {i + 1} "
                                 f"takes {np.shape(coefs[i + 1])[0]}")
        if np.shape(coefs[-1])[1] != self.n_outputs_:
            raise ValueError(f"{np.shape(coefs[-1])[1]} outputs for n_outputs_="
                             f"{self.n_outputs_}")
        if np.shape(coefs[0])[0] != self.n_features_in_:
            raise ValueError(f"{np.shape(coefs[0])[0]} inputs for n_features_in_="
                             f"{self.n_features_in_}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
