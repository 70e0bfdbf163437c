"""The Python side of training: epoch loop, validation split, schedules, messages.

Everything per sample or per batch happens inside one compiled call per epoch
(:func:`sknn_train._kernels.epoch.run_epoch`); this module runs once per epoch.
"""

from __future__ import annotations

import contextlib
import os
import threading
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
from ._kernels.epoch import (
    DIAG_BATCHES,
    DIAG_CLIPPED,
    DIAG_LAYERS,
    DIAG_NORM,
    EVAL_LOSS,
    Hyper,
    full_loss_grad,
    run_epoch,
)
from ._workspace import KernelInput, chunk_rows, kernel_array, make_work

_BLAS_LIBS = None
_GOLDEN = 0x9E3779B97F4A7C15


#: Multiply-adds of one batch's forward pass above which BLAS may use every
#: core: below it a second thread gains nothing and costs synchronisation.
BLAS_PARALLEL_MACS = 4_000_000


def _blas_threads(macs):
    """BLAS threads for work of ``macs`` multiply-adds per call (None: no limit)."""
    value = os.environ.get("SKNN_TRAIN_BLAS_THREADS", "auto").strip().lower()
    if value in {"all", "0", "none"}:
        return None
    if value in {"", "auto"}:
        return None if macs >= BLAS_PARALLEL_MACS else 1
    return max(1, int(value))


def batch_macs(layout, rows):
    """Multiply-adds of the forward pass of ``rows`` rows."""
    return int(rows) * layout.macs_per_row


#: A call whose forward passes come to fewer multiply-adds than this in all
#: leaves the BLAS threads as they are: setting and restoring the limits costs
#: tens of microseconds, more than such a call takes (a predict on a few rows).
SMALL_CALL_MACS = 1_000_000


def blas_threads(macs=0, total_macs=None):
    """BLAS threads for a fit or predict: one for small products, all for large ones.

    ``macs`` is the multiply-adds of one batch's (or chunk's) forward pass,
    ``total_macs`` those of the whole call's forward passes (None: unknown).

    Minibatch products of small layers gain nothing from a second BLAS thread
    and pay for its synchronisation; large ones (``BLAS_PARALLEL_MACS``
    multiply-adds per batch and more) run 1.3-1.5x faster on two cores of an
    idle machine. ``SKNN_TRAIN_BLAS_THREADS`` overrides the choice: a number,
    or ``all``. On a machine where other processes keep the cores busy,
    OpenBLAS threads that wait on each other can make an epoch many times
    slower (for scikit-learn's MLP too): set it to 1 there. The caller's
    settings are restored afterwards.
    """
    threads = _blas_threads(macs)
    if threads is None or (total_macs is not None and total_macs < SMALL_CALL_MACS):
        return contextlib.nullcontext()
    return _shared_blas_limit(threads)


_LIMIT_LOCK = threading.Lock()
_LIMIT_USERS = 0
_LIMIT_ORIGINAL = None


def _blas_libraries():
    """threadpoolctl's controllers of the loaded BLAS libraries (found once)."""
    global _BLAS_LIBS
    if _BLAS_LIBS is None:
        _BLAS_LIBS = [lib for lib in ThreadpoolController().lib_controllers
                      if lib.user_api == "blas"]
    return _BLAS_LIBS


@contextlib.contextmanager
def _shared_blas_limit(threads):
    """One process-wide limit shared by overlapping fits (threads).

    The first fit to start sets the limit, the last one to end restores the
    caller's settings; nested or concurrent fits only count themselves in.
    (Separate limiters would restore each other's limit, leaving the process
    at one thread.)

    The BLAS libraries' thread counts are read and set directly, as
    ``ThreadpoolController.limit(limits=threads, user_api="blas")`` does:
    that call also collects every library's full description (versions,
    OpenMP too) each time, 15-20 us, which a partial_fit on a few hundred
    rows would pay on every call.
    """
    global _LIMIT_USERS, _LIMIT_ORIGINAL
    with _LIMIT_LOCK:
        if _LIMIT_USERS == 0:
            libs = _blas_libraries()
            _LIMIT_ORIGINAL = [lib.num_threads for lib in libs]
            for lib in libs:
                lib.set_num_threads(threads)
        _LIMIT_USERS += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT_USERS -= 1
            if _LIMIT_USERS == 0:
                for lib, n in zip(_blas_libraries(), _LIMIT_ORIGINAL):
                    lib.set_num_threads(n)
                _LIMIT_ORIGINAL = None


