"""Public API of MLPClassifier / MLPRegressor against scikit-learn 1.9 (SPEC §1.1, §3).

Every test uses tiny data and small networks so the whole file runs in seconds.
Where behaviour must be identical to :mod:`sklearn.neural_network`, the same fit
is run with both libraries in the same test.
"""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_info

import sknn_train
import sknn_train._train
from sknn_train import MLPClassifier, MLPRegressor

ESTIMATORS = [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)]
EST_IDS = ["classifier", "regressor"]
OURS = [MLPClassifier, MLPRegressor]


# ----------------------------------------------------------------- helpers
def _clf_data(n=90, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return X, y


def _reg_data(n=80, n_outputs=1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    W = rng.randn(4, n_outputs)
    y = np.tanh(X @ W) + 0.1 * rng.randn(n, n_outputs)
    return X, (y.ravel() if n_outputs == 1 else y)


def _data_for(Est, n=80):
    return _clf_data(n) if issubclass(Est, MLPClassifier) else _reg_data(n)


def _fit_quiet(est, *args, **kwargs):
    """Fit, silencing the ConvergenceWarning that small max_iter makes on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _outputs(est, X):
    """What the estimator predicts: probabilities for a classifier, values else."""
    if isinstance(est, (MLPClassifier, sk.MLPClassifier)):
        return est.predict_proba(X)
    return est.predict(X)


def _assert_params_close(est, ref, rtol, atol):
    """Same number of weight arrays, each close to the reference's."""
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _numpy_forward(est, X):
    """Output activations from est.coefs_/intercepts_ with NumPy (relu hidden layers)."""
    h = np.asarray(X, dtype=np.float64)
    n_w = len(est.coefs_)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        h = h @ W + b
        if i < n_w - 1:
            assert est.activation == "relu"
            h = np.maximum(h, 0.0)
    out = est.out_activation_
    if out == "softmax":
        h = np.exp(h - h.max(axis=1, keepdims=True))
        h /= h.sum(axis=1, keepdims=True)
    elif out == "logistic":
        h = 1.0 / (1.0 + np.exp(-h))
    elif out == "exp":
        h = np.exp(h)
    else:
        assert out == "identity"
    return h


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


# -------------------------------------------------------------- partial_fit
def test_classifier_partial_fit_classes_errors_like_sklearn():
    X, y = _clf_data(n_classes=3)

    def error_of(make, *calls):
        est = make(hidden_layer_sizes=(4,), random_state=0)
        with pytest.raises(ValueError) as info:
            for args, kwargs in calls:
                est.partial_fit(*args, **kwargs)
        return str(info.value)

    # First call without classes=.
    first = [((X, y), {})]
    msg = error_of(MLPClassifier, *first)
    assert "classes must be passed on the first call to partial_fit" in msg
    assert msg == error_of(sk.MLPClassifier, *first)

    # A later call with a label outside classes.
    y_new = y.copy()
    y_new[:5] = 7
    unseen = [((X, y), {"classes": [0, 1, 2]}), ((X, y_new), {})]
    msg = error_of(MLPClassifier, *unseen)
    assert "`y` has classes not in `self.classes_`" in msg
    assert msg == error_of(sk.MLPClassifier, *unseen)

    # A later call that changes classes=.
    changed = [((X, y), {"classes": [0, 1, 2]}), ((X, y), {"classes": [0, 1, 2, 3]})]
    msg = error_of(MLPClassifier, *changed)
    assert "is not the same as on last call to partial_fit" in msg
    assert msg == error_of(sk.MLPClassifier, *changed)

    # y may hold a subset of the classes.
    est = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    est.partial_fit(X[y != 2], y[y != 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    assert est.predict_proba(X).shape == (len(X), 3)


def test_partial_fit_not_offered_for_lbfgs():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(sk.MLPClassifier(solver="lbfgs"), "partial_fit")
    # Deliberate fix: scikit-learn's regressor offers partial_fit for lbfgs.
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        MLPRegressor(solver="lbfgs").partial_fit  # noqa: B018
    for solver in ("sgd", "adam"):
        assert hasattr(MLPClassifier(solver=solver), "partial_fit")
        assert hasattr(MLPRegressor(solver=solver), "partial_fit")


@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_partial_fit_refuses_early_stopping(Est, SkEst):
    X, y = _data_for(Est)
    kwargs = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    msg = "partial_fit does not support early_stopping=True"
    with pytest.raises(ValueError, match=msg):
        Est(hidden_layer_sizes=(4,), early_stopping=True).partial_fit(X, y, **kwargs)
    with pytest.raises(ValueError, match=msg):
        SkEst(hidden_layer_sizes=(4,), early_stopping=True).partial_fit(X, y, **kwargs)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_partial_fit_sequence_matches_sklearn(Est, SkEst, solver):
    X, y = _data_for(Est, n=120)
    kwargs = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    params = dict(
        hidden_layer_sizes=(8,),
        solver=solver,
        batch_size=16,
        random_state=0,
        learning_rate_init=0.01,
    )
    est, ref = Est(**params), SkEst(**params)
    chunks = [slice(0, 40), slice(40, 80), slice(80, 120), slice(0, 120), slice(20, 60)]
    for k, s in enumerate(chunks):
        extra = kwargs if k == 0 else {}
        est.partial_fit(X[s], y[s], **extra)
        ref.partial_fit(X[s], y[s], **extra)
    assert est.n_iter_ == ref.n_iter_ == 1
    assert est.t_ == ref.t_ == 40 * 3 + 120 + 40
    assert len(est.loss_curve_) == len(chunks)
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-6)
    _assert_params_close(est, ref, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(_outputs(est, X), _outputs(ref, X), rtol=1e-6, atol=1e-10)


# --------------------------------------------------------------- warm_start
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_warm_start_continues_training_like_sklearn(Est, SkEst, solver):
    X, y = _data_for(Est, n=100)
    params = dict(
        hidden_layer_sizes=(8,),
        solver=solver,
        max_iter=15,
        batch_size=20,
        learning_rate_init=0.02,
        warm_start=True,
        random_state=0,
    )
    est, ref = Est(**params), SkEst(**params)
    _fit_quiet(est, X, y)
    first = list(est.loss_curve_)
    _fit_quiet(est, X, y)
    _fit_quiet(ref, X, y)
    _fit_quiet(ref, X, y)
    curve = est.loss_curve_
    assert len(curve) == 30
    assert curve[:15] == first
    assert est.n_iter_ == 15
    assert est.t_ == 30 * len(X)
    np.testing.assert_allclose(curve, ref.loss_curve_, rtol=1e-6)
    # The second fit starts where the first one ended, not from a new network.
    drop = first[0] - first[-1]
    assert drop > 0
    assert abs(curve[15] - first[-1]) < 0.25 * drop
    cold = _fit_quiet(Est(**{**params, "warm_start": False}), X, y)
    assert cold.loss_curve_ == pytest.approx(first, rel=1e-12)


def test_warm_start_with_other_classes_raises_like_sklearn():
    X, y = _clf_data(n_classes=3)
    keep = y != 2
    msgs = []
    for Est in (MLPClassifier, sk.MLPClassifier):
        est = _fit_quiet(Est(hidden_layer_sizes=(4,), max_iter=2, warm_start=True), X, y)
        with pytest.raises(ValueError) as info:
            est.fit(X[keep], y[keep])
        msgs.append(str(info.value))
    assert "warm_start can only be used where `y` has the same classes" in msgs[0]
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_warm_start_with_other_layer_sizes_raises(Est):
    # scikit-learn silently keeps training the old network; sknn_train says so.
    X, y = _data_for(Est)
    est = _fit_quiet(Est(hidden_layer_sizes=(4,), max_iter=2, warm_start=True), X, y)
    before = [c.copy() for c in est.coefs_]
    est.set_params(hidden_layer_sizes=(5,))
    d, k = X.shape[1], est.n_outputs_
    with pytest.raises(ValueError, match=rf"layer sizes \[{d}, 4, {k}\].*needs \[{d}, 5, {k}\]"):
        est.fit(X, y)
    for a, b in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)
    # Back to the old sizes, warm starting works again.
    est.set_params(hidden_layer_sizes=(4,))
    _fit_quiet(est, X, y)
    assert len(est.loss_curve_) == 4


# ------------------------------------------------------ messages, warnings
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_verbose_output_identical_to_sklearn(Est, SkEst, capsys):
    X, y = _data_for(Est)
    params = dict(hidden_layer_sizes=(6,), solver="adam", max_iter=3, verbose=True, random_state=0)
    capsys.readouterr()
    _fit_quiet(Est(**params), X, y)
    ours = capsys.readouterr().out
    _fit_quiet(SkEst(**params), X, y)
    theirs = capsys.readouterr().out
    lines = ours.splitlines()
    assert len(lines) == 3
    for k, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"Iteration {k}, loss = \d+\.\d{{8}}", line)
    assert ours == theirs


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_convergence_warning_stochastic(Est, SkEst, solver):
    X, y = _data_for(Est)
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=3, random_state=0)
    msg = r"Stochastic Optimizer: Maximum iterations \(3\) reached"
    with pytest.warns(ConvergenceWarning, match=msg) as ours:
        Est(**params).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=msg) as theirs:
        SkEst(**params).fit(X, y)
    conv = [str(w.message) for w in ours if w.category is ConvergenceWarning]
    assert conv == [str(w.message) for w in theirs if w.category is ConvergenceWarning]


