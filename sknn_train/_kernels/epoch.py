"""Whole-epoch, full-batch and prediction kernels: one compiled call each.

``hyper`` is a :class:`Hyper` of scalars already cast at the Python boundary:
solver and loss codes, Nesterov flag, learning rate, Adam's betas and epsilon,
momentum, alpha, the clipping norm (<= 0: off), the loss's clipping epsilon and
the dropout key of this epoch.
"""

import math
from collections import namedtuple

import numpy as np

from .._jit import kernel
from .losses import loss_and_delta
from .network import backward, forward, layer_view, scale_gradient
from .optim import adam_rate, adam_update, sgd_update
from .rng import mix

Hyper = namedtuple(
    "Hyper",
    "solver loss nesterov lr beta_1 beta_2 epsilon momentum alpha max_norm eps_loss key",
)

# Layout of the per-epoch diagnostics accumulator.
DIAG_NORM, DIAG_CLIPPED, DIAG_BATCHES, DIAG_LAYERS = 0, 1, 2, 3


@kernel
def gather_rows(x, rows, out):
    """``out[:m] = x[rows]`` into a reused workspace (no per-batch allocation)."""
    d = x.shape[1]
    for r in range(rows.shape[0]):
        i = rows[r]
        for j in range(d):
            out[r, j] = x[i, j]


@kernel
def clip_factor(norm, max_norm):
    """What the gradient is multiplied by: ``max_norm / norm`` when ``norm > max_norm > 0``, else 1.

    Clipping by norm keeps the direction and bounds the norm by ``max_norm``;
    the factor is applied inside the optimizer update (no pass of its own).
    """
    if max_norm > 0 and norm > max_norm:
        return max_norm / norm
    return 1.0


@kernel
def step_rate(t, hyper):
    """The learning rate of an update: Adam's bias-corrected one at step ``t``, or SGD's."""
    if hyper.solver == 1:
        return adam_rate(t, hyper.lr, hyper.beta_1, hyper.beta_2)
    return hyper.lr


@kernel
def optimizer_update(theta, grad, state1, state2, lr, gscale, hyper):
    """The solver's update at rate ``lr`` of equal-length slices of the buffers.

    The gradient is ``gscale * grad`` (see :func:`clip_factor`).
    """
    if hyper.solver == 1:
        adam_update(theta, grad, state1, state2, lr, hyper.beta_1, hyper.beta_2, hyper.epsilon,
                    gscale)
    else:
        sgd_update(theta, grad, state1, lr, hyper.momentum, hyper.nesterov, gscale)


#: Parameters finished (and updated) together by :func:`finish_gradient`: a
#: block's gradient, weights and optimizer state (4 x 32 KiB in float64) stay
#: in cache between the passes.
STEP_BLOCK = 4096


@kernel
def finish_gradient(theta, grad, net, sw_sum, layer_norms, hyper, state1, state2, lr, update):
    """Finish the raw gradients and, when ``update``, take the optimizer step too.

    Weights: ``(h.T @ delta + alpha * W) / S``; biases: ``sum(delta) / S``.
    Block by block: finish the block's gradient, add its squares to the
    layer's norm and its weights' squares to the L2 penalty (weights before
    any update), then, with ``update`` (no clipping), update the block at
    rate ``lr`` while it is in cache: the parameters and the optimizer state
    cross memory once per batch instead of twice. ``layer_norms[l]`` receives
    the norm of weight matrix ``l``'s gradient. Returns
    ``(sum_l ||W_l||^2, global gradient norm)``: the L2 penalty of the loss
    (biases are not penalised) and the norm clipping acts on. The squared
    sums are BLAS dot products: without ``reassoc`` a running sum is not
    vectorised.
    """
    consts = np.empty(3, dtype=grad.dtype)  # alpha, 1 / S and 0 in the buffer's dtype
    consts[0] = hyper.alpha
    consts[1] = 1.0 / sw_sum
    consts[2] = 0.0
    n_w = net.units.shape[0] - 1
    w2 = 0.0
    total = 0.0
    for l in range(n_w + 1):  # every weight matrix, then all biases together
        weights = l < n_w
        lo = net.coef_off[l] if weights else net.int_off[0]
        hi = net.coef_off[l + 1] if weights else net.int_off[n_w]
        s = 0.0
        b0 = lo
        while b0 < hi:
            b1 = min(b0 + STEP_BLOCK, hi)
            g = grad[b0:b1]
            w = theta[b0:b1]
            scale_gradient(g, w, consts[0] if weights else consts[2], consts[1])
            if weights:
                w2 += float(np.dot(w, w))
            s += float(np.dot(g, g))
            if update:
                optimizer_update(w, g, state1[b0:b1], state2[b0:b1], lr, 1.0, hyper)
            b0 = b1
        if weights:
            layer_norms[l] = math.sqrt(s)
        total += s
    return w2, math.sqrt(total)


