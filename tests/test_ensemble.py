"""``n_ensemble``: several networks trained together in one compiled epoch.

Member ``k`` is the network a single fit trains from member ``k``'s
initialisation on the same batches; the ensemble predicts the members' mean.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import classification, quiet_fit, regression
from kernel_utils import central_differences
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier, TabularMLPRegressor
from sknn_train._layout import Layout, initial_params


def _member_inits(layout_units, n_members, seed, weight_init="glorot_uniform"):
    """Each member's initial weights, drawn one after the other as the fit draws them."""
    rng = np.random.RandomState(seed)
    layout = Layout(layout_units)
    return [initial_params(layout, weight_init, 6.0, rng) for _ in range(n_members)]


def _member(est, single, k):
    """``single`` (a fitted single network of the same shape) holding member ``k``."""
    single.coefs_ = [np.array(c[k]) for c in est.coefs_]
    single.intercepts_ = [np.array(b[k]) for b in est.intercepts_]
    if hasattr(est, "input_scale_"):
        single.input_scale_ = np.array(est.input_scale_[k])
    return single


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_each_member_is_the_network_its_initialisation_trains_alone(solver):
    X, y = classification()
    kw = dict(
        hidden_layer_sizes=(12, 7),
        solver=solver,
        max_iter=6,
        shuffle=False,  # the same batch order for every fit
        batch_size=32,
        alpha=1e-3,
        random_state=3,
    )
    ens = quiet_fit(MLPClassifier(n_ensemble=3, **kw), X, y)
    assert [c.shape for c in ens.coefs_] == [(3, 8, 12), (3, 12, 7), (3, 7, 3)]
    inits = _member_inits([8, 12, 7, 3], 3, seed=3)
    for k, (coefs, intercepts) in enumerate(inits):
        single = quiet_fit(MLPClassifier(**kw), X, y)  # a fitted model to warm-start from
        single.coefs_, single.intercepts_ = coefs, intercepts
        single.set_params(warm_start=True)
        quiet_fit(single, X, y)
        for got, want in zip(ens.coefs_ + ens.intercepts_, single.coefs_ + single.intercepts_):
            np.testing.assert_allclose(got[k], want, rtol=1e-9, atol=1e-12)


def test_members_train_alone_with_the_techniques():
    """The same with sample and class weights, label smoothing, a schedule,
    decoupled decay, residual blocks, input scaling and clipping (each member
    clipped by its own norm)."""
    X, y = classification()
    sw = np.random.RandomState(0).uniform(0.5, 2.0, X.shape[0])
    kw = dict(
        hidden_layer_sizes=(9, 9),
        residual=True,
        max_iter=5,
        shuffle=False,
        batch_size=32,
        random_state=4,
        class_weight="balanced",
        label_smoothing=0.1,
        lr_schedule="coslog4",
        weight_decay=1e-2,
        input_scaling=True,
        max_grad_norm=0.5,
    )
    ens = quiet_fit(MLPClassifier(n_ensemble=3, **kw), X, y, sample_weight=sw)
    assert max(ens.clip_fraction_curve_) > 0
    for k, (coefs, intercepts) in enumerate(_member_inits([8, 9, 9, 3], 3, seed=4)):
        single = quiet_fit(MLPClassifier(**{**kw, "max_iter": 1}), X, y, sample_weight=sw)
        single.coefs_, single.intercepts_ = coefs, intercepts
        single.input_scale_ = np.ones(X.shape[1])
        single.set_params(warm_start=True, max_iter=kw["max_iter"])
        quiet_fit(single, X, y, sample_weight=sw)
        got = [*ens.coefs_, *ens.intercepts_, ens.input_scale_]
        want = [*single.coefs_, *single.intercepts_, single.input_scale_]
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a[k], b, rtol=1e-9, atol=1e-12)


