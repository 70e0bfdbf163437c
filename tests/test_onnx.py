"""ONNX export (sknn_train.onnx): onnxruntime's outputs against predict / predict_proba.

Every activation of the table (``HIDDEN_ACTIVATIONS``) is exported and run.
float32 graphs run in onnxruntime for every activation. float64 graphs run in
onnxruntime for every activation but gelu (onnxruntime has no double ``Erf``)
at every opset: leaky_relu, elu, softplus, selu and mish are exported as
primitive ops that have double kernels. Every double graph is also checked
with onnx's reference evaluator, which runs all of them.
"""

import functools
import subprocess
import sys

import numpy as np
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pytest
import skl2onnx  # noqa: E402
from conftest import classification, multilabel, poisson, quiet_fit, regression  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sknn_train import MLPClassifier, MLPRegressor  # noqa: E402
from sknn_train._kernels.activations import HIDDEN_ACTIVATIONS  # noqa: E402
from sknn_train.onnx import register_converters, to_onnx  # noqa: E402
from sknn_train.preprocessing import SmoothClipScaler  # noqa: E402

ALL_ACTIVATIONS = sorted(HIDDEN_ACTIVATIONS)
# onnxruntime 1.32 CPU has no double Erf kernel (see the module doc).
ORT_NO_DOUBLE = {"gelu"}
ORT_DOUBLE = [a for a in ALL_ACTIVATIONS if a not in ORT_NO_DOUBLE]
# activations whose ONNX ops onnxruntime runs in float only (at most opsets): the
# export expands them into primitive ops
EXPANDED = {"leaky_relu": "LeakyRelu", "elu": "Elu", "softplus": "Softplus", "selu": "Selu"}
OPSETS = [None, 11, 13, 15, 17, 18, 21, skl2onnx.__max_supported_opset__]
DOUBLE_TOL = dict(rtol=1e-10, atol=1e-12)
NO_ZIPMAP = {"zipmap": False}


def _session(onx):
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def _check_proba(got, expected, dtype):
    if dtype == np.float32:
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def _run_classifier(clf, X, dtype, **kwargs):
    """Run the exported classifier in onnxruntime and compare with the estimator."""
    onx = to_onnx(clf, X[:1], options=NO_ZIPMAP, **kwargs)
    onnx.checker.check_model(onx)
    label, proba = _session(onx).run(None, {"X": X})
    assert proba.dtype == dtype
    _check_proba(proba, clf.predict_proba(X), dtype)
    np.testing.assert_array_equal(label, clf.predict(X))
    return onx, label


# ------------------------------------------------------- every activation
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_classifier_every_activation_float32(activation, residual):
    X, y = classification(3)
    X = X.astype(np.float32)
    # stem 8, then the block (6, 8) adds the stem's output: compatible widths.
    clf = MLPClassifier(
        (8, 6, 8), activation=activation, residual=residual, max_iter=20, random_state=0
    )
    quiet_fit(clf, X, y)
    assert clf.coefs_[0].dtype == np.float32
    onx, _ = _run_classifier(clf, X, np.float32)
    ops = [n.op_type for n in onx.graph.node]
    # one MatMul per weight matrix, and one residual Add per block
    assert ops.count("MatMul") == 4
    n_residual = sum(n.output[0].startswith("residual") for n in onx.graph.node)
    assert n_residual == (1 if residual else 0)


@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_regressor_every_activation_float64(activation):
    """Double graphs: onnx's reference evaluator always, onnxruntime where it can."""
    X, y = regression(2)
    reg = MLPRegressor(
        hidden_layer_sizes=(8, 6, 8, 6, 8),
        activation=activation,
        residual=True,
        max_iter=20,
        random_state=0,
    )
    quiet_fit(reg, X, y)
    expected = reg.predict(X)
    onx = to_onnx(reg, X[:1])
    onnx.checker.check_model(onx)
    assert onx.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    (ref,) = ReferenceEvaluator(onx).run(None, {"X": X})
    # loose: the reference evaluator's Erf is accurate to ~1e-7 only
    np.testing.assert_allclose(ref, expected, rtol=1e-6, atol=1e-6)

    if activation in ORT_NO_DOUBLE:
        with pytest.raises(Exception, match="NOT_IMPLEMENTED"):
            _session(onx)
        return
    (got,) = _session(onx).run(None, {"X": X})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, **DOUBLE_TOL)


