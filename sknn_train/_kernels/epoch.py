"""One compiled pass over the rows of a data set: a training epoch, a full-batch
loss and gradient, or an evaluation.

Every pass is the same loop (take the next batch or chunk of rows, forward,
then what the pass needs), so the three are one compiled function,
:func:`run_pass`, chosen by a pass code: its callees are linked, optimised and
turned into machine code once per dtype instead of once per entry point,
which is most of the compile time of a first fit. :func:`run_epoch`,
:func:`full_loss_grad` and :func:`evaluate` are the plain-Python faces of the
three passes.

``hyper`` is a :class:`Hyper` of scalars already cast at the Python boundary:
solver and loss codes, Nesterov flag, learning rate, Adam's betas and epsilon,
momentum, alpha, the clipping norm (<= 0: off), the loss's clipping epsilon and
the dropout key of this epoch.
"""

import math
from collections import namedtuple

import numpy as np

from .._jit import compile_once, entry, kernel
from .blas import address, as_dtype_of, dot
from .losses import loss_and_delta
from .network import (
    add_block,
    backward,
    chain_input_scale,
    copy_block,
    forward,
    layer_view,
    scale_block,
    scale_gradient,
)
from .optim import (
    ADAM,
    NO_SCHEDULE,
    SGD,
    adam_rate,
    adam_update,
    decay_weights,
    scheduled_rate,
    sgd_update,
)
from .rng import mix

Hyper = namedtuple(
    "Hyper",
    "solver loss nesterov lr beta_1 beta_2 epsilon momentum alpha max_norm eps_loss key "
    "schedule warmup total_steps weight_decay scale_lr",
)


def make_hyper(
    *,
    loss,
    eps_loss,
    solver=SGD,
    lr=0.0,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-8,
    momentum=0.9,
    nesterov=True,
    alpha=0.0,
    max_norm=None,
    key=0,
    schedule=NO_SCHEDULE,
    warmup=0.0,
    total_steps=1.0,
    weight_decay=0.0,
    scale_lr=1.0,
):
    """A :class:`Hyper` with every field cast to the type :func:`run_pass` is compiled for.

    The one builder of the tuple: another field type (an int learning rate, a
    Python int key) would compile another signature. ``max_norm=None`` turns
    clipping off. ``schedule`` / ``warmup`` / ``total_steps``: the learning-rate
    schedule over ``total_steps`` updates (``optim.scheduled_rate``);
    ``weight_decay``: the decoupled decay of the weight matrices;
    ``scale_lr``: the learning-rate multiplier of the input scaling.
    """
    return Hyper(
        solver=np.int64(solver),
        loss=np.int64(loss),
        nesterov=bool(nesterov),
        lr=float(lr),
        beta_1=float(beta_1),
        beta_2=float(beta_2),
        epsilon=float(epsilon),
        momentum=float(momentum),
        alpha=float(alpha),
        max_norm=0.0 if max_norm is None else float(max_norm),
        eps_loss=float(eps_loss),
        key=np.uint64(key),
        schedule=np.int64(schedule),
        warmup=float(warmup),
        total_steps=float(max(total_steps, 1.0)),
        weight_decay=float(weight_decay),
        scale_lr=float(scale_lr),
    )


#: Odd 64-bit constant spreading the ensemble members' dropout keys (member 0
#: keeps the single network's).
MEMBER_STRIDE = np.uint64(0xD1B54A32D192ED03)

# Layout of the per-epoch diagnostics accumulator.
DIAG_NORM, DIAG_CLIPPED, DIAG_BATCHES, DIAG_LAYERS = 0, 1, 2, 3

# Pass codes of run_pass; evaluate() takes the last three.
PASS_TRAIN = 0  # one epoch of minibatch steps
PASS_GRADIENT = 1  # full-batch loss and gradient (L-BFGS)
PASS_PREDICT = 2  # network outputs
PASS_LOSS = 3  # mean data loss (and outputs): early stopping's validation
PASS_ALIVE = 4  # which hidden units ever output a non-zero value


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


@kernel(inline=True)
def step_rate(t, hyper):
    """The rate of update ``t`` (1 first): the scheduled rate, and Adam's bias-corrected one.

    Returns ``(rate, scheduled)``: ``scheduled`` is the rate before Adam's bias
    correction, the one decoupled weight decay uses (SPEC 4.2).
    """
    scheduled = scheduled_rate(hyper.lr, t - 1, hyper.total_steps, hyper.schedule, hyper.warmup)
    if hyper.solver == ADAM:
        return adam_rate(t, scheduled, hyper.beta_1, hyper.beta_2), scheduled
    return scheduled, scheduled


