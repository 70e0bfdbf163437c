"""The one resolution step: an estimator's parameters and the data's shape become a
:class:`FitConfig`.

:func:`resolve` runs once at the start of every ``fit`` / ``partial_fit``. It
is the one place where hyperparameter strings become the kernels' codes, where
the per-layer dropout rates and the residual wiring are worked out, and where
the checks that ``_parameter_constraints`` cannot express are made (a dropout
list of the wrong length, dropout with L-BFGS, residual blocks of unequal
widths, a validation split too small). After it, nothing reads a
hyperparameter from the estimator: the trainers and the kernels take the
configuration, and data flows one way, from here down to one kernel branch.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from sklearn.metrics import get_scorer
from sklearn.model_selection._split import _validate_shuffle_split

from ._kernels.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from ._kernels.losses import LOSSES
from ._kernels.network import Net
from ._kernels.optim import SCHEDULES, SOLVERS
from ._kernels.step import Hyper, make_hyper
from ._kernels.tables import Tables
from ._kernels.tiers import Tier, needed_tier
from ._layout import Layout, shares_weights
from ._parallel import fit_threads
from ._warnings import warn

#: Learning-rate multiplier of the input scaling (SPEC 4.5): RealMLP-TD's
#: ``scale_lr_factor``. Each factor ``s_j`` is one parameter against a row of
#: ``W0``'s many, and Adam moves every parameter by about the rate, so at the
#: weights' rate the scaling would barely move relative to its start at 1.
INPUT_SCALE_LR = 6.0

#: The learning-rate schedules' names by their kernel codes (for messages).
SCHEDULE_NAMES = {code: name for name, code in SCHEDULES.items()}

WEIGHT_INITS = ("glorot_uniform", "he_uniform", "he_normal", "lecun_normal")
STOCHASTIC_SOLVERS = ("sgd", "adam")


@dataclass(frozen=True)
class FitConfig:
    """Everything one fit needs, resolved from the parameters and the data's shape.

    The kernel data (``train_net``, ``predict_net``, ``hyper``) is built here
    once; the trainers only replace the per-epoch fields of ``hyper`` (the
    learning rate of a schedule, the dropout key).
    """

    dtype: np.dtype
    layout: Layout
    solver: str  # 'sgd', 'adam' or 'lbfgs'
    stochastic: bool
    train_net: Net  # with the dropout rates
    predict_net: Net  # without: what predict and the validation pass use
    hyper: Hyper  # codes and scalars of the kernels (lr = learning_rate_init, key = 0)
    tier: Tier  # the techniques the kernels are compiled with (plain, recipe or everything)
    tables: Tables | None  # which input columns are category codes (None: no lookups)
    n_threads: int  # threads the members' epochs may run on (1: the calling thread only)
    embedding_sigma: float  # the numeric embeddings' frequencies' spread (SPEC 5.5)
    loss: str  # the loss the kernels compute ('binary_log_loss' for logistic outputs)
    out_activation: str
    uses_dropout: bool
    can_die: bool  # hidden units can output zero on every row: dead_units_ counts them
    # the epoch loop
    incremental: bool  # partial_fit: one epoch, state kept
    max_iter: int
    batch_size: int  # already clipped to the training rows
    shuffle: bool
    tol: float
    n_iter_no_change: float
    schedule: str  # learning_rate: 'constant', 'invscaling' or 'adaptive'
    learning_rate_init: float
    power_t: float
    verbose: bool
    early_stopping: bool
    validation: bool  # held-out rows scored every epoch: early stopping or restore_best_weights
    validation_fraction: float
    validation_metric: Any  # 'score', 'loss', a scorer name or a scorer callable
    scorer: Any  # the scorer of a validation_metric other than 'score' / 'loss', else None
    max_fun: int
    # the initial weights
    weight_init: str
    glorot_factor: float  # Glorot's bound numerator: 2 for logistic units, else 6
    n_init: int  # initialisations a first fit tries
    zero_output: bool  # output layer's weights and biases start at 0 (output_init='zeros')
    # the classifier's target and weights
    label_smoothing: float  # e of the targets (1 - e) y + e / K
    class_weight: Any  # None, a dict or 'balanced'
    normalize_y: bool  # the regressor fits standardized targets
    calibrate: bool  # fit a temperature on the held-out rows after training (SPEC 4.10)


def check_hidden_sizes(hidden_layer_sizes: int | Iterable[int]) -> list:
    """The hidden layer widths as given; scikit-learn's ValueError for a non-positive one."""
    sizes = hidden_layer_sizes
    sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
    if np.any(np.array(sizes) <= 0):
        raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
    return sizes


