"""The tabular recipe's hyperparameters (SPEC 4) through the estimators.

The per-update mathematics is checked against the NumPy reference in
test_reference_epoch.py; these tests check the plumbing and the behaviour.
"""

import inspect

import numpy as np
import pytest
from conftest import classification, regression
from sklearn import neural_network as sk_nn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sknn_train import MLPClassifier, MLPRegressor


@pytest.mark.parametrize("learning_rate", ["invscaling", "adaptive"])
def test_a_schedule_needs_a_constant_learning_rate(learning_rate):
    X, y = classification()
    for extra in (dict(lr_schedule="cosine"), dict(warmup_fraction=0.1)):
        est = MLPClassifier(solver="sgd", learning_rate=learning_rate, max_iter=2, **extra)
        with pytest.raises(ValueError, match=f"learning_rate='{learning_rate}'") as info:
            est.fit(X, y)
        assert next(iter(extra)) in str(info.value)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_linear_schedule_stops_moving_after_max_iter_partial_fits(solver):
    # one partial_fit call is one of max_iter epochs; p stops at 1, where the
    # linear schedule's rate is 0: the weights no longer move
    X, y = classification()
    est = MLPClassifier(
        (8,), solver=solver, momentum=0.0, lr_schedule="linear", max_iter=3, random_state=0
    )
    classes = np.unique(y)
    moved = []
    for _ in range(5):
        before = est._theta.copy() if hasattr(est, "_theta") else None
        est.partial_fit(X, y, classes=classes)
        if before is not None:
            moved.append(not np.array_equal(before, est._theta))
    assert moved == [True, True, False, False]


def test_cosine_schedule_ends_with_small_steps():
    X, y = classification()
    params = dict(
        hidden_layer_sizes=(16,),
        max_iter=40,
        learning_rate_init=0.05,
        random_state=0,
        tol=0.0,
        n_iter_no_change=1000,
    )
    plain = MLPClassifier(**params).fit(X, y)
    cosine = MLPClassifier(lr_schedule="cosine", **params).fit(X, y)
    # the last epochs at a vanishing rate barely change the loss
    assert abs(cosine.loss_curve_[-1] - cosine.loss_curve_[-2]) < 1e-3 * cosine.loss_curve_[-1]
    assert cosine.loss_curve_ != plain.loss_curve_


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_decoupled_weight_decay_shrinks_the_weights_independently_of_alpha(Est):
    X, y = classification() if Est is MLPClassifier else regression()
    params = dict(
        hidden_layer_sizes=(32,), max_iter=60, learning_rate_init=0.01, alpha=0.0, random_state=0
    )
    norms = [
        sum((W**2).sum() for W in Est(weight_decay=wd, **params).fit(X, y).coefs_)
        for wd in (0.0, 0.5, 5.0)
    ]
    assert norms[0] > 1.2 * norms[1] > 1.2 * norms[2]
    # biases are not decayed: with every step halving the weights (1 - 0.01 * 50),
    # they stay within two Adam steps of 0 (steps are about learning_rate_init
    # = 0.01); the biases do not
    est = Est(weight_decay=50.0, **params).fit(X, y)
    assert max(np.abs(W).max() for W in est.coefs_) < 0.03
    assert max(np.abs(b).max() for b in est.intercepts_) > 0.1


