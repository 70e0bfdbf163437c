"""The loss of the best constant prediction: what a fitted network must beat.

For every canonical (output activation, loss) pair the best constant output on
weighted rows is the weighted mean of the targets: the mean (squared error,
Poisson) or the class frequencies (log losses). Its loss is the floor a model
that learnt nothing reaches; a network whose kept weights lose more has
diverged or not converged. The losses are the kernels' own
(``_kernels/losses.py``): per row summed over the outputs, then the weighted
mean over rows.
"""

from __future__ import annotations

import numpy as np


def mean_loss(P: np.ndarray, Y: np.ndarray, sw: np.ndarray, loss: str, eps: float) -> float:
    """Weighted mean loss of the predictions ``P`` (output activations) against ``Y``.

    ``loss`` names the kernels' loss ('squared_error', 'poisson', 'log_loss',
    'binary_log_loss'); ``eps`` clips probabilities as the kernels do.
    """
    P = np.asarray(P, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if loss == "squared_error":
        with np.errstate(over="ignore"):  # huge targets: inf, as the kernels' loss
            per_row = 0.5 * ((Y - P) ** 2).sum(axis=1)
    elif loss == "poisson":  # half Poisson deviance: xlogy(y, y / p) - y + p
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(Y != 0, Y * np.log(np.where(Y != 0, Y, 1.0) / P), 0.0)
        per_row = (ratio - Y + P).sum(axis=1)
    else:
        Q = np.clip(P, eps, 1.0 - eps)
        per_row = -(Y * np.log(Q)).sum(axis=1)
        if loss == "binary_log_loss":
            per_row -= ((1.0 - Y) * np.log(1.0 - Q)).sum(axis=1)
    return float(np.dot(sw, per_row) / np.sum(sw))


def constant_loss(
    Y_fit: np.ndarray,
    sw_fit: np.ndarray,
    Y: np.ndarray,
    sw: np.ndarray,
    loss: str,
    eps: float,
) -> float:
    """The loss on ``(Y, sw)`` of the best constant prediction for ``(Y_fit, sw_fit)``."""
    sw_fit = np.asarray(sw_fit, dtype=np.float64)
    constant = np.average(np.asarray(Y_fit, dtype=np.float64), axis=0, weights=sw_fit)
    P = np.broadcast_to(constant, np.shape(Y))
    return mean_loss(P, Y, sw, loss, eps)


def worse_than_constant(checks, advice: str, epoch: int | None = None) -> str | None:
    """The warning text when a loss is above its constant floor, or None.

    ``checks``: ``(what, loss, floor)`` triples ('training' / 'validation', the
    kept weights' loss, the constant prediction's); ``advice``: the likely
    cause and what to change; ``epoch``: the kept epoch.
    """
    above = [(what, loss, floor) for what, loss, floor in checks if loss > floor]
    if not above:
        return None
    kept = "" if epoch is None else f" (epoch {epoch})"
    losses = " and ".join(
        f"its {what} loss is {loss:.4g}, above {floor:.4g}" for what, loss, floor in above
    )
    return (
        f"The fitted model predicts worse than a constant: with the weights it keeps{kept}, "
        f"{losses}, the loss of predicting the training targets' mean (the class "
        f"frequencies, for a classifier) on every row. {advice}"
    )
