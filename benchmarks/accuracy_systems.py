"""The systems of ``bench_accuracy.py``: a factory per system, the registry, the encoder.

Each :class:`System` makes a scikit-learn estimator or pipeline for a task, a
seed and whether the target holds counts; ``bench_accuracy.py``'s docstring
describes them. sknn_train, torch and pytabkit are imported only when a system
that needs them is made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from accuracy_data import CLF, REG, missing_modules
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def _accepts(cls, param: str, value: str) -> bool:
    """Whether ``cls``'s ``_parameter_constraints`` allow ``param=value``."""
    for constraint in getattr(cls, "_parameter_constraints", {}).get(param, ()):
        if value in getattr(constraint, "options", ()):
            return True
    return False


def _poisson(cls, counts: bool) -> dict:
    return {"loss": "poisson"} if counts and _accepts(cls, "loss", "poisson") else {}


def _sklearn_mlp(task, seed, counts):
    cls = SkMLPClassifier if task == CLF else SkMLPRegressor
    return make_pipeline(StandardScaler(), cls(random_state=seed, **_poisson(cls, counts)))


def _sklearn_mlp_ty(task, seed, counts):
    est = _sklearn_mlp(task, seed, counts)
    if task == CLF or counts:
        return est
    return TransformedTargetRegressor(regressor=est, transformer=StandardScaler())


def _tabular_classes():
    import sknn_train

    return (
        getattr(sknn_train, "TabularMLPClassifier", None),
        getattr(sknn_train, "TabularMLPRegressor", None),
    )


def _tabular_missing() -> str | None:
    import sknn_train

    clf, reg = _tabular_classes()
    if clf is None or reg is None:
        return (
            f"sknn_train {sknn_train.__version__} ({Path(sknn_train.__file__).parent}) has no "
            "TabularMLPClassifier / TabularMLPRegressor yet"
        )
    return None


def _tabular_mlp(task, seed, counts):
    from sknn_train.preprocessing import SmoothClipScaler

    clf, reg = _tabular_classes()
    cls = clf if task == CLF else reg
    return make_pipeline(SmoothClipScaler(), cls(random_state=seed, **_poisson(cls, counts)))


def _tabular_with(**params):
    """TabularMLP with ``params`` set on the estimator (a non-default system)."""

    def make(task, seed, counts):
        pipe = _tabular_mlp(task, seed, counts)
        pipe[-1].set_params(**params)
        return pipe

    return make


def _tabular_ensemble(n_members, ensemble="independent"):
    """TabularMLP with ``n_ensemble=n_members`` members (a non-default system)."""
    return _tabular_with(n_ensemble=n_members, ensemble=ensemble)


def _sknn_mlp(task, seed, counts):
    from sknn_train import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == CLF else MLPRegressor
    return make_pipeline(StandardScaler(), cls(random_state=seed, **_poisson(cls, counts)))


def _hgb(task, seed, counts):
    cls = HistGradientBoostingClassifier if task == CLF else HistGradientBoostingRegressor
    return cls(random_state=seed, **_poisson(cls, counts))


# ``--threads``: None leaves every thread pool as the process has it (torch: one per core).
THREADS: dict[str, int | None] = {"threads": None}


def _torch_threads() -> int:
    return THREADS["threads"] or os.cpu_count() or 1


def _realmlp(task, seed, counts):
    import torch
    from pytabkit import RealMLP_TD_S_Classifier, RealMLP_TD_S_Regressor

    torch.set_num_threads(_torch_threads())
    cls = RealMLP_TD_S_Classifier if task == CLF else RealMLP_TD_S_Regressor
    return cls(device="cpu", random_state=seed, n_threads=_torch_threads())


