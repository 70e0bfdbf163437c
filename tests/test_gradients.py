"""The compiled backward pass against central finite differences of the compiled loss.

Every hidden activation of the table (``HIDDEN_ACTIVATIONS``, so a new entry is
checked without further edits) x every loss x alpha, plain and residual, with
and without dropout (masks fixed by the seed), on tiny float64 networks with
non-uniform sample weights, comparing the whole flat gradient. Row chunking of
the full-batch pass (chunk=3 rows of 7) is exercised at the same time.
"""

import numpy as np
import pytest
from kernel_utils import LOSS_CASES, central_differences, loss_and_grad, make_problem

from sknn_train._kernels.activations import HIDDEN_ACTIVATIONS


def _check(loss, activation, alpha, sparse=False, residual=False, drop=None, hidden=(5, 3)):
    X, Y, sw, layout, theta, out_act = make_problem(loss, sparse=sparse, hidden=hidden)
    kw = dict(residual=residual, drop=drop, key=12345)

    def f(t):
        return loss_and_grad(X, Y, sw, layout, t, activation, out_act, loss, alpha, **kw)[0]

    _, analytic = loss_and_grad(X, Y, sw, layout, theta, activation, out_act, loss, alpha, **kw)
    numeric = central_differences(f, theta)
    assert np.abs(analytic).max() > 1e-3  # a gradient worth checking
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    return analytic


@pytest.mark.parametrize("activation", sorted(HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("sparse", [False, True])
def test_gradient_matches_finite_differences(activation, loss, alpha, sparse):
    _check(loss, activation, alpha, sparse=sparse)


# (6, 4, 6, 4, 6): stem + two residual blocks; (6, 4, 6, 5): one block + a plain layer
@pytest.mark.parametrize("activation", sorted(HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("hidden", [(6, 4, 6, 4, 6), (6, 4, 6, 5)])
def test_residual_gradient(activation, hidden):
    _check("log_loss", activation, 0.3, residual=True, hidden=hidden)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("residual", [False, True])
def test_dropout_gradient_with_fixed_mask(activation, sparse, residual):
    hidden = (6, 4, 6)
    drop = [0.3, 0.4, 0.25, 0.5]  # input, then each hidden layer
    g = _check(
        "binary_log_loss",
        activation,
        0.2,
        sparse=sparse,
        residual=residual,
        drop=drop,
        hidden=hidden,
    )
    # dropout really masked something: the same network without it differs
    no_drop = _check(
        "binary_log_loss", activation, 0.2, sparse=sparse, residual=residual, hidden=hidden
    )
    assert not np.allclose(g, no_drop)


def test_gradient_check_detects_a_wrong_gradient():
    # The check above must be able to fail: perturb one entry and it does.
    X, Y, sw, layout, theta, out_act = make_problem("log_loss")
    _, analytic = loss_and_grad(X, Y, sw, layout, theta, "tanh", out_act, "log_loss", 0.1)

    def f(t):
        return loss_and_grad(X, Y, sw, layout, t, "tanh", out_act, "log_loss", 0.1)[0]

    numeric = central_differences(f, theta)
    analytic[layout.coef_off[0]] *= 1.001
    assert not np.allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("drop", [None, [0.2, 0.3, 0.3]])
def test_chunking_does_not_change_the_result(drop):
    X, Y, sw, layout, theta, out_act = make_problem("log_loss", n=11)
    kw = dict(drop=drop, key=99)
    one = loss_and_grad(X, Y, sw, layout, theta, "relu", out_act, "log_loss", 0.3, chunk=11, **kw)
    many = loss_and_grad(X, Y, sw, layout, theta, "relu", out_act, "log_loss", 0.3, chunk=2, **kw)
    assert one[0] == pytest.approx(many[0], rel=1e-12)
    np.testing.assert_allclose(one[1], many[1], rtol=1e-10, atol=1e-14)
