"""The tabular recipe's hyperparameters (SPEC 4) through the estimators.

The per-update mathematics is checked against the NumPy reference in
test_reference_epoch.py; these tests check the plumbing and the behaviour.
"""

import numpy as np
import pytest
from conftest import classification, regression
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


def test_defaults_change_nothing():
    X, y = classification()
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    a = MLPClassifier(**params).fit(X, y)
    b = MLPClassifier(lr_schedule=None, warmup_fraction=0.0, weight_decay=0.0, **params).fit(X, y)
    np.testing.assert_array_equal(a._theta, b._theta)


def test_search_over_the_new_parameters():
    X, y = classification()
    grid = GridSearchCV(
        MLPClassifier((8,), max_iter=15, random_state=0),
        {
            "lr_schedule": [None, "coslog4"],
            "warmup_fraction": [0.0, 0.1],
            "weight_decay": [0.0, 0.1],
        },
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert set(grid.best_params_) == {"lr_schedule", "warmup_fraction", "weight_decay"}
