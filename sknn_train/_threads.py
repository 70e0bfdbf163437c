"""How many BLAS threads a fit or a prediction uses (threadpoolctl, set directly)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from threadpoolctl import ThreadpoolController

if TYPE_CHECKING:
    from ._layout import Layout

_BLAS_LIBS: list[Any] | None = None


#: Multiply-adds of one batch's forward pass above which BLAS may use every
#: core: below it a second thread gains nothing and costs synchronisation.
BLAS_PARALLEL_MACS = 4_000_000


def _blas_threads(macs: int) -> int | None:
    """BLAS threads for work of ``macs`` multiply-adds per call (None: no limit)."""
    value = os.environ.get("SKNN_TRAIN_BLAS_THREADS", "auto").strip().lower()
    if value in {"all", "0", "none"}:
        return None
    if value in {"", "auto"}:
        return None if macs >= BLAS_PARALLEL_MACS else 1
    return max(1, int(value))


def batch_macs(layout: Layout, rows: int) -> int:
    """Multiply-adds of the forward pass of ``rows`` rows."""
    return int(rows) * layout.macs_per_row


#: A call whose forward passes come to fewer multiply-adds than this in all
#: leaves the BLAS threads as they are: setting and restoring the limits costs
#: tens of microseconds, more than such a call takes (a predict on a few rows).
SMALL_CALL_MACS = 1_000_000


def blas_threads(
    macs: int = 0, total_macs: int | None = None, parallel: int = 1
) -> contextlib.AbstractContextManager[None]:
    """BLAS threads for a fit or predict: one for small products, all for large ones.

    ``macs`` is the multiply-adds of one batch's (or chunk's) forward pass,
    ``total_macs`` those of the whole call's forward passes (None: unknown).

    Minibatch products of small layers gain nothing from a second BLAS thread
    and pay for its synchronisation; large ones (``BLAS_PARALLEL_MACS``
    multiply-adds per batch and more) run 1.3-1.5x faster on two cores of an
    idle machine. ``SKNN_TRAIN_BLAS_THREADS`` overrides the choice: a number,
    or ``all``. On a machine where other processes keep the cores busy,
    OpenBLAS threads that wait on each other can make an epoch many times
    slower (for scikit-learn's MLP too): set it to 1 there. The caller's
    settings are restored afterwards.

    ``parallel`` parts of a fit that may run on threads of their own (an
    ensemble's independent members, :mod:`~sknn_train._parallel`) get one
    BLAS thread each, however many threads run them: more would
    oversubscribe the cores the members fill, and a BLAS's result can depend
    on its thread count (OpenBLAS's does, in the last bits), which must not
    make the fit depend on ``n_jobs``.
    """
    if parallel > 1:
        return _shared_blas_limit(1)
    threads = _blas_threads(macs)
    if threads is None or (total_macs is not None and total_macs < SMALL_CALL_MACS):
        return contextlib.nullcontext()
    return _shared_blas_limit(threads)


_LIMIT_LOCK = threading.Lock()
_LIMIT_USERS = 0
_LIMIT_ORIGINAL: list[int] | None = None


def _blas_libraries() -> list[Any]:
    """threadpoolctl's controllers of the loaded BLAS libraries (found once)."""
    global _BLAS_LIBS
    if _BLAS_LIBS is None:
        _BLAS_LIBS = [
            lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"
        ]
    return _BLAS_LIBS


@contextlib.contextmanager
def _shared_blas_limit(threads: int) -> Iterator[None]:
    """One process-wide limit shared by overlapping fits (threads).

    The first fit to start sets the limit, the last one to end restores the
    caller's settings; nested or concurrent fits only count themselves in.
    (Separate limiters would restore each other's limit, leaving the process
    at one thread.)

    The BLAS libraries' thread counts are read and set directly, as
    ``ThreadpoolController.limit(limits=threads, user_api="blas")`` does:
    that call also collects every library's full description (versions,
    OpenMP too) each time, 15-20 us, which a partial_fit on a few hundred
    rows would pay on every call.
    """
    global _LIMIT_USERS, _LIMIT_ORIGINAL
    with _LIMIT_LOCK:
        if _LIMIT_USERS == 0:
            libs = _blas_libraries()
            _LIMIT_ORIGINAL = [lib.num_threads for lib in libs]
            for lib in libs:
                lib.set_num_threads(threads)
        _LIMIT_USERS += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT_USERS -= 1
            if _LIMIT_USERS == 0:
                original, _LIMIT_ORIGINAL = _LIMIT_ORIGINAL or [], None
                for lib, n in zip(_blas_libraries(), original):
                    lib.set_num_threads(n)