@kernel
def optimizer_update(theta, grad, state1, state2, lr, gscale, hyper):
    """The solver's update at rate ``lr`` of equal-length slices of the buffers.

    The gradient is ``gscale * grad`` (see :func:`clip_factor`).
    """
    if hyper.solver == ADAM:
        adam_update(
            theta, grad, state1, state2, lr, hyper.beta_1, hyper.beta_2, hyper.epsilon, gscale
        )
    else:
        sgd_update(theta, grad, state1, lr, hyper.momentum, hyper.nesterov, gscale)


#: Parameters finished (and updated) together by :func:`finish_gradient`: a
#: block's gradient, weights and optimizer state (4 x 32 KiB in float64) stay
#: in cache between the passes.
STEP_BLOCK = 4096


@kernel
def finish_gradient(
    theta, grad, net, sw_sum, layer_norms, hyper, state1, state2, lr, decay, update
):
    """Finish the raw gradients and, when ``update``, take the optimizer step too.

    Weights: ``(h.T @ delta + alpha * W) / S``; biases: ``sum(delta) / S``.
    Block by block: finish the block's gradient, add its squares to the
    layer's norm and its weights' squares to the L2 penalty (weights before
    any update), then, with ``update`` (no clipping), multiply a weight
    block by ``decay`` (decoupled weight decay; 1: none) and update the block
    at rate ``lr`` while it is in cache: the parameters and the optimizer state
    cross memory once per batch instead of twice. ``layer_norms[l]`` is added
    the norm of weight matrix ``l``'s gradient. Returns
    ``(sum_l ||W_l||^2, global gradient norm)``: the L2 penalty of the loss
    (biases are not penalised) and the norm clipping acts on. The squared
    sums are BLAS dot products: without ``reassoc`` a running sum is not
    vectorised.
    """
    alpha = as_dtype_of(hyper.alpha, grad)
    inv = as_dtype_of(1.0 / sw_sum, grad)
    zero = as_dtype_of(0.0, grad)
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
            b1 = b0 + STEP_BLOCK if b0 + STEP_BLOCK < hi else hi
            g = grad[b0:b1]
            w = theta[b0:b1]
            scale_gradient(g, w, alpha if weights else zero, inv)
            if weights:
                w2 += float(dot(b1 - b0, address(w, 0), address(w, 0)))
            s += float(dot(b1 - b0, address(g, 0), address(g, 0)))
            if update:
                if weights and decay != 1.0:
                    decay_weights(w, as_dtype_of(decay, w))
                optimizer_update(w, g, state1[b0:b1], state2[b0:b1], lr, 1.0, hyper)
            b0 = b1
        if weights:
            layer_norms[l] += math.sqrt(s)
        total += s
    so = net.scale_off[0]
    if so >= 0:  # input scaling: no penalty, no decay, its own rate
        hi = so + net.units[0]
        g = grad[so:hi]
        w = theta[so:hi]
        scale_gradient(g, w, zero, inv)
        total += float(dot(hi - so, address(g, 0), address(g, 0)))
        if update:
            optimizer_update(w, g, state1[so:hi], state2[so:hi], lr * hyper.scale_lr, 1.0, hyper)
    return w2, math.sqrt(total)


@kernel(inline=True)
def mark_alive(work, net, m, alive):
    """``alive[u] = 1`` for every hidden unit (layers concatenated) with a
    non-zero output on one of the ``m`` rows in ``work``."""
    base = 0
    for j in range(1, net.units.shape[0] - 1):
        width = net.units[j]
        z = layer_view(work.acts, work.act_off[j], m, width)
        seen = alive[base : base + width]
        for r in range(m):
            for c in range(width):  # branch-free: vectorised
                seen[c] |= z[r, c] != 0
        base += width


@kernel
def take_step(theta, grad, state1, state2, step, net, sw_sum, hyper, diag):
    """Finish the batch's gradient, clip it and take the optimizer step.

    Returns the batch's L2 penalty ``sum_l ||W_l||^2`` (weights before the step).
    """
    step[0] += 1  # updates taken: Adam's bias correction and the schedule's progress
    lr, scheduled = step_rate(step[0], hyper)
    decay = 1.0 - scheduled * hyper.weight_decay
    # Clipping needs the global norm before any update: a second sweep.
    fused = np.int64(hyper.max_norm <= 0)
    w2, norm = finish_gradient(
        theta, grad, net, sw_sum, diag[DIAG_LAYERS:], hyper, state1, state2, lr, decay, fused
    )
    if not fused:
        clipped_step(
            theta,
            grad,
            state1,
            state2,
            net,
            lr,
            decay,
            clip_factor(norm, hyper.max_norm),
            hyper,
            diag,
        )
    diag[DIAG_NORM] += norm
    diag[DIAG_BATCHES] += 1.0
    return w2


