"""The direct BLAS calls of the kernels (``sknn_train._kernels.blas``) against numpy."""

import numba
import numpy as np
import pytest

from sknn_train._kernels.blas import address, dot, gemm


@numba.njit
def _gemm(trans_a, trans_b, m, n, k, a, b, beta, c):
    gemm(trans_a, trans_b, m, n, k, address(a, 0), address(b, 0), beta, address(c, 0))


@numba.njit
def _dot(n, x, y):
    return dot(n, address(x, 0), address(y, 0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(7, 6, 4), (5, 1, 3), (1, 5, 3), (1, 1, 5), (1, 1, 1)])
@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_matches_numpy_bit_for_bit(dtype, shape, trans_a, trans_b, beta):
    # Matrix-vector and vector-vector shapes take BLAS's vector routines, as
    # numpy does, so the products scikit-learn computes are reproduced exactly.
    m, n, k = shape
    rng = np.random.RandomState(sum(shape) + 10 * trans_a + 20 * trans_b)
    a = rng.randn(*((k, m) if trans_a else (m, k))).astype(dtype)
    b = rng.randn(*((n, k) if trans_b else (k, n))).astype(dtype)
    c = rng.randn(m, n).astype(dtype)
    expected = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if beta:
        expected = expected + c
    else:
        c[...] = np.nan  # with beta = 0 the old contents must not be read
    _gemm(trans_a, trans_b, m, n, k, a, b, beta, c)
    if beta:
        np.testing.assert_allclose(c, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    else:
        np.testing.assert_array_equal(c, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dot_matches_numpy(dtype):
    x = np.random.RandomState(0).randn(1000).astype(dtype)
    np.testing.assert_allclose(_dot(1000, x, x), x @ x, rtol=1e-6)
    assert _dot(3, x, x) == pytest.approx(float(x[:3] @ x[:3]), rel=1e-6)