@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_convergence_warning_lbfgs(Est, SkEst):
    X, y = _data_for(Est)
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge") as ours:
        est = Est(**params).fit(X, y)
    with pytest.warns(ConvergenceWarning) as theirs:
        ref = SkEst(**params).fit(X, y)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert est.n_iter_ == ref.n_iter_ == 2
    assert est.loss_ == pytest.approx(ref.loss_, rel=1e-6)


@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_keyboard_interrupt_leaves_fitted_estimator(Est, SkEst, monkeypatch):
    """Ctrl-C in the 3rd epoch's compiled call, after its updates were made."""
    X, y = _data_for(Est)
    real = sknn_train._train.run_epoch
    calls = []

    def interrupting(*args):
        result = real(*args)
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(sknn_train._train, "run_epoch", interrupting)
    blas_before = [(d["filepath"], d["num_threads"]) for d in threadpool_info()]
    params = dict(hidden_layer_sizes=(5,), max_iter=10, random_state=0)
    est = Est(**params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, y)
        except KeyboardInterrupt:
            pytest.fail("fit let the KeyboardInterrupt escape")
    messages = [(w.category, str(w.message)) for w in caught]
    assert (UserWarning, "Training interrupted by user.") in messages
    assert not any(c is ConvergenceWarning for c, _ in messages)
    assert len(calls) == 3
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 2
    pred = est.predict(X)
    assert pred.shape[0] == len(X)
    out = _outputs(est, X)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, np.squeeze(_numpy_forward(est, X)), rtol=1e-10)
    # Same state as scikit-learn interrupted at that point: the weights of 3
    # epochs, the loss curve of the 2 completed ones.
    ref = _fit_quiet(SkEst(**{**params, "max_iter": 3}), X, y)
    _assert_params_close(est, ref, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_[:2], rtol=1e-6)
    # The thread limit of the fit was lifted on the way out.
    assert [(d["filepath"], d["num_threads"]) for d in threadpool_info()] == blas_before

    # A second fit afterwards runs to the end and equals an uninterrupted fit.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert not any("interrupted" in str(w.message) for w in caught)
    assert est.n_iter_ == 10
    monkeypatch.setattr(sknn_train._train, "run_epoch", real)
    clean = _fit_quiet(Est(**params), X, y)
    np.testing.assert_allclose(est.loss_curve_, clean.loss_curve_, rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X), clean.predict(X))


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


