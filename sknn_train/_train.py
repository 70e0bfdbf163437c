"""The trainers: minibatch epochs (sgd, adam) and full-batch L-BFGS.

A trainer takes the data in kernel form, the flat parameter buffer, the
optimizer state, the :class:`~sknn_train._config.FitConfig` and a validation
function, and returns a :class:`History` (curves, best parameters, iteration
counts, why it stopped). It knows no estimator: the estimator copies the
history into its fitted attributes, in one place.

Everything per sample or per batch happens inside one compiled call per epoch
(:func:`sknn_train._kernels.epoch.run_epoch`), one per member for independent
members, which then run on threads of their own (:func:`epoch_parts`,
:mod:`~sknn_train._parallel`); this module runs once per epoch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np
import scipy.optimize
from numpy.typing import DTypeLike
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.fixes import parse_version, sp_version

from ._config import FitConfig
from ._kernels.epoch import (
    DIAG_BATCHES,
    DIAG_CLIPPED,
    DIAG_LAYERS,
    DIAG_NORM,
    full_loss_grad,
    run_epoch,
)
from ._kernels.optim import ADAM, NO_SCHEDULE, SGD, SOLVERS
from ._layout import Layout
from ._parallel import PARALLEL_MIN_MACS, run_parts
from ._threads import batch_macs, blas_threads
from ._warnings import check_optimize_result, warn
from ._workspace import KernelInput, chunk_rows, make_work

#: Odd 64-bit constant spreading the epochs' dropout keys (the golden ratio's bits).
_GOLDEN = 0x9E3779B97F4A7C15

#: A validation function: () -> (score, loss) of the current parameters on the
#: held-out rows (higher scores are better).
Validate = Callable[[], tuple[float, float]]


class Callbacks(Protocol):
    """What a trainer calls: :class:`~sknn_train._callbacks.FitCallbacks` or none."""

    def __bool__(self) -> bool: ...

    def begin(self, task_name: str) -> None: ...

    def end(self, progress: History | None = None, with_state: bool = True) -> bool: ...


@dataclass
class History:
    """What training produced; a later ``partial_fit`` / warm start continues it.

    The curves have one entry per epoch (stochastic solvers only);
    ``best_params`` holds the parameters of the best validation epoch (early
    stopping) and ``stop_reason`` why the last call ended: ``'max_iter'``,
    ``'no_improvement'``, ``'diverged'``, ``'callback'``, ``'interrupted'``,
    ``'one_epoch'`` (partial_fit) or, for L-BFGS, scipy's message.
    """

    loss_curve: list = field(default_factory=list)
    grad_norm_curve: list = field(default_factory=list)
    layer_grad_norm_curve: list = field(default_factory=list)
    clip_fraction_curve: list = field(default_factory=list)
    validation_scores: list | None = None
    validation_loss_curve: list | None = None
    best_loss: float | None = np.inf
    best_validation_score: float | None = None
    best_validation_loss: float | None = None
    best_params: np.ndarray | None = None
    best_epoch: int = 0  # 1-based position in the curves of the epoch ``best_params`` holds
    no_improvement_count: int = 0
    t: int = 0  # samples seen, over every call
    n_iter: int = 0  # epochs (iterations) of the last call
    loss: float | None = None
    diverged_at: int | None = None
    stop_reason: str = ""
    interrupted: bool = False
    diverging: bool = False  # a warning said so already

    @classmethod
    def start(cls, theta: np.ndarray, early_stopping: bool, validation: bool = False) -> History:
        """The history of a network that has not been trained yet.

        ``validation``: held-out rows are scored (``restore_best_weights``);
        with ``early_stopping`` they always are and the training loss's best
        is not tracked (scikit-learn's ``best_loss_ = None``).
        """
        if early_stopping or validation:
            return cls(
                validation_scores=[],
                validation_loss_curve=[],
                best_validation_score=-np.inf,
                best_validation_loss=np.inf,
                best_loss=None if early_stopping else np.inf,
                best_params=theta.copy(),
            )
        return cls(best_params=theta.copy())


class _NoCallbacks:
    """The callbacks of a fit without any: every hook does nothing."""

    def __bool__(self) -> bool:
        return False

    def begin(self, task_name: str) -> None:
        pass

    def end(self, progress: History | None = None, with_state: bool = True) -> bool:
        return False


NO_CALLBACKS = _NoCallbacks()


class OptimizerState:
    """Moments / velocities over the flat buffer plus the scalar state."""

    solver: int  # the kernels' code (SOLVERS)
    state1: np.ndarray
    state2: np.ndarray
    step: np.ndarray
    learning_rate: float

    def __init__(
        self, solver: str, size: int, dtype: DTypeLike, learning_rate: float, n_members: int = 1
    ) -> None:
        self.solver = SOLVERS[solver]
        self.state1 = np.zeros(size, dtype=dtype)
        self.state2 = np.zeros(size if self.solver == ADAM else 0, dtype=dtype)
        self.step = np.zeros(n_members, dtype=np.int64)  # updates taken, per member
        self.learning_rate = float(learning_rate)

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> OptimizerState:
        """The state stored by pickling (plain arrays and numbers)."""
        self = cls.__new__(cls)
        self.__dict__.update(state)
        return self

    def iteration_ends(self, config: FitConfig, time_step: int) -> None:
        """scikit-learn's inverse-scaling schedule of SGD."""
        if self.solver == SGD and config.schedule == "invscaling":
            self.learning_rate = config.learning_rate_init / (time_step + 1) ** config.power_t

    def trigger_stopping(self, config: FitConfig, msg: str) -> bool:
        """Whether to stop; the adaptive schedule divides the rate by 5 instead, while it can."""
        verbose = config.verbose
        if self.solver == ADAM or config.schedule != "adaptive":
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


def train_stochastic(
    data: KernelInput,
    Y: np.ndarray,
    sw: np.ndarray,
    theta: np.ndarray,
    opt: OptimizerState,
    config: FitConfig,
    history: History,
    rng: np.random.RandomState,
    *,
    train_rows: np.ndarray | None = None,
    validate: Validate | None = None,
    callbacks: Callbacks = NO_CALLBACKS,
) -> History:
    """Minibatch training with sgd or adam, scikit-learn's epoch semantics.

    ``Y`` is the 2-D target and ``sw`` the per-sample weights, in the working
    dtype, for every row of ``data``; ``train_rows`` the rows to train on (None:
    all), ``validate`` scores the held-out rows (early stopping). ``theta``
    and ``opt`` are updated in place, ``history`` is continued and returned.
    """
    dtype = theta.dtype
    n_samples = data.n_rows if train_rows is None else train_rows.shape[0]
    sample_idx = np.arange(n_samples, dtype=np.int64)
    batch_size = config.batch_size
    net = config.train_net
    # The dropout stream: drawn only when dropout is used, so that the
    # defaults keep scikit-learn's exact sequence of random draws.
    key_base = int(rng.randint(0, 2**62)) if config.uses_dropout else 0
    # partial_fit: the batch buffers come from the thread's reused scratch
    # memory (fresh pages cost a fault each, on every call). They hold
    # nothing from one batch to the next, so an evaluation between epochs
    # that reuses the same memory (a callback's predict) does no harm.
    layout = config.layout
    parts = epoch_parts(layout)
    threads = _member_threads(config, n_samples)
    works = [
        make_work(
            net,
            batch_size,
            data.n_features,
            not data.is_sparse,
            dtype,
            reuse=config.incremental and slot == 0,
            ensemble=layout.ensemble is not None,
            tables=config.tables,
        )
        for slot in range(min(threads, len(parts)))
    ]
    grad = np.empty_like(theta)
    n_w = config.layout.n_weight_layers

    def part_epoch(order, hyper, k: int, slot: int) -> tuple[float, np.ndarray]:
        """Part ``k``'s epoch (see :func:`epoch_parts`) in workspace ``slot``."""
        diag = np.zeros(DIAG_LAYERS + n_w)
        accumulated = run_epoch(
            *data.args(),
            Y,
            sw,
            order,
            batch_size,
            theta,
            grad,
            opt.state1,
            opt.state2,
            opt.step,
            net,
            works[slot],
            hyper,
            diag,
            parts[k],
            config.tier,
            config.tables,
        )
        return accumulated, diag

    history.n_iter = 0
    history.diverged_at = None
    history.interrupted = False
    history.stop_reason = ""
    epochs = 1 if config.incremental else config.max_iter
    try:
        # members take one BLAS thread each, on one thread or several: a BLAS's result
        # can depend on its thread count, and the fit must not depend on n_jobs
        with blas_threads(
            batch_macs(layout, batch_size), batch_macs(layout, n_samples) * epochs, len(parts)
        ):
            for _ in range(config.max_iter):
                if config.shuffle:
                    perm = np.arange(n_samples)
                    rng.shuffle(perm)
                    sample_idx = sample_idx[perm]
                order = sample_idx if train_rows is None else train_rows[sample_idx]
                callbacks.begin("epoch")
                key = (key_base + history.t * _GOLDEN) % 2**64 if key_base else 0
                hyper = config.hyper._replace(lr=float(opt.learning_rate), key=np.uint64(key))
                epoch = functools.partial(part_epoch, order, hyper)
                accumulated, diag = _in_order_sums(run_parts(epoch, len(parts), len(works)))
                history.n_iter += 1
                history.loss = accumulated / n_samples
                if not np.isfinite(theta).all():
                    # Nothing can be learnt from NaN weights: stop now; the
                    # estimator raises an error naming the cause.
                    history.diverged_at = history.n_iter
                    history.loss_curve.append(history.loss)
                    history.stop_reason = "diverged"
                    break
                history.t += n_samples
                history.loss_curve.append(history.loss)
                batches = max(diag[DIAG_BATCHES], 1.0)
                history.grad_norm_curve.append(diag[DIAG_NORM] / batches)
                history.layer_grad_norm_curve.append(list(diag[DIAG_LAYERS:] / batches))
                history.clip_fraction_curve.append(diag[DIAG_CLIPPED] / batches)
                if config.verbose:
                    print("Iteration %d, loss = %.8f" % (history.n_iter, history.loss))

                _update_no_improvement_count(history, config, theta, validate)
                opt.iteration_ends(config, history.t)
                if callbacks.end(history):
                    history.stop_reason = "callback"
                    break

                if history.no_improvement_count > config.n_iter_no_change:
                    if opt.trigger_stopping(config, _no_improvement_message(config)):
                        history.stop_reason = "no_improvement"
                        break
                    history.no_improvement_count = 0

                if config.incremental:
                    history.stop_reason = "one_epoch"
                    break

                if history.n_iter == config.max_iter:
                    history.stop_reason = "max_iter"
                    # with lr_schedule the budget is the plan, not a failure to converge
                    if config.hyper.schedule != NO_SCHEDULE:
                        break
                    warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % config.max_iter,
                        ConvergenceWarning,
                    )
    except KeyboardInterrupt:
        warn("Training interrupted by user.")
        history.interrupted = True
        history.stop_reason = "interrupted"
    callbacks.end(with_state=False)  # a task left open by an interruption

    if config.validation:
        theta[...] = history.best_params
    history.diverging = _warn_if_diverging(history, theta, config)
    return history


