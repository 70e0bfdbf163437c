"""A training epoch, a full-batch loss and gradient, or an evaluation, from Python.

:func:`run_epoch`, :func:`full_loss_grad` and :func:`evaluate` are the
plain-Python faces of the compiled pass
:func:`~sknn_train._kernels.passes.run_pass`: they fill in the arguments their
pass does not use, choose the tier (:mod:`~sknn_train._kernels.tiers`) and
compile (or load) the pass once before its first call.
"""

import numpy as np

from .._jit import compile_once
from .passes import (
    PASS_ALIVE,
    PASS_GRADIENT,
    PASS_LOSS,
    PASS_PREDICT,
    PASS_TRAIN,
    run_pass,
)
from .step import (
    DIAG_BATCHES,
    DIAG_CLIPPED,
    DIAG_LAYERS,
    DIAG_NORM,
    Hyper,
    make_hyper,
)
from .tiers import ON, check_tier, needed_tier, tier_name

__all__ = [
    "DIAG_BATCHES",
    "DIAG_CLIPPED",
    "DIAG_LAYERS",
    "DIAG_NORM",
    "PASS_ALIVE",
    "PASS_GRADIENT",
    "PASS_LOSS",
    "PASS_PREDICT",
    "PASS_TRAIN",
    "Hyper",
    "evaluate",
    "full_loss_grad",
    "make_hyper",
    "run_epoch",
    "run_pass",
]


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
    tier=None,
    tables=None,
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
    tier : Tier or None, default=None
        The compiled tier (:mod:`~sknn_train._kernels.tiers`); at least what
        the arguments need, else a ValueError. None: the smallest that
        computes them.
    tables : Tables or None, default=None
        Which columns of ``x`` are category codes
        (:class:`~sknn_train._kernels.tables.Tables`); None: every column is
        an input (see :func:`run_pass`).

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
        tier=tier,
        tables=tables,
    )


def full_loss_grad(
    x,
    data,
    indices,
    indptr,
    is_sparse,
    y,
    sw,
    chunk,
    theta,
    grad,
    net,
    work,
    hyper,
    ensemble=None,
    tier=None,
    tables=None,
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
    tier : Tier or None, default=None
        The compiled tier (:mod:`~sknn_train._kernels.tiers`); at least what
        the arguments need, else a ValueError. None: the smallest that
        computes them.
    tables : Tables or None, default=None
        Which columns of ``x`` are category codes
        (:class:`~sknn_train._kernels.tables.Tables`); None: every column is
        an input (see :func:`run_pass`).

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
        tier=tier,
        tables=tables,
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
    tier=None,
    tables=None,
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
    tier : Tier or None, default=None
        The compiled tier (:mod:`~sknn_train._kernels.tiers`); at least what
        the arguments need, else a ValueError. None: the smallest that
        computes them.
    tables : Tables or None, default=None
        Which columns of ``x`` are category codes
        (:class:`~sknn_train._kernels.tables.Tables`); None: every column is
        an input (see :func:`run_pass`).

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
        tier=tier,
        tables=tables,
    )


def _run(*args, tier, tables):
    """``run_pass`` on ``args`` (every argument but the tiers) in ``tier``, compiled
    (or loaded) once across processes first.

    One specialisation per dtype, form and tier: a single network
    (``ensemble`` None), independent members and a batch ensemble (whose
    ties, ``ties``, the other two forms compile without) are compiled apart,
    and so is each tier, each the first time a fit needs it.
    """
    is_sparse, net, ensemble, hyper = args[5], args[16], args[17], args[19]
    if tier is None:
        tier = needed_tier(net, hyper, is_sparse)
    else:
        check_tier(tier, net, hyper, is_sparse)
    ties = ON if ensemble is not None and ensemble.shared_weights_end > 0 else None
    args = pass_arguments(args, ties, tier, tables)
    dtype = args[11].dtype  # theta's
    form = "single" if ensemble is None else "batch" if ties is not None else "independent"
    lookups = " with category lookups" if tables is not None else ""
    what = f"{dtype} {_FORM_NAMES[form]} ({tier_name(tier)}){lookups}"
    compile_once(run_pass, args, (dtype, form, tier, tables is not None), what)
    return run_pass(*args)


_FORM_NAMES = {
    "single": "training and prediction",
    "independent": "ensemble",
    "batch": "batch ensemble",
}


def pass_arguments(args, ties, tier, tables):
    """``run_pass``'s arguments: ``args`` (all but the compile-time ones) with
    ``ties``, the tier's two and ``tables`` inserted after ``ensemble``."""
    return (*args[:18], ties, *tier, tables, *args[18:])


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
