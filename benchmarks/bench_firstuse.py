"""First use: compiling, first searches, fresh processes and small calls, against scikit-learn.

Run from the repository root::

    python benchmarks/bench_firstuse.py            # full run (several minutes: it compiles
                                                   # every kernel several times)
    python benchmarks/bench_firstuse.py --quick    # smoke test: 1 repetition, short searches
    python benchmarks/bench_firstuse.py --parts 3 4 --repeats 5

Every measurement runs in a FRESH ``python -c`` subprocess, the two libraries
interleaved (sknn_train, scikit-learn, sknn_train, ...), ``--repeats`` times
(default 3); the figures are medians, and every ratio is the median of the
per-repetition ratios against scikit-learn's MLP measured in the same run.

"Empty cache" means a fresh temporary ``NUMBA_CACHE_DIR`` per repetition
(numba honours the variable and sknn_train's cache locators put it first; the
joblib/loky workers of a search inherit it through the environment), so
nothing is loaded from the checkout's own cache. "Warm cache" means one more
temporary ``NUMBA_CACHE_DIR``, filled once before parts 2-4 by a process that
compiles every kernel (part 1's first "all kernels" process when part 1 runs)
and then makes the calls the parts time; the number of kernels cached there is
recorded. The benchmark neither reads nor writes the checkout's cache.

Parts (``--parts``, default all):

1. Compile time. Imports and the first float64 fit from an empty cache, timed
   inside the fresh process from its first import to the end of the fit:
   digits (``load_digits``, X / 16), ``MLPClassifier((100,), max_iter=5)``
   (the code of ``bench_extra.py``'s cold start), target <= 4 s; the same for
   a default ``TabularMLPClassifier()``, target <= 8 s; beside them
   scikit-learn's first fit in a fresh process and sknn_train's first fit
   with a warm cache. And compiling every kernel of both dtypes from an empty
   cache (``sknn_train.warmup()``, else ``sknn_train._jit.warmup()``), timed
   after the import. ``--baseline DIR`` also times the first fit of the
   sknn_train in ``DIR`` (a snapshot of another commit), interleaved.
2. ``GridSearchCV(n_jobs=2, cv=3)`` over the 24 points of ``bench_extra.py``'s
   configuration 11 on digits (X / 16, ``max_iter=30``; 5 with ``--quick``):
   the search's wall time (``fit``, after imports and data) in a fresh process,
   so that the search starts its workers. (a) sknn_train with an empty cache
   against scikit-learn, target sknn / sklearn <= 1.5; (b) sknn_train with the
   warm cache, target sklearn / sknn >= 1.25. Both are compared with the same
   scikit-learn searches, one per repetition.
3. A fresh process that imports the library and fits once: digits (X / 16),
   ``MLPClassifier(random_state=0)`` (default ``max_iter=200``),
   ``ConvergenceWarning`` ignored, warm cache; the whole ``python -c`` wall
   time measured from this process. Target sknn / sklearn <= 1.15.
4. Small calls, one process per library and repetition (warm cache, a model
   fitted on digits for 50 epochs, a warm-up call before each timing): one-row
   ``predict`` and one-row ``predict_proba``, the median per-call time over
   ``--calls`` calls (default 2000) cycling through the rows, target
   sknn <= sklearn; and ``partial_fit`` on 150-row chunks of digits
   (``classes=`` on the first call), the median time of a pass over every
   chunk over ``--passes`` passes (default 20) of one estimator, target
   sklearn / sknn >= 2.
5. A first ``RandomizedSearchCV(n_iter=12, cv=3, n_jobs=2)`` over dropout,
   weight_decay, label_smoothing and lr_schedule (``TECHNIQUES_SPACE``: its
   points fall in all three compiled tiers) on digits, ``max_iter=30``, in a
   fresh process with an empty and with the warm cache; scikit-learn, which has
   none of these techniques, runs as many points of its own parameters. No
   target: the empty cache's extra time is what the tiers cost a first search.

The JSON (``--out``, default ``benchmarks/results/bench_firstuse.json``) holds
each child's raw record, per figure the per-repetition values, medians,
ratios, target and whether it was met, ``os.getloadavg()`` before and after
each part, and the environment record ``bench_epoch.py`` writes too
(``benchlib.environment``: versions, where sknn_train came from,
``threadpoolctl.threadpool_info()``).
``python benchmarks/report.py --write`` renders it for the README and the docs.

The children import the ``sknn_train`` this script imported (its directory goes first on
their ``PYTHONPATH``, with ``PYTHONSAFEPATH=1`` so that ``python -c`` does not put the
current directory before it), so that a fixed commit can be timed while the checkout
is being edited::

    snap=$(mktemp -d) && git archive HEAD sknn_train | tar -x -C "$snap"
    PYTHONPATH="$snap" python benchmarks/bench_firstuse.py

Noise: see ``bench_epoch.py``; on a 2-core machine another busy process slows
compiling (one core) and the searches (two workers) alike, so compare the
load averages recorded before and after each part.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import sknn_train
from sknn_train._jit import CACHE  # the children inherit the same switch

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # also when loaded by path
    sys.path.insert(0, str(HERE))
import bench_extra as BX  # noqa: E402  (its cold-start code and grid)
import benchlib  # noqa: E402  (environment record, child processes, interleaving)
import report  # noqa: E402  (the targets table and time formatting)
from benchlib import median, run_child  # noqa: E402

DEFAULT_OUT = HERE / "results" / "bench_firstuse.json"
PARTS = ("1", "2", "3", "4", "5")
SKNN, SKL = "sknn_train", "sklearn.neural_network"

# ---------------------------------------------------------------- child processes
# Compiles (or loads) every kernel, timed after the import; then, untimed, the
# calls parts 2-4 make, so that a cache kept from this process is warm for them.
KERNELS_CODE = textwrap.dedent("""
    import json, time, warnings
    t0 = time.perf_counter()
    import sknn_train
    from sknn_train import _jit
    warmup = getattr(sknn_train, "warmup", None)
    name = "sknn_train.warmup" if warmup else "sknn_train._jit.warmup"
    warmup = warmup or _jit.warmup
    t1 = time.perf_counter()
    warmup()
    t2 = time.perf_counter()
    import numpy as np
    from sklearn.datasets import load_digits
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    for dtype in (np.float64, np.float32):
        Xd = (X / 16.0).astype(dtype)
        est = sknn_train.MLPClassifier(max_iter=2, random_state=0).fit(Xd, y)
        est.predict(Xd[:1]), est.predict_proba(Xd[:1])
        sknn_train.MLPClassifier(random_state=0).partial_fit(Xd[:150], y[:150],
                                                             classes=np.unique(y))
    where, n_cached = _jit.cache_status()
    print(json.dumps({"import_s": t1 - t0, "warmup_s": t2 - t1, "warmup_fn": name,
                      "cache_dir": where, "cached_kernels": n_cached,
                      "kernels": len(_jit.KERNELS)}))
