"""Optimizer steps over the whole flat parameter buffer (scikit-learn's update rules)."""

import math

from .._jit import kernel


@kernel
def adam_step(theta, grad, m1, m2, t, lr_init, beta_1, beta_2, eps):
    """One Adam update; ``t`` is the step number after incrementing (1 first)."""
    lr = lr_init * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    for p in range(theta.shape[0]):
        g = grad[p]
        m1[p] = beta_1 * m1[p] + (1.0 - beta_1) * g
        m2[p] = beta_2 * m2[p] + (1.0 - beta_2) * (g * g)
        theta[p] += -lr * m1[p] / (math.sqrt(m2[p]) + eps)


@kernel
def sgd_step(theta, grad, velocity, lr, momentum, nesterov):
    """One SGD update with (Nesterov) momentum, as scikit-learn's ``SGDOptimizer``."""
    for p in range(theta.shape[0]):
        g = grad[p]
        v = momentum * velocity[p] - lr * g
        velocity[p] = v
        if nesterov:
            theta[p] += momentum * v - lr * g
        else:
            theta[p] += v