# Every recipe parameter at the value that turns it off. The estimators' extra
# parameters beyond scikit-learn's are read from the signature; any not listed
# here (a later addition) is left at its default.
_NO_OP = dict(
    lr_schedule=None,
    warmup_fraction=0.0,
    weight_decay=0.0,
    restore_best_weights=False,
    output_init="weight_init",
    input_scaling=False,
    n_ensemble=1,
    ensemble="independent",
    dropout=0.0,
    input_dropout=0.0,
    residual=False,
    max_grad_norm=None,
    weight_init="glorot_uniform",
    validation_metric="score",
    n_init=1,
)
_NO_OP_OF = {
    MLPClassifier: dict(_NO_OP, label_smoothing=0.0, class_weight=None),
    MLPRegressor: dict(_NO_OP, normalize_y=False),
}


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_defaults_change_nothing(Est, early_stopping):
    """With every recipe parameter explicitly at its default, a fit is
    scikit-learn's: the same losses, weights and predictions."""
    Ref = getattr(sk_nn, Est.__name__)
    no_op = _NO_OP_OF[Est]
    ours = inspect.signature(Est).parameters
    extra = set(ours) - set(inspect.signature(Ref).parameters)
    assert set(no_op) <= extra
    # the defaults are the no-op values: MLPClassifier() is scikit-learn's
    assert {name: ours[name].default for name in no_op} == no_op

    if Est is MLPRegressor:
        X, y = regression()
    else:  # a multiclass early-stopping split is stratified here, not in scikit-learn
        X, y = classification(n_classes=2 if early_stopping else 3)
    params = dict(
        hidden_layer_sizes=(8,),
        max_iter=10,
        batch_size=32,
        early_stopping=early_stopping,
        random_state=0,
    )
    est = Est(**params, **no_op).fit(X, y)
    ref = Ref(**params).fit(X, y)
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-6)
    if early_stopping:
        np.testing.assert_allclose(est.validation_scores_, ref.validation_scores_, rtol=1e-6)
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    if Est is MLPClassifier:
        np.testing.assert_array_equal(est.predict(X), ref.predict(X))
        np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), rtol=1e-6)
    else:
        np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-6, atol=1e-10)


_SEARCHED = {
    "lr_schedule": [None, "coslog4"],
    "warmup_fraction": [0.0, 0.1],
    "weight_decay": [0.0, 0.1],
    "input_scaling": [False, True],
}


def test_search_over_the_new_parameters():
    """Each searched value reaches the fit: every grid point trains its own
    model, and the refitted best estimator is the fit of the chosen values."""
    X, y = classification()
    # several updates an epoch: not every warm-up step falls on coslog4's zeros (p = 0, 1/15)
    base = MLPClassifier((8,), max_iter=15, batch_size=32, learning_rate_init=0.01, random_state=0)
    grid = GridSearchCV(base, _SEARCHED, cv=2, scoring="neg_log_loss", error_score="raise").fit(
        X, y
    )
    n_points = int(np.prod([len(v) for v in _SEARCHED.values()]))
    assert len(grid.cv_results_["params"]) == n_points
    # a continuous score: two grid points tie only if their fits are the same,
    # which a value that does not reach the fit would make them
    for split in range(2):
        scores = grid.cv_results_[f"split{split}_test_score"]
        assert np.isfinite(scores).all()
        assert len(set(scores)) == n_points

    best = grid.best_estimator_
    assert {name: best.get_params()[name] for name in _SEARCHED} == grid.best_params_
    assert hasattr(best, "input_scale_") == grid.best_params_["input_scaling"]
    np.testing.assert_array_equal(
        best._theta, clone(base).set_params(**grid.best_params_).fit(X, y)._theta
    )
    # each chosen value matters to the refitted model: the other value trains another
    for name, values in _SEARCHED.items():
        other = next(v for v in values if v != grid.best_params_[name])
        changed = clone(base).set_params(**{**grid.best_params_, name: other}).fit(X, y)
        assert best.loss_curve_ != changed.loss_curve_, name
        assert hasattr(changed, "input_scale_") == changed.input_scaling


# --------------------------------------------------- label smoothing, class weights
@pytest.mark.parametrize("loss", ["log_loss", "binary_log_loss"])
def test_gradient_with_smoothed_targets_and_class_weights(loss):
    from kernel_utils import central_differences, loss_and_grad, make_problem

    from sknn_train._config import smoothed_targets

    X, Y, sw, layout, theta, out_act = make_problem(loss, n=9)
    Y = smoothed_targets(Y, 0.2, softmax=out_act == "softmax")
    class_weight = np.array([3.0, 0.5, 1.5])[np.argmax(Y, axis=1)]  # per-sample class weight
    sw = sw * class_weight

    def f(t):
        return loss_and_grad(X, Y, sw, layout, t, "tanh", out_act, loss, 0.3)[0]

    analytic = loss_and_grad(X, Y, sw, layout, theta, "tanh", out_act, loss, 0.3)[1]
    np.testing.assert_allclose(analytic, central_differences(f, theta), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_balanced_class_weight_is_the_equivalent_sample_weight(solver):
    from sklearn.utils.class_weight import compute_sample_weight

    X, y = classification(n_samples=200)
    y = np.where(np.arange(200) < 150, y, 0)  # class 0 dominates
    params = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0, solver=solver)
    weighted = MLPClassifier(class_weight="balanced", **params).fit(X, y)
    explicit = MLPClassifier(**params).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(weighted._theta, explicit._theta)
    # a dict multiplies the sample weights the user passes
    sw = np.random.RandomState(0).uniform(0.5, 2.0, 200)
    cw = {0: 0.5, 1: 2.0, 2: 3.0}
    a = MLPClassifier(class_weight=cw, **params).fit(X, y, sample_weight=sw)
    b = MLPClassifier(**params).fit(X, y, sample_weight=sw * np.array([0.5, 2.0, 3.0])[y])
    np.testing.assert_array_equal(a._theta, b._theta)


