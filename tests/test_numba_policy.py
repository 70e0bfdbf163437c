"""The numba policy: same options everywhere, at most two signatures per kernel and tier."""

import json
import os
import subprocess
import sys
import textwrap

from sknn_train import _jit


def test_every_kernel_has_the_project_options():
    assert len(_jit.KERNELS) >= 10
    expected = {k: v for k, v in _jit.OPTIONS.items() if k != "cache"}
    for dispatcher in _jit.KERNELS:
        name = dispatcher.py_func.__name__
        options = {k: dispatcher.targetoptions.get(k) for k in expected}
        assert options == expected, name
        # numba keeps cache=True as a file-backed cache object on the dispatcher
        assert (type(dispatcher._cache).__name__ == "FunctionCache") == _jit.CACHE, name
    # NaN / inf must keep propagating: no nnan / ninf fast-math flags.
    assert not {"nnan", "ninf", "fast", "reassoc"} & set(_jit.FASTMATH)


_FITS = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    import scipy.sparse as sp
    from sklearn.datasets import make_classification, make_regression
    from sknn_train import MLPClassifier, MLPRegressor, _jit

    warnings.simplefilter("ignore")
    X, y = make_classification(n_samples=60, n_features=6, random_state=0)
    Xr, yr = make_regression(n_samples=60, n_features=6, random_state=0)
    readonly = X.copy()
    readonly.setflags(write=False)  # as joblib's memory maps in parallel searches
    inputs = [readonly, X.round().astype(np.int64), X.astype(np.float32), X, X.tolist(),
              np.asfortranarray(X), sp.csr_matrix(X), sp.csc_matrix(X.astype(np.float32))]
    for Xi in inputs:
        for solver in ("adam", "sgd", "lbfgs"):
            extra = {} if solver == "lbfgs" else dict(dropout=0.2, input_dropout=0.1)
            MLPClassifier((5, 4, 5), solver=solver, max_iter=2, random_state=0,
                          residual=True, max_grad_norm=1.0, **extra
                          ).fit(Xi, y).predict_proba(Xi)
            MLPRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=2,
                         random_state=0, alpha=0, activation="gelu").fit(Xi, yr).predict(Xi)
        MLPClassifier((3,), max_iter=2, early_stopping=True,
                      validation_metric="loss").fit(Xi, y)
    def without_tiers(dispatcher):
        # the signatures but for the tier arguments: one per dtype
        names = dispatcher.py_func.__code__.co_varnames[: dispatcher.py_func.__code__.co_argcount]
        keep = [i for i, name in enumerate(names) if name not in ("recipe", "extras")]
        return {tuple(sig[i] for i in keep) for sig in dispatcher.signatures}

    print(json.dumps({d.py_func.__name__: [len(d.signatures), len(without_tiers(d))]
                      for d in _jit.KERNELS}))
    """
)


def test_at_most_two_signatures_whatever_the_input():
    # Caching off, in a fresh process: every kernel, also the helpers inlined
    # into the entry points, compiles for each signature it is called with.
    env = dict(os.environ, SKNN_TRAIN_NO_CACHE="1")
    out = subprocess.run(
        [sys.executable, "-c", _FITS], env=env, check=True, capture_output=True, text=True
    ).stdout
    compiled = json.loads(out.strip().splitlines()[-1])
    # one compiled entry point runs every pass (training, L-BFGS, evaluation),
    # per dtype and tier: these fits use the plain one and the everything one
    assert compiled["run_pass"] == [4, 2] and compiled["loss_and_delta"] == [2, 2]
    too_many = {name: n for name, (_, n) in compiled.items() if n > 2}
    assert not too_many, too_many
