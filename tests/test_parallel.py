"""An ensemble's members on several threads (``n_jobs``): bit-identical to one
thread, safe from several Python threads at once, interruptible, and never more
threads than the caller may use."""

import concurrent.futures
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import _run_python, classification, quiet_fit, regression, small_table
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_info, threadpool_limits

from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier, _parallel, _train


@pytest.fixture
def every_epoch_parallel(monkeypatch):
    """Members on their threads however small the epoch (the test data is); the
    thread counts the trainers asked for, recorded."""
    monkeypatch.setattr(_train, "PARALLEL_MIN_MACS", 0)
    asked = []

    def run_parts(part, n_parts, n_threads):
        asked.append(n_threads)
        return _parallel.run_parts(part, n_parts, n_threads)

    monkeypatch.setattr(_train, "run_parts", run_parts)
    return asked


def _fitted_state(est):
    """Everything a fit leaves that depends on its arithmetic."""
    state = [*est.coefs_, *est.intercepts_, np.asarray(getattr(est, "loss_curve_", [est.loss_]))]
    for name in ("input_scale_", "numeric_embeddings_", "embedding_tables_"):
        if getattr(est, name, None) is not None:
            state.append(np.asarray(getattr(est, name)))
    return state


def _assert_same_fit(a, b):
    for x, y in zip(_fitted_state(a), _fitted_state(b), strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert a.n_iter_ == b.n_iter_


CASES = {
    "adam": dict(),
    "sgd-nesterov": dict(solver="sgd", momentum=0.9),
    "dropout-clip": dict(dropout=0.2, input_dropout=0.1, max_grad_norm=0.5),
    "recipe": dict(input_scaling=True, lr_schedule="cosine", weight_decay=1e-2),
    "early-stopping": dict(early_stopping=True, n_iter_no_change=3),
    "lbfgs": dict(solver="lbfgs"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_members_on_threads_fit_as_on_one(every_epoch_parallel, case, dtype):
    X, y = classification(n_samples=120)
    X = X.astype(dtype)
    kw = dict(hidden_layer_sizes=(12, 8), max_iter=6, n_ensemble=3, random_state=0, **CASES[case])
    one = quiet_fit(MLPClassifier(n_jobs=1, **kw), X, y)
    assert set(every_epoch_parallel) == {1}
    for n_jobs in (2, 3, -1):
        every_epoch_parallel.clear()
        _assert_same_fit(one, quiet_fit(MLPClassifier(n_jobs=n_jobs, **kw), X, y))
        assert set(every_epoch_parallel) == {min(3, _parallel.fit_threads(n_jobs, 3))}
    np.testing.assert_array_equal(
        one.predict_proba(X), MLPClassifier(n_jobs=2, **kw).fit(X, y).predict_proba(X)
    )


def test_sparse_regression_and_partial_fit_on_threads(every_epoch_parallel):
    X, y = regression(n_samples=90)
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    kw = dict(hidden_layer_sizes=(10,), max_iter=5, n_ensemble=2, random_state=1)
    _assert_same_fit(
        quiet_fit(MLPRegressor(n_jobs=1, **kw), Xs, y),
        quiet_fit(MLPRegressor(n_jobs=2, **kw), Xs, y),
    )
    one, two = MLPRegressor(n_jobs=1, **kw), MLPRegressor(n_jobs=2, **kw)
    for start in range(0, 90, 30):
        one.partial_fit(X[start : start + 30], y[start : start + 30])
        two.partial_fit(X[start : start + 30], y[start : start + 30])
    _assert_same_fit(one, two)


def test_tabular_defaults_on_a_frame_on_threads(every_epoch_parallel):
    frame, y = small_table()
    kw = dict(max_iter=4, random_state=0, numeric_embedding="pbld", n_ensemble=3)
    _assert_same_fit(
        quiet_fit(TabularMLPClassifier(n_jobs=1, **kw), frame, y),
        quiet_fit(TabularMLPClassifier(n_jobs=2, **kw), frame, y),
    )


def test_fits_from_several_python_threads(every_epoch_parallel):
    """joblib's threading backend and dask's threaded workers call fit from
    several threads at once; each fit may still put its members on threads."""
    X, y = classification(n_samples=100)
    kws = [
        dict(hidden_layer_sizes=(8,), max_iter=5, n_ensemble=2, random_state=seed, n_jobs=n_jobs)
        for seed in range(3)
        for n_jobs in (None, 2)
    ]
    alone = [quiet_fit(MLPClassifier(**kw), X, y) for kw in kws]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda kw: quiet_fit(MLPClassifier(**kw), X, y), kws))
    for a, b in zip(alone, together, strict=True):
        _assert_same_fit(a, b)


def test_thread_counts():
    assert _parallel.fit_threads(None, 1) == 1  # nothing to run beside
    assert _parallel.fit_threads(3, 2) == 2  # never more than the parts
    assert _parallel.fit_threads(1, 8) == 1
    assert _parallel.fit_threads(-1, 64) == _parallel._openmp_effective_n_threads()
    with threadpool_limits(1, user_api="openmp"):  # the caller's limit, as joblib sets it
        assert _parallel.fit_threads(None, 8) == 1
    seen = []
    worker = threading.Thread(target=lambda: seen.append(_parallel.fit_threads(None, 8)))
    worker.start()
    worker.join()
    assert seen == [1]  # called beside other fits: their threads are the caller's
    assert [list(r) for r in _parallel.groups(5, 2)] == [[0, 1, 2], [3, 4]]
    assert [list(r) for r in _parallel.groups(2, 8)] == [[0], [1]]


def test_n_jobs_zero_is_invalid():
    X, y = classification()
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        MLPClassifier(n_jobs=0).fit(X, y)


def test_an_interruption_waits_for_the_other_threads():
    """Ctrl-C reaches the calling thread; it must not return while another
    thread still writes the buffers the parts share."""
    finished = []

    def part(k, slot):
        if slot == 0:
            raise KeyboardInterrupt
        time.sleep(0.2)
        finished.append(k)
        return k

    with pytest.raises(KeyboardInterrupt):
        _parallel.run_parts(part, 2, 2)
    assert finished == [1]


def test_an_error_on_another_thread_reaches_the_caller():
    def part(k, slot):
        if k == 1:
            raise ValueError("member 1 failed")
        return k

    with pytest.raises(ValueError, match="member 1 failed"):
        _parallel.run_parts(part, 2, 2)
    assert _parallel.run_parts(lambda k, slot: (k, slot), 3, 2) == [(0, 0), (1, 0), (2, 1)]


def test_search_workers_get_their_share_of_the_cores():
    """joblib's process workers limit OpenMP to their share of the cores; a fit in
    one starts no more threads than that share."""
    joblib = pytest.importorskip("joblib")
    share = max(1, joblib.cpu_count() // 2)
    counts = joblib.Parallel(n_jobs=2)(
        joblib.delayed(_parallel.fit_threads)(None, 64) for _ in range(2)
    )
    assert counts == [share, share]


def test_thread_counts_without_scikit_learns_private_helper():
    """scikit-learn's OpenMP count is private: where it is gone, the CPUs and
    OMP_NUM_THREADS decide."""
    out = _run_python(
        """
        import importlib, os
        import sklearn.utils._openmp_helpers as helpers
        from sknn_train import _parallel
        del helpers._openmp_effective_n_threads  # the import fails
        os.environ["OMP_NUM_THREADS"] = "1"
        _parallel = importlib.reload(_parallel)
        print(_parallel.fit_threads(None, 8), _parallel.fit_threads(3, 8),
              _parallel.fit_threads(-1, 64) == (os.cpu_count() or 1))
        """
    )
    assert out.split() == ["1", "3", "True"]


def test_members_take_one_blas_thread_whatever_n_jobs(monkeypatch):
    """A BLAS's last bits can depend on its thread count: an ensemble's members
    take one BLAS thread each on one thread too, so n_jobs changes no result."""
    monkeypatch.delenv("SKNN_TRAIN_BLAS_THREADS", raising=False)  # the default rule
    seen = []
    real = _train.run_epoch

    def spy(*args, **kwargs):
        seen.append({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
        return real(*args, **kwargs)

    monkeypatch.setattr(_train, "run_epoch", spy)
    X, y = regression(n_samples=600)
    X = np.hstack([X] * 4)  # products large enough for a second BLAS thread
    kw = dict(hidden_layer_sizes=(256, 256), batch_size=200, max_iter=2, n_ensemble=2)
    with threadpool_limits(2, user_api="blas"):
        quiet_fit(MLPRegressor(n_jobs=1, random_state=0, **kw), X, y)
        assert seen and all(counts == {1} for counts in seen)
        seen.clear()
        quiet_fit(MLPRegressor(**{**kw, "n_ensemble": 1}), X, y)
        assert {2} in seen  # a single network's large products keep both
