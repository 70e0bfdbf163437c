"""Shared estimator: constraints, the fit / partial_fit template, predict plumbing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from numbers import Integral, Real
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.metrics import get_scorer_names
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight

from ._callbacks import CallbackSupportMixin, FitCallbacks
from ._config import (
    AUTO_BATCH_SIZE,
    STOCHASTIC_SOLVERS,
    WEIGHT_INITS,
    check_hidden_sizes,
    check_layer_units,
    fit_layout,
    prediction_net,
    resolve,
)
from ._evaluation import NetworkEvaluation
from ._fitted import FittedState
from ._kernels.activations import HIDDEN_ACTIVATIONS
from ._kernels.network import Net
from ._layout import initial_params
from ._members import split_members
from ._table_input import TableInput
from ._table_network import initial_embeddings
from ._train import (
    History,
    OptimizerState,
)
from ._training import Training
from ._warnings import WorseThanConstantWarning, warn

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    #: What ``fit`` and ``predict`` take: array-likes or scipy sparse matrices.
    MatrixLike: TypeAlias = ArrayLike | sp.spmatrix | sp.sparray


class BaseMultilayerPerceptron(
    Training,
    NetworkEvaluation,
    FittedState,
    TableInput,
    CallbackSupportMixin,
    BaseEstimator,
    ABC,
):
    """Base class of :class:`MLPClassifier` and :class:`MLPRegressor`.

    Do not use directly.
    """

    # Set by fit (the class-level annotations only tell mypy their types).
    out_activation_: str
    _random_state: np.random.RandomState
    _predict_net: Net | None
    _optimizer_state: OptimizerState | None

    #: What ``batch_size='auto'`` means: ``min(_auto_batch_size, n_samples)``.
    _auto_batch_size: int = AUTO_BATCH_SIZE

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
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
        "weight_init": [StrOptions(set(WEIGHT_INITS))],
        "validation_metric": [
            StrOptions({"score", "loss"} | set(get_scorer_names())),
            callable,
        ],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "linear", "coslog4"}), None],
        "warmup_fraction": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "restore_best_weights": ["boolean"],
        "output_init": [StrOptions({"weight_init", "zeros"})],
        "input_scaling": ["boolean"],
        "n_ensemble": [Interval(Integral, 1, None, closed="left")],
        "ensemble": [StrOptions({"independent", "batch"})],
        "compute_dtype": [None, StrOptions({"float32", "float64"})],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "categorical_features": [None, StrOptions({"from_dtype"}), "array-like"],
        "max_onehot_categories": [Interval(Integral, 0, None, closed="left")],
        "categorical_embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "handle_missing": [StrOptions({"error", "indicator"})],
        "numeric_scaling": [None, StrOptions({"standard", "smooth_clip", "quantile"})],
        "numeric_embedding": [None, StrOptions({"pbld", "plr"})],
        "embedding_sigma": [Interval(Real, 0, None, closed="neither")],
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
        lr_schedule,
        warmup_fraction,
        weight_decay,
        restore_best_weights,
        output_init,
        input_scaling,
        n_ensemble,
        ensemble,
        n_jobs,
        compute_dtype,
        categorical_features,
        max_onehot_categories,
        categorical_embedding_dim,
        handle_missing,
        numeric_scaling,
        numeric_embedding,
        embedding_sigma,
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
        self.lr_schedule = lr_schedule
        self.warmup_fraction = warmup_fraction
        self.weight_decay = weight_decay
        self.restore_best_weights = restore_best_weights
        self.output_init = output_init
        self.input_scaling = input_scaling
        self.n_ensemble = n_ensemble
        self.ensemble = ensemble
        self.n_jobs = n_jobs
        self.compute_dtype = compute_dtype
        self.categorical_features = categorical_features
        self.max_onehot_categories = max_onehot_categories
        self.categorical_embedding_dim = categorical_embedding_dim
        self.handle_missing = handle_missing
        self.numeric_scaling = numeric_scaling
        self.numeric_embedding = numeric_embedding
        self.embedding_sigma = embedding_sigma

    # ------------------------------------------------------------------ setup
    @classmethod
    def _param_names(cls):
        """The constructor's parameter names (``get_params`` inspects the signature each call)."""
        names = cls.__dict__.get("_param_names_cache")
        if names is None:
            names = tuple(cls._get_param_names())
            cls._param_names_cache = names
        return names

    def _params(self):
        """The constructor parameters by name (``get_params(deep=False)``'s values), and
        the loss (the classifier's is fixed, not a parameter)."""
        params = {name: getattr(self, name) for name in self._param_names()}
        params["loss"] = self.loss
        return params

    def _resolve(self, n_samples, n_outputs, layout, out_activation, dtype, incremental, sparse):
        """This fit's :class:`~sknn_train._config.FitConfig`: the one read of the parameters."""
        return resolve(
            self._params(),
            n_samples=n_samples,
            n_outputs=n_outputs,
            layout=layout,
            out_activation=out_activation,
            dtype=dtype,
            incremental=incremental,
            sparse=sparse,
            auto_batch_size=self._auto_batch_size,
            tables=self._lookup_tables_for(layout, store=True),
        )

    def _out_activation(self):
        """The output activation the target calls for (scikit-learn's choice)."""
        if not is_classifier(self):
            return "exp" if self.loss == "poisson" else "identity"
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    def _prediction_net(self):
        """The network without dropout that predictions run: the fitted model's own.

        Made by the fit (``FitConfig.predict_net``) and stored with the model;
        rebuilt from the fitted attributes only when there is none (a model
        loaded from a pickle, or whose ``coefs_`` the user assigned).
        """
        net = self.__dict__.get("_predict_net")
        if net is None:
            net = prediction_net(self._layout, self.activation, self.residual, self.out_activation_)
            self._predict_net = net
        return net

    def _initialize(self, config, n_outputs):
        """A fresh network: attributes, weights drawn from ``_random_state``, empty history."""
        self.n_iter_ = 0
        self.t_ = 0
        self._schedule_spent_warned = False
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(config.layout.units)
        self._layout = config.layout
        # scikit-learn's draw order: weights, then bias, layer by layer; an
        # ensemble's members one after the other (the first is the single network)
        members = []
        for _ in range(config.layout.n_members):
            coefs, intercepts = initial_params(
                config.layout, config.weight_init, config.glorot_factor, self._random_state
            )
            if config.zero_output:  # drawn, then zeroed: every later draw stays as without
                coefs[-1][...] = 0.0
                intercepts[-1][...] = 0.0
            members.append((coefs, intercepts))
        scale = None
        if len(members) > 1:  # the member axis first
            coefs = [np.stack(layer) for layer in zip(*(c for c, _ in members))]
            intercepts = [np.stack(layer) for layer in zip(*(b for _, b in members))]
        if config.layout.shared:
            # TabM's batch ensemble: one network but the output layer, every member
            # with its own adapter of random signs on the input
            for layer in (*coefs[:-1], *intercepts[:-1]):
                layer[1:] = layer[0]
            n_members, n_features = config.layout.n_members, config.layout.n_scale
            scale = 2.0 * self._random_state.randint(0, 2, (n_members, n_features)) - 1.0
        tables = numeric = None
        layout = config.layout
        if layout.n_tables or layout.n_numeric:  # drawn after the rest: it stays as without
            drawn = [
                initial_embeddings(
                    config.tables, layout, config.embedding_sigma, self._random_state
                )
                for _ in range(layout.n_members)
            ]
            tables, numeric = (np.stack(part) for part in zip(*drawn))
            if layout.n_members == 1:
                tables, numeric = tables[0], numeric[0]
        self._set_theta(layout.pack(coefs, intercepts, config.dtype, scale, tables, numeric))
        self._optimizer_state = None
        if config.stochastic:
            self._store_history(
                History.start(self._theta, config.early_stopping, config.validation), config
            )

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
            rng = np.random.RandomState(int(seed))
            self._seeded_rng = rng
        else:
            rng.seed(seed)
        return rng

    # -------------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden_sizes = check_hidden_sizes(self.hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        y_raw = y
        X, y = self._validate_input(X, y, incremental, first_pass, sample_weight)
        if not first_pass:
            self._sync_params()
        # the working dtype: the input's (scikit-learn's rule), or compute_dtype's; a
        # warm start or partial_fit keeps the model's
        dtype = X.dtype if first_pass else self._theta.dtype
        if first_pass and self.compute_dtype is not None:
            dtype = np.dtype(self.compute_dtype)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
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
        n_inputs, n_tables, n_numeric = self._input_width(X)
        layer_units = check_layer_units([n_inputs, *hidden_sizes, y.shape[1]])
        previous = None if first_pass else self._layout
        layout = fit_layout(self._params(), layer_units, previous, n_tables, n_numeric)
        out_activation = self._out_activation() if first_pass else self.out_activation_
        self._random_state = self._fresh_random_state()
        config = self._resolve(
            X.shape[0], y.shape[1], layout, out_activation, dtype, incremental, sp.issparse(X)
        )
        y = self._fit_targets(y, sample_weight, config, first_pass)

        n_init = 1 if (incremental or not first_pass) else config.n_init
        # one task per epoch; L-BFGS also opens a last, empty one after it stops
        per_run = 1 if incremental else config.max_iter + (not config.stochastic)
        callbacks = FitCallbacks(self, X, y_raw, sample_weight, per_run * n_init)
        if first_pass:
            self.out_activation_ = out_activation
            runs = []
            for _ in range(n_init):
                self._initialize(config, y.shape[1])
                interrupted = self._train(config, X, y, sample_weight, callbacks)
                runs.append((self._init_score(config), dict(self.__dict__)))
                if interrupted:
                    break
            # Keep the best run; the runs' own objects are disjoint, so a
            # shallow copy of the instance dictionary is a snapshot.
            best = int(np.argmax([score for score, _ in runs]))
            if best != len(runs) - 1:
                self.__dict__.update(runs[best][1])
            self.init_scores_ = [score for score, _ in runs]
        else:
            self._train(config, X, y, sample_weight, callbacks)

        if not np.isfinite(self._theta).all():
            where = ""
            if self._diverged_at is not None:
                where = f" It diverged in epoch {self._diverged_at}."
            hint = ""
            if config.stochastic:
                hint = (
                    " Or the learning rate is too large: lower learning_rate_init "
                    f"(now {config.learning_rate_init:g}) or clip updates with "
                    "max_grad_norm (for example 1.0)."
                )
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                f" contain large values and need to be preprocessed.{where}{hint}"
            )
        verdict = self.__dict__.pop("_constant_verdict", None)
        if verdict is not None:
            warn(verdict, WorseThanConstantWarning)
        self.dead_units_ = self._dead_units(X, config)
        callbacks.finish()
        return self

    def _check_target(self, y):
        """Hook for target checks that need the 2-D target."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
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
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    # -------------------------------------------------------------- members
    @property
    def estimators_(self) -> list:
        """The ensemble's members as fitted single-network estimators.

        Member ``k`` is this estimator's class with ``n_ensemble=1`` and its
        other parameters, holding copies of member ``k``'s weights (a batch
        ensemble's member carries its adapter as ``input_scale_``) and of
        every fitted attribute a prediction needs (``classes_``, the target
        scaling of ``normalize_y``, ``calibration_temperature_``). The mean
        of their ``predict_proba`` (classifiers) or ``predict`` (regressors)
        is this estimator's. Built on each access, so it never goes stale;
        fitting or changing a member leaves this estimator unchanged. One
        member for ``n_ensemble=1``.
        """
        if self.__dict__.get("_ensemble_member"):
            # a member is one network: tools that walk estimators_ stop here
            raise AttributeError(
                f"This {type(self).__name__} is a member of an ensemble: it has no members."
            )
        self._check_is_fitted()
        self._sync_params()
        return split_members(self, self._layout.n_members)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # raw tables (SPEC 5): NaN with the indicators, strings with categorical columns
        # (input_tags.categorical stays unset: no estimator check exercises category input)
        tags.input_tags.allow_nan = self.handle_missing == "indicator"
        tags.input_tags.string = self.categorical_features is not None
        return tags
