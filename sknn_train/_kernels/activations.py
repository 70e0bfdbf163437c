"""Activations and their derivatives, in place on flat buffers.

Codes come from :data:`sknn_train._config.ACTIVATIONS` /
:data:`~sknn_train._config.OUT_ACTIVATIONS`. Derivatives are expressed through
the activation's output ``z`` as in scikit-learn.
"""

import math

from .._jit import kernel


@kernel
def activate(buf, n, code):
    """Apply hidden activation ``code`` to ``buf[:n]`` in place."""
    if code == 0:  # identity
        return
    elif code == 1:  # logistic, written as scipy's expit to stay finite
        for i in range(n):
            x = buf[i]
            if x >= 0:
                buf[i] = 1.0 / (1.0 + math.exp(-x))
            else:
                e = math.exp(x)
                buf[i] = e / (1.0 + e)
    elif code == 2:  # tanh
        for i in range(n):
            buf[i] = math.tanh(buf[i])
    elif code == 3:  # relu
        for i in range(n):
            if buf[i] < 0:
                buf[i] = 0.0
    elif code == 10:  # exp (Poisson output)
        for i in range(n):
            buf[i] = math.exp(buf[i])


@kernel
def activation_backward(z, delta, n, code):
    """Multiply ``delta[:n]`` in place by the derivative of ``code`` at output ``z``."""
    if code == 0:
        return
    elif code == 1:
        for i in range(n):
            delta[i] *= z[i] * (1.0 - z[i])
    elif code == 2:
        for i in range(n):
            delta[i] *= 1.0 - z[i] * z[i]
    elif code == 3:
        for i in range(n):
            if z[i] == 0:
                delta[i] = 0.0


@kernel
def softmax_rows(a):
    """Row-wise softmax of the 2-D array ``a`` in place."""
    m, k = a.shape
    for r in range(m):
        mx = a[r, 0]
        for j in range(1, k):
            if a[r, j] > mx:
                mx = a[r, j]
        s = 0.0
        for j in range(k):
            e = math.exp(a[r, j] - mx)
            a[r, j] = e
            s += e
        for j in range(k):
            a[r, j] /= s


@kernel
def output_activate(a, code):
    """Output activation ``code`` of the 2-D array ``a`` in place."""
    if code == 11:
        softmax_rows(a)
    else:
        activate(a.reshape(a.size), a.size, code)
