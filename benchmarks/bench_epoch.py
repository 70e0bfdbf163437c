"""Time per epoch: sknn_train against scikit-learn's MLP, in one process.

Run from the repository root::

    python benchmarks/bench_epoch.py                    # every configuration, both dtypes
    python benchmarks/bench_epoch.py --quick            # smoke test: fewer rows, 1 repeat
    python benchmarks/bench_epoch.py --configs 1 3 7a --dtype float32 --repeats 5

What is measured
----------------
Each configuration is fitted by ``sknn_train`` (A) and by
``sklearn.neural_network`` (B) on the same arrays with the same parameters,
interleaved A, B, A, B, ... for ``--repeats`` repetitions. Every fit runs a
fixed number of epochs: ``max_iter=epochs``, ``tol=0`` and a huge
``n_iter_no_change``, so no fit stops early (``n_iter_`` is checked and the row
is flagged with ``!`` if it differs). The input is cast to the dtype under test
before timing, so neither library pays for a conversion.

* ``ms/epoch`` is the median over repetitions of ``fit wall time / n_iter_``
  (``time.perf_counter``). It includes each library's per-fit overhead (input
  validation, initialisation) spread over the epochs; for L-BFGS (config 7a)
  it is the time per L-BFGS *iteration*, which may take several loss/gradient
  evaluations.
* ``ratio`` is the median of the per-repetition ratios
  ``sklearn time / sknn_train time`` (> 1: sknn_train is faster); ``range``
  gives the smallest and largest per-repetition ratio.
* ``other`` is the largest share of the machine's CPU time that *other*
  processes used during any one fit of the row (from ``/proc/stat``; 50% = one
  of two cores). Rows above 10% are flagged ``*``: on a 2-core machine another
  busy process does not just add noise, it can make multi-threaded BLAS
  (scikit-learn's, which waits on its second thread) several times slower
  (10x was seen), so such ratios are meaningless. A repetition (the A and B
  fits) with such a fit is discarded and run again, up to ``--busy-retries``
  times per row (the discarded times are kept in the JSON); a row still
  flagged ran out of retries.
* ``score`` is the test accuracy (classifiers) or R² (regressor) of the last
  fit, on a held-out 20% split (digits: scikit-learn's default 25%), computed
  outside the timed region. Both libraries start from the same random
  initialisation, so the scores should be close; with only a few epochs they
  are not meant to be good.

Compilation: sknn_train's kernels are compiled (or loaded from numba's cache)
before any timing, by tiny fits covering every estimator, solver, dense/sparse
input and dtype the selected configurations use; that warm-up time is printed
and recorded separately. scikit-learn gets one tiny untimed fit too.

Noise caveats
-------------
This is a small shared machine (2 cores): single fits of a fraction of a second
vary by about ±25% from run to run, and an A/A comparison of scikit-learn with
itself gave ratios between 0.78 and 1.09 over 3 repetitions. Read the ratios,
not the absolute times; treat ratios within about ±25% of 1 as "no
difference"; look at ``range`` before believing a ratio; and use more
``--repeats`` for a decision. Only compare absolute times between runs made on
the same machine in the same state.

BLAS threads: sknn_train limits BLAS to one thread during its fits (small
minibatch products gain nothing from a second thread, and two OpenBLAS copies
in one process interfere). scikit-learn uses whatever the process allows
(by default every core). ``--blas-threads N`` limits BLAS for both libraries'
fits to ``N`` threads, to compare at equal thread counts. The JSON records
``threadpoolctl.threadpool_info()`` (which BLAS libraries, kernels and thread
counts) so that results from different machines can be told apart, and where
``sknn_train`` was imported from (path, git commit, uncommitted changes). To
time a fixed commit while the checkout is being edited, export it and put it
first on the path::

    git archive HEAD sknn_train | tar -x -C /tmp/snap
    PYTHONPATH=/tmp/snap python benchmarks/bench_epoch.py

Results go to ``--out`` (default ``benchmarks/results/bench_epoch.json``): raw
times, medians and ratios per configuration and dtype, plus the environment.
"""

