"""TabularMLPClassifier and TabularMLPRegressor: the MLPs with the tabular recipe as defaults.

They are :class:`MLPClassifier` and :class:`MLPRegressor` with other default
values and two 'auto's: ``batch_size='auto'`` is ``min(64, n_samples)`` here
(:data:`RECIPE_BATCH_SIZE`), ``min(200, n_samples)`` there, and
``n_iter_no_change`` also takes 'auto' here (10 epochs with early stopping, no
stop on the training loss without). The same parameters, fitted attributes and
code paths otherwise, so every value can be changed back, searched over or
cloned. The values
and the reason for each are the table :data:`RECIPE`, from which the
signatures' defaults and the docstrings are checked (``tests/test_tabular.py``).
"""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from ._class_docs import recipe_docstring
from ._mlp import MLPClassifier, MLPRegressor, _arguments

#: The recipe's minibatch size: what ``batch_size='auto'`` means for these classes.
RECIPE_BATCH_SIZE = 64

#: parameter: (default of the TabularMLP classes, why). The reasons quote the
#: accuracy benchmark (``benchmarks/bench_accuracy.py``) where it decided.
RECIPE: dict[str, tuple[object, str]] = {
    "hidden_layer_sizes": (
        (128, 128, 128),
        "three layers as RealMLP-TD-S, half its width: on the benchmark's small "
        "data sets 256 units were not clearly better (breast_cancer 0.022 "
        "against 0.026 error, digits 0.022 against 0.024, wine and diabetes "
        "level) and cost three to four times the fit time.",
    ),
    "activation": (
        "selu",
        "self-normalizing (Klambauer et al. 2017): with LeCun initialisation the "
        "layers keep unit variance without batch normalisation; RealMLP-TD-S's "
        "choice. ReLU with He initialisation was level on the benchmark (better on "
        "wine and digits, worse on breast_cancer).",
    ),
    "weight_init": ("lecun_normal", "the initialisation SELU's self-normalisation assumes."),
    "output_init": (
        "zeros",
        "the network starts from a constant prediction (RealMLP): no random "
        "function of the inputs to unlearn first.",
    ),
    "input_scaling": (
        True,
        "a learnt factor per feature lets the network weigh its inputs (RealMLP's front scale).",
    ),
    "categorical_features": (
        "from_dtype",
        "a DataFrame's category, string and bool columns are categorical, as "
        "HistGradientBoosting reads them: the raw table goes in as it is.",
    ),
    "handle_missing": (
        "indicator",
        "missing numbers take the column's median and an indicator input, so "
        "that the network can learn what a missing value means.",
    ),
    "numeric_scaling": (
        "smooth_clip",
        "the SmoothClipScaler in front that RealMLP-TD's recipe assumes, inside: "
        "robust to outliers and heavy tails, and nothing to put in front.",
    ),
    "beta_2": (
        0.95,
        "a shorter memory of the squared gradients adapts faster over a short "
        "schedule (RealMLP-TD's value, not tuned here).",
    ),
    "lr_schedule": (
        "coslog4",
        "four log-spaced cosine cycles (RealMLP): high rates early, several "
        "anneals to low rates; the restored epoch is one of the cycles' ends.",
    ),
    "batch_size": (
        "auto",
        "min(64, n_samples) rows, clipped silently on small data (a batch size you "
        "set yourself warns when clipped, as in scikit-learn): more updates per "
        "epoch than RealMLP's 256, which a short budget on small data sets needs "
        "(wine has 113 training rows: 2 updates per epoch at 256); batch 256 was "
        "not faster on the benchmark and a little worse (mnist 0.076 against 0.071 "
        "error).",
    ),
    "max_iter": (
        64,
        "the epoch budget, which the schedule needs fixed in advance: on the "
        "benchmark's small data sets 128 epochs gave about the same errors (digits "
        "0.018 against 0.019, the others level) in twice the time, 32 lost on "
        "digits (0.021).",
    ),
    "n_iter_no_change": (
        "auto",
        "without early stopping the training loss is not a stopping rule: the "
        "schedule runs its whole budget and the best epoch is restored; with "
        "early_stopping=True, scikit-learn's 10 epochs of patience on the "
        "validation metric.",
    ),
    "restore_best_weights": (
        True,
        "keeps the epoch with the best validation score: at no extra cost it "
        "guards against the last epochs overfitting.",
    ),
    "validation_metric": (
        "loss",
        "the validation log loss / squared error is continuous: accuracy on a small "
        "held-out split ties across many epochs and the earliest of them was kept "
        "(wine: 0.056 error with 'score', 0.019 with 'loss').",
    ),
    "n_ensemble": (
        2,
        "two networks from different initialisations trained in the same epochs, "
        "their predictions averaged: on the benchmark the pair had a lower error "
        "than one network on six of its seven data sets (mnist 0.061 against "
        "0.068, breast_cancer 0.015 against 0.023, diamonds 0.147 against 0.150 "
        "nRMSE; randhie a little worse, 0.9600 against 0.9586 over ten splits) "
        "for 1.9 to 2.4 times the fit time; four members cost four times as much "
        "for little more.",
    ),
    "validation_fraction": (
        0.2,
        "the held-out rows that choose the best epoch; a fifth gives a less noisy "
        "choice than a tenth on small data sets.",
    ),
}
#: The classifier's own values.
CLASSIFIER_RECIPE: dict[str, tuple[object, str]] = {
    "label_smoothing": (
        0.1,
        "RealMLP-TD-S's value; less overconfident probabilities, and on the "
        "benchmark digits' error fell from 0.040 without it to 0.019. Where the "
        "probabilities of a rare class (under about 5%) matter, set it to 0: on "
        "islr_default (3.3%) the log loss is 0.076 without it, 0.086 with it "
        "and calibration.",
    ),
    "calibration": (
        "auto",
        "a temperature fitted on the held-out rows whenever there are some: on "
        "the benchmark the error was unchanged on every split and the log loss "
        "fell against the uncalibrated default on every data set (islr_default "
        "0.086 against 0.109, the mean P(Yes) 0.82 instead of 1.99 times the "
        "observed rate; breast_cancer 0.058 against 0.090, wine 0.043 against "
        "0.105, digits 0.051 against 0.181, mnist 0.206 against 0.287), below "
        "label_smoothing=0 without calibration on four of the five.",
    ),
}
#: The regressor's own values.
REGRESSOR_RECIPE: dict[str, tuple[object, str]] = {
    "normalize_y": (
        True,
        "the output layer starts at the target's scale whatever its units; "
        "without it, targets in the hundreds (diabetes) or thousands (diamonds) "
        "are far from fitted after the budget.",
    ),
}


