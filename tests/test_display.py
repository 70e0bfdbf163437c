"""TrainingCurveDisplay follows scikit-learn's Display convention."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from sknn_train import MLPClassifier, TrainingCurveDisplay  # noqa: E402


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
