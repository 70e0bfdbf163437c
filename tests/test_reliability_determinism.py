"""Reliability, determinism and persistence: the same seed gives the same weights.

Bit-identical weights across runs, processes, parallel grid searches, float32
and float64; pickle and joblib files that predict the same in another process
(both ways); pickles from another version, or with a corrupted layout, that say
so. The figures these tests measure are collected in ``docs/reliability.rst``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
from conftest import EST_IDS, OURS, _data, _outputs, _quiet, _run_python
from sklearn.model_selection import GridSearchCV

import sknn_train
from sknn_train import MLPClassifier, MLPRegressor


# =========================================================== 5. determinism
def _weights_digest(est):
    h = hashlib.sha256()
    for a in est.coefs_ + est.intercepts_:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _determinism_data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 6)
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    return X, y


def _determinism_models():
    common = dict(random_state=7, max_iter=8, dropout=0.3, input_dropout=0.1, batch_size=32)
    return {
        "clf-adam": MLPClassifier((10, 6, 10), residual=True, **common),
        "reg-sgd": MLPRegressor(
            hidden_layer_sizes=(12,),
            solver="sgd",
            max_grad_norm=1.0,
            learning_rate_init=0.05,
            **common,
        ),
    }


def _fit_determinism_model(name, dtype, random_state=7):
    X, y = _determinism_data()
    est = _determinism_models()[name].set_params(random_state=random_state)
    target = y if isinstance(est, MLPClassifier) else X @ np.arange(6.0)
    with _quiet():
        return est.fit(X.astype(dtype), target)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_weights_in_process(dtype):
    for name in _determinism_models():
        a = _fit_determinism_model(name, dtype)
        b = _fit_determinism_model(name, dtype)
        assert a._theta.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a._theta, b._theta)
        assert a.loss_curve_ == b.loss_curve_
        # the seed matters: another one gives other weights
        c = _fit_determinism_model(name, dtype, random_state=8)
        assert not np.array_equal(a._theta, c._theta)


_OTHER_PROCESS = """
import hashlib, json, pickle, sys, warnings
import joblib, numpy as np
sys.path.insert(0, {tests!r})
import test_reliability_determinism as t
warnings.simplefilter("ignore")
out = {{"digests": {{}}}}
for name in t._determinism_models():
    for dtype in ("float32", "float64"):
        out["digests"][f"{{name}}-{{dtype}}"] = t._weights_digest(
            t._fit_determinism_model(name, dtype))
X = np.load({folder!r} + "/X.npy")
for fmt, load in (("pickle", lambda f: pickle.load(f)), ("joblib", joblib.load)):
    with open({folder!r} + f"/model.{{fmt}}", "rb") as f:
        est = load(f)
    np.save({folder!r} + f"/pred-{{fmt}}.npy", t._outputs(est, X))
    np.save({folder!r} + f"/label-{{fmt}}.npy", est.predict(X))
est = t._fit_determinism_model("clf-adam", "float64")
with open({folder!r} + "/theirs.pickle", "wb") as f:
    pickle.dump(est, f)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def other_process(tmp_path_factory):
    """One fresh interpreter: weight digests, and loading / saving pickles."""
    import json

    folder = tmp_path_factory.mktemp("other_process")
    est = _fit_determinism_model("clf-adam", "float64")
    X = _determinism_data()[0]
    np.save(folder / "X.npy", X)
    with open(folder / "model.pickle", "wb") as f:
        pickle.dump(est, f)
    joblib.dump(est, folder / "model.joblib")
    code = _OTHER_PROCESS.format(tests=os.path.dirname(__file__), folder=str(folder))
    out = json.loads(_run_python(code).strip().splitlines()[-1])
    return dict(folder=folder, est=est, X=X, **out)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_weights_across_processes(other_process, dtype):
    for name in _determinism_models():
        here = _weights_digest(_fit_determinism_model(name, dtype))
        assert other_process["digests"][f"{name}-{dtype}"] == here, name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grid_search_parallel_is_deterministic(dtype):
    X, y = _determinism_data()
    X = X.astype(dtype)
    base = MLPClassifier((8,), max_iter=6, batch_size=16, random_state=3)
    grid = {"dropout": [0.1, 0.4], "alpha": [1e-4, 1e-1]}

    def search(n_jobs):
        with _quiet():
            return GridSearchCV(base, grid, cv=3, n_jobs=n_jobs).fit(X, y)

    first, second, serial = search(2), search(2), search(1)
    keys = [k for k in first.cv_results_ if "_test_" in k or k == "params"]
    assert "split2_test_score" in keys
    for k in keys:
        for other in (second, serial):
            a, b = first.cv_results_[k], other.cv_results_[k]
            if k == "params":
                assert a == b
            else:
                np.testing.assert_array_equal(a, b, err_msg=k)
    assert first.best_params_["dropout"] > 0
    with _quiet():
        plain = MLPClassifier(
            (8,), max_iter=6, batch_size=16, random_state=3, **first.best_params_
        ).fit(X, y)
    assert first.best_estimator_._theta.dtype == dtype
    np.testing.assert_array_equal(first.best_estimator_._theta, plain._theta)
    np.testing.assert_array_equal(second.best_estimator_._theta, plain._theta)