def epoch_parts(layout: Layout) -> list[Any]:
    """The compiled calls of an epoch, by the ``ensemble`` each takes: one for a
    single network (None) or a batch ensemble (every member: they meet at each
    step), one per member of independent members (they meet once an epoch),
    which may then run on threads of their own."""
    ensemble = layout.ensemble
    if ensemble is None or layout.shared:
        return [ensemble]
    return [
        ensemble._replace(first=np.int64(k), stop=np.int64(k + 1)) for k in range(layout.n_members)
    ]


def _member_threads(config: FitConfig, n_rows: int) -> int:
    """Threads an ensemble's members run on for a pass over ``n_rows`` rows:
    ``config.n_threads``, or 1 where a member's pass is too small to hand over."""
    layout = config.layout
    member_macs = batch_macs(layout, n_rows) // layout.n_members
    return config.n_threads if member_macs >= PARALLEL_MIN_MACS else 1


def _in_order_sums(results: list[tuple[float, np.ndarray]]) -> tuple[float, np.ndarray]:
    """The parts' losses and diagnostics summed in part (member) order: the same
    sums on one thread or several."""
    total, diag = 0.0, np.zeros_like(results[0][1])
    for value, part_diag in results:
        total += value
        diag += part_diag
    return total, diag


def _no_improvement_message(config: FitConfig) -> str:
    if config.early_stopping:
        what = "Validation loss" if config.validation_metric == "loss" else "Validation score"
        return "%s did not improve more than tol=%f for %d consecutive epochs." % (
            what,
            config.tol,
            config.n_iter_no_change,
        )
    return "Training loss did not improve more than tol=%f for %d consecutive epochs." % (
        config.tol,
        config.n_iter_no_change,
    )