import argparse
import gc
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from sknn_train import MLPClassifier, MLPRegressor
from sknn_train._jit import cache_status

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # also when loaded by path (``sknn-train bench``)
    sys.path.insert(0, str(HERE))
import benchlib  # noqa: E402  (environment record, load, timing, interleaving)
import torch_loop  # noqa: E402  (optional PyTorch loop; needs torch only to run)
from benchlib import BUSY, OtherLoad  # noqa: E402

DEFAULT_OUT = HERE / "results" / "bench_epoch.json"
DTYPES = {"float64": np.float64, "float32": np.float32}
SEED = 0
# Large enough that no fit stops for lack of improvement.
NO_EARLY_STOP = 1_000_000
# A fit during which other processes used more than BUSY of the machine's CPU time is
# "busy": its repetition is run again, or its row flagged.


@dataclass
class Config:
    """One benchmark configuration: a data set and the MLP parameters."""

    key: str
    title: str
    data: str  # name of a loader in DATASETS
    regression: bool
    params: dict
    epochs: int  # default number of epochs (L-BFGS: iterations)
    sparse: bool = False
    rows: int | None = None  # full-run rows (None: fixed-size data set)
    quick_rows: int | None = None
    extra: dict = field(default_factory=dict)  # arguments to the data loader


def _digits(n_rows, rng, **_):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, random_state=rng, stratify=y)


def _classification(n_rows, rng, n_features, n_informative, n_classes, **_):
    X, y = make_classification(
        n_samples=n_rows,
        n_features=n_features,
        n_informative=n_informative,
        n_redundant=0,
        n_classes=n_classes,
        random_state=rng,
    )
    return train_test_split(X, y, test_size=0.2, random_state=rng, stratify=y)


def _regression(n_rows, rng, n_features, **_):
    X, y = make_regression(
        n_samples=n_rows,
        n_features=n_features,
        n_informative=n_features // 2,
        noise=10.0,
        random_state=rng,
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=rng)
    mean, std = y_train.mean(), y_train.std()
    return X_train, X_test, (y_train - mean) / std, (y_test - mean) / std


def _sparse_linear(n_rows, rng, n_features, density, **_):
    """CSR data, binary target from a random linear rule (split at its median)."""
    X = sp.random(
        n_rows, n_features, density=density, format="csr", random_state=rng, dtype=np.float64
    )
    w = np.random.RandomState(rng).standard_normal(n_features)
    score = X @ w
    y = (score > np.median(score)).astype(np.int64)
    return train_test_split(X, y, test_size=0.2, random_state=rng, stratify=y)


DATASETS = {
    "digits": _digits,
    "classification": _classification,
    "regression": _regression,
    "sparse": _sparse_linear,
}

_BIG_CLF = dict(n_features=50, n_informative=20, n_classes=2)

