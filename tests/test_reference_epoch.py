"""The compiled epoch against the plain-NumPy reference epoch (1e-10, float64)."""

import numpy as np
import pytest

import reference
from kernel_utils import LOSS_CASES, make_problem
from sknn_train import _config
from sknn_train._kernels.epoch import run_epoch
from sknn_train._workspace import KernelInput, Workspace

HP = dict(lr=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum=0.9)


@pytest.mark.parametrize(
    ("solver", "nesterov"), [("adam", False), ("sgd", True), ("sgd", False)]
)
@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
@pytest.mark.parametrize("activation", sorted(_config.ACTIVATIONS))
@pytest.mark.parametrize("sparse", [False, True])
def test_compiled_epoch_matches_numpy_reference(solver, nesterov, loss, activation, sparse):
    X, Y, sw, layout, theta, out_act = make_problem(loss, n=23, sparse=sparse, seed=3)
    Xd = X.toarray() if sparse else X
    order = np.random.RandomState(5).permutation(23).astype(np.int64)
    batch_size, alpha = 5, 0.3  # 23 rows: the last batch is smaller

    # compiled: three epochs, carrying optimizer state across calls
    th = theta.copy()
    s1, s2 = np.zeros_like(th), np.zeros_like(th) if solver == "adam" else np.zeros(0)
    step = np.zeros(1, dtype=np.int64)
    data = KernelInput(X, np.float64)
    ws = Workspace(layout, batch_size, data.n_features, not sparse, np.float64)
    ours = []
    for _ in range(3):
        ours.append(run_epoch(
            *data.args(), Y, sw, order, batch_size, th, np.empty_like(th), s1, s2, step,
            _config.SOLVERS[solver], HP["lr"], HP["beta_1"], HP["beta_2"], HP["epsilon"],
            HP["momentum"], nesterov, layout.units, layout.coef_off, layout.int_off,
            _config.ACTIVATIONS[activation], _config.OUT_ACTIVATIONS[out_act],
            _config.LOSSES[loss], alpha, float(np.finfo(np.float64).eps),
            ws.xb, ws.acts, ws.deltas, ws.act_off,
        ))

    # reference
    ref_theta = theta.copy()
    coefs = layout.coef_views(ref_theta)
    intercepts = layout.intercept_views(ref_theta)
    state = {"t": 0, "m": [np.zeros_like(p) for p in coefs + intercepts]}
    state["v"] = [np.zeros_like(p) for p in coefs + intercepts]
    hp = dict(HP, activation=activation, out_act=out_act, loss=loss, alpha=alpha,
              nesterov=nesterov)
    expected = [
        reference.epoch(coefs, intercepts, Xd, Y, sw, order, batch_size, solver, state, hp)
        for _ in range(3)
    ]

    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    np.testing.assert_allclose(th, ref_theta, rtol=1e-10, atol=1e-12)
    assert not np.allclose(th, theta)  # training moved the weights
