"""Temperature scaling of the classifiers' probabilities (SPEC 4.10)."""

import pickle
import warnings

import numpy as np
import pytest
from conftest import classification, multilabel, quiet_fit
from scipy.special import expit, softmax
from sklearn.metrics import log_loss

from sknn_train import MLPClassifier, TabularMLPClassifier
from sknn_train._calibration import LOG_T_BOUNDS, fit_temperature, probabilities


def _with_prior(loss, n):
    """``loss(T)`` plus the standard normal prior on log T, per held-out row."""
    return lambda t: loss(t) + np.log(t) ** 2 / (2 * n)


def _grid_argmin(loss):
    """The temperature minimising ``loss(T)`` on a grid of log T, refined once around
    its best point (the reference: no optimizer)."""
    grid = np.linspace(*LOG_T_BOUNDS, 401)
    best = grid[np.argmin([loss(np.exp(g)) for g in grid])]
    step = grid[1] - grid[0]
    fine = np.linspace(best - step, best + step, 401)
    return np.exp(fine[np.argmin([loss(np.exp(g)) for g in fine])])


def _logits(seed, n_members, n, k, spread=3.0):
    return np.random.RandomState(seed).randn(n_members, n, k) * spread


@pytest.mark.parametrize("n_members", [1, 3])
def test_softmax_temperature_is_the_log_loss_minimum(n_members):
    Z = _logits(0, n_members, 300, 4)
    # labels from sharper logits than Z: the best T is below 1
    labels = np.argmax(Z.mean(axis=0) * 3 + np.random.RandomState(1).gumbel(size=(300, 4)), 1)
    Y = np.eye(4)[labels]
    sw = np.random.RandomState(2).uniform(0.5, 2.0, 300)

    def reference(t):  # plain NumPy / scikit-learn: members' softmax(Z / t) averaged
        p = np.mean([softmax(z / t, axis=1) for z in Z], axis=0)
        return log_loss(labels, p, sample_weight=sw, labels=range(4))

    T = fit_temperature(Z, Y, sw, softmax=True)
    assert isinstance(T, float)
    np.testing.assert_allclose(T, _grid_argmin(_with_prior(reference, 300)), rtol=2e-3)
    assert reference(T) <= reference(1.0)
    np.testing.assert_allclose(
        probabilities(Z, T, True), np.mean([softmax(z / T, axis=1) for z in Z], axis=0)
    )


@pytest.mark.parametrize("n_members", [1, 2])
def test_logistic_temperatures_one_per_output(n_members):
    Z = _logits(3, n_members, 400, 3, spread=4.0)
    rng = np.random.RandomState(4)
    # each output's labels from logits scaled differently: different temperatures
    Y = (rng.uniform(size=(400, 3)) < expit(Z.mean(axis=0) * [0.3, 1.0, 2.5])).astype(float)
    sw = np.ones(400)
    T = fit_temperature(Z, Y, sw, softmax=False)
    assert T.shape == (3,)
    for j in range(3):

        def reference(t, j=j):
            p = np.mean([expit(z[:, j] / t) for z in Z], axis=0)
            return log_loss(Y[:, j], p, labels=[0, 1])

        np.testing.assert_allclose(T[j], _grid_argmin(_with_prior(reference, 400)), rtol=2e-3)
    assert T[0] > T[1] > T[2]
    expected = np.mean([expit(z / T) for z in Z], axis=0)
    np.testing.assert_allclose(probabilities(Z, T, False), expected)
    # one logistic unit (binary): one temperature, a float
    assert isinstance(fit_temperature(Z[:, :, :1], Y[:, :1], sw, softmax=False), float)


def test_extreme_logits_stay_exact():
    """sigmoid(40) rounds to 1 in float64; the fit must still see each row's margin."""
    Z = np.array([[[40.0], [-40.0], [38.0], [-39.0], [45.0], [-3.0], [2.0]]])
    y = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0])

    def reference(t):  # -log sigmoid(+-z / t), with log1p(exp(-u)) as logaddexp(0, -u)
        u = Z[0, :, 0] / t
        return np.mean(np.where(y == 1, np.logaddexp(0, -u), np.logaddexp(0, u)))

    T = fit_temperature(Z, y[:, None], np.ones(7), softmax=False)
    np.testing.assert_allclose(T, _grid_argmin(_with_prior(reference, 7)), rtol=2e-3)
    assert T > 1.0  # the wrong row at 38 calls for softer probabilities