# ========================================================= 9. persistence
def test_pickle_and_joblib_round_trip_across_processes(other_process):
    est, X, folder = other_process["est"], other_process["X"], other_process["folder"]
    for fmt in ("pickle", "joblib"):
        np.testing.assert_array_equal(np.load(folder / f"pred-{fmt}.npy"), _outputs(est, X))
        np.testing.assert_array_equal(np.load(folder / f"label-{fmt}.npy"), est.predict(X))
    # the other direction: a model fitted and pickled there predicts the same here
    with open(folder / "theirs.pickle", "rb") as f:
        theirs = pickle.load(f)
    np.testing.assert_array_equal(_outputs(theirs, X), _outputs(est, X))
    np.testing.assert_array_equal(theirs._theta, est._theta)


def _reloaded_state(est, **changes):
    state = pickle.loads(pickle.dumps(est)).__getstate__()
    state.update(changes)
    return state


@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_pickle_from_another_version_warns_and_predicts(Est):
    X, y = _data(Est)
    with _quiet():
        est = Est(hidden_layer_sizes=(5, 4), max_iter=5, random_state=0).fit(X, y)
    state = _reloaded_state(est, _sknn_train_version="0.0.1")
    new = Est.__new__(Est)
    with pytest.warns(UserWarning) as rec:
        new.__setstate__(state)
    msgs = [str(w.message) for w in rec]
    assert any("0.0.1" in m and sknn_train.__version__ in m for m in msgs), msgs
    np.testing.assert_array_equal(_outputs(new, X), _outputs(est, X))
    np.testing.assert_array_equal(new.predict(X), est.predict(X))
    # the same version loads silently
    same = Est.__new__(Est)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same.__setstate__(_reloaded_state(est))
    np.testing.assert_array_equal(_outputs(same, X), _outputs(est, X))


_CORRUPTIONS = {
    "coef-column-dropped": lambda s: s["coefs_"].__setitem__(0, s["coefs_"][0][:, :-1]),
    "coef-transposed": lambda s: s["coefs_"].__setitem__(1, s["coefs_"][1].T),
    "intercept-too-long": lambda s: s["intercepts_"].__setitem__(
        1, np.append(s["intercepts_"][1], 0.0)
    ),
    # one array fewer: the layer count no longer matches
    "intercept-missing": lambda s: s["intercepts_"].pop(),
    "coef-missing": lambda s: s["coefs_"].pop(),
}


@pytest.mark.parametrize("corruption", list(_CORRUPTIONS))
@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_pickle_with_corrupted_layout_names_both_versions(Est, corruption):
    X, y = _data(Est)
    with _quiet():
        est = Est(hidden_layer_sizes=(5, 4), max_iter=5, random_state=0).fit(X, y)
    for version in ("0.0.1", sknn_train.__version__):
        state = _reloaded_state(est, _sknn_train_version=version)
        state["coefs_"] = list(state["coefs_"])
        state["intercepts_"] = list(state["intercepts_"])
        _CORRUPTIONS[corruption](state)
        new = Est.__new__(Est)
        with pytest.raises(ValueError) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            new.__setstate__(state)
        msg = str(info.value)
        assert msg.startswith(f"Cannot load this {Est.__name__}"), msg
        assert f"saved with sknn_train {version}" in msg, msg
        assert f"this is sknn_train {sknn_train.__version__}" in msg, msg
