"""Warm fit time of two revisions of sknn_train, interleaved: did a change slow training?

Run from the repository root, with a snapshot of the revision to compare against::

    snap=$(mktemp -d) && git archive <rev> sknn_train | tar -x -C "$snap"
    python benchmarks/bench_revisions.py --before "$snap"            # configs 1 3 5 + Tabular
    python benchmarks/bench_revisions.py --before "$snap" --repeats 7

Each repetition runs one fresh process per revision, in alternating order (who
goes first rotates): the process imports its revision (``--before DIR``, or
the sknn_train this script imports for "after"), compiles or loads its
kernels with an untimed fit of every case, then times one fit of each case:
``bench_epoch.py``'s configurations (``--configs``, default 1, 3 and 5: fixed
epochs, ``tol=0``) and a default ``TabularMLPClassifier(random_state=0)`` on
digits (``tabular``). Each revision has its own numba cache directory, kept
across repetitions, so only the first process of each compiles. The figures
are the medians of each case's per-repetition ratios after / before (< 1:
the change is faster); the issue's tolerance is 5%.

The JSON (``--out``, default ``benchmarks/results/bench_revisions.json``) holds
every child's times, the ratios, the medians, the load averages before and
after and the environment record (``benchlib.environment``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import sknn_train

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import benchlib  # noqa: E402
from benchlib import median, run_child  # noqa: E402

DEFAULT_OUT = HERE / "results" / "bench_revisions.json"

CHILD_CODE = textwrap.dedent("""
    import json, time, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    import bench_epoch as BE
    import sknn_train
    from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier

    def case(key):
        if key == "tabular":
            X, y = BE.load_digits(return_X_y=True)
            return lambda: TabularMLPClassifier(random_state=0).fit(X / 16.0, y)
        cfg = next(c for c in BE.CONFIGS if c.key == key)
        X_train, _, y_train, _ = BE.load(cfg, {quick})
        Est = MLPRegressor if cfg.regression else MLPClassifier
        params = dict(cfg.params, max_iter=cfg.epochs, tol=0.0, n_iter_no_change=10**9,
                      random_state=0)
        return lambda: Est(**params).fit(X_train, y_train)

    fits = {{key: case(key) for key in {cases!r}}}
    for fit in fits.values():  # compile or load the kernels, untimed
        fit()
    out = {{}}
    for key, fit in fits.items():
        t0 = time.perf_counter()
        fit()
        out[key] = time.perf_counter() - t0
    out["source"] = sknn_train.__file__
    print(json.dumps(out))
""")


def child_env(source: Path, cache: Path) -> dict:
    path = os.pathsep.join([str(source), str(HERE)])
    return {
        "PYTHONPATH": path,
        "PYTHONSAFEPATH": "1",
        "PYTHONWARNINGS": "ignore",
        "NUMBA_CACHE_DIR": str(cache),
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--before", required=True, type=Path, help="directory holding the sknn_train to compare"
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["1", "3", "5"],
        help="bench_epoch.py configurations (default 1 3 5)",
    )
    parser.add_argument(
        "--no-tabular", action="store_true", help="leave out the default Tabular fit"
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: fewer rows, 1 repeat")
    benchlib.add_repeats(parser, "interleaved repetitions (default 5; 1 with --quick)")
    benchlib.add_out(parser, DEFAULT_OUT)
    return benchlib.parse(parser, argv, repeats=(5, 1))


def main(argv=None) -> int:
    args = parse_args(argv)
    source = benchlib.package_source()
    cases = [*args.configs, *([] if args.no_tabular else ["tabular"])]
    code = CHILD_CODE.format(cases=cases, quick=args.quick)
    after = Path(sknn_train.__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="sknn-revisions-") as root:
        envs = {
            name: child_env(tree, Path(root) / name)
            for name, tree in (("before", args.before.resolve()), ("after", after))
        }
        load_before = benchlib.loadavg()
        t0 = time.perf_counter()
        runs = benchlib.interleaved(
            {name: (lambda env=env: run_child(code, env)) for name, env in envs.items()},
            args.repeats,
        )
        wall = time.perf_counter() - t0
    figures = {}
    print(f"{'case':<10s}{'before':>10s}{'after':>10s}{'after/before':>14s}{'range':>14s}")
    for key in cases:
        before = [r[key] for r in runs["before"]]
        after_s = [r[key] for r in runs["after"]]
        ratios = benchlib.ratios(after_s, before)
        figures[key] = {
            "before_s": before,
            "after_s": after_s,
            "ratios": ratios,
            "median_ratio": median(ratios),
            "median_before_s": median(before),
            "median_after_s": median(after_s),
        }
        print(
            f"{key:<10s}{median(before):>9.3f}s{median(after_s):>9.3f}s"
            f"{median(ratios):>14.3f}{min(ratios):>8.3f}-{max(ratios):.3f}"
        )
    record = _record(args, argv, cases, runs, figures, load_before, wall, source)
    benchlib.write_json(args.out, record, default=float)
    print(f"written to {args.out}")
    return 0


def _record(args, argv, cases, runs, figures, load_before, wall, source):
    """The JSON record of a run."""
    return {
        "settings": {
            "before": str(args.before),
            "cases": cases,
            "repeats": args.repeats,
            "quick": args.quick,
            "argv": benchlib.argv_record(argv),
        },
        "runs": runs,
        "figures": figures,
        "loadavg_before": load_before,
        "loadavg_after": benchlib.loadavg(),
        "wall_s": wall,
        "environment": benchlib.environment(source),
    }


if __name__ == "__main__":
    sys.exit(main())
