"""The Python side of training: epoch loop, validation split, schedules, messages.

Everything per sample or per batch happens inside one compiled call per epoch
(:func:`sknn_train._kernels.epoch.run_epoch`); this module runs once per epoch.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.fixes import parse_version, sp_version
from sklearn.utils.optimize import _check_optimize_result
from threadpoolctl import ThreadpoolController

from . import _config
from ._kernels.epoch import full_loss_grad, run_epoch
from ._workspace import KernelInput, Workspace, chunk_rows


_CONTROLLER = None


def blas_single_thread():
    """Limit BLAS to one thread for the duration of a fit; restored afterwards.

    The matrices of a minibatch are small: a second BLAS thread gains nothing
    and, once numpy's own OpenBLAS has run in the process, costs 2-3x
    (see the performance notes in the docs). The controller is built once:
    enumerating the loaded libraries on every call would cost milliseconds.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


class OptimizerState:
    """Moments / velocities over the flat buffer plus the scalar state."""

    def __init__(self, est, size, dtype):
        self.solver = _config.SOLVERS[est.solver]
        self.state1 = np.zeros(size, dtype=dtype)
        self.state2 = np.zeros(size if self.solver == 1 else 0, dtype=dtype)
        self.step = np.zeros(1, dtype=np.int64)
        self.learning_rate = float(est.learning_rate_init)

    def iteration_ends(self, est, time_step):
        if self.solver == 0 and est.learning_rate == "invscaling":
            self.learning_rate = float(est.learning_rate_init) / (time_step + 1) ** est.power_t

    def trigger_stopping(self, est, msg, verbose):
        if self.solver == 1 or est.learning_rate != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


def validation_split(est, n_samples, y, rng):
    """Train / validation row indices with scikit-learn's draws.

    Classifiers stratify on the class of each sample, also with three or more
    classes (scikit-learn stratifies only binary targets); multilabel targets
    are split without stratification.
    """
    stratify = None
    if is_classifier(est):
        if y.shape[1] == 1:
            stratify = y[:, 0].astype(np.int64)
        elif est._label_binarizer.y_type_ == "multiclass":
            stratify = np.argmax(y, axis=1)
    train_idx, val_idx = train_test_split(
        np.arange(n_samples),
        random_state=rng,
        test_size=est.validation_fraction,
        stratify=stratify,
    )
    if val_idx.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return train_idx.astype(np.int64), val_idx


def resolve_batch_size(est, n_samples):
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than "
            "sample size. It is going to be clipped"
        )
    return int(np.clip(est.batch_size, 1, n_samples))


