"""Matrix products as direct BLAS calls (scipy's ``cython_blas``), row-major.

``np.dot(a, b, out)`` inside numba compiles a shape-checking wrapper per
combination of array layouts (a transposed view is a new layout) and its
error-message formatting: about a second of compile time per dtype for the
products of one network. Here every product is one call of ``gemm`` on
pointers into the flat buffers, with the transposes as flags: one small
function per dtype, the same BLAS library numba itself calls (scipy's).

The BLAS routines are reached by symbol names registered with LLVM at import
(:func:`llvmlite.binding.add_symbol`), not by addresses baked into the
machine code, so compiled kernels stay valid in numba's on-disk cache across
processes.
"""

import llvmlite.binding as ll
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic, overload


def _blas_is_ilp64():
    """Whether scipy's ``cython_blas`` takes 64-bit integers (rare builds)."""
    try:
        from scipy.__config__ import CONFIG

        return bool(CONFIG["Build Dependencies"]["blas"]["cython blas ilp64"])
    except (ImportError, KeyError, TypeError):
        return False


_INT = types.int64 if _blas_is_ilp64() else types.int32
_INT_P = types.CPointer(_INT)
_CHAR_P = types.CPointer(types.int8)


def _external(name, restype, *argtypes):
    """A BLAS routine of scipy's ``cython_blas`` under a project-private symbol."""
    symbol = f"sknn_train_{name}"
    ll.add_symbol(symbol, get_cython_function_address("scipy.linalg.cython_blas", name))
    return types.ExternalFunction(symbol, restype(*argtypes))


def _gemm_type(real):
    p = types.CPointer(real)
    return (_CHAR_P, _CHAR_P, _INT_P, _INT_P, _INT_P, p, p, _INT_P, p, _INT_P, p, p, _INT_P)


def _gemv_type(real):
    p = types.CPointer(real)
    return (_CHAR_P, _INT_P, _INT_P, p, p, _INT_P, p, _INT_P, p, p, _INT_P)


def _dot_type(real):
    p = types.CPointer(real)
    return (_INT_P, p, _INT_P, p, _INT_P)


_GEMM = {
    types.float64: _external("dgemm", types.void, *_gemm_type(types.float64)),
    types.float32: _external("sgemm", types.void, *_gemm_type(types.float32)),
}
_GEMV = {
    types.float64: _external("dgemv", types.void, *_gemv_type(types.float64)),
    types.float32: _external("sgemv", types.void, *_gemv_type(types.float32)),
}
_DOT = {
    types.float64: _external("ddot", types.float64, *_dot_type(types.float64)),
    types.float32: _external("sdot", types.float32, *_dot_type(types.float32)),
}


@intrinsic
def address(typingctx, arr, offset):
    """Pointer to element ``offset`` of the C-contiguous array ``arr`` (flat index)."""
    sig = types.CPointer(arr.dtype)(arr, offset)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.gep(ary.data, [args[1]])

    return sig, codegen


@intrinsic
def _slot(typingctx, value, kind):
    """A stack slot holding ``value`` converted to ``kind`` (a number type, or a
    pointer whose pointee type is meant); returns a pointer to it.

    BLAS takes every scalar by pointer. The slot is allocated once in the
    calling function's entry block, so calls in a loop do not grow the stack.
    """
    target = kind.instance_type if isinstance(kind, types.NumberClass) else kind.dtype
    sig = types.CPointer(target)(value, kind)

    def codegen(context, builder, sig, args):
        val = context.cast(builder, args[0], sig.args[0], target)
        return cgutils.alloca_once_value(builder, val)

    return sig, codegen


@intrinsic
def as_dtype_of(typingctx, value, arr):
    """``value`` converted to the dtype of ``arr`` (a float32 constant for float32
    buffers: float32 loops stay float32, as in scikit-learn, and vectorise)."""
    sig = arr.dtype(value, arr)

    def codegen(context, builder, sig, args):
        return context.cast(builder, args[0], sig.args[0], sig.return_type)

    return sig, codegen


_NO_TRANS, _TRANS = ord("N"), ord("T")


