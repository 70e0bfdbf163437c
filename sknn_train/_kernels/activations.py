"""Activations and their derivatives, in place on flat buffers, and the table of them.

:data:`HIDDEN_ACTIVATIONS` is the one place an activation is declared: its code,
its line in the parameter docs, whether its derivative needs the
pre-activation, whether its units can die, its ONNX export and a plain NumPy
reference the tests compare the kernels against. Everything else
(``_config``, the workspace, the docs, the ONNX converter, the tests) reads
the table. Adding an activation is one entry there plus its forward branch in
:func:`activate` and its derivative branch in :func:`activation_backward`.

Hidden and output activations are separate code spaces: ``Net.act[1:-1]``
holds hidden codes (:data:`HIDDEN_ACTIVATIONS`), ``Net.act[-1]`` an output code
(:data:`OUTPUT_ACTIVATIONS`, applied by :func:`output_activate`). The kernels
branch on the named constants; numba freezes module-level integers as
compile-time constants, so ``code == RELU`` costs what ``code == 3`` does.

Derivatives are expressed through the activation's output ``z`` as in
scikit-learn, except where the output does not determine the derivative
(GELU, SiLU and Mish have a minimum: one ``z``, two slopes). Those read the
pre-activation ``a``, which the forward pass stores in a separate buffer that
the workspace allocates only when such an activation is used
(``needs_pre`` in the table).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._jit import kernel

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LEAKY_SLOPE = 0.01
# SELU's constants (Klambauer et al. 2017), the fixed point of zero mean and unit variance.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE_ALPHA = SELU_SCALE * SELU_ALPHA

# Hidden activation codes (``Net.act[1:-1]``). Identity must stay 0: a residual
# block's output layer is given code 0 (``_config.build_net``).
IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3
LEAKY_RELU = 4
ELU = 5
GELU = 6
SOFTPLUS = 7
SILU = 8
SELU = 9
MISH = 10

# Output activation codes (``Net.act[-1]``), a code space of their own.
OUT_IDENTITY = 0
OUT_LOGISTIC = 1
OUT_EXP = 2
OUT_SOFTMAX = 3


# ------------------------------------------------------------------ the table
class HiddenActivation(NamedTuple):
    """One hidden activation: everything the package needs to know about it."""

    #: integer code the kernels branch on (one of the constants above)
    code: int
    #: one line for the ``activation`` parameter docs
    doc: str
    #: the derivative needs the pre-activation ``a`` (the workspace keeps it)
    needs_pre: bool
    #: units can output exactly zero for every input (``dead_units_``)
    can_die: bool
    #: ``(graph, x) -> output name``: the ONNX nodes of ``f(x)`` (see sknn_train.onnx)
    onnx: Callable
    #: plain NumPy ``f(a)``, the tests' independent reference
    reference: Callable[[np.ndarray], np.ndarray]
    #: plain NumPy ``f'(a)``
    reference_grad: Callable[[np.ndarray], np.ndarray]


# References import scipy.special on first use: the tests call them, fitting never does.
def _expit(a):
    from scipy.special import expit

    return expit(a)


def _erf(a):
    from scipy.special import erf

    return erf(a)


def _mish_grad(a):
    t = np.tanh(np.logaddexp(0.0, a))
    return t + a * (1.0 - t * t) * _expit(a)


def _onnx_gelu(graph, x):  # exact: 0.5 * x * (1 + erf(x / sqrt(2)))
    scaled = graph.node("Mul", [x, graph.const("inv_sqrt2", _INV_SQRT2, [])])
    erf = graph.node("Erf", [scaled])
    one_plus = graph.node("Add", [erf, graph.const("one", 1.0, [])])
    half_x = graph.node("Mul", [x, graph.const("half", 0.5, [])])
    return graph.node("Mul", [half_x, one_plus], hint="gelu")


def _onnx_softplus(graph, x):
    # log(1 + exp(x)) as relu(x) + log(1 + exp(-|x|)): no overflow, and primitive
    # ops, which onnxruntime runs in double (it has no double Softplus kernel).
    e = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [x])])])
    log1p = graph.node("Log", [graph.node("Add", [e, graph.const("one", 1.0, [])])])
    return graph.node("Add", [graph.node("Relu", [x]), log1p], hint="softplus")


def _onnx_expm1_neg(graph, x):
    # expm1(min(x, 0)) = tanh(m / 2) (exp(m) + 1), m = min(x, 0): no cancellation
    # near 0 (exp(m) - 1 would lose the digits of a small m), no overflow, and
    # exactly 0 for x >= 0.
    m = graph.node("Min", [x, graph.const("zero", 0.0, [])])
    t = graph.node("Tanh", [graph.node("Mul", [m, graph.const("half", 0.5, [])])])
    exp_plus_one = graph.node("Add", [graph.node("Exp", [m]), graph.const("one", 1.0, [])])
    return graph.node("Mul", [t, exp_plus_one], hint="expm1")


def _onnx_leaky_relu(graph, x):
    # max(x, 0.01 x): the kernel's x * 0.01 below 0, bit for bit. onnxruntime runs the
    # LeakyRelu op in double at opsets 16 to 19 only.
    scaled = graph.node("Mul", [x, graph.const("leaky_slope", LEAKY_SLOPE, [])])
    return graph.node("Max", [x, scaled], hint="leaky_relu")


def _onnx_elu(graph, x):
    # relu(x) + expm1(min(x, 0)): onnxruntime has no double Elu kernel.
    return graph.node("Add", [graph.node("Relu", [x]), _onnx_expm1_neg(graph, x)], hint="elu")


def _onnx_selu(graph, x):
    # scale relu(x) + scale alpha expm1(min(x, 0)), the constants in the graph's
    # type (the Selu op has float32 attributes and no double kernel in onnxruntime).
    positive = graph.node(
        "Mul", [graph.node("Relu", [x]), graph.const("selu_scale", SELU_SCALE, [])]
    )
    negative = graph.node(
        "Mul", [_onnx_expm1_neg(graph, x), graph.const("selu_scale_alpha", _SELU_SCALE_ALPHA, [])]
    )
    return graph.node("Add", [positive, negative], hint="selu")


def _onnx_mish(graph, x):
    # x * tanh(softplus(x)) in primitive ops: the Mish op needs opset 18, and
    # onnxruntime has a double kernel for it at opset 18 only.
    return graph.node("Mul", [x, graph.node("Tanh", [_onnx_softplus(graph, x)])], hint="mish")


HIDDEN_ACTIVATIONS: dict[str, HiddenActivation] = {
    "identity": HiddenActivation(
        code=IDENTITY,
        doc="no-op activation, returns f(x) = x",
        needs_pre=False,
        can_die=False,
        onnx=lambda graph, x: x,
        reference=lambda a: a,
        reference_grad=np.ones_like,
    ),
    "logistic": HiddenActivation(
        code=LOGISTIC,
        doc="the logistic sigmoid function, returns f(x) = 1 / (1 + exp(-x))",
        needs_pre=False,
        can_die=False,
        onnx=lambda graph, x: graph.node("Sigmoid", [x]),
        reference=_expit,
        reference_grad=lambda a: _expit(a) * (1.0 - _expit(a)),
    ),
    "tanh": HiddenActivation(
        code=TANH,
        doc="the hyperbolic tan function, returns f(x) = tanh(x)",
        needs_pre=False,
        can_die=False,
        onnx=lambda graph, x: graph.node("Tanh", [x]),
        reference=np.tanh,
        reference_grad=lambda a: 1.0 - np.tanh(a) ** 2,
    ),
    "relu": HiddenActivation(
        code=RELU,
        doc="the rectified linear unit function, returns f(x) = max(0, x)",
        needs_pre=False,
        can_die=True,
        onnx=lambda graph, x: graph.node("Relu", [x]),
        reference=lambda a: np.maximum(a, 0.0),
        reference_grad=lambda a: (a > 0).astype(a.dtype),
    ),
    "leaky_relu": HiddenActivation(
        code=LEAKY_RELU,
        doc="the leaky rectified linear unit, returns f(x) = x for x > 0, else 0.01 x",
        needs_pre=False,
        can_die=True,
        onnx=_onnx_leaky_relu,
        reference=lambda a: np.where(a > 0, a, LEAKY_SLOPE * a),
        reference_grad=lambda a: np.where(a > 0, 1.0, LEAKY_SLOPE),
    ),
    "elu": HiddenActivation(
        code=ELU,
        doc="the exponential linear unit, returns f(x) = x for x > 0, else exp(x) - 1",
        needs_pre=False,
        can_die=False,
        onnx=_onnx_elu,
        reference=lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0.0))),
        reference_grad=lambda a: np.where(a > 0, 1.0, np.exp(np.minimum(a, 0.0))),
    ),
    "gelu": HiddenActivation(
        code=GELU,
        doc="the exact Gaussian error linear unit, returns f(x) = x Phi(x)",
        needs_pre=True,
        can_die=False,
        onnx=_onnx_gelu,
        reference=lambda a: 0.5 * a * (1.0 + _erf(a * _INV_SQRT2)),
        reference_grad=lambda a: (
            0.5 * (1.0 + _erf(a * _INV_SQRT2)) + a * np.exp(-0.5 * a * a) * _INV_SQRT_2PI
        ),
    ),
    "softplus": HiddenActivation(
        code=SOFTPLUS,
        doc="the smooth rectifier, returns f(x) = log(1 + exp(x))",
        needs_pre=False,
        can_die=False,
        onnx=_onnx_softplus,
        reference=lambda a: np.logaddexp(0.0, a),
        reference_grad=_expit,
    ),
    "silu": HiddenActivation(
        code=SILU,
        doc="the sigmoid linear unit, returns f(x) = x / (1 + exp(-x))",
        needs_pre=True,
        can_die=False,
        onnx=lambda graph, x: graph.node("Mul", [x, graph.node("Sigmoid", [x])], hint="silu"),
        reference=lambda a: a * _expit(a),
        reference_grad=lambda a: _expit(a) * (1.0 + a * (1.0 - _expit(a))),
    ),
    "selu": HiddenActivation(
        code=SELU,
        doc="the scaled exponential linear unit, returns f(x) = lambda x for x > 0, else "
        "lambda alpha (exp(x) - 1) with lambda = 1.0507, alpha = 1.6733",
        needs_pre=False,  # slope from the output: z + scale * alpha below 0
        can_die=False,
        onnx=_onnx_selu,
        reference=lambda a: (
            SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(np.minimum(a, 0.0)))
        ),
        reference_grad=lambda a: (
            SELU_SCALE * np.where(a > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(a, 0.0)))
        ),
    ),
    "mish": HiddenActivation(
        code=MISH,
        doc="returns f(x) = x tanh(log(1 + exp(x))) (Misra 2019)",
        needs_pre=True,
        can_die=False,
        onnx=_onnx_mish,
        reference=lambda a: a * np.tanh(np.logaddexp(0.0, a)),
        reference_grad=_mish_grad,
    ),
}

OUTPUT_ACTIVATIONS: dict[str, int] = {
    "identity": OUT_IDENTITY,
    "logistic": OUT_LOGISTIC,
    "exp": OUT_EXP,
    "softmax": OUT_SOFTMAX,
}


# ------------------------------------------------------------------ the kernels
@kernel
def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@kernel
def _softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@kernel
def activate(buf, pre, n, code):
    """Apply hidden activation ``code`` to ``buf[:n]`` in place (``pre`` receives
    ``a`` where the table says ``needs_pre``)."""
    if code == IDENTITY:
        return
    elif code == LOGISTIC:  # written as scipy's expit to stay finite
        for i in range(n):
            buf[i] = _sigmoid(buf[i])
    elif code == TANH:
        for i in range(n):
            buf[i] = math.tanh(buf[i])
    elif code == RELU:
        for i in range(n):
            if buf[i] < 0:
                buf[i] = 0.0
    elif code == LEAKY_RELU:
        for i in range(n):
            if buf[i] < 0:
                buf[i] *= LEAKY_SLOPE
    elif code == ELU:  # alpha = 1
        for i in range(n):
            if buf[i] < 0:
                buf[i] = math.expm1(buf[i])
    elif code == GELU:  # exact: x * Phi(x)
        for i in range(n):
            a = buf[i]
            pre[i] = a
            buf[i] = 0.5 * a * (1.0 + math.erf(a * _INV_SQRT2))
    elif code == SOFTPLUS:
        for i in range(n):
            buf[i] = _softplus(buf[i])
    elif code == SILU:  # x * sigmoid(x)
        for i in range(n):
            a = buf[i]
            pre[i] = a
            buf[i] = a * _sigmoid(a)
    elif code == SELU:
        for i in range(n):
            a = buf[i]
            if a > 0:
                buf[i] = SELU_SCALE * a
            else:
                buf[i] = _SELU_SCALE_ALPHA * math.expm1(a)
    elif code == MISH:  # x * tanh(softplus(x)): tanh(x) for large x, ~x exp(x) for very negative x
        for i in range(n):
            a = buf[i]
            pre[i] = a
            buf[i] = a * math.tanh(_softplus(a))


@kernel
def activation_backward(z, pre, delta, n, code):
    """Multiply ``delta[:n]`` in place by the derivative of hidden activation ``code``."""
    if code == IDENTITY:
        return
    elif code == LOGISTIC:
        for i in range(n):
            delta[i] *= z[i] * (1.0 - z[i])
    elif code == TANH:
        for i in range(n):
            delta[i] *= 1.0 - z[i] * z[i]
    elif code == RELU:
        for i in range(n):
            if z[i] == 0:
                delta[i] = 0.0
    elif code == LEAKY_RELU:
        for i in range(n):
            if z[i] <= 0:
                delta[i] *= LEAKY_SLOPE
    elif code == ELU:
        for i in range(n):
            if z[i] <= 0:
                delta[i] *= z[i] + 1.0
    elif code == GELU:
        for i in range(n):
            a = pre[i]
            cdf = 0.5 * (1.0 + math.erf(a * _INV_SQRT2))
            delta[i] *= cdf + a * _INV_SQRT_2PI * math.exp(-0.5 * a * a)
    elif code == SOFTPLUS:  # sigmoid(a) = 1 - exp(-z)
        for i in range(n):
            delta[i] *= -math.expm1(-z[i])
    elif code == SILU:
        for i in range(n):
            a = pre[i]
            s = _sigmoid(a)
            delta[i] *= s * (1.0 + a * (1.0 - s))
    elif code == SELU:  # scale for z > 0, else scale * alpha * exp(a) = z + scale * alpha
        for i in range(n):
            if z[i] > 0:
                delta[i] *= SELU_SCALE
            else:
                delta[i] *= z[i] + _SELU_SCALE_ALPHA
    elif code == MISH:  # tanh(sp) + a * sech(sp)^2 * sigmoid(a), sp = softplus(a)
        for i in range(n):
            a = pre[i]
            t = math.tanh(_softplus(a))
            delta[i] *= t + a * (1.0 - t * t) * _sigmoid(a)


@kernel
def softmax_rows(a):
    """Row-wise softmax of the 2-D array ``a`` in place."""
    m, k = a.shape
    for r in range(m):
        mx = a[r, 0]
        for j in range(1, k):
            if a[r, j] > mx:
                mx = a[r, j]
        s = 0.0
        for j in range(k):
            e = math.exp(a[r, j] - mx)
            a[r, j] = e
            s += e
        for j in range(k):
            a[r, j] /= s


@kernel
def output_activate(a, flat, code):
    """Output activation ``code`` (:data:`OUTPUT_ACTIVATIONS`) in place of the 2-D
    array ``a`` (``flat``: the same values as a 1-D view)."""
    if code == OUT_SOFTMAX:
        softmax_rows(a)
    elif code == OUT_LOGISTIC:
        for i in range(flat.shape[0]):
            flat[i] = _sigmoid(flat[i])
    elif code == OUT_EXP:  # Poisson
        for i in range(flat.shape[0]):
            flat[i] = math.exp(flat[i])