def test_predictions_average_the_members():
    X, y = classification()
    ens = quiet_fit(
        MLPClassifier(hidden_layer_sizes=(10,), n_ensemble=4, max_iter=20, random_state=0), X, y
    )
    single = quiet_fit(MLPClassifier(hidden_layer_sizes=(10,), max_iter=1, random_state=0), X, y)
    probas = [_member(ens, single, k).predict_proba(X) for k in range(4)]
    np.testing.assert_allclose(ens.predict_proba(X), np.mean(probas, axis=0), rtol=1e-12)
    assert (ens.predict(X) == ens.classes_[np.argmax(np.mean(probas, axis=0), axis=1)]).all()
    # the members differ: an ensemble is not four copies of one network
    assert np.abs(probas[0] - probas[1]).max() > 1e-3

    Xr, yr = regression()
    kw = dict(hidden_layer_sizes=(10,), normalize_y=True, input_scaling=True, random_state=0)
    reg = quiet_fit(MLPRegressor(n_ensemble=3, max_iter=20, **kw), Xr, 50 * yr + 7)
    one = quiet_fit(MLPRegressor(max_iter=1, **kw), Xr, 50 * yr + 7)
    preds = [_member(reg, one, k).predict(Xr) for k in range(3)]
    np.testing.assert_allclose(reg.predict(Xr), np.mean(preds, axis=0), rtol=1e-10)


def _one_sgd_step(X, y, hidden, n_members, lr, alpha, seed, **params):
    """A tanh ensemble after one full-batch SGD step without momentum."""
    est = MLPRegressor(
        hidden_layer_sizes=hidden,
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=lr,
        batch_size=X.shape[0],
        max_iter=1,
        shuffle=False,
        alpha=alpha,
        n_ensemble=n_members,
        random_state=seed,
        **params,
    )
    return quiet_fit(est, X, y.ravel())


def _mlp_loss(theta_parts, X, y, alpha, n):
    """Squared loss (scikit-learn's: half the mean) plus L2 of a tanh network."""
    W0, W1, b0, b1 = theta_parts
    out = np.tanh(X @ W0 + b0) @ W1 + b1
    return ((y - out) ** 2).mean() / 2 + alpha * ((W0**2).sum() + (W1**2).sum()) / (2 * n)


def test_the_step_follows_the_mean_of_the_members_losses_finite_differences():
    """One full-batch SGD step without momentum: each member moves by the rate
    times K times the gradient of the mean of the members' losses (its own
    loss's gradient), checked against central differences of a NumPy loss."""
    X, y = regression(n_samples=40)
    y = y.reshape(-1, 1)
    K, lr, alpha = 3, 1e-2, 1e-2
    est = _one_sgd_step(X, y, (5,), K, lr, alpha, seed=1)
    inits = _member_inits([8, 5, 1], K, seed=1)
    members = [[*coefs, *intercepts] for coefs, intercepts in inits]

    def objective():
        return np.mean([_mlp_loss(m, X, y, alpha, 40) for m in members])

    # the epoch's loss is the mean of the members' losses before the step
    np.testing.assert_allclose(est.loss_curve_[0], objective(), rtol=1e-10)
    after = [[*[c[k] for c in est.coefs_], *[b[k] for b in est.intercepts_]] for k in range(K)]
    for k in range(K):
        for p, param in enumerate(members[k]):
            fd = central_differences(lambda _: objective(), param)
            step = (param - after[k][p]) / lr
            np.testing.assert_allclose(step, K * fd, rtol=1e-5, atol=1e-8)