CONFIGS = [
    Config(
        "1",
        "digits (100,) b200 adam",
        "digits",
        False,
        dict(hidden_layer_sizes=(100,), batch_size=200, solver="adam"),
        20,
    ),
    Config(
        "2",
        "digits (256,256) b200 adam",
        "digits",
        False,
        dict(hidden_layer_sizes=(256, 256), batch_size=200, solver="adam"),
        20,
    ),
    Config(
        "3",
        "clf 50x2 (256,256) b200 adam",
        "classification",
        False,
        dict(hidden_layer_sizes=(256, 256), batch_size=200, solver="adam"),
        5,
        rows=50_000,
        quick_rows=5_000,
        extra=_BIG_CLF,
    ),
    Config(
        "4",
        "reg 20 (128,128,128) b200 adam",
        "regression",
        True,
        dict(hidden_layer_sizes=(128, 128, 128), batch_size=200, solver="adam"),
        5,
        rows=50_000,
        quick_rows=5_000,
        extra=dict(n_features=20),
    ),
    Config(
        "5",
        "digits (64,) b32 adam",
        "digits",
        False,
        dict(hidden_layer_sizes=(64,), batch_size=32, solver="adam"),
        20,
    ),
    Config(
        "6",
        "clf 784x10 (512,) b200 adam",
        "classification",
        False,
        dict(hidden_layer_sizes=(512,), batch_size=200, solver="adam"),
        5,
        rows=20_000,
        quick_rows=2_000,
        extra=dict(n_features=784, n_informative=64, n_classes=10),
    ),
    Config(
        "7a",
        "digits (100,) lbfgs [per iter]",
        "digits",
        False,
        dict(hidden_layer_sizes=(100,), solver="lbfgs"),
        20,
    ),
    Config(
        "7b",
        "clf 50x2 (256,256) b200 sgd-nest",
        "classification",
        False,
        dict(
            hidden_layer_sizes=(256, 256),
            batch_size=200,
            solver="sgd",
            momentum=0.9,
            nesterovs_momentum=True,
            learning_rate_init=0.01,
        ),
        5,
        rows=50_000,
        quick_rows=5_000,
        extra=_BIG_CLF,
    ),
    Config(
        "8",
        "sparse 20k 0.5% (128,) b200 adam",
        "sparse",
        False,
        dict(hidden_layer_sizes=(128,), batch_size=200, solver="adam"),
        5,
        sparse=True,
        rows=20_000,
        quick_rows=2_000,
        extra=dict(n_features=20_000, density=0.005),
    ),
]
CONFIG_KEYS = [c.key for c in CONFIGS]


def estimator_params(config: Config, epochs: int) -> dict:
    """Parameters shared by both libraries: a fixed number of epochs, no early stop."""
    return dict(
        config.params, max_iter=epochs, tol=0.0, n_iter_no_change=NO_EARLY_STOP, random_state=SEED
    )


def load(config: Config, quick: bool):
    n_rows = config.quick_rows if quick else config.rows
    return DATASETS[config.data](n_rows, SEED, **config.extra)


def as_dtype(X, dtype):
    if sp.issparse(X):
        return X.astype(dtype)  # stays CSR
    return np.ascontiguousarray(X, dtype=dtype)