def _defaults(recipe):
    return {name: value for name, (value, _) in recipe.items()}


_SUMMARY = """{kind} with the tabular recipe as its defaults.

    :class:`{parent}` with other defaults (and nothing else): a wider and
    deeper SELU network, a zero output layer, a learnt input scaling, Adam with
    ``beta_2=0.95`` on RealMLP's ``coslog4`` schedule, {own}the best
    validation epoch restored, and two such networks trained together in
    one pass, their predictions averaged (``n_ensemble=2``). Each value and
    its reason is in the Notes below; every one is an ordinary parameter to
    change, search or clone.
    Put :class:`~sknn_train.preprocessing.SmoothClipScaler` (or another
    scaler) in front of it, as the examples do: the network expects inputs of
    unit scale.
"""


def _constraints(parent: type[MLPClassifier] | type[MLPRegressor]) -> dict:
    """``parent``'s parameter constraints, with the recipe's 'auto' patience
    (``n_iter_no_change='auto'``, resolved in ``_config.patience``) added."""
    constraints = dict(parent._parameter_constraints)
    constraints["n_iter_no_change"] = [*constraints["n_iter_no_change"], StrOptions({"auto"})]
    return constraints


class TabularMLPClassifier(MLPClassifier):
    _parameter_constraints: dict = _constraints(MLPClassifier)
    _auto_batch_size = RECIPE_BATCH_SIZE
    __doc__ = recipe_docstring(
        MLPClassifier.__doc__,
        _SUMMARY.format(
            kind="Multi-layer Perceptron classifier",
            parent="~sknn_train.MLPClassifier",
            own="label smoothing 0.1, ",
        ),
        {**RECIPE, **CLASSIFIER_RECIPE},
        example="""\
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sknn_train import TabularMLPClassifier
    >>> from sknn_train.preprocessing import SmoothClipScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(SmoothClipScaler(), TabularMLPClassifier(random_state=0))
    >>> bool(model.fit(X_train, y_train).score(X_test, y_test) > 0.95)
    True
""",
    )

    def __init__(
        self,
        hidden_layer_sizes=(128, 128, 128),
        activation="selu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=64,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.2,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        n_iter_no_change="auto",
        max_fun=15000,
        dropout=0.0,
        input_dropout=0.0,
        residual=False,
        max_grad_norm=None,
        weight_init="lecun_normal",
        validation_metric="loss",
        n_init=1,
        lr_schedule="coslog4",
        warmup_fraction=0.0,
        weight_decay=0.0,
        restore_best_weights=True,
        output_init="zeros",
        input_scaling=True,
        n_ensemble=2,
        ensemble="independent",
        n_jobs=None,
        compute_dtype=None,
        categorical_features="from_dtype",
        max_onehot_categories=9,
        categorical_embedding_dim=8,
        handle_missing="indicator",
        numeric_scaling="smooth_clip",
        numeric_embedding=None,
        embedding_sigma=0.1,
        label_smoothing=0.1,
        class_weight=None,
        calibration="auto",
    ):
        super().__init__(**_arguments(locals()))


class TabularMLPRegressor(MLPRegressor):
    _parameter_constraints: dict = _constraints(MLPRegressor)
    _auto_batch_size = RECIPE_BATCH_SIZE
    __doc__ = recipe_docstring(
        MLPRegressor.__doc__,
        _SUMMARY.format(
            kind="Multi-layer Perceptron regressor",
            parent="~sknn_train.MLPRegressor",
            own="standardized targets, ",
        ),
        {**RECIPE, **REGRESSOR_RECIPE},
        example="""\
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sknn_train import TabularMLPRegressor
    >>> from sknn_train.preprocessing import SmoothClipScaler
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(SmoothClipScaler(), TabularMLPRegressor(random_state=0))
    >>> bool(model.fit(X_train, y_train).score(X_test, y_test) > 0.3)
    True
""",
    )

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(128, 128, 128),
        activation="selu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=64,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.2,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        n_iter_no_change="auto",
        max_fun=15000,
        dropout=0.0,
        input_dropout=0.0,
        residual=False,
        max_grad_norm=None,
        weight_init="lecun_normal",
        validation_metric="loss",
        n_init=1,
        lr_schedule="coslog4",
        warmup_fraction=0.0,
        weight_decay=0.0,
        restore_best_weights=True,
        output_init="zeros",
        input_scaling=True,
        n_ensemble=2,
        ensemble="independent",
        n_jobs=None,
        compute_dtype=None,
        categorical_features="from_dtype",
        max_onehot_categories=9,
        categorical_embedding_dim=8,
        handle_missing="indicator",
        numeric_scaling="smooth_clip",
        numeric_embedding=None,
        embedding_sigma=0.1,
        normalize_y=True,
    ):
        super().__init__(**_arguments(locals()))
