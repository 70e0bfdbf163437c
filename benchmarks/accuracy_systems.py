"""The systems of ``bench_accuracy.py``: a factory per system, the registry, the encoder.

Each :class:`System` makes a scikit-learn estimator or pipeline for a task, a
seed and whether the target holds counts; ``bench_accuracy.py``'s docstring
describes them. sknn_train, torch and pytabkit are imported only when a system
that needs them is made.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from accuracy_data import CLF, REG, categorical_columns, missing_modules
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, RobustScaler, StandardScaler


def _accepts(cls, param: str, value: str) -> bool:
    """Whether ``cls``'s ``_parameter_constraints`` allow ``param=value``."""
    for constraint in getattr(cls, "_parameter_constraints", {}).get(param, ()):
        if value in getattr(constraint, "options", ()):
            return True
    return False


def _has_option(cls, param: str, value: str) -> bool:
    """Whether ``cls`` takes ``param=value``: its constraints allow it, or (no constraints for
    ``param``) its signature has ``param`` at all."""
    if param in getattr(cls, "_parameter_constraints", {}):
        return _accepts(cls, param, value)
    return param in inspect.signature(cls).parameters


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


def _tabular_raw(**params):
    """TabularMLP on the raw table, its defaults encoding it (no scaler in front)."""

    def make(task, seed, counts):
        clf, reg = _tabular_classes()
        cls = clf if task == CLF else reg
        return cls(random_state=seed, **_poisson(cls, counts), **params)

    return make


def _tabular_option_missing(param: str, value: str):
    """``missing()`` of a TabularMLP system with ``param=value``: why it cannot run."""

    def missing() -> str | None:
        why = _tabular_missing()
        if why is not None:
            return why
        import sknn_train

        absent = [c.__name__ for c in _tabular_classes() if not _has_option(c, param, value)]
        if absent:
            return (
                f"sknn_train {sknn_train.__version__} ({Path(sknn_train.__file__).parent}): "
                f"{' / '.join(absent)} take no {param}={value!r} yet"
            )
        return None

    return missing


def _sknn_mlp(task, seed, counts):
    from sknn_train import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == CLF else MLPRegressor
    return make_pipeline(StandardScaler(), cls(random_state=seed, **_poisson(cls, counts)))


def _hgb(task, seed, counts):
    cls = HistGradientBoostingClassifier if task == CLF else HistGradientBoostingRegressor
    return cls(random_state=seed, **_poisson(cls, counts))


# HistGradientBoosting reads a categorical column with at most this many levels (max_bins).
HGB_MAX_LEVELS = 255


class RawFrame(TransformerMixin, BaseEstimator):
    """A raw table made readable for HistGradientBoosting and RealMLP.

    Every column that is not a number (``category``, ``object``, ``string``, ``bool``) becomes a
    ``category`` column with the levels seen in ``fit`` (an unseen level is missing in
    ``transform``), so that both read it as categorical with the same codes on training and
    test rows. ``numbered``: the categories are the levels' numbers (pytabkit's input
    check casts category columns to float, which text categories fail under pandas 3).
    ``max_levels``: a column with more levels keeps its ``max_levels`` most frequent
    ones (ties: the first seen), the rarer levels becoming missing values. ``impute_median``:
    missing numbers are filled with the column's median on the training rows (0 where a
    column has none). Arrays pass through, with their missing numbers filled likewise.
    """

    def __init__(self, max_levels=None, impute_median=False, numbered=False):
        self.max_levels = max_levels
        self.impute_median = impute_median
        self.numbered = numbered

    def fit(self, X, y=None):
        self.categories_ = {}
        if hasattr(X, "columns"):
            for c in categorical_columns(X):
                counts = X[c].value_counts(dropna=True, sort=False)
                if self.max_levels is not None and len(counts) > self.max_levels:
                    counts = counts.sort_values(ascending=False, kind="stable")
                    counts = counts.iloc[: self.max_levels]
                self.categories_[c] = counts.index.tolist()
            numbers = X.drop(columns=list(self.categories_))
            self.medians_ = numbers.median().fillna(0.0).to_dict()
        else:
            medians = np.nanmedian(np.asarray(X, dtype=np.float64), axis=0)
            self.medians_ = np.nan_to_num(medians)
        return self

    def transform(self, X):
        if not hasattr(X, "columns"):
            X = np.asarray(X, dtype=np.float64)
            if not self.impute_median:
                return X
            return np.where(np.isnan(X), self.medians_, X)
        import pandas as pd

        X = X.copy()
        for c, levels in self.categories_.items():
            X[c] = pd.Categorical(X[c], categories=levels)
            if self.numbered:  # the levels' numbers as categories: same model, float-castable
                X[c] = pd.Categorical.from_codes(
                    X[c].cat.codes.to_numpy(), categories=list(range(len(levels)))
                )
        if self.impute_median:
            X = X.fillna(self.medians_)
        return X


