"""Shared fixtures and helpers: small data sets reused across the test session, and the
helpers that several test files of one topic share."""

import contextlib
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sknn_train import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True)
def _quiet_convergence():
    # Most tests run a handful of epochs on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def quiet_fit(est, X, y, **fit_params):
    """``est.fit(X, y, **fit_params)`` with every warning silenced; returns ``est``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **fit_params)


def classification(n_classes=3, n_samples=150, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        random_state=seed,
    )
    return X, y


def multilabel(n_samples=150, seed=0):
    X, y = classification(n_classes=2, n_samples=n_samples, seed=seed)
    rng = np.random.RandomState(seed)
    Y = np.column_stack([y, (X[:, 0] > 0).astype(int), rng.randint(0, 2, n_samples)])
    return X, Y


def regression(n_targets=1, n_samples=150, seed=0):
    X, y = make_regression(
        n_samples=n_samples, n_features=8, n_targets=n_targets, noise=1.0, random_state=seed
    )
    return X, (y - y.mean(axis=0)) / y.std(axis=0)


def small_table(n_samples=150, seed=0):
    """A raw DataFrame (a numeric column, one with NaN, a 12-level category) and a
    binary target: what the Tabular estimators' encoders and lookups take."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n_samples),
            "z": np.where(rng.random(n_samples) < 0.1, np.nan, rng.normal(size=n_samples)),
            "colour": pd.Categorical(rng.choice(list("abcdefghijkl"), n_samples)),
        }
    )
    return frame, (frame["x"] > 0).to_numpy().astype(int)


def poisson(n_samples=150, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, 8)
    y = rng.poisson(np.exp(0.3 * X @ rng.randn(8))).astype(float)
    return X, y


# ------------------------------------ shared by test_api*.py and test_reliability*.py
ESTIMATORS = [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)]
EST_IDS = ["classifier", "regressor"]
OURS = [MLPClassifier, MLPRegressor]


def _outputs(est, X):
    """What the estimator predicts: probabilities for a classifier, values else."""
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


# ------------------------------------------------------------ shared by test_api*.py
def _clf_data(n=90, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return X, y


def _reg_data(n=80, n_outputs=1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    W = rng.randn(4, n_outputs)
    y = np.tanh(X @ W) + 0.1 * rng.randn(n, n_outputs)
    return X, (y.ravel() if n_outputs == 1 else y)


def _data_for(Est, n=80):
    return _clf_data(n) if issubclass(Est, MLPClassifier) else _reg_data(n)


def _fit_quiet(est, *args, **kwargs):
    """Fit, silencing the ConvergenceWarning that small max_iter makes on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _assert_params_close(est, ref, rtol, atol):
    """Same number of weight arrays, each close to the reference's."""
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _numpy_forward(est, X):
    """Output activations from est.coefs_/intercepts_ with NumPy (relu hidden layers)."""
    h = np.asarray(X, dtype=np.float64)
    n_w = len(est.coefs_)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        h = h @ W + b
        if i < n_w - 1:
            assert est.activation == "relu"
            h = np.maximum(h, 0.0)
    out = est.out_activation_
    if out == "softmax":
        h = np.exp(h - h.max(axis=1, keepdims=True))
        h /= h.sum(axis=1, keepdims=True)
    elif out == "logistic":
        h = 1.0 / (1.0 + np.exp(-h))
    elif out == "exp":
        h = np.exp(h)
    else:
        assert out == "identity"
    return h


# ---------------------------------------------------- shared by test_reliability*.py
def _data(Est, n=30, d=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    if Est in (MLPClassifier, sk.MLPClassifier):
        return X, np.arange(n) % 3
    return X, X @ rng.randn(d) + 0.1 * rng.randn(n)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _outcome(fn):
    """``None`` when ``fn()`` returns, else the exception's type and message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn()
        except Exception as exc:  # the outcome is what the tests compare
            return type(exc), str(exc)
    return None


def _clean_env():
    """The environment of a subprocess that may use the (warm) kernel cache."""
    env = dict(os.environ)
    for name in ("SKNN_TRAIN_NO_CACHE", "NUMBA_BOUNDSCHECK", "NUMBA_DISABLE_JIT"):
        env.pop(name, None)
    return env


def _run_python(code, timeout=240):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