def _numpy_logits(clf, X):
    """The output layer's pre-activation of a fitted single network, in plain NumPy."""
    h = X
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        h = h @ W + b
        if i < len(clf.coefs_) - 1:
            h = np.maximum(h, 0.0)
    return h


def test_predict_proba_divides_the_logits_by_the_temperature():
    X, y = classification(3, n_samples=300)
    params = dict(hidden_layer_sizes=(16,), early_stopping=True, max_iter=30, random_state=0)
    clf = quiet_fit(MLPClassifier(calibration="temperature", **params), X, y)
    plain = quiet_fit(MLPClassifier(**params), X, y)
    T = clf.calibration_temperature_
    assert isinstance(T, float) and T != 1.0
    # the same training: calibration changes the probabilities only
    for a, b in zip(clf.coefs_, plain.coefs_):
        np.testing.assert_array_equal(a, b)
    assert "calibration_temperature_" not in vars(plain)
    z = _numpy_logits(clf, X)
    np.testing.assert_allclose(clf.predict_proba(X), softmax(z / T, axis=1), rtol=1e-10)
    np.testing.assert_allclose(plain.predict_proba(X), softmax(z, axis=1), rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), plain.predict(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)))


def test_temperature_is_fitted_on_the_held_out_rows(monkeypatch):
    """fit_temperature sees the validation rows' logits under the kept weights,
    weighted by sample_weight alone (class weights are a training device)."""
    import sknn_train._training as training

    seen = {}

    def split_spy(*args, **kwargs):
        seen["rows"] = split(*args, **kwargs)
        return seen["rows"]

    def fit_spy(Z, Y, sw, softmax):
        seen.update(Z=Z, Y=Y, sw=sw, softmax=softmax)
        return fit_temperature(Z, Y, sw, softmax)

    split = training.validation_split
    monkeypatch.setattr(training, "validation_split", split_spy)
    monkeypatch.setattr(training, "fit_temperature", fit_spy)
    X, y = classification(3, n_samples=200)
    sw = np.random.RandomState(0).uniform(0.5, 2.0, 200)
    clf = MLPClassifier(
        (8,),
        restore_best_weights=True,
        validation_metric="loss",
        calibration="temperature",
        class_weight={0: 5.0, 1: 1.0, 2: 1.0},
        max_iter=15,
        random_state=0,
    )
    quiet_fit(clf, X, y, sample_weight=sw)
    val_rows = seen["rows"][1]
    assert seen["softmax"] and seen["Z"].shape == (1, len(val_rows), 3)
    np.testing.assert_allclose(seen["Z"][0], _numpy_logits(clf, X[val_rows]), rtol=1e-10)
    np.testing.assert_allclose(seen["sw"], sw[val_rows])
    np.testing.assert_array_equal(np.argmax(seen["Y"], axis=1), y[val_rows])
    assert clf.calibration_temperature_ == fit_temperature(seen["Z"], seen["Y"], seen["sw"], True)


@pytest.mark.parametrize("ensemble", ["independent", "batch"])
def test_an_ensemble_averages_calibrated_members_and_predicts_their_argmax(ensemble):
    X, y = classification(3, n_samples=300)
    clf = quiet_fit(
        TabularMLPClassifier(
            (16, 16), max_iter=10, n_ensemble=3, ensemble=ensemble, random_state=0
        ),
        X,
        y,
    )
    T = clf.calibration_temperature_
    proba = clf.predict_proba(X)
    members = clf.estimators_
    assert all(m.calibration_temperature_ == T for m in members)
    np.testing.assert_allclose(proba, np.mean([m.predict_proba(X) for m in members], 0))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)