#: A dtype of no bytes: ``np.empty(shape, _NO_BYTES)`` checks a shape, allocating nothing.
_NO_BYTES = np.dtype([])


def check_layer_units(layer_units: Sequence[Any]) -> list[int]:
    """``[n_features, *hidden_layer_sizes, n_outputs]`` as ints.

    Widths scikit-learn's weight initialisation cannot use (``3.5``, ``[3]``,
    ``"a"``) raise its own TypeError: the same two operations, Glorot's sum
    of the fans and the weight matrix's shape, are made on them here.
    """
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        fan_in + fan_out  # noqa: B018 (the Glorot bound's sum: TypeError for a list)
        np.empty((fan_in, fan_out), dtype=_NO_BYTES)
    return [int(u) for u in layer_units]


def dropout_rates(
    dropout: float | ArrayLike, input_dropout: float, n_hidden: int
) -> tuple[float, ...]:
    """Dropout probability of the input and of every hidden layer (n_hidden + 1 values)."""
    if isinstance(dropout, Real):  # the common case, without numpy (partial_fit's cost)
        rates = [float(dropout)] * n_hidden
    else:
        array = np.asarray(dropout, dtype=np.float64)
        if array.shape != (n_hidden,):
            values = list(array.ravel()) if array.ndim else [float(array)]
            raise ValueError(
                f"dropout must be a float or one float per hidden layer ({n_hidden}), "
                f"got {len(values)} values: {values}."
            )
        rates = array.tolist()
    if not all(0 <= r < 1 for r in rates):
        raise ValueError(f"dropout values must be in [0, 1), got {rates}.")
    return (float(input_dropout), *rates)


def residual_wiring(sizes: Sequence[int], residual: bool) -> tuple[int, ...]:
    """``skip`` of :func:`~sknn_train._layout.build_net`; warns when ``residual`` does nothing."""
    if not residual:
        return (-1,) * (len(sizes) + 2)
    if len(sizes) < 3:
        warn(
            f"residual=True has no effect with {len(sizes)} hidden layer"
            f"{'' if len(sizes) == 1 else 's'}: a residual block is a pair of hidden "
            "layers after the first, so it needs at least 3 (for example "
            "hidden_layer_sizes=(64, 64, 64)). The network is trained without skips.",
            UserWarning,
        )
    return tuple(residual_skips(sizes).tolist())


@functools.lru_cache(maxsize=32)
def _networks(
    layout: Layout, hidden_code: int, out_code: int, skip: tuple[int, ...], drop: tuple[float, ...]
) -> tuple[Net, Net]:
    """The training and the prediction ``Net`` (memoised: partial_fit resolves every call).

    The kernels only read a ``Net``'s arrays, so one pair can serve every
    fit of the same layout and wiring.
    """
    train = build_net(layout, hidden_code, out_code, np.array(skip), np.array(drop))
    predict = build_net(layout, hidden_code, out_code, np.array(skip), np.zeros(len(drop)))
    return train, predict


def residual_skips(hidden_layer_sizes: Iterable[int]) -> np.ndarray:
    """``skip[j]``: the layer added to layer ``j``'s pre-activation, or -1 (SPEC 2.3).

    Layers are counted with the input as 0. Hidden layer 1 is a plain stem;
    hidden layers (2, 3), (4, 5), ... form blocks whose output (the odd one)
    adds the block's input (the layer before the pair). A trailing unpaired
    layer stays plain. Raises ValueError when a block's output width differs
    from its input width.
    """
    sizes = [int(s) for s in hidden_layer_sizes]
    skip = np.full(len(sizes) + 2, -1, dtype=np.int64)
    block = 1
    while 2 * block + 1 <= len(sizes):
        inner, out, source = 2 * block, 2 * block + 1, 2 * block - 1
        if sizes[out - 1] != sizes[source - 1]:
            raise ValueError(
                f"residual=True: block {block} (hidden layers {inner} and {out}) must "
                f"output as many units as it receives, but hidden layer {source} has "
                f"{sizes[source - 1]} units and hidden layer {out} has {sizes[out - 1]}. "
                "Use sizes such as (64, 32, 64, 32, 64): hidden_layer_sizes[2k] must "
                "equal hidden_layer_sizes[2k - 2]."
            )
        skip[out] = source
        block += 1
    return skip