""")

# A search in a fresh process (parts 2 and 5): ``search`` is GridSearchCV or
# RandomizedSearchCV, ``options`` its arguments after the estimator's grid.
SEARCH_CODE = textwrap.dedent("""
    import json, time
    t0 = time.perf_counter()
    from {module} import MLPClassifier
    from sklearn.datasets import load_digits
    from sklearn.model_selection import {search}
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    t1 = time.perf_counter()
    gs = {search}(MLPClassifier(max_iter={max_iter}, random_state=0), {grid!r},
                  cv=3, n_jobs=2{options}).fit(X, y)
    t2 = time.perf_counter()
    print(json.dumps({{"setup_s": t1 - t0, "search_s": t2 - t1,
                       "best_score": float(gs.best_score_)}}))
""")

# A first search over the techniques (part 5): its points fall in every tier.
TECHNIQUES_SPACE = {
    "dropout": [0.0, 0.1, 0.2],
    "weight_decay": [0.0, 1e-4, 1e-3],
    "label_smoothing": [0.0, 0.1],
    "lr_schedule": [None, "cosine", "coslog4"],
}
# scikit-learn's MLP has none of them: the same number of its fits, over what it has
SKLEARN_SPACE = {
    "alpha": [1e-5, 1e-4, 1e-3],
    "learning_rate_init": [1e-3, 3e-3],
    "beta_2": [0.999, 0.95],
}

PROCESS_CODE = textwrap.dedent("""
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    warnings.simplefilter("ignore", ConvergenceWarning)
    from {module} import MLPClassifier
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier(random_state=0).fit(X / 16.0, y)
    print('{{"n_iter": %d}}' % est.n_iter_)
