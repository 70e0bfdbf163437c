"""Each technique of "Training Neural Networks" does what the lecture says it does.

Fixed seeds, small synthetic data, settings where the effect is large; the
numbers each test sees are quoted in the comments (measured on the project's
2-core CI machine) so that a regression is easy to judge.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn_train import MLPClassifier, MLPRegressor
from sknn_train._kernels.step import clip_factor
from sknn_train._layout import Layout

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def deep_data():
    return make_classification(n_samples=600, n_features=10, n_informative=6, random_state=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_residual_blocks_cure_vanishing_gradients(deep_data, seed):
    # 17 logistic layers of 16 units: plain, the first layer's gradient is
    # ~1e-6 of the last hidden layer's and the loss stays at chance
    # (0.693); with residual blocks the ratio is ~1-2 and the loss falls to
    # ~0.44-0.49 in the same 40 epochs.
    X, y = deep_data
    params = dict(
        hidden_layer_sizes=(16,) * 17,
        activation="logistic",
        max_iter=40,
        random_state=seed,
        tol=0,
        n_iter_no_change=1000,
    )
    plain = MLPClassifier(**params).fit(X, y)
    res = MLPClassifier(residual=True, **params).fit(X, y)
    g_plain = np.asarray(plain.layer_grad_norm_curve_)
    g_res = np.asarray(res.layer_grad_norm_curve_)
    assert g_plain.shape == (40, 18)
    assert g_plain[0, 0] / g_plain[0, -2] < 1e-3  # vanished
    assert g_res[0, 0] / g_res[0, -2] > 0.1  # carried by the identity path
    assert plain.loss_ > 0.68
    assert res.loss_ < plain.loss_ - 0.15


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=500, n_features=10, noise=5, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


@pytest.mark.parametrize("seed", SEEDS)
def test_clipping_tames_a_too_large_learning_rate(regression_data, seed):
    # sgd at learning rate 0.5 with momentum: R^2 0.13-0.55 without clipping,
    # 0.90-0.999 with max_grad_norm=1 (4-10% of the updates clipped).
    X, y = regression_data
    params = dict(
        hidden_layer_sizes=(64, 64),
        solver="sgd",
        learning_rate_init=0.5,
        max_iter=50,
        random_state=seed,
    )
    wild = MLPRegressor(**params).fit(X, y)
    tame = MLPRegressor(max_grad_norm=1.0, **params).fit(X, y)
    assert wild.score(X, y) < 0.6
    assert tame.score(X, y) > 0.85
    assert max(wild.loss_curve_) > 3 * max(tame.loss_curve_[1:])
    assert np.mean(tame.clip_fraction_curve_) > 0
    assert np.max(wild.clip_fraction_curve_) == 0


def test_clipping_keeps_direction_and_bounds_the_norm():
    layout = Layout([3, 4, 2])
    rng = np.random.RandomState(0)
    for scale, c in [(10.0, 1.0), (0.01, 1.0), (3.0, 0.5)]:
        g = rng.randn(layout.size) * scale
        norm = np.linalg.norm(g)
        factor = clip_factor.py_func(norm, c)
        clipped = g * factor
        assert np.linalg.norm(clipped) <= c * (1 + 1e-12) or norm <= c
        np.testing.assert_allclose(clipped / np.linalg.norm(clipped), g / norm, rtol=1e-12)
        assert (factor < 1.0) == (norm > c)
        if norm <= c:
            assert factor == 1.0
    assert clip_factor.py_func(5.0, 0.0) == 1.0  # max_norm <= 0: clipping off


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_step_equals_finish_then_step(solver, dtype):
    # Without clipping the epoch kernel finishes the gradient and updates the
    # weights block by block (finish_gradient, 4096 parameters a block); with
    # a clipping norm that never binds it finishes the whole buffer first,
    # then updates. Both must train the same network: the layer of 70 x 80
    # weights spans two blocks, and the diagnostics must agree too.
    X, y = make_regression(n_samples=300, n_features=70, random_state=0)
    X = StandardScaler().fit_transform(X).astype(dtype)
    params = dict(
        hidden_layer_sizes=(80, 30),
        solver=solver,
        max_iter=5,
        random_state=0,
        learning_rate_init=1e-3,
        tol=0,
        n_iter_no_change=100,
    )
    fused = MLPRegressor(**params).fit(X, y / 100)
    split = MLPRegressor(max_grad_norm=1e30, **params).fit(X, y / 100)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert fused.coefs_[0].size > 4096
    np.testing.assert_allclose(fused.loss_curve_, split.loss_curve_, rtol=rtol)
    np.testing.assert_allclose(fused.grad_norm_curve_, split.grad_norm_curve_, rtol=rtol)
    for a, b in zip(fused.coefs_ + fused.intercepts_, split.coefs_ + split.intercepts_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12 if dtype == np.float64 else 1e-6)
    assert split.clip_fraction_curve_ == [0.0] * 5


@pytest.mark.parametrize("seed", SEEDS)
def test_dead_relu_units_are_reported_and_leaky_relu_avoids_them(seed):
    # adam at learning rate 0.05 on inputs of scale 5: 53-94% of the second
    # relu layer dies; leaky_relu's units keep a gradient and none die.
    X, y = make_classification(n_samples=800, n_features=20, random_state=0)
    X = 5 * StandardScaler().fit_transform(X)
    params = dict(
        hidden_layer_sizes=(64, 64), learning_rate_init=0.05, max_iter=30, random_state=seed
    )
    relu = MLPClassifier(**params).fit(X, y)
    leaky = MLPClassifier(activation="leaky_relu", **params).fit(X, y)
    assert relu.dead_units_.shape == (2,)
    assert relu.dead_units_.max() > 0.3
    np.testing.assert_array_equal(leaky.dead_units_, [0.0, 0.0])
    # dead_units_ is what a NumPy forward pass over the training data sees
    h = np.maximum(X @ relu.coefs_[0] + relu.intercepts_[0], 0)
    h2 = np.maximum(h @ relu.coefs_[1] + relu.intercepts_[1], 0)
    manual = [np.mean(~(h > 0).any(axis=0)), np.mean(~(h2 > 0).any(axis=0))]
    np.testing.assert_allclose(relu.dead_units_, manual)


@pytest.mark.parametrize("seed", SEEDS)
def test_dropout_narrows_the_generalisation_gap(seed):
    # 200 noisy training rows, (256, 256) units, 100 epochs: without dropout the
    # train/test accuracy gap is 0.25-0.29 and the log-loss gap 1.2-1.5; with
    # dropout 0.7 they are 0.12-0.17 and 0.28-0.38.
    X, y = make_classification(
        n_samples=1200, n_features=30, n_informative=8, flip_y=0.3, random_state=seed
    )
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=200, random_state=seed)
    params = dict(
        hidden_layer_sizes=(256, 256),
        max_iter=100,
        random_state=seed,
        tol=0,
        n_iter_no_change=1000,
        alpha=0,
    )
    gaps = {}
    for p in (0.0, 0.7):
        m = MLPClassifier(dropout=p, **params).fit(Xtr, ytr)
        acc = m.score(Xtr, ytr) - m.score(Xte, yte)
        ll = log_loss(yte, m.predict_proba(Xte)) - log_loss(ytr, m.predict_proba(Xtr))
        gaps[p] = (acc, ll)
    assert gaps[0.7][0] < 0.75 * gaps[0.0][0]
    assert gaps[0.7][1] < 0.5 * gaps[0.0][1]


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_early_stopping_stops_after_patience_and_restores_the_best(metric):
    X, y = make_classification(n_samples=400, n_features=20, flip_y=0.2, random_state=0)
    m = MLPClassifier(
        (128,),
        early_stopping=True,
        validation_metric=metric,
        n_iter_no_change=5,
        max_iter=500,
        random_state=0,
        learning_rate_init=0.01,
    ).fit(X, y)
    assert m.n_iter_ < 500
    curve = m.validation_scores_ if metric == "score" else m.validation_loss_curve_
    curve = np.asarray(curve)
    best = int(np.argmax(curve) if metric == "score" else np.argmin(curve))
    # the last improvement by more than tol happened n_iter_no_change + 1 epochs before the end
    assert m.n_iter_ - 1 - best <= m.n_iter_no_change + 1
    assert len(m.validation_loss_curve_) == len(m.validation_scores_) == m.n_iter_
    # best weights restored: the held-out criterion of the fitted model is the best one
    from sknn_train._split import stratification_labels, validation_split

    rng = np.random.RandomState(0)  # SPEC 3 draw order: weights, bias per layer, split
    for shape in [(20, 128), (128,), (128, 1), (1,)]:
        rng.uniform(size=shape)
    Y = np.asarray(y)[:, None].astype(float)
    _, val_idx = validation_split(
        len(y), m.validation_fraction, rng, stratification_labels(Y, "binary")
    )
    if metric == "score":
        assert m.score(X[val_idx], y[val_idx]) == pytest.approx(m.best_validation_score_)
    else:
        p = m.predict_proba(X[val_idx])
        assert log_loss(y[val_idx], p) == pytest.approx(m.best_validation_loss_, rel=1e-9)
    assert m.loss_curve_[-1] <= m.loss_curve_[best]  # training went on past the best


def test_larger_alpha_gives_smaller_weights():
    X, y = make_classification(n_samples=300, n_features=20, random_state=0)
    norms = []
    # sum ||W||^2 after 300 epochs: 50.0 (alpha 1e-4), 9.2 (3), 1.8 (30)
    for alpha in (1e-4, 3.0, 30.0):
        m = MLPClassifier((32,), alpha=alpha, max_iter=300, random_state=0).fit(X, y)
        norms.append(sum(np.sum(W**2) for W in m.coefs_))
    assert norms[0] > 3 * norms[1] > 9 * norms[2]


def test_n_init_keeps_the_best_initialisation():
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    m = MLPClassifier((8,), n_init=4, max_iter=20, random_state=0).fit(X, y)
    assert len(m.init_scores_) == 4
    assert len(set(np.round(m.init_scores_, 12))) == 4  # different starting points
    # higher is better: the negated final training loss without early stopping
    assert m.loss_ == pytest.approx(-max(m.init_scores_))
    # the first run alone is what n_init=1 gives
    single = MLPClassifier((8,), max_iter=20, random_state=0).fit(X, y)
    assert single.loss_ == pytest.approx(-m.init_scores_[0])
    es = MLPClassifier((8,), n_init=3, early_stopping=True, max_iter=20, random_state=0).fit(X, y)
    assert es.best_validation_score_ == pytest.approx(max(es.init_scores_))


@pytest.mark.parametrize(
    "scheme,std",
    [
        ("he_normal", lambda fi: np.sqrt(2 / fi)),
        ("lecun_normal", lambda fi: np.sqrt(1 / fi)),
        ("he_uniform", lambda fi: np.sqrt(6 / fi) / np.sqrt(3)),
    ],
)
def test_weight_init_schemes_have_their_variance(scheme, std):
    X = np.random.RandomState(0).randn(50, 400)
    y = np.arange(50) % 2
    m = MLPClassifier(
        (300,), weight_init=scheme, max_iter=1, learning_rate_init=1e-12, random_state=0
    ).fit(X, y)
    W = m.coefs_[0]
    assert W.std() == pytest.approx(std(400), rel=0.02)
    assert abs(W.mean()) < 0.05 * W.std()
    np.testing.assert_allclose(m.intercepts_[0], 0, atol=1e-9)
