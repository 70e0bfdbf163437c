"""Forward and backward passes of one batch through the whole network.

The network is a :class:`Net` of plain arrays indexed by layer (layer 0 is the
input, the last is the output): ``units`` widths, ``coef_off`` / ``int_off``
offsets of each weight matrix and bias vector in the flat buffer ``theta``,
``act`` the activation code of each layer (hidden codes, then the output
layer's code from the separate output code space of ``activations``; layer 0
unused), ``skip`` the layer whose output is
added to a layer's pre-activation (residual blocks, -1 for none), ``skip_to``
the reverse map, and ``drop`` each layer's dropout probability. Depth and
architecture are data, not types: one compiled signature per dtype.

A :class:`Work` holds the reusable buffers of a batch: ``acts`` (each layer's
activation output z), ``pre`` (pre-activations, only for the activations
whose table entry says ``needs_pre``),
``dacts`` (outputs after dropout, only with dropout), ``deltas`` and ``xb``
(the gathered dense input rows), with ``act_off`` the offset of each layer.

Input scaling (SPEC 4.5): when ``scale_off[0] >= 0`` the vector ``s`` of
``units[0]`` factors at ``theta[scale_off[0]:]`` multiplies the input. The
first layer then computes ``(x * s) @ W0 = x @ (diag(s) W0)``: the forward pass
uses the effective weights ``diag(s) W0`` (``work.w0``, made per batch by
:func:`scale_first_weights`), the backward pass yields their gradient
``G = x.T @ delta``, and :func:`chain_input_scale` turns it into
``dW0 = diag(s) G`` and ``ds = rowsum(G * W0)``. Input dropout and sparse input
stay as they are: the input itself is never scaled.

The input of a batch is either the dense ``(m, d)`` block ``xb`` (with input
dropout already applied, see :func:`forward`) or, when ``is_sparse``, the CSR
rows ``rows`` of ``(data, indices, indptr)``.

An ensemble (:class:`Members`, ``count = K > 1``) is K such networks one
after the other in ``theta``, ``size = P`` values each: the passes here run
one member, on its slice; ``work.mean`` collects the mean of the members'
outputs. A single network has no :class:`Members`: the passes take ``None``
for it, and numba compiles them without the ensemble's code. In the same
way the techniques a fit does not use are left out by the pass's tiers
(:mod:`~sknn_train._kernels.tiers`).
"""

from collections import namedtuple

import numba
import numpy as np

from .._jit import kernel
from .activations import activate, activation_backward, output_activate
from .blas import address, gemm
from .rng import dropout_rows, keep_scale, row_key, threshold, unit_bits
from .tables import embedding_gradient, encode_rows, onehot_rows_product

Net = namedtuple("Net", "units coef_off int_off act skip skip_to drop scale_off table_off")
#: An ensemble's layout (int64 fields): ``count`` members of ``size`` values each;
#: a batch ensemble's members share ``theta[:shared_weights_end]`` (every weight
#: matrix but the output layer's) and ``theta[shared_biases_lo:shared_biases_hi]``
#: of their slices (``shared_weights_end = 0``: independent members). A pass runs
#: members ``first`` to ``stop - 1`` (0 and ``count``: all of them); independent
#: members train one call each, on as many threads as the fit has.
Members = namedtuple(
    "Members", "count size shared_weights_end shared_biases_lo shared_biases_hi first stop"
)
Work = namedtuple("Work", "xb acts pre dacts deltas act_off w0 mean xe gx trig")


@kernel
def layer_view(buf, off, m, width):
    """The ``(m, width)`` matrix stored at ``buf[off:]``.

    A view on the raw pointer (``carray``) instead of ``reshape``, whose
    overload compiles shape checks and their messages for every caller; the
    workspace buffers outlive every kernel call that views them, and are
    sized for every view taken (``make_work``).
    """
    return numba.carray(address(buf, off), (m, width))


@kernel
def flat_view(buf, off, n):
    """The ``n`` values stored at ``buf[off:]`` (a slice: empty where ``buf`` is,
    as the pre-activations of networks that need none)."""
    return buf[off : off + n]


