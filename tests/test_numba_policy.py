"""The numba policy: same options everywhere, at most two signatures per kernel."""

import numpy as np
import scipy.sparse as sp

from conftest import classification, regression
from sknn_train import MLPClassifier, MLPRegressor, _jit


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
    assert not {"nnan", "ninf", "fast"} & set(_jit.FASTMATH)


def test_at_most_two_signatures_whatever_the_input():
    X, y = classification(n_samples=60)
    Xr, yr = regression(n_samples=60)
    readonly = X.copy()
    readonly.setflags(write=False)  # as joblib's memory maps in parallel searches
    inputs = [
        readonly,
        X.round().astype(np.int64),
        X.astype(np.float32),
        X,
        X.tolist(),
        np.asfortranarray(X),
        sp.csr_matrix(X),
        sp.csc_matrix(X.astype(np.float32)),
    ]
    for Xi in inputs:
        for solver in ("adam", "sgd", "lbfgs"):
            clf = MLPClassifier((5, 4), solver=solver, max_iter=2, random_state=0)
            clf.fit(Xi, y).predict_proba(Xi)
            reg = MLPRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=2, random_state=0, alpha=0)
            reg.fit(Xi, yr).predict(Xi)
        MLPClassifier((3,), max_iter=2, early_stopping=True).fit(Xi, y)
    compiled = {d.py_func.__name__: len(d.signatures) for d in _jit.KERNELS}
    assert compiled["run_epoch"] == 2 and compiled["evaluate"] == 2
    assert compiled["full_loss_grad"] == 2
    too_many = {name: n for name, n in compiled.items() if n > 2}
    assert not too_many, too_many