def test_n_ensemble_one_is_the_single_network():
    """``n_ensemble=1`` is scikit-learn's network, in its shapes and values, and
    member 0 of a larger ensemble: with unshuffled batches, no validation split
    and no dropout nothing is drawn after the members' initial weights."""
    X, y = classification()
    kw = dict(hidden_layer_sizes=(9,), max_iter=8, batch_size=32, shuffle=False, random_state=0)
    one = MLPClassifier(n_ensemble=1, **kw).fit(X, y)
    ref = SkMLPClassifier(**kw).fit(X, y)
    assert [c.shape for c in one.coefs_] == [c.shape for c in ref.coefs_] == [(8, 9), (9, 3)]
    assert [b.shape for b in one.intercepts_] == [b.shape for b in ref.intercepts_]
    for got, want in zip(one.coefs_ + one.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(one.loss_curve_, ref.loss_curve_, rtol=1e-6)
    np.testing.assert_array_equal(one.predict(X), ref.predict(X))
    np.testing.assert_allclose(one.predict_proba(X), ref.predict_proba(X), rtol=1e-6)

    pair = MLPClassifier(n_ensemble=2, **kw).fit(X, y)
    for got, want in zip(pair.coefs_ + pair.intercepts_, one.coefs_ + one.intercepts_, strict=True):
        assert got.shape == (2, *want.shape)
        np.testing.assert_allclose(got[0], want, rtol=1e-9, atol=1e-12)
    assert np.abs(pair.coefs_[0][1] - one.coefs_[0]).max() > 1e-3  # member 1 is another network


@pytest.mark.parametrize("ensemble", ["independent", "batch"])
@pytest.mark.parametrize(
    "Est", [MLPClassifier, MLPRegressor, TabularMLPClassifier, TabularMLPRegressor]
)
def test_ensembles_work_with_the_rest(Est, ensemble):
    classifier = Est in (MLPClassifier, TabularMLPClassifier)
    X, y = classification() if classifier else regression()
    kw = dict(
        hidden_layer_sizes=(8, 8),
        max_iter=12,
        random_state=0,
        n_ensemble=3,
        dropout=0.1,
        ensemble=ensemble,
        max_grad_norm=1.0,
        # the Tabular default centres dense input and not sparse input: the same model here
        numeric_scaling=None,
    )
    dense = quiet_fit(Est(**kw), X, y)
    sparse = quiet_fit(Est(**kw), sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        dense.predict(X) if not classifier else dense.predict_proba(X),
        sparse.predict(X) if not classifier else sparse.predict_proba(X),
        rtol=1e-9,
        atol=1e-12,
    )
    f32 = quiet_fit(Est(**kw), X.astype(np.float32), y)
    assert f32.coefs_[0].dtype == np.float32 and f32.coefs_[0].shape == (3, 8, 8)
    # the members differ (a batch ensemble's in its output layer)
    assert np.abs(dense.coefs_[-1][0] - dense.coefs_[-1][1]).max() > 0
    assert len(dense.loss_curve_) == dense.n_iter_ and dense.dead_units_.shape == (2,)
    # pickle keeps the members
    loaded = pickle.loads(pickle.dumps(dense))
    np.testing.assert_array_equal(loaded.predict(X), dense.predict(X))
    # partial_fit and warm_start continue the same members
    more = pickle.loads(pickle.dumps(dense))
    more.partial_fit(X, y)
    assert more.coefs_[0].shape == (3, 8, 8) and more.t_ == dense.t_ + X.shape[0]
    more.set_params(warm_start=True, n_ensemble=2)
    with pytest.raises(ValueError, match="ensemble of 3 networks.*n_ensemble=2"):
        more.fit(X, y)
    # ONNX averages the members
    ort = pytest.importorskip("onnxruntime")
    from sknn_train.onnx import to_onnx

    X32 = X.astype(np.float32)
    options = {"zipmap": False} if classifier else None
    onx = to_onnx(f32, X32[:1], options=options)
    got = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": X32})
    want = f32.predict_proba(X32) if classifier else f32.predict(X32).reshape(-1, 1)
    np.testing.assert_allclose(got[-1], want, rtol=1e-4, atol=1e-5)


def test_validation_scores_the_ensembles_prediction():
    X, y = classification(n_samples=200)
    est = quiet_fit(
        MLPClassifier(
            hidden_layer_sizes=(10,),
            n_ensemble=3,
            max_iter=15,
            early_stopping=True,
            validation_metric="loss",
            random_state=0,
        ),
        X,
        y,
    )
    # restored weights: the best epoch's ensemble; its validation loss is the curve's minimum
    assert est.best_validation_loss_ == min(est.validation_loss_curve_)
    single = quiet_fit(MLPClassifier(hidden_layer_sizes=(10,), max_iter=1, random_state=0), X, y)
    probas = np.mean([_member(est, single, k).predict_proba(X) for k in range(3)], axis=0)
    np.testing.assert_allclose(est.predict_proba(X), probas, rtol=1e-12)


def test_grid_search_over_n_ensemble():
    X, y = classification()
    sizes = [1, 2, 3]
    search = GridSearchCV(
        MLPClassifier(hidden_layer_sizes=(6,), max_iter=10, random_state=0),
        {"n_ensemble": sizes},
        cv=2,
        scoring="neg_log_loss",  # continuous: different models do not tie
        error_score="raise",
    ).fit(X, y)
    results = search.cv_results_
    assert [p["n_ensemble"] for p in results["params"]] == sizes
    for split in range(2):
        scores = results[f"split{split}_test_score"]
        assert np.isfinite(scores).all()
        assert len(set(scores)) == len(sizes)  # each n_ensemble trains its own model
    k = search.best_params_["n_ensemble"]
    member = (k,) if k > 1 else ()
    best = search.best_estimator_
    assert [c.shape for c in best.coefs_] == [(*member, 8, 6), (*member, 6, 3)]
    assert [b.shape for b in best.intercepts_] == [(*member, 6), (*member, 3)]


def test_invalid_n_ensemble_is_refused():
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = classification()
    with pytest.raises(InvalidParameterError, match="n_ensemble"):
        MLPClassifier(n_ensemble=0).fit(X, y)


def test_onnx_export_averages_the_members():
    ort = pytest.importorskip("onnxruntime")
    from sknn_train.onnx import to_onnx

    X, y = classification()
    X = X.astype(np.float32)
    est = quiet_fit(
        MLPClassifier(
            hidden_layer_sizes=(8,), n_ensemble=3, max_iter=10, input_scaling=True, random_state=0
        ),
        X,
        y,
    )
    onx = to_onnx(est, X[:1], options={"zipmap": False})
    labels, proba = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": X})
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, est.predict(X))


