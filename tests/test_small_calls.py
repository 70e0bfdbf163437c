"""Small calls: one-row predictions and partial_fit on chunks.

What keeps these fast also keeps state between calls (the network
description, the views of the flat parameter buffer, a re-seeded generator)
and skips the general input validation for plain arrays. These tests check
behaviour, not time: the results are those of a fresh computation and of
scikit-learn, and bad input still gets scikit-learn's errors and warnings on
a later call.
"""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from conftest import classification, regression
from sklearn import neural_network as sk
from sklearn.base import is_classifier
from sklearn.exceptions import DataConversionWarning, NotFittedError
from threadpoolctl import threadpool_info

from sknn_train import MLPClassifier, MLPRegressor

RTOL = 1e-6


def _fresh(est):
    """The same fitted model rebuilt from its pickle: no cached state."""
    return pickle.loads(pickle.dumps(est))


def _sklearn_twin(est):
    """A scikit-learn MLP holding ``est``'s weights: its forward pass is the reference."""
    cls = sk.MLPClassifier if is_classifier(est) else sk.MLPRegressor
    ref = cls(hidden_layer_sizes=est.hidden_layer_sizes, activation=est.activation)
    for name in (
        "coefs_",
        "intercepts_",
        "n_layers_",
        "n_outputs_",
        "out_activation_",
        "n_features_in_",
    ):
        setattr(ref, name, getattr(est, name))
    if is_classifier(est):
        ref.classes_ = est.classes_
        ref._label_binarizer = est._label_binarizer
    return ref


def _outputs(est, X):
    return est.predict_proba(X) if is_classifier(est) else est.predict(X)


def _fitted(Est=MLPClassifier, **params):
    X, y = classification() if Est is MLPClassifier else regression()
    params = {"hidden_layer_sizes": (9, 6), "max_iter": 20, "random_state": 0, **params}
    return Est(**params).fit(X, y), X


def _error(func, *args):
    """The type and message of what ``func(*args)`` raises."""
    with pytest.raises(Exception) as info:
        func(*args)
    return type(info.value), str(info.value)


# ---------------------------------------------------------------- predict
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_repeated_predictions_equal_a_fresh_model_and_sklearn(Est):
    est, X = _fitted(Est)
    first = _outputs(est, X)
    rows = np.vstack([_outputs(est, X[i : i + 1]).reshape(1, -1) for i in range(10)])
    again = _outputs(est, X)
    fresh = _fresh(est)
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(_outputs(fresh, X), first)
    fresh_rows = [_outputs(fresh, X[i : i + 1]).reshape(1, -1) for i in range(10)]
    np.testing.assert_array_equal(rows, np.vstack(fresh_rows))
    np.testing.assert_allclose(rows, first[:10].reshape(10, -1), rtol=1e-12)
    np.testing.assert_allclose(first, _outputs(_sklearn_twin(est), X), rtol=1e-10)
    if is_classifier(est):
        np.testing.assert_array_equal(est.predict(X), _sklearn_twin(est).predict(X))


@pytest.mark.parametrize("target", ["binary", "multiclass", "strings", "multilabel"])
def test_predicted_labels_equal_sklearn(target):
    X, y = classification(n_classes=2 if target == "binary" else 3)
    if target == "strings":
        y = np.array(["ant", "bee", "cat"])[y]
    elif target == "multilabel":
        y = np.column_stack([y == 0, y == 1, X[:, 0] > 0]).astype(int)
    est = MLPClassifier((7,), max_iter=20, random_state=0).fit(X, y)
    twin = _sklearn_twin(est)
    for rows in (X, X[:1], X[3:4]):
        np.testing.assert_array_equal(est.predict(rows), twin.predict(rows))
        assert est.predict(rows).dtype == twin.predict(rows).dtype


def test_plain_arrays_and_general_input_predict_the_same():
    est, X = _fitted()
    expected = est.predict_proba(X)
    # lists, float32, Fortran order, read-only and strided arrays
    np.testing.assert_array_equal(est.predict_proba(X.tolist()), expected)
    np.testing.assert_array_equal(est.predict_proba(np.asfortranarray(X)), expected)
    readonly = X.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(est.predict_proba(readonly), expected)
    wide = np.repeat(X, 2, axis=1)
    np.testing.assert_array_equal(est.predict_proba(wide[:, ::2]), expected)
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(est.predict_proba(X32), est.predict_proba(X32.tolist()))