def _hgb_raw(task, seed, counts):
    # Categories as ``category`` columns; one with more than 255 levels keeps its 255 most
    # frequent ones, the rarer levels read as missing (HGB's own bin for them), rather than
    # ordinal codes read as numbers (an order the levels do not have).
    return Pipeline(
        [
            ("frame", RawFrame(max_levels=HGB_MAX_LEVELS)),
            ("model", _hgb(task, seed, counts).set_params(categorical_features="from_dtype")),
        ]
    )


def _numeric_of(X):
    """The columns ``sklearn-mlp-ct`` imputes and scales: the numbers (every column of an
    array)."""
    if not hasattr(X, "columns"):
        return list(range(X.shape[1]))
    cats = set(categorical_columns(X))
    return [c for c in X.columns if c not in cats]


def _sklearn_mlp_ct(task, seed, counts):
    numbers = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), RobustScaler())
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    columns = ColumnTransformer(
        [("numbers", numbers, _numeric_of), ("onehot", onehot, categorical_columns)]
    )
    cls = SkMLPClassifier if task == CLF else SkMLPRegressor
    return Pipeline(
        [("encode", columns), ("model", cls(random_state=seed, **_poisson(cls, counts)))]
    )


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


def _realmlp_raw(variant: str):
    """pytabkit's ``RealMLP_<variant>_Classifier`` / ``Regressor`` (``TD`` or ``TD_S``) on the
    raw table: categories as ``category`` columns; it refuses missing numbers, so they get the
    training median (:class:`RawFrame`); missing categories it encodes itself."""

    def make(task, seed, counts):
        import pytabkit
        import torch

        torch.set_num_threads(_torch_threads())
        kind = "Classifier" if task == CLF else "Regressor"
        cls = getattr(pytabkit, f"RealMLP_{variant}_{kind}")
        model = cls(device="cpu", random_state=seed, n_threads=_torch_threads())
        return Pipeline([("frame", RawFrame(impute_median=True, numbered=True)), ("model", model)])

    return make


def _realmlp_missing() -> str | None:
    return missing_modules(["torch", "pytabkit"])


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
    # takes raw tables (does its own encoding and imputation): it gets every data set's
    # frame as loaded, no one-hot encoder in front, and runs on the raw data sets too
    raw: bool = False


# RealMLP's untimed warm-up fit: two epochs; pytabkit's train_metric_name=None: MSE /
# cross-entropy; it has no Poisson loss.
REALMLP_WARMUP = (("n_epochs", 2),)
REALMLP_LOSS = "pytabkit default (squared error / cross-entropy)"
# sknn_train's ``numeric_embedding`` options, a system each (tabular-mlp-pbld, -plr).
NUMERIC_EMBEDDINGS = ("pbld", "plr")

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
            _realmlp_missing,
            warmup_params=REALMLP_WARMUP,
            default_loss=REALMLP_LOSS,
        ),
        # on raw tables
        System("tabular-mlp-raw", "TabularMLP raw", _tabular_raw(), _tabular_missing, raw=True),
        *(
            System(
                f"tabular-mlp-{embedding}",
                f"TabularMLP {embedding.upper()}",
                _tabular_raw(numeric_embedding=embedding),
                _tabular_option_missing("numeric_embedding", embedding),
                raw=True,
            )
            for embedding in NUMERIC_EMBEDDINGS
        ),
        # float32 compute on the float64 tables (torch's default), one thread and all
        System(
            "tabular-mlp-f32",
            "TabularMLP raw float32",
            _tabular_raw(compute_dtype="float32"),
            _tabular_option_missing("compute_dtype", "float32"),
            raw=True,
            default=False,
        ),
        System(
            "tabular-mlp-1core",
            "TabularMLP raw, members on one core",
            _tabular_raw(n_jobs=1),
            _tabular_missing,
            raw=True,
            default=False,
        ),
        System("hgb-raw", "HistGB raw", _hgb_raw, raw=True),
        *(
            System(
                key,
                label,
                _realmlp_raw(variant),
                _realmlp_missing,
                warmup_params=REALMLP_WARMUP,
                default_loss=REALMLP_LOSS,
                raw=True,
            )
            for key, label, variant in (
                ("realmlp-td", "RealMLP-TD raw", "TD"),
                ("realmlp-td-s", "RealMLP-TD-S raw", "TD_S"),
            )
        ),
        System("sklearn-mlp-ct", "sklearn MLP + CT", _sklearn_mlp_ct, raw=True),
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
