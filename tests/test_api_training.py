"""Public API against scikit-learn 1.9, continued (SPEC §1.1, §3): training over calls.

partial_fit, warm_start, verbose output and convergence warnings, Ctrl-C during a
fit, and the flat parameter buffer behind ``coefs_`` / ``intercepts_`` with pickle.
Tiny data and small networks, both libraries in the same test where behaviour must
be identical; what one fit accepts and gives back is in ``test_api.py``.
"""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    EST_IDS,
    ESTIMATORS,
    OURS,
    _assert_params_close,
    _clf_data,
    _data_for,
    _fit_quiet,
    _numpy_forward,
    _outputs,
)
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

import sknn_train
import sknn_train._train
from sknn_train import MLPClassifier, MLPRegressor


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
