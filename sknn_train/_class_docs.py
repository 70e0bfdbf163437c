"""The class docstrings of MLPClassifier and MLPRegressor, as templates.

``{params}``, ``{attrs}`` and ``{notes}`` are filled from :mod:`sknn_train._docs`
(the pieces both estimators share) by :func:`sknn_train._docs.class_docstring`;
doubled braces are literal ones. :func:`recipe_docstring` makes the Tabular
estimators' docstrings from their parent's.
"""

import re
import textwrap

CLASSIFIER_DOC = """Multi-layer Perceptron classifier on numba-compiled kernels.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    same parameters, defaults, fitted attributes and results. It optimizes the
    log-loss function using LBFGS or stochastic gradient descent.

    Parameters
    ----------
{params}
    label_smoothing : float, default=0.0
        Label smoothing ``e`` in [0, 1): the network is fitted to the targets
        ``(1 - e) * onehot + e / n_classes`` (softmax output) or
        ``(1 - e) * y + e / 2`` (logistic outputs: binary, multilabel), so it
        is not pushed towards probabilities of exactly 0 and 1. ``loss_`` and
        ``loss_curve_`` are the cross-entropy against the smoothed targets;
        early stopping's validation loss is the plain log loss.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, ``{{class_label: weight}}``: each sample's weight
        is its class's weight times its ``sample_weight``, in the loss, the
        gradient, the ``alpha / S`` term and the validation score.
        'balanced' uses ``n_samples / (n_classes * np.bincount(y))`` of the
        ``y`` passed to ``fit`` (scikit-learn's ``compute_class_weight``); it
        is refused by ``partial_fit``, whose calls see parts of the data. Not
        for multilabel targets.

    calibration : {{'temperature', 'auto'}} or None, default=None
        Calibrate the probabilities after training. 'temperature': one
        temperature ``T > 0`` (one per output for multilabel targets) divides
        the output layer's pre-activation before the softmax / logistic units
        of every member; it is fitted by minimising the plain log loss on the
        held-out rows (``early_stopping`` or ``restore_best_weights``),
        weighted by ``sample_weight`` only, after the best epoch is restored,
        plus ``(log T)**2 / (2 n)`` for ``n`` held-out rows (a standard normal
        prior on ``log T``, which keeps a few rows from driving ``T`` to an
        extreme).
        It corrects probabilities bent by label smoothing, ensembling or the
        choice of the epoch. :meth:`predict` is the argmax of
        :meth:`predict_proba` (unchanged for one network: ``T`` keeps the
        order of the classes). Every ``fit`` refits it; ``partial_fit``
        keeps it. 'temperature' without held-out rows is a ValueError; 'auto'
        calibrates whenever rows are held out and does nothing otherwise.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

    calibration_temperature_ : float or ndarray of shape (n_outputs,)
        With ``calibration``: the temperature dividing the output layer's
        pre-activation (one per output for multilabel targets). Absent when
        no temperature was fitted.

{attrs}
    See Also
    --------
    MLPRegressor : Multi-layer Perceptron regressor.
    sklearn.neural_network.MLPClassifier : The scikit-learn estimator this replaces.

    Notes
    -----
{notes}
    Examples
    --------
    >>> from sknn_train import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
    ...                                                     random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X_train, y_train)
    >>> clf.predict_proba(X_test[:1]).shape
    (1, 2)
    >>> clf.predict(X_test[:5]).shape
    (5,)
    >>> bool(clf.score(X_test, y_test) > 0.8)
    True
    """

REGRESSOR_DOC = """Multi-layer Perceptron regressor on numba-compiled kernels.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    same parameters, defaults, fitted attributes and results. It optimizes the
    squared error (or the Poisson deviance) using LBFGS or stochastic gradient
    descent.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson'}}, default='squared_error'
        The loss function to use when training the weights: half squared error
        with an identity output, or half Poisson deviance with a log link
        (exponential output), which requires ``y >= 0``.

{params}
    normalize_y : bool, default=False
        Fit the network to standardized targets, ``(y - mean) / std`` per
        output (``y / mean`` with ``loss='poisson'``, whose log link needs
        positive targets), and undo it in :meth:`predict`: the output layer then
        starts at the right scale, whatever the units of ``y``, as
        :class:`~sklearn.gaussian_process.GaussianProcessRegressor`'s parameter
        of that name does. The mean and standard deviation are
        ``sample_weight``-weighted and taken from the ``y`` of the call that
        starts the fit; ``warm_start`` and later ``partial_fit`` calls keep them.
        ``loss_`` and ``loss_curve_`` are then in the standardized units.

    Attributes
    ----------
{attrs}
    target_mean_ : ndarray of shape (n_outputs,)
        With ``normalize_y``: the mean subtracted from each target (0 for
        Poisson). Absent otherwise.

    target_scale_ : ndarray of shape (n_outputs,)
        With ``normalize_y``: the scale each centred target was divided by (its
        standard deviation, or its mean for Poisson; 1 for a constant target).
        Absent otherwise.

    See Also
    --------
    MLPClassifier : Multi-layer Perceptron classifier.
    sklearn.neural_network.MLPRegressor : The scikit-learn estimator this replaces.

    Notes
    -----
{notes}
    Examples
    --------
    >>> from sknn_train import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_regression(n_samples=200, n_features=20, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)
    >>> regr = MLPRegressor(random_state=1, max_iter=2000, tol=0.1)
    >>> regr.fit(X_train, y_train)
    MLPRegressor(max_iter=2000, random_state=1, tol=0.1)
    >>> regr.predict(X_test[:2]).shape
    (2,)
    >>> bool(regr.score(X_test, y_test) > 0.9)
    True
    """


def recipe_docstring(parent_doc, summary, recipe, example):
    """The docstring of a class that is ``parent_doc``'s with the defaults of ``recipe``.

    The parameter and attribute sections are the parent's, with each recipe
    parameter's ``default=`` replaced; the notes list every recipe value with
    its reason. ``recipe`` maps a parameter to ``(value, reason)``.
    """
    start = parent_doc.index("    Parameters\n    ----------\n")
    end = parent_doc.index("    See Also\n")
    notes = parent_doc.index("    Notes\n    -----\n") + len("    Notes\n    -----\n")
    parent_notes = parent_doc[notes : parent_doc.index("    Examples\n")]
    body = parent_doc[start:end]
    for name, (value, _) in recipe.items():
        header = re.compile(rf"^(    {name} : .*default=).*$", re.MULTILINE)
        # a literal replacement: escape the backslashes sub() would read
        body, n = header.subn(r"\g<1>" + repr(value).replace("\\", "\\\\"), body)
        if n != 1:
            raise ValueError(f"no parameter {name!r} with a default in the docstring")
    reasons = "".join(
        textwrap.fill(
            f"- ``{name}={value!r}``: {reason}",
            88,
            initial_indent="    ",
            subsequent_indent="      ",
        )
        + "\n"
        for name, (value, reason) in recipe.items()
    )
    parent = summary.split(":class:`", 1)[1].split("`", 1)[0]
    return (
        summary
        + "\n"
        + body
        + "    See Also\n    --------\n"
        + f"    {parent.lstrip('~')} : The same estimator with scikit-learn's defaults.\n"
        + "    sknn_train.preprocessing.SmoothClipScaler : The scaler to put in front.\n\n"
        + "    Notes\n    -----\n"
        + "    The recipe's defaults, and why (every other parameter has the parent's):\n\n"
        + reasons
        + "\n"
        + parent_notes
        + "    Examples\n    --------\n"
        + example
    )
