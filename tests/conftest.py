"""Shared fixtures: small data sets reused across the test session."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning


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


def poisson(n_samples=150, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, 8)
    y = rng.poisson(np.exp(0.3 * X @ rng.randn(8))).astype(float)
    return X, y
