"""Temperature scaling of a classifier's probabilities (SPEC 4.10).

One temperature ``T > 0`` divides the output layer's pre-activation ``z``
(the logits) of every member before its output activation; an ensemble's
members' probabilities are then averaged. ``T`` is fitted on held-out rows
by a bounded one-dimensional search over ``log T`` minimising the plain
(weighted) mean log loss plus ``(log T)**2 / (2 n)``, ``n`` the held-out rows:
the most probable temperature under a standard normal prior on ``log T``, as
if one more row said "T is near 1". On hundreds of rows the prior is
negligible; on a few dozen it keeps one row just across the boundary from
driving ``T`` towards 0 (wine, 28 held-out rows: the plain log loss chose
T = 0.022 on one split and tripled the test log loss,
``benchmarks/results/bench_accuracy_calibration2.json``; with the prior T is
0.45 to 0.58 and the test log loss 0.043 against 0.105 uncalibrated,
``bench_accuracy_probabilities.json``). Multilabel outputs are independent
logistic units: each gets its own temperature.

Everything here is NumPy on arrays of logits ``Z`` of shape
``(n_members, n_samples, n_outputs)``; it knows no estimator.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, logsumexp

#: The search interval of ``log T``: a temperature between 1/100 and 100.
LOG_T_BOUNDS = (np.log(1e-2), np.log(1e2))


def _log_proba_softmax(Z: np.ndarray, T: float) -> np.ndarray:
    """``log(mean_k softmax(Z[k] / T))``, shape (n_samples, n_classes)."""
    logp = log_softmax(Z / T, axis=2)
    return logsumexp(logp, axis=0) - np.log(Z.shape[0])


def _log_proba_logistic(Z: np.ndarray, T: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """``log p`` and ``log(1 - p)`` of the members' averaged ``sigmoid(Z / T)``.

    ``log sigmoid(u) = -log(1 + exp(-u))`` and ``log(1 - sigmoid(u)) =
    log sigmoid(-u)``, exact for any ``u`` (no rounding of ``p`` to 1).
    """
    U = Z / T
    log_k = np.log(Z.shape[0])
    log_p = logsumexp(-np.logaddexp(0.0, -U), axis=0) - log_k
    log_q = logsumexp(-np.logaddexp(0.0, U), axis=0) - log_k
    return log_p, log_q


def probabilities(Z: np.ndarray, T: np.ndarray | float, softmax: bool) -> np.ndarray:
    """The calibrated probabilities, members averaged: shape (n_samples, n_outputs).

    Parameters
    ----------
    Z : ndarray of shape (n_members, n_samples, n_outputs)
        Output-layer pre-activations of every member.
    T : float or ndarray of shape (n_outputs,)
        The temperature (one per output for logistic outputs).
    softmax : bool
        Softmax outputs (multiclass) rather than logistic units.
    """
    if softmax:
        return np.exp(_log_proba_softmax(Z, float(T)))
    return np.exp(_log_proba_logistic(Z, T)[0])


def _mean_log_loss(log_p_true: np.ndarray, sw: np.ndarray) -> float:
    return float(-np.dot(sw, log_p_true) / sw.sum())


def fit_temperature(Z: np.ndarray, Y: np.ndarray, sw: np.ndarray, softmax: bool):
    """The temperature minimising the weighted log loss of ``Y`` under ``Z / T``,
    plus the prior's ``(log T)**2 / (2 n)`` (see the module's docstring).

    Parameters
    ----------
    Z : ndarray of shape (n_members, n_samples, n_outputs)
        Output-layer pre-activations of every member on the held-out rows.
    Y : ndarray of shape (n_samples, n_outputs)
        The 0/1 indicator targets of those rows.
    sw : ndarray of shape (n_samples,)
        Their sample weights.
    softmax : bool
        Softmax outputs (multiclass) rather than logistic units.

    Returns
    -------
    T : float or ndarray of shape (n_outputs,)
        One temperature for softmax outputs and a single logistic unit
        (binary); one per output for several logistic units (multilabel).
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    sw = np.asarray(sw, dtype=np.float64)
    if softmax:
        index = np.argmax(Y, axis=1)
        rows = np.arange(len(index))

        def loss(log_t):
            log_p = _log_proba_softmax(Z, np.exp(log_t))[rows, index]
            return _mean_log_loss(log_p, sw) + prior(log_t, len(sw))

        return float(np.exp(_minimise(loss)))

    temperatures = [
        np.exp(_minimise(functools.partial(_logistic_loss, Z[:, :, j : j + 1], Y[:, j], sw)))
        for j in range(Z.shape[2])
    ]
    if len(temperatures) == 1:
        return float(temperatures[0])
    return np.array(temperatures)


def _logistic_loss(Z: np.ndarray, y: np.ndarray, sw: np.ndarray, log_t: float) -> float:
    """The weighted log loss of one logistic output's labels ``y`` under ``Z / exp(log_t)``."""
    log_p, log_q = _log_proba_logistic(Z, np.exp(log_t))
    return _mean_log_loss(y * log_p[:, 0] + (1.0 - y) * log_q[:, 0], sw) + prior(log_t, len(sw))


def prior(log_t: float, n_rows: int) -> float:
    """The standard normal prior on ``log T``, per held-out row: ``(log T)**2 / (2 n)``."""
    return log_t * log_t / (2.0 * n_rows)


def _minimise(loss) -> float:
    """``argmin`` of a loss of ``log T`` over :data:`LOG_T_BOUNDS` (Brent's bounded search),
    or ``log T = 0`` (T = 1) where that fits better than what the search found."""
    result = minimize_scalar(loss, bounds=LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-6})
    return min((float(result.x), 0.0), key=loss)
