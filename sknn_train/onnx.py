"""Export fitted sknn_train estimators, SmoothClipScaler and pipelines to ONNX through skl2onnx.

Importing this module registers its converters with skl2onnx (when skl2onnx is
installed): :class:`MLPClassifier`, :class:`MLPRegressor`,
:class:`TabularMLPClassifier`, :class:`TabularMLPRegressor` and
:class:`~sknn_train.preprocessing.SmoothClipScaler`. From then on skl2onnx's
own ``to_onnx`` and ``convert_sklearn`` convert them, alone or in pipelines
with the steps skl2onnx converts itself (``StandardScaler``, ``OneHotEncoder``
in a ``ColumnTransformer``, ...). :func:`to_onnx` is ``skl2onnx.to_onnx``
after :func:`register_converters`.

The network converters rebuild the forward pass of the fitted network exactly as
``predict`` runs it (SPEC 2): per layer a ``MatMul`` and an ``Add`` of the bias,
the residual ``Add`` of a block's input where ``_prediction_net().skip[j] >= 0``,
then the layer's activation from ``_prediction_net().act``; dropout is not part
of the exported graph, as it is not part of ``predict``.

>>> import numpy as np
>>> import onnxruntime as ort
>>> from sklearn.datasets import load_iris
>>> from sknn_train import MLPClassifier
>>> from sknn_train.onnx import to_onnx
>>> X, y = load_iris(return_X_y=True)
>>> X = X.astype("float32")
>>> clf = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
>>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
>>> sess = ort.InferenceSession(onx.SerializeToString())
>>> label, proba = sess.run(None, {"X": X})
>>> bool((label == clf.predict(X)).all())
True
>>> bool(np.allclose(proba, clf.predict_proba(X), rtol=1e-4, atol=1e-6))
True

The classifier follows skl2onnx's classifier conventions: two outputs,
``label`` (int64 or string) and ``probabilities`` (``predict_proba``), with the
options ``zipmap`` (``True``, ``False``, ``'columns'``), ``output_class_labels``
and ``nocl``. A multilabel classifier's ``label`` is the ``(N, n_labels)`` int64
indicator matrix ``predict`` returns. The regressor has one output, ``variable``,
of shape ``(N, n_outputs)``. skl2onnx's ``ZipMap`` (the default ``zipmap=True``)
takes float32 probabilities only, as for scikit-learn's classifiers: export a
classifier in double with ``options={"zipmap": False}``.

The graph computes in the input's floating type (skl2onnx's convention,
:func:`skl2onnx.common.data_types.guess_numpy_type`): a float64 sample gives a
double graph with the weights in float64, anything else a float graph. Pass a
sample in the model's dtype (``coefs_[0].dtype``) to get the model's own
arithmetic.

Each hidden activation's nodes come from its ``onnx`` entry in the table of
activations (``sknn_train._kernels.activations.HIDDEN_ACTIVATIONS``).
``leaky_relu`` (``max(x, 0.01 x)``), ``elu`` and ``selu`` (through
``expm1(m) = tanh(m / 2) (exp(m) + 1)``, ``m = min(x, 0)``), ``softplus``
(``relu(x) + log(1 + exp(-|x|))``) and ``mish`` (``x tanh(softplus(x))``) are
expanded into primitive ops, with their constants in the graph's floating
type: no overflow, and onnxruntime (1.32, CPU) runs them in float and in
double at every opset from 9 to 22 (skl2onnx 1.20's latest), where its own
``LeakyRelu``, ``Elu``, ``Softplus``, ``Selu`` and ``Mish`` kernels are
float-only at most opsets. ``gelu`` is ``0.5 x (1 + erf(x / sqrt(2)))``:
onnxruntime has no double ``Erf`` kernel, so a double graph of ``gelu`` is
valid ONNX that it refuses to load (``NOT_IMPLEMENTED``); export a ``gelu``
network with a float32 sample.

:class:`~sknn_train.preprocessing.SmoothClipScaler` exports as
``x' = (x - median) c`` followed by ``x' / sqrt(1 + (x' / w)**2)``, the plain
formula where ``transform`` computes ``w / hypot(1, w / |x'|)`` (ONNX has no
``hypot``): onnxruntime's output is within 4 machine epsilons (relative) of
``transform``'s, in float32 and in float64. ``x' / w`` is clipped to
``+-2**60`` before it is squared (so no square overflows) and the output to the
largest value below ``w``, as ``transform`` bounds it; outliers far out
saturate as in ``transform``.

skl2onnx is an optional dependency: ``pip install sknn_train[onnx]``. This module
imports without it; the functions raise :class:`ImportError` when it is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._kernels.activations import (
    HIDDEN_ACTIVATIONS,
    OUT_EXP,
    OUT_IDENTITY,
    OUT_LOGISTIC,
    OUT_SOFTMAX,
)
from ._mlp import MLPClassifier, MLPRegressor
from ._onnx_tables import (
    encode_table,
    frame_types,
    smooth_clip_graph,
)
from ._onnx_tables import (
    has_encoder as _has_encoder,
)
from ._onnx_tables import (
    input_count as _input_count,
)
from ._onnx_tables import (
    model_type as _model_type,
)
from ._onnx_tables import (
    takes_columns as _takes_columns,
)
from ._tabular import TabularMLPClassifier, TabularMLPRegressor
from .preprocessing import SmoothClipScaler

if TYPE_CHECKING:
    import onnx

__all__ = ["register_converters", "to_onnx"]

_INSTALL_HINT = (
    "Exporting sknn_train models to ONNX needs skl2onnx and onnx; install them "
    "with: pip install sknn_train[onnx]"
)


_HIDDEN_BY_CODE = {a.code: a for a in HIDDEN_ACTIVATIONS.values()}
_registered = False


def _require_skl2onnx() -> Any:
    try:
        import onnx  # noqa: F401
        import skl2onnx
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return skl2onnx


def register_converters() -> None:
    """Register the sknn_train converters with skl2onnx (idempotent).

    After this call ``skl2onnx.to_onnx`` / ``convert_sklearn`` convert
    sknn_train's estimators and
    :class:`~sknn_train.preprocessing.SmoothClipScaler`, also inside
    pipelines. ``import sknn_train.onnx`` calls it already when skl2onnx is
    installed; calling it again does nothing.

    Raises
    ------
    ImportError
        When skl2onnx or onnx is not installed.

    See Also
    --------
    to_onnx : Register the converters and convert in one call.

    Examples
    --------
    >>> import numpy as np
    >>> import skl2onnx
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn_train import MLPRegressor
    >>> from sknn_train.onnx import register_converters
    >>> register_converters()
    >>> X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    >>> X = X.astype(np.float32)
    >>> pipe = make_pipeline(StandardScaler(),
    ...                      MLPRegressor(hidden_layer_sizes=(8,), max_iter=20,
    ...                                   random_state=0)).fit(X, y)
    >>> onx = skl2onnx.to_onnx(pipe, X[:1])
    >>> [output.name for output in onx.graph.output]
    ['variable']
    """
    global _registered
    skl2onnx = _require_skl2onnx()
    if _registered:
        return
    # skl2onnx looks converters up by exact type: the Tabular classes register too
    for classifier in (MLPClassifier, TabularMLPClassifier):
        skl2onnx.update_registered_converter(
            classifier,
            f"SknnTrain{classifier.__name__}",
            _classifier_shape,
            _convert_classifier,
            options={
                "zipmap": [True, False, "columns"],
                "output_class_labels": [False, True],
                "nocl": [True, False],
            },
        )
    for regressor in (MLPRegressor, TabularMLPRegressor):
        skl2onnx.update_registered_converter(
            regressor, f"SknnTrain{regressor.__name__}", _regressor_shape, _convert_regressor
        )
    skl2onnx.update_registered_converter(
        SmoothClipScaler, "SknnTrainSmoothClipScaler", _smooth_clip_shape, _convert_smooth_clip
    )
    _registered = True


def to_onnx(estimator: Any, X_sample: np.ndarray | None = None, **kwargs: Any) -> onnx.ModelProto:
    """Convert ``estimator`` (or a pipeline holding one) with :func:`skl2onnx.to_onnx`.

    The sknn_train converters are registered first (see
    :func:`register_converters`). The graph reproduces ``predict`` (and
    ``predict_proba``) of the fitted network, in the floating type of
    ``X_sample``.

    Parameters
    ----------
    estimator : estimator or pipeline
        A fitted sknn_train estimator, SmoothClipScaler, or a pipeline of them
        and of steps skl2onnx converts.
    X_sample : ndarray of shape (n_samples, n_features), default=None
        A few rows of input; their dtype decides the graph's floating type.
        Give ``initial_types`` instead to name the input yourself.
    **kwargs : dict
        Passed on to :func:`skl2onnx.to_onnx` (``options``, ``target_opset``,
        ``initial_types``, ...).

    Returns
    -------
    onnx.ModelProto
        The ONNX model; ``SerializeToString()`` gives what onnxruntime loads.

    Raises
    ------
    ImportError
        When skl2onnx or onnx is not installed.

    See Also
    --------
    register_converters : Make skl2onnx's own functions convert sknn_train models.
    skl2onnx.to_onnx : The conversion this calls.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknn_train import MLPClassifier
    >>> from sknn_train.onnx import to_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype("float32")
    >>> clf = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    >>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
    >>> [output.name for output in onx.graph.output]
    ['label', 'probabilities']
    """
    register_converters()
    import skl2onnx

    if _is_frame(X_sample) and "initial_types" not in kwargs and _has_encoder(estimator):
        # one input per column, text categories as strings (skl2onnx has no category type)
        kwargs["initial_types"] = frame_types(X_sample, estimator)
        X_sample = None
    return skl2onnx.to_onnx(estimator, X_sample, **kwargs)


def _is_frame(X: Any) -> bool:
    return hasattr(X, "dtypes") and hasattr(X, "columns")


# ----------------------------------------------------------------- shapes
def _float_types(input_type: Any) -> tuple[type[np.floating], Any]:
    """(numpy dtype, TensorType class) the graph computes in, from the input type."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        guess_numpy_type,
    )

    try:
        dtype = guess_numpy_type(input_type)
    except NotImplementedError:
        dtype = None
    if dtype == np.float64:
        return np.float64, DoubleTensorType
    return np.float32, FloatTensorType


