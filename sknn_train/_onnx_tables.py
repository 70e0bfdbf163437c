"""The table encoder (SPEC 5) in an ONNX graph: what ``_tables.encode`` and the lookups compute.

The graph takes the table as skl2onnx does: one ``(N, n_features)`` tensor
for an array, or one ``(N, 1)`` tensor per column for a DataFrame (strings,
numbers or bools; see :func:`frame_types`). Missing numbers (NaN) take the
training median and the indicator inputs; categories become codes with
``LabelEncoder`` (an unseen or missing value: the slot). The network's input
is then built as the kernels see it, densely: ``[numeric | indicators |
binary | embedded vectors | one-hot]``, the embedded vectors per member (each
has its own tables).
"""

from __future__ import annotations

import numpy as np

from ._kernels.embeddings import FREQUENCIES, NO_EMBEDDING, PBLD, SIZES
from ._kernels.tables import EMBEDDED
from ._table_network import EMBEDDINGS
from ._tables import BINARY

__all__ = [
    "EncodedTable",
    "encode_table",
    "frame_types",
    "has_encoder",
    "input_count",
    "model_type",
    "smooth_clip_graph",
    "takes_columns",
]

# Where the smooth clip clips x' / w before squaring it: the square stays finite in
# float32 (2**120 < 3.4e38), and from there on the output is saturated.
_SQUASH_BOUND = 2.0**60


def smooth_clip_graph(graph, x: str, center, scale, width: float) -> str:
    """``x' = (x - center) scale``, ``x' / sqrt(1 + (x' / w)**2)``: SmoothClipScaler's transform.

    The plain formula, where ``transform`` computes ``w / hypot(1, w / |x'|)``
    (ONNX has no ``hypot``); both are within a few units in the last place of
    the exact value. ``x' / w`` is clipped to ``+-2**60`` before it is
    squared, and the result to the largest value below ``w``.
    """
    from .preprocessing import _as_dtype

    dtype = graph.dtype

    def clip(value: str, bound: float, hint: str) -> str:
        upper = graph.node("Min", [value, graph.const(f"{hint}_max", bound, [])])
        return graph.node("Max", [upper, graph.const(f"{hint}_min", -bound, [])], hint=hint)

    limit = float(np.finfo(dtype).max)
    center = _as_dtype(np.asarray(center), np.dtype(dtype)).reshape(1, -1)
    scale = _as_dtype(np.asarray(scale), np.dtype(dtype)).reshape(1, -1)
    z = graph.node("Sub", [x, graph.const("center", center)], hint="centred")
    # the difference of two huge values can overflow, and inf * 0 would be nan
    z = clip(z, limit, "centred_finite")
    z = graph.node("Mul", [z, graph.const("scale", scale)], hint="scaled")
    width = dtype(width)
    u = graph.node("Div", [z, graph.const("clip_width", width, [])], hint="ratio")
    u = clip(u, _SQUASH_BOUND, "ratio_bounded")
    root = graph.node(
        "Sqrt",
        [graph.node("Add", [graph.node("Mul", [u, u]), graph.const("one", 1.0, [])])],
        hint="root",
    )
    out = graph.node("Div", [z, root], hint="squashed")
    return clip(out, float(np.nextafter(width, dtype(0))), "squashed_bounded")


class EncodedTable:
    """The encoded table in the graph: the dense part shared by the members, and the
    lookups each member makes of it."""

    def __init__(self, graph, numeric, rest, embedded: list, onehot: list, kind: int) -> None:
        self.graph = graph
        self.numeric = numeric  # the scaled numbers, (N, n_numeric), or None
        self.rest = rest  # indicators and binary categories, (N, .), or None
        self.embedded = embedded  # (code, levels) of each embedded column
        self.onehot = onehot  # one-hot blocks, (N, k) each
        self.kind = kind  # the numeric embedding

    def network_input(self, tables, numeric, embedding_dim: int) -> str:
        """``[numeric or their embeddings | rest | embedded vectors | one-hot]`` for a
        member whose flat tables and numeric embeddings are ``tables``, ``numeric``."""
        parts = []
        if self.numeric is not None:
            x = self.numeric
            if self.kind != NO_EMBEDDING:
                x = _numeric_embedding(self.graph, x, np.asarray(numeric), self.kind)
            parts.append(x)
        if self.rest is not None:
            parts.append(self.rest)
        offset = 0
        for code, k in self.embedded:
            size = (k + 1) * embedding_dim
            table = np.asarray(tables)[offset : offset + size].reshape(k + 1, embedding_dim)
            offset += size
            vectors = self.graph.node("Gather", [self.graph.const("table", table), code], axis=0)
            parts.append(vectors)
        parts.extend(self.onehot)
        if len(parts) == 1:
            return parts[0]
        return self.graph.node("Concat", parts, hint="network_input", axis=1)


