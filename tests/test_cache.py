"""The numba cache of the compiled kernels (``sknn_train._jit``).

(a) ``SKNN_TRAIN_NO_CACHE=1`` switches the cache off for every kernel;
(b) an install whose package directory is read-only compiles once and caches in
    the user's cache directory ($XDG_CACHE_HOME/numba/...), without errors;
(c) a changed kernel source changes ``SOURCE_STAMP`` and leaves no warm kernel
    behind, so an upgrade never loads stale machine code;
(d) several processes load the same warm cache at once;
(e) processes that start together with an empty cache compile the kernels
    once between them (the others wait and load), and say so in one line;
(f) a process killed while it compiles leaves a cache the next one can use;
(g) where numba's private cache classes are not as expected, the source stamp
    installs nothing, kernels are not cached, and ``cache_info()`` /
    ``sknn-train info`` say why.

(b), (e) and (f) compile (about 6 s each); the other subprocesses import and load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sknn_train
import sknn_train._jit

PACKAGE = Path(sknn_train.__file__).resolve().parent

_NOT_INHERITED = (
    "SKNN_TRAIN_NO_CACHE",
    "NUMBA_BOUNDSCHECK",
    "NUMBA_CACHE_DIR",
    "NUMBA_DISABLE_JIT",
    "NUMBA_OPT",
    "PYTHONPATH",
)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update(extra)
    return env


def _run(code, env, cwd, timeout=300):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _last_json(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _notices(stderr):
    """How many compile notices ``stderr`` has (one per compiled dtype)."""
    return sum(line.startswith("sknn_train: compiling the ") for line in stderr.splitlines())


def _copy_package(site):
    target = Path(site) / "sknn_train"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


# --------------------------------------------------------------------- (a)
def test_no_cache_switch_disables_every_kernel_cache(tmp_path):
    code = """
    import json
    from sknn_train import _jit
    print(json.dumps({"cache": _jit.CACHE, "n": len(_jit.KERNELS),
                      "types": {d.py_func.__name__: type(d._cache).__name__
                                for d in _jit.KERNELS},
                      "status": _jit.cache_status()}))
    """
    out = _last_json(_run(code, _env(SKNN_TRAIN_NO_CACHE="1"), cwd=tmp_path))
    assert out["cache"] is False
    assert out["n"] == len(sknn_train._jit.KERNELS) >= 10
    assert set(out["types"].values()) == {"NullCache"}, out["types"]
    assert out["status"] == ["in memory (no cache)", 0]
    # and in this process (cache on, unless the suite runs with the switch)
    kinds = {type(d._cache).__name__ for d in sknn_train._jit.KERNELS}
    assert kinds == ({"FunctionCache"} if sknn_train._jit.CACHE else {"NullCache"})


# --------------------------------------------------------------------- (b)
# Run as the user of a read-only install. As root, permission bits do not stop
# writes, so the process first gives up CAP_DAC_OVERRIDE (and the related
# capabilities) before anything else; it then checks that the package directory
# really refuses a new file.
_READONLY_FIT = r"""
import ctypes, json, os, sys
if os.geteuid() == 0:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0, ctypes.get_errno()
    keep = ~((1 << 1) | (1 << 2) | (1 << 3)) & 0xFFFFFFFF  # DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER
    for field in ("effective", "permitted", "inheritable"):
        setattr(data[0], field, getattr(data[0], field) & keep)
    assert libc.capset(ctypes.byref(header), data) == 0, ctypes.get_errno()
site = sys.argv[1]
kernels = os.path.join(site, "sknn_train", "_kernels")
for probe in (os.path.join(kernels, "probe"), os.path.join(kernels, "__pycache__")):
    try:
        os.mkdir(probe)
    except PermissionError:
        pass
    else:
        sys.exit(f"{probe} could be created: the package directory is not read-only")

