"""The training core without an estimator: resolution, trainers, history.

The trainers (``_train.train_stochastic``, ``_train.train_lbfgs``) take data,
parameters, optimizer state, a :class:`FitConfig` and a validation function;
these tests drive them directly and check that the estimators are a thin layer
over them (same weights, same curves).
"""

import ast
import dataclasses
import inspect
import pathlib
import warnings

import numpy as np
import pytest
from conftest import classification, regression
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning

from sknn_train import MLPClassifier, MLPRegressor
from sknn_train._config import FitConfig, resolve
from sknn_train._layout import Layout, initial_params
from sknn_train._train import History, OptimizerState, train_lbfgs, train_stochastic
from sknn_train._workspace import KernelInput

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "sknn_train"

#: Every constructor parameter at its default (read off the signature: the
#: trainers themselves are driven without an estimator instance).
DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(MLPRegressor.__init__).parameters.items()
    if name != "self"
}


def _setup(X, y, seed=0, incremental=False, **params):
    """Config, kernel data and initial weights of a regression fit, as the estimator makes them."""
    params = {**DEFAULTS, **params}
    Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float64)
    layout = Layout([X.shape[1], *params["hidden_layer_sizes"], Y.shape[1]])
    config = resolve(
        params,
        n_samples=len(X),
        n_outputs=Y.shape[1],
        layout=layout,
        out_activation="identity",
        dtype=np.float64,
        incremental=incremental,
    )
    rng = np.random.RandomState(seed)
    theta = layout.pack(
        *initial_params(layout, config.weight_init, config.glorot_factor, rng), np.float64
    )
    return config, KernelInput(X, np.float64), Y, np.ones(len(X)), theta, rng


def _imports(module_path):
    """The package modules ``module_path`` imports (relative imports, resolved)."""
    tree = ast.parse(module_path.read_text())
    rel = module_path.parent.relative_to(PACKAGE.parent).parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(rel[: len(rel) - node.level + 1])
            name = ".".join(base + ([node.module] if node.module else []))
            found.add(name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sknn_train"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sknn_train"))
    return found


