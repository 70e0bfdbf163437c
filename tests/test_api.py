"""Public API of MLPClassifier / MLPRegressor against scikit-learn 1.9 (SPEC §1.1, §3).

Every test uses tiny data and small networks so the whole file runs in seconds.
Where behaviour must be identical to :mod:`sklearn.neural_network`, the same fit
is run with both libraries in the same test.

Here what one fit accepts and gives back: dtypes, sparse input, kinds of target,
sample_weight, feature names, non-finite fits, invalid hyperparameters, the
poisson loss. Training over several calls (partial_fit, warm_start), messages,
interrupts and the parameter buffer are in ``test_api_training.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    EST_IDS,
    ESTIMATORS,
    _assert_params_close,
    _clf_data,
    _data_for,
    _fit_quiet,
    _numpy_forward,
    _outputs,
    _reg_data,
)
from sklearn import neural_network as sk
from sklearn.datasets import make_multilabel_classification
from sklearn.utils._param_validation import InvalidParameterError

from sknn_train import MLPClassifier, MLPRegressor


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_float32_stays_float32(Est, SkEst, solver):
    X, y = _data_for(Est)
    X32 = X.astype(np.float32)
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0)
    est = _fit_quiet(Est(**params), X32, y)
    ref = _fit_quiet(SkEst(**params), X32, y)
    assert est._theta.dtype == np.float32
    assert [c.dtype for c in est.coefs_] == [np.float32] * 2
    assert [b.dtype for b in est.intercepts_] == [np.float32] * 2
    out = _outputs(est, X32)
    assert out.dtype == np.float32
    if solver == "adam":
        # scikit-learn's lbfgs returns float64 weights (SPEC: float32 kept end to end).
        assert out.dtype == _outputs(ref, X32).dtype
        assert ref.coefs_[0].dtype == np.float32
    if Est is MLPClassifier:
        assert est.predict_log_proba(X32).dtype == np.float32
    else:
        assert est.predict(X32).dtype == np.float32


@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_other_dtypes_become_float64(Est, SkEst):
    X, y = _data_for(Est)
    X_int = np.round(X * 3).astype(np.int32)
    params = dict(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    for X_in in (X_int, X_int.tolist(), X.astype(np.float16)):
        est = _fit_quiet(Est(**params), X_in, y)
        ref = _fit_quiet(SkEst(**params), X_in, y)
        assert est._theta.dtype == np.float64
        assert all(c.dtype == np.float64 for c in est.coefs_ + est.intercepts_)
        out = _outputs(est, X_in)
        assert out.dtype == np.float64
        assert est.coefs_[0].dtype == ref.coefs_[0].dtype
        np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-6)
    # A float32 model still predicts a float64 input, in its own precision.
    est32 = _fit_quiet(Est(**params), X.astype(np.float32), y)
    assert _outputs(est32, X).dtype == np.float32


# ------------------------------------------------------------------ sparse
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_sparse_matches_dense(Est, SkEst, solver):
    X, y = _data_for(Est)
    X = X.copy()
    X[np.abs(X) < 0.6] = 0.0  # about half the entries are zero
    params = dict(hidden_layer_sizes=(7,), solver=solver, max_iter=8, batch_size=16, random_state=1)
    dense = _fit_quiet(Est(**params), X, y)
    ref = _fit_quiet(SkEst(**params), sp.csr_matrix(X), y)
    for X_sp in (sp.csr_matrix(X), sp.csc_matrix(X)):
        est = _fit_quiet(Est(**params), X_sp, y)
        _assert_params_close(est, dense, rtol=1e-7, atol=1e-10)
        _assert_params_close(est, ref, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(est.loss_, dense.loss_, rtol=1e-9)
        np.testing.assert_allclose(_outputs(est, X_sp), _outputs(dense, X), rtol=1e-7)
        np.testing.assert_allclose(_outputs(est, X_sp), _outputs(ref, X_sp), rtol=1e-6, atol=1e-10)
        if Est is MLPClassifier:
            np.testing.assert_array_equal(est.predict(X_sp), ref.predict(X_sp))


# ---------------------------------------------------------- kinds of target
def test_multilabel_classification():
    X, Y = make_multilabel_classification(n_samples=80, n_features=5, n_classes=3, random_state=0)
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    est = _fit_quiet(MLPClassifier(**params), X, Y)
    ref = _fit_quiet(sk.MLPClassifier(**params), X, Y)
    assert est.out_activation_ == "logistic"
    assert est.n_outputs_ == 3
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    proba = est.predict_proba(X)
    assert proba.shape == (80, 3)
    pred = est.predict(X)
    assert pred.shape == (80, 3)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    np.testing.assert_array_equal(pred, ref.predict(X))
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(proba, ref.predict_proba(X), rtol=1e-6)
    assert est.score(X, Y) == pytest.approx(ref.score(X, Y))


def test_multioutput_regression():
    X, Y = _reg_data(n=70, n_outputs=2)
    params = dict(hidden_layer_sizes=(6,), alpha=0.0, max_iter=10, random_state=0)
    est = _fit_quiet(MLPRegressor(**params), X, Y)
    ref = _fit_quiet(sk.MLPRegressor(**params), X, Y)
    assert est.n_outputs_ == 2
    assert est.predict(X).shape == (70, 2)
    # The gradient is scikit-learn's, so the weights follow the same path ...
    _assert_params_close(est, ref, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-6, atol=1e-10)
    # ... but the reported loss is summed over the outputs (documented fix of
    # scikit-learn issue 8349, which averages the loss but not the gradient).
    np.testing.assert_allclose(est.loss_curve_, 2 * np.asarray(ref.loss_curve_), rtol=1e-6)

    # lbfgs: loss_ is the objective that was minimised, recomputed with NumPy.
    alpha = 1e-2
    lb = _fit_quiet(
        MLPRegressor(
            hidden_layer_sizes=(6,), solver="lbfgs", alpha=alpha, max_iter=30, random_state=0
        ),
        X,
        Y,
    )
    pred = lb.predict(X)
    penalty = 0.5 * alpha * sum((W**2).sum() for W in lb.coefs_) / len(X)
    expected = 0.5 * ((Y - pred) ** 2).sum() / len(X) + penalty
    assert lb.loss_ == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_string_labels(solver):
    X, y = _clf_data(n_classes=3)
    names = np.array(["cat", "dog", "eel"])
    y_str = names[y]
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=10, random_state=0)
    est = _fit_quiet(MLPClassifier(**params), X, y_str)
    ref = _fit_quiet(sk.MLPClassifier(**params), X, y_str)
    np.testing.assert_array_equal(est.classes_, names)
    pred = est.predict(X)
    assert pred.dtype == y_str.dtype
    assert set(pred) <= set(names)
    np.testing.assert_array_equal(pred, ref.predict(X))
    np.testing.assert_array_equal(pred, names[np.argmax(est.predict_proba(X), axis=1)])
    # Same network as with the integer labels.
    est_int = _fit_quiet(MLPClassifier(**params), X, y)
    np.testing.assert_allclose(est.predict_proba(X), est_int.predict_proba(X), rtol=1e-12)
    # Binary string labels: one logistic output, predict returns the strings.
    y_bin = np.where(y == 0, "no", "yes")
    est_bin = _fit_quiet(MLPClassifier(**params), X, y_bin)
    assert est_bin.n_outputs_ == 1
    np.testing.assert_array_equal(est_bin.classes_, ["no", "yes"])
    assert set(est_bin.predict(X)) <= {"no", "yes"}
    np.testing.assert_array_equal(
        est_bin.predict(X),
        _fit_quiet(sk.MLPClassifier(**params), X, y_bin).predict(X),
    )


# ------------------------------------------------------------ sample_weight
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_integer_sample_weight_equals_repeated_rows_lbfgs(Est, SkEst):
    X, y = _data_for(Est, n=60)
    w = np.random.RandomState(3).randint(1, 4, size=len(y))
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=40, random_state=0)
    weighted = _fit_quiet(Est(**params), X, y, sample_weight=w)
    repeated = _fit_quiet(Est(**params), np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-6)
    if Est is MLPClassifier:
        np.testing.assert_array_equal(weighted.predict(X), repeated.predict(X))
    np.testing.assert_allclose(_outputs(weighted, X), _outputs(repeated, X), rtol=1e-5, atol=1e-7)
    # The weights really matter: unweighted training ends elsewhere.
    plain = _fit_quiet(Est(**params), X, y)
    assert abs(plain.loss_ - weighted.loss_) > 1e-4 * abs(weighted.loss_)
    # Parity: scikit-learn (>= 1.7) takes the same weighted objective.
    ref = _fit_quiet(SkEst(**params), X, y, sample_weight=w)
    assert weighted.loss_ == pytest.approx(ref.loss_, rel=1e-6)


@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_zero_sample_weight_equals_dropping_rows_lbfgs(Est, SkEst):
    X, y = _data_for(Est, n=60)
    w = np.ones(len(y))
    w[::4] = 0.0
    keep = w > 0
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=40, random_state=0)
    weighted = _fit_quiet(Est(**params), X, y, sample_weight=w)
    dropped = _fit_quiet(Est(**params), X[keep], y[keep])
    assert weighted.loss_ == pytest.approx(dropped.loss_, rel=1e-6)
    _assert_params_close(weighted, dropped, rtol=1e-5, atol=1e-7)
    if Est is MLPClassifier:
        np.testing.assert_array_equal(weighted.predict(X), dropped.predict(X))
    np.testing.assert_allclose(_outputs(weighted, X), _outputs(dropped, X), rtol=1e-5, atol=1e-7)
    # The zero-weight rows would have changed the fit.
    full = _fit_quiet(Est(**params), X, y)
    assert abs(full.loss_ - weighted.loss_) > 1e-4 * abs(weighted.loss_)
    ref = _fit_quiet(SkEst(**params), X, y, sample_weight=w)
    assert weighted.loss_ == pytest.approx(ref.loss_, rel=1e-6)


# ------------------------------------------------------------ feature names
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_feature_names_from_dataframe(Est, SkEst):
    import pandas as pd  # a test dependency (not skipped when missing)

    X, y = _data_for(Est)
    columns = ["alpha", "beta", "gamma", "delta", "eps"][: X.shape[1]]
    df = pd.DataFrame(X, columns=columns)
    params = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    est = _fit_quiet(Est(**params), df, y)
    ref = _fit_quiet(SkEst(**params), df, y)
    np.testing.assert_array_equal(est.feature_names_in_, columns)
    assert est.feature_names_in_.dtype == object
    assert est.n_features_in_ == len(columns)
    if Est is MLPClassifier:
        np.testing.assert_array_equal(est.predict(df), ref.predict(df))
    np.testing.assert_allclose(_outputs(est, df), _outputs(ref, df), rtol=1e-6)

    # Renamed columns: the same error as scikit-learn.
    renamed = df.rename(columns={columns[0]: "zeta"})
    errors = []
    for model in (est, ref):
        with pytest.raises(ValueError, match="feature names should match") as info:
            model.predict(renamed)
        errors.append(str(info.value))
    assert errors[0] == errors[1]

    # A plain array after fitting with names: the same warning as scikit-learn.
    texts = []
    for model in (est, ref):
        with pytest.warns(UserWarning, match="X does not have valid feature names") as rec:
            model.predict(df.to_numpy())
        texts.append([str(w.message).replace("sklearn", "") for w in rec])
    assert texts[0] == texts[1]

    # Fitted on an array: no names.
    assert not hasattr(_fit_quiet(Est(**params), X, y), "feature_names_in_")


# --------------------------------------------------------- non-finite fits
@pytest.mark.parametrize(
    ("solver", "case"),
    [("adam", "huge_X"), ("sgd", "huge_X"), ("sgd", "huge_y"), ("lbfgs", "huge_y")],
)
def test_non_finite_weights_refused_like_sklearn(solver, case):
    rng = np.random.RandomState(0)
    if case == "huge_X":  # scikit-learn's own test_nonfinite_params input
        X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
        y = rng.standard_normal(size=10)
    else:
        X = rng.randn(60, 4)
        y = rng.randn(60) * 1e300
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0)
    outcomes = []
    for Est in (MLPRegressor, sk.MLPRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                Est(**params).fit(X, y)
                outcomes.append(None)
            except Exception as exc:  # the outcome is what is compared
                outcomes.append((type(exc), str(exc)))
    # same outcome (exception type); sknn_train's message extends scikit-learn's
    # with where training diverged and what to change
    assert (outcomes[0] is None) == (outcomes[1] is None)
    if outcomes[1] is not None:
        assert outcomes[0][0] is outcomes[1][0]
        assert outcomes[0][1].startswith(outcomes[1][1].split(".")[0])
    if solver != "lbfgs":
        assert outcomes[0][0] is ValueError
        assert outcomes[0][1].startswith("Solver produced non-finite parameter weights")
        assert "max_grad_norm" in outcomes[0][1]


# -------------------------------------------------- invalid hyperparameters
@pytest.mark.parametrize(
    "params",
    [
        {"activation": "bad"},
        {"alpha": -1.0},
        {"hidden_layer_sizes": 0},
        {"solver": "newton"},
        {"learning_rate_init": 0.0},
        {"max_iter": 0},
        {"beta_2": 1.0},
        {"batch_size": 0},
    ],
    ids=lambda p: next(iter(p)),
)
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_invalid_hyperparameters_raise_invalid_parameter_error(Est, SkEst, params):
    X, y = _data_for(Est)
    name = next(iter(params))
    est = Est(**params)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        SkEst(**params).fit(X, y)
    # Also refused by partial_fit, which validates on its own.
    if hasattr(est, "partial_fit"):
        kwargs = {"classes": np.unique(y)} if Est is MLPClassifier else {}
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
            est.partial_fit(X, y, **kwargs)


@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_zero_hidden_layer_in_tuple_raises_value_error(Est, SkEst):
    X, y = _data_for(Est)
    for Cls in (Est, SkEst):
        est = Cls(hidden_layer_sizes=(3, 0))
        with pytest.raises(ValueError, match=r"hidden_layer_sizes must be > 0, got \[3, 0\]"):
            est.fit(X, y)
        assert not hasattr(est, "coefs_")
    # An int 0 is caught earlier, by parameter validation.
    with pytest.raises(InvalidParameterError, match="'hidden_layer_sizes' parameter"):
        Est(hidden_layer_sizes=0).fit(X, y)


def test_regressor_loss_option_validated():
    X, y = _reg_data()
    with pytest.raises(InvalidParameterError, match="'loss' parameter"):
        MLPRegressor(loss="absolute_error").fit(X, y)


# ------------------------------------------------------------------ poisson
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_poisson_loss_matches_sklearn(solver):
    rng = np.random.RandomState(0)
    X = rng.randn(90, 4)
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1])).astype(float)
    assert (y == 0).any()  # zero counts exercise the xlogy branch
    params = dict(
        loss="poisson",
        hidden_layer_sizes=(6,),
        solver=solver,
        max_iter=12,
        batch_size=30,
        learning_rate_init=0.01,
        random_state=0,
    )
    est = _fit_quiet(MLPRegressor(**params), X, y)
    ref = _fit_quiet(sk.MLPRegressor(**params), X, y)
    assert est.out_activation_ == ref.out_activation_ == "exp"
    if solver == "lbfgs":
        assert est.loss_ == pytest.approx(ref.loss_, rel=1e-6)
    else:
        assert len(est.loss_curve_) == 12
        np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-6)
    pred = est.predict(X)
    assert (pred > 0).all()
    np.testing.assert_allclose(pred, ref.predict(X), rtol=1e-6)
    np.testing.assert_allclose(pred, _numpy_forward(est, X).ravel(), rtol=1e-10)


def test_poisson_loss_refuses_negative_y():
    X, y = _reg_data()
    assert (y < 0).any()
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=3)
    with pytest.raises(ValueError, match="negative which is not allowed for loss='poisson'"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    # Non-negative targets, zeros included, are accepted.
    _fit_quiet(est, X, np.abs(y) * (y > 0))
    assert np.isfinite(est.predict(X)).all()