@pytest.mark.parametrize("change", ["new list", "one array", "in place", "new shape"])
def test_new_coefs_invalidate_the_cached_network(change):
    est, X = _fitted()
    before = est.predict_proba(X)
    rng = np.random.RandomState(1)
    if change == "new list":
        est.coefs_ = [c * 1.5 for c in est.coefs_]
    elif change == "one array":
        est.coefs_[0] = est.coefs_[0] * 1.5
        est.intercepts_[1] = est.intercepts_[1] + 0.5
    elif change == "in place":
        est.coefs_[0] *= 1.5  # a view of the buffer the kernels read
    else:
        est.coefs_ = [rng.randn(X.shape[1], 4), rng.randn(4, 2), rng.randn(2, 3)]
        est.intercepts_ = [rng.randn(4), rng.randn(2), rng.randn(3)]
    after = est.predict_proba(X)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, _sklearn_twin(est).predict_proba(X), rtol=1e-10)
    np.testing.assert_array_equal(after, _fresh(est).predict_proba(X))
    np.testing.assert_allclose(est.predict_proba(X[:1]), after[:1], rtol=1e-12)


def test_predictions_use_the_network_that_was_trained():
    # The fitted model keeps the network it was trained as (activations,
    # residual wiring): set_params after fit changes the next fit, never the
    # predictions of the weights already trained. (scikit-learn re-reads
    # `activation` in predict, applying it to weights trained for another one.)
    est, X = _fitted()
    relu = est.predict_proba(X)
    est.set_params(activation="tanh")
    np.testing.assert_array_equal(est.predict_proba(X), relu)
    refit = est.fit(X, classification()[1]).predict_proba(X)
    assert not np.allclose(refit, relu)
    np.testing.assert_allclose(refit, _sklearn_twin(est).predict_proba(X), rtol=1e-10)

    est, X = _fitted(hidden_layer_sizes=(6, 6, 6))
    plain = est.predict_proba(X)
    est.set_params(residual=True)
    np.testing.assert_array_equal(est.predict_proba(X), plain)
    # also after a round trip through pickle
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(X), plain)


def test_predict_errors_and_warnings_like_sklearn():
    X, y = classification()
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    ours, ref = MLPClassifier(**params), sk.MLPClassifier(**params)
    for method in ("predict", "predict_proba"):
        got = _error(getattr(ours, method), X)
        assert got[0] is NotFittedError
        assert got == _error(getattr(ref, method), X)
    ours.fit(X, y)
    ref.fit(X, y)
    nan = X[:1].copy()
    nan[0, 2] = np.nan
    inf = X[:1].copy()
    inf[0, 0] = np.inf
    for bad in (X[:1, :-1], nan, inf, X[0], X[:0], X[:1].astype(complex), [["a"] * 8]):
        for method in ("predict", "predict_proba"):
            got = _error(getattr(ours, method), bad)
            assert got == _error(getattr(ref, method), bad)

    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    for est in (ours, ref):
        with pytest.warns(UserWarning, match="X has feature names, but"):
            est.predict_proba(frame.iloc[:1])
    named, named_ref = (
        MLPClassifier(**params).fit(frame, y),
        sk.MLPClassifier(**params).fit(frame, y),
    )
    for est in (named, named_ref):
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            est.predict_proba(X[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_frame = named.predict_proba(frame.iloc[:1])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(named.predict_proba(X[:1]), from_frame)


def test_assume_finite_and_overflowing_sums_follow_sklearn():
    est, X = _fitted()
    nan = X[:2].copy()
    nan[0, 0] = np.nan
    with sklearn.config_context(assume_finite=True):
        out = est.predict_proba(nan)  # no check: NaN goes through, as in scikit-learn
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()
    # finite values whose sum overflows are valid input
    big = np.full((1, X.shape[1]), np.finfo(np.float64).max)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict(big)


# ------------------------------------------------------------ partial_fit
def _chunks(n, size):
    return [slice(s, s + size) for s in range(0, n, size)]


_TARGETS = ["multiclass", "strings", "binary", "regression", "two targets"]


def _target_data(target):
    if target == "regression":
        return regression(n_samples=200)
    if target == "two targets":
        return regression(n_targets=2, n_samples=200)
    X, y = classification(n_classes=2 if target == "binary" else 4, n_samples=200)
    if target == "strings":
        y = np.array(["w", "x", "y", "z"])[y]
    return X, y


@pytest.mark.parametrize("classes_every_call", [False, True])
@pytest.mark.parametrize("target", _TARGETS)
def test_partial_fit_after_partial_fit_matches_sklearn(target, classes_every_call):
    X, y = _target_data(target)
    regressor = target in ("regression", "two targets")
    Est, SkEst = (MLPRegressor, sk.MLPRegressor) if regressor else (MLPClassifier, sk.MLPClassifier)
    params = dict(hidden_layer_sizes=(10,), batch_size=16, random_state=0, learning_rate_init=0.01)
    # Multi-output squared error: sknn_train reports the sum over outputs,
    # scikit-learn the mean (test_fixed_bugs.py); with alpha=0 that is all.
    scale = 1.0
    if target == "two targets":
        params["alpha"], scale = 0.0, 2.0
    ours, ref = Est(**params), SkEst(**params)
    for k, rows in enumerate(_chunks(len(X), 50) * 2):
        kwargs = {}
        if not regressor and (k == 0 or classes_every_call):
            kwargs["classes"] = np.unique(y)
        ours.partial_fit(X[rows], y[rows], **kwargs)
        ref.partial_fit(X[rows], y[rows], **kwargs)
    assert ours.t_ == ref.t_ == 2 * len(X)
    np.testing.assert_allclose(ours.loss_curve_, scale * np.asarray(ref.loss_curve_), rtol=RTOL)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    if regressor:
        np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-5, atol=1e-8)
    else:
        np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize("target", _TARGETS)
def test_plain_arrays_and_general_input_train_the_same(target):
    # plain arrays skip the general validation on later calls; lists take it
    X, y = _target_data(target)
    regressor = target in ("regression", "two targets")
    Est = MLPRegressor if regressor else MLPClassifier
    fits = []
    for as_list in (False, True):
        est = Est(hidden_layer_sizes=(8,), random_state=3)
        for k, rows in enumerate(_chunks(len(X), 40)):
            Xc, yc = X[rows], y[rows]
            if as_list and k > 0:
                Xc, yc = Xc.tolist(), yc.tolist()
            kwargs = {"classes": np.unique(y)} if not regressor and k == 0 else {}
            est.partial_fit(Xc, yc, **kwargs)
        fits.append(est)
    plain, general = fits
    assert plain.loss_curve_ == general.loss_curve_
    for a, b in zip(plain.coefs_ + plain.intercepts_, general.coefs_ + general.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.dead_units_, general.dead_units_)


def test_partial_fit_with_a_subset_of_the_classes_and_sample_weight():
    X, y = classification(n_classes=4, n_samples=200)
    sw = np.random.RandomState(0).uniform(0.5, 2.0, len(X))
    params = dict(hidden_layer_sizes=(6,), random_state=0, solver="sgd")
    ours, ref = MLPClassifier(**params), sk.MLPClassifier(**params)
    for k, rows in enumerate(_chunks(len(X), 50)):
        keep = y[rows] != k  # each later chunk misses one class
        kwargs = {"classes": [0, 1, 2, 3]} if k == 0 else {}
        for est in (ours, ref):
            est.partial_fit(X[rows][keep], y[rows][keep], sample_weight=sw[rows][keep], **kwargs)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=RTOL)