@pytest.mark.parametrize("activation", ORT_DOUBLE)
def test_classifier_float64(activation):
    X, y = classification(3)
    clf = MLPClassifier(
        (8, 6, 8), activation=activation, residual=True, max_iter=20, random_state=0
    )
    quiet_fit(clf, X, y)
    _run_classifier(clf, X, np.float64)


@functools.cache
def _fitted_float64(kind, activation):
    if kind == "classifier":
        X, y = classification(3)
        est = MLPClassifier(
            (8, 6, 8), activation=activation, residual=True, max_iter=20, random_state=0
        )
    else:
        X, y = regression(2)
        est = MLPRegressor(
            hidden_layer_sizes=(8, 6, 8),
            activation=activation,
            residual=True,
            max_iter=20,
            random_state=0,
        )
    return quiet_fit(est, X, y), X


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("activation", sorted(EXPANDED))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_float64_expanded_activation_every_opset(kind, activation, opset):
    """Double graphs of the activations onnxruntime lacks double kernels for, at the
    caller's target_opset: primitive ops, the float64 constants exact."""
    est, X = _fitted_float64(kind, activation)
    kwargs = {} if opset is None else {"target_opset": opset}
    if kind == "classifier":
        kwargs["options"] = NO_ZIPMAP
    onx = to_onnx(est, X[:1], **kwargs)
    onnx.checker.check_model(onx)
    if opset is not None:
        assert {o.domain: o.version for o in onx.opset_import}[""] <= opset
    if kind == "classifier":
        label, proba = _session(onx).run(None, {"X": X})
        assert proba.dtype == np.float64
        np.testing.assert_allclose(proba, est.predict_proba(X), **DOUBLE_TOL)
        np.testing.assert_array_equal(label, est.predict(X))
    else:
        (got,) = _session(onx).run(None, {"X": X})
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, est.predict(X), **DOUBLE_TOL)
    assert EXPANDED[activation] not in {n.op_type for n in onx.graph.node}


@pytest.mark.parametrize("activation", [*sorted(EXPANDED), "mish"])
def test_float64_activation_extreme_inputs(activation):
    """One unit between unit weights, so the graph computes f(x) itself: no overflow
    or cancellation from |x| = 1e-300 to 1e3."""
    ramp = np.logspace(-300, 3, 150)
    x = np.concatenate([-ramp, [0.0], ramp, np.linspace(-5.0, 5.0, 101)])
    X = x.reshape(-1, 1)
    reg = MLPRegressor(hidden_layer_sizes=(1,), activation=activation, max_iter=2, random_state=0)
    quiet_fit(reg, X[::10], x[::10])
    for weights in (*reg.coefs_, *reg.intercepts_):
        weights[...] = 1.0 if weights.ndim == 2 else 0.0
    expected = reg.predict(X)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(
        expected, HIDDEN_ACTIVATIONS[activation].reference(x), rtol=4 * eps, atol=0
    )
    (got,) = _session(to_onnx(reg, X[:1])).run(None, {"X": X})
    # relative to a few ulps, but absolute for softplus and mish below about -36,
    # where log(1 + exp(x)) rounds 1 + exp(x) (an ulp of 1 at most)
    np.testing.assert_allclose(got.ravel(), expected, rtol=4 * eps, atol=4 * eps)