class OptimizerState:
    """Moments / velocities over the flat buffer plus the scalar state."""

    def __init__(self, est, size, dtype):
        self.solver = _config.SOLVERS[est.solver]
        self.state1 = np.zeros(size, dtype=dtype)
        self.state2 = np.zeros(size if self.solver == 1 else 0, dtype=dtype)
        self.step = np.zeros(1, dtype=np.int64)
        self.learning_rate = float(est.learning_rate_init)

    @classmethod
    def from_dict(cls, state):
        """The state stored by pickling (plain arrays and numbers)."""
        self = cls.__new__(cls)
        self.__dict__.update(state)
        return self

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


def stratification_labels(est, Y):
    """One label per sample to stratify the validation split on, or None.

    Binary and multiclass targets use the class (scikit-learn stratifies only
    binary ones). Multilabel targets use the label combination; combinations
    seen once are pooled so that every stratum can be split.
    """
    if not is_classifier(est):
        return None
    if Y.shape[1] == 1:
        return Y[:, 0].astype(np.int64)
    if est._label_binarizer.y_type_ == "multiclass":
        return np.argmax(Y, axis=1)
    _, codes, counts = np.unique(Y, axis=0, return_inverse=True, return_counts=True)
    codes = codes.ravel()
    rare = counts[codes] < 2
    if rare.all():
        return None  # no combination repeats: nothing to stratify on
    if rare.any():
        codes = np.where(rare, -1, codes)
        if rare.sum() == 1:  # a pool of one cannot be split either
            codes[rare] = np.bincount(codes[~rare]).argmax()
    return codes


def validation_split(est, n_samples, Y, rng):
    """Train / validation row indices drawn from ``rng`` as scikit-learn does."""
    stratify = stratification_labels(est, Y)
    if stratify is not None:
        n_strata = np.unique(stratify).shape[0]
        n_val = int(np.ceil(est.validation_fraction * n_samples))
        if n_val < n_strata or n_samples - n_val < n_strata:
            stratify = None  # too few rows to represent every stratum
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


def make_hyper(est, opt, codes, key=0):
    max_norm = est.max_grad_norm
    return Hyper(
        solver=np.int64(opt.solver if opt is not None else 0),
        loss=np.int64(codes["loss"]),
        nesterov=bool(est.nesterovs_momentum),
        lr=float(opt.learning_rate if opt is not None else 0.0),
        beta_1=float(est.beta_1),
        beta_2=float(est.beta_2),
        epsilon=float(est.epsilon),
        momentum=float(est.momentum),
        alpha=float(est.alpha),
        max_norm=float(max_norm) if max_norm is not None else 0.0,
        eps_loss=float(codes["eps"]),
        key=np.uint64(key),
    )


class _Validation:
    """The held-out rows of early stopping and how to score them."""

    def __init__(self, est, X, Y, sample_weight, val_idx, dtype):
        self.X = X[val_idx]
        self.y = Y[val_idx]
        if is_classifier(est):
            self.y = est._label_binarizer.inverse_transform(self.y)
        self.sw = None if sample_weight is None else sample_weight[val_idx]
        self.Y = kernel_array(Y[val_idx], dtype)
        sw = np.ones(len(val_idx)) if self.sw is None else self.sw
        self.sw_kernel = kernel_array(sw, dtype)
        self.out = np.empty(self.Y.shape, dtype=dtype)

    def score_and_loss(self, est):
        """Validation score and loss from one forward pass over the held-out rows."""
        loss = est._evaluate(self.X, EVAL_LOSS, out=self.out, Y=self.Y, sw=self.sw_kernel)
        return est._score_outputs(self.out, self.y, self.sw), float(loss)


