"""Reliability, bad input: what a user gets when the data or a hyperparameter is wrong.

scikit-learn's validation errors (word for word where scikit-learn refuses the
same input), never a crash inside a compiled kernel; a refused call leaves no
fitted state behind, or the previous model untouched. The degenerate inputs
scikit-learn accepts (one sample, one class) fit as they do there.

Extreme magnitudes, divergence and the fuzzer are in ``test_reliability.py``;
the invalid values of scikit-learn's own hyperparameters in ``test_api.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import EST_IDS, ESTIMATORS, OURS, _data, _outcome, _outputs, _quiet
from sklearn import neural_network as sk
from sklearn.utils._param_validation import InvalidParameterError

from sknn_train import MLPClassifier


# ============================================================ 1. bad input
def _fit(X, y, params=None, **kwargs):
    def run(Est):
        Est(hidden_layer_sizes=(3,), max_iter=3, random_state=0, **(params or {})).fit(
            X, y, **kwargs
        )

    return run


def _predict(X, method="predict"):
    def run(Est):
        X_fit, y_fit = _data(Est)
        est = Est(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X_fit, y_fit)
        getattr(est, method)(X)

    return run


def _partial_fit_then(X2):
    def run(Est):
        X, y = _data(Est)
        kwargs = {"classes": [0, 1, 2]} if Est in (MLPClassifier, sk.MLPClassifier) else {}
        est = Est(hidden_layer_sizes=(3,), random_state=0).partial_fit(X, y, **kwargs)
        est.partial_fit(X2, y)

    return run


def _bad_inputs():
    """(case id, what the user does, estimators it applies to), for every bad input."""
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4)
    yc, yr = np.arange(30) % 3, rng.randn(30)

    def with_value(value, where=(0, 0)):
        Xb = X.copy()
        Xb[where] = value
        return Xb

    nan_X, inf_X, ninf_X = with_value(np.nan), with_value(np.inf), with_value(-np.inf)
    obj = X.astype(object)
    obj[2, 1] = "seven"
    y_nan, y_inf = yr.copy(), yr.copy()
    y_nan[3], y_inf[3] = np.nan, np.inf
    sw_nan, sw_inf = np.ones(30), np.ones(30)
    sw_nan[4], sw_inf[4] = np.nan, np.inf
    cases = []
    for kind, y in (("classifier", yc), ("regressor", yr)):
        cases += [
            (f"{kind}-fit-nan-X-dense", _fit(nan_X, y), kind),
            (f"{kind}-fit-nan-X-csr", _fit(sp.csr_matrix(nan_X), y), kind),
            (f"{kind}-fit-nan-X-csc", _fit(sp.csc_matrix(nan_X), y), kind),
            (f"{kind}-fit-inf-X-dense", _fit(inf_X, y), kind),
            (f"{kind}-fit-inf-X-csr", _fit(sp.csr_matrix(inf_X), y), kind),
            (f"{kind}-fit-minus-inf-X-csc", _fit(sp.csc_matrix(ninf_X), y), kind),
            (f"{kind}-fit-nan-X-float32", _fit(nan_X.astype(np.float32), y), kind),
            (f"{kind}-predict-nan-X", _predict(nan_X), kind),
            (f"{kind}-predict-inf-X-csr", _predict(sp.csr_matrix(inf_X)), kind),
            (f"{kind}-fit-empty-X", _fit(X[:0], y[:0]), kind),
            (f"{kind}-predict-empty-X", _predict(X[:0]), kind),
            (f"{kind}-fit-zero-features", _fit(X[:, :0], y), kind),
            (f"{kind}-fit-X-longer-than-y", _fit(X, y[:29]), kind),
            (f"{kind}-fit-sample-weight-too-short", _fit(X, y, sample_weight=np.ones(29)), kind),
            (f"{kind}-fit-sample-weight-2d", _fit(X, y, sample_weight=np.ones((30, 2))), kind),
            (f"{kind}-predict-too-few-features", _predict(X[:, :3]), kind),
            (
                f"{kind}-predict-too-many-features-csr",
                _predict(sp.csr_matrix(np.hstack([X, X]))),
                kind,
            ),
            (f"{kind}-partial-fit-other-feature-count", _partial_fit_then(X[:, :2]), kind),
            (f"{kind}-fit-3d-X", _fit(X.reshape(30, 2, 2), y), kind),
            (f"{kind}-predict-3d-X", _predict(X.reshape(30, 2, 2)), kind),
            (f"{kind}-fit-1d-X", _fit(X[:, 0], y), kind),
            (f"{kind}-fit-object-X-with-string", _fit(obj, y), kind),
            (f"{kind}-fit-complex-X", _fit(X.astype(complex), y), kind),
            (f"{kind}-fit-nan-sample-weight", _fit(X, y, sample_weight=sw_nan), kind),
            (f"{kind}-fit-inf-sample-weight", _fit(X, y, sample_weight=sw_inf), kind),
            (f"{kind}-fit-all-zero-sample-weight", _fit(X, y, sample_weight=np.zeros(30)), kind),
        ]
    cases += [
        ("regressor-fit-nan-y", _fit(X, y_nan), "regressor"),
        ("regressor-fit-inf-y", _fit(X, y_inf), "regressor"),
        ("regressor-fit-3d-y", _fit(X, np.zeros((30, 2, 2))), "regressor"),
        ("classifier-fit-continuous-y", _fit(X, yr), "classifier"),
        # one sample cannot be split for early stopping, whatever the target
        (
            "classifier-fit-one-sample-early-stopping",
            _fit(X[:1], yc[:1], {"early_stopping": True}),
            "classifier",
        ),
        (
            "classifier-fit-one-sample-multilabel-early-stopping",
            _fit(X[:1], np.array([[1, 0, 1]]), {"early_stopping": True}),
            "classifier",
        ),
        (
            "regressor-fit-one-sample-early-stopping",
            _fit(X[:1], yr[:1], {"early_stopping": True}),
            "regressor",
        ),
    ]
    return cases


BAD_INPUTS = _bad_inputs()


@pytest.mark.parametrize(("case", "action", "kind"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gets_sklearns_error(case, action, kind):
    Est, SkEst = ESTIMATORS[EST_IDS.index(kind)]
    ours, theirs = _outcome(lambda: action(Est)), _outcome(lambda: action(SkEst))
    assert theirs is not None, "scikit-learn accepts this input: not a bad-input case"
    assert ours is not None, f"{case}: sknn_train accepted what scikit-learn refuses"
    assert issubclass(ours[0], ValueError), ours
    assert ours[0] is theirs[0]
    # word for word: the error comes from the same validation, before any kernel ran
    assert ours[1] == theirs[1]
    assert ours[1].strip()


@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_refused_fit_leaves_no_fitted_state(Est):
    X, y = _data(Est)
    X = X.copy()
    X[0, 0] = np.nan
    est = Est(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    # A refused partial_fit after a successful one leaves the weights untouched.
    X_ok, y_ok = _data(Est)
    kwargs = {"classes": [0, 1, 2]} if Est is MLPClassifier else {}
    est.partial_fit(X_ok, y_ok, **kwargs)
    before = est._theta.copy()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.partial_fit(X, y_ok)
    np.testing.assert_array_equal(est._theta, before)
    assert est.n_iter_ == 1


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_one_sample_fits_like_sklearn(Est, SkEst, solver):
    X, y = _data(Est)
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=5, random_state=0)
    with _quiet():
        est = Est(**params).fit(X[:1], y[:1])
        ref = SkEst(**params).fit(X[:1], y[:1])
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(_outputs(est, X), _outputs(ref, X), rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))
    # Early stopping cannot split one sample: the same ValueError as scikit-learn.
    ours = _outcome(lambda: Est(**params, early_stopping=True).fit(X[:1], y[:1]))
    theirs = _outcome(lambda: SkEst(**params, early_stopping=True).fit(X[:1], y[:1]))
    if solver == "lbfgs":  # early_stopping is ignored by lbfgs
        assert ours is None and theirs is None
    else:
        assert ours == theirs
        assert ours[0] is ValueError and "train set will be empty" in ours[1]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_one_class_fits_like_sklearn(solver):
    X, _ = _data(MLPClassifier)
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=5, random_state=0)
    for y in (np.zeros(len(X), dtype=int), np.array(["only"] * len(X))):
        with _quiet():
            est = MLPClassifier(**params).fit(X, y)
            ref = sk.MLPClassifier(**params).fit(X, y)
        np.testing.assert_array_equal(est.classes_, ref.classes_)
        np.testing.assert_array_equal(est.predict(X), ref.predict(X))
        np.testing.assert_array_equal(est.predict(X), y)
        # scikit-learn's two-column quirk for a single class, kept for drop-in use
        proba = est.predict_proba(X)
        assert proba.shape == ref.predict_proba(X).shape == (len(X), 2)
        np.testing.assert_allclose(proba, ref.predict_proba(X), rtol=1e-6)
    # partial_fit with a single class
    est = MLPClassifier(**{**params, "solver": "adam"}).partial_fit(X, y, classes=["only"])
    ref = sk.MLPClassifier(**{**params, "solver": "adam"}).partial_fit(X, y, classes=["only"])
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_negative_sample_weight_refused(Est, SkEst):
    # Deliberate difference: scikit-learn fits with negative weights (an objective
    # without a minimum), sknn_train refuses them.
    X, y = _data(Est)
    sw = np.ones(len(y))
    sw[5] = -0.5
    for weights in (sw, -np.ones(len(y))):
        est = Est(hidden_layer_sizes=(3,), max_iter=3)
        with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
            est.fit(X, y, sample_weight=weights)
        assert not hasattr(est, "coefs_")
        assert (
            _outcome(
                lambda w=weights: SkEst(hidden_layer_sizes=(3,), max_iter=3).fit(
                    X, y, sample_weight=w
                )
            )
            is None
        )
    kwargs = {"classes": [0, 1, 2]} if Est is MLPClassifier else {}
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        Est(hidden_layer_sizes=(3,)).partial_fit(X, y, sample_weight=sw, **kwargs)


def test_unseen_string_label_at_partial_fit_leaves_model_untouched():
    X, y = _data(MLPClassifier)
    names = np.array(["ant", "bee", "cat"])[y]
    msgs = []
    for Est in (MLPClassifier, sk.MLPClassifier):
        est = Est(hidden_layer_sizes=(4,), random_state=0)
        est.partial_fit(X, names, classes=["ant", "bee", "cat"])
        before = [c.copy() for c in est.coefs_]
        other = names.copy()
        other[:3] = "dog"
        with pytest.raises(ValueError) as info:
            est.partial_fit(X, other)
        msgs.append(str(info.value))
        for a, b in zip(est.coefs_, before):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(est.classes_, ["ant", "bee", "cat"])
    assert msgs[0] == msgs[1]
    assert msgs[0].startswith("`y` has classes not in `self.classes_`")


# Hyperparameters test_api.py does not try: the new ones and wrong types.
INVALID_PARAMS = [
    {"dropout": 1.0},
    {"dropout": -0.1},
    {"dropout": "half"},
    {"dropout": np.nan},
    {"input_dropout": 1.0},
    {"input_dropout": [0.1]},
    {"residual": "yes"},
    {"residual": 1},
    {"max_grad_norm": 0},
    {"max_grad_norm": -1.0},
    {"max_grad_norm": "1"},
    {"max_grad_norm": np.inf},
    {"max_grad_norm": np.nan},
    {"weight_init": "xavier"},
    {"validation_metric": "not_a_scorer"},
    {"n_init": 0},
    {"n_init": 1.5},
    {"alpha": "0.1"},
    {"alpha": np.nan},
    {"batch_size": 1.5},
    {"early_stopping": 1},
    {"max_iter": 2.0},
    {"learning_rate_init": np.nan},
    {"tol": np.nan},
    {"momentum": 1.5},
    {"validation_fraction": 1.0},
    {"random_state": "seed"},
    {"hidden_layer_sizes": "64"},
    {"activation": None},
    {"learning_rate": "cosine"},
    {"n_iter_no_change": 0},
]


def _param_id(params):
    ((name, value),) = params.items()
    return f"{name}={value!r}"


@pytest.mark.parametrize("params", INVALID_PARAMS, ids=_param_id)
@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_invalid_hyperparameter_value_or_type(Est, params):
    X, y = _data(Est)
    name = next(iter(params))
    expected = f"The '{name}' parameter of {Est.__name__} must be"
    est = Est(**params)
    with pytest.raises(InvalidParameterError, match=expected):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    kwargs = {"classes": [0, 1, 2]} if Est is MLPClassifier else {}
    with pytest.raises(InvalidParameterError, match=expected):
        est.partial_fit(X, y, **kwargs)
    # scikit-learn's own parameters: scikit-learn's message word for word
    # (activation lists more options here).
    if name in sk.MLPClassifier._parameter_constraints and name != "activation":
        SkEst = sk.MLPClassifier if Est is MLPClassifier else sk.MLPRegressor
        with pytest.raises(InvalidParameterError) as info:
            SkEst(**params).fit(X, y)
        with pytest.raises(InvalidParameterError) as ours:
            Est(**params).fit(X, y)
        assert _sorted_sets(str(ours.value)) == _sorted_sets(str(info.value))


def _sorted_sets(msg):
    """``{'b', 'a'}`` -> ``{'a', 'b'}``: a set's order varies between set objects."""
    return re.sub(
        r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", msg
    )