""")

SMALL_CODE = textwrap.dedent("""
    import json, statistics, time, warnings
    import numpy as np
    from {module} import MLPClassifier
    from sklearn.datasets import load_digits
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    est = MLPClassifier(max_iter=50, random_state=0).fit(X, y)

    def per_call(fn):
        fn(X[:1])  # warm-up call
        times = []
        for i in range({calls}):
            j = i % len(X)
            row = X[j:j + 1]
            t0 = time.perf_counter()
            fn(row)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    out = {{"predict_s": per_call(est.predict), "predict_proba_s": per_call(est.predict_proba)}}
    chunks = [(X[s:s + 150], y[s:s + 150]) for s in range(0, len(X), 150)]
    classes = np.unique(y)
    MLPClassifier(random_state=0).partial_fit(*chunks[0], classes=classes)  # warm-up call
    online = MLPClassifier(random_state=0)
    passes = []
    for p in range({passes}):
        t0 = time.perf_counter()
        for i, (Xc, yc) in enumerate(chunks):
            online.partial_fit(Xc, yc, **({{"classes": classes}} if p == i == 0 else {{}}))
        passes.append(time.perf_counter() - t0)
    out.update(partial_fit_pass_s=statistics.median(passes), partial_fit_first_pass_s=passes[0],
               chunks=len(chunks), calls={calls}, passes={passes})
    print(json.dumps(out))
""")


# Every child ignores warnings (a search's workers inherit this) and imports the
# sknn_train this process imported (``python -c`` would put the current directory first
# on the path, a checkout before PYTHONPATH's snapshot); scikit-learn's children get the
# same environment, less the cache directory.
SKL_ENV = {
    "PYTHONWARNINGS": "ignore",
    "PYTHONSAFEPATH": "1",
    "PYTHONPATH": os.pathsep.join(
        dict.fromkeys(
            [str(Path(sknn_train.__file__).resolve().parents[1])]
            + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
    ),
}


def cache_env(path):
    return dict(SKL_ENV, NUMBA_CACHE_DIR=str(path))


def count_files(path) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


class Caches:
    """Temporary numba cache directories: a fresh empty one per use, one warm one."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="sknn-firstuse-"))
        self.warm = None
        self.warm_record = None

    def empty(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="cold-", dir=self.root))

    def run_cold(self, code, keep_as_warm=False, source=None):
        """Run ``code`` with an empty cache; record how many files it left there.

        ``source``: import sknn_train from this directory instead (another checkout).
        """
        env = cache_env(self.empty())
        if source is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(source), env["PYTHONPATH"]])
        rec = run_child(code, env)
        path = Path(env["NUMBA_CACHE_DIR"])
        rec["cache_files_written"] = count_files(path)
        if rec["cache_files_written"] == 0:
            print(f"warning: nothing was cached in {path}: was the cache used at all?")
        if keep_as_warm and self.warm is None:
            self.warm, self.warm_record = path, rec
            print(
                f"warm cache: {path}, {rec['cached_kernels']} kernels cached "
                f"(sknn_train.cache_info), compiling them took {rec['warmup_s']:.1f} s"
            )
        elif path != self.warm:
            shutil.rmtree(path, ignore_errors=True)
        return rec

    def ensure_warm(self):
        if self.warm is None:
            self.run_cold(KERNELS_CODE, keep_as_warm=True)
        return cache_env(self.warm)

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- figures
def figure(key, label, sknn, skl, ratio="sknn/sklearn", target=None):
    """One measured figure: per-repetition seconds of both libraries, paired.

    ``ratio`` is "sknn/sklearn" or "sklearn/sknn"; ``target`` is ``None`` or
    ``(on, op, value)`` with ``on`` "ratio" or "sknn_train" (seconds), ``op``
    "<=" or ">=".
    """
    ratios = benchlib.ratios(sknn, skl) if ratio == "sknn/sklearn" else benchlib.ratios(skl, sknn)
    fig = {
        "key": key,
        "label": label,
        "sknn_train": sknn,
        "sklearn": skl,
        "median": benchlib.medians({"sknn_train": sknn, "sklearn": skl}),
        "ratio": ratio,
        "ratios": ratios,
        "median_ratio": median(ratios),
        "target": None,
        "met": None,
    }
    if target:
        on, op, value = target
        got = fig["median_ratio"] if on == "ratio" else fig["median"]["sknn_train"]
        fig["target"] = {"on": on, "op": op, "value": value}
        fig["met"] = bool(got <= value if op == "<=" else got >= value)
    return fig