@kernel
def clipped_step(theta, grad, state1, state2, net, lr, decay, gscale, hyper, diag):
    """The optimizer step on a finished gradient multiplied by ``gscale`` (< 1: clipped)."""
    if gscale < 1.0:
        diag[DIAG_CLIPPED] += 1.0
    if decay != 1.0:
        decay_weights(theta[: net.int_off[0]], as_dtype_of(decay, theta))
    so = net.scale_off[0]
    if so < 0:
        optimizer_update(theta, grad, state1, state2, lr, gscale, hyper)
    else:  # the input scaling at its own rate
        optimizer_update(theta[:so], grad[:so], state1[:so], state2[:so], lr, gscale, hyper)
        optimizer_update(
            theta[so:], grad[so:], state1[so:], state2[so:], lr * hyper.scale_lr, gscale, hyper
        )


@kernel(inline=True)
def member_slice(buffer, member, ensemble):
    """Ensemble member ``member``'s slice of a parameter-sized buffer (an empty one
    stays empty); the whole buffer of a single network (``ensemble`` None)."""
    if ensemble is None:
        return buffer
    if buffer.shape[0] == 0:
        return buffer
    lo = member * ensemble.size
    return buffer[lo : lo + ensemble.size]


@kernel
def member_step(theta, grad, state1, state2, step, member, ensemble, net, sw_sum, hyper, diag):
    """:func:`take_step` of ensemble member ``member`` on its slices of the buffers."""
    return take_step(
        member_slice(theta, member, ensemble),
        member_slice(grad, member, ensemble),
        member_slice(state1, member, ensemble),
        member_slice(state2, member, ensemble),
        step[member : member + 1],
        net,
        sw_sum,
        hyper,
        diag,
    )


@kernel
def tied_steps(theta, grad, state1, state2, step, ensemble, net, sw_sum, hyper, diag):
    """Every member's step of a batch ensemble, after :func:`tie_gradients`.

    Returns the members' summed L2 penalties. Without clipping each member
    steps as a network of its own. Clipping multiplies every member's
    gradient by one factor, from the root mean square of the members'
    gradient norms: a factor per member would update the shared copies
    differently and untie them. (One member would be clipped by its own norm,
    as a single network is.)
    """
    n_members = ensemble.count
    w2 = 0.0
    if hyper.max_norm <= 0:
        for member in range(n_members):
            w2 += member_step(
                theta, grad, state1, state2, step, member, ensemble, net, sw_sum, hyper, diag
            )
        return w2
    squares = 0.0
    for member in range(n_members):  # finish every gradient first: the factor needs them all
        w2_k, norm = finish_gradient(
            member_slice(theta, member, ensemble),
            member_slice(grad, member, ensemble),
            net,
            sw_sum,
            diag[DIAG_LAYERS:],
            hyper,
            member_slice(state1, member, ensemble),
            member_slice(state2, member, ensemble),
            0.0,
            1.0,
            np.int64(0),
        )
        w2 += w2_k
        squares += norm * norm
        diag[DIAG_NORM] += norm
        diag[DIAG_BATCHES] += 1.0
    gscale = clip_factor(math.sqrt(squares / n_members), hyper.max_norm)
    for member in range(n_members):
        step[member] += 1
        lr, scheduled = step_rate(step[member], hyper)
        clipped_step(
            member_slice(theta, member, ensemble),
            member_slice(grad, member, ensemble),
            member_slice(state1, member, ensemble),
            member_slice(state2, member, ensemble),
            net,
            lr,
            1.0 - scheduled * hyper.weight_decay,
            gscale,
            hyper,
            diag,
        )
    return w2


@kernel
def tie_gradients(grad, ensemble):
    """A batch ensemble's shared parameters: every member's gradient becomes their mean.

    The members hold copies of the shared weights (``shared_weights_end``
    values from the start of a member's slice: every weight matrix but the
    output layer's) and biases (``shared_biases_lo:shared_biases_hi``); the
    same gradient and the same optimizer state give every copy the same
    update, so they stay equal.
    """
    n_members = ensemble.count
    size_member = ensemble.size
    inv = as_dtype_of(1.0 / n_members, grad)
    shared = (
        (np.int64(0), ensemble.shared_weights_end),
        (ensemble.shared_biases_lo, ensemble.shared_biases_hi),
    )
    for lo, hi in shared:
        for q in range(lo, hi):
            total = grad[q]
            for member in range(1, n_members):
                total += grad[member * size_member + q]
            total *= inv
            for member in range(n_members):
                grad[member * size_member + q] = total