def fit_stochastic(est, X, Y, sw, sample_weight, incremental, callbacks):
    """Minibatch training with sgd or adam, scikit-learn's epoch semantics.

    ``Y`` is the 2-D kernel target in the working dtype, ``sw`` the per-sample
    weights given to the kernel and ``sample_weight`` what the user passed
    (``None`` or validated weights), used for the validation score. Returns
    whether the user interrupted training.
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
        val = _Validation(est, X, Y, sample_weight, val_idx, dtype)
    else:
        train_idx = val = None
    n_samples = n_total if train_idx is None else train_idx.shape[0]
    sample_idx = np.arange(n_samples, dtype=np.int64)
    batch_size = resolve_batch_size(est, n_samples)

    net = est._net(dropout=True)
    # The dropout stream: drawn only when dropout is used, so that the
    # defaults keep scikit-learn's exact sequence of random draws.
    key_base = int(rng.randint(0, 2**62)) if (net.drop > 0).any() else 0
    data = KernelInput(X, dtype)
    # partial_fit: the batch buffers come from the thread's reused scratch
    # memory (fresh pages cost a fault each, on every call). They hold
    # nothing from one batch to the next, so an evaluation between epochs
    # that reuses the same memory (a callback's predict) does no harm.
    work = make_work(net, batch_size, data.n_features, not data.is_sparse, dtype,
                     reuse=incremental)
    grad = np.empty_like(theta)
    codes = est._kernel_codes()
    n_w = len(net.units) - 1
    interrupted = False
    est._diverged_at = None

    try:
        est.n_iter_ = 0
        epochs = 1 if incremental else est.max_iter
        with blas_threads(batch_macs(est._layout, batch_size),
                          batch_macs(est._layout, n_samples) * epochs):
            for _ in range(est.max_iter):
                if est.shuffle:
                    perm = np.arange(n_samples)
                    rng.shuffle(perm)
                    sample_idx = sample_idx[perm]
                order = sample_idx if train_idx is None else train_idx[sample_idx]
                callbacks.begin("epoch")
                key = (key_base + est.t_ * _GOLDEN) % 2**64 if key_base else 0
                diag = np.zeros(DIAG_LAYERS + n_w)
                accumulated = run_epoch(
                    *data.args(), Y, sw, order, batch_size, theta, grad, opt.state1,
                    opt.state2, opt.step, net, work, make_hyper(est, opt, codes, key), diag,
                )
                est.n_iter_ += 1
                if not np.isfinite(theta).all():
                    # Nothing can be learnt from NaN weights: stop now; fit
                    # raises an error naming the cause.
                    est._diverged_at = est.n_iter_
                    est.loss_ = accumulated / n_samples
                    est.loss_curve_.append(est.loss_)
                    break
                est.loss_ = accumulated / n_samples
                est.t_ += n_samples
                est.loss_curve_.append(est.loss_)
                batches = max(diag[DIAG_BATCHES], 1.0)
                est.grad_norm_curve_.append(diag[DIAG_NORM] / batches)
                est.layer_grad_norm_curve_.append(list(diag[DIAG_LAYERS:] / batches))
                est.clip_fraction_curve_.append(diag[DIAG_CLIPPED] / batches)
                if est.verbose:
                    print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))

                update_no_improvement_count(est, val)
                opt.iteration_ends(est, est.t_)
                if callbacks.end():
                    break

                if est._no_improvement_count > est.n_iter_no_change:
                    if early_stopping:
                        what = "Validation score" if est.validation_metric == "score" else (
                            "Validation loss")
                        msg = (
                            "%s did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (what, est.tol, est.n_iter_no_change)
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
        interrupted = True
    callbacks.end(with_state=False)  # a task left open by an interruption

    if early_stopping:
        theta[...] = est._best_theta
    _warn_if_diverging(est)
    return interrupted


def _warn_if_diverging(est):
    """A finite but exploding training loss gets a warning that names the cause."""
    if est._diverged_at is not None and np.isfinite(est._theta).all():
        warnings.warn(
            f"Training diverged in epoch {est._diverged_at} (non-finite weights); the "
            "best weights before it were restored. Lower learning_rate_init "
            f"(now {est.learning_rate_init:g}) or clip updates with max_grad_norm "
            "(for example 1.0).",
            ConvergenceWarning,
        )
        return
    curve = est.loss_curve_
    if len(curve) >= 2 and np.isfinite(curve[0]) and not np.isfinite(curve[-1]):
        warnings.warn(
            f"Training loss grew from {curve[0]:.4g} to {curve[-1]} over {len(curve)} "
            "epochs: training diverged. Lower learning_rate_init "
            f"(now {est.learning_rate_init:g}) or clip updates with max_grad_norm "
            "(for example 1.0).",
            ConvergenceWarning,
        )
        return
    if len(curve) < 3 or not np.isfinite(curve[-1]):
        return
    first = min(curve[:2])
    if curve[-1] > 10.0 * first and curve[-1] > 1.0:
        warnings.warn(
            f"Training loss grew from {first:.4g} to {curve[-1]:.4g} over "
            f"{len(curve)} epochs: training is diverging. Lower learning_rate_init "
            f"(now {est.learning_rate_init:g}) or clip updates with max_grad_norm "
            "(for example 1.0).",
            ConvergenceWarning,
        )


def update_no_improvement_count(est, val):
    """scikit-learn's patience counter, on the validation score or loss."""
    if val is None:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]
        return

    val_score, val_loss = val.score_and_loss(est)
    est.validation_scores_.append(val_score)
    est.validation_loss_curve_.append(val_loss)
    if est.verbose:
        print("Validation score: %f" % est.validation_scores_[-1])
    if est.validation_metric == "score":
        if val_score < (est.best_validation_score_ + est.tol):
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if val_score > est.best_validation_score_:
            est.best_validation_score_ = val_score
            est.best_validation_loss_ = val_loss
            est._best_theta = est._theta.copy()
    else:
        if not val_loss < est.best_validation_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if val_loss < est.best_validation_loss_:
            est.best_validation_loss_ = val_loss
            est.best_validation_score_ = val_score
            est._best_theta = est._theta.copy()


