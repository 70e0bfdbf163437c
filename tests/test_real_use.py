"""What fitting real tables found: warnings that tell the truth, defaults that keep quiet,
errors that name the parameters, and the kept epoch."""

import contextlib
import io
import warnings

import numpy as np
import pytest
from conftest import classification, quiet_fit, regression
from scipy.special import xlogy
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from sknn_train import (
    MLPClassifier,
    MLPRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
    WorseThanConstantWarning,
)
from sknn_train._baseline import constant_loss, mean_loss


def _caught(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return caught


# ------------------------------------------------- schedules in partial_fit
def test_partial_fit_warns_once_when_the_schedule_has_run_its_course():
    X, y = classification(3)
    clf = TabularMLPClassifier((8,), max_iter=3, n_ensemble=1, random_state=0)
    changes, messages = [], []
    for _ in range(6):
        before = None if not hasattr(clf, "coefs_") else clf.coefs_[0].copy()
        caught = _caught(lambda: clf.partial_fit(X, y, classes=[0, 1, 2]))
        messages += [str(w.message) for w in caught if w.category is UserWarning]
        if before is not None:
            changes.append(float(np.abs(clf.coefs_[0] - before).max()))
    # three calls are the schedule's max_iter epochs; the later ones change nothing
    assert changes[0] > 0 and changes[1] > 0 and changes[2:] == [0.0, 0.0, 0.0]
    assert len(messages) == 1
    assert "lr_schedule='coslog4'" in messages[0] and "lr_schedule=None" in messages[0]
    # a constant rate keeps learning, without the warning
    clf = TabularMLPClassifier((8,), max_iter=3, lr_schedule=None, random_state=0)
    caught = _caught(lambda: [clf.partial_fit(X, y, classes=[0, 1, 2]) for _ in range(5)])
    assert not [w for w in caught if "schedule" in str(w.message)]


# ------------------------------------------- worse than a constant prediction
@pytest.mark.parametrize(
    "loss, Y",
    [
        ("squared_error", np.random.RandomState(0).randn(50, 2) * 3 + 1),
        ("poisson", np.random.RandomState(1).poisson(2.0, (50, 1)).astype(float)),
        ("log_loss", np.eye(3)[np.random.RandomState(2).randint(0, 3, 50)]),
        ("binary_log_loss", np.random.RandomState(3).randint(0, 2, (50, 2)).astype(float)),
    ],
)
def test_the_constant_floor_is_the_best_constant(loss, Y):
    sw = np.random.RandomState(4).uniform(0.5, 2.0, 50)
    mean = np.average(Y, axis=0, weights=sw)
    if loss == "squared_error":  # half the weighted variances, summed over outputs
        expected = 0.5 * np.average((Y - mean) ** 2, axis=0, weights=sw).sum()
    elif loss == "poisson":
        expected = np.average(xlogy(Y, Y / mean) - Y + mean, axis=0, weights=sw).sum()
    elif loss == "log_loss":
        expected = log_loss(Y.argmax(1), np.tile(mean, (50, 1)), sample_weight=sw)
    else:
        expected = sum(
            log_loss(Y[:, j], np.full(50, mean[j]), sample_weight=sw, labels=[0, 1])
            for j in range(2)
        )
    floor = constant_loss(Y, sw, Y, sw, loss, 1e-16)
    np.testing.assert_allclose(floor, expected, rtol=1e-12)
    # no other constant does better
    delta = np.zeros_like(mean)
    delta[0], delta[-1] = 0.02, -0.02  # keeps a probability vector's sum
    for sign in (1, -1):
        assert mean_loss(np.tile(mean + sign * delta, (50, 1)), Y, sw, loss, 1e-16) > floor


def test_a_diverging_regressor_is_told_so():
    # the case real use found: R^2 about -4e11, in silence
    X, y = load_diabetes(return_X_y=True)
    model = TabularMLPRegressor(learning_rate_init=10.0, max_iter=16, random_state=0)
    caught = _caught(lambda: model.fit(X, y))
    worse = [w for w in caught if w.category is WorseThanConstantWarning]
    assert len(worse) == 1 and issubclass(WorseThanConstantWarning, ConvergenceWarning)
    assert "validation loss" in str(worse[0].message) and "learning_rate_init" in str(
        worse[0].message
    )
    assert model.score(X, y) < 0
    # a sensible fit of the same model keeps quiet
    caught = _caught(lambda: TabularMLPRegressor(max_iter=16, random_state=0).fit(X, y))
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_a_classifier_worse_than_its_class_frequencies_is_told_so():
    X, y = classification(3, n_samples=300)
    # one epoch of a network that starts far from the class frequencies
    clf = MLPClassifier((8,), max_iter=1, learning_rate_init=1e-5, random_state=1)
    caught = _caught(lambda: clf.fit(X * 10.0, y))
    worse = [str(w.message) for w in caught if w.category is WorseThanConstantWarning]
    assert len(worse) == 1 and "training loss" in worse[0]
    assert "has not converged" in worse[0] and "max_iter" in worse[0]
    loss = log_loss(y, clf.predict_proba(X * 10.0))
    prior = np.bincount(y) / len(y)
    assert loss > log_loss(y, np.tile(prior, (len(y), 1)))
    # L-BFGS: its objective at the solution against the constant's
    caught = _caught(lambda: MLPClassifier((8,), solver="lbfgs", max_iter=50).fit(X, y))
    assert not [w for w in caught if w.category is WorseThanConstantWarning]


# -------------------------------------------------------------- huge targets
def test_targets_near_1e200_are_standardized_without_overflow():
    X, y = load_diabetes(return_X_y=True)
    model = TabularMLPRegressor(hidden_layer_sizes=(16,), max_iter=16, n_ensemble=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        small = quiet_fit(clone(model), X, y).predict(X)
        huge = quiet_fit(model, X, y * 1e198).predict(X)
    assert np.isfinite(huge).all()
    np.testing.assert_allclose(huge, small * 1e198, rtol=1e-6)
    y_span = np.where(np.arange(len(y)) % 3, -1.7e308, 1.7e308)  # y - mean overflows
    with pytest.raises(ValueError, match="normalize_y=True cannot standardize y"):
        quiet_fit(clone(model), X, y_span)


# ------------------------------------------------------------ the kept epoch
def test_best_epoch_is_the_epoch_whose_weights_are_kept():
    X, y = classification(3, n_samples=300)
    tab = quiet_fit(TabularMLPClassifier((16,), max_iter=20, n_ensemble=1, random_state=0), X, y)
    assert tab.best_epoch_ == np.argmin(tab.validation_loss_curve_) + 1
    assert tab.best_validation_loss_ == min(tab.validation_loss_curve_)
    scored = quiet_fit(MLPClassifier((16,), early_stopping=True, random_state=0), X, y)
    assert scored.best_epoch_ == np.argmax(scored.validation_scores_) + 1 < scored.n_iter_
    plain = quiet_fit(MLPClassifier((16,), max_iter=7, random_state=0), X, y)
    assert plain.best_epoch_ == plain.n_iter_ == 7
    lbfgs = quiet_fit(MLPClassifier((16,), solver="lbfgs", max_iter=9), X, y)
    assert lbfgs.best_epoch_ == lbfgs.n_iter_


def test_verbose_prints_the_quantity_that_chooses_the_epoch():
    X, y = classification(3)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        quiet_fit(TabularMLPClassifier((8,), max_iter=3, verbose=True, random_state=0), X, y)
    assert out.getvalue().count("Validation loss: ") == 3 and "Validation score" not in (
        out.getvalue()
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        quiet_fit(MLPClassifier((8,), early_stopping=True, max_iter=3, verbose=True), X, y)
    assert out.getvalue().count("Validation score: ") == 3


def test_help_summary_reads_as_a_list():
    assert "label smoothing 0.1, the best" in TabularMLPClassifier.__doc__
    assert "standardized targets, the best" in TabularMLPRegressor.__doc__


# ------------------------------------------------------------ the held-out split
def test_early_stopping_stratification_error_comes_first_as_in_scikit_learn():
    # scikit-learn's own test_early_stopping_stratified
    X = [[1, 2], [2, 3], [3, 4], [4, 5]]
    y = [0, 0, 0, 1]
    mlp = MLPClassifier(early_stopping=True)
    with pytest.raises(
        ValueError,
        match=(
            r"The least populated classes in y have only 1 member.*Classes with "
            r"too few members are: \['True'\]"
        ),
    ):
        mlp.fit(X, y)
    # restore_best_weights keeps its fallback: an unstratified split, then the size check
    with pytest.raises(ValueError, match="validation set is too small.*restore_best_weights"):
        TabularMLPClassifier().fit(X, y)


@pytest.mark.parametrize(
    "params, rows, names",
    [
        ({"validation_fraction": 0.0}, 100, "restore_best_weights=True"),
        ({}, 1, "restore_best_weights=True"),
    ],
)
def test_a_split_that_cannot_be_made_names_the_parameters(params, rows, names):
    X, y = regression(n_samples=100)
    with pytest.raises(ValueError, match=f"validation_fraction.*{names}|{names}.*"):
        TabularMLPRegressor(**params).fit(X[:rows], y[:rows])
    try:
        TabularMLPRegressor(**params).fit(X[:rows], y[:rows])
    except ValueError as exc:
        assert names in str(exc) and "validation_fraction=" in str(exc)


# ------------------------------------------------- defaults that keep quiet
def test_early_stopping_keeps_scikit_learns_split_errors():
    X, y = regression(n_samples=100)
    with pytest.raises(ValueError, match=r"test_size=0.0 should be .* range$"):
        MLPRegressor(early_stopping=True, validation_fraction=0.0).fit(X, y)
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="n_iter_no_change"):
        MLPRegressor(n_iter_no_change="auto").fit(X, y)  # the Tabular estimators' only


def test_the_recipe_batch_size_is_clipped_silently_a_chosen_one_is_not():
    X, y = classification(3, n_samples=40)
    model = TabularMLPClassifier((8,), max_iter=2, lr_schedule=None, random_state=0)
    assert model.get_params()["batch_size"] == clone(model).batch_size == "auto"
    caught = _caught(lambda: model.fit(X, y))
    assert not [w for w in caught if "batch_size" in str(w.message)]
    caught = _caught(lambda: [model.partial_fit(X[:20], y[:20]) for _ in range(2)])
    assert not [w for w in caught if "batch_size" in str(w.message)]
    chosen = clone(model).set_params(batch_size=64)
    caught = _caught(lambda: chosen.fit(X, y))
    assert [w for w in caught if "batch_size" in str(w.message)]
    # 'auto' is the recipe's 64 rows when there are enough of them
    big_X, big_y = classification(3, n_samples=1000)
    fitted = quiet_fit(clone(model).set_params(max_iter=1), big_X, big_y)
    assert fitted.t_ == 800  # 800 training rows ...
    assert quiet_fit(
        clone(model).set_params(batch_size=64, max_iter=1), big_X, big_y
    ).loss_ == pytest.approx(fitted.loss_, rel=1e-12)  # ... in batches of 64


def test_early_stopping_on_a_tabular_model_stops():
    X, y = classification(3, n_samples=400)
    params = dict(hidden_layer_sizes=(16,), max_iter=200, n_ensemble=1, random_state=0)
    stopped = quiet_fit(TabularMLPClassifier(early_stopping=True, **params), X, y)
    assert stopped.n_iter_ < 200
    # the patience counts on the validation loss (validation_metric='loss'): training
    # stopped in the first epoch that made 11 without improving the best by tol
    best, count, counts = np.inf, 0, []
    for loss in stopped.validation_loss_curve_:
        count = count + 1 if not loss < best - stopped.tol else 0
        counts.append(count)
        best = min(best, loss)
    assert counts[-1] == 11 and max(counts[:-1]) <= 10
    assert TabularMLPClassifier().get_params()["n_iter_no_change"] == "auto"
    budget = quiet_fit(TabularMLPClassifier(**{**params, "max_iter": 30}), X, y)
    assert budget.n_iter_ == 30  # without early stopping the schedule runs its budget