@kernel
def run_epoch(x, data, indices, indptr, is_sparse, y, sw, order, batch_size, theta, grad,
              state1, state2, step, net, work, hyper, diag):
    """One epoch of minibatch training over the rows ``order`` of the training set.

    Per batch: gather rows, forward (with dropout), loss, backward, L2 term,
    norm diagnostics and clipping, optimizer step. ``step`` is a one-element
    int64 array holding Adam's step counter across calls. Batches whose sample
    weights sum to zero carry no information and are skipped. Returns
    ``sum_b loss_b * m_b`` (scikit-learn's accumulated loss).
    """
    n = order.shape[0]
    n_w = net.units.shape[0] - 1
    k = net.units[n_w]
    layer_norms = np.empty(n_w)
    acc = 0.0
    start = np.int64(0)
    batch = 0
    while start < n:
        stop = min(start + batch_size, n)
        m = stop - start
        rows = order[start:stop]
        batch_key = mix(hyper.key + np.uint64(batch))
        xm = work.xb[:m]
        if not is_sparse:
            gather_rows(x, rows, xm)
        sw_sum = 0.0
        for r in range(m):
            sw_sum += sw[rows[r]]
        if sw_sum > 0:
            forward(xm, data, indices, indptr, rows, is_sparse, m, theta, net, work,
                    batch_key, np.int64(0))
            p = layer_view(work.acts, work.act_off[n_w], m, k)
            d = layer_view(work.deltas, work.act_off[n_w], m, k)
            data_loss = loss_and_delta(p, y, sw, rows, d, hyper.loss, hyper.eps_loss)
            backward(xm, data, indices, indptr, rows, is_sparse, m, theta, grad, net, work,
                     batch_key, np.int64(0))
            if hyper.solver == 1:
                step[0] += 1
            lr = step_rate(step[0], hyper)
            # Clipping needs the global norm before any update: a second sweep.
            fused = np.int64(hyper.max_norm <= 0)
            w2, norm = finish_gradient(theta, grad, net, sw_sum, layer_norms, hyper, state1,
                                       state2, lr, fused)
            if not fused:
                gscale = clip_factor(norm, hyper.max_norm)
                if gscale < 1.0:
                    diag[DIAG_CLIPPED] += 1.0
                optimizer_update(theta, grad, state1, state2, lr, gscale, hyper)
            acc += (data_loss / sw_sum + 0.5 * hyper.alpha * w2 / sw_sum) * m
            diag[DIAG_NORM] += norm
            diag[DIAG_BATCHES] += 1.0
            for l in range(n_w):
                diag[DIAG_LAYERS + l] += layer_norms[l]
        start = stop
        batch += 1
    return acc