def build_net(
    layout: Layout, hidden_act: int, out_act: int, skip: ArrayLike, drop: ArrayLike
) -> Net:
    """The :class:`~sknn_train._kernels.network.Net` the kernels take.

    ``skip`` comes from :func:`residual_skips` (or all -1), ``drop`` holds the
    dropout probability of the input and of every hidden layer.
    """
    n = len(layout.units)
    act = np.full(n, hidden_act, dtype=np.int64)
    act[0] = 0
    act[-1] = out_act
    skip = np.asarray(skip, dtype=np.int64)
    act[skip >= 0] = 0  # a residual block's output has no activation after the sum
    skip_to = np.full(n, -1, dtype=np.int64)
    for j, s in enumerate(skip):
        if s >= 0:
            skip_to[s] = j
    rates = np.zeros(n, dtype=np.float64)
    rates[: n - 1] = drop
    scale_off = np.array([layout.scale_off if layout.n_scale else -1], dtype=np.int64)
    table_off = np.array([layout.table_off, layout.numeric_off, layout.member_size], dtype=np.int64)
    return Net(
        layout.units,
        layout.coef_off,
        layout.int_off,
        act,
        skip,
        skip_to,
        rates,
        scale_off,
        table_off,
    )


def fit_layout(
    params: Mapping[str, Any],
    layer_units: list[int],
    previous: Layout | None = None,
    n_tables: int = 0,
    n_numeric: int = 0,
) -> Layout:
    """The network a fit trains, laid out once: the ensemble decided here.

    A first fit gets a new :class:`~sknn_train._layout.Layout` of
    ``n_ensemble`` members (a batch ensemble's members share weights and
    differ by their input scaling, their adapters). A warm start or a later
    ``partial_fit`` continues the ``previous`` network, which must be what the
    parameters and the data ask for: a ValueError names the one that differs.
    """
    n_weight_layers = len(layer_units) - 1
    batch = params["ensemble"] == "batch"
    if previous is None:
        shared = shares_weights(batch, params["n_ensemble"], n_weight_layers)
        n_scale = layer_units[0] if params["input_scaling"] or shared else 0
        return Layout(layer_units, n_scale, params["n_ensemble"], shared, n_tables, n_numeric)
    if previous.shared != shares_weights(batch, previous.n_members, n_weight_layers):
        raise ValueError(
            f"The model of the previous fit is an ensemble "
            f"{'sharing weights' if previous.shared else 'of independent members'}, "
            f"this call asks for ensemble={params['ensemble']!r}. Set warm_start=False "
            "or keep ensemble."
        )
    if bool(previous.n_scale) != bool(params["input_scaling"] or previous.shared):
        raise ValueError(
            f"The network of the previous fit was trained with input_scaling="
            f"{bool(previous.n_scale)}, this call asks for input_scaling="
            f"{bool(params['input_scaling'])}. Set warm_start=False or keep input_scaling."
        )
    if previous.n_members != params["n_ensemble"]:
        raise ValueError(
            f"The model of the previous fit is an ensemble of {previous.n_members} "
            f"network{'s' if previous.n_members > 1 else ''}, this call asks for "
            f"n_ensemble={params['n_ensemble']}. Set warm_start=False or keep n_ensemble."
        )
    if list(previous.units) != layer_units:
        raise ValueError(
            "The network of the previous fit has layer sizes "
            f"{[int(u) for u in previous.units]}, but this call needs "
            f"{layer_units} (n_features, *hidden_layer_sizes, n_outputs). "
            "Set warm_start=False or keep hidden_layer_sizes and the targets."
        )
    return previous


def smoothed_targets(Y: np.ndarray, smoothing: float, softmax: bool) -> np.ndarray:
    """SPEC 4.3: softmax targets ``(1 - e) y + e / K``, logistic ones ``(1 - e) y + e / 2``.

    ``Y`` is the (n, K) indicator matrix in the working dtype; ``softmax``
    whether the output layer is a softmax (multiclass) rather than logistic
    units (binary, multilabel).
    """
    k = Y.shape[1] if softmax else 2
    return np.ascontiguousarray((1.0 - smoothing) * Y + smoothing / k, dtype=Y.dtype)


def loss_name(loss: str, out_activation: str) -> str:
    """The loss the kernels compute: log loss on logistic outputs is the binary one."""
    if loss == "log_loss" and out_activation == "logistic":
        return "binary_log_loss"
    return loss


