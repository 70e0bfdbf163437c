"""Category lookups inside the passes (SPEC 5.2): one-hot columns and categorical embeddings.

The rows a pass reads hold ``n_dense`` dense values, then one code per lookup
column (a float holding the category's index; ``k``, the column's number of
categories, for the slot). :class:`Tables` says what each code column is:

- one-hot (``kind == ONEHOT``): ``k`` inputs of the network, the first
  layer's weight rows ``n_in + unit .. n_in + unit + k - 1``; the slot is the
  all-zero vector. Times the first layer, a one-hot input is a row lookup of
  those weights, and its weight gradient a scatter-add of the batch's
  deltas: no one-hot matrix is ever built.
- embedded (``kind == EMBEDDED``): a learnt table of ``k + 1`` rows of
  ``dim`` values at ``theta[table:]``, the slot's row last; a row's vector
  fills the network's inputs ``unit .. unit + dim - 1``.

The network's input is then ``[dense values | embedded vectors | one-hot]``:
:func:`encode_rows` writes the first two (``n_in`` columns) into
``work.xe``, the first layer's product reads them with one ``gemm``, and
:func:`onehot_rows_product` adds the one-hot inputs' weight rows. Dropout
on the inputs acts on these network inputs, one-hot inputs included (input
numbers ``n_in + unit + code``): the same masks as on the matrix encoded
densely. A pass compiles this code only when its ``tables`` argument is not
None (:mod:`~sknn_train._kernels.tiers`).
"""

from collections import namedtuple

import numpy as np

from .._jit import kernel
from .embeddings import SIZES, TRIG, WIDTHS, embed_feature, embed_feature_gradient
from .rng import keep_scale, row_key, threshold, unit_bits

#: How a code column enters the network (``sknn_train._tables``' values).
ONEHOT, EMBEDDED = 1, 2

#: What the code columns are (int64 fields): ``n_dense`` dense values lead each
#: row; ``n_in`` inputs (dense values, then embedded vectors) form the first
#: layer's dense part; per code column ``c``: ``kind[c]``, its number of
#: categories ``levels[c]``, ``unit[c]`` (an embedded column's first input; a
#: one-hot column's first one-hot input, counted from ``n_in``), ``table[c]``
#: (an embedded column's table in a member's ``theta``; -1 for one-hot) and
#: ``dim[c]`` (its vectors' length; 0 for one-hot). The first ``n_num`` dense
#: values are numeric features embedded by ``num_kind``
#: (:mod:`~sknn_train._kernels.embeddings`; ``NO_EMBEDDING``: copied as they
#: are), feature ``j``'s parameters at ``num_off + j * SIZES[num_kind]``.
Tables = namedtuple("Tables", "n_dense n_in kind levels unit table dim n_num num_kind num_off")


@kernel
def encode_rows(xm, m, theta, tables, xe, trig):
    """``xe[:m] = [dense values | embedded vectors]`` of the batch's rows.

    Parameters
    ----------
    xm : ndarray of shape (m_rows, n_dense + n_codes), float32 or float64
        The batch's rows: dense values, then the codes.
    m : int
        Rows in the batch.
    theta : ndarray of shape (n_params,), float32 or float64
        A member's parameters (its embedding tables at ``tables.table``).
    tables : Tables
        What the code columns are.
    xe : ndarray of shape (m_rows, n_in), float32 or float64
        Receives the first layer's dense inputs.
    trig : ndarray of shape (m_rows * n_num * TRIG[num_kind],), float32 or float64
        Receives the numeric embeddings' cosines and sines (for the backward
        pass), feature after feature.
    """
    nd = tables.n_dense
    n_num = tables.n_num
    width = WIDTHS[tables.num_kind]
    size = SIZES[tables.num_kind]
    block = m * TRIG[tables.num_kind]
    for j in range(n_num):
        off = tables.num_off + j * size
        trig_j = trig[j * block : (j + 1) * block]
        embed_feature(xm, j, m, theta, off, tables.num_kind, xe, j * width, trig_j)
    for r in range(m):
        shift = n_num * (width - 1)  # the other dense values after the embeddings
        for c in range(n_num, nd):
            xe[r, shift + c] = xm[r, c]
        for c in range(tables.kind.shape[0]):
            if tables.kind[c] != EMBEDDED:
                continue
            dim = tables.dim[c]
            lo = tables.table[c] + np.int64(xm[r, nd + c]) * dim
            u = tables.unit[c]
            for i in range(dim):
                xe[r, u + i] = theta[lo + i]