def divergence_fix(config: FitConfig) -> str:
    """What to change when training diverges."""
    return (
        f"Lower learning_rate_init (now {config.learning_rate_init:g}) or clip updates "
        "with max_grad_norm (for example 1.0)."
    )


def _warn_if_diverging(history: History, theta: np.ndarray, config: FitConfig) -> bool:
    """A finite but exploding training loss gets a warning that names the cause.

    Returns whether it warned.
    """
    fix = divergence_fix(config)
    if history.diverged_at is not None and np.isfinite(theta).all():
        warn(
            f"Training diverged in epoch {history.diverged_at} (non-finite weights); the "
            f"best weights before it were restored. {fix}",
            ConvergenceWarning,
        )
        return True
    curve = history.loss_curve
    if len(curve) >= 2 and np.isfinite(curve[0]) and not np.isfinite(curve[-1]):
        warn(
            f"Training loss grew from {curve[0]:.4g} to {curve[-1]} over {len(curve)} "
            f"epochs: training diverged. {fix}",
            ConvergenceWarning,
        )
        return True
    if len(curve) < 3 or not np.isfinite(curve[-1]):
        return False
    first = min(curve[:2])
    if curve[-1] > 10.0 * first and curve[-1] > 1.0:
        warn(
            f"Training loss grew from {first:.4g} to {curve[-1]:.4g} over "
            f"{len(curve)} epochs: training is diverging. {fix}",
            ConvergenceWarning,
        )
        return True
    return False