@kernel
def layer_output(work, net, j, m):
    """What layer ``j >= 1`` passes on: its output after dropout."""
    if net.drop[j] > 0:
        return layer_view(work.dacts, work.act_off[j], m, net.units[j])
    return layer_view(work.acts, work.act_off[j], m, net.units[j])


@kernel
def csr_rows_product(data, indices, indptr, rows, dense, out, transpose, p, key, row0):
    """Products of the CSR rows ``X[rows]`` (input dropout applied) without densifying.

    ``transpose=0``: ``out += drop(X[rows]) @ dense`` (the forward pass);
    ``transpose=1``: ``out += drop(X[rows]).T @ dense`` (the weight gradient),
    with the same mask as the forward pass.
    (An int, not a bool: literal bools would compile a signature each.)
    """
    k = out.shape[1]
    t = threshold(p)
    scale = keep_scale(p)
    for r in range(rows.shape[0]):
        i = rows[r]
        rk = row_key(key, np.int64(0), row0 + r)
        for q in range(indptr[i], indptr[i + 1]):
            v = data[q]
            c = indices[q]
            if p > 0:
                if unit_bits(rk, c) < t:
                    continue
                v = v * scale
            if transpose:
                for j in range(k):
                    out[c, j] += v * dense[r, j]
            else:
                for j in range(k):
                    out[r, j] += v * dense[c, j]


@kernel
def finish_layer(a, b, skip, has_skip):
    """``a[r] += b (+ skip[r])``: the bias, and a residual block's input, added to
    the product in scikit-learn's order (``x @ W + b`` to the last bit)."""
    m, k = a.shape
    for r in range(m):
        if has_skip:
            for c in range(k):
                a[r, c] = (a[r, c] + b[c]) + skip[r, c]
        else:
            for c in range(k):
                a[r, c] += b[c]


@kernel
def scale_first_weights(theta, net, w0):
    """``w0 = diag(s) W0``: the first layer's weights as the scaled input sees them."""
    d = net.units[0]
    h = net.units[1]
    so = net.scale_off[0]
    base = net.coef_off[0]
    for r in range(d):
        f = theta[so + r]
        for c in range(h):
            w0[r * h + c] = f * theta[base + r * h + c]


@kernel
def chain_input_scale(theta, grad, net):
    """From ``G``, the gradient of the effective weights ``diag(s) W0`` (in the
    first layer's slot of ``grad``), the gradients of ``W0`` and of ``s``."""
    d = net.units[0]
    h = net.units[1]
    so = net.scale_off[0]
    base = net.coef_off[0]
    for r in range(d):
        f = theta[so + r]
        gs = 0.0
        for c in range(h):
            q = base + r * h + c
            g = grad[q]
            gs += g * theta[q]
            grad[q] = g * f
        grad[so + r] = gs


