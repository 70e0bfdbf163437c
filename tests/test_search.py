"""The new hyperparameters are ordinary hyperparameters: clone, Pipeline, searches."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import classification, regression
from scipy.stats import loguniform, uniform
from sklearn.base import clone
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sknn_train import MLPClassifier, MLPRegressor

NEW = dict(
    dropout=[0.1, 0.2, 0.0],
    input_dropout=0.1,
    residual=True,
    max_grad_norm=2.0,
    weight_init="he_normal",
    validation_metric="loss",
    n_init=2,
)


def test_clone_and_set_params_keep_new_hyperparameters():
    est = MLPClassifier((16, 8, 16), **NEW)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    cloned.set_params(dropout=0.3, residual=False, max_grad_norm=None)
    assert (cloned.dropout, cloned.residual, cloned.max_grad_norm) == (0.3, False, None)


@pytest.mark.parametrize(
    "bad",
    [
        dict(dropout=1.0),
        dict(dropout=-0.1),
        dict(input_dropout=1.0),
        dict(residual="yes"),
        dict(max_grad_norm=0.0),
        dict(max_grad_norm=-1.0),
        dict(weight_init="xavier"),
        dict(validation_metric="auc"),
        dict(n_init=0),
        dict(activation="swish"),
    ],
)
def test_invalid_new_hyperparameters_raise_invalid_parameter_error(bad):
    X, y = classification(n_samples=30)
    with pytest.raises(InvalidParameterError):
        MLPClassifier(**bad).fit(X, y)


def test_clear_errors_for_inconsistent_settings():
    X, y = classification(n_samples=40)
    with pytest.raises(
        ValueError,
        match=r"block 1 .* hidden layer 1 has 16 units and "
        r"hidden layer 3 has 12",
    ):
        MLPClassifier((16, 8, 12), residual=True).fit(X, y)
    with pytest.raises(ValueError, match="one float per hidden layer"):
        MLPClassifier((8, 8), dropout=[0.1, 0.2, 0.3]).fit(X, y)
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        MLPClassifier((8, 8), dropout=[0.1, 1.5]).fit(X, y)
    with pytest.raises(ValueError, match="lbfgs"):
        MLPClassifier((8,), solver="lbfgs", dropout=0.2).fit(X, y)
    with pytest.raises(ValueError, match="lbfgs"):
        MLPClassifier((8,), solver="lbfgs", input_dropout=0.2).fit(X, y)


def _fit_weights(est, X, y):
    return np.concatenate([c.ravel() for c in clone(est).fit(X, y).coefs_])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dropout_is_deterministic_given_random_state(dtype):
    X, y = classification(n_classes=2)
    X = X.astype(dtype)
    est = MLPClassifier((16, 16), dropout=0.3, input_dropout=0.2, max_iter=5, random_state=3)
    a, b = _fit_weights(est, X, y), _fit_weights(est, X, y)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == dtype
    other = _fit_weights(est.set_params(random_state=4), X, y)
    assert not np.allclose(a, other)
    # off at prediction: repeated predictions are identical and equal a NumPy pass
    m = est.set_params(random_state=3).fit(X, y)
    h = np.maximum(X @ m.coefs_[0] + m.intercepts_[0], 0)
    h = np.maximum(h @ m.coefs_[1] + m.intercepts_[1], 0)
    z = (h @ m.coefs_[2] + m.intercepts_[2]).ravel()
    np.testing.assert_allclose(m.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-4)
    np.testing.assert_array_equal(m.predict_proba(X), m.predict_proba(X))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "gelu", "softplus", "silu"])
def test_new_hyperparameters_with_partial_fit_warm_start_dtype_sparse(
    solver, dtype, sparse, activation
):
    X, y = classification(n_classes=3)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0, X))
    params = dict(
        hidden_layer_sizes=(12, 6, 12),
        residual=True,
        dropout=[0.1, 0.2, 0.1],
        input_dropout=0.1,
        max_grad_norm=1.0,
        activation=activation,
        weight_init="he_uniform",
        solver=solver,
        random_state=0,
        learning_rate_init=0.05,
    )
    est = MLPClassifier(max_iter=4, **params).fit(X, y)
    assert est.coefs_[0].dtype == dtype and est.predict_proba(X).dtype == dtype
    assert len(est.grad_norm_curve_) == len(est.clip_fraction_curve_) == 4
    warm = clone(est).set_params(warm_start=True).fit(X, y).fit(X, y)
    assert len(warm.loss_curve_) == 8
    pf = MLPClassifier(**params)
    for _ in range(10):
        pf.partial_fit(X, y, classes=np.unique(y))
    assert len(pf.loss_curve_) == 10 and np.isfinite(pf.loss_curve_).all()
    assert pf.loss_curve_[-1] < pf.loss_curve_[0]


def test_regressor_takes_the_new_hyperparameters():
    X, y = regression()
    est = MLPRegressor(
        hidden_layer_sizes=(16, 8, 16),
        residual=True,
        dropout=0.1,
        max_grad_norm=1.0,
        activation="gelu",
        early_stopping=True,
        validation_metric="loss",
        n_init=2,
        max_iter=200,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)
    assert est.score(X, y) > 0.5
    assert len(est.validation_loss_curve_) == est.n_iter_
    assert est.best_validation_loss_ == pytest.approx(-max(est.init_scores_))


def test_grid_search_in_a_pipeline_with_process_workers():
    X, y = classification(n_samples=120)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier((16, 8, 16), max_iter=5, random_state=0)),
        ]
    )
    grid = {
        "mlp__dropout": [0.0, 0.2],
        "mlp__residual": [False, True],
        "mlp__max_grad_norm": [None, 1.0],
        "mlp__alpha": [1e-4, 1e-2],
        "mlp__activation": ["relu", "gelu"],
        "mlp__early_stopping": [False, True],
    }
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 64
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # a worker's fit is the same as a fit here
    best = search.best_estimator_.named_steps["mlp"]
    refit = clone(search.best_estimator_).fit(X, y).named_steps["mlp"]
    for a, b in zip(best.coefs_, refit.coefs_):
        np.testing.assert_array_equal(a, b)


def test_randomized_search_with_scipy_distributions():
    X, y = classification(n_samples=120)
    search = RandomizedSearchCV(
        MLPClassifier((16,), max_iter=5, random_state=0),
        {"dropout": uniform(0.0, 0.5), "alpha": loguniform(1e-5, 1e-1)},
        n_iter=6,
        cv=3,
        random_state=0,
        n_jobs=2,
    ).fit(X, y)
    dropouts = [p["dropout"] for p in search.cv_results_["params"]]
    assert len(set(dropouts)) == 6 and all(0 <= d < 0.5 for d in dropouts)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_grid_over_n_init_and_weight_init_and_halving_search():
    X, y = classification(n_samples=150)
    grid = {
        "n_init": [1, 2],
        "weight_init": ["glorot_uniform", "he_uniform", "he_normal", "lecun_normal"],
    }
    search = GridSearchCV(MLPClassifier((8,), max_iter=5, random_state=0), grid, cv=3)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    halving = HalvingGridSearchCV(
        MLPClassifier((8,), max_iter=5, random_state=0),
        {"dropout": [0.0, 0.2], "residual": [False], "max_grad_norm": [None, 1.0]},
        cv=3,
        factor=2,
        random_state=0,
        min_resources=40,
    ).fit(X, y)
    assert halving.best_params_["dropout"] in (0.0, 0.2)