def _update_no_improvement_count(
    history: History, config: FitConfig, theta: np.ndarray, validate: Validate | None
) -> None:
    """scikit-learn's patience counter, on the validation metric or the training loss.

    With a validation function (early stopping, ``restore_best_weights``) the
    held-out rows are scored every epoch and the best parameters kept; the
    patience counts on them with early stopping, on the training loss
    otherwise. A ``validation_metric`` other than ``'loss'`` is a score
    (higher is better). The casts tell mypy which fields
    :meth:`History.start` filled.
    """
    patience_on_validation = False
    if validate is not None:
        val_score, val_loss = validate()
        cast(list, history.validation_scores).append(val_score)
        cast(list, history.validation_loss_curve).append(val_loss)
        if config.verbose:  # the quantity that chooses the best epoch
            if config.validation_metric == "loss":
                print("Validation loss: %f" % val_loss)
            else:
                print("Validation score: %f" % val_score)
        best_score = cast(float, history.best_validation_score)
        best_val_loss = cast(float, history.best_validation_loss)
        if config.validation_metric == "loss":
            stalled = not val_loss < best_val_loss - config.tol
            better = val_loss < best_val_loss
        else:
            stalled = val_score < best_score + config.tol
            better = val_score > best_score
        if better:
            history.best_validation_score = val_score
            history.best_validation_loss = val_loss
            history.best_params = theta.copy()
            history.best_epoch = len(history.loss_curve)
        if config.early_stopping:
            patience_on_validation = True
            history.no_improvement_count = history.no_improvement_count + 1 if stalled else 0
    if patience_on_validation:
        return
    best_loss = cast(float, history.best_loss)
    if history.loss_curve[-1] > best_loss - config.tol:
        history.no_improvement_count += 1
    else:
        history.no_improvement_count = 0
    if history.loss_curve[-1] < best_loss:
        history.best_loss = history.loss_curve[-1]


