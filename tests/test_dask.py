"""Running on a dask cluster: joblib's dask backend, dask-ml's Incremental, the kernel cache.

One ``LocalCluster`` of two single-threaded worker processes on loopback, shared
by the module. The cache test runs first, on workers that have not trained yet.
"""

import time
import warnings

import dask.array as da  # noqa: E402
import dask_ml.wrappers as dask_ml_wrappers  # noqa: E402
import distributed  # noqa: E402
import joblib  # noqa: E402
import numpy as np
import pytest
from conftest import classification  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

import sknn_train._jit  # noqa: E402
from sknn_train import MLPClassifier  # noqa: E402

N_WORKERS = 2


@pytest.fixture(scope="module")
def warm_cache():
    """Compile (or load) every kernel here first, so that the on-disk cache is filled."""
    sknn_train.warmup()
    return sknn_train._jit.cache_status()


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=N_WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as client:
        client.wait_for_workers(N_WORKERS, timeout=60)
        yield client


def _worker_kernel_report():
    """Run on a worker: is the kernel cache warm, and how long does a first fit take?

    client.run pickles this function by reference, so the worker imports this
    module (and sknn_train) before calling it; numba loads kernels lazily, at
    their first call, so the fit below is the first to need them.
    """
    jit = sknn_train._jit
    where, n_warm = jit.cache_status()
    # nothing compiled or loaded in this process yet: the fit below starts cold
    fresh = sum(len(d.overloads) for d in jit.KERNELS) == 0
    rng = np.random.RandomState(0)
    X = rng.rand(40, 4)
    y = np.arange(40) % 2
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y).predict(X)
    return {
        "fresh": fresh,
        "where": where,
        "n_warm": n_warm,
        "fit_s": time.perf_counter() - t0,
    }


def test_workers_reuse_kernel_cache(warm_cache, client):
    where, n_warm = warm_cache
    # the parent process has the kernels cached (the session fixture warmed them)
    assert sknn_train._jit.CACHE and n_warm > 0, where
    reports = client.run(_worker_kernel_report)
    if not all(r["fresh"] for r in reports.values()):
        client.restart()  # another test trained on them first: start clean ones
        reports = client.run(_worker_kernel_report)
    assert len(reports) == N_WORKERS
    for addr, r in reports.items():
        assert r["fresh"], (addr, r)
        assert r["where"] == where, (addr, r)
        assert r["n_warm"] == n_warm, (addr, r)  # every kernel cached here is there
        # loaded from the cache, not compiled (compiling takes far longer)
        assert r["fit_s"] < 5.0, (addr, r)
    print({a: {k: r[k] for k in ("n_warm", "fit_s")} for a, r in reports.items()})


def _search():
    est = MLPClassifier((8, 6, 8), max_iter=15, random_state=0)
    grid = {"dropout": [0.0, 0.2], "residual": [False, True]}
    return GridSearchCV(est, grid, cv=3, n_jobs=-1)


def test_grid_search_on_dask_backend(client):
    X, y = classification(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with joblib.parallel_backend("dask"):
            on_dask = _search().fit(X, y)
        local = _search().fit(X, y)  # joblib's default backend (loky)
    assert len(on_dask.cv_results_["params"]) == 4
    assert on_dask.cv_results_["params"] == local.cv_results_["params"]
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(on_dask.predict(X), local.predict(X))


@pytest.mark.parametrize("shuffle_blocks", [False, True])
def test_incremental_equals_manual_partial_fit(client, shuffle_blocks):
    X, y = classification(3, n_samples=300)
    classes = np.unique(y)
    block = 60
    n_blocks = len(X) // block
    Xd = da.from_array(X, chunks=(block, X.shape[1]))
    yd = da.from_array(y, chunks=block)
    assert Xd.numblocks == (n_blocks, 1)
    est = MLPClassifier((8, 6, 8), residual=True, dropout=0.1, max_grad_norm=1.0, random_state=0)

    inc = dask_ml_wrappers.Incremental(
        est, scoring="accuracy", shuffle_blocks=shuffle_blocks, random_state=0
    )
    inc.fit(Xd, yd, classes=classes)
    fitted = inc.estimator_

    # the same by hand: dask-ml's block order, one partial_fit per block
    order = list(range(n_blocks))
    if shuffle_blocks:
        check_random_state(0).shuffle(order)
    manual = clone(est)
    for i in order:
        rows = slice(i * block, (i + 1) * block)
        manual.partial_fit(X[rows], y[rows], classes=classes)

    # one partial_fit (one loss_curve_ entry) per block, every sample seen once
    assert len(fitted.loss_curve_) == n_blocks == len(manual.loss_curve_)
    assert fitted.t_ == len(X) == manual.t_
    for a, b in zip(fitted.coefs_ + fitted.intercepts_, manual.coefs_ + manual.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(inc.predict(Xd).compute(), manual.predict(X))
    assert 0.0 <= inc.score(Xd, yd) <= 1.0
