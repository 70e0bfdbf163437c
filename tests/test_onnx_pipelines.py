"""ONNX export of SmoothClipScaler and of pipelines mixing sknn_train and scikit-learn steps.

The scaler's graph is the plain formula ``x' / sqrt(1 + (x' / w)**2)`` where
``transform`` computes ``w / hypot(1, w / |x'|)``: both are within a few units
in the last place of the exact value, so onnxruntime is held to 4 machine
epsilons relative (float32 and float64). The TabularMLPClassifier steps keep
their defaults (a calibration temperature included).
Classifiers are exported with ``zipmap=False`` (probabilities as a tensor):
skl2onnx's ZipMap takes float32 probabilities only, so a double graph needs it.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import skl2onnx
from conftest import classification, quiet_fit
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.pipeline import make_pipeline

import sknn_train.onnx
from sknn_train import TabularMLPClassifier
from sknn_train.preprocessing import SmoothClipScaler

DTYPES = [np.float32, np.float64]


def _session(onx):
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(onx, X):
    return _session(onx).run(None, {onx.graph.input[0].name: X})


def _scaler_data(dtype, seed=0):
    """Columns: normal with outliers, constant, quartiles coincide (75 % equal), heavy tail,
    and one spanning most of the float range."""
    rng = np.random.RandomState(seed)
    n = 200
    big = np.finfo(dtype).max / 8
    normal = rng.randn(n)
    normal[:6] = [40.0, -65.0, 1e4, -3e5, 1e12, 7.5]
    coincide = np.full(n, 2.0)
    coincide[:50] = rng.randn(50) * 5
    wide = rng.randn(n) * 1e3
    wide[:4] = [big, -big, big / 3, -1e-30]
    X = np.column_stack([normal, np.full(n, -3.25), coincide, rng.lognormal(0, 3, n), wide])
    return X.astype(dtype)


def _unseen_rows(dtype):
    """Rows beyond the training data: huge, tiny and signed values, up to the float limits."""
    top = np.finfo(dtype).max
    tiny = np.finfo(dtype).tiny
    values = [0.0, -0.0, tiny, -tiny, 1e-3, -7.0, 1e6, -1e6, top, -top, top / 2, -top / 3]
    return np.array([[v, -v, v, v * 0.5, -v] for v in values], dtype=dtype)


def _check_scaled(got, expected, dtype, width):
    eps = np.finfo(dtype).eps
    assert got.dtype == dtype and got.shape == expected.shape
    assert np.all(np.isfinite(got)) and np.all(np.abs(got) < dtype(width))
    np.testing.assert_allclose(got, expected, rtol=4 * eps, atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("clip_width", [3.0, 0.25, 1e3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_smooth_clip_scaler_matches_transform(dtype, clip_width):
    X = _scaler_data(dtype)
    scaler = SmoothClipScaler(clip_width=clip_width).fit(X)
    # the cases the issue names: a constant column and coinciding quartiles
    assert scaler.scale_[1] == 0.0
    q25, q75 = np.percentile(X[:, 2].astype(np.float64), [25, 75])
    assert q25 == q75 and scaler.scale_[2] > 0
    onx = sknn_train.onnx.to_onnx(scaler, X[:1])
    onnx.checker.check_model(onx)
    expected_type = onnx.TensorProto.DOUBLE if dtype == np.float64 else onnx.TensorProto.FLOAT
    assert onx.graph.output[0].type.tensor_type.elem_type == expected_type
    for rows in (X, _unseen_rows(dtype)):
        (got,) = _run(onx, rows)
        with np.errstate(over="ignore", invalid="ignore"):  # scikit-learn's finiteness check
            expected = scaler.transform(rows)  # sums the rows: max + -max
        _check_scaled(got, expected, dtype, clip_width)


def test_smooth_clip_scaler_saturates_like_transform():
    """Far outliers give the largest value below clip_width, as transform does."""
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    scaler = SmoothClipScaler().fit(X)
    rows = np.array([[1e9], [-1e9], [1e300], [-1e300], [np.finfo(np.float64).max]])
    (got,) = _run(sknn_train.onnx.to_onnx(scaler, rows[:1]), rows)
    below = np.nextafter(3.0, 0.0)
    np.testing.assert_array_equal(got.ravel(), [below, -below, below, -below, below])
    np.testing.assert_array_equal(got, scaler.transform(rows))


def test_smooth_clip_scaler_integer_input():
    """An int64 input is cast to float, as skl2onnx's own scalers do."""
    X = np.arange(40, dtype=np.int64).reshape(20, 2) ** 2
    scaler = SmoothClipScaler().fit(X)
    onx = sknn_train.onnx.to_onnx(scaler, X[:1])
    (got,) = _run(onx, X)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, scaler.transform(X.astype(np.float32)), rtol=4e-7)


def _convert(how, model, X, **kwargs):
    if how == "skl2onnx.to_onnx":
        return skl2onnx.to_onnx(model, X[:1], **kwargs)
    if how == "skl2onnx.convert_sklearn":
        tensor = DoubleTensorType if X.dtype == np.float64 else FloatTensorType
        initial_types = [("X", tensor([None, X.shape[1]]))]
        return skl2onnx.convert_sklearn(model, initial_types=initial_types, **kwargs)
    return sknn_train.onnx.to_onnx(model, X[:1], **kwargs)