def gemm(trans_a, trans_b, m, n, k, a, b, beta, c):
    """``C = op(A) @ op(B) + beta * C`` for row-major matrices behind pointers.

    ``op(A)`` is ``(m, k)``, ``op(B)`` is ``(k, n)``, ``C`` is ``(m, n)``; a
    set ``trans_*`` flag means the matrix is stored transposed (``A`` as
    ``(k, m)``). All three are C-contiguous blocks: pointers from
    :func:`address`. Compiled only as a numba overload.
    """
    raise NotImplementedError("gemm runs inside compiled kernels only")


@overload(gemm, jit_options={"nogil": True})
def _gemm(trans_a, trans_b, m, n, k, a, b, beta, c):
    routine = _GEMM[c.dtype]
    matvec = _GEMV[c.dtype]
    vecvec = _DOT[c.dtype]

    def impl(trans_a, trans_b, m, n, k, a, b, beta, c):
        # A product with a vector side calls BLAS's vector routines, as numpy
        # does: scikit-learn's results are then reproduced to the last bit.
        one = _slot(1, _INT)
        if m == 1 and n == 1:
            product = vecvec(_slot(k, _INT), a, one, b, one)
            c[0] = product if beta == 0 else c[0] + product
            return
        if beta == 0 and (m == 1 or n == 1):
            # gemv reads y unless beta is 0, and some BLAS builds scale it
            # anyway: a NaN left in the buffer must not leak into the result
            for i in range(m if n == 1 else n):
                c[i] = 0.0
        if n == 1:  # C (m, 1) = op(A) @ b
            if trans_a:  # A stored (k, m): column-major (m, k)
                matvec(
                    _slot(_NO_TRANS, np.int8),
                    _slot(m, _INT),
                    _slot(k, _INT),
                    _slot(1.0, c),
                    a,
                    _slot(m, _INT),
                    b,
                    one,
                    _slot(beta, c),
                    c,
                    one,
                )
            else:  # A stored (m, k): column-major (k, m), transposed
                matvec(
                    _slot(_TRANS, np.int8),
                    _slot(k, _INT),
                    _slot(m, _INT),
                    _slot(1.0, c),
                    a,
                    _slot(k, _INT),
                    b,
                    one,
                    _slot(beta, c),
                    c,
                    one,
                )
        elif m == 1:  # C (1, n) = a @ op(B), i.e. C^T = op(B)^T a
            if trans_b:  # B stored (n, k): column-major (k, n)
                matvec(
                    _slot(_TRANS, np.int8),
                    _slot(k, _INT),
                    _slot(n, _INT),
                    _slot(1.0, c),
                    b,
                    _slot(k, _INT),
                    a,
                    one,
                    _slot(beta, c),
                    c,
                    one,
                )
            else:  # B stored (k, n): column-major (n, k)
                matvec(
                    _slot(_NO_TRANS, np.int8),
                    _slot(n, _INT),
                    _slot(k, _INT),
                    _slot(1.0, c),
                    b,
                    _slot(n, _INT),
                    a,
                    one,
                    _slot(beta, c),
                    c,
                    one,
                )
        else:
            # Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
            lda = m if trans_a else k
            ldb = k if trans_b else n
            routine(
                _slot(_TRANS if trans_b else _NO_TRANS, np.int8),
                _slot(_TRANS if trans_a else _NO_TRANS, np.int8),
                _slot(n, _INT),
                _slot(m, _INT),
                _slot(k, _INT),
                _slot(1.0, c),
                b,
                _slot(ldb if ldb > 1 else 1, _INT),
                a,
                _slot(lda if lda > 1 else 1, _INT),
                _slot(beta, c),
                c,
                _slot(n if n > 1 else 1, _INT),
            )

    return impl


def dot(n, x, y):
    """``sum(x[:n] * y[:n])`` for contiguous vectors behind pointers (BLAS ``dot``).

    A running sum in numba is not vectorised without ``reassoc`` (which the
    project's fast-math flags leave out); BLAS's is.
    """
    raise NotImplementedError("dot runs inside compiled kernels only")


@overload(dot, jit_options={"nogil": True})
def _dot(n, x, y):
    routine = _DOT[x.dtype]

    def impl(n, x, y):
        one = _slot(1, _INT)
        return routine(_slot(n, _INT), x, one, y, one)

    return impl
