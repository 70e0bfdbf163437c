"""Optimizer updates (scikit-learn's rules) over a block of the flat buffer.

Every update takes the block as slices of equal length and loops from 0 (a loop
over ``range(lo, hi)`` of the whole buffer was not vectorised once inlined into
the epoch kernel); :func:`sknn_train._kernels.epoch.finish_gradient` runs them
block by block while each block is in cache.
"""

import math

from .._jit import kernel

# Solver codes of the stochastic solvers (L-BFGS runs in scipy, not here).
SGD = 0
ADAM = 1
SOLVERS = {"sgd": SGD, "adam": ADAM}


@kernel(inline=True)
def adam_rate(t, lr_init, beta_1, beta_2):
    """Adam's bias-corrected learning rate at step ``t`` (1 first)."""
    return lr_init * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)


@kernel(inline=True)
def adam_update(theta, grad, m1, m2, lr, beta_1, beta_2, eps, gscale):
    """Adam's update with the bias-corrected rate ``lr`` (see :func:`adam_rate`).

    The gradient is ``gscale * grad`` (the clipping factor; exactly ``grad`` at 1).
    """
    for p in range(theta.shape[0]):
        g = grad[p] * gscale
        m1[p] = beta_1 * m1[p] + (1.0 - beta_1) * g
        m2[p] = beta_2 * m2[p] + (1.0 - beta_2) * (g * g)
        theta[p] += -lr * m1[p] / (math.sqrt(m2[p]) + eps)


@kernel(inline=True)
def sgd_update(theta, grad, velocity, lr, momentum, nesterov, gscale):
    """SGD with (Nesterov) momentum, as scikit-learn's ``SGDOptimizer``.

    The gradient is ``gscale * grad`` (the clipping factor; exactly ``grad`` at 1).
    """
    for p in range(theta.shape[0]):
        g = grad[p] * gscale
        v = momentum * velocity[p] - lr * g
        velocity[p] = v
        if nesterov:
            theta[p] += momentum * v - lr * g
        else:
            theta[p] += v
