"""An ensemble's members on several cores: how many threads a fit takes, and the
pool that runs them.

Independent members meet once per epoch (the validation score), so each can
own a core for a whole epoch. The kernels release the GIL (``nogil``), so
plain Python threads run them in parallel; numba's own threading layers are
never entered (its default one aborts when two threads enter it at once,
which joblib's threading backend and dask's threaded workers would do).

A fit that runs alone takes the cores as scikit-learn's OpenMP estimators do
(``OMP_NUM_THREADS``, threadpoolctl's ``openmp`` limit and the process's CPU
quota, which joblib's process workers set to their share of the cores); a fit
called from any thread but the main one (joblib's threading backend, dask's
threaded workers, an application's worker thread) runs its members on that
thread, since its caller already runs others beside it. ``n_jobs`` overrides
both.

Every member's epoch is its own compiled call with its own sums, and the
members' results are combined in member order whichever thread ran them:
one thread or eight, the fit is bit-identical.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

try:  # scikit-learn's own count (OpenMP's limit, OMP_NUM_THREADS, the CPU quota)
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
except ImportError:  # a private helper: if it moves, the CPUs and OMP_NUM_THREADS

    def _openmp_effective_n_threads(n_threads=None, only_physical_cores=True):
        cpus = os.cpu_count() or 1
        if n_threads is None:
            value = os.environ.get("OMP_NUM_THREADS", "")
            return int(value) if value.isdigit() and int(value) > 0 else cpus
        return n_threads if n_threads > 0 else max(1, cpus + 1 + n_threads)


#: Multiply-adds of one member's epoch (or gradient) below which its members
#: run on the calling thread: handing a call to another thread costs tens of
#: microseconds, more than such a call (a ``partial_fit`` on a few rows) takes.
PARALLEL_MIN_MACS = 2_000_000

_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def fit_threads(n_jobs: int | None, n_parallel: int) -> int:
    """Threads a fit of ``n_parallel`` independent parts (members) runs on.

    ``n_jobs`` None: the cores OpenMP may use when called from the main
    thread, else 1; a positive number: that many; a negative one: the cores
    plus one plus it (-1: all), scikit-learn's convention. Never more than
    ``n_parallel``.
    """
    if n_parallel < 2:
        return 1
    if n_jobs is None:
        if threading.current_thread() is not threading.main_thread():
            return 1
        n_jobs = _openmp_effective_n_threads()
    else:
        n_jobs = _openmp_effective_n_threads(n_jobs)
    return max(1, min(int(n_jobs), n_parallel))


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """The process's worker threads (started on first use, kept for later fits)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            workers = max(os.cpu_count() or 1, 2)
            _POOL = concurrent.futures.ThreadPoolExecutor(workers, "sknn_train-member")
        return _POOL


def _forget_pool() -> None:
    # a forked child has none of its parent's threads: it starts its own pool
    global _POOL, _POOL_LOCK
    _POOL = None
    _POOL_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def groups(n_parts: int, n_threads: int) -> list[range]:
    """``range(n_parts)`` cut into ``n_threads`` contiguous runs as equal as they
    come (the first ones one longer)."""
    n_threads = max(1, min(n_threads, n_parts))
    size, extra = divmod(n_parts, n_threads)
    out, lo = [], 0
    for g in range(n_threads):
        hi = lo + size + (g < extra)
        out.append(range(lo, hi))
        lo = hi
    return out


def run_parts(part: Callable[[int, int], T], n_parts: int, n_threads: int) -> list[T]:
    """``[part(k, slot) for k in range(n_parts)]``, the parts cut into ``n_threads``
    runs, each on its own thread (the first on the calling one).

    ``slot`` numbers the run, so a part can use the run's own workspace. The
    results come back in part order. An interruption (Ctrl-C) or an error on
    the calling thread waits for the other runs to finish their current
    parts before it propagates: when it reaches the caller, no thread is
    still writing the buffers the parts share.
    """
    runs = groups(n_parts, n_threads)
    if len(runs) == 1:
        return [part(k, 0) for k in range(n_parts)]

    def run(slot: int) -> list[T]:
        return [part(k, slot) for k in runs[slot]]

    pool = _pool()
    futures = [pool.submit(run, slot) for slot in range(1, len(runs))]
    try:
        results = run(0)
        for future in futures:
            results.extend(future.result())
    except BaseException:
        _wait_all(futures)
        raise
    return results


def _wait_all(futures: Sequence[concurrent.futures.Future]) -> None:
    """Wait for ``futures`` whatever arrives meanwhile (a second Ctrl-C included)."""
    while True:
        try:
            concurrent.futures.wait(futures)
            return
        except KeyboardInterrupt:
            continue
