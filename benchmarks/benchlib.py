"""What the benchmark scripts share: the environment record, timing, interleaving, output.

Every script of ``benchmarks/`` imports this module as ``benchlib``: run as
``python benchmarks/<script>.py`` the folder is first on ``sys.path``, and a
script loaded by path (the tests, ``sknn-train bench``) puts it there before
importing. Only the standard library is imported at module level (``report.py``
needs no more than the README markers); numpy, scikit-learn, sknn_train and the
optional PyTorch loop are imported by the functions that use them.

* environment: :func:`package_source` (where ``sknn_train`` came from, its
  commit), :func:`environment` (versions, BLAS via ``threadpoolctl``, CPU,
  environment variables), :func:`loadavg`;
* timing: :class:`OtherLoad` (the share of the machine other processes used),
  :func:`thread_limits`, :func:`timed`, :func:`run_child` (a fresh process),
  :func:`median` / :func:`medians` / :func:`ratios` over repetitions;
* interleaving: :func:`interleave` / :func:`interleaved` (systems take turns,
  A, B, A, B, ...) and :func:`rotation` (who goes first rotates);
* output: the command-line options every script has (:func:`add_out`,
  :func:`add_repeats`, :func:`quick_defaults`, :func:`at_least_one`,
  :func:`argv_record`),
  :func:`write_json`, and :func:`replace_between` for the blocks between
  ``<!-- name:start -->`` / ``<!-- name:end -->`` markers of the README.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: A fit during which other processes used more than this share of the machine's
#: CPU time is "busy" (see :class:`OtherLoad`).
BUSY = 0.10

#: Environment variables that change how the libraries run, recorded where set.
ENV_VARS = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "SKNN_TRAIN_NO_CACHE",
)


# ------------------------------------------------------------------ environment
def package_source() -> dict:
    """Where ``sknn_train`` was imported from and, if a git checkout, its commit.

    Call it before anything runs: it records the code this process imported.
    """
    import sknn_train

    where = Path(sknn_train.__file__).resolve().parent
    info = {"path": str(where), "git_commit": None, "git_dirty": None}
    try:

        def git(*cmd):
            return subprocess.run(
                ["git", *cmd], cwd=where, capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()

        info["git_commit"] = git("rev-parse", "HEAD")
        info["git_dirty"] = bool(git("status", "--porcelain", "--", "."))
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def installed_versions(names) -> dict:
    """The installed version of each distribution in ``names`` (None where it is not)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment(source: dict, versions=None) -> dict:
    """The machine and the software a run used, for its JSON file.

    Always: the time (UTC), Python, sknn_train's version and ``source`` (from
    :func:`package_source`), the core count, platform and machine,
    ``threadpoolctl.threadpool_info()`` (which BLAS / OpenMP libraries, kernels
    and thread counts), torch's thread count (None without torch) and the
    variables of :data:`ENV_VARS` that are set.

    ``versions`` None (the timing benchmarks' record): numpy, scipy,
    scikit-learn and numba's versions as fields of their own, the processor and
    ``torch`` (its version, None without it). Distribution names instead (the
    accuracy benchmark's record): their versions under ``versions``.
    """
    import torch_loop  # torch, where installed, is loaded before threadpool_info() looks
    from threadpoolctl import threadpool_info

    import sknn_train

    record = {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "python": platform.python_version(),
        "sknn_train": sknn_train.__version__,
        "sknn_train_source": source,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "threadpool_info": threadpool_info(),
        "torch_threads": torch_loop.torch.get_num_threads() if torch_loop.available() else None,
        "env": {k: os.environ[k] for k in ENV_VARS if k in os.environ},
    }
    if versions is not None:
        record["versions"] = installed_versions(versions)
        return record
    import numba
    import numpy
    import scipy
    import sklearn

    record.update(
        {
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "numba": numba.__version__,
            "processor": platform.processor(),
            "torch": torch_loop.version(),
        }
    )
    return record


def loadavg() -> list[float] | None:
    """``os.getloadavg()`` (1, 5 and 15 minutes) as a list; None where there is none."""
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


# ------------------------------------------------------------------ timing
class OtherLoad:
    """Share of the machine's CPU time used by *other* processes over an interval.

    Busy time of all CPUs (``/proc/stat``, steal included) minus this process's
    own CPU time, divided by wall time x number of CPUs: 0 on an otherwise idle
    machine, 0.5 when other processes kept one of two cores busy. Both counters
    advance in clock ticks (10 ms), so a discrepancy of up to ``SLACK_TICKS`` is
    not counted: without that, fits of a few tens of milliseconds read as busy on
    an idle machine. ``None`` where ``/proc/stat`` is not available.
    """

    SLACK_TICKS = 3

    _TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self):
        self.start = self._sample()

    @classmethod
    def _sample(cls):
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal [guest guest_nice]
        busy = sum(fields[:8]) - fields[3] - fields[4]
        own = os.times()
        return busy / cls._TICK, own.user + own.system, time.perf_counter()

    def share(self):
        end = self._sample()
        if self.start is None or end is None:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start, strict=True))
        other = max(0.0, busy - own - self.SLACK_TICKS / self._TICK)
        return other / max(wall * (os.cpu_count() or 1), 1e-9)