def compare(runs, specs, sklearn_field=None):
    """The :func:`figure` of each spec ``(key, label, run, field, options)``: the values of
    ``field`` in ``runs[run]`` against those of ``sklearn_field`` (default the same field)
    in ``runs["sklearn"]``; ``options`` are ``figure``'s ``ratio`` and ``target``."""
    return [
        figure(
            key,
            label,
            [r[field] for r in runs[run]],
            [r[sklearn_field or field] for r in runs["sklearn"]],
            **options,
        )
        for key, label, run, field, options in specs
    ]


def print_figures(title, figures):
    print(f"\n{title}")
    print(f"{'figure':<44s}{'sknn_train':>11s}{'sklearn':>11s}{'ratio':>19s}{'range':>14s}")
    for f in figures:
        m = f["median"]
        span = f"{min(f['ratios']):.2f}-{max(f['ratios']):.2f}"
        print(
            f"{f['label']:<44s}{report.seconds(m['sknn_train']):>11s}"
            f"{report.seconds(m['sklearn']):>11s}{f['ratio']:>13s}{f['median_ratio']:6.2f}"
            f"{span:>14s}"
        )


def part(name, fn, *args):
    before = benchlib.loadavg()
    t0 = time.perf_counter()
    res = fn(*args)
    res.update(
        loadavg_before=before, loadavg_after=benchlib.loadavg(), wall_s=time.perf_counter() - t0
    )
    if before and res["loadavg_after"]:
        print(
            f"load average (1, 5, 15 min) before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
            "after " + " ".join(f"{v:.2f}" for v in res["loadavg_after"])
        )
    return name, res


def both(code, warm_env, **fields):
    """The two libraries' children of ``code``, formatted with ``module`` and ``fields``:
    sknn_train with the cache ``warm_env``, scikit-learn."""
    return {
        "sknn_train": lambda: run_child(code.format(module=SKNN, **fields), warm_env),
        "sklearn": lambda: run_child(code.format(module=SKL, **fields), SKL_ENV),
    }


def finish(title, runs, figures, **record):
    """Print a part's figures under ``title``; the part's record: ``record``, its runs and
    figures."""
    print_figures(title, figures)
    return {**record, "runs": runs, "figures": figures}


# The targets of figure() that parts share: sknn_train no slower than scikit-learn, or
# twice as fast.
NO_SLOWER = {"target": ("ratio", "<=", 1.0)}
TWICE_AS_FAST = {"ratio": "sklearn/sknn", "target": ("ratio", ">=", 2)}


# ---------------------------------------------------------------- part 1
def part_compile(args, caches):
    fit = {module: BX.COLD_CODE.format(module=module) for module in (SKNN, SKL)}
    tabular = (
        BX.COLD_CODE.format(module=SKNN)
        .replace(
            "from sknn_train import MLPClassifier",
            "from sknn_train import TabularMLPClassifier as MLPClassifier",
        )
        .replace(
            "MLPClassifier((100,), max_iter=5, random_state=0)", "MLPClassifier(random_state=0)"
        )
    )
    children = {
        "sknn_train_cold": lambda: caches.run_cold(fit[SKNN]),
        "sklearn": lambda: run_child(fit[SKL], SKL_ENV),
        "tabular_cold": lambda: caches.run_cold(tabular),
        "kernels_cold": lambda: caches.run_cold(KERNELS_CODE, keep_as_warm=True),
        "sknn_train_warm": lambda: run_child(fit[SKNN], caches.ensure_warm()),
    }
    if args.baseline:  # another checkout's first fit, interleaved with this one's
        children["baseline_cold"] = lambda: caches.run_cold(fit[SKNN], source=args.baseline)
    runs = benchlib.interleaved(children, args.repeats)
    first_fit = "imports + first float64 fit, "
    specs = [
        ("first_fit_cold", first_fit + "empty cache", "sknn_train_cold", "total_s", 4),
        (
            "tabular_cold",
            "imports + default Tabular fit, empty cache",
            "tabular_cold",
            "total_s",
            8,
        ),
        ("all_kernels_cold", "every kernel, both dtypes, empty cache", "kernels_cold", "warmup_s"),
        ("first_fit_warm", first_fit + "warm cache", "sknn_train_warm", "total_s"),
    ]
    if args.baseline:
        label = f"imports + first fit, empty cache, {Path(args.baseline).name}"
        specs.append(("baseline_first_fit_cold", label, "baseline_cold", "total_s"))
    figures = compare(
        runs,
        [
            (key, label, run, field, {"target": limit and ("sknn_train", "<=", limit[0])})
            for key, label, run, field, *limit in specs
        ],
        sklearn_field="total_s",
    )
    cold, warm = (
        median([r["fit_s"] for r in runs[k]]) for k in ("sknn_train_cold", "sknn_train_warm")
    )
    record = finish(
        f"[1] compile time: fresh processes, {args.repeats} repetitions; fit = "
        "MLPClassifier((100,), max_iter=5) on digits (TabularMLPClassifier() for the "
        "Tabular row), timed from the first import to the end of the fit; kernels: "
        f"{runs['kernels_cold'][0]['warmup_fn']}(), after the import; sklearn: its first fit",
        runs,
        figures,
        fit="MLPClassifier((100,), max_iter=5, random_state=0) on digits X/16, float64",
        tabular_fit="TabularMLPClassifier(random_state=0) on digits X/16, float64",
        baseline=args.baseline,
        compile_s_estimate=cold - warm,
    )
    print(f"compile time of the first fit (empty - warm cache): {cold - warm:.1f} s")
    return record