def train_lbfgs(
    data: KernelInput,
    Y: np.ndarray,
    sw: np.ndarray,
    theta: np.ndarray,
    config: FitConfig,
    callbacks: Callbacks = NO_CALLBACKS,
) -> History:
    """Full-batch L-BFGS-B (scipy) on the compiled loss and gradient.

    ``theta`` ends holding scipy's solution; the history holds the iteration
    count, the loss and scipy's message as the stop reason. An ensemble's
    members are fitted each by its own L-BFGS run (a joint line search would
    tie them), on threads of their own where the fit has several
    (``config.n_threads``; with callbacks, which see one run at a time, and
    with scipy before 1.15, whose L-BFGS-B is not thread-safe, one after
    the other); the history then holds the largest iteration count, the
    mean loss and the last member's message.
    """
    layout = config.layout
    if layout.n_members == 1:
        return _lbfgs_run(data, Y, sw, theta, config, None, callbacks)

    def member_run(k: int, slot: int) -> History:
        # each member alone, in the ensemble's compiled form (a "members" of one)
        view = layout.member_view(theta, k)
        return _lbfgs_run(data, Y, sw, view, config, layout.member_form(), callbacks)

    parallel = not callbacks and sp_version >= parse_version("1.15")
    threads = _member_threads(config, data.n_rows) if parallel else 1
    # one BLAS thread a member, however many threads run them (see train_stochastic)
    with blas_threads(parallel=layout.n_members):
        runs = run_parts(member_run, layout.n_members, threads)
    return History(
        n_iter=max(run.n_iter for run in runs),
        loss=float(np.mean([run.loss for run in runs])),
        stop_reason=runs[-1].stop_reason,
    )


def _lbfgs_run(
    data: KernelInput,
    Y: np.ndarray,
    sw: np.ndarray,
    theta: np.ndarray,
    config: FitConfig,
    ensemble: Any,
    callbacks: Callbacks,
) -> History:
    """One L-BFGS-B run of one network (an ensemble's member: ``ensemble`` its
    "members" of one) whose buffer is ``theta``."""
    dtype = theta.dtype
    net = config.train_net
    layout = config.layout.member_of()
    chunk = chunk_rows(layout, data.n_rows)
    work = make_work(
        net,
        chunk,
        data.n_features,
        not data.is_sparse,
        dtype,
        ensemble=ensemble is not None,
        tables=config.tables,
    )
    grad = np.empty_like(theta)
    hyper = config.hyper

    def loss_grad(packed: np.ndarray) -> tuple[float, np.ndarray]:
        theta[...] = packed
        loss = full_loss_grad(
            *data.args(),
            Y,
            sw,
            chunk,
            theta,
            grad,
            net,
            work,
            hyper,
            ensemble,
            config.tier,
            config.tables,
        )
        return loss, grad.astype(np.float64)

    def iteration_done(xk: np.ndarray) -> None:
        # scipy calls this after each L-BFGS iteration with the new point.
        theta[...] = xk
        callbacks.end()
        callbacks.begin("lbfgs-iter")

    verbose = config.verbose
    iprint = 1 if (verbose is True or verbose >= 1) else -1
    extra = {} if sp_version >= parse_version("1.15") else {"iprint": iprint}
    callbacks.begin("lbfgs-iter")
    with blas_threads(batch_macs(layout, chunk), batch_macs(layout, data.n_rows) * config.max_iter):
        opt_res = scipy.optimize.minimize(
            loss_grad,
            theta.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=iteration_done if callbacks else None,
            options={
                "maxfun": config.max_fun,
                "maxiter": config.max_iter,
                "gtol": config.tol,
                **extra,
            },
        )
    callbacks.end(with_state=False)
    n_iter = check_optimize_result("lbfgs", opt_res, config.max_iter)
    theta[...] = opt_res.x
    return History(n_iter=n_iter, loss=opt_res.fun, stop_reason=str(opt_res.message))
