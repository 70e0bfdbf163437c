"""Numeric embeddings inside the passes (SPEC 5.5): each scaled numeric feature
``x`` enters the first layer as a few learnt values instead of itself.

``PBLD`` (RealMLP-TD's periodic, bias, linear, DenseNet): ``u = cos(2 pi w x +
b)`` with ``w, b`` in R^16, ``v = u V + c`` with ``V`` (16 x 3), ``c`` in R^3;
the embedding is ``[v, x]`` (4 values: the raw value kept).
``PLR`` (Gorishniy et al. 2022, periodic, linear, ReLU): ``u = [cos(2 pi w x),
sin(2 pi w x)]`` with ``w`` in R^8, the embedding ``ReLU(u V + c)`` with ``V``
(16 x 8), ``c`` in R^8.

A feature's parameters are :data:`SIZES` values at its offset in ``theta``,
stored ``w, b (pbld only), V (row-major), c``. A batch is embedded feature by
feature (:func:`embed_feature`); the forward pass leaves each feature's
cosines and sines in ``trig`` (:data:`TRIG` values per row), which the
backward pass of the same batch and member reads instead of computing them
again.
"""

import math

import numpy as np

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
TWO_OVER_PI = 2.0 / math.pi

# sin and cos on [-pi/4, pi/4] (fdlibm's __kernel_sin / __kernel_cos coefficients), and
# pi/2 in two parts for the argument's reduction (exact products for |t| < 2**20)
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
_PIO2_HI, _PIO2_LO = 1.57079632673412561417e00, 6.07710050650619224932e-11
#: Beyond this phase the reduction above loses digits: libm's cos and sin take over.
_REDUCTION_LIMIT = 2.0**20


@kernel
def sincos(t, trig, n):
    """``trig[:n] = cos(t[:n])``, ``trig[n:2n] = sin(t[:n])`` to within an ulp or two.

    libm's ``cos`` and ``sin`` are calls that no loop vectorises, and they are
    most of an embedding's cost: this is a branch-free polynomial after a
    reduction by pi/2, which LLVM vectorises (phases beyond
    ``_REDUCTION_LIMIT``, which training never reaches, go to libm).
    """
    for i in range(n):
        x = t[i]
        k = math.floor(x * TWO_OVER_PI + 0.5)
        r = (x - k * _PIO2_HI) - k * _PIO2_LO
        z = r * r
        s = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
        c = 1.0 - 0.5 * z + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
        q = np.int64(k) & 3
        ss = s if q == 0 else c if q == 1 else -s if q == 2 else -c
        cc = c if q == 0 else -s if q == 1 else -c if q == 2 else s
        trig[i] = cc
        trig[n + i] = ss
    for i in range(n):
        if not abs(t[i]) < _REDUCTION_LIMIT:  # (NaN too)
            trig[i] = math.cos(t[i])
            trig[n + i] = math.sin(t[i])


@kernel
def embed_feature(xm, j, m, theta, off, kind, xe, col, trig):
    """Embed feature ``j`` of the batch's ``m`` rows into ``xe[:m, col:col + WIDTHS[kind]]``.

    The whole batch at once, feature by feature: the phases of every row are
    one contiguous run for :func:`sincos`, and the linear map's loops run over
    the rows without a call per value.

    Parameters
    ----------
    xm : ndarray of shape (m_rows, n_columns), float32 or float64
        The batch's rows (feature ``j`` is column ``j``).
    j : int
        The feature.
    m : int
        Rows in the batch.
    theta : ndarray of shape (n_params,), float32 or float64
        A member's parameters (the feature's at ``theta[off:]``).
    off : int
        Where the feature's parameters start.
    kind : int
        ``PBLD`` or ``PLR``.
    xe : ndarray of shape (m_rows, n_in), float32 or float64
        Receives the embeddings.
    col : int
        The feature's first column in ``xe``.
    trig : ndarray of shape (2 * m * FREQUENCIES[kind],), float32 or float64
        Receives the phases' cosines (row after row), then their sines.
    """
    n = FREQUENCIES[kind]
    phase = np.empty(m * n)
    for r in range(m):
        x = xm[r, j]
        for i in range(n):
            phase[r * n + i] = TWO_PI * theta[off + i] * x
        if kind == PBLD:
            for i in range(n):
                phase[r * n + i] += theta[off + n + i]
    sincos(phase, trig, m * n)
    if kind == PBLD:
        for r in range(m):
            for k in range(3):
                acc = theta[off + 80 + k]
                for i in range(16):
                    acc += trig[r * 16 + i] * theta[off + 32 + 3 * i + k]
                xe[r, col + k] = acc
            xe[r, col + 3] = xm[r, j]
        return
    for r in range(m):
        for k in range(8):
            xe[r, col + k] = max(_plr_linear(theta, off, trig, m, r, k), 0.0)


