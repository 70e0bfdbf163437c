"""Call the compiled kernels directly on a tiny network (for the kernel tests)."""

import numpy as np
import scipy.sparse as sp

from sknn_train import _config
from sknn_train._kernels.epoch import full_loss_grad
from sknn_train._layout import Layout
from sknn_train._workspace import KernelInput, Workspace

# (loss, output activation, n_outputs, target maker)
LOSS_CASES = {
    "squared_error": ("identity", 2),
    "poisson": ("exp", 2),
    "log_loss": ("softmax", 3),
    "binary_log_loss": ("logistic", 3),
}


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


def loss_and_grad(X, Y, sw, layout, theta, activation, out_act, loss, alpha, chunk=3):
    """Full-batch loss and flat gradient from the compiled kernel."""
    data = KernelInput(X, np.float64)
    ws = Workspace(layout, chunk, data.n_features, False, np.float64)
    grad = np.empty_like(theta)
    value = full_loss_grad(
        *data.args(), Y, sw, chunk, theta.copy(), grad, np.empty_like(theta),
        layout.units, layout.coef_off, layout.int_off,
        _config.ACTIVATIONS[activation], _config.OUT_ACTIVATIONS[out_act],
        _config.LOSSES[loss], float(alpha), float(np.finfo(np.float64).eps),
        ws.xb, ws.acts, ws.deltas, ws.act_off,
    )
    return value, grad