def test_partial_fit_with_a_generator_draws_from_it_like_sklearn():
    # An int seed starts every call from the same state; a RandomState goes on
    # drawing from the user's generator, which must not be re-seeded.
    X, y = classification(n_samples=120)
    gens = np.random.RandomState(5), np.random.RandomState(5)
    ours = MLPClassifier((6,), random_state=gens[0])
    ref = sk.MLPClassifier((6,), random_state=gens[1])
    for k, rows in enumerate(_chunks(len(X), 40)):
        kwargs = {"classes": [0, 1, 2]} if k == 0 else {}
        ours.partial_fit(X[rows], y[rows], **kwargs)
        ref.partial_fit(X[rows], y[rows], **kwargs)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=RTOL)
    assert gens[0].randint(2**31) == gens[1].randint(2**31)

    ours.set_params(random_state=2)
    ref.set_params(random_state=2)
    for rows in _chunks(len(X), 40):
        ours.partial_fit(X[rows], y[rows])
        ref.partial_fit(X[rows], y[rows])
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=RTOL)
    assert gens[0].randint(2**31) == gens[1].randint(2**31)


def _later_call_cases(regressor):
    X, y = regression(n_samples=60) if regressor else classification(n_samples=60)
    nan, inf = X[:20].copy(), X[:20].copy()
    nan[3, 1] = np.nan
    inf[4, 0] = -np.inf
    cases = {
        "fewer features": (X[:20, :-1], y[:20]),
        "more features": (np.hstack([X[:20], X[:20, :1]]), y[:20]),
        "NaN in X": (nan, y[:20]),
        "inf in X": (inf, y[:20]),
        "y too short": (X[:20], y[:19]),
        "no rows": (X[:0], y[:0]),
        "1-D X": (X[0], y[:1]),
        "3-D y": (X[:20], y[:20].reshape(20, 1, 1)),
    }
    if regressor:
        y_nan = y[:20].copy()
        y_nan[2] = np.nan
        cases["NaN in y"] = (X[:20], y_nan)
        cases["inf in y"] = (X[:20], np.where(y[:20] > 0, np.inf, 0.0))
    else:
        y_new = y[:20].copy()
        y_new[5] = 7
        cases["unseen class"] = (X[:20], y_new)
        cases["unseen string class"] = (X[:20], np.array(["a"] * 20))
        cases["float labels"] = (X[:20], y[:20] + 0.5)
        cases["unseen negative class"] = (X[:20], np.where(y[:20] == 0, -1, y[:20]))
    return X, y, cases


