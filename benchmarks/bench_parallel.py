"""An ensemble's members on every core: fit time of ``n_jobs`` (issue 22's targets).

Run from the repository root::

    python benchmarks/bench_parallel.py              # 5 repetitions (several minutes)
    python benchmarks/bench_parallel.py --quick      # smoke test: 2 repetitions, 16 epochs,
                                                     # 3,000 diamonds rows, 10-epoch search

The estimators' ``n_jobs`` says on how many threads the independent members of
an ensemble (``n_ensemble=K``) train, each member's epoch on one thread: None
(the default) the cores, as scikit-learn's OpenMP estimators count them; 1 the
members one after the other on the calling thread; k that many threads.

Every fit uses ``random_state=0`` and silences warnings; digits is scikit-learn's
``load_digits`` (X / 16, 1,797 rows), diamonds ``bench_accuracy.py``'s data set
(``--diamonds-rows`` rows drawn with its seed, default 10,000, all of them fitted;
the raw frame with its category columns). Groups, each timed ``--repeats``
times, interleaved (every variant once per repetition, who goes first rotating),
after an untimed 2-epoch fit (or search) of every variant: the kernels
compile or load from the cache, and the threads start:

- ``digits``: ``TabularMLPClassifier`` with ``n_ensemble=1`` (``k1``),
  ``n_ensemble=2, n_jobs=1`` (``k2_serial``), the defaults (``k2``: n_ensemble=2,
  n_jobs=None), ``n_ensemble=8`` (``k8``) and ``n_ensemble=8, ensemble='batch'``
  (``k8_batch``);
- ``diamonds``: ``TabularMLPRegressor`` ``k1``, ``k2_serial`` and ``k2``;
- ``search``: ``GridSearchCV(TabularMLPClassifier(max_iter=30),
  {"learning_rate_init": [1e-3, 3e-3]}, cv=2, n_jobs=2)`` on digits, the
  estimator's ``n_jobs`` None (``default``) against 1 (``n_jobs1``). The untimed
  searches start joblib's worker processes (which import sknn_train and load
  its kernels); the timed ones reuse them. The refit on all rows runs in
  this process, where ``default`` takes both cores.

Figures: the median over the repetitions of each repetition's ratio (the two
variants of a repetition ran close together in time), with their range; the
targets are for a 2-core machine:

- ``digits_k2_over_k1``, ``diamonds_k2_over_k1``: the defaults (K=2) against one
  network; target <= 1.2 (the second member on the second core);
- ``digits_serial_over_k2``, ``diamonds_serial_over_k2``: K=2 with ``n_jobs=1``
  against the default, what the threads gain (2 at most); reported, no target;
- ``digits_k8_over_k1``: K=8 against one network; target <= 4.5;
- ``digits_batch_over_k8``: ``ensemble='batch'`` against independent members,
  both K=8; target <= 0.8 (expected to be missed today: measured and reported);
- ``search_default_over_serial``: the search with the estimator's ``n_jobs``
  None against 1; target <= 1.05, i.e. not slower (1.0, and 5% for noise): in
  each worker the default should take the worker's share of the cores, one.

The JSON (``--out``, default ``benchmarks/results/bench_parallel.json``) holds the
settings, every repetition's order and times, the share of the machine other
processes used during each fit and over the digits and diamonds groups
(``benchlib.OtherLoad``; none for the searches, whose workers are other
processes), the medians, the figures with their targets, the load averages
before and after, and ``benchlib.environment`` (versions, commit,
``threadpoolctl.threadpool_info()``). That record imports torch (where
installed) after the last fit: no fit ran with torch loaded. On a machine where
other processes are busy the threads wait for cores, and the ratios say little.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
import benchlib  # noqa: E402  (environment record, load, timing, rotation, output)
from accuracy_data import DATASETS, DIAMONDS_ROWS, load_dataset, missing_modules  # noqa: E402
from benchlib import BUSY, OtherLoad, median  # noqa: E402

from sknn_train import TabularMLPClassifier, TabularMLPRegressor  # noqa: E402

DEFAULT_OUT = HERE / "results" / "bench_parallel.json"
SEED = 0
WARMUP_EPOCHS = 2  # enough to run every kernel of a variant once, on the threads it will use

# Each group's variants: the parameters that differ from the estimator's defaults.
ENSEMBLES = {
    "k1": {"n_ensemble": 1},
    "k2_serial": {"n_ensemble": 2, "n_jobs": 1},
    "k2": {"n_ensemble": 2},
}
DIGITS_VARIANTS = {
    **ENSEMBLES,
    "k8": {"n_ensemble": 8},
    "k8_batch": {"n_ensemble": 8, "ensemble": "batch"},
}
SEARCH_VARIANTS = {"default": {}, "n_jobs1": {"n_jobs": 1}}
SEARCH_GRID = {"learning_rate_init": [1e-3, 3e-3]}
SEARCH_CV = 2
SEARCH_N_JOBS = 2

# (key, group, numerator, denominator, target or None, what it says)
FIGURES = (
    ("digits_k2_over_k1", "digits", "k2", "k1", 1.2, "defaults (K=2) / one network"),
    ("diamonds_k2_over_k1", "diamonds", "k2", "k1", 1.2, "defaults (K=2) / one network"),
    ("digits_serial_over_k2", "digits", "k2_serial", "k2", None, "K=2 n_jobs=1 / default"),
    ("diamonds_serial_over_k2", "diamonds", "k2_serial", "k2", None, "K=2 n_jobs=1 / default"),
    ("digits_k8_over_k1", "digits", "k8", "k1", 4.5, "K=8 / one network"),
    ("digits_batch_over_k8", "digits", "k8_batch", "k8", 0.8, "K=8 batch / independent"),
    ("search_default_over_serial", "search", "default", "n_jobs1", 1.05, "search n_jobs None / 1"),
)


# ------------------------------------------------------------------ what is timed
def fit_timer(cls, X, y, params):
    """A callable timing one fit of a fresh ``cls(**params)``: (seconds, other processes' share)."""

    def run():
        est = cls(random_state=SEED, **params)
        load = OtherLoad()
        seconds, _ = benchlib.timed(est.fit, X, y, ignore=Warning)
        return seconds, load.share()

    return run


def search_timer(X, y, params):
    """A callable timing one grid search; no load share (its workers are other processes)."""

    def run():
        est = TabularMLPClassifier(random_state=SEED, **params)
        search = GridSearchCV(est, SEARCH_GRID, cv=SEARCH_CV, n_jobs=SEARCH_N_JOBS)
        return benchlib.timed(search.fit, X, y, ignore=Warning)[0], None

    return run


def measure(timers: dict, repeats: int) -> dict:
    """Every timer once per repetition, who goes first rotating; times, loads and medians."""
    runs = {"order": [], "fit_s": {k: [] for k in timers}, "other_load": {k: [] for k in timers}}
    for k in range(repeats):
        order = benchlib.rotation(list(timers), k)
        runs["order"].append(order)
        for name in order:
            seconds, share = timers[name]()
            runs["fit_s"][name].append(seconds)
            runs["other_load"][name].append(share)
    runs["median_s"] = benchlib.medians(runs["fit_s"])
    return runs


def with_epochs(variants: dict, epochs) -> dict:
    """``variants`` with ``max_iter=epochs`` added to each (None: the estimator's default)."""
    return {k: v if epochs is None else {**v, "max_iter": epochs} for k, v in variants.items()}


def run_group(label, timers_for, variants, epochs, repeats) -> dict:
    """Warm every variant up once (short fits), then time them; the group's record."""
    t0 = time.perf_counter()
    for run in timers_for(with_epochs(variants, WARMUP_EPOCHS)).values():
        run()
    warmup_s = time.perf_counter() - t0
    print(f"{label}: warm-up {warmup_s:.1f} s, timing {repeats} repetitions ...", flush=True)
    params = with_epochs(variants, epochs)
    return {"params": params, "warmup_s": warmup_s, **measure(timers_for(params), repeats)}


# ------------------------------------------------------------------ groups
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def group_digits(args) -> dict:
    X, y = digits()

    def timers(variants):
        return {k: fit_timer(TabularMLPClassifier, X, y, p) for k, p in variants.items()}

    rec = run_group("digits", timers, DIGITS_VARIANTS, args.epochs, args.repeats)
    return {"n_rows": len(y), **rec}


def group_diamonds(args) -> dict | None:
    """None where the data set's packages are missing (the group is then skipped)."""
    ds = DATASETS["diamonds"]
    why = missing_modules(ds.requires)
    if why is not None:
        print(f"diamonds skipped: {why}")
        return None
    # quick=False: the rows are --diamonds-rows' (load_dataset's quick mode would take 1,000)
    X, y, cats = load_dataset(ds, False, args.diamonds_rows)

    def timers(variants):
        return {k: fit_timer(TabularMLPRegressor, X, y, p) for k, p in variants.items()}

    rec = run_group("diamonds", timers, ENSEMBLES, args.epochs, args.repeats)
    return {"n_rows": len(y), "categorical": cats, **rec}


def group_search(args) -> dict:
    X, y = digits()

    def timers(variants):
        return {k: search_timer(X, y, p) for k, p in variants.items()}

    # The worker processes inherit the environment: no ConvergenceWarnings from them.
    # run_group's untimed searches start the workers, which import sknn_train and load
    # its kernels: the timed ones reuse them (loky keeps its executor between calls).
    with mock.patch.dict(os.environ, {"PYTHONWARNINGS": "ignore"}):
        rec = run_group("search", timers, SEARCH_VARIANTS, args.search_max_iter, args.repeats)
    return {
        "n_rows": len(y),
        "grid": SEARCH_GRID,
        "cv": SEARCH_CV,
        "n_jobs": SEARCH_N_JOBS,
        **rec,
    }


# ------------------------------------------------------------------ figures and output
def figures(groups: dict) -> dict:
    """Each figure's per-repetition ratios, their median and the target (None: not run)."""
    out = {}
    for key, group, num, den, target, what in FIGURES:
        if groups.get(group) is None:
            out[key] = None
            continue
        times = groups[group]["fit_s"]
        ratios = benchlib.ratios(times[num], times[den])
        out[key] = {
            "what": what,
            "ratios": ratios,
            "median_ratio": median(ratios),
            "target": target,
            "met": None if target is None else median(ratios) <= target,
        }
    return out


def busy(shares) -> bool:
    """Whether other processes used more than ``BUSY`` of the machine during any of the fits."""
    return any(share is not None and share > BUSY for share in shares)


def print_tables(groups: dict, figs: dict) -> None:
    print(f"\n{'group':<10s}{'variant':<11s}{'median s':>10s}{'range s':>16s}  parameters")
    any_busy = False
    for name, rec in groups.items():
        if rec is None:
            continue
        for variant, times in rec["fit_s"].items():
            flag = busy(rec["other_load"][variant])
            any_busy |= flag
            params = {k: v for k, v in rec["params"][variant].items() if k != "max_iter"}
            print(
                f"{name:<10s}{variant:<11s}{median(times):>10.2f}"
                f"{min(times):>8.2f}-{max(times):<7.2f}{'*' if flag else ' '} {params}"
            )
    print(f"\n{'figure':<28s}{'median':>8s}{'range':>13s}{'target':>9s}")
    for key, fig in figs.items():
        if fig is None:
            print(f"{key:<28s}{'n/a (not run)':>21s}")
            continue
        r = fig["ratios"]
        verdict = "" if fig["target"] is None else ("met" if fig["met"] else "MISSED")
        target = "" if fig["target"] is None else f"<={fig['target']}"
        row = f"{key:<28s}{fig['median_ratio']:>8.2f}{min(r):>7.2f}-{max(r):<5.2f}"
        print(f"{row}{target:>9s}  {verdict}".rstrip())
    if any_busy:
        print(
            f"* other processes used more than {100 * BUSY:.0f}% of the machine during a fit: "
            "run again on a quiet machine"
        )


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 2 repetitions, 16 epochs, 3,000 diamonds rows, 10-epoch search",
    )
    benchlib.add_repeats(parser, "interleaved repetitions (default 5; 2 with --quick)")
    # None until benchlib.parse fills in the default (full run, --quick) given below
    for flag, text in (
        (
            "--epochs",
            "max_iter of the digits and diamonds fits (default: the estimators' own; "
            "16 with --quick)",
        ),
        ("--diamonds-rows", f"rows of diamonds (default {DIAMONDS_ROWS}; 3000 with --quick)"),
        ("--search-max-iter", "max_iter of the searched estimator (default 30; 10 with --quick)"),
    ):
        parser.add_argument(flag, type=int, default=None, help=text)
    benchlib.add_out(parser, DEFAULT_OUT)
    return benchlib.parse(
        parser,
        argv,
        repeats=(5, 2),
        epochs=(None, 16),
        diamonds_rows=(DIAMONDS_ROWS, 3000),
        search_max_iter=(30, 10),
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    source = benchlib.package_source()  # before anything runs: the code this process imported
    load_before = benchlib.loadavg()
    fits_load = OtherLoad()
    t0 = time.perf_counter()
    groups = {"digits": group_digits(args), "diamonds": group_diamonds(args)}
    # measured before the search: its worker processes would count as other processes
    other_load_fits = fits_load.share()
    groups["search"] = group_search(args)
    total_s = time.perf_counter() - t0
    figs = figures(groups)
    print_tables(groups, figs)
    record = {
        "what": __doc__.splitlines()[0],
        "settings": {
            "repeats": args.repeats,
            "quick": args.quick,
            "epochs": args.epochs,
            "diamonds_rows": args.diamonds_rows,
            "search_max_iter": args.search_max_iter,
            "warmup_epochs": WARMUP_EPOCHS,
            "seed": SEED,
            "busy_threshold": BUSY,
            "argv": benchlib.argv_record(argv),
        },
        "groups": groups,
        "figures": figs,
        "total_s": total_s,
        "other_load_fits": other_load_fits,
        "loadavg_before": load_before,
        "loadavg_after": benchlib.loadavg(),
        "environment": benchlib.environment(source),
    }
    benchlib.write_json(args.out, record, default=str)
    print(
        f"\ntotal {total_s:.0f} s; load average before {load_before}, "
        f"after {record['loadavg_after']}; results: {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