def fit_lbfgs(est, X, Y, sw, callbacks):
    """Full-batch L-BFGS-B (scipy) on the compiled loss and gradient."""
    theta = est._theta
    dtype = theta.dtype
    layout = est._layout
    net = est._net(dropout=False)
    data = KernelInput(X, dtype)
    chunk = chunk_rows(layout, data.n_rows)
    work = make_work(net, chunk, data.n_features, not data.is_sparse, dtype)
    grad = np.empty_like(theta)
    hyper = make_hyper(est, None, est._kernel_codes())

    def loss_grad(packed):
        theta[...] = packed
        loss = full_loss_grad(*data.args(), Y, sw, chunk, theta, grad, net, work,
                              hyper)
        return loss, grad.astype(np.float64)

    def iteration_done(xk):
        # scipy calls this after each L-BFGS iteration with the new point.
        theta[...] = xk
        callbacks.end()
        callbacks.begin("lbfgs-iter")

    iprint = 1 if (est.verbose is True or est.verbose >= 1) else -1
    extra = {} if sp_version >= parse_version("1.15") else {"iprint": iprint}
    callbacks.begin("lbfgs-iter")
    with blas_threads(batch_macs(layout, chunk), batch_macs(layout, data.n_rows) * est.max_iter):
        opt_res = scipy.optimize.minimize(
            loss_grad,
            theta.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=iteration_done if callbacks else None,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol, **extra},
        )
    callbacks.end(with_state=False)
    est.n_iter_ = _check_optimize_result("lbfgs", opt_res, est.max_iter)
    est.loss_ = opt_res.fun
    theta[...] = opt_res.x
    return False