@kernel
def full_loss_grad(x, data, indices, indptr, is_sparse, y, sw, chunk, theta, grad,
                   grad_chunk, net, work, hyper):
    """Loss and gradient over the whole training set (for L-BFGS), in row chunks.

    Memory stays at ``chunk`` rows of activations whatever the number of rows.
    Dropout masks (only used by the gradient tests; L-BFGS refuses dropout) use
    the global row index, so the result does not depend on ``chunk``.
    """
    n = y.shape[0]
    n_w = net.units.shape[0] - 1
    k = net.units[n_w]
    total = 0.0
    sw_sum = 0.0
    for i in range(n):
        sw_sum += sw[i]
    grad[:] = 0.0
    start = np.int64(0)
    while start < n:
        stop = min(start + chunk, n)
        m = stop - start
        rows = np.arange(start, stop)
        xm = work.xb[:m]
        if not is_sparse:
            xm[:, :] = x[start:stop]
        forward(xm, data, indices, indptr, rows, is_sparse, m, theta, net, work, hyper.key,
                start)
        p = layer_view(work.acts, work.act_off[n_w], m, k)
        d = layer_view(work.deltas, work.act_off[n_w], m, k)
        total += loss_and_delta(p, y, sw, rows, d, hyper.loss, hyper.eps_loss)
        target = grad if start == 0 else grad_chunk
        backward(xm, data, indices, indptr, rows, is_sparse, m, theta, target, net, work,
                 hyper.key, start)
        if start > 0:
            for q in range(grad.shape[0]):
                grad[q] += grad_chunk[q]
        start = stop
    w2, _ = finish_gradient(theta, grad, net, sw_sum, np.empty(n_w), hyper, grad[:0], grad[:0],
                            0.0, np.int64(0))
    return total / sw_sum + 0.5 * hyper.alpha * w2 / sw_sum


EVAL_PREDICT, EVAL_ALIVE, EVAL_LOSS = 0, 1, 2


@kernel
def evaluate(x, data, indices, indptr, is_sparse, n, chunk, theta, net, work, mode, y, sw,
             loss, eps_loss, out, alive):
    """Forward passes without dropout over ``n`` rows, in row chunks.

    ``mode`` selects what is kept: ``EVAL_PREDICT`` writes the network output to
    ``out`` (n, n_outputs); ``EVAL_ALIVE`` sets ``alive[u] = 1`` for every hidden
    unit (layers concatenated) with a non-zero output on some row;
    ``EVAL_LOSS`` returns the weighted mean data loss against ``y`` / ``sw``
    (the validation loss) and, when ``out`` has ``n`` rows, also writes the
    output there (one pass gives early stopping its score and its loss). The
    input is read, never written.
    """
    for j in range(net.drop.shape[0]):
        if net.drop[j] != 0:
            raise ValueError("evaluate() runs without dropout")
    n_w = net.units.shape[0] - 1
    k = net.units[n_w]
    total = 0.0
    sw_sum = 0.0
    start = np.int64(0)
    while start < n:
        stop = min(start + chunk, n)
        m = stop - start
        rows = np.arange(start, stop)
        xm = x[start:stop] if not is_sparse else work.xb[:m]
        forward(xm, data, indices, indptr, rows, is_sparse, m, theta, net, work,
                np.uint64(0), start)
        p = layer_view(work.acts, work.act_off[n_w], m, k)
        if mode == EVAL_PREDICT:
            out[start:stop] = p
        elif mode == EVAL_LOSS:
            if out.shape[0] == n:
                out[start:stop] = p
            d = layer_view(work.deltas, work.act_off[n_w], m, k)
            total += loss_and_delta(p, y, sw, rows, d, loss, eps_loss)
            for r in range(m):
                sw_sum += sw[start + r]
        else:
            base = 0
            for j in range(1, n_w):
                width = net.units[j]
                z = layer_view(work.acts, work.act_off[j], m, width)
                seen = alive[base : base + width]
                for r in range(m):
                    for c in range(width):  # branch-free: vectorised
                        seen[c] |= z[r, c] != 0
                base += width
        start = stop
    return total / sw_sum if sw_sum > 0 else 0.0
