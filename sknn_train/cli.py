"""The ``sknn-train`` command line."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from . import __version__

# Where ``sknn-train bench`` writes when no --out is given: a placeholder, replaced by a
# fresh temporary folder (never the committed benchmarks/results/ of the checkout).
_FRESH_TMP_OUT = Path("<fresh temporary folder>") / "bench_epoch.json"


def _compare_scores(a: float, b: float) -> str:
    """``'0.9733 vs 0.9711 (differs by 0.0022)'``, or ``'(identical)'`` only when a == b."""
    digits = 4  # more digits where 4 would print two different scores alike
    while a != b and f"{a:.{digits}f}" == f"{b:.{digits}f}" and digits < 17:
        digits += 1
    text = f"{a:.{digits}f} vs {b:.{digits}f}"
    if a == b:
        return f"{text} (identical)"
    return f"{text} (differs by {abs(a - b):.{digits}f})"


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
    from ._warmup import warmup

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    print(
        "sknn-train demo: sknn_train's MLPClassifier next to scikit-learn's, on the digits "
        f"images bundled with scikit-learn ({X_train.shape[0]} train / {X_test.shape[0]} test "
        f"rows, {X.shape[1]} features, 10 classes)"
    )
    # the first run in an environment compiles (and says so), later runs load
    t0 = time.perf_counter()
    warmup(["float64"])
    print(f"numba kernels ready in {time.perf_counter() - t0:.1f} s")

    # 1. the same network, same settings, both libraries, interleaved
    params = dict(hidden_layer_sizes=(100,), max_iter=args.epochs, random_state=0)
    times: dict[str, list[float]] = {"sknn_train": [], "scikit-learn": []}
    scores = {}
    Xs_train = X_train / 16.0
    Xs_test = X_test / 16.0
    for _ in range(args.repeats):
        for name, cls in (("sknn_train", MLPClassifier), ("scikit-learn", SkMLP)):
            t0 = time.perf_counter()
            clf = cls(**params).fit(Xs_train, y_train)
            times[name].append((time.perf_counter() - t0) / clf.n_iter_)
            scores[name] = clf.score(Xs_test, y_test)
    print(
        f"\n1. The same network fitted by both libraries: MLPClassifier(hidden_layer_sizes="
        f"(100,), max_iter={args.epochs}, random_state=0) on pixels / 16, {args.repeats} "
        "interleaved fit(s) each"
    )
    print(f"   {'':14s}{'test accuracy':>14s}{'ms / epoch':>12s}")
    for name in times:
        print(f"   {name:14s}{scores[name]:14.4f}{1e3 * np.median(times[name]):12.2f}")
    speedup = np.median(times["scikit-learn"]) / np.median(times["sknn_train"])
    faster = f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"
    print(f"   time per epoch (median): sknn_train {faster} than scikit-learn")
    print(
        "   test accuracy, sknn_train vs scikit-learn: "
        + _compare_scores(scores["sknn_train"], scores["scikit-learn"])
    )

    # 2. what sknn_train adds: the lecture's techniques as grid-searchable parameters
    mlp = MLPClassifier(hidden_layer_sizes=(64, 32, 64), max_iter=args.epochs, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)])
    grid = {
        "mlp__dropout": [0.0, 0.2],
        "mlp__residual": [False, True],
        "mlp__max_grad_norm": [None, 1.0],
    }
    t0 = time.perf_counter()
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    elapsed = time.perf_counter() - t0
    print(
        f"\n2. What sknn_train adds: GridSearchCV(scale + MLPClassifier(64, 32, 64)) over "
        f"dropout x residual x max_grad_norm: {len(search.cv_results_['params'])} settings "
        f"x 3 folds in {elapsed:.1f} s"
    )
    print(f"   {'dropout':>8s}{'residual':>10s}{'max_grad_norm':>15s}{'cv accuracy':>13s}")
    order = np.argsort(search.cv_results_["rank_test_score"])
    for i in order:
        p = search.cv_results_["params"][i]
        print(
            f"   {p['mlp__dropout']:8.1f}{str(p['mlp__residual']):>10s}"
            f"{str(p['mlp__max_grad_norm']):>15s}"
            f"{search.cv_results_['mean_test_score'][i]:13.4f}"
        )
    print(f"   best on the test set: {search.score(X_test, y_test):.4f}")
    return 0


def _benchmarks_dir() -> Path | None:
    """``benchmarks/`` of the source checkout this package runs from, or None.

    An editable install (``pip install -e .``) runs the package from its checkout, next to
    ``benchmarks/``; a wheel install has only the package, so the benchmarks are not there.
    """
    root = Path(__file__).resolve().parents[1]
    needed = ("pyproject.toml", "benchmarks/bench_epoch.py", "benchmarks/plot_results.py")
    return root / "benchmarks" if all((root / f).is_file() for f in needed) else None


def _load_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` of the checkout (not a package: loaded by path)."""
    import importlib.util

    folder = _benchmarks_dir()
    if folder is None:
        raise FileNotFoundError("the benchmarks are part of a source checkout, not of the package")
    path = folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"sknn_bench_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the benchmark {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _prog(name: str):
    """Let an argparse parser built inside show ``name`` as the program in its usage."""
    saved = sys.argv[:1]
    sys.argv[:1] = [name]
    try:
        yield
    finally:
        sys.argv[:1] = saved