import warnings
import numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import sknn_train
    from sknn_train import MLPClassifier, _jit
    X = np.random.RandomState(0).randn(12, 3)
    est = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, np.arange(12) % 2)
    proba = est.predict_proba(X)
stats = [d.stats for d in _jit.KERNELS]
print(json.dumps({
    "file": sknn_train.__file__,
    "status": _jit.cache_status(),
    "misses": sum(sum(s.cache_misses.values()) for s in stats),
    "hits": sum(sum(s.cache_hits.values()) for s in stats),
    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught  # numba's, cache's
                 if "numba" in w.category.__module__ or "cache" in str(w.message).lower()],
    "proba": proba.tolist(),
}))
"""


@pytest.fixture(scope="module")
def readonly_install(tmp_path_factory):
    """A read-only copy of the package, its first (compiling) fit, and the cache it wrote."""
    root = tmp_path_factory.mktemp("readonly_install")
    site = root / "site"
    package = _copy_package(site)
    assert not (package / "_kernels" / "__pycache__").exists()
    for path in [*package.rglob("*"), package]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    (root / "home").mkdir()
    env = _env(
        HOME=str(root / "home"), XDG_CACHE_HOME=str(root / "xdg-cache"), PYTHONPATH=str(site)
    )
    args = [sys.executable, "-c", _READONLY_FIT, str(site)]
    proc = subprocess.run(args, env=env, cwd=root, capture_output=True, text=True, timeout=300)
    yield dict(
        root=root,
        site=site,
        package=package,
        env=env,
        args=args,
        proc=proc,
        cache=root / "xdg-cache",
    )
    for path in [package, *package.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_readonly_install_caches_in_the_user_cache_dir(readonly_install):
    proc = readonly_install["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = _last_json(proc)
    # no numba "cannot cache" warning, no traceback: only the one-line notice
    assert _notices(proc.stderr) == 1 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert out["warnings"] == []
    assert out["file"].startswith(str(readonly_install["package"]))  # the copy ran
    assert out["misses"] > 0  # it compiled: the cache was cold ...
    cache = readonly_install["cache"]
    # ... and wrote into $XDG_CACHE_HOME/numba/<dir name>_<sha1 of the dir>/
    index_files = sorted(cache.rglob("*.nbi"))
    data_files = sorted(cache.rglob("*.nbc"))
    assert index_files and data_files
    where = {p.parent for p in index_files + data_files}
    assert len(where) == 1
    folder = where.pop()
    assert folder.parent == cache / "numba"
    assert folder.name.startswith("_kernels_")
    location, n_warm = out["status"]
    assert Path(location) == folder
    assert n_warm >= 2  # run_epoch and evaluate, at least
    # nothing was written next to the package
    assert not list(readonly_install["site"].rglob("__pycache__"))


# --------------------------------------------------------------------- (c)
_STAMP = """
import json
from sknn_train import _jit
print(json.dumps({"file": _jit.__file__, "stamp": _jit.SOURCE_STAMP,
                  "status": _jit.cache_status()}))