def test_balanced_class_weights_raise_minority_recall():
    from sklearn.datasets import make_classification
    from sklearn.metrics import recall_score

    X, y = make_classification(
        n_samples=2000, n_features=10, weights=[0.95], flip_y=0.05, class_sep=0.5, random_state=0
    )
    Xtr, Xte, ytr, yte = X[:1000], X[1000:], y[:1000], y[1000:]
    params = dict(hidden_layer_sizes=(16,), max_iter=100, random_state=0)
    plain = recall_score(yte, MLPClassifier(**params).fit(Xtr, ytr).predict(Xte))
    balanced = recall_score(
        yte, MLPClassifier(class_weight="balanced", **params).fit(Xtr, ytr).predict(Xte)
    )
    assert balanced > plain + 0.2, (plain, balanced)


def test_class_weight_refusals():
    X, y = classification()
    Y = np.column_stack([y == 0, y == 1])
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(class_weight={0: 1.0}, max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=np.unique(y))
    # a dict is fine in partial_fit
    MLPClassifier(class_weight={0: 2.0}).partial_fit(X, y, classes=np.unique(y))


def test_label_smoothing_lowers_held_out_log_loss_of_an_overconfident_network():
    from sklearn.datasets import make_classification
    from sklearn.metrics import log_loss

    X, y = make_classification(
        n_samples=600, n_features=20, n_informative=5, flip_y=0.1, random_state=0
    )
    Xtr, Xte, ytr, yte = X[:300], X[300:], y[:300], y[300:]
    params = dict(
        hidden_layer_sizes=(128,), max_iter=300, alpha=0.0, learning_rate_init=0.01, random_state=0
    )
    sharp = MLPClassifier(**params).fit(Xtr, ytr)
    smooth = MLPClassifier(label_smoothing=0.1, **params).fit(Xtr, ytr)
    assert sharp.predict_proba(Xtr).max() > 0.999  # overconfident
    # drawn to the smoothed target 0.95, not beyond
    assert np.median(smooth.predict_proba(Xtr).max(axis=1)) < 0.97
    assert log_loss(yte, smooth.predict_proba(Xte)) < 0.7 * log_loss(yte, sharp.predict_proba(Xte))


def test_smoothing_trains_on_smoothed_targets_and_validates_on_plain_log_loss():
    from sklearn.metrics import log_loss

    from sknn_train._split import stratification_labels, validation_split

    X, y = classification()
    params = dict(
        hidden_layer_sizes=(16,),
        max_iter=20,
        random_state=0,
        early_stopping=True,
        validation_metric="loss",
        n_iter_no_change=100,
    )
    m = MLPClassifier(label_smoothing=0.3, **params).fit(X, y)
    rng = np.random.RandomState(0)  # SPEC 3 draw order: weights, bias per layer, split
    for shape in [(8, 16), (16,), (16, 3), (3,)]:
        rng.uniform(size=shape)
    Y = np.eye(3)[y]
    _, val = validation_split(len(y), 0.1, rng, stratification_labels(Y, "multiclass"))
    p = m.predict_proba(X[val])
    assert log_loss(y[val], p) == pytest.approx(m.best_validation_loss_, rel=1e-9)
    # the training loss is the cross-entropy against the smoothed targets: never
    # below their entropy
    smoothed = 0.7 * Y + 0.1
    assert min(m.loss_curve_) > -(smoothed[0] * np.log(smoothed[0])).sum()