def _reachable(module):
    """Every package module ``module`` imports, directly or through others."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = PACKAGE.parent.joinpath(*name.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if path.exists() and name != "sknn_train":
            todo.extend(_imports(path))
    return seen - {module}


ESTIMATOR_MODULES = {
    "sknn_train._base",
    "sknn_train._fitted",
    "sknn_train._evaluation",
    "sknn_train._members",
    "sknn_train._training",
    "sknn_train._mlp",
    "sknn_train._tabular",
    "sknn_train._callbacks",
    "sknn_train.onnx",
    "sknn_train.cli",
    "sknn_train._display",
}


@pytest.mark.parametrize(
    "module",
    ["sknn_train._train", "sknn_train._config", "sknn_train._kernels.epoch", "sknn_train._warmup"],
)
def test_the_training_core_imports_no_estimator(module):
    reached = _reachable(module)
    assert "sknn_train._kernels.network" in reached or module == "sknn_train._kernels.epoch"
    assert not reached & ESTIMATOR_MODULES, reached & ESTIMATOR_MODULES
    assert "sknn_train" not in reached  # the package root imports the estimators


def test_the_numba_policy_imports_nothing_from_the_package():
    assert _imports(PACKAGE / "_jit.py") == set()


def test_config_is_frozen_and_plain():
    X, y = regression()
    config = _setup(X, y, hidden_layer_sizes=(6,))[0]
    assert isinstance(config, FitConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_iter = 3
    assert config.batch_size == min(200, len(X)) and config.stochastic


def test_stochastic_trainer_alone_is_what_the_estimator_trains():
    X, y = regression()
    params = dict(hidden_layer_sizes=(7, 5), max_iter=6, random_state=0)
    config, data, Y, sw, theta, rng = _setup(X, y, **params)
    opt = OptimizerState(config.solver, theta.size, theta.dtype, config.learning_rate_init)
    history = train_stochastic(data, Y, sw, theta, opt, config, History.start(theta, False), rng)
    est = MLPRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(theta, est._theta)
    assert history.loss_curve == est.loss_curve_
    assert history.grad_norm_curve == est.grad_norm_curve_
    assert (history.n_iter, history.t, history.stop_reason) == (6, 6 * len(X), "max_iter")
    assert history.best_loss == est.best_loss_


def test_history_continues_across_one_epoch_calls():
    X, y = regression()
    params = dict(hidden_layer_sizes=(6,), random_state=0, solver="sgd")
    config, data, Y, sw, theta, rng = _setup(X, y, incremental=True, **params)
    assert config.incremental
    opt = OptimizerState(config.solver, theta.size, theta.dtype, config.learning_rate_init)
    history = History.start(theta, False)
    est = MLPRegressor(**params)
    for call in range(3):
        # the estimator re-seeds its generator on every call; the first one
        # drew the initial weights from it before shuffling
        history = train_stochastic(
            data, Y, sw, theta, opt, config, history, rng if call == 0 else np.random.RandomState(0)
        )
        est.partial_fit(X, y)
        assert history.stop_reason == "one_epoch"
    np.testing.assert_array_equal(theta, est._theta)
    assert history.loss_curve == est.loss_curve_ and history.t == est.t_ == 3 * len(X)


def test_early_stopping_counts_patience_and_restores_the_best_parameters():
    X, y = regression()
    config, data, Y, sw, theta, rng = _setup(
        X, y, hidden_layer_sizes=(5,), max_iter=50, early_stopping=True, n_iter_no_change=2
    )
    scores = iter([0.1, 0.5, 0.4, 0.45, 0.5, 0.9])
    seen = []

    def validate():
        seen.append(theta.copy())
        return next(scores), 1.0

    opt = OptimizerState(config.solver, theta.size, theta.dtype, config.learning_rate_init)
    rows = np.arange(len(X) - 20, dtype=np.int64)
    history = train_stochastic(
        data,
        Y,
        sw,
        theta,
        opt,
        config,
        History.start(theta, True),
        rng,
        train_rows=rows,
        validate=validate,
    )
    # 0.5 at epoch 2, then three epochs without beating it by tol: 3 > n_iter_no_change
    assert history.n_iter == 5 and history.stop_reason == "no_improvement"
    assert history.validation_scores == [0.1, 0.5, 0.4, 0.45, 0.5]
    assert history.best_validation_score == 0.5
    np.testing.assert_array_equal(theta, seen[1])
    np.testing.assert_array_equal(history.best_params, seen[1])


def test_divergence_stops_with_a_reason():
    X, y = regression()
    config, data, Y, sw, theta, rng = _setup(
        X,
        y,
        hidden_layer_sizes=(5,),
        max_iter=30,
        solver="sgd",
        learning_rate_init=1e6,
        momentum=0.0,
    )
    opt = OptimizerState(config.solver, theta.size, theta.dtype, config.learning_rate_init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = train_stochastic(
            data, Y, sw, theta, opt, config, History.start(theta, False), rng
        )
    assert history.stop_reason == "diverged" and history.diverged_at == history.n_iter
    assert not np.isfinite(theta).all()


def test_lbfgs_trainer_alone_is_what_the_estimator_trains():
    X, y = regression()
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=25, random_state=0)
    config, data, Y, sw, theta, _ = _setup(X, y, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = train_lbfgs(data, Y, sw, theta, config)
        est = MLPRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(theta, est._theta)
    assert (history.n_iter, history.loss) == (est.n_iter_, est.loss_)
    assert history.stop_reason


class _Watched(MLPClassifier):
    """Records which hyperparameters are read once the fit's configuration exists."""

    def __getattribute__(self, name):
        d = object.__getattribute__(self, "__dict__")
        if d.get("_watching") and name in d.get("_watched_names", ()):
            d["_reads"].append(name)
        return object.__getattribute__(self, name)

    def __sklearn_tags__(self):
        # tags say what fit accepts (validate_data reads them on every call): from the
        # parameters by design, not a fit's behaviour
        d = object.__getattribute__(self, "__dict__")
        watching = d.pop("_watching", False)
        try:
            return super().__sklearn_tags__()
        finally:
            if watching:
                d["_watching"] = True


