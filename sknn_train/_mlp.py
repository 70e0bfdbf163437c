"""MLPClassifier and MLPRegressor: target encoding, output layer, public methods."""

from __future__ import annotations

import inspect
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from . import _docs
from ._base import BaseMultilayerPerceptron
from ._calibration import probabilities
from ._class_docs import CLASSIFIER_DOC, REGRESSOR_DOC
from ._evaluation import _FLOAT_DTYPES, _sum_is_finite
from ._targets import standardization

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from ._base import MatrixLike


def _arguments(frame_locals):
    """A constructor's arguments from its ``locals()``."""
    return {k: v for k, v in frame_locals.items() if k not in ("self", "__class__")}


#: The parameters :class:`~sknn_train._base.BaseMultilayerPerceptron` stores itself.
_BASE_PARAMETERS = tuple(inspect.signature(BaseMultilayerPerceptron.__init__).parameters)[1:]


def _base_arguments(frame_locals):
    """What a constructor passes on to the base class: the base's parameters among
    its ``locals()``; it stores its own (``label_smoothing``, ...) itself."""
    return {k: frame_locals[k] for k in _BASE_PARAMETERS if k in frame_locals}


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "calibration": [StrOptions({"temperature", "auto"}), None],
    }

    __doc__ = _docs.class_docstring(CLASSIFIER_DOC)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        input_dropout=0.0,
        residual=False,
        max_grad_norm=None,
        weight_init="glorot_uniform",
        validation_metric="score",
        n_init=1,
        lr_schedule=None,
        warmup_fraction=0.0,
        weight_decay=0.0,
        restore_best_weights=False,
        output_init="weight_init",
        input_scaling=False,
        n_ensemble=1,
        ensemble="independent",
        n_jobs=None,
        compute_dtype=None,
        categorical_features=None,
        max_onehot_categories=9,
        categorical_embedding_dim=8,
        handle_missing="error",
        numeric_scaling=None,
        numeric_embedding=None,
        embedding_sigma=0.1,
        label_smoothing=0.0,
        class_weight=None,
        calibration=None,
    ):
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.calibration = calibration
        super().__init__(**_base_arguments(locals()), loss="log_loss")

    def _validate_input(self, X, y, incremental, reset, sample_weight=None):
        if incremental and not reset and not self.warm_start:
            Y = self._encode_known_labels(X, y)
            if Y is not None:
                return X, Y
        X, y = self._validate_rows(
            X, y, reset=reset, incremental=incremental, sample_weight=sample_weight
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _user_targets(self, Y):
        return self._label_binarizer.inverse_transform(Y)

    def _fit_sample_weight(self, y, sample_weight, config):
        """``sample_weight`` times each sample's class weight (SPEC 4.4)."""
        class_weight = config.class_weight
        if class_weight is None:
            return sample_weight
        binarizer = self._label_binarizer
        if binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                "class_weight is not supported for multilabel targets: a sample belongs "
                "to several classes. Pass sample_weight instead."
            )
        if class_weight == "balanced" and config.incremental:
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: one call's "
                "class frequencies are not the data's. Compute the weights once with "
                "sklearn.utils.class_weight.compute_class_weight and pass them as a dict."
            )
        index = y[:, 0].astype(np.intp) if y.shape[1] == 1 else np.argmax(y, axis=1)
        labels = self.classes_[index]
        weights = compute_sample_weight(class_weight, labels)
        return weights if sample_weight is None else weights * sample_weight

    def _encode_known_labels(self, X, y):
        """The indicator matrix of a later partial_fit call's ``y``, or None.

        After the first call the classes are fixed, so the common case needs
        none of the general machinery (validate_data, unique_labels,
        LabelBinarizer.transform: about 1 ms for 150 rows, most of a call):
        plain arrays (see ``_is_plain_input``), a 1-D integer or string ``y``
        of the classes' kind, one label per row, every label one of
        ``classes_``. For these the result is LabelBinarizer.transform's.
        Anything else (None) takes the general path, which raises
        scikit-learn's errors: a label not in ``classes_`` included.
        """
        binarizer = self._label_binarizer
        classes = self.classes_
        binary = binarizer.y_type_ == "binary" and len(classes) == 2
        if not (binary or binarizer.y_type_ == "multiclass") or binarizer.sparse_input_:
            return None
        if not (type(y) is np.ndarray and y.ndim == 1 and self._is_plain_input(X)):
            return None
        if len(y) != len(X) or not (y.dtype.kind == classes.dtype.kind and y.dtype.kind in "iuU"):
            return None
        # classes_ is sorted (LabelBinarizer's unique labels)
        index = np.searchsorted(classes, y)
        if not (index < len(classes)).all() or not (classes[index] == y).all():
            return None
        if binary:
            # label_binarize keeps the positive (second) class's column
            return (index == 1).reshape(-1, 1)
        Y = np.zeros((len(y), len(classes)), dtype=bool)
        Y[np.arange(len(y)), index] = True
        return Y

    def _outputs(self, X):
        """The network outputs, or with a calibration temperature the calibrated
        probabilities (every member's logits divided by it, then averaged)."""
        temperature = self.__dict__.get("calibration_temperature_")
        if temperature is None:
            return super()._outputs(X)
        softmax = self.out_activation_ == "softmax"
        proba = probabilities(self._member_logits(X), temperature, softmax)
        return proba.astype(self._theta.dtype, copy=False)

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        self._check_is_fitted()
        return self._predict(X)

    _score_function = staticmethod(accuracy_score)

    def _predictions(self, y_pred):
        """Class labels from the network outputs."""
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        binarizer = self._label_binarizer
        # LabelBinarizer.inverse_transform's own arithmetic for a dense
        # binary or multiclass output, without its checks and array-API
        # dispatch (about 40 us, more than a one-row forward pass); other
        # targets (multilabel, sparse-fitted) go through it.
        if not binarizer.sparse_input_ and type(y_pred) is np.ndarray:
            classes = binarizer.classes_
            if (
                binarizer.y_type_ == "multiclass"
                and y_pred.ndim == 2
                and y_pred.shape[1] == len(classes)
            ):
                return classes[np.argmax(y_pred, axis=1)]
            if binarizer.y_type_ == "binary" and y_pred.ndim == 1 and len(classes) == 2:
                threshold = (binarizer.pos_label + binarizer.neg_label) / 2.0
                return classes[(y_pred > threshold).astype(np.intp)]
        return binarizer.inverse_transform(y_pred)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self,
        X: MatrixLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> Self:
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit.
            Can be obtained via `np.unique(y_all)`, where y_all is the
            target vector of the entire dataset.
            This argument is required for the first call to partial_fit
            and can be omitted in the subsequent calls.
            Note that y doesn't need to contain all labels in `classes`.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        if self._same_classes(classes):
            pass  # what _check_partial_fit_first_call would establish again
        elif _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _same_classes(self, classes):
        """Whether a later call's ``classes=`` is ``classes_`` itself, value for value.

        ``_check_partial_fit_first_call`` then only compares
        ``unique_labels(classes)`` with ``classes_`` (200 us, as long as the
        rest of the call): equal, since ``classes_`` is sorted and unique and
        of the same dtype. Any other ``classes`` goes through it and its
        errors.
        """
        fitted = self.__dict__.get("classes_")
        return (
            fitted is not None
            and type(classes) is np.ndarray
            and type(fitted) is np.ndarray
            and classes.dtype == fitted.dtype
            and classes.shape == fitted.shape
            and bool((classes == fitted).all())
        )

    def predict_log_proba(self, X: MatrixLike) -> np.ndarray:
        """Return the log of probability estimates.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class
            in the model, where classes are ordered as they are in
            `self.classes_`. Equivalent to `log(predict_proba(X))`.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X: MatrixLike) -> np.ndarray:
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class in the
            model, where classes are ordered as they are in `self.classes_`.
        """
        self._check_is_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = _docs.class_docstring(REGRESSOR_DOC)

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
        "normalize_y": ["boolean"],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        input_dropout=0.0,
        residual=False,
        max_grad_norm=None,
        weight_init="glorot_uniform",
        validation_metric="score",
        n_init=1,
        lr_schedule=None,
        warmup_fraction=0.0,
        weight_decay=0.0,
        restore_best_weights=False,
        output_init="weight_init",
        input_scaling=False,
        n_ensemble=1,
        ensemble="independent",
        n_jobs=None,
        compute_dtype=None,
        categorical_features=None,
        max_onehot_categories=9,
        categorical_embedding_dim=8,
        handle_missing="error",
        numeric_scaling=None,
        numeric_embedding=None,
        embedding_sigma=0.1,
        normalize_y=False,
    ):
        self.normalize_y = normalize_y
        super().__init__(**_base_arguments(locals()))

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples, n_outputs)
            The predicted values.
        """
        self._check_is_fitted()
        return self._predict(X)

    _score_function = staticmethod(r2_score)

    def _predictions(self, y_pred):
        """Predicted values from the network outputs (1-D for one output)."""
        y_pred = self._user_targets(y_pred)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _validation_score(self, outputs, Y_val, y_val, sw_val):
        """R² in the fitted units: the same as in the user's (an affine map per
        output), and no square of a huge target overflows."""
        if not np.isfinite(outputs).all():
            return np.nan
        return r2_score(Y_val, outputs, sample_weight=sw_val)

    def _user_targets(self, Y):
        """``Y`` in the user's units: the standardization of ``normalize_y`` undone."""
        scale = self.__dict__.get("target_scale_")
        if scale is None:
            return Y
        dtype = Y.dtype
        return Y * scale.astype(dtype) + self.target_mean_.astype(dtype)

    def _fit_targets(self, y, sample_weight, config, first_pass):
        """The targets standardized with ``normalize_y``; statistics of the first fit.

        Squared error fits ``(y - mean) / std`` per column, Poisson fits
        ``y / mean`` (a count's scale; the log link keeps it positive), with the
        sample-weighted mean and standard deviation of the ``y`` of the call that
        starts the fit. ``warm_start`` and later ``partial_fit`` calls keep the
        statistics: the network was trained in their units.
        """
        fitted = "target_scale_" in self.__dict__
        if not first_pass:
            if config.normalize_y != fitted:
                raise ValueError(
                    f"The network of the previous fit was trained with normalize_y={fitted}, "
                    f"this call asks for normalize_y={config.normalize_y}. Set "
                    "warm_start=False or keep normalize_y."
                )
        elif not config.normalize_y:
            self.__dict__.pop("target_scale_", None)
            self.__dict__.pop("target_mean_", None)
        else:
            self.target_mean_, self.target_scale_ = standardization(
                y, sample_weight, config.loss == "poisson"
            )
        if not config.normalize_y:
            return y
        if y.dtype.kind != "f":  # integer targets (partial_fit passes them as they are)
            y = y.astype(np.float64)
        return (y - self.target_mean_.astype(y.dtype)) / self.target_scale_.astype(y.dtype)

    def _validate_input(self, X, y, incremental, reset, sample_weight=None):
        if incremental and not reset and self._is_plain_target(X, y):
            return X, y
        X, y = self._validate_rows(
            X, y, reset=reset, incremental=incremental, y_numeric=True, sample_weight=sample_weight
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _is_plain_target(self, X, y):
        """Whether validate_data would hand back this later partial_fit call's ``X``, ``y`` as is.

        ``X`` as in ``_is_plain_input``; ``y`` a float32/float64 or integer
        ndarray with one value per row, 1-D or with several columns (one
        column is turned 1-D with a warning: the general path) and finite.
        Anything else takes the general path and its errors and warnings.
        """
        return (
            type(y) is np.ndarray
            and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] > 1))
            and self._is_plain_input(X)
            and len(y) == len(X)
            and (y.dtype.kind in "iu" or (y.dtype in _FLOAT_DTYPES and _sum_is_finite(y)))
        )

    def _check_target(self, y):
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for loss='poisson'."
            )

    # scikit-learn's regressor forgets to call _check_solver here (the
    # lambda returns the bound method, which is always truthy), so it offers
    # partial_fit for lbfgs; this one does not.
    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
