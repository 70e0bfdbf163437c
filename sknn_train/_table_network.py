"""How an encoded table enters the network (SPEC 5.2, 5.5): the input's width, what
the kernels take for the lookups and the numeric embeddings, their initial values.

The encoder (:mod:`~sknn_train._tables`) makes the matrix; this module lays the
network out over it: the numeric values (or their embeddings), the other dense
values, the categorical embeddings' vectors, then the one-hot inputs.
"""

from __future__ import annotations

import numpy as np

from ._kernels.embeddings import FREQUENCIES, NO_EMBEDDING, PBLD, PLR, SIZES, WIDTHS
from ._kernels.tables import EMBEDDED, Tables
from ._tables import TableEncoding

__all__ = ["EMBEDDINGS", "initial_embeddings", "kernel_tables", "network_inputs"]

#: ``numeric_embedding`` -> the kernels' code.
EMBEDDINGS = {None: NO_EMBEDDING, "pbld": PBLD, "plr": PLR}


def network_inputs(encoding: TableEncoding, embedding_dim: int) -> tuple[int, int, int]:
    """``(n_inputs, n_tables, n_numeric)``: the network's input width (numeric values or
    their embeddings, the other dense values, embedded vectors, one-hot inputs), and the
    values of one network's categorical tables and numeric embeddings."""
    kinds, levels = encoding.lookups()
    embedded = kinds == EMBEDDED
    kind = EMBEDDINGS[encoding.numeric_embedding_]
    n_num = encoding.n_numeric if kind != NO_EMBEDDING else 0
    n_inputs = (
        encoding.n_dense
        + n_num * (WIDTHS[kind] - 1)
        + embedding_dim * int(embedded.sum())
        + int(levels[~embedded].sum())
    )
    n_tables = int(((levels[embedded] + 1) * embedding_dim).sum())
    return n_inputs, n_tables, n_num * SIZES[kind]


def kernel_tables(encoding: TableEncoding, embedding_dim: int, layout) -> Tables | None:
    """What the kernels take (:class:`~sknn_train._kernels.tables.Tables`), or None
    when no column is looked up and no value embedded (the passes then compile without
    the lookups). Offsets from ``layout`` (a member's)."""
    kinds, levels = encoding.lookups()
    kind = EMBEDDINGS[encoding.numeric_embedding_]
    if kinds.size == 0 and kind == NO_EMBEDDING:
        return None
    n_num = encoding.n_numeric if kind != NO_EMBEDDING else 0
    n_in = encoding.n_dense + n_num * (WIDTHS[kind] - 1)
    onehot = 0
    table = layout.table_off
    units, tables, dims = [], [], []
    for how, k in zip(kinds.tolist(), levels.tolist()):
        if how == EMBEDDED:
            units.append(n_in)
            tables.append(table)
            dims.append(embedding_dim)
            n_in += embedding_dim
            table += (k + 1) * embedding_dim
        else:
            units.append(onehot)
            tables.append(-1)
            dims.append(0)
            onehot += k
    as_int = np.int64
    return Tables(
        as_int(encoding.n_dense),
        as_int(n_in),
        kinds.astype(np.int64),
        levels.astype(np.int64),
        np.array(units, dtype=np.int64),
        np.array(tables, dtype=np.int64),
        np.array(dims, dtype=np.int64),
        as_int(n_num),
        as_int(kind),
        as_int(layout.numeric_off),
    )


def initial_embeddings(tables: Tables | None, layout, sigma: float, rng) -> tuple:
    """One network's categorical tables (N(0, 1) draws, the slots' rows zero) and
    numeric embeddings (SPEC 5.5's draws), from ``rng`` in that order."""
    values = np.zeros(layout.n_tables)
    numeric = np.zeros(layout.n_numeric)
    if tables is None:
        return values, numeric
    for c in np.flatnonzero(tables.kind == EMBEDDED):
        lo = int(tables.table[c]) - layout.table_off
        k, dim = int(tables.levels[c]), int(tables.dim[c])
        values[lo : lo + k * dim] = rng.standard_normal(k * dim)
    kind, size = int(tables.num_kind), SIZES[int(tables.num_kind)]
    bound = 0.25  # 1 / sqrt(16): V and c uniform in +-1/4
    for j in range(int(tables.n_num)):
        p = numeric[j * size : (j + 1) * size]
        n_freq = FREQUENCIES[kind]
        p[:n_freq] = rng.normal(0.0, sigma, n_freq)  # w
        first = n_freq  # where V, then c, start
        if kind == PBLD:
            p[n_freq : 2 * n_freq] = rng.uniform(-np.pi, np.pi, n_freq)  # b
            first = 2 * n_freq
        p[first:] = rng.uniform(-bound, bound, size - first)
    return values, numeric
