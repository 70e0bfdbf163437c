"""The table of activations (``_kernels/activations.py``) and the kernels behind it.

Every entry's compiled forward and derivative against its NumPy reference on a
grid reaching large |x| (finite everywhere), for float32 and float64; the
table's own consistency (codes, ``needs_pre``, ``can_die``, the separate
output code space); and that the estimators, their docs and the workspace
pick every entry up.
"""

import numpy as np
import pytest
from kernel_utils import activation_through_kernels, central_differences, make_net
from sklearn.utils._param_validation import InvalidParameterError

from sknn_train import MLPClassifier, MLPRegressor
from sknn_train._kernels import activations
from sknn_train._kernels.activations import (
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    SELU_ALPHA,
    SELU_SCALE,
)
from sknn_train._kernels.epoch import PASS_PREDICT, evaluate
from sknn_train._layout import Layout
from sknn_train._workspace import KernelInput, make_work

NAMES = sorted(HIDDEN_ACTIVATIONS)
DTYPES = [np.float64, np.float32]
_BIG = [1e-8, 1e-3, 20.0, 40.0, 88.0, 100.0, 700.0, 800.0, 1e4]
GRID = np.unique(np.concatenate([np.linspace(-8, 8, 161), _BIG, np.negative(_BIG)]))
# float64: a few ulps; float32 kernels compute in float32 (expf, tanhf, ...).
TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=2e-6, atol=1e-6)}


# ------------------------------------------------------ kernels vs references
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_kernel_matches_reference_on_a_wide_grid(name, dtype):
    entry = HIDDEN_ACTIVATIONS[name]
    a = GRID.astype(dtype)
    value, slope = activation_through_kernels(name, a, dtype)
    assert value.dtype == dtype
    # no overflow, no NaN, also at |x| = 1e4
    assert np.isfinite(value).all() and np.isfinite(slope).all()
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(value, entry.reference(a64), **TOL[dtype])
    np.testing.assert_allclose(slope, entry.reference_grad(a64), **TOL[dtype])


@pytest.mark.parametrize("name", NAMES)
def test_reference_grad_is_the_derivative_of_reference(name):
    # The two NumPy references agree with each other (central differences),
    # away from the kinks at 0 of the piecewise activations.
    entry = HIDDEN_ACTIVATIONS[name]
    a = GRID[(np.abs(GRID) > 1e-2) & (np.abs(GRID) <= 100)]
    h = 1e-6
    numeric = np.diagonal(central_differences(entry.reference, a, h))
    np.testing.assert_allclose(entry.reference_grad(a), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OUTPUT_ACTIVATIONS))
def test_output_activations_use_their_own_codes(name, dtype):
    # A network without hidden layers: its only layer is the output one, so the
    # kernel reads OUTPUT_ACTIVATIONS[name] in the output code space.
    rng = np.random.RandomState(0)
    k = 4
    x = rng.randn(6, 3).astype(dtype)
    layout = Layout([3, k])
    theta = rng.randn(layout.size).astype(dtype)
    net = make_net(layout, "identity", name)
    assert net.act[-1] == OUTPUT_ACTIVATIONS[name]
    data = KernelInput(x, dtype)
    out = np.empty((6, k), dtype=dtype)
    evaluate(
        *data.args(),
        6,
        6,
        theta,
        net,
        make_work(net, 6, 3, False, dtype),
        PASS_PREDICT,
        None,
        None,
        np.int64(0),
        1e-16,
        out,
        None,
    )
    (w,), (b,) = layout.coef_views(theta), layout.intercept_views(theta)
    a = x.astype(np.float64) @ w.astype(np.float64) + b
    if name == "softmax":
        e = np.exp(a - a.max(1, keepdims=True))
        expected = e / e.sum(1, keepdims=True)
        np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-6)
    elif name == "exp":
        expected = np.exp(a)
    else:  # the names both spaces have mean the same function
        expected = HIDDEN_ACTIVATIONS[name].reference(a)
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, expected, **tol)


# ----------------------------------------------------------- the table itself
def test_codes_are_unique_named_constants():
    codes = [a.code for a in HIDDEN_ACTIVATIONS.values()]
    assert len(set(codes)) == len(codes)
    assert sorted(codes) == list(range(len(codes)))  # dense: small integer branches
    for name, entry in HIDDEN_ACTIVATIONS.items():
        assert getattr(activations, name.upper()) == entry.code, name
    # _config.build_net gives a residual block's output code 0: it must be identity
    assert HIDDEN_ACTIVATIONS["identity"].code == activations.IDENTITY == 0