def _label_kind(classes: Any) -> str:
    """'int' or 'str': how the classes travel as ONNX labels."""
    classes = np.asarray(classes)
    if classes.dtype == np.bool_ or np.issubdtype(classes.dtype, np.integer):
        return "int"
    if np.issubdtype(classes.dtype, np.floating):
        if not np.all(classes == np.round(classes)):
            raise NotImplementedError(
                "ONNX class labels are int64 or strings, but this classifier has "
                f"non-integer float classes {classes.tolist()}. Refit it on integer "
                "or string labels."
            )
        return "int"
    if all(isinstance(c, str) for c in classes.tolist()):
        return "str"
    raise NotImplementedError(
        f"ONNX class labels are int64 or strings; cannot export classes of dtype {classes.dtype}."
    )


def _is_multilabel(model: MLPClassifier) -> bool:
    return model._label_binarizer.y_type_ == "multilabel-indicator"


def _classifier_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from skl2onnx.common.utils import check_input_and_output_numbers
    from skl2onnx.common.utils_classifier import get_label_classes

    check_input_and_output_numbers(
        operator, input_count_range=_input_count(operator), output_count_range=2
    )
    model = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    classes = get_label_classes(operator.scope_inst, model)
    label_type = StringTensorType if _label_kind(classes) == "str" else Int64TensorType
    multilabel = _is_multilabel(model)
    operator.outputs[0].set_type(label_type([n, len(classes)] if multilabel else [n]))
    _, prob_type = _float_types(
        _model_type(model) if _takes_columns(operator) else operator.inputs[0].type
    )
    operator.outputs[1].set_type(prob_type([n, len(classes)]))


