"""TabularMLPClassifier / TabularMLPRegressor, and the regressor's ``normalize_y``.

The Tabular classes are the MLPs with other defaults and nothing else: their
signatures, docstrings and fits are checked against the parents' and the
recipe table (``sknn_train._tabular.RECIPE``).
"""

import inspect
import pickle
import re
import warnings

import numpy as np
import pytest
from conftest import classification, poisson, quiet_fit, regression
from numpydoc.docscrape import NumpyDocString
from sklearn.base import clone
from sklearn.metrics import make_scorer, mean_absolute_error
from sklearn.model_selection import GridSearchCV

from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier, TabularMLPRegressor
from sknn_train._tabular import CLASSIFIER_RECIPE, RECIPE, RECIPE_BATCH_SIZE, REGRESSOR_RECIPE

PAIRS = [
    (TabularMLPClassifier, MLPClassifier, {**RECIPE, **CLASSIFIER_RECIPE}),
    (TabularMLPRegressor, MLPRegressor, {**RECIPE, **REGRESSOR_RECIPE}),
]
IDS = ["classifier", "regressor"]


def _params(cls):
    return list(inspect.signature(cls.__init__).parameters.values())[1:]


# ------------------------------------------------------- the Tabular classes
@pytest.mark.parametrize("Tab, Parent, recipe", PAIRS, ids=IDS)
def test_only_the_recipe_defaults_differ(Tab, Parent, recipe):
    tab, parent = _params(Tab), _params(Parent)
    assert [(p.name, p.kind) for p in tab] == [(p.name, p.kind) for p in parent]
    parent_defaults = {p.name: p.default for p in parent}
    for p in tab:
        if p.name in recipe:
            assert p.default == recipe[p.name][0], p.name
            if p.name == "batch_size":  # the parent's 'auto', meaning the recipe's size
                assert Tab._auto_batch_size == RECIPE_BATCH_SIZE != Parent._auto_batch_size
            else:
                assert p.default != parent_defaults[p.name], f"{p.name}: no change"
        else:
            assert p.default == parent_defaults[p.name], p.name
            assert type(p.default) is type(parent_defaults[p.name]), p.name
    assert issubclass(Tab, Parent)
    # the same constraints, but for the recipe's 'auto' patience
    tab_constraints = dict(Tab._parameter_constraints)
    patience = tab_constraints.pop("n_iter_no_change")
    parent_constraints = dict(Parent._parameter_constraints)
    assert patience[:-1] == parent_constraints.pop("n_iter_no_change")
    assert patience[-1].options == {"auto"}
    assert tab_constraints == parent_constraints


@pytest.mark.parametrize("Tab, Parent, recipe", PAIRS, ids=IDS)
def test_docstring_states_the_defaults_and_reasons(Tab, Parent, recipe):
    doc = NumpyDocString(Tab.__doc__)
    defaults = {p.name: p.default for p in _params(Tab)}
    assert [p.name for p in doc["Parameters"]] == list(defaults)
    for entry in doc["Parameters"]:
        value = re.search(r"default=(.*)$", entry.type).group(1)
        assert eval(value) == defaults[entry.name], entry.name
    notes = " ".join(doc["Notes"])
    for name, (value, reason) in recipe.items():
        assert f"``{name}={value!r}``" in notes, name
        assert reason.split()[0] in notes, name
    assert [a.name for a in doc["Attributes"]] == [
        a.name for a in NumpyDocString(Parent.__doc__)["Attributes"]
    ]


@pytest.mark.parametrize("Tab, Parent, recipe", PAIRS, ids=IDS)
def test_a_fit_is_the_parents_fit_with_the_recipe(Tab, Parent, recipe):
    if Tab is TabularMLPClassifier:
        X, y = classification(3)
    else:
        X, y = regression(2)
        y = 100 * y + 20  # units the standardization has to handle
    small = dict(hidden_layer_sizes=(8, 8), max_iter=12, random_state=0)
    ours = quiet_fit(Tab(**small), X, y)
    # batch_size='auto' means the recipe's size here, scikit-learn's 200 there; the
    # recipe's 'auto' patience without early stopping is no stop on the training loss
    values = {k: v for k, (v, _) in recipe.items()}
    values.update(batch_size=RECIPE_BATCH_SIZE, n_iter_no_change=np.inf)
    theirs = quiet_fit(Parent(**{**values, **small}), X, y)
    for a, b in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.validation_scores_ == theirs.validation_scores_
    # the recipe is in effect: a restored best epoch, a scaling, standardized targets
    assert ours.best_validation_loss_ == min(ours.validation_loss_curve_)
    n_members = recipe["n_ensemble"][0]
    assert ours.input_scale_.shape == (n_members, X.shape[1])  # one scaling per member
    assert ours.coefs_[0].shape == (n_members, X.shape[1], 8)
    if Tab is TabularMLPRegressor:
        np.testing.assert_allclose(ours.target_mean_, y.mean(axis=0))