def test_output_codes_are_a_space_of_their_own():
    assert sorted(OUTPUT_ACTIVATIONS.values()) == list(range(len(OUTPUT_ACTIVATIONS)))
    for name, code in OUTPUT_ACTIVATIONS.items():
        assert getattr(activations, f"OUT_{name.upper()}") == code, name
    # softmax and exp are never hidden activations
    assert not {"softmax", "exp"} & set(HIDDEN_ACTIVATIONS)


def test_validation_is_derived_from_the_table():
    assert {n for n, a in HIDDEN_ACTIVATIONS.items() if a.can_die} == {"relu", "leaky_relu"}
    assert set(MLPClassifier._parameter_constraints["activation"][0].options) == set(
        HIDDEN_ACTIVATIONS
    )


@pytest.mark.parametrize("name", NAMES)
def test_needs_pre_exactly_where_the_output_does_not_determine_the_slope(name):
    # A monotone activation's slope is a function of its output z; one with a
    # minimum (GELU, SiLU, Mish) takes the same z on both sides of it with
    # slopes of opposite signs: only those need the pre-activation kept.
    entry = HIDDEN_ACTIVATIONS[name]
    a = np.linspace(-8, 8, 1601)
    monotone = (entry.reference_grad(a) >= 0).all()
    assert entry.needs_pre == (not monotone)


@pytest.mark.parametrize("name", NAMES)
def test_workspace_keeps_the_preactivation_only_when_needed(name):
    layout = Layout([3, 4, 5, 2])
    net = make_net(layout, name, "identity")
    work = make_work(net, 7, 3, True, np.float64)
    assert (work.pre.size > 0) == HIDDEN_ACTIVATIONS[name].needs_pre
    if HIDDEN_ACTIVATIONS[name].needs_pre:
        assert work.pre.size == work.acts.size


@pytest.mark.parametrize("name", NAMES)
def test_units_that_cannot_die_are_never_exactly_zero(name):
    # dead_units_ counts units with zero output on every row: only the relu
    # family (can_die) is looked at, the others are zero only at a = 0.
    entry = HIDDEN_ACTIVATIONS[name]
    a = GRID[(GRID != 0) & (np.abs(GRID) <= 8)]
    if entry.can_die:
        assert entry.reference(np.zeros(1))[0] == 0
        assert (entry.reference_grad(a[a > 0]) == 1).all()  # rectifiers: identity above 0
    else:
        assert (entry.reference(a) != 0).all()


def test_selu_constants_normalise():
    # SELU's fixed point: a standard normal input gives mean 0 and variance 1.
    from scipy.integrate import quad

    selu = HIDDEN_ACTIVATIONS["selu"].reference

    def moment(k):  # E[selu(x)^k], x ~ N(0, 1), each side of the kink at 0
        f = lambda x: selu(np.array(x)) ** k * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        return quad(f, -np.inf, 0)[0] + quad(f, 0, np.inf)[0]

    mean = moment(1)
    assert abs(mean) < 1e-8 and abs(moment(2) - mean**2 - 1) < 1e-8
    assert SELU_SCALE == pytest.approx(1.0507009873554805, rel=1e-15)
    assert SELU_ALPHA == pytest.approx(1.6732632423543772, rel=1e-15)


# ------------------------------------------------------------ the estimators
@pytest.mark.parametrize("name", ["selu", "mish"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_new_activations_fit_through_the_estimators(name, dtype):
    rng = np.random.RandomState(0)
    X = rng.randn(40, 4).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = MLPClassifier(
        (6, 5), activation=name, learning_rate_init=0.03, max_iter=100, random_state=0
    ).fit(X, y)
    assert clf.coefs_[0].dtype == dtype
    assert np.isfinite(clf.loss_curve_).all() and clf.score(X, y) > 0.9
    assert (clf.dead_units_ == 0).all()
    reg = MLPRegressor(
        hidden_layer_sizes=(5,), activation=name, solver="lbfgs", max_iter=20, random_state=0
    ).fit(X, X[:, 0])
    assert np.isfinite(reg.predict(X)).all()


def test_unknown_activation_is_refused():
    with pytest.raises(InvalidParameterError, match="activation"):
        MLPClassifier(activation="swish").fit(np.zeros((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_docs_list_every_activation(Est):
    doc = Est.__doc__
    options = doc[doc.index("activation : {") :].split("\n", 1)[0]
    for name, entry in HIDDEN_ACTIVATIONS.items():
        assert f"'{name}'" in options
        assert f"- '{name}', {entry.doc.split()[0]}" in doc