@pytest.mark.parametrize("regressor", [False, True], ids=["classifier", "regressor"])
def test_later_partial_fit_errors_like_sklearn(regressor):
    X, y, cases = _later_call_cases(regressor)
    Est, SkEst = (MLPRegressor, sk.MLPRegressor) if regressor else (MLPClassifier, sk.MLPClassifier)
    kwargs = {} if regressor else {"classes": [0, 1, 2]}
    for name, (Xb, yb) in cases.items():
        ours = Est(hidden_layer_sizes=(5,), random_state=0)
        ref = SkEst(hidden_layer_sizes=(5,), random_state=0)
        for est in (ours, ref):
            est.partial_fit(X[:30], y[:30], **kwargs)
            est.partial_fit(X[30:], y[30:])
        got = _error(ours.partial_fit, Xb, yb)
        assert got == _error(ref.partial_fit, Xb, yb), name
        # and the model can go on learning from good chunks
        ours.partial_fit(X[:30], y[:30])


def test_later_partial_fit_warnings_like_sklearn():
    X, y = classification(n_samples=60)
    for Est in (MLPClassifier, sk.MLPClassifier):
        est = Est((5,), random_state=0).partial_fit(X[:30], y[:30], classes=[0, 1, 2])
        with pytest.warns(DataConversionWarning, match="column-vector y"):
            est.partial_fit(X[30:], y[30:].reshape(-1, 1))

    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    for Est in (MLPClassifier, sk.MLPClassifier):
        est = Est((5,), random_state=0).partial_fit(X[:30], y[:30], classes=[0, 1, 2])
        with pytest.warns(UserWarning, match="X has feature names, but"):
            est.partial_fit(frame.iloc[30:], y[30:])
        est = Est((5,), random_state=0).partial_fit(frame.iloc[:30], y[:30], classes=[0, 1, 2])
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            est.partial_fit(X[30:], y[30:])


def test_later_classes_argument_is_checked_like_sklearn():
    X, y = classification(n_samples=60)
    later = {
        "same": np.array([0, 1, 2]),
        "same, as a list": [0, 1, 2],
        "reordered": np.array([2, 0, 1]),
        "other dtype": np.array([0.0, 1.0, 2.0]),
        "one more": np.array([0, 1, 2, 3]),
        "one less": np.array([0, 1]),
        "strings": np.array(["0", "1", "2"]),
    }
    for name, classes in later.items():
        outcomes = []
        for Est in (MLPClassifier, sk.MLPClassifier):
            est = Est((5,), random_state=0).partial_fit(X[:30], y[:30], classes=[0, 1, 2])
            try:
                est.partial_fit(X[30:], y[30:], classes=classes)
                outcomes.append(("ok", list(est.classes_), est.loss_curve_))
            except ValueError as exc:
                outcomes.append(("error", str(exc)))
        if outcomes[0][0] == "ok":
            np.testing.assert_allclose(outcomes[0][2], outcomes[1][2], rtol=RTOL)
            outcomes = [o[:2] for o in outcomes]
        assert outcomes[0] == outcomes[1], name


def test_warm_start_partial_fit_keeps_its_class_check():
    X, y = classification(n_samples=60)
    for Est in (MLPClassifier, sk.MLPClassifier):
        est = Est((5,), random_state=0, warm_start=True)
        est.partial_fit(X[:30], y[:30], classes=[0, 1, 2])
        with pytest.raises(ValueError, match="warm_start can only be used"):
            est.partial_fit(X[30:][y[30:] != 2], y[30:][y[30:] != 2])


def test_small_calls_leave_the_blas_settings_alone():
    before = [(d["filepath"], d["num_threads"]) for d in threadpool_info()]
    X, y = classification(n_samples=400)
    est = MLPClassifier((300,), random_state=0)
    for k, rows in enumerate(_chunks(len(X), 200)):
        est.partial_fit(X[rows], y[rows], **({"classes": [0, 1, 2]} if k == 0 else {}))
    est.predict_proba(X[:1])
    est.predict(X)
    assert [(d["filepath"], d["num_threads"]) for d in threadpool_info()] == before


def test_pickles_carry_no_cached_state():
    est, X = _fitted()
    est.partial_fit(X, classification()[1])
    state = est.__getstate__()
    for name in ("_param_views", "_seeded_rng", "_theta", "_layout"):
        assert name not in state
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    loaded.partial_fit(X, classification()[1])
    est.partial_fit(X, classification()[1])
    assert loaded.loss_curve_ == est.loss_curve_
