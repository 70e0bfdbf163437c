"""One optimizer step of a batch: finish the gradient, clip it, update.

``hyper`` is a :class:`Hyper` of scalars already cast at the Python boundary
(:func:`make_hyper`): solver and loss codes, Nesterov flag, learning rate,
Adam's betas and epsilon, momentum, alpha, the clipping norm (<= 0: off), the
loss's clipping epsilon, the dropout key of this epoch, the schedule and the
decoupled decay. The per-epoch diagnostics are accumulated at the ``DIAG_*``
offsets of ``diag``.
"""

import math
from collections import namedtuple

import numpy as np

from .._jit import kernel
from .blas import address, as_dtype_of, dot
from .network import scale_gradient
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


# Layout of the per-epoch diagnostics accumulator.
DIAG_NORM, DIAG_CLIPPED, DIAG_BATCHES, DIAG_LAYERS = 0, 1, 2, 3


@kernel
def clip_factor(norm, max_norm):
    """What the gradient is multiplied by: ``max_norm / norm`` when ``norm > max_norm > 0``, else 1.

    Clipping by norm keeps the direction and bounds the norm by ``max_norm``;
    the factor is applied inside the optimizer update (no pass of its own).

    Parameters
    ----------
    norm : float
        The global gradient norm.
    max_norm : float
        The largest norm (``max_grad_norm``); <= 0: no clipping.

    Returns
    -------
    float
        The factor, in (0, 1].
    """
    if max_norm > 0 and norm > max_norm:
        return max_norm / norm
    return 1.0


@kernel(inline=True)
def step_rate(t, hyper, recipe):
    """The rate of update ``t`` (1 first): the scheduled rate, and Adam's bias-corrected one.

    Returns ``(rate, scheduled)``: ``scheduled`` is the rate before Adam's bias
    correction, the one decoupled weight decay uses (SPEC 4.2).

    Parameters
    ----------
    t : int
        The update's number, counted from 1.
    hyper : Hyper
        The solver code, learning rate, schedule and Adam's betas.
    recipe : bool or None
        The recipe tier (:mod:`~sknn_train._kernels.tiers`): None compiles
        without the schedules (the rate is ``hyper.lr``).
    """
    scheduled = hyper.lr
    if recipe is not None:
        scheduled = scheduled_rate(hyper.lr, t - 1, hyper.total_steps, hyper.schedule, hyper.warmup)
    if hyper.solver == ADAM:
        return adam_rate(t, scheduled, hyper.beta_1, hyper.beta_2), scheduled
    return scheduled, scheduled