# ------------------------------------------------------------- classifiers
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_string_classes(dtype):
    X, y = classification(2)
    X = X.astype(dtype)
    labels = np.array(["no", "yes"])[y]
    clf = MLPClassifier((10,), activation="tanh", max_iter=30, random_state=0)
    quiet_fit(clf, X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    _run_classifier(clf, X, dtype)


def test_binary_integer_classes_and_dropout():
    X, y = classification(2)
    X = X.astype(np.float32)
    y = np.where(y == 1, 7, -3)
    clf = MLPClassifier((12, 12), dropout=0.2, input_dropout=0.1, max_iter=20, random_state=0)
    quiet_fit(clf, X, y)
    onx, _ = _run_classifier(clf, X, np.float32)
    assert onx.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_multiclass_string_classes_residual():
    X, y = classification(4, n_samples=200)
    X = X.astype(np.float32)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    clf = MLPClassifier(
        (16, 8, 16, 8, 16), activation="gelu", residual=True, max_iter=20, random_state=0
    )
    quiet_fit(clf, X, labels)
    assert clf.out_activation_ == "softmax"
    _run_classifier(clf, X, np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multilabel(dtype):
    X, Y = multilabel()
    X = X.astype(dtype)
    clf = MLPClassifier((10, 10), activation="relu", max_iter=30, random_state=0)
    quiet_fit(clf, X, Y)
    _, label = _run_classifier(clf, X, dtype)
    assert label.shape == Y.shape and label.dtype == np.int64


@pytest.mark.parametrize("zipmap", [None, "columns"])
def test_zipmap_outputs(zipmap):
    """skl2onnx's default (a list of {class: probability}) and 'columns'."""
    X, y = classification(3)
    X = X.astype(np.float32)
    labels = np.array(["a", "b", "c"])[y]
    clf = quiet_fit(MLPClassifier((8,), max_iter=20, random_state=0), X, labels)
    options = None if zipmap is None else {"zipmap": zipmap}
    label, *rest = _session(to_onnx(clf, X[:1], options=options)).run(None, {"X": X[:5]})
    np.testing.assert_array_equal(label, clf.predict(X[:5]))
    if zipmap is None:
        proba = np.array([[m[c] for c in clf.classes_] for m in rest[0]])
    else:
        proba = np.column_stack(rest)
    np.testing.assert_allclose(proba, clf.predict_proba(X[:5]), rtol=1e-4, atol=1e-6)


def test_output_class_labels_option():
    X, y = classification(3)
    X = X.astype(np.float32)
    clf = quiet_fit(MLPClassifier((8,), max_iter=20, random_state=0), X, y)
    onx = to_onnx(clf, X[:1], options={"zipmap": False, "output_class_labels": True})
    label, proba, classes = _session(onx).run(None, {"X": X})
    np.testing.assert_array_equal(classes, clf.classes_)
    np.testing.assert_array_equal(label, clf.predict(X))


def test_pipeline_with_scaler():
    X, y = classification(3)
    X = X.astype(np.float32) * 10 + 3
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=30, random_state=0))
    quiet_fit(pipe, X, y)
    onx = to_onnx(pipe, X[:1], options={id(pipe[-1]): NO_ZIPMAP})
    label, proba = _session(onx).run(None, {"X": X})
    np.testing.assert_array_equal(label, pipe.predict(X))
    # the scaler runs in float32 in ONNX and in float64 in scikit-learn
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-4, atol=1e-5)


# -------------------------------------------------------------- regressors
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["single", "multi", "poisson"])
def test_regressor(kind, dtype):
    if kind == "poisson":
        X, y = poisson()
        reg = MLPRegressor(
            loss="poisson",
            hidden_layer_sizes=(8, 6, 8),
            residual=True,
            activation="tanh",
            max_iter=30,
            random_state=0,
        )
    else:
        X, y = regression(3 if kind == "multi" else 1)
        reg = MLPRegressor(hidden_layer_sizes=(8,), activation="silu", max_iter=30, random_state=0)
    X = X.astype(dtype)
    quiet_fit(reg, X, y)
    onx = to_onnx(reg, X[:1])
    onnx.checker.check_model(onx)
    ops = {n.op_type for n in onx.graph.node}
    assert ("Exp" in ops) == (kind == "poisson")
    (got,) = _session(onx).run(None, {"X": X})
    assert got.dtype == dtype and got.shape == (len(X), reg.n_outputs_)
    expected = reg.predict(X).reshape(len(X), -1)
    if dtype == np.float32:
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_float32_model_float64_input():
    """The graph computes in the input's type; a float32 model's weights are upcast."""
    X, y = regression(1)
    reg = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0), X.astype(np.float32), y
    )
    (got,) = _session(to_onnx(reg, X[:1])).run(None, {"X": X})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.ravel(), reg.predict(X), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------ registration
def test_register_is_idempotent():
    register_converters()
    register_converters()

    assert skl2onnx.get_model_alias(MLPClassifier) == "SknnTrainMLPClassifier"
    assert skl2onnx.get_model_alias(MLPRegressor) == "SknnTrainMLPRegressor"
    assert skl2onnx.get_model_alias(SmoothClipScaler) == "SknnTrainSmoothClipScaler"


def test_import_without_skl2onnx():
    """The module imports without skl2onnx; using it names the extra to install."""
    code = (
        "import sys\n"
        "sys.modules['skl2onnx'] = None\n"
        "import sknn_train.onnx as m\n"
        "try:\n"
        "    m.to_onnx(None, None)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install sknn_train[onnx]" in out
