"""The compiled pass over the rows of a data set: a training epoch, a full-batch
loss and gradient, or an evaluation, chosen by a pass code.

Every pass is the same loop (take the next batch or chunk of rows, forward,
then what the pass needs), so they are one compiled function,
:func:`run_pass`: its callees are linked, optimised and turned into machine
code once per dtype, form and tier instead of once per pass, which is most of
the compile time of a first fit. Python calls it through the plain functions
of :mod:`~sknn_train._kernels.epoch`.

``hyper`` is a :class:`~sknn_train._kernels.step.Hyper` (see
:func:`~sknn_train._kernels.step.make_hyper`). The optimizer step of a batch
is in :mod:`~sknn_train._kernels.step`, the ensemble's slices, steps and ties
in :mod:`~sknn_train._kernels.ensemble`, the tiers in
:mod:`~sknn_train._kernels.tiers`.
"""

import numpy as np

from .._jit import entry, kernel
from .blas import as_dtype_of
from .ensemble import MEMBER_STRIDE, member_slice, member_step, tie_gradients, tied_steps
from .losses import loss_and_delta
from .network import (
    add_block,
    backward,
    chain_input_scale,
    copy_block,
    forward,
    layer_view,
    scale_block,
)
from .rng import mix
from .step import DIAG_LAYERS, finish_gradient, take_step

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
    ties,
    recipe,
    extras,
    tables,
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
    ties : bool or None
        ``ON`` for a batch ensemble (``ensemble.shared_weights_end > 0``):
        its shared slices tied after each batch; None compiles the pass
        without the ties (a single network, independent members).
    recipe : bool or None
        The recipe tier (:mod:`~sknn_train._kernels.tiers`): input scaling,
        schedules and decay need it; None compiles the pass without their code.
    extras : bool or None
        The extras tier: dropout, clipping and sparse input need it; None
        compiles the pass without their code.
    tables : Tables or None
        Which columns of ``x`` are category codes and how they enter the
        network (:class:`~sknn_train._kernels.tables.Tables`: one-hot and
        embedding lookups); None compiles the pass without the lookups.
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
    members_from = 0
    members_to = 1
    if ensemble is not None:  # this call runs members first .. stop - 1 of count
        n_members = ensemble.count
        members_from = ensemble.first
        members_to = ensemble.stop
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
        for member in range(members_from, members_to):
            theta_k = member_slice(theta, member, ensemble)
            key_k = key if member == 0 else mix(key + np.uint64(member) * MEMBER_STRIDE)
            # once, or per member when input dropout wrote to the copy
            if copy and (member == members_from or net.drop[0] > 0):
                if training:
                    gather_rows(x, rows, xm)
                else:
                    copy_block(x[row0 : row0 + m], xm)
            forward(
                xm,
                data,
                indices,
                indptr,
                rows,
                is_sparse,
                m,
                theta_k,
                net,
                work,
                key_k,
                row0,
                recipe,
                extras,
                tables,
            )
            p = layer_view(work.acts, work.act_off[n_w], m, k)
            if task == PASS_ALIVE:
                mark_alive(work, net, m, alive[member * n_hidden : (member + 1) * n_hidden])
                continue
            if evaluating:
                if ensemble is not None:  # the ensemble's output is the members' mean
                    if member == members_from:
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
                extras,
                tables,
            )
            if gradient:
                acc += data_loss
                continue
            if recipe is not None and net.scale_off[0] >= 0:
                chain_input_scale(theta_k, grad_k, net)
            if ensemble is None:
                w2 = take_step(
                    theta, grad, state1, state2, step, net, sw_sum, hyper, diag, recipe, extras
                )
                acc += (data_loss / sw_sum + 0.5 * hyper.alpha * w2 / sw_sum) * m
                continue
            if ties is not None:  # tied: the step waits for every member
                acc += data_loss / sw_sum * m / n_members
                continue
            w2 = member_step(
                theta,
                grad,
                state1,
                state2,
                step,
                member,
                ensemble,
                net,
                sw_sum,
                hyper,
                diag,
                recipe,
                extras,
            )
            # the objective is the mean of the members' losses
            acc += (data_loss / sw_sum + 0.5 * hyper.alpha * w2 / sw_sum) * m / n_members
        if ties is not None:  # a batch ensemble's step, once every member has its gradient
            if training:
                tie_gradients(grad, ensemble)
                w2 = tied_steps(
                    theta,
                    grad,
                    state1,
                    state2,
                    step,
                    ensemble,
                    net,
                    sw_sum,
                    hyper,
                    diag,
                    recipe,
                    extras,
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
        for member in range(members_from, members_to):
            theta_k = member_slice(theta, member, ensemble)
            grad_k = member_slice(grad, member, ensemble)
            if recipe is not None and net.scale_off[0] >= 0:  # linear in the gradient: at the end
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
                recipe,
            )
            loss += 0.5 * hyper.alpha * w2 / total_sw
        return acc / total_sw + loss
    if task == PASS_LOSS:
        return acc / total_sw if total_sw > 0 else 0.0
    return acc