def encode_table(graph, model, inputs: list[tuple[str, int]]) -> EncodedTable:
    """The table ``inputs`` (``(name, ONNX element type)`` each) encoded for ``model``."""
    columns = _columns(graph, model, inputs)
    mask = np.asarray(model.is_categorical_)
    numeric = [columns[j] for j in np.flatnonzero(~mask)]
    parts = []
    scaled = None
    if numeric:
        x = numeric[0] if len(numeric) == 1 else graph.node("Concat", numeric, axis=1)
        x = graph.node("Cast", [x], to=graph.proto, hint="as_float")
        missing = graph.node("IsNaN", [x])
        fill = graph.const("median", np.asarray(model.numeric_fill_).reshape(1, -1))
        x = graph.node("Where", [missing, fill, x], hint="imputed")
        scaled = _scaled(graph, model, x)
        indicator = np.flatnonzero(model.missing_indicator_)
        if indicator.size:
            picked = graph.node(
                "Gather", [missing, _index(graph, indicator)], axis=1, hint="missing"
            )
            parts.append(graph.node("Cast", [picked], to=graph.proto, hint="indicators"))
    embedded, onehot, binary = [], [], []
    categorical = [columns[j] for j in np.flatnonzero(mask)]
    for column, cats, how in zip(categorical, model.categories_, model.categorical_encoding_):
        code = _codes(graph, column, np.asarray(cats))
        k = len(cats)
        if how == BINARY:
            values = graph.const("binary", np.array([-1.0, 1.0, 0.0]))
            binary.append(graph.node("Gather", [values, code], axis=0))
        elif how == EMBEDDED:
            embedded.append((code, k))
        else:  # one-hot: the identity's rows, the slot's all zeros
            rows = np.vstack([np.eye(k), np.zeros((1, k))])
            onehot.append(graph.node("Gather", [graph.const("onehot", rows), code], axis=0))
    parts.extend(graph.node("Unsqueeze", [b, _index(graph, [1])]) for b in binary)
    rest = None
    if parts:
        rest = parts[0] if len(parts) == 1 else graph.node("Concat", parts, hint="rest", axis=1)
    kind = EMBEDDINGS[model.numeric_embedding_]
    return EncodedTable(graph, scaled, rest, embedded, onehot, kind)


def _numeric_embedding(graph, x: str, params: np.ndarray, kind: int) -> str:
    """Every numeric feature's embedding (``_kernels.embeddings``), ``(N, n * width)``:
    the frequencies broadcast over the rows, the linear maps one ``Einsum``."""
    n_freq, size = FREQUENCIES[kind], SIZES[kind]
    p = params.reshape(-1, size)
    n = p.shape[0]
    x3 = graph.node("Unsqueeze", [x, _index(graph, [2])], hint="value")  # (N, n, 1)
    t = graph.node("Mul", [x3, graph.const("frequency", 2 * np.pi * p[None, :, :n_freq])])
    if kind == PBLD:
        t = graph.node("Add", [t, graph.const("phase", p[None, :, n_freq : 2 * n_freq])])
        u = graph.node("Cos", [t])
        first, width = 2 * n_freq, 3
    else:
        u = graph.node("Concat", [graph.node("Cos", [t]), graph.node("Sin", [t])], axis=2)
        first, width = n_freq, 8
    linear = p[:, first : first + 16 * width].reshape(n, 16, width)
    v = graph.node("Einsum", [u, graph.const("linear", linear)], equation="bnf,nfk->bnk")
    v = graph.node("Add", [v, graph.const("offset", p[None, :, first + 16 * width :])])
    v = graph.node("Concat", [v, x3], axis=2) if kind == PBLD else graph.node("Relu", [v])
    return graph.node("Flatten", [v], axis=1, hint="numeric_embedding")