def test_binary_multilabel_and_float32():
    X, y = classification(2, n_samples=300)
    params = dict(hidden_layer_sizes=(8,), early_stopping=True, max_iter=20, random_state=0)
    clf = quiet_fit(MLPClassifier(calibration="temperature", **params), X, y)
    p = expit(_numpy_logits(clf, X)[:, 0] / clf.calibration_temperature_)
    np.testing.assert_allclose(clf.predict_proba(X), np.column_stack([1 - p, p]), rtol=1e-10)
    X, Y = multilabel(n_samples=300)
    ml = quiet_fit(
        MLPClassifier(restore_best_weights=True, calibration="temperature", **params), X, Y
    )
    assert ml.calibration_temperature_.shape == (3,)
    p = expit(_numpy_logits(ml, X) / ml.calibration_temperature_)
    np.testing.assert_allclose(ml.predict_proba(X), p, rtol=1e-10)
    np.testing.assert_array_equal(ml.predict(X), (p > 0.5).astype(int))
    X32 = X.astype(np.float32)
    f32 = quiet_fit(MLPClassifier(calibration="temperature", **params), X32, Y)
    assert f32.predict_proba(X32).dtype == np.float32


def test_refit_refits_partial_fit_keeps_and_pickle_carries_the_temperature():
    X, y = classification(3, n_samples=300)
    clf = TabularMLPClassifier((8,), max_iter=8, n_ensemble=1, random_state=0)
    T = quiet_fit(clf, X, y).calibration_temperature_
    clf.set_params(lr_schedule=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X, y)
    assert clf.calibration_temperature_ == T
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    quiet_fit(clf.set_params(max_iter=4), X, y)
    assert clf.calibration_temperature_ != T
    # a fit that holds nothing out under 'auto' has no temperature (none is stale)
    quiet_fit(clf.set_params(restore_best_weights=False), X, y)
    assert "calibration_temperature_" not in vars(clf)


def test_calibration_needs_held_out_rows_unless_auto():
    X, y = classification(3)
    with pytest.raises(ValueError, match="early_stopping=True or restore_best_weights=True"):
        MLPClassifier(calibration="temperature", max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="held-out rows"):
        MLPClassifier(solver="lbfgs", calibration="temperature", early_stopping=True).fit(X, y)
    # 'auto' never raises about a parameter the user did not set
    clf = quiet_fit(MLPClassifier(calibration="auto", max_iter=2), X, y)
    assert "calibration_temperature_" not in vars(clf)
    lbfgs = quiet_fit(TabularMLPClassifier((4,), solver="lbfgs", max_iter=5), X, y)
    assert "calibration_temperature_" not in vars(lbfgs)
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="calibration"):
        MLPClassifier(calibration="platt").fit(X, y)


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel"])
def test_onnx_divides_by_the_temperature(kind):
    import onnxruntime

    from sknn_train.onnx import to_onnx

    if kind == "multilabel":
        X, y = multilabel(n_samples=300)
    else:
        X, y = classification(3 if kind == "multiclass" else 2, n_samples=300)
    clf = quiet_fit(TabularMLPClassifier((16,), max_iter=10, random_state=0), X, y)
    assert np.all(np.asarray(clf.calibration_temperature_) != 1.0)
    onx = to_onnx(clf, X[:1], options={"zipmap": False})
    session = onnxruntime.InferenceSession(onx.SerializeToString())
    label, proba = session.run(None, {"X": X})
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(label, clf.predict(X))


def test_separated_held_out_rows_get_a_finite_temperature():
    """Held-out rows all on the right side: their plain log loss falls all the way to
    T -> 0 (every probability 0 or 1); the prior on log T holds T inside."""
    rng = np.random.RandomState(0)
    for n in (8, 3000):
        margins = rng.uniform(1.0, 5.0, n)
        labels = rng.randint(0, 2, n)
        Z = np.zeros((1, n, 2))
        Z[0, np.arange(n), labels] = margins
        T = fit_temperature(Z, np.eye(2)[labels], np.ones(n), softmax=True)
        assert np.exp(LOG_T_BOUNDS[0]) * 1.5 < T < 1.0
        Zb = (2 * labels - 1.0)[None, :, None] * margins[None, :, None]
        Tb = fit_temperature(Zb, labels[:, None], np.ones(n), softmax=False)
        assert np.exp(LOG_T_BOUNDS[0]) * 1.5 < Tb < 1.0