# ---------------------------------------------------------------- part 2
def part_grid(args, caches):
    max_iter = 5 if args.quick else 30
    warm_env = caches.ensure_warm()
    search = {
        m: SEARCH_CODE.format(
            module=m, search="GridSearchCV", max_iter=max_iter, grid=BX.GRID, options=""
        )
        for m in (SKNN, SKL)
    }
    runs = benchlib.interleaved(
        {
            "sknn_train_cold": lambda: caches.run_cold(search[SKNN]),
            "sklearn": lambda: run_child(search[SKL], SKL_ENV),
            "sknn_train_warm": lambda: run_child(search[SKNN], warm_env),
        },
        args.repeats,
    )
    cold, warm = "grid search, empty cache", "grid search, warm cache, first in process"
    specs = [
        ("grid_cold", cold, "sknn_train_cold", "search_s", {"target": ("ratio", "<=", 1.5)}),
        (
            "grid_warm_first",
            warm,
            "sknn_train_warm",
            "search_s",
            {"ratio": "sklearn/sknn", "target": ("ratio", ">=", 1.25)},
        ),
    ]
    return finish(
        f"[2] GridSearchCV 24 points x cv=3, n_jobs=2, digits, max_iter={max_iter}: "
        f"the search in a fresh process, {args.repeats} repetitions",
        runs,
        compare(runs, specs),
        points=24,
        cv=3,
        n_jobs=2,
        max_iter=max_iter,
        grid={
            k: [list(v) if isinstance(v, tuple) else v for v in vals] for k, vals in BX.GRID.items()
        },
    )


# ---------------------------------------------------------------- part 3
def part_process(args, caches):
    runs = benchlib.interleaved(both(PROCESS_CODE, caches.ensure_warm()), args.repeats)
    label = "python -c: import + fit, warm cache"
    target = {"target": ("ratio", "<=", 1.15)}
    return finish(
        f"[3] fresh process: import + MLPClassifier(random_state=0).fit on digits "
        f"(n_iter_ {runs['sknn_train'][0]['n_iter']} / {runs['sklearn'][0]['n_iter']}), "
        f"whole process, {args.repeats} repetitions",
        runs,
        compare(runs, [("fresh_process", label, "sknn_train", "process_wall_s", target)]),
        fit="MLPClassifier(random_state=0) on digits X/16, max_iter=200",
    )


# ---------------------------------------------------------------- part 4
def part_small(args, caches):
    children = both(SMALL_CODE, caches.ensure_warm(), calls=args.calls, passes=args.passes)
    runs = benchlib.interleaved(children, args.repeats)
    n_chunks = runs["sknn_train"][0]["chunks"]
    specs = [
        ("predict_1row", "one-row predict", "predict_s", NO_SLOWER),
        ("predict_proba_1row", "one-row predict_proba", "predict_proba_s", NO_SLOWER),
        (
            "partial_fit_pass",
            f"partial_fit, a pass over {n_chunks} chunks of 150",
            "partial_fit_pass_s",
            TWICE_AS_FAST,
        ),
    ]
    return finish(
        f"[4] small calls, one process per library and repetition: medians of "
        f"{args.calls} calls / {args.passes} passes, {args.repeats} repetitions",
        runs,
        compare(runs, [(key, label, "sknn_train", f, opts) for key, label, f, opts in specs]),
        model="MLPClassifier(max_iter=50, random_state=0) on digits X/16",
    )


