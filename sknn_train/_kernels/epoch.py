"""Whole-epoch, full-batch and prediction kernels: one compiled call each."""

import numpy as np

from .._jit import kernel
from .losses import loss_and_delta
from .network import (
    backward,
    finish_gradient,
    forward,
    layer_view,
    squared_weight_norm,
)
from .optim import adam_step, sgd_step


@kernel
def gather_rows(x, rows, out):
    """``out[:m] = x[rows]`` into a reused workspace (no per-batch allocation)."""
    d = x.shape[1]
    for r in range(rows.shape[0]):
        i = rows[r]
        for j in range(d):
            out[r, j] = x[i, j]


@kernel
def run_epoch(x, data, indices, indptr, is_sparse, y, sw, order, batch_size,
              theta, grad, state1, state2, step, solver, lr, beta_1, beta_2, eps_adam,
              momentum, nesterov, units, coef_off, int_off, hidden_act, out_act, loss,
              alpha, eps_loss, xb, acts, deltas, act_off):
    """One epoch of minibatch training over the rows ``order`` of the training set.

    Per batch: gather rows, forward, loss, backward, L2 term, optimizer step.
    ``step`` is a one-element int64 array holding Adam's step counter across
    calls. Returns ``sum_b loss_b * m_b`` (scikit-learn's accumulated loss).
    """
    n = order.shape[0]
    n_w = units.shape[0] - 1
    k = units[n_w]
    acc = 0.0
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        m = stop - start
        rows = order[start:stop]
        xm = xb[:m]
        if not is_sparse:
            gather_rows(x, rows, xm)
        forward(xm, data, indices, indptr, rows, is_sparse, m, theta, units, coef_off,
                int_off, acts, act_off, hidden_act, out_act)
        p = layer_view(acts, act_off[n_w], m, k)
        d = layer_view(deltas, act_off[n_w], m, k)
        sw_sum = 0.0
        for r in range(m):
            sw_sum += sw[rows[r]]
        batch_loss = loss_and_delta(p, y, sw, rows, d, loss, eps_loss) / sw_sum
        batch_loss += 0.5 * alpha * squared_weight_norm(theta, units, coef_off) / sw_sum
        acc += batch_loss * m
        backward(xm, data, indices, indptr, rows, is_sparse, m, theta, grad, units,
                 coef_off, int_off, acts, deltas, act_off, hidden_act)
        finish_gradient(theta, grad, units, coef_off, int_off, alpha, sw_sum)
        if solver == 1:
            step[0] += 1
            adam_step(theta, grad, state1, state2, step[0], lr, beta_1, beta_2, eps_adam)
        else:
            sgd_step(theta, grad, state1, lr, momentum, nesterov)
        start = stop
    return acc


@kernel
def full_loss_grad(x, data, indices, indptr, is_sparse, y, sw, chunk, theta, grad,
                   grad_chunk, units, coef_off, int_off, hidden_act, out_act, loss,
                   alpha, eps_loss, xb, acts, deltas, act_off):
    """Loss and gradient over the whole training set (for L-BFGS), in row chunks.

    Memory stays at ``chunk`` rows of activations whatever the number of rows.
    """
    n = y.shape[0]
    n_w = units.shape[0] - 1
    k = units[n_w]
    total = 0.0
    sw_sum = 0.0
    for i in range(n):
        sw_sum += sw[i]
    grad[:] = 0.0
    start = 0
    while start < n:
        stop = min(start + chunk, n)
        m = stop - start
        rows = np.arange(start, stop)
        xm = x[start:stop] if not is_sparse else xb[:m]
        forward(xm, data, indices, indptr, rows, is_sparse, m, theta, units, coef_off,
                int_off, acts, act_off, hidden_act, out_act)
        p = layer_view(acts, act_off[n_w], m, k)
        d = layer_view(deltas, act_off[n_w], m, k)
        total += loss_and_delta(p, y, sw, rows, d, loss, eps_loss)
        target = grad if start == 0 else grad_chunk
        backward(xm, data, indices, indptr, rows, is_sparse, m, theta, target, units,
                 coef_off, int_off, acts, deltas, act_off, hidden_act)
        if start > 0:
            for q in range(grad.shape[0]):
                grad[q] += grad_chunk[q]
        start = stop
    finish_gradient(theta, grad, units, coef_off, int_off, alpha, sw_sum)
    return total / sw_sum + 0.5 * alpha * squared_weight_norm(theta, units, coef_off) / sw_sum


@kernel
def predict(x, data, indices, indptr, is_sparse, n, chunk, theta, units, coef_off,
            int_off, hidden_act, out_act, xb, acts, act_off, out):
    """Network output for ``n`` rows into ``out`` (n, n_outputs), in row chunks."""
    n_w = units.shape[0] - 1
    k = units[n_w]
    start = 0
    while start < n:
        stop = min(start + chunk, n)
        m = stop - start
        rows = np.arange(start, stop)
        xm = x[start:stop] if not is_sparse else xb[:m]
        forward(xm, data, indices, indptr, rows, is_sparse, m, theta, units, coef_off,
                int_off, acts, act_off, hidden_act, out_act)
        out[start:stop] = layer_view(acts, act_off[n_w], m, k)
        start = stop
