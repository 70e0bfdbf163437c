"""Training the current network: the trainer's inputs made, its history kept, and
what follows a fit (the constant floor, the calibration temperature).

:meth:`Training._train` turns the validated data into kernel arrays, draws the
held-out rows, runs :func:`~sknn_train._train.train_stochastic` or
:func:`~sknn_train._train.train_lbfgs` and stores their history; the
subclasses' hooks (``_fit_targets``, ``_fit_sample_weight``, ``_user_targets``,
``_validation_score``) give the targets and weights in the network's terms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import is_classifier

from ._baseline import constant_loss, worse_than_constant
from ._calibration import fit_temperature
from ._config import SCHEDULE_NAMES, holding_out, smoothed_targets
from ._kernels.epoch import PASS_LOSS
from ._kernels.optim import NO_SCHEDULE
from ._kernels.tiers import tier_name
from ._split import stratification_labels, validation_split
from ._train import OptimizerState, divergence_fix, train_lbfgs, train_stochastic
from ._warnings import warn
from ._workspace import KernelInput, kernel_array


class Training:
    """The training half of :class:`~sknn_train._base.BaseMultilayerPerceptron`
    (a mixin: it reads the fitted state and evaluates through the estimator)."""

    _theta: np.ndarray
    _optimizer_state: OptimizerState | None
    _random_state: np.random.RandomState
    _label_binarizer: Any
    best_epoch_: int
    best_validation_score_: float
    best_validation_loss_: float
    loss_: float
    _store_history: Any
    _history: Any
    _evaluate: Any
    _member_logits: Any
    _score_outputs: Any

    def _train(self, config, X, y, sample_weight, callbacks):
        """Run the solver on the current network; returns whether it was interrupted."""
        self.n_outputs_ = y.shape[1]
        self._predict_net = config.predict_net
        # predictions run in the fit's specialisation (a name: plain data to pickle)
        self._tier = tier_name(config.tier)
        dtype = config.dtype
        theta = self._theta
        data = KernelInput(X, dtype)
        Y = kernel_array(y, dtype)
        # label smoothing changes what is fitted, not what is validated
        Y_fit = Y
        if config.label_smoothing:
            softmax = config.out_activation == "softmax"
            Y_fit = smoothed_targets(Y, config.label_smoothing, softmax)
        user_weight = sample_weight
        sample_weight = self._fit_sample_weight(y, sample_weight, config)
        if sample_weight is None:
            sw = np.ones(X.shape[0], dtype=dtype)
        else:
            sw = kernel_array(sample_weight, dtype)
        if not config.incremental:  # every fit refits it; partial_fit keeps it
            self.__dict__.pop("calibration_temperature_", None)
        if not config.stochastic:
            history = train_lbfgs(data, Y_fit, sw, theta, config, callbacks)
            self._store_history(history, config)
            # L-BFGS's loss_ is the objective at its solution; a constant is one of its points
            floor = constant_loss(Y_fit, sw, Y_fit, sw, config.loss, config.hyper.eps_loss)
            self._constant_verdict = worse_than_constant(
                [("training", history.loss, floor)],
                "L-BFGS has not converged: raise max_iter, or scale the inputs (for "
                "example with StandardScaler).",
            )
            return False
        opt = self.__dict__.get("_optimizer_state")
        if not config.incremental or opt is None:
            opt = self._optimizer_state = OptimizerState(
                config.solver, theta.size, dtype, config.learning_rate_init, config.layout.n_members
            )
        if config.incremental:
            self._warn_if_schedule_spent(opt, config)
        rng = self._random_state
        train_rows = validate = None
        if config.validation:
            target_type = self._label_binarizer.y_type_ if is_classifier(self) else None
            # scikit-learn stratifies early stopping's split on a single output,
            # with train_test_split's own errors; the others fall back where needed
            strict = config.early_stopping and target_type is not None and y.shape[1] == 1
            stratify = y if strict else stratification_labels(Y, target_type)
            train_rows, val_rows = validation_split(
                X.shape[0],
                config.validation_fraction,
                rng,
                stratify,
                strict=strict,
                held_out=holding_out(config.early_stopping)[0],
            )
            X_val, Y_val = X[val_rows], Y[val_rows]
            sw_val = None if sample_weight is None else sample_weight[val_rows]
            validate = self._validation(X_val, Y_val, sw_val, config)
        history = train_stochastic(
            data,
            Y_fit,
            sw,
            theta,
            opt,
            config,
            self._history(config),
            rng,
            train_rows=train_rows,
            validate=validate,
            callbacks=callbacks,
        )
        self._store_history(history, config)
        if not config.incremental:
            self._constant_verdict = None
            if not (history.diverging or history.interrupted):
                self._constant_verdict = self._compare_with_constant(
                    X, Y, sw, train_rows, config, history, None if validate is None else val_rows
                )
        if config.calibrate:
            # on the held-out rows, weighted by sample_weight alone: class
            # weights are a training device, not the probabilities' target
            weight = np.ones(len(val_rows)) if user_weight is None else user_weight[val_rows]
            self.calibration_temperature_ = fit_temperature(
                self._member_logits(X_val), Y_val, weight, config.out_activation == "softmax"
            )
        return history.interrupted

    def _compare_with_constant(self, X, Y, sw, train_rows, config, history, val_rows):
        """The warning text when the kept weights lose more than a constant prediction, or None.

        The kept weights' plain data loss on the training rows (one pass),
        and with held-out rows the best epoch's validation loss, against the
        loss of the best constant for the training rows (``_baseline``).
        """
        eps = config.hyper.eps_loss
        rows = slice(None) if train_rows is None else train_rows
        X_fit, Y_fit, sw_fit = X[rows], Y[rows], sw[rows]
        loss = self._evaluate(
            X_fit, PASS_LOSS, Y=Y_fit, sw=sw_fit, loss=config.hyper.loss, eps_loss=eps
        )
        checks = [("training", loss, constant_loss(Y_fit, sw_fit, Y_fit, sw_fit, config.loss, eps))]
        if val_rows is not None and history.best_epoch > 0:
            val_loss = history.validation_loss_curve[history.best_epoch - 1]
            floor = constant_loss(Y_fit, sw_fit, Y[val_rows], sw[val_rows], config.loss, eps)
            checks.append(("validation", val_loss, floor))
        curve = history.loss_curve
        if len(curve) < 2 or curve[-1] < curve[0]:  # going down (or one epoch): too short
            advice = (
                f"Training has not converged: raise max_iter (now {config.max_iter}) or "
                f"learning_rate_init (now {config.learning_rate_init:g})."
            )
        else:
            advice = f"Training is diverging. {divergence_fix(config)}"
        return worse_than_constant(checks, advice, self.best_epoch_)

    def _warn_if_schedule_spent(self, opt, config):
        """Once per fit: a partial_fit call that finds the learning-rate schedule at its end.

        The schedule runs over ``max_iter`` epochs of updates (one call is one
        epoch), then its rate is 0: later calls change nothing but ``loss_``.
        """
        code = config.hyper.schedule
        if code == NO_SCHEDULE or opt.step.min() < config.hyper.total_steps:
            return
        if self.__dict__.get("_schedule_spent_warned"):
            return
        self._schedule_spent_warned = True
        warn(
            f"partial_fit: the learning-rate schedule lr_schedule={SCHEDULE_NAMES[code]!r} has "
            f"reached its end after max_iter={config.max_iter} epochs of updates; its "
            "learning rate is now 0, so this and later calls no longer change the "
            "weights. The schedule is meant for fit: for partial_fit set lr_schedule=None "
            "(a constant rate), or max_iter to at least the number of partial_fit calls.",
            UserWarning,
        )

    def _fit_targets(self, y, sample_weight, config, first_pass):
        """The 2-D targets the network is fitted to (the regressor may standardize them)."""
        return y

    def _user_targets(self, Y):
        """The targets as the user gave them, from the network's targets ``Y``."""
        return Y

    def _fit_sample_weight(self, y, sample_weight, config):
        """The sample weights the fit uses (the classifier multiplies in its class weights)."""
        return sample_weight

    def _validation(self, X_val, Y_val, sw_val, config):
        """The validation function: score and loss of the held-out rows ``X_val``.

        One forward pass over them gives both (the network outputs and the
        weighted mean loss); a scorer (``validation_metric``, SPEC 4.7) scores
        the model itself, whose ``coefs_`` view the parameters being trained.
        """
        y_val = self._user_targets(Y_val)
        Y_kernel = kernel_array(Y_val, config.dtype)
        weights = np.ones(X_val.shape[0]) if sw_val is None else sw_val
        sw_kernel = kernel_array(weights, config.dtype)
        out = np.empty(Y_kernel.shape, dtype=config.dtype)
        loss, eps = config.hyper.loss, config.hyper.eps_loss

        scorer = config.scorer
        scorer_kw = {} if sw_val is None else {"sample_weight": sw_val}

        def validate():
            value = self._evaluate(
                X_val, PASS_LOSS, out=out, Y=Y_kernel, sw=sw_kernel, loss=loss, eps_loss=eps
            )
            if scorer is not None:  # a scikit-learn scorer of the model as it is now
                return float(scorer(self, X_val, y_val, **scorer_kw)), float(value)
            return self._validation_score(out, Y_val, y_val, sw_val), float(value)

        return validate

    def _validation_score(self, outputs, Y_val, y_val, sw_val):
        """The validation score of the network ``outputs`` (``Y_val``: the fitted
        targets, ``y_val``: the user's)."""
        return self._score_outputs(outputs, y_val, sw_val)

    def _init_score(self, config):
        """What ``n_init`` maximises, higher is better: the best validation score, the
        negated best validation loss, or the negated final training loss."""
        if config.validation:
            if config.validation_metric != "loss":
                return float(self.best_validation_score_)
            return -float(self.best_validation_loss_)
        loss = float(self.loss_)
        return -loss if np.isfinite(loss) else -np.inf