# ------------------------------------------------ parameter buffer, pickle
@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_params_are_views_of_flat_buffer_and_survive_pickle(Est):
    X, y = _data_for(Est)
    est = _fit_quiet(Est(hidden_layer_sizes=(6, 5), max_iter=5, random_state=0), X, y)
    theta = est._theta
    params = est.coefs_ + est.intercepts_
    assert theta.ndim == 1
    assert theta.size == sum(p.size for p in params)
    for p in params:
        assert np.shares_memory(p, theta)
    # scikit-learn's packing order: every weight matrix, then every bias.
    np.testing.assert_array_equal(theta, np.concatenate([p.ravel() for p in params]))
    # Writing through a view changes the buffer and the predictions.
    before = _outputs(est, X).copy()
    est.intercepts_[-1][-1] += 0.5  # not all of them: softmax ignores a shift
    assert theta[-1] == est.intercepts_[-1][-1]
    after = _outputs(est, X)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, np.squeeze(_numpy_forward(est, X)), rtol=1e-10)

    # Pickle round trip: identical predictions, also on sparse input.
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_outputs(clone, X), _outputs(est, X))
    np.testing.assert_array_equal(clone.predict(X), est.predict(X))
    np.testing.assert_array_equal(clone.predict(sp.csr_matrix(X)), est.predict(X))

    # The user replaces a weight matrix: predict uses it.
    clone.coefs_[0] = clone.coefs_[0] * 0
    expected = np.squeeze(_numpy_forward(clone, X))
    got = _outputs(clone, X)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # Every row now gets the same output (the first layer ignores X).
    np.testing.assert_allclose(got, np.broadcast_to(got[:1], got.shape), rtol=1e-12)
    assert not np.allclose(got, _outputs(est, X))
    # After that predict, in-place edits are seen again.
    clone.intercepts_[0][...] = 1.0
    np.testing.assert_allclose(_outputs(clone, X), np.squeeze(_numpy_forward(clone, X)), rtol=1e-10)
    # In-place edit right after unpickling (arrays no longer views of the buffer).
    other = pickle.loads(pickle.dumps(est))
    other.coefs_[1][...] *= -1.0
    np.testing.assert_allclose(_outputs(other, X), np.squeeze(_numpy_forward(other, X)), rtol=1e-10)
    # The original is untouched by all of this.
    np.testing.assert_array_equal(_outputs(est, X), after)


def test_pickled_estimator_continues_training_like_original():
    X, y = _clf_data()
    params = dict(hidden_layer_sizes=(6,), random_state=0)
    est = MLPClassifier(**params)
    est.partial_fit(X, y, classes=[0, 1, 2])
    clone = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y)
    clone.partial_fit(X, y)
    np.testing.assert_array_equal(clone.loss_curve_, est.loss_curve_)
    np.testing.assert_array_equal(clone._theta, est._theta)


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
