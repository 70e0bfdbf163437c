"""The numba policy: one decorator, one cache switch, one set of fastmath flags.

Every compiled kernel in :mod:`sknn_train._kernels` is created with :func:`kernel`,
so the options are identical everywhere and a test can check them from
:data:`KERNELS`.

Caching is on by default (a second process loads the compiled kernels instead
of compiling them again). Set ``SKNN_TRAIN_NO_CACHE=1`` to switch it off.
"""

from __future__ import annotations

import os

import numba

__all__ = ["CACHE", "FASTMATH", "KERNELS", "kernel", "OPTIONS"]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


#: Whether compiled kernels are written to / loaded from numba's on-disk cache.
CACHE: bool = not _env_flag("SKNN_TRAIN_NO_CACHE")

#: Fast-math flags without ``nnan``/``ninf``: NaN and inf must still propagate so
#: that divergence is detected instead of silently producing garbage.
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}

#: The options given to every kernel.
OPTIONS = dict(cache=CACHE, nogil=True, fastmath=FASTMATH, error_model="numpy")

#: Every dispatcher created by :func:`kernel`, for the numba-policy test.
KERNELS: list = []


def kernel(func):
    """Compile ``func`` with the project's numba options and register it."""
    dispatcher = numba.njit(**OPTIONS)(func)
    KERNELS.append(dispatcher)
    return dispatcher


def cache_status():
    """Where numba caches the kernels and how many index files are there."""
    import pathlib

    override = os.environ.get("NUMBA_CACHE_DIR")
    here = pathlib.Path(__file__).parent / "_kernels"
    where = pathlib.Path(override) if override else here / "__pycache__"
    n_files = len(list(where.rglob("*.nbi"))) if where.exists() else 0
    return str(where), n_files


def warmup():
    """Compile (or load from the cache) every kernel for float32 and float64."""
    import warnings

    import numpy as np

    from ._mlp import MLPClassifier

    rng = np.random.RandomState(0)
    X = rng.rand(8, 3)
    y = np.arange(8) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dtype in (np.float64, np.float32):
            for solver in ("adam", "lbfgs"):
                MLPClassifier((2,), solver=solver, max_iter=1, random_state=0).fit(
                    X.astype(dtype), y
                ).predict(X.astype(dtype))