@kernel(inline=True)
def forward(
    xb,
    data,
    indices,
    indptr,
    rows,
    is_sparse,
    m,
    theta,
    net,
    work,
    key,
    row0,
    recipe,
    extras,
    tables,
):
    """Fill ``work`` with every layer's output for a batch of ``m`` rows.

    With input dropout and dense input, ``xb`` is modified in place (it is the
    gathered copy of the batch, never the user's array). ``recipe`` / ``extras``
    are the pass's tiers (:mod:`~sknn_train._kernels.tiers`): input scaling
    needs ``recipe``, dropout and sparse input ``extras``; None compiles
    without their code. ``tables`` (:class:`~sknn_train._kernels.tables.Tables`
    or None) says which columns of ``xb`` are category codes: the first layer
    then reads ``work.xe`` (dense values and embedded vectors, input dropout
    applied there) and looks the one-hot inputs' weights up.
    """
    units = net.units
    n_w = units.shape[0] - 1
    x_in = xb
    n_in = units[0]
    if tables is not None:
        encode_rows(xb, m, theta, tables, work.xe, work.trig)
        x_in = work.xe[:m]
        n_in = tables.n_in
    if extras is not None and net.drop[0] > 0 and not is_sparse:
        dropout_rows(x_in, x_in, key, np.int64(0), row0, net.drop[0])
    # the first layer's weights: theta's, or their scaled copy (input scaling)
    w_first = theta
    off_first = net.coef_off[0]
    if recipe is not None and net.scale_off[0] >= 0:
        scale_first_weights(theta, net, work.w0)
        w_first = work.w0
        off_first = 0
    for l in range(n_w):
        j = l + 1
        fan_in = units[l]
        fan_out = units[j]
        a = layer_view(work.acts, work.act_off[j], m, fan_out)
        if extras is not None and l == 0 and is_sparse:
            zero_rows(a)
            csr_rows_product(
                data,
                indices,
                indptr,
                rows,
                layer_view(w_first, off_first, fan_in, fan_out),
                a,
                np.int64(0),
                net.drop[0],
                key,
                row0,
            )
        else:
            h = x_in if l == 0 else layer_output(work, net, l, m)
            gemm(
                0,
                0,
                m,
                fan_out,
                n_in if l == 0 else fan_in,
                address(h, 0),
                address(w_first, off_first) if l == 0 else address(theta, net.coef_off[l]),
                0.0,
                address(a, 0),
            )
        if tables is not None and l == 0:
            onehot_rows_product(
                xb,
                m,
                tables,
                layer_view(w_first, off_first, fan_in, fan_out),
                a,
                np.int64(0),
                net.drop[0],
                key,
                row0,
            )
        s = net.skip[j]
        has_skip = s >= 0  # residual block: the block's input is added too
        finish_layer(
            a,
            flat_view(theta, net.int_off[l], fan_out),
            layer_output(work, net, s, m) if has_skip else a,
            has_skip,
        )
        if j < n_w:
            size = m * fan_out
            activate(
                flat_view(work.acts, work.act_off[j], size),
                flat_view(work.pre, work.act_off[j], size),
                size,
                net.act[j],
            )
            if extras is not None and net.drop[j] > 0:
                dropout_rows(
                    a,
                    layer_view(work.dacts, work.act_off[j], m, fan_out),
                    key,
                    j,
                    row0,
                    net.drop[j],
                )
        else:
            output_activate(a, flat_view(work.acts, work.act_off[j], m * fan_out), net.act[j])


@kernel
def bias_gradient(d, gb, accumulate):
    """``gb (+)= sum(d, axis=0)``."""
    m, k = d.shape
    if not accumulate:
        for c in range(k):
            gb[c] = 0.0
    for r in range(m):
        for c in range(k):
            gb[c] += d[r, c]


@kernel(inline=True)
def backward(
    xb,
    data,
    indices,
    indptr,
    rows,
    is_sparse,
    m,
    theta,
    grad,
    net,
    work,
    key,
    row0,
    accumulate,
    extras,
    tables,
):
    """Raw gradients ``h.T @ delta`` and ``sum(delta)`` of every layer into ``grad``.

    ``work.deltas`` must hold the output delta at the output layer's offset.
    With ``accumulate`` the gradients are added to ``grad`` (full-batch passes
    in row chunks), else they overwrite it. No penalty and no normalisation
    here: see :func:`sknn_train._kernels.step.finish_gradient`. Dropout and
    sparse input need ``extras``, category codes ``tables`` (see
    :func:`forward`, which must have run on the same batch and member).
    """
    units = net.units
    n_w = units.shape[0] - 1
    beta = 1.0 if accumulate else 0.0
    for l in range(n_w - 1, -1, -1):
        j = l + 1
        fan_in = units[l]
        fan_out = units[j]
        d = layer_view(work.deltas, work.act_off[j], m, fan_out)
        gw = layer_view(grad, net.coef_off[l], fan_in, fan_out)
        if tables is not None and l == 0:
            first_layer_gradient(
                xb, m, theta, grad, net, work, key, row0, accumulate, extras, tables
            )
        elif extras is not None and l == 0 and is_sparse:
            if not accumulate:
                zero_rows(gw)
            csr_rows_product(
                data, indices, indptr, rows, d, gw, np.int64(1), net.drop[0], key, row0
            )
        else:
            h = xb if l == 0 else layer_output(work, net, l, m)
            gemm(1, 0, fan_in, fan_out, m, address(h, 0), address(d, 0), beta, address(gw, 0))
        bias_gradient(d, flat_view(grad, net.int_off[l], fan_out), accumulate)
        if l > 0:
            # delta of layer l: d @ W.T, plus the identity path of a residual block
            g = layer_view(work.deltas, work.act_off[l], m, fan_in)
            t = net.skip_to[l]
            if t >= 0:
                copy_block(layer_view(work.deltas, work.act_off[t], m, units[t]), g)
            gemm(
                0,
                1,
                m,
                fan_in,
                fan_out,
                address(d, 0),
                address(theta, net.coef_off[l]),
                1.0 if t >= 0 else 0.0,
                address(g, 0),
            )
            if extras is not None and net.drop[l] > 0:
                dropout_rows(g, g, key, l, row0, net.drop[l])
            size = m * fan_in
            activation_backward(
                flat_view(work.acts, work.act_off[l], size),
                flat_view(work.pre, work.act_off[l], size),
                flat_view(work.deltas, work.act_off[l], size),
                size,
                net.act[l],
            )


