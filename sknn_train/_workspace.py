"""Arrays the kernels take: input data in kernel form and reusable workspaces."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._kernels.network import Net, Work
from ._layout import Layout

_EMPTY_INDEX = np.zeros(1, dtype=np.int64)

# Rows per chunk for prediction and full-batch (L-BFGS) passes: bounds the
# activation workspace to about this many values whatever the number of rows.
CHUNK_VALUES = 1 << 21

# Activation codes whose derivative needs the pre-activation (GELU, SiLU).
_NEEDS_PRE = (6, 8)


def kernel_array(a, dtype):
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

    def __init__(self, X, dtype):
        self.n_rows, self.n_features = X.shape
        if sp.issparse(X):
            X = X.tocsr()
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

    def args(self):
        return self.x, self.data, self.indices, self.indptr, self.is_sparse


def make_work(net: Net, rows: int, n_features: int, gather: bool, dtype) -> Work:
    """Activation, delta and input buffers for batches of at most ``rows`` rows."""
    units = net.units
    act_off = np.zeros(len(units), dtype=np.int64)
    total = 0
    for layer in range(1, len(units)):
        act_off[layer] = total
        total += rows * int(units[layer])
    hidden = net.act[1:-1]
    need_pre = bool(np.isin(hidden, _NEEDS_PRE).any())
    need_drop = bool((net.drop[1:-1] > 0).any())
    return Work(
        xb=np.empty((rows if gather else 0, n_features), dtype=dtype),
        acts=np.empty(total, dtype=dtype),
        pre=np.empty(total if need_pre else 0, dtype=dtype),
        dacts=np.empty(total if need_drop else 0, dtype=dtype),
        deltas=np.empty(total, dtype=dtype),
        act_off=act_off,
    )


def chunk_rows(layout: Layout, n_rows: int) -> int:
    """Rows per chunk so that one chunk's activations stay near ``CHUNK_VALUES``."""
    width = int(layout.units[1:].sum())
    return int(max(1, min(n_rows, CHUNK_VALUES // max(width, 1))))