@dataclass(frozen=True)
class System:
    """A factory ``make(task, seed, counts) -> estimator``; ``missing()``: why it cannot run."""

    key: str
    label: str
    make: Callable[[str, int, bool], BaseEstimator]
    missing: Callable[[], str | None] = lambda: None
    # parameters of the final estimator for the untimed warm-up fit (fewer epochs)
    warmup_params: tuple[tuple[str, object], ...] = ()
    default: bool = True
    # the loss recorded when the final estimator has no ``loss`` parameter
    default_loss: str | None = None
    # the tasks it runs on; on a data set of another task it is left out
    tasks: tuple[str, ...] = (CLF, REG)


SYSTEMS = {
    s.key: s
    for s in (
        System("sklearn-mlp", "sklearn MLP", _sklearn_mlp),
        System("tabular-mlp", "TabularMLP", _tabular_mlp, _tabular_missing),
        System("sknn-mlp", "sknn_train MLP", _sknn_mlp, lambda: missing_modules(["sknn_train"])),
        System("hgb", "HistGB", _hgb),
        System(
            "realmlp",
            "RealMLP-TD-S",
            _realmlp,
            lambda: missing_modules(["torch", "pytabkit"]),
            warmup_params=(("n_epochs", 2),),
            # pytabkit's train_metric_name=None: MSE / cross-entropy; it has no Poisson loss
            default_loss="pytabkit default (squared error / cross-entropy)",
        ),
        System("sklearn-mlp-ty", "sklearn MLP, scaled y", _sklearn_mlp_ty, default=False),
        *(
            System(
                f"tabular-mlp-e{k}",
                f"TabularMLP x{k}",
                _tabular_ensemble(k),
                _tabular_missing,
                default=False,
            )
            for k in (1, 2, 4, 8)
        ),
        *(
            System(
                f"tabular-mlp-b{k}",
                f"TabularMLP batch x{k}",
                _tabular_ensemble(k, "batch"),
                _tabular_missing,
                default=False,
            )
            for k in (4, 8)
        ),
        *(
            System(
                key,
                label,
                _tabular_with(**params),
                _tabular_missing,
                default=False,
                tasks=(CLF,),
            )
            for key, label, params in (
                ("tabular-mlp-nocal", "TabularMLP uncal.", {"calibration": None}),
                (
                    "tabular-mlp-ls0-nocal",
                    "TabularMLP ls0 uncal.",
                    {"label_smoothing": 0.0, "calibration": None},
                ),
                ("tabular-mlp-ls0", "TabularMLP ls0", {"label_smoothing": 0.0}),
            )
        ),
    )
}
SYSTEM_KEYS = list(SYSTEMS)


def default_systems() -> list[str]:
    """Every default system; ``sknn-mlp`` only while ``tabular-mlp`` cannot run."""
    keys = [k for k, s in SYSTEMS.items() if s.default and k != "sknn-mlp"]
    if SYSTEMS["tabular-mlp"].missing() is not None:
        keys.insert(keys.index("tabular-mlp") + 1, "sknn-mlp")
    return keys


def final_estimator(est):
    """The estimator at the end of pipelines and target transformers."""
    while True:
        if isinstance(est, Pipeline):
            est = est.steps[-1][1]
        elif isinstance(est, TransformedTargetRegressor):
            est = est.regressor
        else:
            return est


def loss_of(est, default: str | None = None) -> str:
    """The final estimator's ``loss``; ``default`` (or a note) where it has none."""
    final = final_estimator(est)
    params = final.get_params(deep=False)
    if "loss" in params:
        return str(params["loss"])
    return default or f"{type(final).__name__}'s default (no loss parameter)"


def encoder(cats: list[str]) -> ColumnTransformer:
    """One-hot encoding of the columns ``cats``; the other columns pass through."""
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    return ColumnTransformer([("onehot", onehot, cats)], remainder="passthrough")


def with_encoder(est, cats: list[str]):
    """``est`` behind the one-hot ``encoder(cats)`` (``est`` itself without categories)."""
    return Pipeline([("encode", encoder(cats)), ("model", est)]) if cats else est