@pytest.mark.parametrize("Tab, Parent, recipe", PAIRS, ids=IDS)
def test_clone_search_and_pickle(Tab, Parent, recipe):
    X, y = classification() if Tab is TabularMLPClassifier else regression()
    est = Tab(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    assert clone(est).get_params() == est.get_params()
    assert repr(est) == f"{Tab.__name__}(hidden_layer_sizes=(8,), max_iter=5, random_state=0)"
    search = GridSearchCV(est, {"lr_schedule": [None, "coslog4"]}, cv=2)
    quiet_fit(search, X, y)
    assert isinstance(search.best_estimator_, Tab)
    loaded = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(loaded.predict(X), search.best_estimator_.predict(X))


def test_tabular_defaults_fit_float32_as_float64():
    X, y = classification(3)
    fits = {}
    for dtype in (np.float32, np.float64):
        est = TabularMLPClassifier((16, 16), batch_size=16, max_iter=30, random_state=0)
        fits[dtype] = quiet_fit(est, X.astype(dtype), y)
        assert est.coefs_[0].dtype == dtype and est.input_scale_.dtype == dtype
    p32 = fits[np.float32].predict_proba(X.astype(np.float32))
    p64 = fits[np.float64].predict_proba(X)
    np.testing.assert_allclose(p32, p64, atol=2e-3)
    assert fits[np.float64].score(X, y) > 0.7


# ------------------------------------------------------------- normalize_y
def _regressor(**kw):
    return MLPRegressor(hidden_layer_sizes=(8,), max_iter=15, random_state=0, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_y_fits_the_standardized_targets(dtype):
    X, y = regression(2)
    X = X.astype(dtype)
    y = y * [300.0, 0.01] + [1000.0, -5.0]
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    est = quiet_fit(_regressor(normalize_y=True), X, y, sample_weight=w)
    mean = np.average(y, axis=0, weights=w)
    std = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=w))
    np.testing.assert_allclose(est.target_mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(est.target_scale_, std, rtol=1e-12)
    # the same network as a plain fit to the standardized targets, in y's units
    plain = quiet_fit(_regressor(), X, (y - mean) / std, sample_weight=w)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    for a, b in zip(est.coefs_, plain.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(est.predict(X), plain.predict(X) * std + mean, rtol=rtol)
    assert est.predict(X).dtype == dtype
    assert est.score(X, y) == pytest.approx(plain.score(X, (y - mean) / std), abs=1e-4)


def test_normalize_y_poisson_divides_by_the_mean():
    X, y = poisson()
    y = 50.0 * y
    est = quiet_fit(_regressor(loss="poisson", normalize_y=True), X, y)
    np.testing.assert_array_equal(est.target_mean_, [0.0])
    np.testing.assert_allclose(est.target_scale_, [y.mean()], rtol=1e-12)
    plain = quiet_fit(_regressor(loss="poisson"), X, y / y.mean())
    np.testing.assert_allclose(est.predict(X), plain.predict(X) * y.mean(), rtol=1e-10)
    assert (est.predict(X) > 0).all()


def test_normalize_y_constant_target_and_refit():
    X, y = regression(2)
    y[:, 1] = 7.0
    est = quiet_fit(_regressor(normalize_y=True), X, y)
    np.testing.assert_array_equal(est.target_scale_[1], 1.0)
    assert np.isfinite(est.predict(X)).all()
    # a refit without it forgets the statistics; switching under warm_start is refused
    est.set_params(normalize_y=False)
    quiet_fit(est, X, y)
    assert not hasattr(est, "target_scale_")
    with pytest.raises(ValueError, match="normalize_y"):
        quiet_fit(est.set_params(warm_start=True, normalize_y=True), X, y)


def test_normalize_y_partial_fit_keeps_the_first_calls_statistics():
    X, y = regression()
    y = 1000 * y
    est = _regressor(normalize_y=True)
    est.partial_fit(X[:50], y[:50])
    mean, scale = est.target_mean_.copy(), est.target_scale_.copy()
    np.testing.assert_allclose(mean, [y[:50].mean()])
    est.partial_fit(X[50:], (y[50:] + 5).astype(np.int64))  # integer targets pass as they are
    np.testing.assert_array_equal(est.target_mean_, mean)
    np.testing.assert_array_equal(est.target_scale_, scale)
    # the same as a plain partial_fit on targets standardized by the first call's numbers
    plain = _regressor()
    plain.partial_fit(X[:50], (y[:50] - mean) / scale)
    plain.partial_fit(X[50:], ((y[50:] + 5).astype(np.int64) - mean) / scale)
    np.testing.assert_allclose(est.predict(X), plain.predict(X) * scale + mean, rtol=1e-10)


def test_normalize_y_validation_scores_are_in_the_targets_units():
    X, y = regression()
    mae = make_scorer(mean_absolute_error, greater_is_better=False)
    kw = dict(normalize_y=True, restore_best_weights=True, validation_metric=mae)
    small = quiet_fit(_regressor(**kw), X, y)
    large = quiet_fit(_regressor(**kw), X, 1000 * y)
    # the standardized problems are the same, so the errors scale with y
    ratios = np.divide(large.validation_scores_, small.validation_scores_)
    np.testing.assert_allclose(ratios, 1000, rtol=1e-6)
    r2 = quiet_fit(_regressor(normalize_y=True, restore_best_weights=True), X, 1000 * y)
    assert max(r2.validation_scores_) <= 1.0


def test_normalize_y_exports_to_onnx():
    ort = pytest.importorskip("onnxruntime")
    from sknn_train.onnx import to_onnx

    X, y = regression(2)
    X = X.astype(np.float32)
    est = quiet_fit(
        TabularMLPRegressor(hidden_layer_sizes=(8,), max_iter=10, random_state=0), X, 300 * y + 40
    )
    onx = to_onnx(est, X[:1])
    (got,) = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": X})
    np.testing.assert_allclose(got, est.predict(X), rtol=1e-5, atol=1e-3)


def test_a_schedule_ends_without_a_convergence_warning():
    from sklearn.exceptions import ConvergenceWarning

    X, y = classification()
    with warnings.catch_warnings():
        # the maximum-iterations warning (three epochs of a plain network may
        # still predict worse than a constant, which WorseThanConstantWarning says)
        warnings.filterwarnings("error", "Stochastic Optimizer", ConvergenceWarning)
        TabularMLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        MLPClassifier((8,), lr_schedule="cosine", max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