def prediction_net(layout: Layout, activation: str, residual: bool, out_activation: str) -> Net:
    """The network without dropout: what ``predict`` and the validation pass run.

    For a model whose fit did not leave one (loaded from an old pickle, or
    ``coefs_`` set by hand): the same memoised builder a fit uses.
    """
    sizes = layout.units[1:-1].tolist()
    skip = tuple(residual_skips(sizes).tolist()) if residual else (-1,) * (len(sizes) + 2)
    no_dropout = (0.0,) * (len(sizes) + 1)
    hidden, out = HIDDEN_ACTIVATIONS[activation].code, OUTPUT_ACTIVATIONS[out_activation]
    return _networks(layout, hidden, out, skip, no_dropout)[1]


#: ``n_iter_no_change='auto'`` with early stopping: scikit-learn's default patience.
AUTO_PATIENCE = 10


def patience(n_iter_no_change: float | str, early_stopping: bool) -> float:
    """The epochs without improvement that stop training.

    'auto' (the Tabular estimators' default): with early stopping,
    :data:`AUTO_PATIENCE` epochs on the validation metric; without it, no stop
    on the training loss (a learning-rate schedule runs its whole budget).
    """
    if n_iter_no_change == "auto":
        return AUTO_PATIENCE if early_stopping else np.inf
    return float(n_iter_no_change)


def holding_out(early_stopping: bool) -> tuple[str, str]:
    """The parameter that holds rows out, as set and as unset, for error messages."""
    if early_stopping:
        return "early_stopping=True", "early_stopping=False"
    return "restore_best_weights=True", "restore_best_weights=False"


def training_rows(
    n_samples: int, validation: bool, validation_fraction: float, early_stopping: bool
) -> int:
    """How many rows the optimizer sees: all, or those left by the validation split.

    The split's sizes are scikit-learn's (``train_test_split``); its errors
    too, word for word with early stopping (scikit-learn's), followed by the
    parameter that asked for the split and what to change with
    ``restore_best_weights``.
    """
    if not validation:
        return n_samples
    try:
        n_train, _ = _validate_shuffle_split(n_samples, validation_fraction, None)
    except ValueError as exc:
        if early_stopping:  # scikit-learn's own error, word for word
            raise
        held_out, off = holding_out(early_stopping)
        raise ValueError(
            f"{exc} ({held_out} holds out validation_fraction={validation_fraction:g} "
            f"of the {n_samples} training samples to score every epoch: set "
            f"validation_fraction so that both parts get rows, or {off}.)"
        ) from None
    return int(n_train)


#: What ``batch_size='auto'`` means: scikit-learn's ``min(200, n_samples)``;
#: the Tabular estimators' own value is the recipe's 64 (``_tabular.py``).
AUTO_BATCH_SIZE = 200


def batch_rows(batch_size: int | Literal["auto"], n_train: int, auto: int = AUTO_BATCH_SIZE) -> int:
    """The minibatch size: 'auto' (``min(auto, n_train)``, silently) and scikit-learn's
    clipping of a size the user chose (with its warning)."""
    if batch_size == "auto":
        return min(auto, n_train)
    if batch_size > n_train:
        warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    return int(np.clip(batch_size, 1, n_train))