"""


def test_changed_kernel_source_leaves_no_warm_kernel(readonly_install, tmp_path):
    # Two writable copies, their in-tree caches seeded with what the read-only
    # install compiled (same sources, so warm for them); in the second one a
    # kernel constant changes, as in an upgrade. Both interpreters run at once.
    runs = {}
    for name in ("before", "after"):
        site = tmp_path / name
        package = _copy_package(site)
        pycache = package / "_kernels" / "__pycache__"
        pycache.mkdir()
        for f in readonly_install["cache"].rglob("*.nb[ic]"):
            shutil.copy(f, pycache / f.name)
        if name == "after":
            source = package / "_kernels" / "activations.py"
            text = source.read_text()
            assert text.count("LEAKY_SLOPE = 0.01\n") == 1
            source.write_text(text.replace("LEAKY_SLOPE = 0.01\n", "LEAKY_SLOPE = 0.02\n"))
        env = _env(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(site))
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_STAMP)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        runs[name] = (package, pycache, proc)
    out = {}
    for name, (package, pycache, proc) in runs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stdout + stderr
        out[name] = json.loads(stdout.strip().splitlines()[-1])
        assert out[name]["file"].startswith(str(package))
        assert Path(out[name]["status"][0]) == pycache  # writable: the in-tree cache

    before, after = out["before"], out["after"]
    # the stamp is a digest of the sources, not of where they are
    assert before["stamp"] == sknn_train._jit.SOURCE_STAMP
    assert before["status"][1] > 0
    assert after["stamp"] != before["stamp"]
    assert after["status"][1] == 0  # every cached kernel is stale now: none loads
    print(
        f"\ncache: {before['status'][1]} warm kernels before the edit, "
        f"{after['status'][1]} after; stamp {before['stamp'][:12]} -> {after['stamp'][:12]}"
    )


# --------------------------------------------------------------------- (d)
def test_processes_share_a_warm_cache_at_once(readonly_install):
    assert readonly_install["proc"].returncode == 0, "the cache was not built"
    procs = [
        subprocess.Popen(
            readonly_install["args"],
            env=readonly_install["env"],
            cwd=readonly_install["root"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    first = _last_json(readonly_install["proc"])
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stdout + stderr
        assert stderr == ""
        out = json.loads(stdout.strip().splitlines()[-1])
        assert out["misses"] == 0  # loaded, not compiled
        assert out["hits"] > 0
        assert out["warnings"] == []
        assert out["proba"] == first["proba"]


# --------------------------------------------------------------------- (e), (f)
_FIT_AND_COUNT = """
import json, sys, warnings
import numpy as np
from sknn_train import MLPClassifier
from sknn_train._kernels.epoch import run_pass
warnings.simplefilter("ignore")
X = np.random.RandomState(0).randn(40, 4)
proba = MLPClassifier((5,), max_iter=3, random_state=0).fit(X, np.arange(40) % 2
                                                             ).predict_proba(X)
print(json.dumps({"misses": sum(run_pass.stats.cache_misses.values()),
                  "hits": sum(run_pass.stats.cache_hits.values()), "proba": proba.tolist()}))
