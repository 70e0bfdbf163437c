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
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLP

    from . import MLPClassifier
    from ._jit import warmup

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    print(f"digits: {X_train.shape[0]} train / {X_test.shape[0]} test rows, "
          f"{X.shape[1]} features, 10 classes")

    t0 = time.perf_counter()
    warmup()
    print(f"kernels ready in {time.perf_counter() - t0:.2f} s "
          "(compiled on the first run, loaded from the cache afterwards)")

    params = dict(hidden_layer_sizes=(100,), max_iter=args.epochs, random_state=0)
    rows = []
    for name, cls in (("sknn_train", MLPClassifier), ("scikit-learn", SkMLP)):
        times = []
        for _ in range(args.repeats):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                clf = cls(**params).fit(X_train, y_train)
                times.append(time.perf_counter() - t0)
        fit_time = float(np.median(times))
        rows.append((name, clf.score(X_test, y_test), fit_time, fit_time / clf.n_iter_))
    print(f"\nMLPClassifier(hidden_layer_sizes=(100,), max_iter={args.epochs}), "
          f"median of {args.repeats} fits")
    print(f"{'':14s}{'accuracy':>10s}{'fit [s]':>10s}{'ms/epoch':>10s}")
    for name, acc, fit_time, per_epoch in rows:
        print(f"{name:14s}{acc:10.4f}{fit_time:10.3f}{1e3 * per_epoch:10.2f}")
    print(f"\nspeed-up: {rows[1][2] / rows[0][2]:.1f}x faster than scikit-learn's MLP")
    return 0


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
    demo.add_argument("--epochs", type=int, default=50, help="epochs per fit (default 50)")
    demo.add_argument("--repeats", type=int, default=3, help="fits per library (default 3)")
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="versions, BLAS, threads and the numba cache")
    info.set_defaults(func=_info)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    for name in ("epochs", "repeats"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be at least 1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