@pytest.mark.parametrize("sizes", [(3.5,), (3, "a"), [[3]], (4, -2)], ids=repr)
@pytest.mark.parametrize(("Est", "SkEst"), ESTIMATORS, ids=EST_IDS)
def test_malformed_hidden_layer_sizes_like_sklearn(Est, SkEst, sizes):
    # array-likes pass parameter validation; what they contain is checked by fit,
    # with scikit-learn's exceptions
    X, y = _data(Est)
    ours = _outcome(lambda: Est(hidden_layer_sizes=sizes, max_iter=2).fit(X, y))
    theirs = _outcome(lambda: SkEst(hidden_layer_sizes=sizes, max_iter=2).fit(X, y))
    assert ours is not None and ours == theirs
    assert issubclass(ours[0], (TypeError, ValueError))


@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_per_layer_dropout_checked_with_clear_message(Est):
    X, y = _data(Est)
    cases = [
        (
            {"hidden_layer_sizes": (4, 3), "dropout": [0.1, 0.2, 0.3]},
            r"one float per hidden layer \(2\), got 3 values",
        ),
        ({"hidden_layer_sizes": (4, 3), "dropout": [0.1, 1.5]}, r"must be in \[0, 1\)"),
        ({"hidden_layer_sizes": (4, 3), "dropout": [0.1, np.nan]}, r"must be in \[0, 1\)"),
        (
            {"hidden_layer_sizes": (4,), "dropout": 0.2, "solver": "lbfgs"},
            "dropout and input_dropout must be 0 with solver='lbfgs'",
        ),
        (
            {"hidden_layer_sizes": (4,), "input_dropout": 0.2, "solver": "lbfgs"},
            "dropout and input_dropout must be 0 with solver='lbfgs'",
        ),
    ]
    for params, msg in cases:
        est = Est(max_iter=2, **params)
        with pytest.raises(ValueError, match=msg):
            est.fit(X, y)
        if "solver" in params:
            assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_refused_dropout_list_keeps_the_previous_model(Est):
    # Like every other hyperparameter check (residual widths, dropout with lbfgs,
    # hidden_layer_sizes > 0, as in scikit-learn), a dropout list of the wrong
    # length must be refused before fit touches the estimator: neither a fresh
    # unfitted estimator nor a previously fitted one may come out re-initialised.
    X, y = _data(Est)
    bad = dict(hidden_layer_sizes=(4, 3), dropout=[0.1, 0.2, 0.3], max_iter=2)
    est = Est(**bad)
    with pytest.raises(ValueError, match="one float per hidden layer"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_"), "a refused fit left an untrained, 'fitted' model"
    with _quiet():
        est = Est(hidden_layer_sizes=(4, 3), max_iter=5, random_state=0).fit(X, y)
    before = _outputs(est, X).copy()
    est.set_params(dropout=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="one float per hidden layer"):
        est.fit(X, y)
    np.testing.assert_array_equal(_outputs(est, X), before)


@pytest.mark.parametrize("Est", OURS, ids=EST_IDS)
def test_residual_blocks_with_incompatible_widths(Est):
    X, y = _data(Est)
    kwargs = {"classes": [0, 1, 2]} if Est is MLPClassifier else {}
    bad = [
        ((4, 3, 5), 1, 2, 3, 4, 5),
        ((6, 2, 6, 2, 5), 2, 4, 5, 6, 5),
        ((2, 2, 3, 3, 3), 1, 2, 3, 2, 3),
    ]
    for sizes, block, inner, out, n_in, n_out in bad:
        msg = (
            rf"block {block} \(hidden layers {inner} and {out}\) must output as many "
            rf"units as it receives, but hidden layer {out - 2} has {n_in} units and "
            rf"hidden layer {out} has {n_out}"
        )
        for solver in ("adam", "lbfgs"):
            est = Est(hidden_layer_sizes=sizes, residual=True, solver=solver, max_iter=2)
            with pytest.raises(ValueError, match=msg):
                est.fit(X, y)
            assert not hasattr(est, "coefs_")
        with pytest.raises(ValueError, match=msg):
            Est(hidden_layer_sizes=sizes, residual=True).partial_fit(X, y, **kwargs)
        # the same sizes are fine without residual blocks
        with _quiet():
            Est(hidden_layer_sizes=sizes, max_iter=2, random_state=0).fit(X, y)
    # compatible widths, a trailing unpaired layer and a stem alone are accepted
    for sizes in ((5, 3, 5), (5, 3, 5, 2), (4,), (4, 7), (3, 1, 3, 8, 3)):
        with _quiet():
            est = Est(hidden_layer_sizes=sizes, residual=True, max_iter=2, random_state=0)
            assert np.isfinite(_outputs(est.fit(X, y), X)).all()