def thread_limits(threads: int | None, user_api: str | None = None):
    """Thread pools (``user_api`` "blas" or "openmp"; None: both) limited to ``threads``
    by threadpoolctl; unchanged (the process's own) where ``threads`` is None."""
    if not threads:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads, user_api=user_api)


def timed(fn: Callable[..., T], *args, ignore: type[Warning] | None = None) -> tuple[float, T]:
    """``(seconds, result)`` of ``fn(*args)`` (``time.perf_counter``).

    The garbage is collected first, outside the timing, and warnings of the
    category ``ignore`` (default scikit-learn's ``ConvergenceWarning``) are
    silenced during the call.
    """
    if ignore is None:
        from sklearn.exceptions import ConvergenceWarning

        ignore = ConvergenceWarning
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ignore)
        t0 = time.perf_counter()
        out = fn(*args)
        return time.perf_counter() - t0, out


def run_child(code: str, env_extra: dict | None = None) -> dict:
    """Run ``code`` in a fresh ``python -c`` process; its last output line, as JSON.

    The process's environment is this one's with ``env_extra`` on top; the
    record gets ``process_wall_s``, the whole process's wall time measured from
    here. A failing child raises ``CalledProcessError`` after its error output
    (the last 4,000 characters) is written to stderr.
    """
    env = dict(os.environ, **(env_extra or {}))
    t0 = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(exc.stderr[-4000:])
        raise
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    rec["process_wall_s"] = time.perf_counter() - t0
    return rec


median = statistics.median


def medians(runs: Mapping[str, list]) -> dict:
    """The median of every list in ``runs``, by the same keys."""
    return {name: statistics.median(values) for name, values in runs.items()}


def ratios(numerators, denominators) -> list[float]:
    """Per repetition, ``numerators[i] / denominators[i]`` (paired, equal lengths)."""
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


# ------------------------------------------------------------------ interleaving
def interleave(
    systems: Mapping[str, Callable[[], T]], repeats: int | None = None
) -> Iterator[dict[str, T]]:
    """Run every system once per repetition, in turn, and yield each repetition's results.

    The order is A, B, C, A, B, C, ... (the order of ``systems``), so that what
    slows the machine for a while slows every system alike. Each repetition is
    yielded as ``{name: result}``; ``repeats`` None goes on until the caller
    stops (to run a repetition again, say).
    """
    for _ in range(repeats) if repeats is not None else itertools.count():
        yield {name: run() for name, run in systems.items()}


def interleaved(systems: Mapping[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """:func:`interleave` ``repeats`` times: every system's results in a list, by name."""
    runs: dict[str, list[T]] = {name: [] for name in systems}
    for repetition in interleave(systems, repeats):
        for name, result in repetition.items():
            runs[name].append(result)
    return runs


def rotation(keys: list, k: int) -> list:
    """``keys`` rotated left by ``k``: repetition ``k``'s order when who goes first rotates
    (A B C, B C A, C A B, ...)."""
    if not keys:
        return []
    shift = k % len(keys)
    return keys[shift:] + keys[:shift]


# ------------------------------------------------------------------ command line and output
def add_out(parser, default, help="JSON file for the results (default %(default)s)"):
    """The ``--out`` option: the JSON file a run writes."""
    parser.add_argument("--out", type=Path, default=default, help=help)


def add_repeats(parser, help):
    """The ``--repeats`` option: repetitions per measurement (None until
    :func:`quick_defaults` fills it in)."""
    parser.add_argument("--repeats", type=int, default=None, help=help)


def quick_defaults(args, **defaults) -> None:
    """Each ``name=(full, quick)`` not given on the command line: ``quick`` with
    ``--quick``, else ``full``."""
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)


def at_least_one(parser, args, *names) -> None:
    """A usage error for the first of the options ``names`` that is given and below 1."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")


def parse(parser, argv, **defaults):
    """``parser``'s arguments with :func:`quick_defaults` ``defaults`` filled in, each
    checked to be at least 1 (:func:`at_least_one`)."""
    args = parser.parse_args(argv)
    quick_defaults(args, **defaults)
    at_least_one(parser, args, *defaults)
    return args


def argv_record(argv) -> list[str]:
    """The arguments a run was given, for its settings: ``argv``, else the command line's."""
    return sys.argv[1:] if argv is None else list(argv)


def write_json(path: Path, data, indent: int = 1, default=None) -> None:
    """``data`` as JSON into ``path`` (its folder made where missing), a newline at the end."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent, default=default) + "\n")


def replace_between(text: str, block: str, start: str, end: str) -> str | None:
    """``text`` with what lies between the markers ``start`` and ``end`` replaced by
    ``block`` (on lines of its own); None where either marker is missing."""
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}\n{end}{tail}"