def gemm_epoch(n_rows, units, batch, dtype, rng):
    """One epoch of forward/backward matrix products only; returns a callable."""
    X = rng.standard_normal((n_rows, units[0])).astype(dtype)
    Ws = [rng.standard_normal((a, b)).astype(dtype) * 0.01 for a, b in zip(units, units[1:])]
    sizes = [batch] * (n_rows // batch) + ([n_rows % batch] if n_rows % batch else [])
    bufs = {}
    for n in set(sizes):
        H = [np.empty((n, u), dtype) for u in units[1:]]
        D = [np.empty((n, u), dtype) for u in units[1:]]
        DH = [np.empty((n, u), dtype) for u in units[1:-1]]
        G = [np.empty_like(W) for W in Ws]
        bufs[n] = (H, D, DH, G)
    for _, D, _, _ in bufs.values():
        for d in D:
            d[...] = rng.standard_normal(d.shape) * 0.01

    def run():
        start = 0
        for n in sizes:
            H, D, DH, G = bufs[n]
            Xb = X[start : start + n]
            start += n
            acts = [Xb, *H]
            for l, W in enumerate(Ws):  # forward
                np.matmul(acts[l], W, out=H[l])
            for l in range(len(Ws) - 1, -1, -1):  # backward
                np.matmul(acts[l].T, D[l], out=G[l])
                if l > 0:
                    np.matmul(D[l], Ws[l].T, out=DH[l - 1])

    return run


def gemm_floor(config: Config, X, y, dtype):
    """The floor callable of a configuration (None: sparse input or L-BFGS)."""
    if config.sparse or config.params["solver"] == "lbfgs":
        return None
    if config.regression:
        n_out = 1
    else:
        n_out = len(np.unique(y))
        n_out = 1 if n_out == 2 else n_out
    units = [X.shape[1], *config.params["hidden_layer_sizes"], n_out]
    return gemm_epoch(
        X.shape[0], units, config.params["batch_size"], dtype, np.random.RandomState(SEED)
    )


def blas_limit(threads):
    """BLAS limited to ``threads`` (None: as the process is)."""
    return benchlib.thread_limits(threads, "blas")


def timed_floor(run, blas_threads):
    """Seconds of one floor epoch: the better of one BLAS thread and the default."""
    times = []
    for threads in (1, blas_threads):
        with blas_limit(threads):
            gc.collect()
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
    return min(times)


def timed_fit(est, X, y, blas_threads):
    """Fit ``est``; return (wall seconds, n_iter_, other processes' CPU share)."""
    gc.collect()
    with blas_limit(blas_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        load = OtherLoad()
        t0 = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - t0
        other = load.share()
    return elapsed, int(est.n_iter_), other


def warm_up(configs, dtypes) -> dict:
    """Compile / load sknn_train's kernels for every variant used; seconds per dtype.

    Also runs one tiny untimed scikit-learn fit so that neither library's first
    timed fit pays for first-call costs.
    """
    variants = sorted({(c.regression, c.params["solver"], c.sparse) for c in configs})
    rng = np.random.RandomState(SEED)
    X = rng.rand(40, 6)
    y_clf = np.arange(40) % 3
    y_reg = rng.rand(40)
    seconds = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name in dtypes:
            t0 = time.perf_counter()
            for regression, solver, sparse in variants:
                Xw = as_dtype(sp.csr_matrix(X) if sparse else X, DTYPES[name])
                cls, y = (MLPRegressor, y_reg) if regression else (MLPClassifier, y_clf)
                est = cls(hidden_layer_sizes=(4,), solver=solver, max_iter=2, random_state=SEED)
                est.fit(Xw, y).score(Xw, y)
            seconds[name] = time.perf_counter() - t0
        SkMLPClassifier((4,), max_iter=2, random_state=SEED).fit(X, y_clf).score(X, y_clf)
        if torch_loop.available():
            for name in dtypes:
                Xw = as_dtype(X, DTYPES[name])
                torch_loop.TorchMLP(False, hidden_layer_sizes=(4,), max_iter=2).fit(
                    Xw, y_clf
                ).score(Xw, y_clf)
    return seconds


def run_config(
    config, dtype_name, data, epochs, repeats, blas_threads, retries, use_torch=True
) -> dict:
    """Interleaved fits of every system, then the gemm floor, per repetition.

    A repetition during which other processes were busy is discarded and run
    again, at most ``retries`` times per row.
    """
    X_train, X_test, y_train, y_test = data
    dtype = DTYPES[dtype_name]
    X_train, X_test = as_dtype(X_train, dtype), as_dtype(X_test, dtype)
    params = estimator_params(config, epochs)
    systems = {
        "sknn_train": MLPRegressor if config.regression else MLPClassifier,
        "sklearn": SkMLPRegressor if config.regression else SkMLPClassifier,
    }
    if use_torch and torch_loop.supports(params):

        def make_torch(**p):
            return torch_loop.TorchMLP(config.regression, **p)

        systems["torch"] = make_torch
    floor = gemm_floor(config, X_train, y_train, dtype)
    if floor is not None:
        floor()  # first touch of its buffers

    def fit(cls):
        est = cls(**params)
        elapsed, n_iter, other = timed_fit(est, X_train, y_train, blas_threads)
        return dict(
            fit_s=elapsed,
            n_iter=n_iter,
            per_epoch_s=elapsed / max(n_iter, 1),
            score=float(est.score(X_test, y_test)),
            other_load=other,
        )

    # interleaved: A, B, C, A, B, C, ...
    repetitions = benchlib.interleave({name: partial(fit, cls) for name, cls in systems.items()})
    keys = ("fit_s", "n_iter", "per_epoch_s", "score", "other_load")
    raw = {name: {k: [] for k in keys} for name in systems}
    floor_s = []
    discarded = []
    done = 0
    while done < repeats:
        pair = next(repetitions)
        busy = any((r["other_load"] or 0) > BUSY for r in pair.values())
        if busy and len(discarded) < retries:
            discarded.append(pair)
            continue
        for name, rec in pair.items():
            for k in keys:
                raw[name][k].append(rec[k])
        if floor is not None:
            floor_s.append(timed_floor(floor, blas_threads))
        done += 1
    sknn = raw["sknn_train"]["per_epoch_s"]

    def ratios_of(name):  # per repetition: that system's time over sknn_train's
        return benchlib.ratios(raw[name]["per_epoch_s"], sknn)

    ratios = ratios_of("sklearn")
    res = {
        "config": config.key,
        "title": config.title,
        "dtype": dtype_name,
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_features": int(X_train.shape[1]),
        "epochs": epochs,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
        "raw": raw,
        "discarded_busy": discarded,
        "median_per_epoch_s": {n: statistics.median(r["per_epoch_s"]) for n, r in raw.items()},
        "median_score": {n: statistics.median(r["score"]) for n, r in raw.items()},
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "ratios_torch": None,
        "median_ratio_torch": None,
        "gemm_floor_s": floor_s or None,
        "median_gemm_floor_s": statistics.median(floor_s) if floor_s else None,
        "sknn_over_floor": None,
        "max_other_load": max(
            (v for r in raw.values() for v in r["other_load"] if v is not None), default=None
        ),
        "n_discarded_busy": len(discarded),
        "all_epochs_run": all(n == epochs for r in raw.values() for n in r["n_iter"]),
    }
    if "torch" in raw:
        res["ratios_torch"] = ratios_of("torch")
        res["median_ratio_torch"] = statistics.median(res["ratios_torch"])
    if floor_s:
        res["sknn_over_floor"] = statistics.median(sknn) / statistics.median(floor_s)
    return res


HEADER = (
    f"{'config':<37s}{'dtype':>8s}{'ep':>4s}"
    f"{'sknn ms/ep':>11s}{'skl ms/ep':>10s}{'ratio':>7s}{'range':>11s}"
    f"{'torch':>9s}{'t/sknn':>7s}{'floor':>9s}{'sknn/fl':>8s}"
    f"{'sknn score':>11s}{'skl score':>10s}{'other':>6s}"
)


def format_row(res: dict) -> str:
    med = res["median_per_epoch_s"]
    score = res["median_score"]
    other = res["max_other_load"]
    flag = "" if res["all_epochs_run"] else " !"
    if other is not None and other > BUSY:
        flag += " *"
    label = f"{res['config']:>3s} {res['title']}"
    span = f"{min(res['ratios']):.2f}-{max(res['ratios']):.2f}"

    def opt(value, fmt):
        return "n/a" if value is None else format(value, fmt)

    floor = res["median_gemm_floor_s"]
    return (
        f"{label:<37s}{res['dtype']:>8s}{res['epochs']:>4d}"
        f"{1e3 * med['sknn_train']:11.2f}{1e3 * med['sklearn']:10.2f}"
        f"{res['median_ratio']:7.2f}{span:>11s}"
        f"{opt(med.get('torch') and 1e3 * med['torch'], '.2f'):>9s}"
        f"{opt(res['median_ratio_torch'], '.2f'):>7s}"
        f"{opt(floor and 1e3 * floor, '.2f'):>9s}{opt(res['sknn_over_floor'], '.2f'):>8s}"
        f"{score['sknn_train']:11.4f}{score['sklearn']:10.4f}"
        f"{'n/a' if other is None else f'{100 * other:.0f}%':>6s}{flag}"
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Median time per epoch of sknn_train and scikit-learn's MLP "
        "(interleaved fits in one process).",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=CONFIG_KEYS,
        default=CONFIG_KEYS,
        metavar="KEY",
        help=f"configurations to run (default all: {' '.join(CONFIG_KEYS)})",
    )
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs (L-BFGS: iterations) per fit for every configuration "
        "(default: 20 for digits, 5 for the larger data sets)",
    )
    benchlib.add_repeats(parser, "interleaved fits per library (default 3; 1 with --quick)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: a tenth of the rows, 1 repeat"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        metavar="N",
        help="limit BLAS to N threads during both libraries' fits "
        "(default: scikit-learn uses the process default)",
    )
    parser.add_argument(
        "--busy-retries",
        type=int,
        default=3,
        metavar="N",
        help="per row, run a repetition again when other processes used more "
        f"than {100 * BUSY:.0f}%% of the machine during it, at most N "
        "times (default %(default)s; 0: keep every repetition)",
    )
    parser.add_argument(
        "--no-torch",
        action="store_true",
        help="leave out the PyTorch loop even when torch is installed",
    )
    benchlib.add_out(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.busy_retries < 0:
        parser.error("--busy-retries must be at least 0")
    benchlib.quick_defaults(args, repeats=(3, 1))
    benchlib.at_least_one(parser, args, "epochs", "repeats", "blas_threads")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    configs = [c for c in CONFIGS if c.key in args.configs]
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]

    source = benchlib.package_source()  # before anything runs: the code this process imported
    cache_dir, cache_files = cache_status()
    warmup_s = warm_up(configs, dtypes)
    print(
        "sknn_train warm-up (compile, or load from the numba cache; not counted): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in warmup_s.items())
    )
    print(
        f"repeats {args.repeats}{', quick' if args.quick else ''}"
        f"{f', BLAS threads {args.blas_threads}' if args.blas_threads else ''}; "
        "ratio = sklearn / sknn_train (median of per-repeat ratios, > 1: sknn_train faster); "
        "torch: the PyTorch loop's ms/epoch"
        + ("" if torch_loop.available() and not args.no_torch else " (not installed: n/a)")
        + ", t/sknn = torch / sknn_train; floor: ms/epoch of numpy doing only the "
        "forward and backward products (better of 1 and all BLAS threads), "
        "sknn/fl = sknn_train / floor"
    )
    print()
    print(HEADER)
    print("-" * len(HEADER))

    results = []
    run_load = OtherLoad()
    t_start = time.perf_counter()
    for config in configs:
        data = load(config, args.quick)
        epochs = args.epochs or config.epochs
        for dtype_name in dtypes:
            res = run_config(
                config,
                dtype_name,
                data,
                epochs,
                args.repeats,
                args.blas_threads,
                args.busy_retries,
                use_torch=not args.no_torch,
            )
            results.append(res)
            print(format_row(res), flush=True)
    total_s = time.perf_counter() - t_start
    if not all(r["all_epochs_run"] for r in results):
        print("! some fit stopped before its epoch count (see n_iter in the JSON)")
    n_discarded = sum(r["n_discarded_busy"] for r in results)
    if n_discarded:
        print(
            f"{n_discarded} repetition(s) run again because other processes were busy "
            "(times kept in the JSON under discarded_busy)"
        )
    if any((r["max_other_load"] or 0) > BUSY for r in results):
        print(
            f"* other processes used more than {100 * BUSY:.0f}% of the machine during a fit "
            "of this row: its times are not trustworthy, run it again on a quiet machine"
        )
    print(f"\ntotal {total_s:.0f} s")

    report = {
        "settings": {
            "configs": args.configs,
            "dtypes": dtypes,
            "epochs": args.epochs,
            "repeats": args.repeats,
            "quick": args.quick,
            "blas_threads": args.blas_threads,
            "busy_retries": args.busy_retries,
            "busy_threshold": BUSY,
            "torch": torch_loop.available() and not args.no_torch,
            "seed": SEED,
            "argv": benchlib.argv_record(argv),
        },
        "warmup_s": warmup_s,
        "numba_cache": {"dir": cache_dir, "index_files_before_warmup": cache_files},
        "total_s": total_s,
        "other_load": run_load.share(),
        "results": results,
        "environment": benchlib.environment(source),
    }
    benchlib.write_json(args.out, report, indent=2, default=str)
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