@kernel(inline=True)
def _plr_linear(theta, off, trig, m, r, k):
    """Output ``k`` of row ``r``'s ``[cos, sin] V + c`` (PLR, before the ReLU)."""
    sines = m * 8
    acc = theta[off + 136 + k]
    for i in range(8):
        acc += trig[r * 8 + i] * theta[off + 8 + 8 * i + k]
        acc += trig[sines + r * 8 + i] * theta[off + 72 + 8 * i + k]
    return acc


@kernel
def embed_feature_gradient(xm, j, m, theta, off, kind, gx, col, grad, trig):
    """Add the gradient of feature ``j``'s embedding parameters to ``grad[off:]``,
    given ``gx[:m, col:]``, the loss's gradient with respect to its embeddings.

    Parameters
    ----------
    xm : ndarray of shape (m_rows, n_columns), float32 or float64
        The batch's rows.
    j : int
        The feature.
    m : int
        Rows in the batch.
    theta : ndarray of shape (n_params,), float32 or float64
        A member's parameters.
    off : int
        Where the feature's parameters start.
    kind : int
        ``PBLD`` or ``PLR``.
    gx : ndarray of shape (m_rows, n_in), float32 or float64
        The loss's gradient with respect to the first layer's dense inputs.
    col : int
        The feature's first column in ``gx``.
    grad : ndarray of shape (n_params,), float32 or float64
        A member's gradient, added to.
    trig : ndarray of shape (2 * m * FREQUENCIES[kind],), float32 or float64
        The cosines and sines :func:`embed_feature` left for this batch.
    """
    n = FREQUENCIES[kind]
    sines = m * n
    if kind == PBLD:
        for r in range(m):
            x = xm[r, j]
            g0, g1, g2 = gx[r, col], gx[r, col + 1], gx[r, col + 2]
            grad[off + 80] += g0
            grad[off + 81] += g1
            grad[off + 82] += g2
            for i in range(16):
                u = trig[r * 16 + i]
                row = off + 32 + 3 * i
                grad[row] += u * g0
                grad[row + 1] += u * g1
                grad[row + 2] += u * g2
                gu = theta[row] * g0 + theta[row + 1] * g1 + theta[row + 2] * g2
                dt = -trig[sines + r * 16 + i] * gu
                grad[off + i] += dt * TWO_PI * x
                grad[off + 16 + i] += dt
        return
    through = np.empty(8)  # the gradient through the ReLU
    for r in range(m):
        x = xm[r, j]
        for k in range(8):
            passes = _plr_linear(theta, off, trig, m, r, k) > 0
            through[k] = gx[r, col + k] if passes else 0.0
            grad[off + 136 + k] += through[k]
        for i in range(8):
            c = trig[r * 8 + i]
            s = trig[sines + r * 8 + i]
            g_cos = 0.0
            g_sin = 0.0
            for k in range(8):
                grad[off + 8 + 8 * i + k] += c * through[k]
                grad[off + 72 + 8 * i + k] += s * through[k]
                g_cos += theta[off + 8 + 8 * i + k] * through[k]
                g_sin += theta[off + 72 + 8 * i + k] * through[k]
            grad[off + i] += (c * g_sin - s * g_cos) * TWO_PI * x
