"""The numba policy: one decorator, one cache switch, one set of fastmath flags.

Every compiled kernel in :mod:`sknn_train._kernels` is created with :func:`kernel`,
so the options are identical everywhere and a test can check them from
:data:`KERNELS`.

Caching is on by default (a second process loads the compiled kernels instead
of compiling them again). Set ``SKNN_TRAIN_NO_CACHE=1`` to switch it off.

numba stamps a cached function with its own source file only, but a kernel
such as ``run_epoch`` inlines code from every kernel module: editing one of
those, or upgrading the package, would leave a stale kernel in the cache. The
locators that :func:`_install_source_stamp` puts in front of numba's stamp every
kernel with a digest of all kernel sources and the numba / llvmlite versions
instead, so any change recompiles. The cache lives in the package's
``__pycache__`` when it is writable, else in the user's cache directory
(numba's own order); if no directory is writable, kernels compile in memory.
Those locators subclass numba's private ones: where numba's internals are not
as expected, nothing is installed and kernels are not cached (see
:data:`STAMP_ERROR`); :func:`cache_info` says which it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import pathlib
import sys
import time
import types
from typing import NamedTuple

import llvmlite
import numba
from numba.core import event

fcntl: types.ModuleType | None
try:
    import fcntl
except ImportError:  # not on POSIX: processes compile without coordinating
    fcntl = None

__all__ = ["CACHE", "FASTMATH", "KERNELS", "OPTIONS", "CacheInfo", "cache_info", "entry", "kernel"]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


_KERNEL_DIR = pathlib.Path(__file__).parent / "_kernels"


def _source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(_KERNEL_DIR.glob("*.py")) + [pathlib.Path(__file__)]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(numba.__version__.encode())
    h.update(llvmlite.__version__.encode())
    return h.hexdigest()


#: What every cached kernel is stamped with: any kernel source or version change
#: invalidates all of them together.
SOURCE_STAMP = _source_digest()


def _numba_locator(caching, *names):
    for name in names:
        cls = getattr(caching, name, None)
        if cls is not None:
            return cls
    raise AttributeError(f"numba.core.caching has none of {', '.join(names)}")


def _project_locator(base):
    class Locator(base):  # type: ignore[valid-type, misc]  # numba's class, found at run time
        _sknn_train = True  # marks the project's locators in numba's list

        def get_source_stamp(self):
            return SOURCE_STAMP

        @classmethod
        def from_function(cls, py_func, py_file):
            if pathlib.Path(py_file).resolve().parent != _KERNEL_DIR.resolve():
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = "Sknn" + base.__name__.lstrip("_")
    return Locator


def _install_source_stamp() -> str | None:
    """Put locators stamping every kernel with :data:`SOURCE_STAMP` in front of numba's.

    Returns None once they are installed, else why they could not be: then
    nothing was changed. numba's cache classes are private, so everything this
    relies on is checked first (the names, the locator list, the signatures of
    the two methods overridden, no ``NUMBA_CACHE_LOCATOR_CLASSES`` replacing
    the list) and the list is changed last, in one assignment.
    """
    try:
        from numba.core import caching

        if getattr(numba.config, "CACHE_LOCATOR_CLASSES", None):
            return "NUMBA_CACHE_LOCATOR_CLASSES is set: numba uses those locators"
        impl = _numba_locator(caching, "CacheImpl", "_CacheImpl")
        classes = impl._locator_classes
        if not isinstance(classes, list):
            raise TypeError(f"CacheImpl._locator_classes is a {type(classes).__name__}")
        bases = [
            _numba_locator(caching, name, "_" + name)
            for name in ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
        ]
        for base in bases:
            for method, params in (
                ("from_function", ["py_func", "py_file"]),
                ("get_source_stamp", ["self"]),
            ):
                got = list(inspect.signature(getattr(base, method)).parameters)
                if got != params:
                    raise TypeError(
                        f"{base.__name__}.{method}({', '.join(got)}), not ({', '.join(params)})"
                    )
        locators = [_project_locator(base) for base in bases]
    except Exception as exc:  # numba's internals moved
        return f"{type(exc).__name__}: {exc}"
    classes[:] = locators + [c for c in classes if not getattr(c, "_sknn_train", False)]
    return None


_CACHE_WANTED = not _env_flag("SKNN_TRAIN_NO_CACHE")

#: Why the source stamp is not installed (numba's internals are not as
#: expected), or None. Without it, numba would stamp each kernel with its own
#: file: after an edit of ``activations.py`` (or an upgrade that changes only
#: it), the cached ``run_epoch``, which inlines the activations, would still
#: load, stale, and silently compute with the old code. A digest of the sources
#: in the cache directory's name would avoid that, but numba chooses that
#: directory with the same private locators (or a global ``NUMBA_CACHE_DIR``
#: that would move the user's own caches too), so nothing could check that it
#: took effect. Kernels are therefore not cached at all then: every process
#: compiles (seconds per dtype), and every result is right.
STAMP_ERROR: str | None = _install_source_stamp() if _CACHE_WANTED else None

#: Whether compiled kernels are written to / loaded from numba's on-disk cache:
#: unless ``SKNN_TRAIN_NO_CACHE=1``, or the source stamp could not be installed.
CACHE: bool = _CACHE_WANTED and STAMP_ERROR is None


#: Fast-math flags without ``nnan``/``ninf``: NaN and inf must still propagate so
#: that divergence is detected instead of silently producing garbage. Without
#: ``reassoc`` either: with it, LLVM rewrites Adam's second-moment update so that
#: an overflowing ``g * g`` gives NaN instead of IEEE's inf (whose update is 0).
FASTMATH = {"nsz", "arcp", "contract"}

#: The options given to every kernel.
OPTIONS = dict(cache=CACHE, nogil=True, fastmath=FASTMATH, error_model="numpy")

#: Every dispatcher created by :func:`kernel`, for the numba-policy test.
KERNELS: list = []


def _compile(func, options):
    try:
        dispatcher = numba.njit(**options)(func)
    except RuntimeError:  # no writable cache directory anywhere: compile in memory
        dispatcher = numba.njit(**dict(options, cache=False))(func)
    KERNELS.append(dispatcher)
    return dispatcher


def kernel(func=None, *, inline=False):
    """Compile ``func`` with the project's numba options: a kernel that only
    other kernels call.

    No Python wrapper is generated for it (numba's unboxing code for every
    argument, namedtuples of arrays included, compiled once per kernel and
    dtype: about a tenth of a first fit's compile time).
    Calling such a kernel from Python is not an error numba catches: the
    interpreter crashes. Whatever Python calls is made with :func:`entry`.
    """
    if func is None:
        return lambda f: kernel(f, inline=inline)
    extra = {"inline": "always"} if inline else {}
    return _compile(func, dict(OPTIONS, no_cpython_wrapper=True, no_cfunc_wrapper=True, **extra))


def entry(func):
    """Compile ``func`` with the project's numba options: a kernel called from Python."""
    return _compile(func, OPTIONS)


def cache_status():
    """Where numba caches the kernels and how many are there for the current sources.

    A pair ``(where, n_warm)``: ``where`` is the cache directory, or
    ``"in memory (no cache)"`` followed by why when kernels are not cached
    (only source-stamped kernels are).
    """
    where = None
    n_warm = 0
    for dispatcher in KERNELS:
        cache = dispatcher._cache
        impl = getattr(cache, "_impl", None)
        if impl is None:
            continue
        where = impl.locator.get_cache_path()
        try:  # an index written for the current sources counts as warm
            n_warm += bool(cache._cache_file._load_index())
        except Exception:  # numba internals moved: fall back to the file's presence
            n_warm += os.path.exists(os.path.join(cache._cache_path, cache._index_name))
    if where:
        return str(where), n_warm
    if STAMP_ERROR is not None:
        return f"in memory (no cache: {_NO_STAMP}: {STAMP_ERROR})", 0
    return "in memory (no cache)", 0


_NO_STAMP = "sknn_train's source stamp could not be installed"


class CacheInfo(NamedTuple):
    """What :func:`cache_info` reports; ``str()`` of it is one line."""

    #: Whether kernels are cached on disk.
    enabled: bool
    #: Whether kernels are stamped with a digest of all kernel sources (only then cached).
    source_stamped: bool
    #: The cache directory, or None.
    directory: str | None
    #: How many kernels are in the cache for the current sources.
    n_cached: int
    #: Why kernels are not cached, or None.
    reason: str | None

    def __str__(self) -> str:
        if self.enabled:
            return (
                f"numba cache: on, source-stamped, {self.directory}, {self.n_cached} kernels cached"
            )
        return f"numba cache: off ({self.reason}), kernels compile in memory"


def cache_info() -> CacheInfo:
    """Whether and where sknn_train's compiled kernels are cached, and how many are.

    The numba kernels are compiled at their first use and cached on disk (the
    package's ``__pycache__``, else the user's cache directory), stamped with a
    digest of all kernel sources and of the numba and llvmlite versions, so a
    later process loads them instead of compiling. ``SKNN_TRAIN_NO_CACHE=1``
    turns the cache off. So does a numba whose internals sknn_train's stamp
    cannot rely on: then ``reason`` says why, and every process compiles.
    ``sknn-train info`` prints ``str(cache_info())``.

    Returns
    -------
    info : CacheInfo
        A named tuple ``(enabled, source_stamped, directory, n_cached,
        reason)``; ``str(info)`` is one line, such as ``numba cache: on,
        source-stamped, <directory>, 27 kernels cached``.

    See Also
    --------
    sknn_train.warmup : Compile, or load from this cache, every kernel ahead of the first fit.

    Examples
    --------
    >>> import sknn_train
    >>> info = sknn_train.cache_info()
    >>> info.enabled == (info.reason is None)
    True
    >>> str(info).startswith("numba cache: ")
    True
    """
    where, n_cached = cache_status()
    if CACHE and not where.startswith("in memory"):
        return CacheInfo(True, True, where, n_cached, None)
    if not _CACHE_WANTED:
        reason = "SKNN_TRAIN_NO_CACHE"
    elif STAMP_ERROR is not None:
        reason = f"{_NO_STAMP}: {STAMP_ERROR}; numba's own stamps could load stale kernels"
    else:
        reason = "no writable cache directory" if KERNELS else "no kernel created yet"
    return CacheInfo(False, CACHE, None, 0, reason)


def _cache_dir(dispatcher):
    """The directory numba caches ``dispatcher`` in, or None (no cache, or numba
    internals that moved: then every process compiles for itself, as without
    the lock)."""
    try:
        path = dispatcher._cache._cache_path
    except AttributeError:
        return None
    return path if path and os.path.isdir(path) and os.access(path, os.W_OK) else None


#: How long a process waits for another one that compiles the same kernels
#: before it compiles them itself (a stopped or hung process never blocks others).
LOCK_TIMEOUT_S = 300.0


@contextlib.contextmanager
def _compile_lock(dispatcher):
    """An exclusive lock on the cache directory, shared by every process using it.

    ``flock`` locks are released by the operating system when their process
    ends, also when it is killed, so a crash never leaves the cache locked;
    numba writes cache files to temporary names and renames them into place,
    so a killed compile leaves no entry that another process would load.
    """
    path = _cache_dir(dispatcher)
    if path is None or fcntl is None:
        yield
        return
    try:
        fd = os.open(os.path.join(path, "sknn_train.lock"), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break  # compile without the lock rather than wait forever
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


_READY: set = set()


def compile_once(dispatcher, args, key, what):
    """Compile ``dispatcher`` for ``args``, or load it from the cache, before its first call.

    Processes that start together with an empty cache (joblib's workers) take
    turns: the first compiles and writes the cache, the others then load it
    instead of compiling the same kernels at the same time. A real compile
    (not a load) is announced in one line on stderr, naming ``what``. ``key``
    names the signature cheaply (the dtype) so that later calls with it skip all this.
    """
    if (dispatcher, key) in _READY:
        return
    sig = tuple(dispatcher.typeof_pyval(a) for a in args)
    if sig not in dispatcher.overloads:
        notice = _CompileNotice(dispatcher, what)
        with _compile_lock(dispatcher), event.install_listener("numba:compile", notice):
            dispatcher.compile(sig)
    _READY.add((dispatcher, key))


#: Roughly how long compiling the kernels of one dtype takes on a 2-core machine.
COMPILE_SECONDS = 6


class _CompileNotice(event.Listener):
    """Says, once, that ``dispatcher`` compiles (numba sends no event for a cache load)."""

    def __init__(self, dispatcher, what):
        self.dispatcher = dispatcher
        self.what = what
        self.said = False

    def on_start(self, ev):
        if self.said or ev.data.get("dispatcher") is not self.dispatcher:
            return
        self.said = True
        where = _cache_dir(self.dispatcher)
        later = f"later runs load them from {where}" if where else "the cache is off"
        sys.stderr.write(
            f"sknn_train: compiling the {self.what} kernels, once (about "
            f"{COMPILE_SECONDS} s; {later})\n"
        )
        sys.stderr.flush()

    def on_end(self, ev):
        pass