"""


def _start(env, cwd):
    return subprocess.Popen(
        [sys.executable, "-c", _FIT_AND_COUNT],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc):
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stdout + stderr
    return json.loads(stdout.strip().splitlines()[-1]), stderr


def test_processes_starting_together_compile_once(tmp_path):
    env = _env(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    results = [_finish(p) for p in [_start(env, tmp_path) for _ in range(3)]]
    misses = [out["misses"] for out, _ in results]
    assert sorted(misses) == [0, 0, 1], misses  # one compiled, two loaded its kernels
    assert sum(out["hits"] for out, _ in results) == 2
    assert sum(_notices(stderr) for _, stderr in results) == 1  # one line, by the compiler
    assert all(out["proba"] == results[0][0]["proba"] for out, _ in results)


def test_a_process_killed_while_compiling_leaves_a_usable_cache(tmp_path):
    import signal
    import time

    env = _env(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    victim = _start(env, tmp_path)
    # wait until it holds the compile lock (it creates the lock file first), then a bit
    deadline = time.monotonic() + 120
    while not list((tmp_path / "cache").rglob("sknn_train.lock")):
        assert victim.poll() is None and time.monotonic() < deadline, victim.communicate()
        time.sleep(0.05)
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL  # killed while compiling, not finished
    after, stderr = _finish(_start(env, tmp_path))  # does not wait on the dead process
    assert after["misses"] == 1 and _notices(stderr) == 1  # nothing stale was loaded
    reused, stderr = _finish(_start(env, tmp_path))
    assert reused["misses"] == 0 and reused["hits"] == 1 and stderr == ""
    assert reused["proba"] == after["proba"]


# --------------------------------------------------------------------- (g)
def test_source_stamp_is_installed_here():
    jit = sknn_train._jit
    info = sknn_train.cache_info()
    assert "cache_info" in sknn_train.__all__
    if not jit._CACHE_WANTED:  # the suite runs with SKNN_TRAIN_NO_CACHE=1
        assert str(info).startswith("numba cache: off (SKNN_TRAIN_NO_CACHE)")
        return
    assert jit.STAMP_ERROR is None and jit.CACHE
    assert info.enabled and info.source_stamped and info.reason is None
    assert str(info) == (
        f"numba cache: on, source-stamped, {info.directory}, {info.n_cached} kernels cached"
    )
    assert (info.directory, info.n_cached) == jit.cache_status()
    from numba.core import caching

    names = [c.__name__ for c in caching.CacheImpl._locator_classes]
    assert names[:3] == [
        "SknnUserProvidedCacheLocator",
        "SknnInTreeCacheLocator",
        "SknnUserWideCacheLocator",
    ]
    assert sum(n.startswith("Sknn") for n in names) == 3
    for dispatcher in jit.KERNELS:  # every kernel is stamped with all kernel sources
        impl = getattr(dispatcher._cache, "_impl", None)
        if impl is not None:
            assert impl.locator.get_source_stamp() == jit.SOURCE_STAMP


# Each child takes numba's cache internals away as a numba release might, then
# imports the package (no kernel compiles) and asks what it got.
_WITHOUT_STAMP = """
import contextlib, io, json, os, sys
from numba.core import caching
{patch}
before = list(caching.CacheImpl._locator_classes)
import sknn_train
from sknn_train import _jit, cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    cli.main(["info"])
print(json.dumps({{
    "error": _jit.STAMP_ERROR, "cache": _jit.CACHE, "status": _jit.cache_status(),
    "info": list(sknn_train.cache_info()),
    "line": [line for line in out.getvalue().splitlines() if "numba cache" in line],
    "unchanged": list(caching.CacheImpl._locator_classes) == before,
    "caches": sorted({{type(d._cache).__name__ for d in _jit.KERNELS}}),
}}))
"""

_PATCHES = {
    "a locator renamed": (
        "for name in ('InTreeCacheLocator', '_InTreeCacheLocator'):\n"
        "    if hasattr(caching, name):\n"
        "        delattr(caching, name)",
        {},
        "AttributeError: numba.core.caching has none of InTreeCacheLocator",
    ),
    "a changed signature": (
        "base = getattr(caching, 'UserWideCacheLocator', None) or caching._UserWideCacheLocator\n"
        "base.from_function = classmethod(lambda cls, py_func, py_file, flags: None)",
        {},
        "from_function(py_func, py_file, flags), not (py_func, py_file)",
    ),
    "numba's locator list replaced": (
        "",
        {"NUMBA_CACHE_LOCATOR_CLASSES": "InTreeCacheLocator"},
        "NUMBA_CACHE_LOCATOR_CLASSES is set",
    ),
}


@pytest.mark.parametrize("case", list(_PATCHES))
def test_without_the_source_stamp_kernels_are_not_cached(case, tmp_path):
    patch, env, reason = _PATCHES[case]
    code = _WITHOUT_STAMP.format(patch=patch)
    out = _last_json(_run(code, _env(**env), cwd=tmp_path))
    assert reason in out["error"], out["error"]
    assert out["unchanged"]  # nothing installed
    assert out["cache"] is False and out["caches"] == ["NullCache"]
    assert out["status"][1] == 0 and reason in out["status"][0]
    enabled, stamped, directory, n_cached, why = out["info"]
    assert (enabled, stamped, directory, n_cached) == (False, False, None, 0)
    expected = (
        "numba cache: off (sknn_train's source stamp could not be installed: "
        f"{out['error']}; numba's own stamps could load stale kernels), kernels "
        "compile in memory"
    )
    assert out["line"] == [expected]
    assert why in expected