def _columns(graph, model, inputs) -> list[str]:
    """Every column of the table as an ``(N, 1)`` tensor, or the ``(N, d)`` tensor's
    columns gathered."""
    n = int(model.n_features_in_)
    if len(inputs) == n:
        return [name for name, _ in inputs]
    if len(inputs) != 1:
        raise ValueError(
            f"The model takes {n} columns; the graph has {len(inputs)} inputs. Give one "
            "tensor of all columns or one input per column."
        )
    x = inputs[0][0]
    return [graph.node("Gather", [x, _index(graph, [j])], axis=1, hint="column") for j in range(n)]


def _index(graph, values) -> str:
    from onnx import TensorProto

    name = graph.name("index")
    values = np.asarray(values, dtype=np.int64)
    graph.container.add_initializer(name, TensorProto.INT64, list(values.shape), values)
    return name


def _scaled(graph, model, x: str) -> str:
    scaling = model.numeric_scaling_
    if scaling is None:
        return x
    if scaling == "smooth_clip":
        return smooth_clip_graph(graph, x, model.numeric_center_, model.numeric_scale_, 3.0)
    if scaling == "standard":
        center = graph.const("mean", np.asarray(model.numeric_center_).reshape(1, -1))
        scale = graph.const("inverse_std", np.asarray(model.numeric_scale_).reshape(1, -1))
        return graph.node("Mul", [graph.node("Sub", [x, center]), scale], hint="standard")
    raise NotImplementedError(
        "No ONNX export for numeric_scaling='quantile' yet; use 'smooth_clip' or 'standard' "
        "for a model you export."
    )


def _codes(graph, column: str, categories: np.ndarray) -> str:
    """The category codes (int64, shape (N,)) of a column: LabelEncoder, default the slot."""
    k = len(categories)
    flat = graph.node("Reshape", [column, _index(graph, [-1])], hint="flat")
    attrs: dict = {"values_int64s": list(range(k)), "default_int64": k, "op_domain": "ai.onnx.ml"}
    if categories.dtype.kind in "US":
        attrs["keys_strings"] = [str(c) for c in categories]
    else:  # numbers and bools, as floats (NaN matches no key: the slot)
        flat = graph.node("Cast", [flat], to=1, hint="as_float32")  # FLOAT
        attrs["keys_floats"] = [float(c) for c in categories]
    return _label_encoder(graph, flat, attrs)


def _label_encoder(graph, x: str, attrs: dict) -> str:
    output = graph.name("codes")
    graph.container.add_node(
        "LabelEncoder",
        [x],
        [output],
        name=graph.scope.get_unique_operator_name("LabelEncoder"),
        op_version=2,
        **attrs,
    )
    return output


def frame_types(frame, model) -> list:
    """skl2onnx input types for a DataFrame: one ``(None, 1)`` input per column, strings
    for a categorical column of text categories, floats in the model's dtype for the
    others (numbers, bools as 0 / 1, numeric categories)."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        StringTensorType,
    )

    float_type = DoubleTensorType if model._theta.dtype == np.float64 else FloatTensorType
    text: dict[int, bool] = {}
    for j, cats in zip(np.flatnonzero(model.is_categorical_).tolist(), model.categories_):
        text[j] = np.asarray(cats).dtype.kind in "US"
    return [
        (str(name), StringTensorType([None, 1]) if text.get(j) else float_type([None, 1]))
        for j, name in enumerate(frame.columns)
    ]


def has_encoder(model) -> bool:
    """Whether the model encodes its table itself (SPEC 5): its graph starts with the encoder."""
    return "is_categorical_" in vars(model)


def takes_columns(operator) -> bool:
    """Whether the graph takes one input per column (a DataFrame): it then computes in the
    model's dtype; one tensor's graph computes in the tensor's float type, as always."""
    return has_encoder(operator.raw_operator) and len(operator.inputs) > 1


def input_count(operator):
    """One input, or one per column for a model with a table encoder."""
    return (
        [1, int(operator.raw_operator.n_features_in_)] if has_encoder(operator.raw_operator) else 1
    )


def model_type(model):
    """A tensor type of the model's working dtype (the graph's, for a table's several inputs)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return DoubleTensorType() if model._theta.dtype == np.float64 else FloatTensorType()
