"""Arrays the kernels take: input data in kernel form and reusable workspaces."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, DTypeLike

from ._kernels.activations import HIDDEN_ACTIVATIONS
from ._kernels.embeddings import TRIG
from ._kernels.network import Net, Work
from ._kernels.tables import Tables
from ._layout import Layout

_EMPTY_INDEX = np.zeros(1, dtype=np.int64)

# Rows per chunk for prediction and full-batch (L-BFGS) passes: bounds the
# activation workspace to about this many values whatever the number of rows.
CHUNK_VALUES = 1 << 21

# Hidden activation codes whose derivative needs the pre-activation (the table says).
_NEEDS_PRE = frozenset(a.code for a in HIDDEN_ACTIVATIONS.values() if a.needs_pre)


def kernel_array(a: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """``a`` as a C-contiguous, writeable array of ``dtype`` (copied only if needed).

    Read-only arrays (joblib's memory maps in parallel searches, for example)
    would be a third compiled signature per kernel; they are copied instead.
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.writeable else a.copy()


class KernelInput:
    """Dense or CSR input as the arrays every kernel takes.

    Dense input is made C-contiguous in the working dtype (a copy only when the
    caller's array is not already so). CSR/CSC input stays sparse: CSC is turned
    into CSR once, index arrays become int64 so that one compiled signature per
    dtype serves every input.
    """

    n_rows: int
    n_features: int
    is_sparse: bool
    x: np.ndarray
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray

    def __init__(self, X: np.ndarray | sp.spmatrix | sp.sparray, dtype: DTypeLike) -> None:
        self.n_rows, self.n_features = X.shape
        if sp.issparse(X):
            X = X.tocsr()  # type: ignore[union-attr]  # (issparse is no type guard)
            self.is_sparse = True
            self.x = np.empty((0, self.n_features), dtype=dtype)
            self.data = kernel_array(X.data, dtype)
            self.indices = kernel_array(X.indices, np.int64)
            self.indptr = kernel_array(X.indptr, np.int64)
        else:
            self.is_sparse = False
            self.x = kernel_array(X, dtype)
            self.data = np.empty(0, dtype=dtype)
            self.indices = _EMPTY_INDEX
            self.indptr = _EMPTY_INDEX

    def args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
        """``(x, data, indices, indptr, is_sparse)``: the input arguments of every kernel."""
        return self.x, self.data, self.indices, self.indptr, self.is_sparse


#: Largest per-thread scratch buffer kept between calls (see :func:`scratch`).
SCRATCH_MAX_BYTES = 64 << 20

_SCRATCH = threading.local()


def scratch(n: int, dtype: DTypeLike) -> np.ndarray:
    """``n`` values of ``dtype`` from a buffer this thread reuses between calls.

    Freshly allocated memory costs a page fault per 4 KiB at first touch: for
    a ``predict`` on a few thousand rows that doubled the time of the call.
    The buffer belongs to the calling thread (concurrent calls from several
    threads never share it) and is only valid until the thread's next call;
    requests above ``SCRATCH_MAX_BYTES`` get fresh memory and are not kept.
    """
    dtype = np.dtype(dtype)
    nbytes = int(n) * dtype.itemsize
    if nbytes > SCRATCH_MAX_BYTES:
        return np.empty(n, dtype=dtype)
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(max(nbytes, 1 << 16), dtype=np.uint8)
        _SCRATCH.buf = buf
    return buf[:nbytes].view(dtype)


def make_work(
    net: Net,
    rows: int,
    n_features: int,
    gather: bool,
    dtype: DTypeLike,
    reuse: bool = False,
    ensemble: bool = False,
    tables: Tables | None = None,
) -> Work:
    """Activation, delta and input buffers for batches of at most ``rows`` rows
    (``ensemble``: for the ensemble's form, which also needs the members' mean;
    ``tables``: for input with category codes, which needs the encoded inputs
    and, with embeddings, their gradient).

    ``reuse=True`` carves them from this thread's :func:`scratch` buffer: for
    calls whose workspace does not outlive them (prediction, evaluation).
    """
    widths = net.units.tolist()
    offsets = [0] * len(widths)
    total = 0
    for layer in range(1, len(widths)):
        offsets[layer] = total
        total += rows * widths[layer]
    act_off = np.array(offsets, dtype=np.int64)
    # (plain Python on these few values: this runs on every predict call)
    need_pre = any(code in _NEEDS_PRE for code in net.act[1:-1].tolist())
    need_drop = any(p > 0 for p in net.drop[1:-1].tolist())
    n_in = 0 if tables is None else int(tables.n_in)
    n_trig = 0 if tables is None else int(tables.n_num) * TRIG[int(tables.num_kind)]
    sizes = [
        (rows if gather else 0) * n_features,
        total,
        total if need_pre else 0,
        total if need_drop else 0,
        total,
        # the first layer's scaled weights (input scaling)
        widths[0] * widths[1] if int(net.scale_off[0]) >= 0 else 0,
        # the members' mean output (an ensemble)
        rows * widths[-1] if ensemble else 0,
        # the encoded inputs and their gradient (category lookups, embeddings)
        rows * n_in,
        rows * n_in if tables is not None and int(tables.n_in) > int(tables.n_dense) else 0,
        # the numeric embeddings' cosines and sines, from the forward to the backward pass
        rows * n_trig,
    ]
    n = sum(sizes)
    block = scratch(n, dtype) if reuse else np.empty(n, dtype=dtype)
    bounds = list(itertools.accumulate(sizes, initial=0))
    parts = [block[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    return Work(
        xb=parts[0].reshape((rows if gather else 0, n_features)),
        acts=parts[1],
        pre=parts[2],
        dacts=parts[3],
        deltas=parts[4],
        act_off=act_off,
        w0=parts[5],
        mean=parts[6].reshape((rows if ensemble else 0, widths[-1])),
        xe=parts[7].reshape((rows if n_in else 0, n_in)),
        gx=parts[8].reshape((rows if parts[8].size else 0, n_in)),
        trig=parts[9],
    )


def chunk_rows(layout: Layout, n_rows: int) -> int:
    """Rows per chunk so that one chunk's activations stay near ``CHUNK_VALUES``."""
    return int(max(1, min(n_rows, CHUNK_VALUES // max(layout.row_width, 1))))