# ------------------------------------- best epoch, validation metrics, output init
def _validation_rows(y, n_features, hidden, n_out, fraction=0.1, seed=0):
    """The held-out rows of a fit with ``random_state=seed`` (SPEC 3's draw order)."""
    from sknn_train._split import stratification_labels, validation_split

    rng = np.random.RandomState(seed)
    units = [n_features, *hidden, n_out]
    for a, b in zip(units[:-1], units[1:]):
        rng.uniform(size=(a, b))
        rng.uniform(size=b)
    Y = np.eye(n_out)[y] if n_out > 1 else y[:, None].astype(float)
    kind = "multiclass" if n_out > 1 else "binary"
    return validation_split(len(y), fraction, rng, stratification_labels(Y, kind))[1]


def test_restore_best_weights_returns_the_best_validation_epoch():
    X, y = classification()
    params = dict(
        hidden_layer_sizes=(16,),
        max_iter=40,
        learning_rate_init=0.05,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    est = MLPClassifier(restore_best_weights=True, **params).fit(X, y)
    assert est.n_iter_ == 40  # no early stop: training ran on
    assert len(est.validation_scores_) == 40
    val = _validation_rows(y, 8, (16,), 3)
    assert est.score(X[val], y[val]) == pytest.approx(max(est.validation_scores_))
    assert est.best_validation_score_ == max(est.validation_scores_)
    # without it the last epoch's weights are kept
    last = MLPClassifier(**params).fit(X, y)
    assert not np.array_equal(last._theta, est._theta)


def test_partial_fit_holds_nothing_out_for_restore_best_weights():
    # each call trains one epoch on every row it is given, as without the option
    X, y = classification()
    kw = dict(hidden_layer_sizes=(8,), random_state=0)
    ours, plain = MLPClassifier(restore_best_weights=True, **kw), MLPClassifier(**kw)
    for est in (ours, plain):
        for _ in range(3):
            est.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_array_equal(ours._theta, plain._theta)
    assert ours.validation_scores_ is None


@pytest.mark.parametrize("metric", ["neg_log_loss", "balanced_accuracy", "callable"])
def test_scorer_as_validation_metric(metric):
    from sklearn.metrics import get_scorer, make_scorer, recall_score

    X, y = classification()
    scorer = make_scorer(recall_score, average="macro") if metric == "callable" else metric
    est = MLPClassifier(
        (16,),
        max_iter=30,
        early_stopping=True,
        validation_metric=scorer,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)
    val = _validation_rows(y, 8, (16,), 3)
    got = get_scorer(scorer)(est, X[val], y[val])
    # the restored weights are those of the best epoch by that scorer
    assert got == pytest.approx(est.best_validation_score_, rel=1e-9)
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_zero_output_layer_starts_from_a_constant_prediction():
    X, y = classification()
    params = dict(
        hidden_layer_sizes=(16,),
        max_iter=1,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-30,
        random_state=0,
    )
    zero = MLPClassifier(output_init="zeros", **params).fit(X, y)
    drawn = MLPClassifier(**params).fit(X, y)
    assert np.abs(zero.coefs_[-1]).max() < 1e-25 and np.abs(zero.intercepts_[-1]).max() < 1e-25
    np.testing.assert_allclose(zero.coefs_[0], drawn.coefs_[0], atol=1e-25)  # same draws
    np.testing.assert_allclose(zero.predict_proba(X), 1 / 3, atol=1e-12)
    trained = MLPClassifier((16,), output_init="zeros", max_iter=100, random_state=0).fit(X, y)
    assert trained.score(X, y) > 0.8


# --------------------------------------------------------------- input scaling
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_gradient_with_input_scaling(sparse, loss):
    from kernel_utils import central_differences, loss_and_grad, make_problem

    from sknn_train._layout import Layout

    X, Y, sw, plain, theta, out_act = make_problem(loss, n=9, sparse=sparse, hidden=(5, 4))
    layout = Layout(plain.units, n_scale=plain.units[0])
    rng = np.random.RandomState(1)
    theta = np.concatenate([theta, rng.uniform(0.3, 2.0, layout.n_scale)])  # s != 1

    def f(t):
        return loss_and_grad(X, Y, sw, layout, t, "tanh", out_act, loss, 0.3)[0]

    value, analytic = loss_and_grad(X, Y, sw, layout, theta, "tanh", out_act, loss, 0.3)
    np.testing.assert_allclose(analytic, central_differences(f, theta), rtol=1e-5, atol=1e-8)
    # the scaled network is the plain one with diag(s) W0 as its first weights
    folded = theta[: plain.size].copy()
    W0 = plain.coef_views(folded)[0]
    W0 *= theta[plain.size :, None]
    penalty = 0.3 / (2 * sw.sum()) * sum((W**2).sum() for W in plain.coef_views(theta))
    data_loss = loss_and_grad(X, Y, sw, plain, folded, "tanh", out_act, loss, 0.0)[0]
    assert value == pytest.approx(data_loss + penalty, rel=1e-12)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_input_scaling_is_learnt_and_predicts_as_the_folded_network(Est):
    import scipy.sparse as sp

    X, y = classification() if Est is MLPClassifier else regression()
    params = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    est = Est(input_scaling=True, **params).fit(X, y)
    assert est.input_scale_.shape == (X.shape[1],)
    assert not np.allclose(est.input_scale_, 1.0)  # trained
    # predictions: the plain network whose first weights are diag(s) W0
    folded = Est(**params).fit(X, y)
    folded.coefs_ = [est.input_scale_[:, None] * est.coefs_[0], *est.coefs_[1:]]
    folded.intercepts_ = list(est.intercepts_)
    out = (lambda e: e.predict_proba(X)) if Est is MLPClassifier else (lambda e: e.predict(X))
    np.testing.assert_allclose(out(est), out(folded), rtol=1e-10, atol=1e-12)
    # sparse input gives the dense fit
    sparse = Est(input_scaling=True, **params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse._theta, est._theta, rtol=1e-9, atol=1e-12)
    assert not hasattr(folded, "input_scale_")


def test_input_scaling_is_not_decayed_and_persists():
    import pickle

    X, y = classification()
    est = MLPClassifier(
        (16,),
        input_scaling=True,
        weight_decay=50.0,
        learning_rate_init=0.01,
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    assert max(np.abs(W).max() for W in est.coefs_) < 0.03  # the weights are decayed away
    assert np.abs(est.input_scale_).min() > 0.5  # the scaling is not
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(loaded.input_scale_, est.input_scale_)
    # assigning the scaling by hand reaches the kernels
    loaded.input_scale_ = np.zeros(X.shape[1])
    p = loaded.predict_proba(X)
    np.testing.assert_allclose(p, p[:1].repeat(len(X), axis=0), atol=1e-12)  # input ignored
    with pytest.raises(ValueError, match="input_scaling"):
        est.set_params(warm_start=True, input_scaling=False).fit(X, y)


def test_input_scaling_exports_to_onnx():
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from sknn_train.onnx import to_onnx

    X, y = classification()
    X = X.astype(np.float32)
    est = MLPClassifier((8,), input_scaling=True, max_iter=20, random_state=0).fit(X, y)
    onx = to_onnx(est, X[:1], options={"zipmap": False})
    _, proba = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": X})
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=1e-4, atol=1e-6)


def test_randomized_search_over_every_new_parameter():
    from sklearn.model_selection import RandomizedSearchCV

    X, y = classification()
    space = {
        "lr_schedule": [None, "cosine", "linear", "coslog4"],
        "warmup_fraction": [0.0, 0.2],
        "weight_decay": [0.0, 0.05],
        "label_smoothing": [0.0, 0.1],
        "class_weight": [None, "balanced"],
        "input_scaling": [False, True],
        "restore_best_weights": [False, True],
        "validation_metric": ["score", "neg_log_loss"],
        "output_init": ["weight_init", "zeros"],
        "activation": ["selu", "mish"],
    }
    search = RandomizedSearchCV(
        MLPClassifier((8,), max_iter=8, random_state=0), space, n_iter=6, cv=2, random_state=0
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert set(search.best_params_) == set(space)
