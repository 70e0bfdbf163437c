"""Optimizer updates (scikit-learn's rules) over a block of the flat buffer.

Every update takes the block as slices of equal length and loops from 0 (a loop
over ``range(lo, hi)`` of the whole buffer was not vectorised once inlined into
the epoch kernel); :func:`sknn_train._kernels.step.finish_gradient` runs them
block by block while each block is in cache.
"""

import math

from .._jit import kernel

# Solver codes of the stochastic solvers (L-BFGS runs in scipy, not here).
SGD = 0
ADAM = 1
SOLVERS = {"sgd": SGD, "adam": ADAM}

# Learning-rate schedule codes (SPEC 4.1): the factor f(p) of the rate at progress p.
NO_SCHEDULE = 0  # scikit-learn's: the rate OptimizerState keeps (invscaling, adaptive)
COSINE = 1  # (1 + cos(pi p)) / 2
LINEAR = 2  # 1 - p
COSLOG4 = 3  # (1 - cos(2 pi log2(1 + 15 p))) / 2: four cosine cycles, log-spaced
SCHEDULES = {None: NO_SCHEDULE, "cosine": COSINE, "linear": LINEAR, "coslog4": COSLOG4}


@kernel(inline=True)
def scheduled_rate(lr, done, total, schedule, warmup):
    """The rate of the update after ``done`` updates of ``total``: ``lr * w(p) * f(p)``.

    ``p = min(done / total, 1)``; ``f`` is the schedule's factor, ``w(p) =
    min(1, p / warmup)`` the linear warm-up (``warmup`` <= 0: none). Without
    a schedule or a warm-up, ``lr`` itself (bit for bit: scikit-learn's rate).
    """
    if schedule == NO_SCHEDULE and warmup <= 0:
        return lr
    p = done / total if done < total else 1.0
    f = 1.0
    if schedule == COSINE:
        f = 0.5 * (1.0 + math.cos(math.pi * p))
    elif schedule == LINEAR:
        f = 1.0 - p
    elif schedule == COSLOG4:
        f = 0.5 * (1.0 - math.cos(2.0 * math.pi * math.log2(1.0 + 15.0 * p)))
    if warmup > 0 and p < warmup:
        f *= p / warmup
    return lr * f


@kernel(inline=True)
def decay_weights(w, factor):
    """``w *= factor`` in place: decoupled weight decay, ``factor = 1 - lr * weight_decay``."""
    for p in range(w.shape[0]):
        w[p] *= factor


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