def _regressor_shape(operator: Any) -> None:
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(
        operator, input_count_range=_input_count(operator), output_count_range=1
    )
    out_type = _float_types(operator.inputs[0].type)[1]
    if _takes_columns(operator):
        out_type = _float_types(_model_type(operator.raw_operator))[1]
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].set_type(out_type([n, int(operator.raw_operator.n_outputs_)]))


def _smooth_clip_shape(operator: Any) -> None:
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    _, out_type = _float_types(operator.inputs[0].type)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].set_type(out_type([n, int(operator.raw_operator.n_features_in_)]))


# ------------------------------------------------------------- the graph
class _Graph:
    """Small helper adding nodes and initializers in one floating type."""

    def __init__(self, scope: Any, container: Any, dtype: type[np.floating]) -> None:
        from skl2onnx.common.data_types import (
            DoubleTensorType,
            FloatTensorType,
            guess_proto_type,
        )

        self.scope = scope
        self.container = container
        self.dtype = dtype
        tensor_type = DoubleTensorType if dtype == np.float64 else FloatTensorType
        self.proto = guess_proto_type(tensor_type())

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(hint)

    def const(self, hint: str, value: Any, shape: list[int] | None = None) -> str:
        value = np.asarray(value, dtype=self.dtype)
        name = self.name(hint)
        self.container.add_initializer(
            name, self.proto, list(value.shape if shape is None else shape), value.ravel()
        )
        return name

    def node(
        self,
        op_type: str,
        inputs: list[str],
        hint: str | None = None,
        output: str | None = None,
        **attrs: Any,
    ) -> str:
        output = output or self.name(hint or op_type.lower())
        self.container.add_node(
            op_type,
            list(inputs),
            [output],
            name=self.scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return output

    def hidden_activation(self, x: str, code: int) -> str:
        """``act(x)`` for hidden activation ``code``: the ``onnx`` entry of its table row
        (``_kernels/activations.HIDDEN_ACTIVATIONS``)."""
        activation = _HIDDEN_BY_CODE.get(int(code))
        if activation is None:
            raise NotImplementedError(f"No ONNX export for hidden activation code {code}.")
        return activation.onnx(self, x)

    def output_activation(self, x: str, code: int) -> str:
        """``act(x)`` for output activation ``code`` (``OUTPUT_ACTIVATIONS``)."""
        code = int(code)
        if code == OUT_IDENTITY:
            return x
        if code == OUT_LOGISTIC:
            return self.node("Sigmoid", [x])
        if code == OUT_EXP:
            return self.node("Exp", [x])
        if code == OUT_SOFTMAX:
            return self.node("Softmax", [x], axis=1)
        raise NotImplementedError(f"No ONNX export for output activation code {code}.")


def _forward(
    graph: _Graph, model: MLPClassifier | MLPRegressor, operator: Any, input_proto: int
) -> str:
    """The output layer of ``model`` for the operator's inputs: its variable name."""
    from skl2onnx.common._apply_operation import apply_cast

    inputs = [(i.full_name, i.type) for i in operator.inputs]
    if _has_encoder(model):  # the table encoded as the kernels see it, per member
        table = encode_table(graph, model, inputs)
        learnt = [vars(model).get(n) for n in ("embedding_tables_", "numeric_embeddings_")]
        dim = model._fitted_embedding_dim()

        def network_input(k: int | None) -> str:
            tables, numeric = (v if v is None or k is None else np.asarray(v)[k] for v in learnt)
            return table.network_input(tables, numeric, dim)
    else:
        x = inputs[0][0]
        if input_proto != graph.proto:
            x = graph.name("cast_input")
            apply_cast(graph.scope, inputs[0][0], x, graph.container, to=graph.proto)

        def network_input(k: int | None) -> str:
            return x

    net = model._prediction_net()
    act = np.asarray(net.act)
    skip = np.asarray(net.skip)
    n_w = len(model.coefs_)
    if len(act) != n_w + 1:
        raise ValueError(
            f"{type(model).__name__} has {n_w} weight matrices but its network "
            f"describes {len(act)} layers; refit it."
        )
    coefs = [np.asarray(c) for c in model.coefs_]
    intercepts = [np.asarray(b) for b in model.intercepts_]
    scale = getattr(model, "input_scale_", None)
    # calibration (SPEC 4.10): every member's logits divided by the temperature
    temperature = vars(model).get("calibration_temperature_")
    if temperature is not None:
        temperature = graph.const("temperature", np.reshape(temperature, (1, -1)))
    if coefs[0].ndim == 2:
        return _network(
            graph, network_input(None), coefs, intercepts, scale, act, skip, temperature
        )
    # an ensemble: the mean of its members' outputs (probabilities for a classifier)
    n_members = coefs[0].shape[0]
    outputs = [
        _network(
            graph,
            network_input(k),
            [c[k] for c in coefs],
            [b[k] for b in intercepts],
            None if scale is None else np.asarray(scale)[k],
            act,
            skip,
            temperature,
        )
        for k in range(n_members)
    ]
    total = graph.node("Sum", outputs, hint="members")
    return graph.node("Mul", [total, graph.const("member_weight", 1.0 / n_members, [])])


def _network(
    graph: _Graph,
    x: str,
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    scale: np.ndarray | None,
    act: np.ndarray,
    skip: np.ndarray,
    temperature: str | None = None,
) -> str:
    """The output layer of one network (weights ``coefs`` / ``intercepts``) for ``x``;
    ``temperature`` names the constant its logits are divided by, if any."""
    n_w = len(coefs)
    if scale is not None:  # input scaling: the first layer sees X * input_scale_
        x = graph.node("Mul", [x, graph.const("input_scale", np.asarray(scale).reshape(1, -1))])
    layers = [x]  # layers[j]: the output of layer j (0 is the input)
    for l in range(n_w):
        j = l + 1
        coef = graph.const("coefficient", coefs[l])
        bias = graph.const("intercepts", intercepts[l].reshape(1, -1))
        a = graph.node("Add", [graph.node("MatMul", [layers[l], coef]), bias], hint="add")
        if skip[j] >= 0:  # residual block: the block's input joins the pre-activation
            a = graph.node("Add", [a, layers[int(skip[j])]], hint="residual")
        if j < n_w:
            layers.append(graph.hidden_activation(a, act[j]))
        else:
            if temperature is not None:
                a = graph.node("Div", [a, temperature], hint="calibrated")
            layers.append(graph.output_activation(a, act[j]))
    return layers[-1]


def _input(operator: Any) -> tuple[type[np.floating], int]:
    from skl2onnx.common.data_types import guess_proto_type

    if _takes_columns(operator):  # several inputs: the model's own dtype
        model_type = _model_type(operator.raw_operator)
        return _float_types(model_type)[0], guess_proto_type(model_type)
    dtype, _ = _float_types(operator.inputs[0].type)
    return dtype, guess_proto_type(operator.inputs[0].type)


def _convert_regressor(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.common._apply_operation import apply_identity

    model = operator.raw_operator
    dtype, input_proto = _input(operator)
    graph = _Graph(scope, container, dtype)
    y = _forward(graph, model, operator, input_proto)
    scale = getattr(model, "target_scale_", None)
    if scale is not None:  # normalize_y: back to the target's units
        y = graph.node("Mul", [y, graph.const("target_scale", np.reshape(scale, (1, -1)))])
        y = graph.node(
            "Add", [y, graph.const("target_mean", np.reshape(model.target_mean_, (1, -1)))]
        )
    apply_identity(scope, y, operator.outputs[0].full_name, container)


def _convert_classifier(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.common._apply_operation import apply_cast, apply_identity
    from skl2onnx.common.utils_classifier import get_label_classes

    model = operator.raw_operator
    dtype, input_proto = _input(operator)
    graph = _Graph(scope, container, dtype)
    p = _forward(graph, model, operator, input_proto)
    label_out, proba_out = operator.outputs[0].full_name, operator.outputs[1].full_name

    if _is_multilabel(model):  # indicator matrix, p > 0.5 as LabelBinarizer
        apply_identity(scope, p, proba_out, container)
        above = graph.node("Greater", [p, graph.const("threshold", 0.5, [])])
        apply_cast(scope, above, label_out, container, to=TensorProto.INT64)
        return

    classes = np.asarray(get_label_classes(scope, model))
    if len(classes) < 2:
        raise NotImplementedError("Cannot export a classifier fitted on a single class to ONNX.")
    if model.n_outputs_ == 1:  # binary: one logistic unit, columns [1 - p, p]
        negative = graph.node("Sub", [graph.const("one", 1.0, []), p], hint="negative")
        graph.node("Concat", [negative, p], output=proba_out, axis=1)
    else:
        apply_identity(scope, p, proba_out, container)

    # label = classes[argmax]: ties go to the first class as in numpy, and for
    # binary argmax([1 - p, p]) is p > 0.5 exactly (1 - p is exact for p >= 0.5).
    index = graph.node("ArgMax", [proba_out], axis=1, keepdims=0)
    classes_name = scope.get_unique_variable_name("classes")
    if _label_kind(classes) == "str":
        container.add_initializer(
            classes_name,
            TensorProto.STRING,
            [len(classes)],
            [str(c).encode("utf-8") for c in classes],
        )
    else:
        container.add_initializer(
            classes_name,
            TensorProto.INT64,
            [len(classes)],
            classes.astype(np.int64),
        )
    graph.node("Gather", [classes_name, index], output=label_out, axis=0)


def _convert_smooth_clip(scope: Any, operator: Any, container: Any) -> None:
    """``SmoothClipScaler.transform`` (see :func:`~sknn_train._onnx_tables.smooth_clip_graph`)."""
    from skl2onnx.common._apply_operation import apply_cast, apply_identity

    model = operator.raw_operator
    dtype, input_proto = _input(operator)
    graph = _Graph(scope, container, dtype)
    x = operator.inputs[0].full_name
    if input_proto != graph.proto:
        x = graph.name("cast_input")
        apply_cast(scope, operator.inputs[0].full_name, x, container, to=graph.proto)
    out = smooth_clip_graph(graph, x, model.center_, model.scale_, model.clip_width)
    apply_identity(scope, out, operator.outputs[0].full_name, container)


# skl2onnx's own to_onnx / convert_sklearn convert sknn_train models once this module is imported
try:
    register_converters()
except ImportError:
    pass