@kernel
def onehot_rows_product(xm, m, tables, dense, out, transpose, p, key, row0):
    """Products of the batch's one-hot inputs (input dropout applied) by row lookups.

    ``transpose=0``: ``out += drop(onehot(xm)) @ dense[n_in:]`` (the forward
    pass); ``transpose=1``: ``out[n_in:] += drop(onehot(xm)).T @ dense`` (the
    weight gradient), with the same masks, which are
    :func:`~sknn_train._kernels.rng.dropout_rows`'s for these inputs.

    Parameters
    ----------
    xm : ndarray of shape (m_rows, n_dense + n_codes), float32 or float64
        The batch's rows: dense values, then the codes.
    m : int
        Rows in the batch.
    tables : Tables
        What the code columns are.
    dense : ndarray, float32 or float64
        The first layer's weights, shape ``(units[0], fan_out)`` (forward), or
        the layer's deltas, shape ``(m_rows, fan_out)`` (gradient).
    out : ndarray, float32 or float64
        The layer's product, shape ``(m_rows, fan_out)`` (forward), or the
        first layer's weight gradient, shape ``(units[0], fan_out)``; added to.
    transpose : int
        0 for the forward product, 1 for the gradient (an int, not a bool:
        literal bools would compile a signature each).
    p : float
        The input dropout rate (0: none).
    key : uint64
        The dropout stream's key for this batch and member.
    row0 : int
        The global index of the batch's first row (the masks' row number).
    """
    fan_out = out.shape[1]
    nd = tables.n_dense
    t = threshold(p)
    scale = keep_scale(p)
    for r in range(m):
        rk = row_key(key, np.int64(0), row0 + r)
        for c in range(tables.kind.shape[0]):
            if tables.kind[c] != ONEHOT:
                continue
            code = np.int64(xm[r, nd + c])
            if code >= tables.levels[c]:
                continue  # the slot: all zeros
            u = tables.n_in + tables.unit[c] + code
            f = 1.0
            if p > 0:
                if unit_bits(rk, u) < t:
                    continue
                f = scale
            if transpose:
                for j in range(fan_out):
                    out[u, j] += f * dense[r, j]
            else:
                for j in range(fan_out):
                    out[r, j] += f * dense[u, j]


@kernel
def embedding_gradient(gx, xm, m, theta, grad, tables, accumulate, trig):
    """Scatter-add the inputs' gradient into the embedding tables' gradients, and
    chain it into the numeric embeddings' parameters.

    Parameters
    ----------
    gx : ndarray of shape (m_rows, n_in), float32 or float64
        The loss's gradient with respect to the first layer's dense inputs.
    xm : ndarray of shape (m_rows, n_dense + n_codes), float32 or float64
        The batch's rows (their codes say which table rows they used).
    m : int
        Rows in the batch.
    theta : ndarray of shape (n_params,), float32 or float64
        A member's parameters (the numeric embeddings' are read).
    grad : ndarray of shape (n_params,), float32 or float64
        A member's gradient; its tables' and numeric embeddings' slots are
        added to (and zeroed first unless ``accumulate``).
    tables : Tables
        What the code columns are.
    accumulate : bool
        Add to the tables' gradients instead of overwriting them.
    trig : ndarray of shape (m_rows * n_num * TRIG[num_kind],), float32 or float64
        The cosines and sines :func:`encode_rows` left for these rows.
    """
    nd = tables.n_dense
    n_codes = tables.kind.shape[0]
    n_num = tables.n_num
    width = WIDTHS[tables.num_kind]
    size = SIZES[tables.num_kind]
    if not accumulate:
        for c in range(n_codes):
            if tables.kind[c] == EMBEDDED:
                lo = tables.table[c]
                for q in range(lo, lo + (tables.levels[c] + 1) * tables.dim[c]):
                    grad[q] = 0.0
        for q in range(tables.num_off, tables.num_off + n_num * size):
            grad[q] = 0.0
    block = m * TRIG[tables.num_kind]
    for j in range(n_num):
        off = tables.num_off + j * size
        trig_j = trig[j * block : (j + 1) * block]
        embed_feature_gradient(xm, j, m, theta, off, tables.num_kind, gx, j * width, grad, trig_j)
    for r in range(m):
        for c in range(n_codes):
            if tables.kind[c] != EMBEDDED:
                continue
            dim = tables.dim[c]
            lo = tables.table[c] + np.int64(xm[r, nd + c]) * dim
            u = tables.unit[c]
            for i in range(dim):
                grad[lo + i] += gx[r, u + i]
