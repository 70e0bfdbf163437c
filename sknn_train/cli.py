"""The ``sknn-train`` command line."""

from __future__ import annotations

import argparse
import sys
import time


def _demo(args) -> int:
    import warnings

    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from . import MLPClassifier
    from ._jit import warmup

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    print(f"digits (bundled with scikit-learn): {X_train.shape[0]} train / "
          f"{X_test.shape[0]} test rows, {X.shape[1]} features, 10 classes")

    t0 = time.perf_counter()
    warmup()
    print(f"kernels ready in {time.perf_counter() - t0:.1f} s "
          "(compiled on the first run, loaded from the cache afterwards)")

    # 1. the same network, same settings, both libraries, interleaved
    params = dict(hidden_layer_sizes=(100,), max_iter=args.epochs, random_state=0)
    times = {"sknn_train": [], "scikit-learn": []}
    scores = {}
    Xs_train = X_train / 16.0
    Xs_test = X_test / 16.0
    for _ in range(args.repeats):
        for name, cls in (("sknn_train", MLPClassifier), ("scikit-learn", SkMLP)):
            t0 = time.perf_counter()
            clf = cls(**params).fit(Xs_train, y_train)
            times[name].append((time.perf_counter() - t0) / clf.n_iter_)
            scores[name] = clf.score(Xs_test, y_test)
    print(f"\n1. MLPClassifier(hidden_layer_sizes=(100,), max_iter={args.epochs}), "
          f"median of {args.repeats} fits each")
    print(f"   {'':14s}{'test accuracy':>14s}{'ms / epoch':>12s}")
    for name in times:
        print(f"   {name:14s}{scores[name]:14.4f}{1e3 * np.median(times[name]):12.2f}")
    speedup = np.median(times["scikit-learn"]) / np.median(times["sknn_train"])
    print(f"   sknn_train is {speedup:.1f}x faster per epoch, same accuracy")

    # 2. what sknn_train adds: the lecture's techniques as grid-searchable parameters
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("mlp", MLPClassifier(hidden_layer_sizes=(64, 32, 64), max_iter=args.epochs,
                              random_state=0)),
    ])
    grid = {
        "mlp__dropout": [0.0, 0.2],
        "mlp__residual": [False, True],
        "mlp__max_grad_norm": [None, 1.0],
    }
    t0 = time.perf_counter()
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    elapsed = time.perf_counter() - t0
    print(f"\n2. GridSearchCV(scale + MLPClassifier(64, 32, 64)) over dropout x residual x "
          f"max_grad_norm: {len(search.cv_results_['params'])} settings x 3 folds in "
          f"{elapsed:.1f} s")
    print(f"   {'dropout':>8s}{'residual':>10s}{'max_grad_norm':>15s}{'cv accuracy':>13s}")
    order = np.argsort(search.cv_results_["rank_test_score"])
    for i in order:
        p = search.cv_results_["params"][i]
        print(f"   {p['mlp__dropout']:8.1f}{str(p['mlp__residual']):>10s}"
              f"{str(p['mlp__max_grad_norm']):>15s}"
              f"{search.cv_results_['mean_test_score'][i]:13.4f}")
    print(f"   best on the test set: {search.score(X_test, y_test):.4f}")
    return 0


def _bench(args) -> int:
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_epoch.py"
    if not path.exists():
        raise _CliError(
            f"the benchmark suite is not next to this installation ({path} is missing); "
            "run it from a source checkout installed with pip install -e ."
        )
    def load(name, file):
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module

    status = int(load("sknn_bench_epoch", path).main(args.bench_args) or 0)
    if status == 0 and not {"-h", "--help"} & set(args.bench_args):
        out = path.parent / "results" / "bench_epoch.json"
        if "--out" in args.bench_args:
            out = pathlib.Path(args.bench_args[args.bench_args.index("--out") + 1])
        png = load("sknn_bench_plot", path.parent / "plot_results.py").plot(out)
        print(f"plot: {png}")
    return status


class _CliError(Exception):
    """An error reported as one line on stderr with exit status 1."""


def _info(args) -> int:
    import platform

    import numba
    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    from . import __version__
    from ._jit import CACHE, cache_status

    print(f"sknn_train {__version__}")
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, "
          f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
          f"numba {numba.__version__}")
    for lib in threadpool_info():
        print(f"{lib['user_api']}: {lib['internal_api']} {lib.get('version')} "
              f"({lib.get('architecture')}), {lib['num_threads']} threads, {lib['filepath']}")
    where, n_files = cache_status()
    print(f"numba cache: {'on' if CACHE else 'off (SKNN_TRAIN_NO_CACHE)'}, {where}, "
          f"{'warm' if n_files else 'cold'} ({n_files} index files)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="sknn-train",
        description="Drop-in scikit-learn MLPs trained by numba-compiled kernels.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="fit on the digits data set next to scikit-learn's MLP")
    demo.add_argument("--epochs", type=int, default=40, help="epochs per fit (default 40)")
    demo.add_argument("--repeats", type=int, default=3, help="fits per library (default 3)")
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="versions, BLAS, threads and the numba cache")
    info.set_defaults(func=_info)
    bench = sub.add_parser(
        "bench", help="run the benchmark suite against scikit-learn (JSON + PNG)",
        description="Run benchmarks/bench_epoch.py; arguments after 'bench' are passed "
        "on (see 'sknn-train bench -- --help').",
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER,
                       help="arguments of benchmarks/bench_epoch.py")
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    if getattr(args, "bench_args", None) and args.bench_args[0] == "--":
        args.bench_args = args.bench_args[1:]
    if args.command is None:
        parser.print_help()
        return 2
    for name in ("epochs", "repeats"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be at least 1")
    try:
        return args.func(args)
    except _CliError as exc:
        print(f"sknn-train: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
