"""The category lookups inside the passes (SPEC 5.2) against finite differences and
against the same network on the densely encoded matrix.

A tiny float64 problem: two dense inputs, a one-hot column of 3 categories and
an embedded column of 4 categories (vectors of 2), some rows at the slot (an
unseen or missing value). The one-hot inputs are row lookups of the first
layer's weights, the embedded vectors rows of a learnt table in ``theta``;
the whole flat gradient (weights, biases, input scaling, tables) is checked
against central differences of the compiled loss, with input dropout (masks
fixed by the key) and for an ensemble of two members.
"""

import numpy as np
import pytest
from kernel_utils import EPS64, central_differences, make_hyper, make_net

from sknn_train._kernels.embeddings import NO_EMBEDDING, PBLD, PLR, SIZES, WIDTHS
from sknn_train._kernels.epoch import PASS_PREDICT, evaluate, full_loss_grad
from sknn_train._kernels.losses import LOSSES
from sknn_train._kernels.tables import EMBEDDED, ONEHOT, Tables
from sknn_train._kernels.tiers import EVERYTHING, RECIPE
from sknn_train._layout import Layout
from sknn_train._workspace import KernelInput, make_work

N_DENSE, ONEHOT_K, EMBED_K, DIM = 2, 3, 4, 2
N_IN = N_DENSE + DIM  # dense values and the embedded vector
N_INPUTS = N_IN + ONEHOT_K  # and the one-hot inputs


def _problem(n=9, seed=0, n_members=1, input_scaling=False, num_kind=NO_EMBEDDING):
    """The problem; with ``num_kind``, the first dense value is a numeric feature
    embedded (the second stays as it is: an indicator, say)."""
    rng = np.random.RandomState(seed)
    dense = rng.randn(n, N_DENSE)
    onehot = rng.randint(0, ONEHOT_K + 1, n)  # ONEHOT_K: the slot
    embedded = rng.randint(0, EMBED_K + 1, n)
    onehot[:2] = [0, ONEHOT_K]
    embedded[:2] = [EMBED_K, 1]
    raw = np.column_stack([dense, onehot, embedded]).astype(np.float64)
    n_tables = (EMBED_K + 1) * DIM
    n_num = 0 if num_kind == NO_EMBEDDING else 1
    extra = n_num * (WIDTHS[num_kind] - 1)  # the embedding's inputs beyond the value's one
    n_inputs = N_INPUTS + extra
    layout = Layout(
        [n_inputs, 5, 3],
        n_inputs if input_scaling else 0,
        n_members,
        n_tables=n_tables,
        n_numeric=n_num * SIZES[num_kind],
    )
    tables = Tables(
        np.int64(N_DENSE),
        np.int64(N_IN + extra),
        np.array([ONEHOT, EMBEDDED], dtype=np.int64),
        np.array([ONEHOT_K, EMBED_K], dtype=np.int64),
        np.array([0, N_DENSE + extra], dtype=np.int64),
        np.array([-1, layout.table_off], dtype=np.int64),
        np.array([0, DIM], dtype=np.int64),
        np.int64(n_num),
        np.int64(num_kind),
        np.int64(layout.numeric_off),
    )
    theta = rng.uniform(-0.8, 0.8, layout.size)
    Y = np.eye(3)[rng.randint(0, 3, n)]
    sw = rng.uniform(0.2, 2.0, n)
    return raw, Y, sw, layout, tables, theta


def _dense_equivalent(raw, layout, theta):
    """The rows encoded densely ``[dense | embedded vector | one-hot]`` and one
    member's network without tables (the same weights)."""
    n = raw.shape[0]
    table = theta[layout.table_off : layout.member_size].reshape(EMBED_K + 1, DIM)
    codes_onehot = raw[:, N_DENSE].astype(int)
    codes_embed = raw[:, N_DENSE + 1].astype(int)
    onehot = np.zeros((n, ONEHOT_K))
    seen = codes_onehot < ONEHOT_K
    onehot[np.flatnonzero(seen), codes_onehot[seen]] = 1.0
    x = np.hstack([raw[:, :N_DENSE], table[codes_embed], onehot])
    plain = Layout(layout.units, layout.n_scale)
    return x, plain, theta[: plain.size].copy()