def fit_stochastic(est, X, Y, sw, sample_weight, incremental):
    """Minibatch training with sgd or adam, scikit-learn's epoch semantics.

    ``Y`` is the 2-D kernel target in the working dtype, ``sw`` the per-sample
    weights given to the kernel and ``sample_weight`` what the user passed
    (``None`` or validated weights), used for the validation score.
    """
    theta = est._theta
    dtype = theta.dtype
    if not incremental or getattr(est, "_optimizer_state", None) is None:
        est._optimizer_state = OptimizerState(est, theta.size, dtype)
    opt = est._optimizer_state

    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early_stopping = est.early_stopping
    rng = est._random_state
    n_total = X.shape[0]
    if early_stopping:
        train_idx, val_idx = validation_split(est, n_total, Y, rng)
        X_val = X[val_idx]
        y_val = Y[val_idx]
        if is_classifier(est):
            y_val = est._label_binarizer.inverse_transform(y_val)
        sw_val = None if sample_weight is None else sample_weight[val_idx]
    else:
        train_idx = None
        X_val = y_val = sw_val = None
    n_samples = n_total if train_idx is None else train_idx.shape[0]
    sample_idx = np.arange(n_samples, dtype=np.int64)
    batch_size = resolve_batch_size(est, n_samples)

    data = KernelInput(X, dtype)
    layout = est._layout
    ws = Workspace(layout, batch_size, data.n_features, not data.is_sparse, dtype)
    grad = np.empty_like(theta)
    codes = est._kernel_codes()
    alpha = float(est.alpha)

    try:
        est.n_iter_ = 0
        with blas_single_thread():
            for _ in range(est.max_iter):
                if est.shuffle:
                    perm = np.arange(n_samples)
                    rng.shuffle(perm)
                    sample_idx = sample_idx[perm]
                order = sample_idx if train_idx is None else train_idx[sample_idx]
                accumulated = run_epoch(
                    *data.args(), Y, sw, order, batch_size,
                    theta, grad, opt.state1, opt.state2, opt.step, opt.solver,
                    opt.learning_rate, float(est.beta_1), float(est.beta_2),
                    float(est.epsilon), float(est.momentum), bool(est.nesterovs_momentum),
                    layout.units, layout.coef_off, layout.int_off,
                    codes["hidden"], codes["out"], codes["loss"], alpha, codes["eps"],
                    ws.xb, ws.acts, ws.deltas, ws.act_off,
                )
                est.n_iter_ += 1
                est.loss_ = accumulated / n_samples
                est.t_ += n_samples
                est.loss_curve_.append(est.loss_)
                if est.verbose:
                    print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))

                update_no_improvement_count(est, early_stopping, X_val, y_val, sw_val)
                opt.iteration_ends(est, est.t_)

                if est._no_improvement_count > est.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (est.tol, est.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs." % (est.tol, est.n_iter_no_change)
                        )
                    if opt.trigger_stopping(est, msg, est.verbose):
                        break
                    est._no_improvement_count = 0

                if incremental:
                    break

                if est.n_iter_ == est.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % est.max_iter,
                        ConvergenceWarning,
                    )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")

    if early_stopping:
        theta[...] = est._best_theta


def update_no_improvement_count(est, early_stopping, X_val, y_val, sw_val):
    if early_stopping:
        val_score = est._score(X_val, y_val, sample_weight=sw_val)
        est.validation_scores_.append(val_score)
        if est.verbose:
            print("Validation score: %f" % est.validation_scores_[-1])
        last_valid_score = est.validation_scores_[-1]
        if last_valid_score < (est.best_validation_score_ + est.tol):
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if last_valid_score > est.best_validation_score_:
            est.best_validation_score_ = last_valid_score
            est._best_theta = est._theta.copy()
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]


def fit_lbfgs(est, X, Y, sw):
    """Full-batch L-BFGS-B (scipy) on the compiled loss and gradient."""
    theta = est._theta
    dtype = theta.dtype
    layout = est._layout
    data = KernelInput(X, dtype)
    chunk = chunk_rows(layout, data.n_rows)
    ws = Workspace(layout, chunk, data.n_features, False, dtype)
    grad = np.empty_like(theta)
    grad_chunk = np.empty_like(theta)
    codes = est._kernel_codes()
    alpha = float(est.alpha)

    def loss_grad(packed):
        theta[...] = packed
        loss = full_loss_grad(
            *data.args(), Y, sw, chunk, theta, grad, grad_chunk,
            layout.units, layout.coef_off, layout.int_off,
            codes["hidden"], codes["out"], codes["loss"], alpha, codes["eps"],
            ws.xb, ws.acts, ws.deltas, ws.act_off,
        )
        return loss, grad.astype(np.float64)

    iprint = 1 if (est.verbose is True or est.verbose >= 1) else -1
    extra = {} if sp_version >= parse_version("1.15") else {"iprint": iprint}
    with blas_single_thread():
        opt_res = scipy.optimize.minimize(
            loss_grad,
            theta.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol, **extra},
        )
    est.n_iter_ = _check_optimize_result("lbfgs", opt_res, est.max_iter)
    est.loss_ = opt_res.fun
    theta[...] = opt_res.x
