"""A small on-disk cache of things that are slow to build and a pure function of their inputs.

A cleaned real region (all England: reading the register, placing practices, balancing hospital catchments,
peer edges) takes most of a second to build and is the same every time for the same register content and
region parameters. Each entry is one ``.npz`` file of plain arrays (never pickled objects), named by the
SHA-256 of its key, where the key holds everything the result depends on: the register's SHA-256, the region
parameters and a fingerprint of the code that builds it (its source files and the numpy and scipy versions).

Where: ``$GPSIM_CACHE_DIR`` if set, else the user cache directory (``$XDG_CACHE_HOME/gpsim``, usually
``~/.cache/gpsim`` on Linux). ``GPSIM_CACHE_DIR=off`` turns the disk cache off. Writes go to a temporary file
in the same folder and are renamed into place, so concurrent writers (sweep workers, several terminals) never
leave a half-written entry; an entry that cannot be read (damaged, truncated, another format) is ignored and
rebuilt. A cache that cannot be written (read-only home, full disk) is skipped silently: it only saves time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

#: Environment variable naming the cache folder (``off`` turns the disk cache off).
ENV_CACHE_DIR = "GPSIM_CACHE_DIR"
#: Bump when the layout of cache entries changes.
FORMAT = "gpsim-cache/1"


def cache_dir() -> Path | None:
    """The cache folder (not created here), or None when the disk cache is off."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env is not None and env.strip():
        return None if env.strip().lower() == "off" else Path(env).expanduser()
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # pragma: no cover - platformdirs is a dependency; the XDG rule is its Linux answer
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "gpsim"
    return Path(user_cache_dir("gpsim", appauthor=False))


@functools.cache
def code_fingerprint(modules: tuple[str, ...]) -> str:
    """SHA-256 of the source files of ``modules`` and of the numpy and scipy versions.

    A change to the code that builds an entry (or to the libraries whose random numbers and nearest-neighbour
    queries it uses) gives new keys, so an old entry is never served for new code.
    """
    import importlib.util

    h = hashlib.sha256(FORMAT.encode())
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        h.update(name.encode())
        if origin and os.path.isfile(origin):
            h.update(Path(origin).read_bytes())
    for pkg in ("numpy", "scipy"):
        h.update(f"{pkg}={_version(pkg)}".encode())
    return h.hexdigest()


def _version(package: str) -> str:
    """The version of ``package``: the imported module's own (no search of the installed packages, which costs
    a command-line run several milliseconds), else the installed one's, else ``?``."""
    import sys

    loaded = getattr(sys.modules.get(package), "__version__", None)
    if isinstance(loaded, str):
        return loaded
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def entry_name(kind: str, key: Iterable) -> str:
    """The file name of an entry: its kind and the SHA-256 of its key (JSON of the key's items)."""
    text = json.dumps([FORMAT, kind, *key], sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:40]}.npz"


def load(kind: str, key: Iterable) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key``, or None if there is no usable entry (missing, damaged, cache off)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / entry_name(kind, key)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - any unreadable entry (truncated, garbage, wrong format) is rebuilt
        return None
    if str(arrays.pop("__format__", "")) != FORMAT:
        return None
    return arrays


def save(kind: str, key: Iterable, arrays: Mapping[str, np.ndarray]) -> Path | None:
    """Store ``arrays`` under ``key`` (write a temporary file, then rename it into place); None if not written."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / entry_name(kind, key)
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __format__=np.array(FORMAT), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old entry, no entry, or the whole new one
        tmp = None
    except OSError:
        return None  # a cache only saves time: a read-only or full disk is not an error
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path
