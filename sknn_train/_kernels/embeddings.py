"""Numeric embeddings inside the passes (SPEC 5.5): each scaled numeric feature
``x`` enters the first layer as a few learnt values instead of itself.

``PBLD`` (RealMLP-TD's periodic, bias, linear, DenseNet): ``u = cos(2 pi w x +
b)`` with ``w, b`` in R^16, ``v = u V + c`` with ``V`` (16 x 3), ``c`` in R^3;
the embedding is ``[v, x]`` (4 values: the raw value kept).
``PLR`` (Gorishniy et al. 2022, periodic, linear, ReLU): ``u = [cos(2 pi w x),
sin(2 pi w x)]`` with ``w`` in R^8, the embedding ``ReLU(u V + c)`` with ``V``
(16 x 8), ``c`` in R^8.

A feature's parameters are :data:`SIZES` values at its offset in ``theta``,
stored ``w, b (pbld only), V (row-major), c``. The backward pass recomputes
the cosines (and PLR's embedding, for its ReLU) from ``x`` instead of storing them.
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

TWO_PI = 2.0 * math.pi


@kernel
def embed_value(x, theta, off, kind, out):
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
    """
    if kind == PBLD:
        v0 = theta[off + 80]
        v1 = theta[off + 81]
        v2 = theta[off + 82]
        for i in range(16):
            u = math.cos(TWO_PI * theta[off + i] * x + theta[off + 16 + i])
            row = off + 32 + 3 * i
            v0 += u * theta[row]
            v1 += u * theta[row + 1]
            v2 += u * theta[row + 2]
        out[0] = v0
        out[1] = v1
        out[2] = v2
        out[3] = x
    else:
        for k in range(8):
            out[k] = theta[off + 136 + k]
        for i in range(8):
            t = TWO_PI * theta[off + i] * x
            cos_t = math.cos(t)
            sin_t = math.sin(t)
            row_cos = off + 8 + 8 * i
            row_sin = off + 8 + 8 * (i + 8)
            for k in range(8):
                out[k] += cos_t * theta[row_cos + k] + sin_t * theta[row_sin + k]
        for k in range(8):
            if out[k] < 0:
                out[k] = 0.0


@kernel
def embed_value_gradient(x, theta, off, kind, g, grad, pre):
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
        Scratch space (PLR's embedding, then its gradient through the ReLU).
    """
    if kind == PBLD:
        for k in range(3):
            grad[off + 80 + k] += g[k]
        for i in range(16):
            t = TWO_PI * theta[off + i] * x + theta[off + 16 + i]
            u = math.cos(t)
            row = off + 32 + 3 * i
            gu = 0.0
            for k in range(3):
                grad[row + k] += u * g[k]
                gu += theta[row + k] * g[k]
            dt = -math.sin(t) * gu
            grad[off + i] += dt * TWO_PI * x
            grad[off + 16 + i] += dt
    else:
        embed_value(x, theta, off, kind, pre)  # positive where the ReLU passes
        for k in range(8):  # through the ReLU
            pre[k] = g[k] if pre[k] > 0 else 0.0
            grad[off + 136 + k] += pre[k]
        for i in range(8):
            t = TWO_PI * theta[off + i] * x
            cos_t = math.cos(t)
            sin_t = math.sin(t)
            row_cos = off + 8 + 8 * i
            row_sin = off + 8 + 8 * (i + 8)
            g_cos = 0.0
            g_sin = 0.0
            for k in range(8):
                grad[row_cos + k] += cos_t * pre[k]
                grad[row_sin + k] += sin_t * pre[k]
                g_cos += theta[row_cos + k] * pre[k]
                g_sin += theta[row_sin + k] * pre[k]
            grad[off + i] += (cos_t * g_sin - sin_t * g_cos) * TWO_PI * x