@entry
def run_pass(
    task,
    x,
    data,
    indices,
    indptr,
    is_sparse,
    n,
    y,
    sw,
    order,
    size,
    theta,
    grad,
    state1,
    state2,
    step,
    net,
    ensemble,
    work,
    hyper,
    diag,
    out,
    alive,
):
    """Run one pass over the rows ``order`` in batches (or chunks) of ``size`` rows.

    ``task`` says which pass; every pass but training takes ``order =
    arange(n)``: its chunks are contiguous and dense input is read in place.
    The working dtype is ``theta``'s: every float array but ``diag`` has it.

    ``PASS_TRAIN``: one epoch of minibatch steps over the rows ``order`` (per
    batch: gather, forward with dropout, loss, backward, L2 term, norm
    diagnostics into ``diag``, clipping, optimizer step; batches whose sample
    weights sum to zero carry no information and are skipped).

    ``PASS_GRADIENT``: loss and gradient (into ``grad``) over all ``n`` rows
    for L-BFGS; memory stays at ``size`` rows of activations whatever ``n``.
    Dropout masks (only used by the gradient tests; L-BFGS refuses dropout)
    use the global row index, so the result does not depend on ``size``.

    ``PASS_PREDICT`` / ``PASS_LOSS`` / ``PASS_ALIVE``: forward passes without
    dropout. Predict writes the network output to ``out``; loss returns the
    weighted mean data loss against ``y`` / ``sw`` and, when ``out`` has ``n``
    rows, writes the output there too (one pass gives early stopping its score
    and its loss); alive marks the hidden units with a non-zero output on some
    row (see :func:`mark_alive`). The input is read, never written.

    Arrays a pass does not use are empty placeholders of the same dtype and
    number of dimensions (one compiled signature per dtype).

    Parameters
    ----------
    task : int
        The pass: ``PASS_TRAIN``, ``PASS_GRADIENT``, ``PASS_PREDICT``,
        ``PASS_LOSS`` or ``PASS_ALIVE``.
    x : ndarray of shape (n_rows, n_features), float32 or float64
        Dense input, C-contiguous; an empty ``(0, n_features)`` placeholder
        when ``is_sparse``.
    data : ndarray of shape (nnz,), float32 or float64
        Values of the CSR input; empty for dense input.
    indices : ndarray of shape (nnz,), int64
        Column index of each value of the CSR input; a one-element
        placeholder for dense input.
    indptr : ndarray of shape (n_rows + 1,), int64
        Row pointers of the CSR input; a one-element placeholder for dense
        input.
    is_sparse : bool
        Whether the input is ``(data, indices, indptr)`` rather than ``x``.
    n : int
        Number of rows of the pass: the first ``n`` entries of ``order``.
    y : ndarray of shape (n_rows, n_outputs), float32 or float64
        Targets (the indicator matrix of a classifier), indexed by row
        number; read by ``PASS_TRAIN``, ``PASS_GRADIENT`` and ``PASS_LOSS``.
    sw : ndarray of shape (n_rows,), float32 or float64
        Sample weights, indexed by row number; read where ``y`` is.
    order : ndarray of shape (n,), int64
        Row numbers in the order the pass visits them; ``arange(n)`` for
        every pass but training. Never written.
    size : int
        Rows per minibatch (training) or per chunk (the other passes).
    theta : ndarray of shape (n_params,), float32 or float64
        Flat parameter buffer, every weight matrix then every bias vector
        (see :class:`~sknn_train._layout.Layout`); ``PASS_TRAIN`` updates it
        in place. An ensemble (``ensemble.count = K``, ``ensemble.size =
        P``) holds K such buffers of P values one after the other: training
        runs every member on each batch (a batch ensemble's shared slices of
        the gradient tied to their mean before the steps,
        :func:`tie_gradients`), evaluations use the members' mean output,
        ``PASS_GRADIENT`` returns the sum of the members' losses.
    grad : ndarray of shape (n_params,), float32 or float64
        Gradient buffer: ``PASS_GRADIENT`` leaves the gradient of the
        returned loss in it, ``PASS_TRAIN`` uses it batch by batch.
    state1 : ndarray of shape (n_params,), float32 or float64
        SGD's velocities or Adam's first moments, updated by ``PASS_TRAIN``.
    state2 : ndarray of shape (n_params,), float32 or float64
        Adam's second moments, updated by ``PASS_TRAIN``; empty for SGD.
    step : ndarray of shape (n_members,), int64
        Each member's count of updates taken, carried across calls.
    net : Net
        The network (:class:`~sknn_train._kernels.network.Net`): int64
        arrays of shape ``(n_layers,)`` for the widths, offsets in ``theta``,
        activation codes and residual wiring, and float64 dropout rates.
    ensemble : Members or None
        The ensemble's layout (:class:`~sknn_train._kernels.network.Members`:
        int64 counts and offsets); None for a single network, which numba
        then compiles without the members' loop, ties and means.
    work : Work
        Workspace buffers for batches of at most ``size`` rows
        (:class:`~sknn_train._kernels.network.Work`, made by
        :func:`~sknn_train._workspace.make_work`).
    hyper : Hyper
        Solver and loss codes and scalars (see :func:`make_hyper`).
    diag : ndarray of shape (3 + n_layers - 1,), float64
        Per-epoch diagnostics that ``PASS_TRAIN`` adds to: summed gradient
        norm, clipped batches, batches (``DIAG_NORM``, ``DIAG_CLIPPED``,
        ``DIAG_BATCHES``), then from ``DIAG_LAYERS`` the summed gradient norm
        of each weight matrix.
    out : ndarray of shape (n, n_outputs), float32 or float64
        Receives the network outputs (``PASS_PREDICT``, and ``PASS_LOSS``
        when it has ``n`` rows).
    alive : ndarray of shape (n_hidden_units,), uint8
        ``PASS_ALIVE`` sets ``alive[u] = 1`` for every hidden unit (layers
        concatenated) with a non-zero output on some row.

    Returns
    -------
    float
        ``PASS_TRAIN``: ``sum_b loss_b * m_b`` over the batches (loss with the
        L2 term, times the batch's rows), scikit-learn's accumulated loss;
        ``PASS_GRADIENT``: the weighted mean loss plus the L2 term;
        ``PASS_LOSS``: the weighted mean data loss; 0.0 for the others.
    """
    training = task == PASS_TRAIN
    gradient = task == PASS_GRADIENT
    evaluating = not (training or gradient)
    if evaluating:
        for j in range(net.drop.shape[0]):
            if net.drop[j] != 0:
                raise ValueError("evaluations run without dropout")
    n_w = net.units.shape[0] - 1
    k = net.units[n_w]
    n_members = 1
    if ensemble is not None:
        n_members = ensemble.count
    n_hidden = 0
    for j in range(1, n_w):
        n_hidden += net.units[j]
    # Rows are copied into the workspace when they are not a contiguous range
    # or when input dropout writes to them; otherwise the input is read in place.
    copy = (training or net.drop[0] > 0) and not is_sparse
    acc = 0.0
    total_sw = 0.0
    if gradient:
        for q in range(grad.shape[0]):
            grad[q] = 0.0
    start = np.int64(0)
    batch = np.uint64(0)
    while start < n:
        stop = start + size if start + size < n else n
        m = stop - start
        rows = order[start:stop]
        if training:
            key = mix(hyper.key + batch)
            row0 = np.int64(0)
        else:
            key = hyper.key
            row0 = start
        batch += np.uint64(1)
        start = stop
        xm = work.xb[:m]
        if not copy and not is_sparse:
            xm = x[row0 : row0 + m]
        sw_sum = 0.0
        if not task == PASS_PREDICT and not task == PASS_ALIVE:
            for r in range(m):
                sw_sum += sw[rows[r]]
            if training and not sw_sum > 0:
                continue
        total_sw += sw_sum
        # The members one after the other, on the same rows; each has its own
        # slice of the buffers, dropout masks and step counter.
        for member in range(n_members):
            theta_k = member_slice(theta, member, ensemble)
            key_k = key if member == 0 else mix(key + np.uint64(member) * MEMBER_STRIDE)
            # once, or per member when input dropout wrote to the copy
            if copy and (member == 0 or net.drop[0] > 0):
                if training:
                    gather_rows(x, rows, xm)
                else:
                    copy_block(x[row0 : row0 + m], xm)
            forward(xm, data, indices, indptr, rows, is_sparse, m, theta_k, net, work, key_k, row0)
            p = layer_view(work.acts, work.act_off[n_w], m, k)
            if task == PASS_ALIVE:
                mark_alive(work, net, m, alive[member * n_hidden : (member + 1) * n_hidden])
                continue
            if evaluating:
                if ensemble is not None:  # the ensemble's output is the members' mean
                    if member == 0:
                        copy_block(p, work.mean[:m])
                    else:
                        add_block(p, work.mean[:m])
                continue
            grad_k = member_slice(grad, member, ensemble)
            d = layer_view(work.deltas, work.act_off[n_w], m, k)
            data_loss = loss_and_delta(p, y, sw, rows, d, hyper.loss, hyper.eps_loss)
            backward(
                xm,
                data,
                indices,
                indptr,
                rows,
                is_sparse,
                m,
                theta_k,
                grad_k,
                net,
                work,
                key_k,
                row0,
                gradient,
            )
            if gradient:
                acc += data_loss
                continue
            if net.scale_off[0] >= 0:
                chain_input_scale(theta_k, grad_k, net)
            if ensemble is None:
                w2 = take_step(theta, grad, state1, state2, step, net, sw_sum, hyper, diag)
                acc += (data_loss / sw_sum + 0.5 * hyper.alpha * w2 / sw_sum) * m
                continue
            if ensemble.shared_weights_end > 0:  # tied: the step waits for every member
                acc += data_loss / sw_sum * m / n_members
                continue
            w2 = member_step(
                theta, grad, state1, state2, step, member, ensemble, net, sw_sum, hyper, diag
            )
            # the objective is the mean of the members' losses
            acc += (data_loss / sw_sum + 0.5 * hyper.alpha * w2 / sw_sum) * m / n_members
        if training and ensemble is not None:
            if ensemble.shared_weights_end > 0:
                tie_gradients(grad, ensemble)
                w2 = tied_steps(
                    theta, grad, state1, state2, step, ensemble, net, sw_sum, hyper, diag
                )
                acc += 0.5 * hyper.alpha * w2 / sw_sum * m / n_members
        if not evaluating or task == PASS_ALIVE:
            continue
        p = layer_view(work.acts, work.act_off[n_w], m, k)
        if ensemble is not None:
            p = work.mean[:m]
            scale_block(p, as_dtype_of(1.0 / n_members, theta))
        if task == PASS_PREDICT or out.shape[0] == n:
            copy_block(p, out[row0 : row0 + m])
            if task == PASS_PREDICT:
                continue
        d = layer_view(work.deltas, work.act_off[n_w], m, k)
        acc += loss_and_delta(p, y, sw, rows, d, hyper.loss, hyper.eps_loss)
    if gradient:
        # each member's gradient is its own loss's: the pass returns their sum
        loss = 0.0
        for member in range(n_members):
            theta_k = member_slice(theta, member, ensemble)
            grad_k = member_slice(grad, member, ensemble)
            if net.scale_off[0] >= 0:  # linear in the accumulated gradient: once, at the end
                chain_input_scale(theta_k, grad_k, net)
            w2, _ = finish_gradient(
                theta_k,
                grad_k,
                net,
                total_sw,
                diag[DIAG_LAYERS:],
                hyper,
                grad[:0],
                grad[:0],
                0.0,
                1.0,
                np.int64(0),
            )
            loss += 0.5 * hyper.alpha * w2 / total_sw
        return acc / total_sw + loss
    if task == PASS_LOSS:
        return acc / total_sw if total_sw > 0 else 0.0
    return acc