# ---------------------------------------------------------------- part 5
def part_techniques(args, caches):
    max_iter, n_iter = (5, 4) if args.quick else (30, 12)
    code = {
        module: SEARCH_CODE.format(
            module=module,
            search="RandomizedSearchCV",
            max_iter=max_iter,
            grid=space,
            options=f", n_iter={n_iter}, random_state=0",
        )
        for module, space in ((SKNN, TECHNIQUES_SPACE), (SKL, SKLEARN_SPACE))
    }
    warm_env = caches.ensure_warm()
    runs = benchlib.interleaved(
        {
            "sknn_train_cold": lambda: caches.run_cold(code[SKNN]),
            "sklearn": lambda: run_child(code[SKL], SKL_ENV),
            "sknn_train_warm": lambda: run_child(code[SKNN], warm_env),
        },
        args.repeats,
    )
    specs = [
        ("techniques_cold", "search over the techniques, empty cache", "sknn_train_cold"),
        ("techniques_warm", "search over the techniques, warm cache", "sknn_train_warm"),
    ]
    return finish(
        f"[5] RandomizedSearchCV, {n_iter} points over dropout, weight_decay, label_smoothing "
        f"and lr_schedule x cv=3, n_jobs=2, digits, max_iter={max_iter}, in a fresh process, "
        f"{args.repeats} repetitions; sklearn: {n_iter} points of its own parameters",
        runs,
        compare(runs, [(key, label, run, "search_s", {}) for key, label, run in specs]),
        space=TECHNIQUES_SPACE,
        sklearn_space=SKLEARN_SPACE,
        n_iter=n_iter,
        cv=3,
        n_jobs=2,
        max_iter=max_iter,
    )


# ---------------------------------------------------------------- main
def print_targets(results):
    rows = report.firstuse_targets(results)
    if not rows:
        return
    width = max(len(t) for t, _, _ in rows)
    print(f"\n{'target':<{width}s}  met  measured")
    for target, measured, ok in rows:
        print(f"{target:<{width}s}  {'yes' if ok else 'NO ':3s}  {measured}")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="First use of sknn_train against scikit-learn: compile time, first "
        "searches, fresh processes, small calls (fresh subprocesses)."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 repetition, max_iter=5 searches, fewer calls",
    )
    benchlib.add_repeats(parser, "interleaved repetitions per figure (default 3; 1 with --quick)")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        metavar="N",
        help="parts to run (default all: 1 2 3 4 5)",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="DIR",
        help="part 1 also times the first fit of the sknn_train in DIR (a checkout or "
        "a snapshot of another commit, the directory holding sknn_train/), interleaved",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=None,
        help="one-row calls per timing in part 4 (default 2000; 300 with --quick)",
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=None,
        help="partial_fit passes per timing in part 4 (default 20; 5 with --quick)",
    )
    benchlib.add_out(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    benchlib.quick_defaults(args, repeats=(3, 1), calls=(2000, 300), passes=(20, 5))
    benchlib.at_least_one(parser, args, "repeats", "calls", "passes")
    if not CACHE:
        parser.error("this benchmark measures numba's cache: unset SKNN_TRAIN_NO_CACHE")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    source = benchlib.package_source()  # before anything runs: the code the children import
    runners = {
        "1": ("compile", part_compile),
        "2": ("gridsearch", part_grid),
        "3": ("fresh_process", part_process),
        "4": ("small_calls", part_small),
        "5": ("techniques_search", part_techniques),
    }
    results = {
        "settings": {
            "quick": args.quick,
            "repeats": args.repeats,
            "parts": args.parts,
            "calls": args.calls,
            "passes": args.passes,
            "argv": benchlib.argv_record(argv),
        }
    }
    caches = Caches()
    t_start = time.perf_counter()
    try:
        for key in sorted(args.parts):
            name, fn = runners[key]
            name, res = part(name, fn, args, caches)
            results[name] = res
        results["warm_cache"] = caches.warm_record
    finally:
        caches.close()
    results.update(total_s=time.perf_counter() - t_start, environment=benchlib.environment(source))
    print_targets(results)
    benchlib.write_json(args.out, results, indent=1, default=float)
    print(f"\n{results['total_s']:.0f} s in all; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
