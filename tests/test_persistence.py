"""Saving and loading fitted estimators: pickle, joblib and skops.io.

Every estimator is dumped here and loaded again in a fresh interpreter
(``sys.executable -c``), which must predict exactly (``np.array_equal``) what
the original does. One subprocess loads every file, so the suite starts Python
once.
"""

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio  # noqa: E402
from conftest import classification, regression

from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier, TabularMLPRegressor

ROOT = Path(__file__).resolve().parents[1]

# What skops.io does not trust by default in a fitted sknn_train estimator: the
# estimator class itself, nothing else (LabelBinarizer, RandomState, ndarrays
# and the optimizer's plain arrays are trusted by skops).
EXPECTED_UNTRUSTED = {
    "sknn_train._mlp.MLPClassifier",
    "sknn_train._mlp.MLPRegressor",
    "sknn_train._tabular.TabularMLPClassifier",
    "sknn_train._tabular.TabularMLPRegressor",
}

COMMON = dict(max_iter=15, random_state=0)
CASES = {
    # residual + dropout + early stopping, adam
    "clf-es": lambda: MLPClassifier(
        (8, 6, 8),
        residual=True,
        dropout=0.1,
        input_dropout=0.05,
        early_stopping=True,
        activation="gelu",
        n_iter_no_change=3,
        **COMMON,
    ),
    "reg-es": lambda: MLPRegressor(
        hidden_layer_sizes=(8, 6, 8),
        residual=True,
        dropout=0.1,
        early_stopping=True,
        activation="silu",
        n_iter_no_change=3,
        **COMMON,
    ),
    # no early stopping: the optimizer state is kept for partial_fit
    "clf-sgd": lambda: MLPClassifier((8, 6, 8), residual=True, dropout=0.2, solver="sgd", **COMMON),
    "reg-lbfgs": lambda: MLPRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", max_grad_norm=1.0, **COMMON
    ),
    # the tabular recipe (SPEC 4): the input scaling is fitted state too
    "clf-recipe": lambda: MLPClassifier(
        (8, 8),
        activation="selu",
        lr_schedule="coslog4",
        warmup_fraction=0.1,
        weight_decay=0.01,
        label_smoothing=0.1,
        class_weight="balanced",
        input_scaling=True,
        restore_best_weights=True,
        validation_metric="neg_log_loss",
        output_init="zeros",
        **COMMON,
    ),
    "reg-recipe": lambda: MLPRegressor(
        hidden_layer_sizes=(8,),
        activation="mish",
        input_scaling=True,
        lr_schedule="cosine",
        weight_decay=0.01,
        normalize_y=True,
        **COMMON,
    ),
    # the recipe's estimators, their defaults on a smaller network
    "clf-tabular": lambda: TabularMLPClassifier((8, 8), **COMMON),
    "reg-tabular": lambda: TabularMLPRegressor(hidden_layer_sizes=(8, 8), **COMMON),
    "clf-ensemble": lambda: MLPClassifier((8,), n_ensemble=3, **COMMON),
    "reg-batch-ensemble": lambda: TabularMLPRegressor(
        hidden_layer_sizes=(8, 8), n_ensemble=3, ensemble="batch", **COMMON
    ),
}
DTYPES = {"f32": np.float32, "f64": np.float64}
FORMATS = ("pickle", "joblib", "skops")


def _data(case, dtype):
    if case.startswith("clf"):
        X, y = classification(3)
        y = np.array(["a", "b", "c"])[y]
    else:
        X, y = regression(2)
    return X.astype(dtype), y