# ----------------------------------------------------------------- from Python
# The three passes as plain functions; arguments a pass does not use are
# empty placeholders of the right types (one compiled signature per dtype).


def run_epoch(
    x,
    data,
    indices,
    indptr,
    is_sparse,
    y,
    sw,
    order,
    batch_size,
    theta,
    grad,
    state1,
    state2,
    step,
    net,
    work,
    hyper,
    diag,
    ensemble=None,
):
    """Run one epoch of minibatch training over the rows ``order`` (see :func:`run_pass`).

    Every batch is gathered, passed forward (with dropout) and backward, its
    gradient finished (L2 term, norms), clipped and stepped by the optimizer:
    ``theta``, ``state1``, ``state2``, ``step`` and ``diag`` are updated in
    place.

    Parameters
    ----------
    x : ndarray of shape (n_rows, n_features), float32 or float64
        Dense input in the working dtype (``theta``'s), C-contiguous; an
        empty ``(0, n_features)`` placeholder when ``is_sparse``.
    data : ndarray of shape (nnz,), float32 or float64
        Values of the CSR input; empty for dense input.
    indices : ndarray of shape (nnz,), int64
        Column index of each value of the CSR input; a one-element
        placeholder for dense input.
    indptr : ndarray of shape (n_rows + 1,), int64
        Row pointers of the CSR input; a one-element placeholder for dense
        input.
    is_sparse : bool
        Whether the input is ``(data, indices, indptr)`` rather than ``x``.
    y : ndarray of shape (n_rows, n_outputs), float32 or float64
        Targets (the indicator matrix of a classifier) of every row.
    sw : ndarray of shape (n_rows,), float32 or float64
        Sample weights of every row.
    order : ndarray of shape (n_train,), int64
        The rows of this epoch in the order they are visited (a permutation
        of the training rows); never written.
    batch_size : int
        Rows per minibatch; the last batch of the epoch may be smaller.
    theta : ndarray of shape (n_params,), float32 or float64
        Flat parameter buffer (see :class:`~sknn_train._layout.Layout`),
        updated in place.
    grad : ndarray of shape (n_params,), float32 or float64
        Gradient buffer, overwritten batch by batch.
    state1 : ndarray of shape (n_params,), float32 or float64
        SGD's velocities or Adam's first moments.
    state2 : ndarray of shape (n_params,), float32 or float64
        Adam's second moments; empty for SGD.
    step : ndarray of shape (1,), int64
        Adam's step counter, carried across epochs and calls.
    net : Net
        The network with its dropout rates
        (:class:`~sknn_train._kernels.network.Net`).
    work : Work
        Workspace for batches of ``batch_size`` rows with room for the
        gathered input (:func:`~sknn_train._workspace.make_work` with
        ``gather=True`` for dense input).
    hyper : Hyper
        Solver, loss, learning rate of this epoch and dropout key (see
        :func:`make_hyper`).
    diag : ndarray of shape (3 + n_layers - 1,), float64
        Zeros on entry; the epoch adds the summed gradient norm, the clipped
        batches, the batches and each weight matrix's summed gradient norm
        (``DIAG_*`` offsets).
    ensemble : Members or None, default=None
        The ensemble's layout (:class:`~sknn_train._kernels.network.Members`);
        None for a single network (see :func:`run_pass`).

    Returns
    -------
    float
        ``sum_b loss_b * m_b``: each batch's mean loss with the L2 term times
        its rows, scikit-learn's accumulated loss.
    """
    _, empty_2d = _empty(theta.dtype)
    return _run(
        PASS_TRAIN,
        x,
        data,
        indices,
        indptr,
        is_sparse,
        order.shape[0],
        y,
        sw,
        order,
        batch_size,
        theta,
        grad,
        state1,
        state2,
        step,
        net,
        ensemble,
        work,
        hyper,
        diag,
        empty_2d,
        _NO_UNITS,
    )


