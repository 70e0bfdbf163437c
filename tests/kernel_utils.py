"""Call the compiled kernels directly on a tiny network (for the kernel tests)."""

import numpy as np
import scipy.sparse as sp

from sknn_train._config import build_net, residual_skips
from sknn_train._kernels.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from sknn_train._kernels.epoch import PASS_PREDICT, evaluate, full_loss_grad
from sknn_train._kernels.epoch import make_hyper as _hyper
from sknn_train._kernels.losses import LOSSES
from sknn_train._layout import Layout
from sknn_train._workspace import KernelInput, make_work

# loss -> (output activation, n_outputs)
LOSS_CASES = {
    "squared_error": ("identity", 2),
    "poisson": ("exp", 2),
    "log_loss": ("softmax", 3),
    "binary_log_loss": ("logistic", 3),
}
EPS64 = float(np.finfo(np.float64).eps)


def make_problem(loss, n=7, d=4, hidden=(5, 3), seed=0, sparse=False):
    """Random network, data and targets for ``loss`` (float64)."""
    rng = np.random.RandomState(seed)
    out_act, k = LOSS_CASES[loss]
    X = rng.randn(n, d)
    if sparse:
        X[rng.rand(n, d) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    if loss == "squared_error":
        Y = rng.randn(n, k)
    elif loss == "poisson":
        Y = rng.poisson(1.5, (n, k)).astype(float)
    elif loss == "log_loss":
        Y = np.eye(k)[rng.randint(0, k, n)]
    else:
        Y = rng.randint(0, 2, (n, k)).astype(float)
    layout = Layout([d, *hidden, k])
    theta = rng.uniform(-0.8, 0.8, layout.size)
    sw = rng.uniform(0.2, 2.0, n)
    return X, np.ascontiguousarray(Y), sw, layout, theta, out_act


def make_net(layout, activation, out_act, residual=False, drop=None):
    n_hidden = len(layout.units) - 2
    skip = residual_skips(layout.units[1:-1]) if residual else np.full(n_hidden + 2, -1)
    drop = np.zeros(n_hidden + 1) if drop is None else np.asarray(drop, dtype=float)
    return build_net(
        layout, HIDDEN_ACTIVATIONS[activation].code, OUTPUT_ACTIVATIONS[out_act], skip, drop
    )


def make_hyper(loss, alpha, key=0, solver=1, lr=0.05, nesterov=True, max_norm=0.0, **extra):
    return _hyper(
        **extra,
        solver=solver,
        loss=LOSSES[loss],
        nesterov=nesterov,
        lr=lr,
        alpha=alpha,
        max_norm=max_norm or None,
        eps_loss=EPS64,
        key=key,
    )


def loss_and_grad(
    X,
    Y,
    sw,
    layout,
    theta,
    activation,
    out_act,
    loss,
    alpha,
    chunk=3,
    residual=False,
    drop=None,
    key=0,
):
    """Full-batch loss and flat gradient from the compiled kernel."""
    data = KernelInput(X, np.float64)
    net = make_net(layout, activation, out_act, residual, drop)
    work = make_work(net, chunk, data.n_features, not data.is_sparse, np.float64)
    grad = np.empty_like(theta)
    value = full_loss_grad(
        *data.args(),
        Y,
        sw,
        chunk,
        theta.copy(),
        grad,
        net,
        work,
        make_hyper(loss, alpha, key),
    )
    return value, grad


def activation_through_kernels(activation, a, dtype):
    """The compiled hidden ``activation`` and its derivative at the points ``a``.

    A one-row network: input 1, a hidden layer of ``a.size`` units whose
    weights are ``a`` and biases 0 (its pre-activations are ``a`` exactly), an
    identity output layer of as many units with the identity matrix as weights
    (its outputs are ``f(a)`` exactly: ``evaluate``'s prediction). With squared
    error against ``y = -10`` (a delta of ``f(a) + 10``, never 0), the output
    bias gradient is the delta and the hidden one the delta times ``f'(a)``.
    """
    a = np.asarray(a, dtype=dtype).ravel()
    k = a.size
    layout = Layout([1, k, k])
    theta = np.zeros(layout.size, dtype=dtype)
    w1, w2 = layout.coef_views(theta)
    w1[0] = a
    w2[...] = np.eye(k, dtype=dtype)
    data = KernelInput(np.ones((1, 1), dtype=dtype), dtype)
    net = make_net(layout, activation, "identity")
    out = np.empty((1, k), dtype=dtype)
    work = make_work(net, 1, 1, False, dtype)
    loss = np.int64(LOSSES["squared_error"])
    evaluate(*data.args(), 1, 1, theta, net, work, PASS_PREDICT, None, None, loss, EPS64, out, None)
    y = np.full((1, k), -10.0, dtype=dtype)
    sw = np.ones(1, dtype=dtype)
    grad = np.empty_like(theta)
    work = make_work(net, 1, 1, True, dtype)
    full_loss_grad(*data.args(), y, sw, 1, theta, grad, net, work, make_hyper("squared_error", 0.0))
    b1, b2 = layout.intercept_views(grad)
    return out[0], b1 / b2


def central_differences(f, x, h=1e-6):
    """Central finite differences of ``f`` at the float array ``x``, one entry at a time.

    For every index ``i`` of ``x`` (of any shape), ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``,
    ``e_i`` being 1 at ``i`` and 0 elsewhere. The result has shape
    ``x.shape + np.shape(f(x))``: for a scalar ``f`` (a loss), the gradient, shaped like
    ``x``; for an array-valued ``f``, the Jacobian, ``J[i][j]`` the derivative of output
    ``j`` with respect to entry ``i`` (for an elementwise ``f`` of a 1-d ``x``, its
    derivatives are the diagonal).

    ``x`` is changed in place, entry by entry, and every entry is put back exactly
    (also when ``f`` raises): ``f`` may read the perturbed values from its argument or
    from ``x`` itself through a closure (one parameter array among those it uses).
    """
    columns = []
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            up = np.array(f(x), dtype=np.float64)  # a copy: f may return x itself
            x[idx] = old - h
            down = np.array(f(x), dtype=np.float64)
        finally:
            x[idx] = old
        columns.append((up - down) / (2 * h))
    out_shape = np.shape(columns[0]) if columns else ()
    return np.reshape(columns, x.shape + out_shape)
