"""Forward and backward passes of one batch through the whole network.

The network is described by plain arrays: ``units`` (width of every layer,
input first), ``coef_off`` / ``int_off`` (offsets of each weight matrix and bias
vector in the flat parameter buffer ``theta``) and ``act_off`` (offset of each
layer's activations in the flat workspace ``acts``; layer 0, the input, has
none). Depth is data, not a type, so one compiled signature serves every
architecture.

The input of a batch is either the dense ``(m, d)`` block ``xb`` or, when
``is_sparse``, the CSR rows ``rows`` of ``(data, indices, indptr)``.
"""

import numpy as np

from .._jit import kernel
from .activations import activate, activation_backward, output_activate


@kernel
def layer_view(buf, off, m, width):
    """The ``(m, width)`` matrix stored at ``buf[off:]``."""
    return buf[off : off + m * width].reshape((m, width))


@kernel
def csr_rows_dot(data, indices, indptr, rows, w, out):
    """``out = X[rows] @ w`` for CSR ``X`` without densifying it."""
    m, k = out.shape
    for r in range(m):
        for j in range(k):
            out[r, j] = 0.0
        i = rows[r]
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p]
            c = indices[p]
            for j in range(k):
                out[r, j] += v * w[c, j]


@kernel
def csr_rows_tdot(data, indices, indptr, rows, delta, out):
    """``out = X[rows].T @ delta`` for CSR ``X``."""
    out[:, :] = 0.0
    m, k = delta.shape
    for r in range(m):
        i = rows[r]
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p]
            c = indices[p]
            for j in range(k):
                out[c, j] += v * delta[r, j]


@kernel
def forward(xb, data, indices, indptr, rows, is_sparse, m, theta, units, coef_off,
            int_off, acts, act_off, hidden_act, out_act):
    """Fill ``acts`` with every layer's output for a batch of ``m`` rows."""
    n_w = units.shape[0] - 1
    for l in range(n_w):
        fan_in = units[l]
        fan_out = units[l + 1]
        w = layer_view(theta, coef_off[l], fan_in, fan_out)
        b = theta[int_off[l] : int_off[l] + fan_out]
        a = layer_view(acts, act_off[l + 1], m, fan_out)
        if l == 0:
            if is_sparse:
                csr_rows_dot(data, indices, indptr, rows, w, a)
            else:
                np.dot(xb, w, a)
        else:
            np.dot(layer_view(acts, act_off[l], m, fan_in), w, a)
        for r in range(m):
            for j in range(fan_out):
                a[r, j] += b[j]
        if l < n_w - 1:
            activate(acts[act_off[l + 1] : act_off[l + 1] + m * fan_out], m * fan_out,
                     hidden_act)
        else:
            output_activate(a, out_act)


@kernel
def backward(xb, data, indices, indptr, rows, is_sparse, m, theta, grad, units,
             coef_off, int_off, acts, deltas, act_off, hidden_act):
    """Raw gradients ``h.T @ delta`` and ``sum(delta)`` of every layer into ``grad``.

    ``deltas`` must hold the output delta at the output layer's offset. No
    penalty and no normalisation here: see :func:`finish_gradient`.
    """
    n_w = units.shape[0] - 1
    for l in range(n_w - 1, -1, -1):
        fan_in = units[l]
        fan_out = units[l + 1]
        d = layer_view(deltas, act_off[l + 1], m, fan_out)
        gw = layer_view(grad, coef_off[l], fan_in, fan_out)
        gb = grad[int_off[l] : int_off[l] + fan_out]
        if l == 0:
            if is_sparse:
                csr_rows_tdot(data, indices, indptr, rows, d, gw)
            else:
                np.dot(xb.T, d, gw)
        else:
            np.dot(layer_view(acts, act_off[l], m, fan_in).T, d, gw)
        for j in range(fan_out):
            gb[j] = 0.0
        for r in range(m):
            for j in range(fan_out):
                gb[j] += d[r, j]
        if l > 0:
            w = layer_view(theta, coef_off[l], fan_in, fan_out)
            dprev = layer_view(deltas, act_off[l], m, fan_in)
            np.dot(d, w.T, dprev)
            activation_backward(acts[act_off[l] : act_off[l] + m * fan_in],
                                deltas[act_off[l] : act_off[l] + m * fan_in],
                                m * fan_in, hidden_act)


@kernel
def squared_weight_norm(theta, units, coef_off):
    """``sum_l ||W_l||_F^2`` (biases are not penalised), accumulated in float64."""
    s = 0.0
    for p in range(coef_off[0], coef_off[units.shape[0] - 1]):
        s += theta[p] * theta[p]
    return s


@kernel
def finish_gradient(theta, grad, units, coef_off, int_off, alpha, sw_sum):
    """Turn raw gradients into ``(h.T @ delta + alpha * W) / S`` and ``sum(delta) / S``."""
    n_w = units.shape[0] - 1
    for p in range(coef_off[0], coef_off[n_w]):
        grad[p] = (grad[p] + alpha * theta[p]) / sw_sum
    for p in range(int_off[0], int_off[n_w]):
        grad[p] = grad[p] / sw_sum