@kernel
def optimizer_update(theta, grad, state1, state2, lr, gscale, hyper):
    """The solver's update at rate ``lr`` of equal-length slices of the buffers.

    The gradient is ``gscale * grad`` (see :func:`clip_factor`).

    Parameters
    ----------
    theta : ndarray of shape (n_params,), float32 or float64
        The flat parameter buffer (a member's slice in an ensemble).
    grad : ndarray of shape (n_params,), float32 or float64
        The gradient, in ``theta``'s layout.
    state1 : ndarray of shape (n_params,), float32 or float64
        SGD's velocities or Adam's first moments.
    state2 : ndarray of shape (n_params,), float32 or float64
        Adam's second moments; empty for SGD.
    lr : float
        The learning rate of this update.
    gscale : float
        The clipping factor the gradient is multiplied by (1: none).
    hyper : Hyper
        The solver code, momentum, Nesterov flag and Adam's constants.
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

#: The numeric embeddings' learning-rate factor (RealMLP's: SPEC 5.5).
NUMERIC_EMBEDDING_LR = 0.1


@kernel
def finish_gradient(
    theta, grad, net, sw_sum, layer_norms, hyper, state1, state2, lr, decay, update, recipe
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

    Parameters
    ----------
    theta : ndarray of shape (n_params,), float32 or float64
        The flat parameter buffer (a member's slice in an ensemble).
    grad : ndarray of shape (n_params,), float32 or float64
        The raw gradient (``h.T @ delta``, ``sum(delta)``), finished in place.
    net : Net
        The network's widths and offsets (``coef_off``, ``int_off``, ``scale_off``).
    sw_sum : float
        The batch's summed sample weights ``S``.
    layer_norms : ndarray of shape (n_layers - 1,), float64
        Added each weight matrix's gradient norm.
    hyper : Hyper
        ``alpha``, the solver's constants and the input scaling's rate factor.
    state1, state2 : ndarray of shape (n_params,), float32 or float64
        The optimizer's state (see :func:`optimizer_update`); read only with ``update``.
    lr : float
        The learning rate of the step.
    decay : float
        The weights' decoupled decay factor (1: none).
    update : int64
        1: take the step block by block; 0: only finish the gradient.
    recipe : bool or None
        The recipe tier: None compiles without the decay and the input scaling.
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
                if recipe is not None and weights and decay != 1.0:
                    decay_weights(w, as_dtype_of(decay, w))
                optimizer_update(w, g, state1[b0:b1], state2[b0:b1], lr, 1.0, hyper)
            b0 = b1
        if weights:
            layer_norms[l] += math.sqrt(s)
        total += s
    if recipe is not None:
        # the input scaling, the embedding tables, the numeric embeddings: no penalty,
        # no decay, each at its own rate
        for block in range(3):
            lo, hi, factor = free_block(net, hyper, block)
            if hi <= lo:
                continue
            g = grad[lo:hi]
            w = theta[lo:hi]
            scale_gradient(g, w, zero, inv)
            total += float(dot(hi - lo, address(g, 0), address(g, 0)))
            if update:
                optimizer_update(w, g, state1[lo:hi], state2[lo:hi], lr * factor, 1.0, hyper)
    return w2, math.sqrt(total)


@kernel(inline=True)
def free_block(net, hyper, block):
    """``(lo, hi, rate factor)`` of the parameters after the biases that neither
    ``alpha`` nor the decay touch: block 0 the input scaling, 1 the categorical
    embedding tables (the weights' rate), 2 the numeric embeddings (SPEC 5.5)."""
    if block == 0:
        lo = net.scale_off[0]
        if lo < 0:
            return np.int64(0), np.int64(0), 1.0
        return lo, lo + net.units[0], hyper.scale_lr
    if block == 1:
        return net.table_off[0], net.table_off[1], 1.0
    return net.table_off[1], net.table_off[2], NUMERIC_EMBEDDING_LR


@kernel
def take_step(theta, grad, state1, state2, step, net, sw_sum, hyper, diag, recipe, extras):
    """Finish the batch's gradient, clip it and take the optimizer step.

    Returns the batch's L2 penalty ``sum_l ||W_l||^2`` (weights before the step).

    Parameters
    ----------
    theta : ndarray of shape (n_params,), float32 or float64
        The flat parameter buffer (a member's slice in an ensemble).
    grad : ndarray of shape (n_params,), float32 or float64
        The gradient, in ``theta``'s layout.
    state1 : ndarray of shape (n_params,), float32 or float64
        SGD's velocities or Adam's first moments.
    state2 : ndarray of shape (n_params,), float32 or float64
        Adam's second moments; empty for SGD.
    step : ndarray of shape (1,), int64
        The updates taken so far; incremented.
    net : Net
        The network (see :func:`finish_gradient`).
    sw_sum : float
        The batch's summed sample weights.
    hyper : Hyper
        The solver, schedule, decay and clipping (``max_norm``).
    diag : ndarray of shape (3 + n_layers - 1,), float64
        The epoch's diagnostics, added to (``DIAG_*`` offsets).
    recipe, extras : bool or None
        The pass's tiers (:mod:`~sknn_train._kernels.tiers`): the schedule and
        the decay need ``recipe``, clipping ``extras``.

    Returns
    -------
    float
        ``sum_l ||W_l||^2`` of the weights before the step.
    """
    step[0] += 1  # updates taken: Adam's bias correction and the schedule's progress
    lr, scheduled = step_rate(step[0], hyper, recipe)
    decay = 1.0
    if recipe is not None:
        decay = 1.0 - scheduled * hyper.weight_decay
    # Clipping needs the global norm before any update: a second sweep.
    fused = np.int64(1)
    if extras is not None:
        fused = np.int64(hyper.max_norm <= 0)
    w2, norm = finish_gradient(
        theta,
        grad,
        net,
        sw_sum,
        diag[DIAG_LAYERS:],
        hyper,
        state1,
        state2,
        lr,
        decay,
        fused,
        recipe,
    )
    if extras is not None and not fused:
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
    """The optimizer step on a finished gradient multiplied by ``gscale`` (< 1: clipped).

    Parameters
    ----------
    theta : ndarray of shape (n_params,), float32 or float64
        The flat parameter buffer (a member's slice in an ensemble).
    grad : ndarray of shape (n_params,), float32 or float64
        The gradient, in ``theta``'s layout.
    state1 : ndarray of shape (n_params,), float32 or float64
        SGD's velocities or Adam's first moments.
    state2 : ndarray of shape (n_params,), float32 or float64
        Adam's second moments; empty for SGD.
    net : Net
        The network (``int_off``, ``scale_off``).
    lr : float
        The learning rate of the step.
    decay : float
        The weights' decoupled decay factor (1: none).
    gscale : float
        The clipping factor.
    hyper : Hyper
        The solver's constants and the input scaling's rate factor.
    diag : ndarray of shape (3 + n_layers - 1,), float64
        The epoch's diagnostics (``DIAG_CLIPPED`` counts clipped updates).
    """
    if gscale < 1.0:
        diag[DIAG_CLIPPED] += 1.0
    if decay != 1.0:
        decay_weights(theta[: net.int_off[0]], as_dtype_of(decay, theta))
    # the weights and biases, then the blocks after them, each at its rate
    end = net.int_off[net.int_off.shape[0] - 1]
    optimizer_update(theta[:end], grad[:end], state1[:end], state2[:end], lr, gscale, hyper)
    for block in range(3):
        lo, hi, factor = free_block(net, hyper, block)
        if hi > lo:
            optimizer_update(
                theta[lo:hi], grad[lo:hi], state1[lo:hi], state2[lo:hi], lr * factor, gscale, hyper
            )
