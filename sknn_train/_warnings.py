"""One door for sknn_train's warnings, so that filters naming scikit-learn's MLP apply to them.

A filter such as ``warnings.filterwarnings("ignore", category=ConvergenceWarning,
module="sklearn")`` matches its ``module`` regex (``re.match``, anchored at the
start) against the ``__name__`` of the module that issued the warning.
scikit-learn's MLP issues its warnings from
``sklearn.neural_network._multilayer_perceptron``; sknn_train, a drop-in for
it, issues the same warnings from ``sknn_train._train`` and its siblings, which
such a filter would not reach. :func:`warn` issues a warning as
:func:`warnings.warn` does (the caller's file and line, its module's
``__warningregistry__``), except that a filter naming scikit-learn's MLP module
applies to it as well as one naming sknn_train.
"""

from __future__ import annotations

import sys
import warnings

import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.fixes import parse_version

__all__ = ["SKLEARN_MODULE", "WorseThanConstantWarning", "check_optimize_result", "warn"]


class WorseThanConstantWarning(ConvergenceWarning):
    """A fitted network predicts worse than a constant would.

    Issued at the end of ``fit`` when the weights the model keeps lose more,
    on the training rows or on the held-out rows, than the best constant
    prediction (the targets' mean, or the class frequencies): training
    diverged or has not converged. A :class:`~sklearn.exceptions.ConvergenceWarning`,
    so filters on that category apply to it; a class of its own, so that
    scikit-learn's convergence warnings stay exactly scikit-learn's.

    See Also
    --------
    sklearn.exceptions.ConvergenceWarning : The category it belongs to.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import load_diabetes
    >>> from sknn_train import TabularMLPRegressor, WorseThanConstantWarning
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = TabularMLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=10.0,
    ...                             random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = model.fit(X, y)
    >>> [w.category.__name__ for w in caught]
    ['WorseThanConstantWarning']
    """


#: The module scikit-learn's MLP warnings are attributed to (its L-BFGS warning
#: too: ``_check_optimize_result`` warns with ``stacklevel=2``, from the MLP's frame).
SKLEARN_MODULE = "sklearn.neural_network._multilayer_perceptron"

# Python 3.14 keeps the filters of a catch_warnings block in a context variable
# when context-aware warnings are on; warnings.filters is then the global list only.
_current_filters = getattr(warnings, "_get_filters", lambda: warnings.filters)


def _matches(pattern, text: str) -> bool:
    # A filter field is None (anything), a compiled regex (filterwarnings) or,
    # for the interpreter's built-in defaults, a plain string matched exactly.
    if pattern is None:
        return True
    if isinstance(pattern, str):
        return pattern == text
    return pattern.match(text) is not None


def _attributed_module(module: str, text: str, category: type, lineno: int) -> str:
    """The module name to give ``warn_explicit``: ``module`` or :data:`SKLEARN_MODULE`.

    ``warn_explicit`` matches a filter against one module name, and the first
    matching filter wins. So the first filter that matches under either name
    decides which name is given: then ``warn_explicit`` reaches that same filter
    (no earlier one matched under either name) and applies it itself, with its
    registries and its ``once``/``module``/``default`` bookkeeping. A filter
    without a module field matches under both and keeps the real name.
    """
    for _action, msg, cat, mod, ln in _current_filters():
        if not issubclass(category, cat) or (ln and ln != lineno) or not _matches(msg, text):
            continue
        if _matches(mod, module):
            return module
        if _matches(mod, SKLEARN_MODULE):
            return SKLEARN_MODULE
    return module


def warn(
    message: str | Warning, category: type[Warning] | None = None, stacklevel: int = 1
) -> None:
    """Issue a warning as :func:`warnings.warn` does, seen by filters naming scikit-learn's MLP.

    Parameters
    ----------
    message : str or Warning
        The warning's text, or a warning instance (then its class is the category).
    category : type of Warning, default=None
        The warning's class; None means :class:`UserWarning`.
    stacklevel : int, default=1
        Which frame the warning is attributed to: 1 is the caller of ``warn``.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")
    ...     warn("not converged", ConvergenceWarning)
    >>> caught
    []
    """
    if isinstance(message, Warning):
        category = type(message)
    elif category is None:
        category = UserWarning
    try:
        frame = sys._getframe(stacklevel)
    except ValueError:  # beyond the outermost frame: warnings.warn's own fallback
        module_globals, filename, lineno = sys.__dict__, "sys", 1
    else:
        module_globals = frame.f_globals
        filename, lineno = frame.f_code.co_filename, frame.f_lineno
    module = module_globals.get("__name__", "<string>")
    warnings.warn_explicit(
        message,
        category,
        filename,
        lineno,
        module=_attributed_module(module, str(message), category, lineno),
        registry=module_globals.setdefault("__warningregistry__", {}),
    )


_SKLEARN_1_7 = parse_version(sklearn.__version__) >= parse_version("1.7")


def check_optimize_result(solver, result, max_iter=None, extra_warning_msg=None) -> int:
    """scikit-learn's ``sklearn.utils.optimize._check_optimize_result``, through :func:`warn`.

    scikit-learn's own issues its ConvergenceWarning with ``warnings.warn``
    from ``sklearn.utils.optimize``, attributed (``stacklevel=2``) to its
    caller's module, ``sknn_train._train`` here, which a filter naming
    scikit-learn's MLP would not reach. Same arguments, same text (that of the
    installed scikit-learn, >= 1.6), same return value: the number of iterations.
    The warning is attributed to the caller, as scikit-learn's is.
    """
    if solver != "lbfgs":
        raise NotImplementedError
    n_iter = result.nit if max_iter is None else min(result.nit, max_iter)
    if result.status == 0:
        return n_iter
    url = "    https://scikit-learn.org/stable/modules/preprocessing.html"
    if _SKLEARN_1_7:
        text = (
            f"{solver} failed to converge after {n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if max_iter is not None and n_iter == max_iter:
            text += (
                "\nIncrease the number of iterations to improve the "
                f"convergence (max_iter={max_iter})."
            )
        text += "\nYou might also want to scale the data as shown in:\n" + url
    else:
        text = (
            f"{solver} failed to converge (status={result.status}):\n{result.message}."
            "\n\nIncrease the number of iterations (max_iter) or scale the data as "
            "shown in:\n" + url
        )
    if extra_warning_msg is not None:
        text += "\n" + extra_warning_msg
    warn(text, ConvergenceWarning, stacklevel=2)
    return n_iter
