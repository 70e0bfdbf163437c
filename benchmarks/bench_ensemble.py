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
the timing benchmarks' environment record (``benchlib.environment``: versions,
the code's commit, ``threadpoolctl.threadpool_info()``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.ensemble import VotingClassifier
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
import benchlib  # noqa: E402  (environment record, load, timing, interleaving)

# torch_loop imports torch (where installed) before anything runs, as bench_epoch.py did
# when this script took its environment record from there.
import torch_loop  # noqa: E402, F401

from sknn_train import MLPClassifier  # noqa: E402


def _timed(fit, *args):
    """Seconds of ``fit(*args)``, every warning silenced."""
    return benchlib.timed(fit, *args, ignore=Warning)[0]


def _separate(k, kw, X, y):
    return [MLPClassifier(random_state=i, **kw).fit(X, y) for i in range(k)]


def _voting(k, kw):
    """scikit-learn's soft-voting ensemble of K of its MLPs (``n_jobs=None``)."""
    members = [(str(i), SkMLPClassifier(random_state=i, **kw)) for i in range(k)]
    return VotingClassifier(members, voting="soft")


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
    source = benchlib.package_source()  # before anything runs: the code imported
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    kw = dict(hidden_layer_sizes=(args.hidden,), batch_size=args.batch, max_iter=args.epochs)
    # compile / load the kernels outside the timings
    _timed(MLPClassifier(n_ensemble=2, max_iter=1).fit, X, y)
    load_before = benchlib.loadavg()
    results = {}

    def fits(k):
        """The four ways of fitting K networks, each timed by a call."""
        return {
            "ensemble": lambda: _timed(MLPClassifier(n_ensemble=k, random_state=0, **kw).fit, X, y),
            "batch": lambda: _timed(
                MLPClassifier(n_ensemble=k, ensemble="batch", random_state=0, **kw).fit, X, y
            ),
            "separate": lambda: _timed(_separate, k, kw, X, y),
            "voting": lambda: _timed(_voting(k, kw).fit, X, y),
        }

    for k in args.ks:
        runs = benchlib.interleaved(fits(k), args.repeats)
        med = benchlib.medians(runs)
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
        "loadavg_after": benchlib.loadavg(),
        "results": results,
        "environment": benchlib.environment(source),
    }
    out = Path(args.out)
    benchlib.write_json(out, record, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