def full_loss_grad(
    x, data, indices, indptr, is_sparse, y, sw, chunk, theta, grad, net, work, hyper, ensemble=None
):
    """Compute the loss and its gradient over the whole training set, for L-BFGS.

    The rows are visited in contiguous chunks of ``chunk`` rows, so memory
    stays at one chunk of activations whatever the number of rows.

    Parameters
    ----------
    x : ndarray of shape (n_rows, n_features), float32 or float64
        Dense input in the working dtype (``theta``'s), C-contiguous; an
        empty ``(0, n_features)`` placeholder when ``is_sparse``.
    data : ndarray of shape (nnz,), float32 or float64
        Values of the CSR input; empty for dense input.
    indices : ndarray of shape (nnz,), int64
        Column index of each value of the CSR input; a one-element
        placeholder for dense input.
    indptr : ndarray of shape (n_rows + 1,), int64
        Row pointers of the CSR input; a one-element placeholder for dense
        input.
    is_sparse : bool
        Whether the input is ``(data, indices, indptr)`` rather than ``x``.
    y : ndarray of shape (n_rows, n_outputs), float32 or float64
        Targets (the indicator matrix of a classifier) of every row.
    sw : ndarray of shape (n_rows,), float32 or float64
        Sample weights of every row.
    chunk : int
        Rows per chunk.
    theta : ndarray of shape (n_params,), float32 or float64
        Flat parameter buffer (see :class:`~sknn_train._layout.Layout`); read
        only.
    grad : ndarray of shape (n_params,), float32 or float64
        Receives the gradient of the returned loss.
    net : Net
        The network (:class:`~sknn_train._kernels.network.Net`).
    work : Work
        Workspace for chunks of ``chunk`` rows
        (:func:`~sknn_train._workspace.make_work`).
    hyper : Hyper
        Loss code, its clipping bound and ``alpha`` (see :func:`make_hyper`).
    ensemble : Members or None, default=None
        The ensemble's layout (:class:`~sknn_train._kernels.network.Members`);
        None for a single network (see :func:`run_pass`).

    Returns
    -------
    float
        The weighted mean loss over all rows plus the L2 term
        ``alpha / (2 S) * sum_l ||W_l||^2``.
    """
    empty, empty_2d = _empty(theta.dtype)
    n = y.shape[0]
    diag = np.zeros(DIAG_LAYERS + net.units.shape[0])
    return _run(
        PASS_GRADIENT,
        x,
        data,
        indices,
        indptr,
        is_sparse,
        n,
        y,
        sw,
        _all_rows(n),
        chunk,
        theta,
        grad,
        empty,
        empty,
        _NO_STEP,
        net,
        ensemble,
        work,
        hyper,
        diag,
        empty_2d,
        _NO_UNITS,
    )


