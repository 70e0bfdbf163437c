"""Reliability, numerical edge cases: extreme magnitudes, the fuzzer, divergence.

Inputs near the ends of the float range, sample weights that vanish in float32,
randomly drawn data and hyperparameters, and training that diverges: each ends
in a ValueError with a message (scikit-learn's "non-finite parameter weights",
naming the fixes) or in a model with finite outputs, never NaN predictions. The
figures these tests measure are collected in ``docs/reliability.rst``.

The other reliability tests: bad input in ``test_reliability_input.py``;
determinism and persistence across processes in ``test_reliability_determinism.py``;
threads, the GIL and memory in ``test_reliability_resources.py``. Interrupts
(Ctrl-C) are covered by ``test_api_training.py``; the numba cache by
``test_cache.py``; out-of-bounds accesses by ``test_boundscheck.py``.
"""

from __future__ import annotations

import itertools
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import EST_IDS, ESTIMATORS, OURS, _data, _outcome, _outputs, _quiet
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sknn_train import MLPClassifier, MLPRegressor
from sknn_train._kernels.activations import HIDDEN_ACTIVATIONS as ACTIVATIONS

#: Examples of the property test below. The suite runs this many; a longer run,
#: ``SKNN_TRAIN_FUZZ_EXAMPLES=3000 pytest -k fuzz``, is recorded in docs/reliability.md.
FUZZ_EXAMPLES = int(os.environ.get("SKNN_TRAIN_FUZZ_EXAMPLES", "150"))


# ============================================== 1. bad input: extreme values
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_weights_that_vanish_in_float32_are_refused(Est, solver):
    # sample_weight=1e-50 is positive in float64 but zero in the float32 working
    # dtype. fit checks "sample_weight sums to zero" on the float64 weights only,
    # so every batch is skipped and fit returns the untrained network (loss_ 0.0)
    # without a word. scikit-learn raises ValueError ("non-finite parameter
    # weights") for the classifier with both solvers and the regressor with sgd.
    X, y = _data(Est)
    X32 = X.astype(np.float32)
    est = Est(hidden_layer_sizes=(3,), solver=solver, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="sample_weight sums to zero|non-finite"):
        with _quiet():
            est.fit(X32, y, sample_weight=np.full(len(y), 1e-50))


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_extreme_magnitudes_give_clean_error_or_finite_model(Est, SkEst, solver):
    X, y = _data(Est, n=40)
    inputs = {
        "1e300": X * 1e300,
        "1e300-csr": sp.csr_matrix(X * 1e300),
        "3e37-float32": (X * 3e37).astype(np.float32),
        "1e-300": X * 1e-300,
    }
    kwargs = {"classes": [0, 1, 2]} if Est is MLPClassifier else {}
    methods = ["fit"] if solver == "lbfgs" else ["fit", "partial_fit"]
    for (name, Xi), method in itertools.product(inputs.items(), methods):
        params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=4, random_state=0)
        est, ref = Est(**params), SkEst(**params)

        def call(e, Xi=Xi, method=method):
            if method == "fit":
                e.fit(Xi, y)
            else:
                e.partial_fit(Xi, y, **kwargs)

        outcome = _outcome(lambda est=est, call=call: call(est))
        if outcome is not None:
            assert outcome[0] is ValueError, (name, method, outcome)
            assert outcome[1].startswith("Solver produced non-finite parameter weights")
            if solver != "lbfgs":
                assert "max_grad_norm" in outcome[1]
            continue
        # a fitted model has finite weights ...
        assert all(np.isfinite(a).all() for a in est.coefs_ + est.intercepts_), (name, method)
        with _quiet():
            out = _outputs(est, Xi)
        if np.isfinite(out).all():
            continue
        # ... and outputs that overflow only where scikit-learn's do (weights near
        # 1e296 times inputs near 1e300 give infinite logits, inf - inf in softmax)
        assert _outcome(lambda ref=ref, call=call: call(ref)) is None, (name, method)
        with _quiet():
            expected = _outputs(ref, Xi)
        np.testing.assert_array_equal(np.isfinite(out), np.isfinite(expected))


# ------------------------------------------------------------- the fuzzer
_TARGETS = [
    "binary",
    "multiclass",
    "one_class",
    "strings",
    "multilabel",
    "regression",
    "multi_regression",
]


