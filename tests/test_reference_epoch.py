"""The compiled epoch against the plain-NumPy reference epoch (1e-10, float64)."""

import numpy as np
import pytest
import reference
from kernel_utils import LOSS_CASES, make_hyper, make_net, make_problem

from sknn_train._kernels.activations import HIDDEN_ACTIVATIONS
from sknn_train._kernels.epoch import DIAG_BATCHES, DIAG_LAYERS, DIAG_NORM, run_epoch
from sknn_train._kernels.optim import SCHEDULES
from sknn_train._kernels.optim import SOLVERS as SOLVER_CODES
from sknn_train._kernels.rng import mix
from sknn_train._workspace import KernelInput, make_work

HP = dict(lr=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum=0.9)
SOLVERS = [("adam", False), ("sgd", True), ("sgd", False)]


def _run_both(
    loss,
    activation,
    solver,
    nesterov,
    sparse=False,
    residual=False,
    drop=None,
    max_norm=0.0,
    hidden=(5, 3),
    epochs=3,
    schedule=None,
    warmup=0.0,
    weight_decay=0.0,
    budget=None,
):
    X, Y, sw, layout, theta, out_act = make_problem(
        loss, n=23, sparse=sparse, seed=3, hidden=hidden
    )
    Xd = X.toarray() if sparse else X
    order = np.random.RandomState(5).permutation(23).astype(np.int64)
    batch_size, alpha, key = 5, 0.3, 777  # 23 rows: the last batch is smaller
    n_hidden = len(hidden)
    drop = np.zeros(n_hidden + 1) if drop is None else np.asarray(drop, dtype=float)

    # compiled: several epochs carrying the optimizer state across calls
    th = theta.copy()
    s1 = np.zeros_like(th)
    s2 = np.zeros_like(th) if solver == "adam" else np.zeros(0)
    step = np.zeros(1, dtype=np.int64)
    data = KernelInput(X, np.float64)
    net = make_net(layout, activation, out_act, residual, drop)
    work = make_work(net, batch_size, data.n_features, not sparse, np.float64)
    hyper = make_hyper(
        loss,
        alpha,
        key,
        solver=SOLVER_CODES[solver],
        lr=HP["lr"],
        nesterov=nesterov,
        max_norm=max_norm,
        schedule=SCHEDULES[schedule],
        warmup=warmup,
        total_steps=(budget or epochs) * -(-23 // batch_size),
        weight_decay=weight_decay,
    )
    ours, diags = [], []
    for _ in range(epochs):
        diag = np.zeros(DIAG_LAYERS + n_hidden + 1)
        ours.append(
            run_epoch(
                *data.args(),
                Y,
                sw,
                order,
                batch_size,
                th,
                np.empty_like(th),
                s1,
                s2,
                step,
                net,
                work,
                hyper,
                diag,
            )
        )
        diags.append(diag)

    # reference
    ref_theta = theta.copy()
    coefs = layout.coef_views(ref_theta)
    intercepts = layout.intercept_views(ref_theta)
    params = coefs + intercepts
    state = {
        "t": 0,
        "m": [np.zeros_like(p) for p in params],
        "v": [np.zeros_like(p) for p in params],
        "norms": [],
    }
    hp = dict(
        HP,
        activation=activation,
        out_act=out_act,
        loss=loss,
        alpha=alpha,
        nesterov=nesterov,
        residual=residual,
        drop=drop,
        max_norm=max_norm,
        schedule=schedule,
        warmup=warmup,
        total=(budget or epochs) * -(-23 // batch_size),
        weight_decay=weight_decay,
    )

    def key_fn(b):
        return int(mix(np.uint64(key) + np.uint64(b)))

    expected = [
        reference.epoch(coefs, intercepts, Xd, Y, sw, order, batch_size, solver, state, hp, key_fn)
        for _ in range(epochs)
    ]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    np.testing.assert_allclose(th, ref_theta, rtol=1e-10, atol=1e-12)
    assert not np.allclose(th, theta)  # training moved the weights
    return diags, state


@pytest.mark.parametrize(("solver", "nesterov"), SOLVERS)
@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("sparse", [False, True])
def test_compiled_epoch_matches_numpy_reference(solver, nesterov, loss, activation, sparse):
    _run_both(loss, activation, solver, nesterov, sparse=sparse)


@pytest.mark.parametrize("activation", sorted(HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize(("solver", "nesterov"), SOLVERS)
def test_every_activation(activation, solver, nesterov):
    _run_both("log_loss", activation, solver, nesterov)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("activation", ["relu", "silu"])
def test_dropout_residual_and_clipping(sparse, residual, activation):
    hidden = (6, 4, 6)
    diags, state = _run_both(
        "log_loss",
        activation,
        "adam",
        False,
        sparse=sparse,
        residual=residual,
        drop=[0.2, 0.3, 0.5, 0.1],
        max_norm=0.5,
        hidden=hidden,
    )
    # The diagnostics are the mean pre-clipping norm the reference saw.
    norms = np.asarray(state["norms"]).reshape(3, -1)
    got = [d[DIAG_NORM] / d[DIAG_BATCHES] for d in diags]
    np.testing.assert_allclose(got, norms.mean(axis=1), rtol=1e-10)
    assert (norms > 0.5).any()  # clipping was active


@pytest.mark.parametrize("schedule", [None, "cosine", "linear", "coslog4"])
@pytest.mark.parametrize(("solver", "nesterov"), SOLVERS)
@pytest.mark.parametrize(
    ("warmup", "weight_decay"), [(0.0, 0.0), (0.3, 0.0), (0.0, 0.5), (0.2, 0.5)]
)
def test_schedule_and_decoupled_decay_step_by_step(
    schedule, solver, nesterov, warmup, weight_decay
):
    # SPEC 4.1 / 4.2: per update, the scheduled rate (warm-up, schedule factor
    # over the epochs' updates, past the end of the fit too) and the decay of
    # every weight matrix before the step; 4 epochs of a 3-epoch budget.
    _run_both(
        "log_loss",
        "tanh",
        solver,
        nesterov,
        epochs=4,
        budget=3,
        schedule=schedule,
        warmup=warmup,
        weight_decay=weight_decay,
    )
    _run_both(
        "binary_log_loss",
        "relu",
        solver,
        nesterov,
        epochs=2,
        schedule=schedule,
        warmup=warmup,
        weight_decay=weight_decay,
        max_norm=0.5,
    )
