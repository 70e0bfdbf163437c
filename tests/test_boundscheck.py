"""Every kernel path under numba's bounds checking.

With ``NUMBA_BOUNDSCHECK=1`` an index outside an array raises IndexError instead
of reading or writing someone else's memory. Cached kernels were compiled without
the checks, so the subprocess also switches the cache off and compiles everything
(about 25 s, unoptimised): one process covers dense / CSR / CSC input, float32 / float64,
every solver, residual blocks, dropout, clipping, early stopping, partial_fit,
every activation and the regressor's losses, and shows that the checks are on by
provoking an out-of-bounds read in a kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import warnings
    import numpy as np
    import scipy.sparse as sp
    from numba.core import config
    from sknn_train import MLPClassifier, MLPRegressor, _jit
    from sknn_train._kernels.activations import HIDDEN_ACTIVATIONS
    from sknn_train._kernels.epoch import run_epoch
    from sknn_train._warmup import tiny_problem

    assert config.BOUNDSCHECK and not _jit.CACHE
    warnings.simplefilter("ignore")
    rng = np.random.RandomState(0)
    X = rng.randn(23, 5)
    X[rng.rand(23, 5) < 0.5] = 0.0
    yc = rng.randint(0, 3, 23)
    Y_multi = rng.randint(0, 2, (23, 3))
    yr = rng.randn(23, 2)
    counts = rng.poisson(2.0, 23).astype(float)
    fits = 0
    for dtype in (np.float64, np.float32):
        for Xi in (X.astype(dtype), sp.csr_matrix(X.astype(dtype)),
                   sp.csc_matrix(X.astype(dtype))):
            for solver in ("adam", "sgd", "lbfgs"):
                drop = {} if solver == "lbfgs" else dict(dropout=[0.3, 0.1, 0.2],
                                                         input_dropout=0.2)
                clf = MLPClassifier((4, 3, 4), solver=solver, residual=True,
                                    max_grad_norm=0.5, batch_size=7, max_iter=3,
                                    random_state=0, activation="gelu", **drop).fit(Xi, yc)
                assert np.isfinite(clf.predict_proba(Xi)).all()
                ml = MLPClassifier((6,), solver=solver, max_iter=2, random_state=0,
                                   batch_size=10).fit(Xi, Y_multi)
                assert ml.predict(Xi).shape == (23, 3)
                reg = MLPRegressor(hidden_layer_sizes=(6, 5), solver=solver, max_iter=3,
                                   random_state=0, batch_size=10, alpha=1e-2,
                                   **({} if solver == "lbfgs" else {"dropout": 0.4})
                                   ).fit(Xi, yr, sample_weight=rng.rand(23))
                assert np.isfinite(reg.predict(Xi)).all()
                poisson = MLPRegressor(loss="poisson", hidden_layer_sizes=(3,),
                                       solver=solver, max_iter=2, random_state=0).fit(Xi, counts)
                assert np.isfinite(poisson.predict(Xi)).all()
                fits += 4
                if solver != "lbfgs":
                    pf = MLPClassifier((4,), solver=solver, random_state=0, batch_size=5,
                                       dropout=0.2)
                    for k in range(3):
                        pf.partial_fit(Xi[k:], yc[k:], classes=[0, 1, 2])
                    assert np.isfinite(pf.predict_proba(Xi)).all()
                    fits += 3
            for metric in ("score", "loss"):
                MLPClassifier((4, 4, 4), residual=True, early_stopping=True, max_iter=4,
                              validation_metric=metric, random_state=0,
                              dropout=0.1).fit(Xi, yc).predict(Xi)
                MLPRegressor(hidden_layer_sizes=(3,), early_stopping=True, max_iter=4,
                             validation_metric=metric, random_state=0,
                             n_init=2).fit(Xi, yr[:, 0]).predict(Xi)
                fits += 2
    for act in sorted(HIDDEN_ACTIVATIONS):  # activation codes are run-time values
        MLPRegressor(hidden_layer_sizes=(3, 2), activation=act, max_iter=2,
                     random_state=0).fit(X, yr).predict(X)
        fits += 1
    print("fits", fits)

    # The checks are really on: a row index past the end of x (4 rows) must raise.
    p = tiny_problem(np.float64)
    th = p["theta"]
    try:
        run_epoch(*p["data"].args(), p["y"], p["sw"], np.array([1, 4]), 2, th,
                  np.empty_like(th), np.zeros_like(th), np.zeros_like(th),
                  np.zeros(1, dtype=np.int64), p["net"], p["work"], p["hyper"], np.zeros(5))
    except IndexError as exc:
        print("IndexError:", exc)
    else:
        raise SystemExit("an epoch read past the end of x without an IndexError")
    """
)


def test_all_kernel_paths_under_numba_boundscheck(tmp_path):
    # NUMBA_OPT=0: LLVM's optimisation passes are most of the compile time, and
    # they can only remove bounds checks, never add any (about 25 s instead of 40 s).
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", SKNN_TRAIN_NO_CACHE="1", NUMBA_OPT="0")
    env.pop("NUMBA_DISABLE_JIT", None)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # an out-of-bounds access in any kernel ends the script with an IndexError
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("fits ") and int(line.split()[1]) >= 100 for line in lines)
    assert "IndexError: index is out of bounds" in lines