# ------------------------------------------------------------ ensemble='batch'


def test_batch_members_share_all_but_the_output_layer_and_their_adapters():
    X, y = classification()
    est = quiet_fit(
        MLPClassifier(
            hidden_layer_sizes=(9, 7),
            n_ensemble=4,
            ensemble="batch",
            max_iter=8,
            dropout=0.1,
            weight_decay=1e-3,
            max_grad_norm=0.5,
            random_state=0,
        ),
        X,
        y,
    )
    assert max(est.clip_fraction_curve_) > 0  # clipped updates keep the copies equal too
    for layer in (*est.coefs_[:-1], *est.intercepts_[:-1]):  # copies of one network
        assert (layer == layer[0]).all()
    assert np.abs(est.coefs_[-1][0] - est.coefs_[-1][1]).max() > 1e-3
    assert est.input_scale_.shape == (4, 8)
    assert len({tuple(np.sign(r)) for r in est.input_scale_}) > 1  # random-sign starts
    single = quiet_fit(
        MLPClassifier(hidden_layer_sizes=(9, 7), max_iter=1, input_scaling=True, random_state=0),
        X,
        y,
    )
    probas = np.mean([_member(est, single, k).predict_proba(X) for k in range(4)], axis=0)
    np.testing.assert_allclose(est.predict_proba(X), probas, rtol=1e-12)
    # the adapters start at random signs
    start = quiet_fit(
        MLPClassifier(
            hidden_layer_sizes=(9,),
            n_ensemble=3,
            ensemble="batch",
            learning_rate_init=1e-12,
            max_iter=1,
            random_state=0,
        ),
        X,
        y,
    )
    np.testing.assert_allclose(np.abs(start.input_scale_), 1.0, atol=1e-6)