@pytest.mark.parametrize(
    "how", ["skl2onnx.to_onnx", "skl2onnx.convert_sklearn", "sknn_train.onnx.to_onnx"]
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_smooth_clip_tabular_pipeline(dtype, how):
    X, y = classification(3)
    X = (X * np.array([1, 10, 100, 1, 1, 1e3, 1, 1])).astype(dtype)
    X[:3, 0] = [1e5, -1e6, 1e7]  # outliers
    pipe = make_pipeline(
        SmoothClipScaler(),
        TabularMLPClassifier(max_iter=8, random_state=0),
    )
    quiet_fit(pipe, X, y)
    onx = _convert(how, pipe, X, options={"zipmap": False})
    onnx.checker.check_model(onx)
    label, proba = _run(onx, X)
    assert proba.dtype == dtype
    np.testing.assert_array_equal(label, pipe.predict(X))
    if dtype == np.float32:
        np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-4, atol=1e-6)
    else:
        np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-10, atol=1e-12)


def test_smooth_clip_pipeline_default_zipmap():
    """skl2onnx's default classifier output (one {class: probability} per row), float32."""
    X, y = classification(3)
    X = X.astype(np.float32)
    labels = np.array(["low", "mid", "high"])[y]
    pipe = make_pipeline(
        SmoothClipScaler(clip_width=2.0),
        TabularMLPClassifier(max_iter=8, random_state=0),
    )
    quiet_fit(pipe, X, labels)
    label, zipmap = _run(skl2onnx.to_onnx(pipe, X[:1]), X)
    proba = np.array([[row[c] for c in pipe.classes_] for row in zipmap])
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-4, atol=1e-6)


# A fresh interpreter: no other test's registration can hide a missing one. Before
# `import sknn_train.onnx` skl2onnx refuses the pipelines; after it, its own to_onnx
# and convert_sklearn convert them, with no other call.
_FRESH_PROCESS = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    import onnxruntime as ort
    import skl2onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sknn_train import TabularMLPClassifier, TabularMLPRegressor
    from sknn_train.preprocessing import SmoothClipScaler

    rng = np.random.RandomState(0)
    n = 200
    X = np.column_stack(
        [rng.randn(n, 2), rng.lognormal(0, 2, n) * 100, rng.randn(n), rng.randint(0, 4, n)]
    )
    X[:3, 2] = [1e6, 3e7, -5e5]
    y_class = (X[:, 0] + X[:, 4] > 1.5).astype(int)
    y_reg = X[:, 0] - np.log1p(np.abs(X[:, 2])) + X[:, 4]

    def preprocessor():
        return ColumnTransformer(
            [
                ("smooth", SmoothClipScaler(), [0, 2]),
                ("std", StandardScaler(), [1, 3]),
                ("cat", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), [4]),
            ]
        )

    def run(onx, Xd):
        sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(None, {"X": Xd})

    out = {}
    for dtype in (np.float32, np.float64):
        Xd = X.astype(dtype)
        clf = make_pipeline(
            preprocessor(), TabularMLPClassifier(max_iter=5, random_state=0)
        )
        reg = make_pipeline(preprocessor(), TabularMLPRegressor(max_iter=5, random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(Xd, y_class)
            reg.fit(Xd, y_reg)
        if dtype == np.float32:
            try:
                skl2onnx.to_onnx(clf, Xd[:1], options={"zipmap": False})
                out["before_import"] = "converted"
            except Exception as exc:
                out["before_import"] = type(exc).__name__
            import sknn_train.onnx  # noqa: F401  (registers the converters)
        tensor = DoubleTensorType if dtype == np.float64 else FloatTensorType
        for how in ("to_onnx", "convert_sklearn"):
            for name, model in (("clf", clf), ("reg", reg)):
                options = {"zipmap": False} if name == "clf" else None
                if how == "to_onnx":
                    onx = skl2onnx.to_onnx(model, Xd[:1], options=options)
                else:
                    onx = skl2onnx.convert_sklearn(
                        model,
                        initial_types=[("X", tensor([None, Xd.shape[1]]))],
                        options=options,
                    )
                key = f"{np.dtype(dtype).name} {how} {name}"
                if name == "clf":
                    label, proba = run(onx, Xd)
                    out[key] = {
                        "dtype": str(proba.dtype),
                        "labels_equal": bool(np.array_equal(label, clf.predict(Xd))),
                        "error": float(np.abs(proba - clf.predict_proba(Xd)).max()),
                    }
                else:
                    (pred,) = run(onx, Xd)
                    expected = reg.predict(Xd)
                    out[key] = {
                        "dtype": str(pred.dtype),
                        "error": float(
                            np.max(np.abs(pred.ravel() - expected) / (1 + np.abs(expected)))
                        ),
                    }
    print(json.dumps(out))
    """
)


def test_skl2onnx_converts_after_import_in_fresh_process():
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out.pop("before_import") == "MissingShapeCalculator"
    assert len(out) == 8
    for key, result in out.items():
        dtype, _, kind = key.split()
        assert result["dtype"] == dtype, key
        if kind == "clf":
            assert result["labels_equal"], key
        assert result["error"] < (1e-4 if dtype == "float32" else 1e-10), (key, result)
