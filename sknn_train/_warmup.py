"""``sknn_train.warmup()``: compile (or load) the kernels before the first fit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

import numpy as np
from numpy.typing import DTypeLike

from ._config import build_net
from ._kernels.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from ._kernels.epoch import (
    PASS_PREDICT,
    Hyper,
    evaluate,
    full_loss_grad,
    make_hyper,
    run_epoch,
)
from ._kernels.losses import LOG_LOSS
from ._kernels.network import Net, Work
from ._kernels.optim import ADAM
from ._kernels.tiers import RECIPE
from ._layout import Layout
from ._workspace import KernelInput, make_work


def warmup(dtypes: Iterable[DTypeLike] = ("float64", "float32")) -> None:
    """Compile the kernels of every fit and prediction for ``dtypes``, or load them.

    The specialisations of the compiled pass that the defaults use: a single
    network without the recipe's techniques (a default :class:`MLPClassifier`)
    and an ensemble with them (a default :class:`TabularMLPClassifier`, two
    networks trained together); the other tiers compile when a fit first
    needs them.

    The first fit in a fresh environment compiles the kernels for the dtype of
    its data (a few seconds) and numba caches them on disk; later processes
    load them in a fraction of a second. Calling this once after installing
    (or at the start of a job that forks workers) moves that wait to a moment
    of your choosing. Processes that call it together compile once between
    them.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}, default=("float64", "float32")
        The working dtypes to prepare (float32 input is trained in float32).

    Raises
    ------
    ValueError
        For a dtype other than float32 and float64.

    See Also
    --------
    MLPClassifier.fit : Compiles (or loads) the kernels of its dtype on first use.
    MLPRegressor.fit : Compiles (or loads) the kernels of its dtype on first use.

    Examples
    --------
    >>> import sknn_train
    >>> sknn_train.warmup(["float64"])
    """
    for name in dtypes:
        dtype = np.dtype(name)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtypes must be float32 or float64, got {name!r}.")
        # an epoch, an L-BFGS gradient and a prediction of a tiny network all
        # run the same compiled entry point: this compiles (or loads) it once
        p = tiny_problem(dtype)
        run_epoch(
            *p["data"].args(),
            p["y"],
            p["sw"],
            np.arange(4),
            4,
            p["theta"],
            np.empty_like(p["theta"]),
            np.zeros_like(p["theta"]),
            np.zeros_like(p["theta"]),
            np.zeros(1, dtype=np.int64),
            p["net"],
            p["work"],
            p["hyper"],
            np.zeros(3 + 2),
        )
        full_loss_grad(
            *p["data"].args(),
            p["y"],
            p["sw"],
            4,
            p["theta"],
            np.empty_like(p["theta"]),
            p["net"],
            p["work"],
            p["hyper"],
        )
        evaluate(
            *p["data"].args(),
            4,
            4,
            p["theta"],
            p["net"],
            p["work"],
            PASS_PREDICT,
            p["y"],
            p["sw"],
            p["hyper"].loss,
            p["hyper"].eps_loss,
            np.empty((4, 2), dtype=dtype),
            np.zeros(0, dtype=np.uint8),
        )
        # the ensemble's form: every pass of it is the same specialisation
        pair = Layout([3, 2, 2], n_members=2)
        theta = np.full(pair.size, 0.1, dtype=dtype)
        run_epoch(
            *p["data"].args(),
            p["y"],
            p["sw"],
            np.arange(4),
            4,
            theta,
            np.empty_like(theta),
            np.zeros_like(theta),
            np.zeros_like(theta),
            np.zeros(2, dtype=np.int64),
            p["net"],
            make_work(p["net"], 4, 3, True, dtype, ensemble=True),
            p["hyper"],
            np.zeros(3 + 2),
            pair.ensemble,
            RECIPE,  # the Tabular defaults' tier
        )


class TinyProblem(TypedDict):
    """The kernel arguments :func:`tiny_problem` makes."""

    data: KernelInput
    net: Net
    work: Work
    theta: np.ndarray
    y: np.ndarray
    sw: np.ndarray
    hyper: Hyper


def tiny_problem(dtype: DTypeLike) -> TinyProblem:
    """Kernel arguments of a 3-2-2 softmax network on 4 rows (also for kernel tests)."""
    layout = Layout([3, 2, 2])
    net = build_net(
        layout,
        HIDDEN_ACTIVATIONS["relu"].code,
        OUTPUT_ACTIVATIONS["softmax"],
        np.full(3, -1),
        np.zeros(2),
    )
    hyper = make_hyper(
        solver=ADAM, loss=LOG_LOSS, lr=0.001, alpha=1e-4, eps_loss=float(np.finfo(dtype).eps)
    )
    return TinyProblem(
        data=KernelInput(np.ones((4, 3), dtype=dtype), dtype),
        net=net,
        work=make_work(net, 4, 3, True, dtype),
        theta=np.full(layout.size, 0.1, dtype=dtype),
        y=np.eye(2, dtype=dtype)[[0, 1, 0, 1]],
        sw=np.ones(4, dtype=dtype),
        hyper=hyper,
    )