@pytest.mark.parametrize("max_grad_norm", [None, 0.05])
def test_batch_step_follows_the_mean_objective_finite_differences(max_grad_norm):
    """Shared weights move by the gradient of the mean of the members' losses;
    a member's adapter and output layer by K times it (its own loss's gradient).
    Clipped, every member's step is multiplied by one factor, ``max_grad_norm``
    over the root mean square of the members' gradient norms (NumPy reference)."""
    X, y = regression(n_samples=30)
    y = y.reshape(-1, 1)
    K, lr, alpha, n = 3, 1e-2, 1e-2, 30
    est = _one_sgd_step(
        X, y, (4,), K, lr, alpha, seed=2, ensemble="batch", max_grad_norm=max_grad_norm
    )
    rng = np.random.RandomState(2)
    layout = Layout([8, 4, 1])
    inits = [initial_params(layout, "glorot_uniform", 6.0, rng) for _ in range(K)]
    adapters = 2.0 * rng.randint(0, 2, (K, 8)) - 1.0
    W0, b0 = inits[0][0][0].copy(), inits[0][1][0].copy()
    heads = [[c[1].copy(), b[1].copy()] for c, b in inits]

    def objective():
        losses = []
        for k in range(K):
            W1, b1 = heads[k]
            out = np.tanh((X * adapters[k]) @ W0 + b0) @ W1 + b1
            penalty = alpha * ((W0**2).sum() + (W1**2).sum()) / (2 * n)
            losses.append(((y - out) ** 2).mean() / 2 + penalty)
        return np.mean(losses)

    def fd(param):
        return central_differences(lambda _: objective(), param)

    np.testing.assert_allclose(est.loss_curve_[0], objective(), rtol=1e-10)
    shared = [fd(W0), fd(b0)]  # every member's direction: shared, then its own parts
    own = [
        [K * fd(W1), K * fd(b1), K * fd(adapters[k : k + 1])[0]] for k, (W1, b1) in enumerate(heads)
    ]
    norms = [np.sqrt(sum((g**2).sum() for g in shared + own[k])) for k in range(K)]
    factor = 1.0
    if max_grad_norm is not None:
        factor = min(1.0, max_grad_norm / np.sqrt(np.mean(np.square(norms))))
        assert factor < 0.5 and est.clip_fraction_curve_ == [1.0]  # the check clips
    before = [W0, b0]
    for k in range(K):
        W1, b1 = heads[k]
        fitted = [
            est.coefs_[0][k],
            est.intercepts_[0][k],
            est.coefs_[1][k],
            est.intercepts_[1][k],
            est.input_scale_[k],
        ]
        for start, end, direction in zip(
            [*before, W1, b1, adapters[k]], fitted, [*shared, *own[k]], strict=True
        ):
            np.testing.assert_allclose((start - end) / lr, factor * direction, rtol=1e-5, atol=1e-8)


def test_batch_ensemble_refuses_what_it_cannot_train():
    X, y = classification()
    with pytest.raises(ValueError, match="ensemble='batch' needs solver='adam' or 'sgd'"):
        MLPClassifier(n_ensemble=2, ensemble="batch", solver="lbfgs").fit(X, y)
    est = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), n_ensemble=2, max_iter=2), X, y)
    est.set_params(warm_start=True, ensemble="batch")
    with pytest.raises(ValueError, match="independent members.*ensemble='batch'"):
        est.fit(X, y)


def test_batch_with_one_member_is_the_single_network():
    # nothing to share with one member: no adapter, the default network
    X, y = classification()
    a = quiet_fit(MLPClassifier(hidden_layer_sizes=(9,), max_iter=8, random_state=0), X, y)
    b = quiet_fit(
        MLPClassifier(hidden_layer_sizes=(9,), max_iter=8, random_state=0, ensemble="batch"),
        X,
        y,
    )
    assert not hasattr(b, "input_scale_")
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)
