"""TrainingCurveDisplay follows scikit-learn's Display convention."""

import pickle

import matplotlib
import numpy as np
import pytest
from conftest import quiet_fit

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sknn_train import MLPClassifier, TabularMLPClassifier, TrainingCurveDisplay  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(return_X_y=True)
    return MLPClassifier((16, 16), early_stopping=True, max_iter=15, random_state=0).fit(
        X[:500] / 16, y[:500]
    )


def test_from_estimator_draws_the_curves(fitted):
    disp = TrainingCurveDisplay.from_estimator(fitted)
    assert len(disp.ax_) == 3 and disp.figure_ is disp.ax_[0].figure
    np.testing.assert_allclose(disp.lines_["loss"].get_ydata(), fitted.loss_curve_)
    np.testing.assert_allclose(
        disp.lines_["validation_loss"].get_ydata(), fitted.validation_loss_curve_
    )
    np.testing.assert_allclose(
        disp.lines_["validation_score"].get_ydata(), fitted.validation_scores_
    )
    norms = np.asarray(fitted.layer_grad_norm_curve_)
    for layer in range(3):
        np.testing.assert_allclose(disp.lines_[f"grad_norm_{layer}"].get_ydata(), norms[:, layer])
    assert disp.ax_[2].get_yscale() == "log"
    plt.close("all")


def test_plot_on_given_axes_and_errors(fitted):
    fig, axes = plt.subplots(1, 3)
    disp = TrainingCurveDisplay.from_estimator(fitted, ax=axes)
    assert all(a is b for a, b in zip(disp.ax_, axes))
    with pytest.raises(ValueError, match="ax must hold 3 Axes"):
        TrainingCurveDisplay.from_estimator(fitted, ax=axes[:2])
    only_loss = TrainingCurveDisplay([3.0, 2.0, 1.5]).plot()
    assert len(only_loss.ax_) == 1
    lbfgs = MLPClassifier((4,), solver="lbfgs", max_iter=5).fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="solver='sgd' or 'adam'"):
        TrainingCurveDisplay.from_estimator(lbfgs)
    plt.close("all")


def test_clear_error_without_matplotlib(fitted, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match="requires matplotlib"):
        TrainingCurveDisplay.from_estimator(fitted)


def marker_epochs(ax):
    """The epochs of the best-epoch markers drawn on ``ax``."""
    return [line.get_xdata()[0] for line in ax.get_lines() if line.get_label() == "best epoch"]


@pytest.fixture(scope="module")
def tabular():
    """A Tabular fit whose kept epoch (lowest validation loss) is not the best-scoring one."""
    X, y = load_digits(return_X_y=True)
    model = TabularMLPClassifier(
        hidden_layer_sizes=(16,),
        max_iter=12,
        n_ensemble=1,
        learning_rate_init=0.03,
        random_state=1,
        numeric_scaling=None,  # (the pixels scaled by hand)
    )
    return quiet_fit(model, X[:300] / 16, y[:300])


def test_best_epoch_marker_is_the_kept_epoch(tabular):
    lowest_loss = int(np.argmin(tabular.validation_loss_curve_)) + 1
    best_score = int(np.argmax(tabular.validation_scores_)) + 1
    # validation_metric='loss' keeps the lowest-loss epoch, not the best-scoring one
    assert tabular.best_epoch_ == lowest_loss != best_score
    assert tabular.best_epoch_ != len(tabular.loss_curve_)
    disp = TrainingCurveDisplay.from_estimator(tabular)
    loss, validation, gradients = disp.ax_
    assert marker_epochs(validation) == [tabular.best_epoch_]
    assert marker_epochs(loss) == [tabular.best_epoch_]
    assert marker_epochs(gradients) == [tabular.best_epoch_]
    assert disp.best_epoch == tabular.best_epoch_
    for panel in ("loss", "validation", "gradients"):
        assert list(disp.lines_[f"best_epoch_{panel}"].get_xdata()) == [tabular.best_epoch_] * 2
    plt.close("all")


