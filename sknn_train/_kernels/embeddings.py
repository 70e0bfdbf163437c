"""Numeric embeddings inside the passes (SPEC 5.5): each scaled numeric feature
``x`` enters the first layer as a few learnt values instead of itself.

``PBLD`` (RealMLP-TD's periodic, bias, linear, DenseNet): ``u = cos(2 pi w x +
b)`` with ``w, b`` in R^16, ``v = u V + c`` with ``V`` (16 x 3), ``c`` in R^3;
the embedding is ``[v, x]`` (4 values: the raw value kept).
``PLR`` (Gorishniy et al. 2022, periodic, linear, ReLU): ``u = [cos(2 pi w x),
sin(2 pi w x)]`` with ``w`` in R^8, the embedding ``ReLU(u V + c)`` with ``V``
(16 x 8), ``c`` in R^8.

A feature's parameters are :data:`SIZES` values at its offset in ``theta``,
stored ``w, b (pbld only), V (row-major), c``. The forward pass leaves each
value's cosines and sines in ``trig`` (:data:`TRIG` values: the cosines, then
the sines), which the backward pass of the same batch and member reads: the
transcendental functions are most of an embedding's cost.
"""

import math

from .._jit import kernel

#: The embeddings (``Tables.num_kind``): none, RealMLP's PBLD, PLR.
NO_EMBEDDING, PBLD, PLR = 0, 1, 2
#: Frequencies, and the embedding's width, of each kind.
FREQUENCIES = (0, 16, 8)
WIDTHS = (1, 4, 8)
#: Parameters per feature: w, b, V, c (pbld); w, V, c (plr).
SIZES = (0, 16 + 16 + 16 * 3 + 3, 8 + 16 * 8 + 8)
#: The cosines and sines a value's forward pass keeps for its backward pass.
TRIG = (0, 32, 16)

TWO_PI = 2.0 * math.pi


@kernel
def embed_value(x, theta, off, kind, out, trig):
    """Write the embedding of the value ``x`` (parameters at ``theta[off:]``) to ``out``.

    Parameters
    ----------
    x : float
        The scaled numeric value.
    theta : ndarray of shape (n_params,), float32 or float64
        A member's parameters.
    off : int
        Where the feature's parameters start.
    kind : int
        ``PBLD`` or ``PLR``.
    out : ndarray of shape (WIDTHS[kind],), float32 or float64
        Receives the embedding.
    trig : ndarray of shape (TRIG[kind],), float32 or float64
        Receives the cosines, then the sines, of the value's phases.
    """
    n = FREQUENCIES[kind]
    for i in range(n):
        t = TWO_PI * theta[off + i] * x
        if kind == PBLD:
            t += theta[off + 16 + i]
        trig[i] = math.cos(t)
        trig[n + i] = math.sin(t)
    if kind == PBLD:
        for k in range(3):
            out[k] = theta[off + 80 + k]
        for i in range(16):
            row = off + 32 + 3 * i
            for k in range(3):
                out[k] += trig[i] * theta[row + k]
        out[3] = x
    else:
        _plr_linear(theta, off, trig, out)
        for k in range(8):
            if out[k] < 0:
                out[k] = 0.0


@kernel
def _plr_linear(theta, off, trig, out):
    """``out = [cos, sin] V + c`` of a PLR feature (before its ReLU)."""
    for k in range(8):
        out[k] = theta[off + 136 + k]
    for i in range(16):  # the cosines' rows, then the sines'
        row = off + 8 + 8 * i
        for k in range(8):
            out[k] += trig[i] * theta[row + k]


@kernel
def embed_value_gradient(x, theta, off, kind, g, grad, pre, trig):
    """Add the gradient of the embedding of ``x`` with respect to its parameters,
    given ``g``, the loss's gradient with respect to the embedding, to ``grad[off:]``.

    Parameters
    ----------
    x : float
        The scaled numeric value.
    theta : ndarray of shape (n_params,), float32 or float64
        A member's parameters.
    off : int
        Where the feature's parameters start.
    kind : int
        ``PBLD`` or ``PLR``.
    g : ndarray of shape (WIDTHS[kind],), float32 or float64
        The loss's gradient with respect to the embedding.
    grad : ndarray of shape (n_params,), float32 or float64
        A member's gradient, added to.
    pre : ndarray of shape (8,), float32 or float64
        Scratch space (PLR's gradient through the ReLU).
    trig : ndarray of shape (TRIG[kind],), float32 or float64
        The cosines and sines :func:`embed_value` left for this value.
    """
    n = FREQUENCIES[kind]
    if kind == PBLD:
        for k in range(3):
            grad[off + 80 + k] += g[k]
        for i in range(16):
            row = off + 32 + 3 * i
            gu = 0.0
            for k in range(3):
                grad[row + k] += trig[i] * g[k]
                gu += theta[row + k] * g[k]
            dt = -trig[n + i] * gu
            grad[off + i] += dt * TWO_PI * x
            grad[off + 16 + i] += dt
        return
    _plr_linear(theta, off, trig, pre)
    for k in range(8):  # through the ReLU
        pre[k] = g[k] if pre[k] > 0 else 0.0
        grad[off + 136 + k] += pre[k]
    for i in range(8):
        row_cos = off + 8 + 8 * i
        row_sin = off + 8 + 8 * (i + 8)
        g_cos = 0.0
        g_sin = 0.0
        for k in range(8):
            grad[row_cos + k] += trig[i] * pre[k]
            grad[row_sin + k] += trig[n + i] * pre[k]
            g_cos += theta[row_cos + k] * pre[k]
            g_sin += theta[row_sin + k] * pre[k]
        grad[off + i] += (trig[i] * g_sin - trig[n + i] * g_cos) * TWO_PI * x