def resolve(
    params: Mapping[str, Any],
    *,
    n_samples: int,
    n_outputs: int,
    layout: Layout,
    out_activation: str,
    dtype: DTypeLike,
    incremental: bool,
    sparse: bool = False,
    auto_batch_size: int = AUTO_BATCH_SIZE,
    tables: Tables | None = None,
) -> FitConfig:
    """The :class:`FitConfig` of a fit of ``layout`` on ``n_samples`` rows.

    ``params`` holds the estimator's constructor parameters (``get_params``'
    values); ``out_activation`` is the fitted ``out_activation_``;
    ``auto_batch_size`` what ``batch_size='auto'`` means for the estimator;
    ``sparse`` whether the input is a sparse matrix; ``tables`` which of its
    columns are category codes (see :mod:`~sknn_train._tables`).
    """
    solver = params["solver"]
    stochastic = solver in STOCHASTIC_SOLVERS
    sizes = layout.units[1:-1].tolist()
    drop = dropout_rates(params["dropout"], params["input_dropout"], len(sizes))
    uses_dropout = any(p > 0 for p in drop)
    if uses_dropout and not stochastic:
        raise ValueError(
            "dropout and input_dropout must be 0 with solver='lbfgs': a random "
            "objective breaks L-BFGS's line search. Use solver='adam' or 'sgd'."
        )
    early_stopping = bool(params["early_stopping"]) and stochastic
    if early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    # partial_fit holds nothing out: each call sees other rows, so there is no fixed
    # validation set to choose an epoch by, and restore_best_weights does not apply
    # (the Tabular estimators' default must not make partial_fit unusable)
    restore = bool(params["restore_best_weights"]) and not incremental
    if layout.shared and not stochastic:
        raise ValueError(
            "ensemble='batch' needs solver='adam' or 'sgd': its members share weights, "
            "which L-BFGS (one member after the other) cannot train. Use "
            "ensemble='independent' with solver='lbfgs'."
        )
    validation = stochastic and (early_stopping or restore)
    calibration = params.get("calibration")
    if calibration == "temperature" and not validation and not incremental:
        raise ValueError(
            "calibration='temperature' fits the temperature on held-out rows, and this "
            "fit holds none out: set early_stopping=True or restore_best_weights=True "
            "(with solver='adam' or 'sgd'), or calibration=None."
        )
    skip = residual_wiring(sizes, params["residual"])
    activation = params["activation"]
    hidden_code = HIDDEN_ACTIVATIONS[activation].code
    out_code = OUTPUT_ACTIVATIONS[out_activation]
    train_net, predict_net = _networks(layout, hidden_code, out_code, skip, drop)
    loss = loss_name(params["loss"], out_activation)
    batch_size = 0
    total_steps = 1
    if stochastic:
        n_train = training_rows(
            n_samples, validation, params["validation_fraction"], early_stopping
        )
        batch_size = batch_rows(params["batch_size"], n_train, auto_batch_size)
        total_steps = int(params["max_iter"]) * -(-n_train // batch_size)
    schedule = params["lr_schedule"]
    warmup = float(params["warmup_fraction"])
    if (schedule is not None or warmup > 0) and params["learning_rate"] != "constant":
        what = (
            f"lr_schedule={schedule!r}" if schedule is not None else (f"warmup_fraction={warmup:g}")
        )
        raise ValueError(
            f"{what} and learning_rate={params['learning_rate']!r} both set the learning "
            "rate over the fit: use learning_rate='constant' with a schedule or a warm-up."
        )
    hyper = make_hyper(
        loss=LOSSES[loss],
        eps_loss=float(np.finfo(dtype).eps),
        solver=SOLVERS.get(solver, 0),
        lr=params["learning_rate_init"],
        beta_1=params["beta_1"],
        beta_2=params["beta_2"],
        epsilon=params["epsilon"],
        momentum=params["momentum"],
        nesterov=params["nesterovs_momentum"],
        alpha=params["alpha"],
        max_norm=params["max_grad_norm"],
        schedule=SCHEDULES[schedule],
        warmup=warmup,
        total_steps=total_steps,
        weight_decay=params["weight_decay"],
        # a batch ensemble's adapters without input_scaling: the weights' rate (TabM's)
        scale_lr=INPUT_SCALE_LR if params["input_scaling"] else 1.0,
    )
    # the same rule the kernels' entries check a pass against: one decision
    tier = needed_tier(train_net, hyper, sparse)
    return FitConfig(
        dtype=np.dtype(dtype),
        layout=layout,
        tier=tier,
        tables=tables,
        n_threads=fit_threads(params["n_jobs"], 1 if layout.shared else layout.n_members),
        embedding_sigma=float(params["embedding_sigma"]),
        solver=solver,
        stochastic=stochastic,
        train_net=train_net,
        predict_net=predict_net,
        hyper=hyper,
        loss=loss,
        out_activation=out_activation,
        uses_dropout=uses_dropout,
        can_die=HIDDEN_ACTIVATIONS[activation].can_die and len(sizes) > 0,
        incremental=bool(incremental),
        max_iter=int(params["max_iter"]),
        batch_size=batch_size,
        shuffle=bool(params["shuffle"]),
        tol=float(params["tol"]),
        n_iter_no_change=patience(params["n_iter_no_change"], early_stopping),
        schedule=params["learning_rate"],
        learning_rate_init=float(params["learning_rate_init"]),
        power_t=float(params["power_t"]),
        verbose=params["verbose"],
        early_stopping=early_stopping,
        validation=validation,
        validation_fraction=float(params["validation_fraction"]),
        validation_metric=params["validation_metric"],
        scorer=None
        if params["validation_metric"] in ("score", "loss")
        else get_scorer(params["validation_metric"]),
        max_fun=int(params["max_fun"]),
        weight_init=params["weight_init"],
        glorot_factor=2.0 if activation == "logistic" else 6.0,
        n_init=int(params["n_init"]),
        zero_output=params["output_init"] == "zeros",
        label_smoothing=float(params.get("label_smoothing", 0.0)),
        class_weight=params.get("class_weight"),
        normalize_y=bool(params.get("normalize_y", False)),
        calibrate=calibration is not None and validation,
    )