@st.composite
def _fuzz_cases(draw):
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from(["float32", "float64", "int64"]))
    fmt = draw(st.sampled_from(["dense", "csr", "csc"]))
    sparsity = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    target = draw(st.sampled_from(_TARGETS))
    sizes = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    residual = draw(st.booleans())
    if residual and len(sizes) == 3 and draw(st.booleans()):
        sizes[2] = sizes[0]  # half of the 3-layer residual nets are compatible
    solver = draw(st.sampled_from(["adam", "sgd", "lbfgs"]))
    method = "fit" if solver == "lbfgs" else draw(st.sampled_from(["fit", "partial_fit"]))
    # mostly valid combinations; the refused ones (dropout with lbfgs, early
    # stopping with partial_fit) now and then
    rare = st.integers(0, 9).map(lambda k: k == 0)
    if solver == "lbfgs" and not draw(rare):
        dropout, input_dropout = 0.0, 0.0
    else:
        dropout = draw(st.sampled_from([0.0, 0.3, 0.9, "per_layer"]))
        if dropout == "per_layer":
            dropout = [draw(st.sampled_from([0.0, 0.25, 0.5])) for _ in sizes]
        input_dropout = draw(st.sampled_from([0.0, 0.0, 0.2]))
    early_stopping = draw(rare) if method == "partial_fit" else draw(st.booleans())
    params = dict(
        hidden_layer_sizes=tuple(sizes),
        activation=draw(st.sampled_from(sorted(ACTIVATIONS))),
        solver=solver,
        dropout=dropout,
        input_dropout=input_dropout,
        residual=residual,
        max_grad_norm=draw(st.sampled_from([None, 1e-3, 1.0, 100.0])),
        batch_size=draw(st.sampled_from(["auto", 1, 3, 16, 64])),
        early_stopping=early_stopping,
        weight_init=draw(st.sampled_from(["glorot_uniform", "he_normal", "lecun_normal"])),
        max_iter=draw(st.integers(1, 4)),
        random_state=draw(st.integers(0, 1000)),
    )
    weights = draw(st.sampled_from([None, None, "random", "some_zero"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(
        n=n,
        d=d,
        dtype=dtype,
        fmt=fmt,
        sparsity=sparsity,
        scale=scale,
        target=target,
        params=params,
        method=method,
        weights=weights,
        seed=seed,
    )


def _fuzz_data(case):
    rng = np.random.RandomState(case["seed"])
    n, d = case["n"], case["d"]
    if case["dtype"] == "int64":
        X = rng.randint(-3, 4, size=(n, d)) * int(max(case["scale"], 1))
    else:
        X = (rng.randn(n, d) * case["scale"]).astype(case["dtype"])
    X[rng.rand(n, d) < case["sparsity"]] = 0
    if case["fmt"] != "dense":
        X = sp.csr_matrix(X) if case["fmt"] == "csr" else sp.csc_matrix(X)
    target = case["target"]
    y = {
        "binary": lambda: rng.randint(0, 2, n),
        "multiclass": lambda: rng.randint(0, 4, n),
        "one_class": lambda: np.full(n, 7),
        "strings": lambda: np.array(["a", "b", "c"])[rng.randint(0, 3, n)],
        "multilabel": lambda: rng.randint(0, 2, (n, 3)),
        "regression": lambda: rng.randn(n) * case["scale"],
        "multi_regression": lambda: rng.randn(n, 2),
    }[target]()
    sw = None
    if case["weights"] == "random":
        sw = rng.uniform(0.1, 3.0, n)
    elif case["weights"] == "some_zero":
        sw = rng.randint(0, 3, n).astype(float)
    return X, y, sw


def _check_fitted_outputs(est, X, case):
    n = case["n"]
    float32 = case["dtype"] == "float32"
    if isinstance(est, MLPClassifier):
        proba = est.predict_proba(X)
        if case["target"] == "multilabel":
            n_cols = 3
        else:
            n_cols = max(len(est.classes_), 2)
        assert proba.shape == (n, n_cols)
        assert proba.dtype == (np.float32 if float32 else np.float64)
        assert np.isfinite(proba).all()
        assert ((proba >= 0) & (proba <= 1)).all()
        pred = est.predict(X)
        assert pred.shape == ((n, 3) if case["target"] == "multilabel" else (n,))
        if case["target"] != "multilabel":
            assert set(np.unique(pred)) <= set(est.classes_)
    else:
        pred = est.predict(X)
        assert pred.shape == ((n, 2) if case["target"] == "multi_regression" else (n,))
        assert pred.dtype == (np.float32 if float32 else np.float64)
        assert np.isfinite(pred).all()


def _diverging_case(**changes):
    base = dict(
        n=37,
        d=2,
        dtype="int64",
        fmt="dense",
        sparsity=0.0,
        scale=1000.0,
        target="multi_regression",
        method="partial_fit",
        weights=None,
        seed=973320,
        params=dict(
            hidden_layer_sizes=(1,),
            activation="elu",
            solver="sgd",
            dropout=0.9,
            input_dropout=0.0,
            residual=False,
            max_grad_norm=None,
            batch_size=1,
            early_stopping=False,
            weight_init="glorot_uniform",
            max_iter=1,
            random_state=0,
        ),
    )
    return {**base, **changes}


# Two examples found by long runs: divergence that leaves finite weights. The
# first ends with loss_curve_ [9.6e105, inf] and outputs inf; the second with
# loss 2e30, weights 3e25 and a float32 output that overflows to inf.
@example(case=_diverging_case())
@example(
    case=_diverging_case(
        n=1,
        dtype="float32",
        target="regression",
        seed=0,
        params=dict(
            hidden_layer_sizes=(1, 1, 1),
            activation="elu",
            solver="sgd",
            dropout=0.0,
            input_dropout=0.0,
            residual=True,
            max_grad_norm=None,
            batch_size="auto",
            early_stopping=False,
            weight_init="glorot_uniform",
            max_iter=1,
            random_state=0,
        ),
    )
)
# CI runs the same 150 examples every time (derandomize); a long exploratory
# run (SKNN_TRAIN_FUZZ_EXAMPLES=3000) draws new ones.
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize="SKNN_TRAIN_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_fuzz_cases())
def test_fuzz_error_or_finite_model(case):
    """Whatever the shape, dtype, format, target and hyperparameters: a ValueError
    (InvalidParameterError included) with a message, or a model with finite
    outputs of the right shape and dtype."""
    X, y, sw = _fuzz_data(case)
    classify = case["target"] not in ("regression", "multi_regression")
    est = (MLPClassifier if classify else MLPRegressor)(**case["params"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if case["method"] == "fit":
                est.fit(X, y, sample_weight=sw)
            else:
                kwargs = {}
                if classify:  # multilabel: the label columns
                    kwargs["classes"] = np.arange(3) if y.ndim == 2 else np.unique(y)
                est.partial_fit(X, y, sample_weight=sw, **kwargs)
                est.partial_fit(X, y, sample_weight=sw)
        except ValueError as exc:  # InvalidParameterError is a ValueError
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            event(f"{type(exc).__name__}: {str(exc)[:45]}")
            return
        assert all(np.isfinite(a).all() for a in est.coefs_ + est.intercepts_)
        curve = np.asarray(getattr(est, "loss_curve_", None) or [est.loss_])
        if not (np.abs(curve) < 1e12).all():  # targets are at most ~1e3: loss ~1e7
            # Diverged without reaching non-finite weights (weights up to 1e170,
            # training loss up to inf): scikit-learn's criterion, non-finite
            # weights, accepts such a model too, and its outputs may overflow
            # (float32 first). Reported in docs/reliability.md.
            event("fitted, training loss exploded (weights finite)")
            return
        _check_fitted_outputs(est, X, case)
        event("fitted, finite outputs")


# ============================================================ 2. divergence
@pytest.fixture(scope="module")
def standardised_regression():
    X, y = make_regression(500, 10, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_divergence_is_an_error_naming_the_fixes(standardised_regression, dtype):
    X, y = standardised_regression
    X = X.astype(dtype)
    params = dict(hidden_layer_sizes=(64, 64), solver="sgd", learning_rate_init=1.0, random_state=0)
    est = MLPRegressor(**params)
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    msg = str(info.value)
    assert msg.startswith("Solver produced non-finite parameter weights")
    assert "learning_rate_init (now 1)" in msg
    assert "max_grad_norm" in msg
    assert "diverged in epoch" in msg

    # With early stopping the best weights before the divergence are kept.
    est = MLPRegressor(**params, early_stopping=True)
    with pytest.warns(ConvergenceWarning, match="max_grad_norm") as rec:
        est.fit(X, y)
    assert any("learning_rate_init" in str(w.message) for w in rec)
    assert all(np.isfinite(a).all() for a in est.coefs_ + est.intercepts_)
    assert any("Training diverged in epoch" in str(w.message) for w in rec)
    assert np.isfinite(est.predict(X)).all()
    assert np.isfinite(est.best_validation_score_)
    assert not (np.asarray(est.loss_curve_) < 1e6).all()  # it did diverge

    # And clipping, the fix the message names, trains a finite model.
    with _quiet():
        clipped = MLPRegressor(**params, max_grad_norm=1.0).fit(X, y)
    assert np.isfinite(clipped.predict(X)).all()


@pytest.mark.parametrize("seed", range(6))
def test_divergence_never_gives_nan_predictions(standardised_regression, seed):
    X, y = standardised_regression
    for es in (False, True):
        est = MLPRegressor(
            hidden_layer_sizes=(64, 64),
            solver="sgd",
            learning_rate_init=1.0,
            random_state=seed,
            early_stopping=es,
            max_iter=30,
        )
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                est.fit(X, y)
            except ValueError as exc:
                assert not es  # early stopping keeps the best weights instead
                assert "learning_rate_init" in str(exc) and "max_grad_norm" in str(exc)
                continue
        assert all(np.isfinite(a).all() for a in est.coefs_ + est.intercepts_)
        assert np.isfinite(est.predict(X)).all()
        diverging = [
            str(w.message)
            for w in rec
            if issubclass(w.category, ConvergenceWarning) and "diverg" in str(w.message)
        ]
        for msg in diverging:  # every divergence warning names the two fixes
            assert "learning_rate_init" in msg and "max_grad_norm" in msg, msg
        if est._diverged_at is not None:  # weights went non-finite, best ones restored
            assert any(f"diverged in epoch {est._diverged_at}" in m for m in diverging)