def _fitted(case, dtype):
    X, y = _data(case, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CASES[case]().fit(X, y)
    assert est.coefs_[0].dtype == dtype
    return est, X


def _dump(est, path, fmt):
    if fmt == "pickle":
        with open(path, "wb") as f:
            pickle.dump(est, f)
    elif fmt == "joblib":
        joblib.dump(est, path)
    else:
        sio.dump(est, path)


def _predictions(est, X):
    out = {"predict": est.predict(X)}
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    return out


# What the subprocess runs: load each file its way, predict, save the results.
LOADER = r"""
import json, pickle, sys, warnings
import joblib, numpy as np
warnings.simplefilter("error", UserWarning)  # e.g. a version-mismatch warning
jobs = json.load(open(sys.argv[1]))
for job in jobs:
    if job["fmt"] == "pickle":
        with open(job["path"], "rb") as f:
            est = pickle.load(f)
    elif job["fmt"] == "joblib":
        est = joblib.load(job["path"])
    else:
        import skops.io as sio
        untrusted = sio.get_untrusted_types(file=job["path"])
        est = sio.load(job["path"], trusted=untrusted)
    X = np.load(job["X"])
    out = {"predict": est.predict(X)}
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    np.savez(job["out"], **out)
print("loaded", len(jobs))
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Fit every case, dump it in every format, load all in one subprocess."""
    tmp = tmp_path_factory.mktemp("persist")
    jobs, expected = [], {}
    for case in CASES:
        for dname, dtype in DTYPES.items():
            est, X = _fitted(case, dtype)
            np.save(tmp / f"{case}-{dname}-X.npy", X)
            for fmt in FORMATS:
                key = f"{case}-{dname}-{fmt}"
                path = tmp / f"{key}.bin"
                _dump(est, path, fmt)
                expected[key] = _predictions(est, X)
                jobs.append(
                    {
                        "fmt": fmt,
                        "path": str(path),
                        "X": str(tmp / f"{case}-{dname}-X.npy"),
                        "out": str(tmp / f"{key}-out.npz"),
                    }
                )
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
    )
    proc = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp / "jobs.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"loaded {len(jobs)}" in proc.stdout
    return tmp, expected


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dname", list(DTYPES))
@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_in_another_process(saved, case, dname, fmt):
    tmp, expected = saved
    key = f"{case}-{dname}-{fmt}"
    got = np.load(tmp / f"{key}-out.npz", allow_pickle=False)
    want = expected[key]
    assert set(got.files) == set(want)
    for name, value in want.items():
        assert got[name].dtype == value.dtype, name
        assert np.array_equal(got[name], value), name


@pytest.mark.parametrize("dname", list(DTYPES))
@pytest.mark.parametrize("case", list(CASES))
def test_skops_untrusted_types(tmp_path, case, dname):
    est, X = _fitted(case, DTYPES[dname])
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = set(sio.get_untrusted_types(file=path))
    # the estimator's class must always be trusted; the rest is internal state
    assert f"{type(est).__module__}.{type(est).__name__}" in untrusted
    assert untrusted <= EXPECTED_UNTRUSTED, untrusted - EXPECTED_UNTRUSTED
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)
    loaded = sio.load(path, trusted=sorted(untrusted))
    assert type(loaded) is type(est)
    for name, value in _predictions(est, X).items():
        assert np.array_equal(getattr(loaded, name)(X), value), name


@pytest.mark.parametrize("fmt", FORMATS)
def test_training_continues_identically_after_load(tmp_path, fmt):
    """Optimizer moments and the random state survive: partial_fit after a load
    gives the same weights as partial_fit on the original."""
    est, X = _fitted("clf-sgd", np.float64)
    _, y = _data("clf-sgd", np.float64)
    path = tmp_path / "model.bin"
    _dump(est, path, fmt)
    if fmt == "pickle":
        with open(path, "rb") as f:
            loaded = pickle.load(f)
    elif fmt == "joblib":
        loaded = joblib.load(path)
    else:
        loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    for _ in range(2):
        est.partial_fit(X, y)
        loaded.partial_fit(X, y)
    for a, b in zip(est.coefs_ + est.intercepts_, loaded.coefs_ + loaded.intercepts_):
        assert np.array_equal(a, b)
    assert np.array_equal(est.predict_proba(X), loaded.predict_proba(X))