def evaluate(
    x,
    data,
    indices,
    indptr,
    is_sparse,
    n,
    chunk,
    theta,
    net,
    work,
    mode,
    y,
    sw,
    loss,
    eps_loss,
    out,
    alive,
    ensemble=None,
):
    """Evaluate the network without dropout on ``n`` rows, in chunks (see :func:`run_pass`).

    ``mode`` chooses what is computed: ``PASS_PREDICT`` the outputs,
    ``PASS_LOSS`` the weighted mean loss against ``y`` / ``sw`` (and the
    outputs, when ``out`` has ``n`` rows), ``PASS_ALIVE`` which hidden units
    output a non-zero value on some row. The input is never written.

    Parameters
    ----------
    x : ndarray of shape (n_rows, n_features), float32 or float64
        Dense input in the working dtype (``theta``'s), C-contiguous; an
        empty ``(0, n_features)`` placeholder when ``is_sparse``.
    data : ndarray of shape (nnz,), float32 or float64
        Values of the CSR input; empty for dense input.
    indices : ndarray of shape (nnz,), int64
        Column index of each value of the CSR input; a one-element
        placeholder for dense input.
    indptr : ndarray of shape (n_rows + 1,), int64
        Row pointers of the CSR input; a one-element placeholder for dense
        input.
    is_sparse : bool
        Whether the input is ``(data, indices, indptr)`` rather than ``x``.
    n : int
        Number of rows.
    chunk : int
        Rows per chunk.
    theta : ndarray of shape (n_params,), float32 or float64
        Flat parameter buffer (see :class:`~sknn_train._layout.Layout`).
    net : Net
        The network, without dropout
        (:class:`~sknn_train._kernels.network.Net`).
    work : Work
        Workspace for chunks of ``chunk`` rows
        (:func:`~sknn_train._workspace.make_work`).
    mode : int
        ``PASS_PREDICT``, ``PASS_LOSS`` or ``PASS_ALIVE``.
    y : ndarray of shape (n, n_outputs), float32 or float64, or None
        Targets, for ``PASS_LOSS``; None otherwise.
    sw : ndarray of shape (n,), float32 or float64, or None
        Sample weights, for ``PASS_LOSS``; None otherwise.
    loss : int
        Loss code (``sknn_train._kernels.losses.LOSSES``), for ``PASS_LOSS``.
    eps_loss : float
        Clipping bound of the log losses, for ``PASS_LOSS``.
    out : ndarray of shape (n, n_outputs), float32 or float64, or None
        Receives the outputs (``PASS_PREDICT``; ``PASS_LOSS`` too when given
        with ``n`` rows); None where they are not wanted.
    alive : ndarray of shape (n_hidden_units,), uint8, or None
        Zeros on entry, for ``PASS_ALIVE``: ``alive[u]`` is set to 1 for
        every hidden unit (layers concatenated) with a non-zero output on
        some row. None otherwise.
    ensemble : Members or None, default=None
        The ensemble's layout (:class:`~sknn_train._kernels.network.Members`);
        None for a single network (see :func:`run_pass`).

    Returns
    -------
    float
        The weighted mean data loss for ``PASS_LOSS``, else 0.0.
    """
    empty, empty_2d = _empty(theta.dtype)
    return _run(
        mode,
        x,
        data,
        indices,
        indptr,
        is_sparse,
        n,
        empty_2d if y is None else y,
        empty if sw is None else sw,
        _all_rows(n),
        chunk,
        theta,
        empty,
        empty,
        empty,
        _NO_STEP,
        net,
        ensemble,
        work,
        _eval_hyper(loss, eps_loss),
        _NO_DIAG,
        empty_2d if out is None else out,
        _NO_UNITS if alive is None else alive,
    )