def test_best_epoch_from_arrays(fitted):
    scores = [0.2, 0.9, 0.5]
    by_score = TrainingCurveDisplay([3.0, 2.0, 1.5], validation_scores=scores).plot()
    assert list(by_score.lines_["best_epoch_validation"].get_xdata()) == [2, 2]
    assert list(by_score.lines_["best_epoch_loss"].get_xdata()) == [2, 2]
    given = TrainingCurveDisplay([3.0, 2.0, 1.5], validation_scores=scores, best_epoch=3).plot()
    assert list(given.lines_["best_epoch_validation"].get_xdata()) == [3, 3]
    # without held-out rows the kept epoch is the last: nothing to mark
    no_validation = TrainingCurveDisplay([3.0, 2.0, 1.5], best_epoch=3).plot()
    assert not any(key.startswith("best_epoch") for key in no_validation.lines_)
    with pytest.raises(ValueError, match="best_epoch=4 is outside the 3 epochs"):
        TrainingCurveDisplay([3.0, 2.0, 1.5], validation_scores=scores, best_epoch=4).plot()
    # a model pickled before best_epoch_ existed falls back to the best score
    old = pickle.loads(pickle.dumps(fitted))
    del old.best_epoch_
    disp = TrainingCurveDisplay.from_estimator(old)
    assert disp.best_epoch is None
    expected = int(np.argmax(fitted.validation_scores_)) + 1
    assert list(disp.lines_["best_epoch_validation"].get_xdata()) == [expected] * 2
    plt.close("all")


def test_from_pipeline():
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier((8,), early_stopping=True, max_iter=5, random_state=0)
    )
    quiet_fit(pipe, X[:300], y[:300])
    disp = TrainingCurveDisplay.from_estimator(pipe)
    assert disp.estimator_name == "MLPClassifier"
    assert disp.ax_[0].get_title() == "MLPClassifier: loss"
    np.testing.assert_allclose(disp.lines_["loss"].get_ydata(), pipe[-1].loss_curve_)
    assert disp.best_epoch == pipe[-1].best_epoch_
    other = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:300], y[:300])
    with pytest.raises(TypeError, match="final step.*got LogisticRegression"):
        TrainingCurveDisplay.from_estimator(other)
    plt.close("all")


def test_single_axes_and_panels(fitted):
    fig, ax = plt.subplots()
    disp = TrainingCurveDisplay.from_estimator(fitted, ax=ax)
    assert len(disp.ax_) == 1 and disp.ax_[0] is ax and disp.figure_ is fig
    assert set(disp.lines_) == {"loss", "validation_loss", "best_epoch_loss"}
    assert list(disp.lines_["best_epoch_loss"].get_xdata()) == [fitted.best_epoch_] * 2
    fig, ax = plt.subplots()
    disp = TrainingCurveDisplay.from_estimator(fitted, ax=ax, panels=["gradients"])
    assert disp.ax_[0] is ax and ax.get_yscale() == "log"
    assert "grad_norm_0" in disp.lines_ and "loss" not in disp.lines_
    with pytest.raises(ValueError, match="single Axes draws one panel, got 2"):
        TrainingCurveDisplay.from_estimator(fitted, ax=ax, panels=["loss", "validation"])
    fig, axes = plt.subplots(1, 2)
    disp = TrainingCurveDisplay.from_estimator(fitted, ax=axes, panels=("validation", "loss"))
    assert disp.ax_[0].get_title() == "validation score"
    assert disp.ax_[1].get_title() == "MLPClassifier: loss"
    with pytest.raises(ValueError, match="ax must hold 1 Axes"):
        TrainingCurveDisplay.from_estimator(fitted, ax=axes, panels=["loss"])
    only = TrainingCurveDisplay.from_estimator(fitted, panels="validation")
    assert len(only.ax_) == 1 and "loss" not in only.lines_
    with pytest.raises(ValueError, match="Unknown panel 'score'"):
        TrainingCurveDisplay.from_estimator(fitted, panels=["score"])
    with pytest.raises(ValueError, match="No data for the 'validation' panel"):
        TrainingCurveDisplay([3.0, 2.0]).plot(panels=["validation"])
    with pytest.raises(ValueError, match="names a panel twice"):
        TrainingCurveDisplay.from_estimator(fitted, panels=["loss", "loss"])
    with pytest.raises(ValueError, match="at least one panel"):
        TrainingCurveDisplay.from_estimator(fitted, panels=[])
    plt.close("all")