def test_no_hyperparameter_is_read_after_the_resolution(monkeypatch):
    import sknn_train._base as base

    real = base.resolve

    def resolve_then_watch(params, **kw):
        config = real(params, **kw)
        est.__dict__.update(_watching=True, _reads=[], _watched_names=set(params))
        return config

    monkeypatch.setattr(base, "resolve", resolve_then_watch)
    X, y = classification()
    for params in (
        dict(early_stopping=True, dropout=0.1, max_grad_norm=1.0),
        dict(solver="lbfgs"),
        dict(solver="sgd", learning_rate="invscaling"),
        # the calibration, the constant floor and an ensemble after the training
        dict(restore_best_weights=True, calibration="temperature", n_ensemble=2),
        dict(lr_schedule="linear", max_iter=1),
    ):
        est = _Watched((6,), **{"max_iter": 5, "random_state": 0, **params})
        est.fit(X, y)
        assert est.__dict__["_reads"] == [], params
        est.__dict__["_reads"] = []
        est.predict_proba(X)
        assert est.__dict__["_reads"] == [], params
        # partial_fit resolves again; the finished schedule's warning reads no parameter
        if est.solver == "lbfgs" or est.early_stopping:
            continue  # no partial_fit there
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.partial_fit(X, y)
        assert est.__dict__["_reads"] == [], params


def test_residual_without_a_block_warns():
    X, y = classification()
    for sizes in [(8,), (8, 8)]:
        with pytest.warns(UserWarning, match="residual=True has no effect with"):
            MLPClassifier(sizes, residual=True, max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((8, 8, 8), residual=True, max_iter=2).fit(X, y)


def test_too_small_validation_split_starts_with_sklearns_message():
    X, y = classification(n_samples=12)
    params = dict(early_stopping=True, validation_fraction=0.05, max_iter=2)
    with pytest.raises(ValueError) as theirs:
        sk.MLPClassifier(**params).fit(X, y)
    with pytest.raises(ValueError) as ours:
        MLPClassifier(**params).fit(X, y)
    assert str(ours.value).startswith(str(theirs.value))
    assert "1 sample" in str(ours.value) and "at least 2" in str(ours.value)


def test_fitted_attributes_set_by_hand_then_partial_fit_as_sklearn():
    # scikit-learn's own worked example (test_mlp.py::test_fit): weights, layer
    # count, output activation and the loss bookkeeping set by hand, then one
    # partial_fit step of SGD.
    X = np.array([[0.6, 0.8, 0.7]])
    y = np.array([0])
    results = []
    for Est in (sk.MLPClassifier, MLPClassifier):
        mlp = Est(
            solver="sgd",
            learning_rate_init=0.1,
            alpha=0.1,
            activation="logistic",
            random_state=1,
            max_iter=1,
            hidden_layer_sizes=2,
            momentum=0,
        )
        mlp.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
        mlp.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
        mlp.n_outputs_ = 1
        mlp.n_features_in_ = 3
        mlp.n_iter_ = 0
        mlp.learning_rate_ = 0.1
        mlp.n_layers_ = 3
        mlp.out_activation_ = "logistic"
        mlp.t_ = 0
        mlp.best_loss_ = np.inf
        mlp.loss_curve_ = []
        mlp._no_improvement_count = 0
        mlp.partial_fit(X, y, classes=[0, 1])
        results.append(mlp)
    theirs, ours = results
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # the worked example's numbers (scikit-learn's test)
    np.testing.assert_almost_equal(
        ours.coefs_[0],
        [[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]],
        decimal=3,
    )
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-12)