def _run(*args):
    """``run_pass(*args)``, compiled (or loaded) once across processes first.

    One specialisation per dtype and form: a single network (``ensemble``
    None) and an ensemble are compiled apart, each the first time a fit needs it.
    """
    dtype = args[11].dtype  # theta's
    single = args[17] is None  # the ensemble
    what = f"{dtype} {'training and prediction' if single else 'ensemble'}"
    compile_once(run_pass, args, (dtype, single), what)
    return run_pass(*args)


_NO_STEP = np.zeros(1, dtype=np.int64)  # never written outside training
_NO_DIAG = np.zeros(0)
_NO_UNITS = np.zeros(0, dtype=np.uint8)
_EMPTY: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}
_ARANGE = [np.arange(0, dtype=np.int64)]
_EVAL_HYPER: dict[tuple[int, float], Hyper] = {}


def _empty(dtype):
    """Empty 1-D and 2-D arrays of ``dtype``, for the arguments a pass does not use."""
    arrays = _EMPTY.get(dtype)
    if arrays is None:
        arrays = _EMPTY[dtype] = (np.zeros(0, dtype=dtype), np.zeros((0, 0), dtype=dtype))
    return arrays


def _all_rows(n):
    """``arange(n)`` as a view of a shared buffer grown on demand (kernels never
    write to ``order``; a read-only array would be another compiled signature)."""
    rows = _ARANGE[0]
    if rows.shape[0] < n:
        rows = np.arange(max(n, 2 * rows.shape[0]), dtype=np.int64)
        _ARANGE[0] = rows
    return rows[:n]


def _eval_hyper(loss, eps_loss):
    """A :class:`Hyper` for evaluations: only the loss fields are read."""
    key = (int(loss), float(eps_loss))
    hyper = _EVAL_HYPER.get(key)
    if hyper is None:
        hyper = _EVAL_HYPER[key] = make_hyper(loss=loss, eps_loss=eps_loss)
    return hyper