@kernel
def first_layer_gradient(xm, m, theta, grad, net, work, key, row0, accumulate, extras, tables):
    """The first layer's weight gradient when the input has category codes, and
    the embedding tables' gradients (see :func:`forward`).

    The dense inputs' rows are ``xe.T @ delta``, the one-hot inputs' a
    scatter-add of the deltas; the tables get ``delta @ W0[:n_in].T`` (the
    effective weights under input scaling; masked by the input dropout) at
    the rows the batch looked up.
    """
    fan_in = net.units[0]
    fan_out = net.units[1]
    n_in = tables.n_in
    d = layer_view(work.deltas, work.act_off[1], m, fan_out)
    gw = layer_view(grad, net.coef_off[0], fan_in, fan_out)
    xe = work.xe[:m]
    gemm(
        1,
        0,
        n_in,
        fan_out,
        m,
        address(xe, 0),
        address(d, 0),
        1.0 if accumulate else 0.0,
        address(gw, 0),
    )
    if not accumulate:
        zero_rows(gw[n_in:])
    onehot_rows_product(xm, m, tables, d, gw, np.int64(1), net.drop[0], key, row0)
    if n_in == tables.n_dense:
        return  # no embedded column, no numeric embedding
    w = theta[net.coef_off[0] :]
    if net.scale_off[0] >= 0:
        w = work.w0  # the effective weights diag(s) W0 the forward pass used
    gx = work.gx[:m]
    gemm(0, 1, m, n_in, fan_out, address(d, 0), address(w, 0), 0.0, address(gx, 0))
    if extras is not None and net.drop[0] > 0:
        dropout_rows(gx, gx, key, np.int64(0), row0, net.drop[0])
    embedding_gradient(gx, xm, m, theta, grad, tables, accumulate, work.trig)


@kernel
def zero_rows(a):
    """``a[:, :] = 0`` as a loop (see :func:`copy_block`)."""
    m, k = a.shape
    for r in range(m):
        for c in range(k):
            a[r, c] = 0.0


@kernel
def copy_block(src, dst):
    """``dst[:, :] = src`` as a loop: array assignment compiles numba's
    shape-mismatch message formatting, seconds of compile time per dtype."""
    m, k = src.shape
    for r in range(m):
        for c in range(k):
            dst[r, c] = src[r, c]


@kernel
def add_block(src, dst):
    """``dst += src`` on equal-shaped matrices (see :func:`copy_block`)."""
    m, k = src.shape
    for r in range(m):
        for c in range(k):
            dst[r, c] += src[r, c]


@kernel
def scale_block(a, f):
    """``a *= f`` on a matrix."""
    m, k = a.shape
    for r in range(m):
        for c in range(k):
            a[r, c] *= f


@kernel
def scale_gradient(g, w, a, inv):
    """``g = (g + a * w) * inv`` in place on equal-length slices (``g *= inv`` when ``a == 0``).

    ``a`` (alpha) and ``inv`` (1 / S) come in the buffer's dtype (float32
    stays float32, as in scikit-learn); a multiply instead of a divide lets
    the loop vectorise.
    """
    if a == 0:
        for p in range(g.shape[0]):
            g[p] *= inv
    else:
        for p in range(g.shape[0]):
            g[p] = (g[p] + a * w[p]) * inv
