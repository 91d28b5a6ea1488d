"""One process at a time per sweep folder: an operating-system lock that ends with the process holding it.

``sweep run`` takes an exclusive ``flock`` on ``DIR/.lock`` before it reads or writes anything in the folder,
and keeps it until it returns. A second ``sweep run`` (or ``--resume``) on the same folder is refused with one
line naming the first one's process id, instead of running the same runs a second time. The lock is released
by the kernel when its process ends, however it ends (a crash, SIGKILL), so it never needs cleaning up; the
``.lock`` file itself stays (removing it would let two processes lock two different files).
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

from gpsim.errors import ExperimentError

LOCK_NAME = ".lock"


class SweepLock:
    """An exclusive lock on a sweep folder (made, with its parents, if it does not exist)."""

    def __init__(self, root: str | os.PathLike, what: str = "gpsim sweep") -> None:
        self.root = Path(root)
        self.what = what  # named in the refusal: "... is in use by another gpsim sweep (process ...)"
        self.path = self.root / LOCK_NAME
        self.made: list[Path] = []  # folders this lock made (outermost first), removed again by :meth:`discard`
        self.made_file = False  # whether this lock created the .lock file (removed again by :meth:`discard`)
        self.keep = False  # set once the sweep exists: release then leaves the .lock file in place
        self._fd: int | None = None

    def acquire(self) -> SweepLock:
        import fcntl

        try:
            self._make_folders()
            self.made_file = not os.path.lexists(self.path)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as err:
            self.discard()
            raise ExperimentError(f"cannot write to output folder {self.root}: {err.strerror or err}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise ExperimentError(
                f"{self.root} is in use by another {self.what} (process {holder}); wait for it to finish or stop "
                "it, then use --resume"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    def _make_folders(self) -> None:
        missing = []
        folder = self.root
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for f in reversed(missing):
            try:
                f.mkdir()
            except FileExistsError:  # made by another process just now: not ours to remove
                continue
            self.made.append(f)

    def release(self) -> None:
        """Unlock (the ``.lock`` file stays)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def discard(self) -> None:
        """Release, and remove the ``.lock`` file and the folders this lock made (the sweep was never made)."""
        self.release()
        if self.made or self.made_file:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.made_file = False
            for folder in reversed(self.made):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            self.made = []

    def __enter__(self) -> SweepLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
