"""The compiled backward pass against central finite differences of the compiled loss.

Every hidden activation x every loss x alpha, on a tiny float64 network, with
non-uniform sample weights, comparing the whole flat gradient (weights and
biases of every layer). Row chunking of the full-batch pass (chunk=3 rows of 7)
is exercised at the same time.
"""

import numpy as np
import pytest

from kernel_utils import LOSS_CASES, loss_and_grad, make_problem
from sknn_train import _config


def _numerical_gradient(f, theta, h=1e-6):
    g = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


@pytest.mark.parametrize("activation", sorted(_config.ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("sparse", [False, True])
def test_gradient_matches_finite_differences(activation, loss, alpha, sparse):
    X, Y, sw, layout, theta, out_act = make_problem(loss, sparse=sparse)

    def f(t):
        return loss_and_grad(X, Y, sw, layout, t, activation, out_act, loss, alpha)[0]

    _, analytic = loss_and_grad(X, Y, sw, layout, theta, activation, out_act, loss, alpha)
    numeric = _numerical_gradient(f, theta)
    assert np.abs(analytic).max() > 1e-3  # a gradient worth checking
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_gradient_check_detects_a_wrong_gradient():
    # The check above must be able to fail: perturb one entry and it does.
    X, Y, sw, layout, theta, out_act = make_problem("log_loss")
    _, analytic = loss_and_grad(X, Y, sw, layout, theta, "tanh", out_act, "log_loss", 0.1)

    def f(t):
        return loss_and_grad(X, Y, sw, layout, t, "tanh", out_act, "log_loss", 0.1)[0]

    numeric = _numerical_gradient(f, theta)
    analytic[layout.coef_off[0]] *= 1.001
    assert not np.allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_chunking_does_not_change_the_result():
    X, Y, sw, layout, theta, out_act = make_problem("log_loss", n=11)
    one = loss_and_grad(X, Y, sw, layout, theta, "relu", out_act, "log_loss", 0.3, chunk=11)
    many = loss_and_grad(X, Y, sw, layout, theta, "relu", out_act, "log_loss", 0.3, chunk=2)
    assert one[0] == pytest.approx(many[0], rel=1e-12)
    np.testing.assert_allclose(one[1], many[1], rtol=1e-10, atol=1e-14)
