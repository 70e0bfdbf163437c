"""Cost of ``n_ensemble``: K members in one pass against K separate fits.

Run from the repository root::

    python benchmarks/bench_ensemble.py              # K = 4, 8, 32
    python benchmarks/bench_ensemble.py --quick      # K = 4 only, fewer repeats

Data: scikit-learn's digits (X / 16, 1,797 x 64, 10 classes); network
``--hidden`` (default 64), adam, batch ``--batch`` (default 64), ``--epochs``
epochs, float64, ``shuffle=True``. For each K, interleaved ``--repeats``
times (medians reported):

- ``ensemble``: one ``MLPClassifier(n_ensemble=K)`` fit;
- ``batch``: one ``MLPClassifier(n_ensemble=K, ensemble='batch')`` fit;
- ``separate``: K ``MLPClassifier`` fits, one after the other;
- ``voting``: scikit-learn's ``VotingClassifier`` of K scikit-learn
  ``MLPClassifier`` (soft voting, ``n_jobs=None``): what a user writes today.

Ratios ``ensemble / separate`` and ``ensemble / voting`` < 1 mean the one-pass
ensemble is cheaper. JSON (``--out``, default
``benchmarks/results/bench_ensemble.json``) with the load and
``bench_epoch.py``'s environment record (versions, the code's commit,
``threadpoolctl.threadpool_info()``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.ensemble import VotingClassifier
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
import bench_epoch  # noqa: E402  (its environment record)

from sknn_train import MLPClassifier  # noqa: E402


def _timed(fit, *args):
    """Seconds of ``fit(*args)``, warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        fit(*args)
        return time.perf_counter() - start


def _separate(k, kw, X, y):
    return [MLPClassifier(random_state=i, **kw).fit(X, y) for i in range(k)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[4, 8, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/bench_ensemble.json")
    args = parser.parse_args()
    if args.quick:
        args.ks, args.repeats = [4], 1
    source = bench_epoch.package_source()  # before anything runs: the code imported
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    kw = dict(hidden_layer_sizes=(args.hidden,), batch_size=args.batch, max_iter=args.epochs)
    # compile / load the kernels outside the timings
    _timed(MLPClassifier(n_ensemble=2, max_iter=1).fit, X, y)
    load_before = os.getloadavg()
    results = {}
    for k in args.ks:
        runs = {"ensemble": [], "batch": [], "separate": [], "voting": []}
        for _ in range(args.repeats):
            ensemble = MLPClassifier(n_ensemble=k, random_state=0, **kw)
            runs["ensemble"].append(_timed(ensemble.fit, X, y))
            batch = MLPClassifier(n_ensemble=k, ensemble="batch", random_state=0, **kw)
            runs["batch"].append(_timed(batch.fit, X, y))
            runs["separate"].append(_timed(_separate, k, kw, X, y))
            voting = VotingClassifier(
                [(str(i), SkMLPClassifier(random_state=i, **kw)) for i in range(k)],
                voting="soft",
            )
            runs["voting"].append(_timed(voting.fit, X, y))
        med = {name: statistics.median(times) for name, times in runs.items()}
        results[str(k)] = {
            "median_s": med,
            "ensemble_over_separate": med["ensemble"] / med["separate"],
            "ensemble_over_voting": med["ensemble"] / med["voting"],
            "batch_over_separate": med["batch"] / med["separate"],
            "runs_s": runs,
        }
        print(
            f"K={k:3d}: ensemble {med['ensemble']:.2f} s, {k} separate fits "
            f"{med['separate']:.2f} s (ratio {med['ensemble'] / med['separate']:.2f}), "
            f"batch form {med['batch']:.2f} s, "
            f"VotingClassifier of sklearn MLPs {med['voting']:.2f} s "
            f"(ratio {med['ensemble'] / med['voting']:.2f})"
        )
    record = {
        "what": __doc__.splitlines()[0],
        "settings": vars(args),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "results": results,
        "environment": bench_epoch.environment(source),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
