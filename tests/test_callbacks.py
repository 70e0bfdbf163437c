"""scikit-learn 1.9's callback API: progress bars, score monitoring, stopping."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_digits

from sknn_train import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def _rows(monitor, task):
    return [r for r in monitor.get_logs().data if r["task_name"] == task]


@pytest.mark.parametrize(
    "solver,task", [("adam", "epoch"), ("sgd", "epoch"), ("lbfgs", "lbfgs-iter")]
)
def test_scoring_monitor_scores_every_iteration(digits, solver, task):
    X, y = digits
    mon = ScoringMonitor(scoring="accuracy")
    est = MLPClassifier((32,), solver=solver, max_iter=6, random_state=0, learning_rate_init=0.01)
    est.set_callbacks(mon).fit(X, y)
    rows = _rows(mon, task)
    assert len(rows) == est.n_iter_
    # the last iteration's score is the fitted model's, the first one's is what
    # a one-iteration fit gives
    assert rows[-1]["accuracy"] == pytest.approx(est.score(X, y))
    first = clone(est).set_params(max_iter=1).fit(X, y)
    assert rows[0]["accuracy"] == pytest.approx(first.score(X, y))
    assert len({r["accuracy"] for r in rows}) > 1  # training moved


def test_callbacks_do_not_change_the_fit(digits):
    X, y = digits
    plain = MLPClassifier((16,), max_iter=4, random_state=0).fit(X, y)
    watched = MLPClassifier((16,), max_iter=4, random_state=0)
    watched.set_callbacks(ScoringMonitor(scoring="accuracy"), ProgressBar()).fit(X, y)
    for a, b in zip(plain.coefs_, watched.coefs_):
        np.testing.assert_array_equal(a, b)
    assert plain.loss_curve_ == watched.loss_curve_


class StopAfter:
    """A FitCallback that asks to stop once ``n`` epochs have ended."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def setup(self, estimator, context):
        self.seen = 0

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            self.seen += 1
            return self.seen >= self.n
        return False

    def teardown(self, estimator, context):
        pass


def test_a_callback_can_stop_training(digits):
    X, y = digits
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    est.set_callbacks(StopAfter(3)).fit(X, y.astype(float))
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3


def test_progress_bar_and_partial_fit(digits, capsys):
    X, y = digits
    est = MLPClassifier((8,), max_iter=3, random_state=0).set_callbacks(ProgressBar())
    est.fit(X, y)
    mon = ScoringMonitor(scoring="accuracy")
    est.set_callbacks(mon).partial_fit(X, y)
    assert len(_rows(mon, "epoch")) == 1
    assert _rows(mon, "epoch")[0]["accuracy"] == pytest.approx(est.score(X, y))