def _bench(bench_argv: list[str]) -> int:
    import tempfile

    bench = _load_benchmark("bench_epoch")
    # The script's own default is the committed benchmarks/results/; from here it is a fresh
    # temporary folder (shown so in --help). The placeholder is passed first, so a --out of
    # the user's, in any spelling argparse accepts, comes later and wins.
    bench.DEFAULT_OUT = _FRESH_TMP_OUT
    with _prog("sknn-train bench"):  # --help and usage errors exit here, before any run
        out = bench.parse_args(["--out", str(_FRESH_TMP_OUT), *bench_argv]).out
    if out == _FRESH_TMP_OUT:
        out = Path(tempfile.mkdtemp(prefix="sknn-train-bench-")) / _FRESH_TMP_OUT.name
        print(
            f"sknn-train bench: results go to {out.parent} (a fresh temporary folder; "
            "--out FILE to choose)",
            flush=True,
        )
    status = int(bench.main(["--out", str(out), *bench_argv]) or 0)
    if status == 0:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print('plot: skipped, matplotlib is not installed (pip install -e ".[bench]")')
        else:
            print(f"plot: {_load_benchmark('plot_results').plot(out)}")
    return status


def _info(args) -> int:
    import platform

    import numba
    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    from ._jit import cache_info

    print(f"sknn_train {__version__}")
    print(
        f"python {platform.python_version()}, numpy {numpy.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"numba {numba.__version__}"
    )
    for lib in threadpool_info():
        print(
            f"{lib['user_api']}: {lib['internal_api']} {lib.get('version')} "
            f"({lib.get('architecture')}), {lib['num_threads']} threads, {lib['filepath']}"
        )
    # on, source-stamped, where and how many; or off, and why
    print(cache_info())
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    benchmarks = _benchmarks_dir()
    parser = argparse.ArgumentParser(
        prog="sknn-train",
        description="Drop-in scikit-learn MLPs trained by numba-compiled kernels.",
    )
    parser.add_argument("--version", action="version", version=f"sknn_train {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="fit on the digits data set next to scikit-learn's MLP")
    demo.add_argument("--epochs", type=int, default=40, help="epochs per fit (default 40)")
    demo.add_argument("--repeats", type=int, default=3, help="fits per library (default 3)")
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="versions, BLAS, threads and the numba cache")
    info.set_defaults(func=_info)
    if benchmarks is not None:  # only offered where the benchmarks are: a source checkout
        # No options of its own: everything after 'bench' goes to bench_epoch.py's parser,
        # so 'sknn-train bench --help' shows that script's options.
        sub.add_parser(
            "bench",
            add_help=False,
            help="time sknn_train against scikit-learn (benchmarks/bench_epoch.py; JSON + "
            "PNG into a fresh temporary folder or --out)",
        )
    elif next((a for a in argv if not a.startswith("-")), None) == "bench":
        print(
            "sknn-train: error: 'bench' runs benchmarks/bench_epoch.py of a source checkout, "
            f"and this installation ({Path(__file__).resolve().parent}) has none: clone the "
            "repository and run it there after pip install -e .",
            file=sys.stderr,
        )
        return 1
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        return _bench(extra[1:] if extra[:1] == ["--"] else extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    for name in ("epochs", "repeats"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be at least 1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
