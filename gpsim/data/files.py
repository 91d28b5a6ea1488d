"""Reading a user's file safely: regular files only, and never more than a stated number of bytes.

A path naming a device (``/dev/zero``, ``/dev/urandom``), a named pipe with no writer, or a socket is refused
before it is opened, and a file that grows while it is read is refused once it passes the limit, so no input
can exhaust memory or hang a command.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gpsim.errors import DataError, GpsimError


def size_text(n: int) -> str:
    """A byte count as people read it: ``1.0 GB``, ``12.5 MB``, ``300 KB``."""
    if n >= 2**30:
        return f"{n / 2**30:.1f} GB"
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{max(1, round(n / 2**10))} KB"


def check_regular(path: str | os.PathLike, what: str, error: type[GpsimError] = DataError) -> os.stat_result:
    """``os.stat`` of ``path``, refusing anything but a regular file (or a link to one) with one line."""
    shown = f"{what} {path}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{shown}: not found") from None
    except OSError as err:
        raise error(f"{shown}: cannot be read ({err.strerror or err})") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{shown}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        kind = "a named pipe" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device"
        raise error(f"{shown}: is {kind}, not a regular file")
    return st


def read_limited(path: str | os.PathLike, limit: int, what: str, error: type[GpsimError] = DataError) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is refused with one line.

    The size is checked from ``stat`` first and again while reading (a file may grow, or lie about its size).
    """
    st = check_regular(path, what, error)
    shown = f"{what} {path}"
    if st.st_size > limit:
        raise error(f"{shown}: {size_text(st.st_size)} is too large (at most {size_text(limit)})")
    try:
        # O_NONBLOCK: should the path be swapped for a pipe after the check, opening it does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise error(f"{shown}: cannot be read ({err.strerror or err})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise error(f"{shown}: is not a regular file")
        try:
            data = fh.read(limit + 1)
        except OSError as err:
            raise error(f"{shown}: cannot be read ({err.strerror or err})") from None
    if len(data) > limit:
        raise error(f"{shown}: is larger than {size_text(limit)} (it grew while being read)")
    return data


def read_text_limited(path: str | os.PathLike, limit: int, what: str, error: type[GpsimError] = DataError) -> str:
    """:func:`read_limited` decoded as UTF-8 (``UnicodeDecodeError`` is left to the caller to word)."""
    return read_limited(Path(path), limit, what, error).decode("utf-8")
