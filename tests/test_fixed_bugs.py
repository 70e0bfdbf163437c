"""The three documented scikit-learn bugs are fixed, not copied (SPEC section 3)."""

import numpy as np
import pytest
from conftest import classification, regression
from sklearn import neural_network as sk_nn

from sknn_train import MLPClassifier, MLPRegressor
from sknn_train._split import stratification_labels, validation_split


def test_multi_output_squared_error_loss_matches_its_gradient():
    # scikit-learn averages the multi-output squared error over outputs but
    # back-propagates the un-averaged delta (issue 8349). sknn_train trains
    # with the same delta and reports the loss that delta is the gradient of:
    # the sum over outputs. So with alpha=0 the training trajectory is
    # scikit-learn's and the reported loss is n_outputs times larger.
    X, Y = regression(n_targets=3)
    params = dict(hidden_layer_sizes=(10,), alpha=0.0, max_iter=8, random_state=0)
    ours = MLPRegressor(**params).fit(X, Y)
    ref = sk_nn.MLPRegressor(**params).fit(X, Y)
    np.testing.assert_allclose(ours.loss_curve_, 3 * np.asarray(ref.loss_curve_), rtol=1e-6)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6, atol=1e-9)


def test_multi_output_lbfgs_sees_a_consistent_objective():
    # With loss and gradient consistent, L-BFGS's line search succeeds and the
    # final loss is the minimum of the objective it reports.
    X, Y = regression(n_targets=3)
    est = MLPRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=300, random_state=0).fit(
        X, Y
    )
    resid = 0.5 * ((est.predict(X) - Y) ** 2).sum(axis=1).mean()
    penalty = 0.5 * est.alpha * sum((W**2).sum() for W in est.coefs_) / X.shape[0]
    assert est.loss_ == pytest.approx(resid + penalty, rel=1e-6)


def test_multiclass_early_stopping_split_is_stratified():
    # Imbalanced 3-class target: the validation set keeps the class proportions.
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [140, 40, 20])
    Y = np.eye(3)[y]
    est = MLPClassifier(validation_fraction=0.2).fit(rng.randn(200, 2), y)
    train_idx, val_idx = validation_split(
        200, 0.2, np.random.RandomState(1), stratification_labels(Y, est._label_binarizer.y_type_)
    )
    np.testing.assert_array_equal(np.bincount(y[val_idx]), [28, 8, 4])
    assert len(np.intersect1d(train_idx, val_idx)) == 0
    assert len(train_idx) + len(val_idx) == 200


def test_multiclass_early_stopping_fit_uses_stratified_validation():
    X, y = classification(n_classes=3)
    est = MLPClassifier((8,), early_stopping=True, max_iter=30, random_state=0).fit(X, y)
    assert est.validation_scores_ and np.isfinite(est.best_validation_score_)
    # validation accuracy is measured on 15 rows with 5 of each class
    scores = np.asarray(est.validation_scores_) * 15
    np.testing.assert_allclose(scores, np.round(scores), atol=1e-9)


def test_multilabel_early_stopping_split_keeps_label_combinations():
    rng = np.random.RandomState(0)
    combos = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]])
    Y = combos[np.repeat([0, 1, 2, 3], [100, 60, 30, 10])].astype(float)
    est = MLPClassifier(validation_fraction=0.2).fit(rng.randn(200, 2), Y)
    _, val_idx = validation_split(
        200, 0.2, np.random.RandomState(1), stratification_labels(Y, est._label_binarizer.y_type_)
    )
    _, counts = np.unique(Y[val_idx], axis=0, return_counts=True)
    np.testing.assert_array_equal(sorted(counts), [2, 6, 12, 20])


def test_multilabel_split_pools_combinations_seen_once():
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [0, 0]] * 5 + [[1, 1]], float)
    Y[-2] = [1, 1]  # make [0, 0] rare enough to be pooled
    est = MLPClassifier().fit(np.random.RandomState(0).randn(len(Y), 2), Y)
    _, val_idx = validation_split(
        len(Y),
        est.validation_fraction,
        np.random.RandomState(0),
        stratification_labels(Y, est._label_binarizer.y_type_),
    )
    assert len(val_idx) >= 2


def test_regressor_partial_fit_is_not_offered_for_lbfgs():
    assert hasattr(sk_nn.MLPRegressor(solver="lbfgs"), "partial_fit")  # the bug
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        getattr(MLPRegressor(solver="lbfgs"), "partial_fit")  # noqa: B009
    assert hasattr(MLPRegressor(solver="sgd"), "partial_fit")
