"""sknn_train's warnings (:mod:`sknn_train._warnings`) obey filters that name scikit-learn's MLP.

Each filter is tried side by side: on sknn_train and on scikit-learn, which must
behave the same, and, for filters without a module, on ``warnings.warn``.
"""

import linecache
import os
import subprocess
import sys
import types
import warnings

import pytest
from scipy.optimize import OptimizeResult
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.utils.optimize import _check_optimize_result

import sknn_train
import sknn_train._train
from sknn_train._warnings import SKLEARN_MODULE, check_optimize_result, warn

SKLEARN_MODULES = ["sklearn", "sklearn.neural_network", SKLEARN_MODULE]
#: What an action does to two identical warnings from one line, when its filter
#: applies: the number shown, or "raised".
APPLIED = {"ignore": 0, "error": "raised", "always": 2, "once": 1, "default": 1, "module": 1}


def _base(action):
    # The filter under test on top of one that shows what it would not.
    return "ignore" if action == "always" else "always"


def _outcome(issue_twice, action, module, category=ConvergenceWarning):
    """What ``filterwarnings(action, category, module=module)`` does to two warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()  # conftest's ignore of ConvergenceWarning too
        warnings.simplefilter(_base(action))
        warnings.filterwarnings(action, category=category, module=module)
        try:
            issue_twice()
        except ConvergenceWarning:
            return "raised"
    return sum(issubclass(w.category, ConvergenceWarning) for w in caught)


def _issuer(mod):
    """Two warnings issued from one line of module ``mod``, with ``mod.issue``."""
    code = compile(
        "def issue_twice():\n"
        "    for _ in range(2):\n"
        "        issue('not converged', ConvergenceWarning)\n",
        f"<{mod.__name__}>",
        "exec",
    )
    mod.ConvergenceWarning = ConvergenceWarning
    exec(code, mod.__dict__)
    return mod.issue_twice


def _module(name, issue):
    mod = types.ModuleType(name)
    mod.issue = issue
    return mod


#: sknn_train's way, from a module of sknn_train; scikit-learn's, from its MLP module.
OURS = _issuer(_module("sknn_train._probe", warn))
THEIRS = _issuer(_module(SKLEARN_MODULE, warnings.warn))


def _not_applied(action):
    return 0 if action == "always" else 2


@pytest.mark.parametrize("module", SKLEARN_MODULES + [""])  # "": no module field
@pytest.mark.parametrize("action", list(APPLIED))
def test_filter_naming_sklearn_applies_as_to_sklearn(action, module):
    assert _outcome(OURS, action, module) == _outcome(THEIRS, action, module) == APPLIED[action]


@pytest.mark.parametrize("module", [r"sklearn\.neural_network\Z", "sklearn_extra", "scikit"])
@pytest.mark.parametrize("action", list(APPLIED))
def test_filter_naming_other_modules_does_not_apply(action, module):
    ours, theirs = _outcome(OURS, action, module), _outcome(THEIRS, action, module)
    assert ours == theirs == _not_applied(action)


@pytest.mark.parametrize("action", list(APPLIED))
def test_filter_naming_sknn_train_keeps_working(action):
    assert _outcome(OURS, action, "sknn_train") == APPLIED[action]
    assert _outcome(OURS, action, r"sknn_train\._probe") == APPLIED[action]
    assert _outcome(THEIRS, action, "sknn_train") == _not_applied(action)


def test_first_matching_filter_wins_under_either_name():
    for later, first in [("sknn_train", "sklearn"), ("sklearn", "sknn_train")]:
        with warnings.catch_warnings(record=True):
            warnings.resetwarnings()
            warnings.filterwarnings("ignore", module=later)
            warnings.filterwarnings("error", module=first)  # inserted in front
            with pytest.raises(ConvergenceWarning):
                OURS()


def test_filter_of_another_category_or_message_does_not_apply():
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        warnings.filterwarnings("error", category=DeprecationWarning, module="sklearn")
        warnings.filterwarnings("error", message="something else", module="sklearn")
        OURS()
    assert len(caught) == 2


def _here(issue, **kw):
    issue("here", UserWarning, **kw)


def test_location_registry_and_default_action_as_warnings_warn():
    records = {}
    for issue in (warn, warnings.warn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.resetwarnings()
            warnings.simplefilter("default")
            for _ in range(3):
                issue("seen once", UserWarning)  # 'default': once per location
            # in this module's registry (a filter change would clear it: check it now)
            assert globals()["__warningregistry__"][("seen once", UserWarning, caught[0].lineno)]
            _here(issue, stacklevel=2)
            warnings.simplefilter("always")
            _here(issue)
        records[issue] = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
    assert records[warn] == records[warnings.warn]
    assert records[warn][0][2] == __file__
    assert [r[0] for r in records[warn]] == ["seen once", "here", "here"]


def test_pytest_warns_and_instances():
    with pytest.warns(ConvergenceWarning, match="not converged"):
        warn("not converged", ConvergenceWarning)
    with pytest.warns(RuntimeWarning, match="an instance"):
        warn(RuntimeWarning("an instance"))
    with pytest.warns(UserWarning, match="no category"):
        warn("no category")


def test_command_line_options():
    # -W takes a module name exactly (escaped, anchored at the end), not as a regex
    script = (
        "from sknn_train._warnings import warn\n"
        "warn('not shown', RuntimeWarning)\n"
        "try:\n"
        "    warn('x')\n"
        "except UserWarning:\n"
        "    print('raised')\n"
    )
    options = ["-W", "error::UserWarning", "-W", f"ignore::RuntimeWarning:{SKLEARN_MODULE}"]
    out = subprocess.run(
        [sys.executable, *options, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, SKNN_TRAIN_NO_CACHE="1"),
    )
    assert (out.stdout.strip(), out.stderr) == ("raised", "")


@pytest.mark.parametrize(
    ("status", "nit", "max_iter"), [(1, 2, 2), (2, 3, 5), (0, 4, 5), (1, 7, None)]
)
def test_check_optimize_result_as_sklearns(status, nit, max_iter):
    result = OptimizeResult(status=status, nit=nit, message="STOP: TOTAL NO. OF ITERATIONS")
    got = []
    for check in (check_optimize_result, _check_optimize_result):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            n_iter = check("lbfgs", result, max_iter)  # both attributed to this line
        got.append((n_iter, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]))
    assert got[0] == got[1]
    assert len(got[0][1]) == (status != 0)


# --- real fits, side by side ------------------------------------------------------------
# A fit of either library changes warnings.filters itself (scikit-learn's check_array
# uses catch_warnings), which empties the registries: 'once', 'default' and 'module'
# then show the warning of each fit again. Only 'the same as scikit-learn' is
# asserted for them.

X, Y = make_classification(n_samples=30, n_features=4, random_state=0)


def _fits(Est, solver):
    def fit_twice():
        for _ in range(2):
            Est(hidden_layer_sizes=(3,), solver=solver, max_iter=2, random_state=0).fit(X, Y)

    return fit_twice


# Until sknn_train._train issues its warnings through sknn_train._warnings (its
# engineer switches them), a filter naming scikit-learn does not reach them.
_switched = {
    "sgd": getattr(sknn_train._train, "warn", None) is warn,
    "lbfgs": getattr(sknn_train._train, "_check_optimize_result", None)
    is not _check_optimize_result,
}
CASES = [(a, "sklearn") for a in APPLIED] + [("ignore", m) for m in SKLEARN_MODULES[1:]]


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize(("action", "module"), CASES)
def test_fit_obeys_filter_naming_sklearn(solver, action, module):
    if not _switched[solver]:
        pytest.skip("sknn_train._train does not warn through sknn_train._warnings yet")
    ours = _outcome(_fits(sknn_train.MLPClassifier, solver), action, module)
    theirs = _outcome(_fits(SkMLPClassifier, solver), action, module)
    assert ours == theirs
    if action in ("ignore", "error", "always"):
        assert ours == APPLIED[action]


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("action", ["ignore", "error", "always"])
def test_fit_obeys_filter_naming_sknn_train(solver, action):
    ours = _outcome(_fits(sknn_train.MLPClassifier, solver), action, "sknn_train")
    assert ours == APPLIED[action]
    assert _outcome(_fits(SkMLPClassifier, solver), action, "sknn_train") == _not_applied(action)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_fit_warning_location_without_module_filter(solver):
    for Est in (sknn_train.MLPClassifier, SkMLPClassifier):
        with pytest.warns(ConvergenceWarning) as caught:
            _fits(Est, solver)()
        conv = [w for w in caught if w.category is ConvergenceWarning]
        assert len(conv) == 2
        package = os.path.dirname(sys.modules[Est.__module__.rsplit(".", 1)[0]].__file__)
        for w in conv:
            assert os.path.dirname(w.filename) == package
            line = linecache.getline(w.filename, w.lineno)
            assert "warn(" in line or "optimize_result(" in line
