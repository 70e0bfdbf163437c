"""The constructor parameters agree everywhere they are listed.

Three signatures (``BaseMultilayerPerceptron.__init__`` and the two
estimators'), ``_parameter_constraints``, the class docstrings and
scikit-learn's own estimators all name the hyperparameters; a parameter added
to one of them and forgotten in another fails here.
"""

import ast
import inspect
import re

import pytest
from numpydoc.docscrape import NumpyDocString
from sklearn import neural_network

from sknn_train import MLPClassifier, MLPRegressor
from sknn_train._base import BaseMultilayerPerceptron

ESTIMATORS = [
    (MLPClassifier, neural_network.MLPClassifier),
    (MLPRegressor, neural_network.MLPRegressor),
]
IDS = ["classifier", "regressor"]


def _parameters(cls):
    """``cls.__init__``'s parameters after ``self``, by name."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return {p.name: p for p in params}


def _positional(cls):
    return [
        name
        for name, p in _parameters(cls).items()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]


BASE = _parameters(BaseMultilayerPerceptron)
#: The classifier's own parameters (SPEC 4.3, 4.4, 4.10), after the shared ones.
CLASSIFIER_ONLY = ["label_smoothing", "class_weight", "calibration"]
#: The regressor's own parameters, after the shared ones.
REGRESSOR_ONLY = ["normalize_y"]


def test_the_estimators_take_the_base_parameters():
    assert set(_parameters(MLPRegressor)) == set(BASE) | set(REGRESSOR_ONLY)
    assert list(_parameters(MLPRegressor))[-len(REGRESSOR_ONLY) :] == REGRESSOR_ONLY
    # the classifier's loss is fixed, not a parameter
    assert set(_parameters(MLPClassifier)) == (set(BASE) - {"loss"}) | set(CLASSIFIER_ONLY)
    assert list(_parameters(MLPClassifier))[-len(CLASSIFIER_ONLY) :] == CLASSIFIER_ONLY
    assert MLPClassifier().loss == "log_loss"
    assert "loss" not in MLPClassifier().get_params()


def test_the_base_has_no_defaults():
    # the defaults live in the estimators' signatures only, so they cannot drift
    assert all(p.default is inspect.Parameter.empty for p in BASE.values())


def test_the_estimators_share_their_defaults():
    clf, reg = _parameters(MLPClassifier), _parameters(MLPRegressor)
    for name in set(clf) & set(reg):
        assert clf[name].default == reg[name].default, name
        assert type(clf[name].default) is type(reg[name].default), name
        assert clf[name].kind == reg[name].kind, name


@pytest.mark.parametrize("Est, SkEst", ESTIMATORS, ids=IDS)
def test_every_parameter_is_constrained(Est, SkEst):
    assert set(Est._parameter_constraints) == set(_parameters(Est))


@pytest.mark.parametrize("Est, SkEst", ESTIMATORS, ids=IDS)
def test_every_parameter_is_documented_with_its_default(Est, SkEst):
    documented = NumpyDocString(Est.__doc__)["Parameters"]
    params = _parameters(Est)
    assert [p.name for p in documented] == list(params)
    for doc in documented:
        match = re.search(r"default=(.*)$", doc.type)
        assert match, f"{doc.name}: no default= in {doc.type!r}"
        assert ast.literal_eval(match.group(1)) == params[doc.name].default, doc.name


@pytest.mark.parametrize("Est, SkEst", ESTIMATORS, ids=IDS)
def test_every_parameter_reaches_the_base(Est, SkEst):
    sentinels = {name: object() for name in _parameters(Est)}
    est = Est(**sentinels)
    params = est.get_params(deep=False)
    assert params.keys() == sentinels.keys()
    for name, sentinel in sentinels.items():
        assert params[name] is sentinel, name
    # __init__ stores the parameters and nothing else (scikit-learn's rule)
    fixed = {"loss"} if issubclass(Est, MLPClassifier) else set()
    assert set(vars(est)) == set(sentinels) | fixed


@pytest.mark.parametrize("Est, SkEst", ESTIMATORS, ids=IDS)
def test_scikit_learn_parameters_and_defaults(Est, SkEst):
    ours, theirs = Est().get_params(), SkEst().get_params()
    assert set(theirs) <= set(ours)
    for name, default in theirs.items():
        assert ours[name] == default, name
        assert type(ours[name]) is type(default), name
    # positional arguments mean the same as in scikit-learn
    shared = set(theirs)
    assert [n for n in _positional(Est) if n in shared] == _positional(SkEst)