def _loss_grad(raw, Y, sw, layout, tables, theta, drop=None, key=0, chunk=4):
    net = make_net(layout, "tanh", "softmax", drop=drop)
    data = KernelInput(raw, np.float64)
    work = make_work(
        net, chunk, raw.shape[1], True, np.float64, ensemble=layout.n_members > 1, tables=tables
    )
    grad = np.empty_like(theta)
    tier = EVERYTHING if drop is not None else RECIPE
    value = full_loss_grad(
        *data.args(),
        Y,
        sw,
        chunk,
        theta.copy(),
        grad,
        net,
        work,
        make_hyper("log_loss", 0.3, key),
        layout.ensemble,
        tier,
        tables,
    )
    return value, grad


@pytest.mark.parametrize("num_kind", [NO_EMBEDDING, PBLD, PLR])
@pytest.mark.parametrize("input_scaling", [False, True])
@pytest.mark.parametrize("drop", [None, [0.3, 0.2]])
@pytest.mark.parametrize("n_members", [1, 2])
def test_lookup_gradients_match_finite_differences(num_kind, input_scaling, drop, n_members):
    raw, Y, sw, layout, tables, theta = _problem(
        n_members=n_members, input_scaling=input_scaling, num_kind=num_kind
    )
    if input_scaling:
        scale = layout.scale_view(theta)
        scale[...] = np.linspace(0.5, 1.5, layout.n_scale)

    def f(t):
        return _loss_grad(raw, Y, sw, layout, tables, t, drop, key=777)[0]

    _, analytic = _loss_grad(raw, Y, sw, layout, tables, theta, drop, key=777)
    numeric = central_differences(f, theta)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    for k in range(n_members):  # the lookups got gradients, the slot's one-hot weights none
        member = layout.member_view(analytic, k)
        tables_grad = member[layout.table_off : layout.numeric_off].reshape(EMBED_K + 1, DIM)
        assert np.abs(tables_grad).max() > 1e-3
        onehot_rows = layout.member_of().coef_views(member)[0][int(tables.n_in) :]
        assert np.abs(onehot_rows).max() > 1e-3
        if num_kind != NO_EMBEDDING:  # every block of the embedding's parameters learns
            numeric = member[layout.numeric_off :]
            blocks = (16, 16, 48, 3) if num_kind == PBLD else (8, 128, 8)
            for block in np.split(numeric, np.cumsum(blocks)[:-1]):
                assert np.abs(block).max() > 1e-4


def test_the_gradient_check_sees_a_wrong_table_gradient():
    raw, Y, sw, layout, tables, theta = _problem()
    _, analytic = _loss_grad(raw, Y, sw, layout, tables, theta)
    numeric = central_differences(lambda t: _loss_grad(raw, Y, sw, layout, tables, t)[0], theta)
    analytic[layout.table_off + DIM] += 1e-3  # category 1's first value
    assert not np.allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_lookups_equal_the_dense_product():
    """The loss, the gradients of the shared weights and the predictions equal those
    of the same network on the densely encoded rows (sums in another order)."""
    raw, Y, sw, layout, tables, theta = _problem(n=11)
    x, plain, plain_theta = _dense_equivalent(raw, layout, theta)
    loss, grad = _loss_grad(raw, Y, sw, layout, tables, theta)
    net = make_net(plain, "tanh", "softmax")
    data = KernelInput(x, np.float64)
    dense_grad = np.empty_like(plain_theta)
    work = make_work(net, 4, x.shape[1], True, np.float64)
    hyper = make_hyper("log_loss", 0.3)
    dense_loss = full_loss_grad(*data.args(), Y, sw, 4, plain_theta, dense_grad, net, work, hyper)
    assert loss == pytest.approx(dense_loss, rel=1e-13)
    np.testing.assert_allclose(grad[: plain.size], dense_grad, rtol=1e-11, atol=1e-14)

    def predict(rows, lay, th, tab):
        out = np.empty((rows.shape[0], 3))
        work = make_work(net, 5, rows.shape[1], False, np.float64, tables=tab)
        code = np.int64(LOSSES["log_loss"])
        args = KernelInput(rows, np.float64).args()
        evaluate(
            *args,
            rows.shape[0],
            5,
            th,
            net,
            work,
            PASS_PREDICT,
            None,
            None,
            code,
            EPS64,
            out,
            None,
            None,
            RECIPE if tab is not None else None,
            tab,
        )
        return out

    np.testing.assert_allclose(
        predict(raw, layout, theta, tables), predict(x, plain, plain_theta, None), rtol=1e-12
    )
