"""Activations and their derivatives, in place on flat buffers.

Codes come from :data:`sknn_train._config.ACTIVATIONS` /
:data:`~sknn_train._config.OUT_ACTIVATIONS`. Derivatives are expressed through
the activation's output ``z`` as in scikit-learn, except for GELU and SiLU,
whose derivatives need the pre-activation ``a`` (kept in a separate buffer only
when one of them is used; see :func:`needs_preactivation`).
"""

import math

from .._jit import kernel

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LEAKY_SLOPE = 0.01


@kernel
def needs_preactivation(code):
    """Whether the derivative of ``code`` needs the pre-activation (GELU, SiLU)."""
    return code == 6 or code == 8


@kernel
def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@kernel
def activate(buf, pre, n, code):
    """Apply activation ``code`` to ``buf[:n]`` in place (``pre`` receives ``a`` if needed)."""
    if code == 0:  # identity
        return
    elif code == 1:  # logistic, written as scipy's expit to stay finite
        for i in range(n):
            buf[i] = _sigmoid(buf[i])
    elif code == 2:  # tanh
        for i in range(n):
            buf[i] = math.tanh(buf[i])
    elif code == 3:  # relu
        for i in range(n):
            if buf[i] < 0:
                buf[i] = 0.0
    elif code == 4:  # leaky relu
        for i in range(n):
            if buf[i] < 0:
                buf[i] *= LEAKY_SLOPE
    elif code == 5:  # elu, alpha = 1
        for i in range(n):
            if buf[i] < 0:
                buf[i] = math.expm1(buf[i])
    elif code == 6:  # exact gelu: x * Phi(x)
        for i in range(n):
            a = buf[i]
            pre[i] = a
            buf[i] = 0.5 * a * (1.0 + math.erf(a * _INV_SQRT2))
    elif code == 7:  # softplus, log(1 + exp(x)) without overflow
        for i in range(n):
            a = buf[i]
            buf[i] = max(a, 0.0) + math.log1p(math.exp(-abs(a)))
    elif code == 8:  # silu: x * sigmoid(x)
        for i in range(n):
            a = buf[i]
            pre[i] = a
            buf[i] = a * _sigmoid(a)
    elif code == 10:  # exp (Poisson output)
        for i in range(n):
            buf[i] = math.exp(buf[i])


@kernel
def activation_backward(z, pre, delta, n, code):
    """Multiply ``delta[:n]`` in place by the derivative of ``code``."""
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
    elif code == 4:
        for i in range(n):
            if z[i] <= 0:
                delta[i] *= LEAKY_SLOPE
    elif code == 5:
        for i in range(n):
            if z[i] <= 0:
                delta[i] *= z[i] + 1.0
    elif code == 6:
        for i in range(n):
            a = pre[i]
            cdf = 0.5 * (1.0 + math.erf(a * _INV_SQRT2))
            delta[i] *= cdf + a * _INV_SQRT_2PI * math.exp(-0.5 * a * a)
    elif code == 7:  # sigmoid(a) = 1 - exp(-z)
        for i in range(n):
            delta[i] *= -math.expm1(-z[i])
    elif code == 8:
        for i in range(n):
            a = pre[i]
            s = _sigmoid(a)
            delta[i] *= s * (1.0 + a * (1.0 - s))


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
def output_activate(a, flat, code):
    """Output activation ``code`` in place of the 2-D array ``a`` (``flat``: the
    same values as a 1-D view)."""
    if code == 11:
        softmax_rows(a)
    else:
        activate(flat, flat, flat.shape[0], code)
