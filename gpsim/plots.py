"""Figures shared by the CLI, the UI, reports and notebooks (matplotlib, no display needed).

Figures are made as :class:`matplotlib.figure.Figure` objects, without pyplot: no GUI backend is chosen or
imported, nothing is kept in pyplot's list of open figures, and ``gpsim run --out`` does not pay for pyplot's
import. In a notebook the returned figure shows as any matplotlib figure does.

``gpsim run --out`` draws ``summary.png`` in a second process (:class:`SummaryProcess`): it imports matplotlib
while the model runs and draws while the tables are written, so the figure costs the user almost no waiting.
"""

from __future__ import annotations

import contextlib
import io
import signal
import sys
import threading
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from gpsim.errors import GpsimError, one_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The seed article's numbers game: counterparts per hospital for organisations of 30-50k and 200-300k.
NEIGHBOURHOOD_BAND = (6.0, 10.0)
LARGE_BAND = (1.0, 2.0)

#: The ``steps`` columns the summary figure draws: all a drawing process is sent.
SUMMARY_COLUMNS = (
    "date",
    "share_practices_in_org",
    "share_population_committable",
    "relationships_per_hospital_mean",
    "relationships_baseline_mean",
    "n_orgs",
    "n_orgs_failed_cum",
    "n_practices_closed_cum",
)

#: Dots per inch of summary.png (11 x 7 inches: 1210 x 770 pixels).
SUMMARY_DPI = 110

#: Where the four panels sit (fractions of the figure), with room for tick labels of up to five digits. A fixed
#: layout draws in about 60% of the time matplotlib's constrained layout takes to find the same one.
SUMMARY_MARGINS = {"left": 0.07, "right": 0.992, "bottom": 0.042, "top": 0.922, "wspace": 0.17, "hspace": 0.135}

#: From this value up, tick labels may have six digits, wider than the fixed margins allow: the layout is then
#: worked out instead.
FIXED_LAYOUT_LIMIT = 5e4


def summary_series(results) -> dict[str, np.ndarray]:
    """The columns of ``results.steps`` the summary figure draws, as arrays (cheap to send to another process)."""
    return {name: results.steps[name].to_numpy() for name in SUMMARY_COLUMNS}


def summary_figure(results, title: str | None = None, compare=None, labels=("A", "B")) -> Figure:
    """Four panels over time: share in organisations; relationships per hospital; organisations alive and
    failed; practices closed. ``compare`` overlays a second run (dashed)."""
    runs = [summary_series(results)] + ([summary_series(compare)] if compare is not None else [])
    return draw_summary(runs, title or results.region_name, labels if compare is not None else None)


def draw_summary(runs: list[Mapping[str, np.ndarray]], title: str, labels=None) -> Figure:
    """The summary figure of one run's series (:func:`summary_series`), or of two overlaid (the second dashed,
    each legend entry ending with its ``labels`` entry)."""
    fits = _fits_fixed_layout(runs)
    return _draw_on(*_summary_axes(fits), runs, title, labels, fits)


def _summary_axes(fits: bool, dpi: float | None = None) -> tuple[Figure, np.ndarray]:
    """The summary figure's four empty panels: with the fixed margins (``fits``) or a worked-out layout."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7), dpi=dpi, layout=None if fits else "constrained")
    if fits:
        fig.subplots_adjust(**SUMMARY_MARGINS)
    return fig, fig.subplots(2, 2, sharex=True)


#: Tick marks made on each axis of a figure prepared before its data comes (:func:`_prepared_summary_axes`):
#: about as many as an axis draws (an England run's 6 to 11; any more needed are made as it is drawn).
PREPARED_TICKS = 10


def _prepared_summary_axes() -> tuple[Figure, np.ndarray]:
    """The summary figure's empty panels with the fixed margins, at the dpi of summary.png, with the tick marks
    made: matplotlib makes ticks as a figure is first drawn, about a fifth of the drawing time, and what it
    makes does not depend on the data. Drawing on this gives the same PNG, byte for byte, as drawing from
    nothing (a test checks it)."""
    fig, axes = _summary_axes(True, SUMMARY_DPI)
    for ax in axes.flat:
        ax.xaxis.get_major_ticks(PREPARED_TICKS)
        ax.yaxis.get_major_ticks(PREPARED_TICKS)
    return fig, axes


def _draw_on(fig: Figure, axes: np.ndarray, runs: list[Mapping[str, np.ndarray]], title: str, labels, fits) -> Figure:
    for s, ls, lab in zip(runs, ("-", "--")[: len(runs)], labels or ("",) * len(runs), strict=True):
        x = s["date"]
        suffix = f" ({lab})" if labels else ""
        ax = axes[0, 0]
        ax.plot(x, s["share_practices_in_org"] * 100, ls, color="C0", label="practices" + suffix)
        ax.plot(x, s["share_population_committable"] * 100, ls, color="C2", label="population committable" + suffix)
        ax = axes[0, 1]
        ax.plot(x, s["relationships_per_hospital_mean"], ls, color="C3", label="mean" + suffix)
        ax.plot(x, s["relationships_baseline_mean"], ls, color="0.5", lw=1, label="with no organisations" + suffix)
        ax = axes[1, 0]
        ax.plot(x, s["n_orgs"], ls, color="C0", label="alive" + suffix)
        ax.plot(x, s["n_orgs_failed_cum"], ls, color="C3", label="failed (cumulative)" + suffix)
        ax = axes[1, 1]
        ax.plot(x, s["n_practices_closed_cum"], ls, color="C4", label="closed or merged" + suffix)
    axes[0, 0].set(title="In at-scale organisations", ylabel="%", ylim=(0, 100))
    ax = axes[0, 1]
    ax.axhspan(*NEIGHBOURHOOD_BAND, color="C2", alpha=0.12, label="30-50k organisations: 6-10")
    ax.axhspan(*LARGE_BAND, color="C1", alpha=0.15, label="200-300k organisations: 1-2")
    ax.set(title="Relationships each hospital keeps with general practice", ylabel="counterparts", ylim=(0, None))
    axes[1, 0].set(title="Organisations", ylabel="count")
    axes[1, 1].set(title="Practices closed or merged (cumulative)", ylabel="practices")
    for ax in axes.flat:
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
    fig.suptitle(title, **({"y": 0.99} if fits else {}))
    return fig


def _fits_fixed_layout(runs: list[Mapping[str, np.ndarray]]) -> bool:
    """Whether every value drawn is small enough for the fixed margins' tick labels."""
    for s in runs:
        for name in SUMMARY_COLUMNS[1:]:
            values = np.asarray(s[name], dtype=float)
            values = values[np.isfinite(values)]
            if values.size and np.abs(values).max() >= FIXED_LAYOUT_LIMIT:
                return False
    return True


def summary_png(results) -> bytes:
    """summary.png of ``results``, as the bytes of the file."""
    return _png(draw_summary([summary_series(results)], results.region_name))


def save_summary(results, path: str) -> None:
    """Write summary.png of ``results`` to ``path``, drawn in this process."""
    with open(path, "wb") as fh:
        fh.write(summary_png(results))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=SUMMARY_DPI)  # a Figure without pyplot draws with the Agg canvas for PNG
    return buf.getvalue()


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class SummaryProcess:
    """Draws summary.png in a second process, so that the figure's cost overlaps the run.

    Start it before the run: the process imports matplotlib while this one imports Mesa and runs the model.
    :meth:`draw` hands it the few series the figure needs (it starts drawing at once); :meth:`png` waits for
    the file's bytes and raises :class:`~gpsim.errors.GpsimError` (one line) if the figure could not be drawn.
    Use it as a context manager: leaving the block, normally or on an error or Ctrl-C, ends the process. It
    never writes a file itself: the caller writes the bytes, so an output folder stays all-or-nothing.

    The process is forked (a copy of this one: nothing is imported twice), only on Linux (macOS's system
    libraries are not safe to fork) and only from a process with no other Python thread; :meth:`start`
    returns None otherwise, and the figure is then drawn in this process, as
    :meth:`gpsim.results.Results.save` does by default.
    """

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_end, self._conn), name="gpsim-summary-png", daemon=True
        )
        self._sent = False
        # Ctrl-C and SIGTERM are held until the new process has set its own handlers: one arriving earlier
        # would run this process's handlers in the copy, which would then carry on as if it were this one
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            with warnings.catch_warnings():
                # Python warns of any thread at all, and numpy's OpenBLAS (pyarrow too, once a table is
                # written) keeps idle worker threads: the drawing process uses neither, nor any lock of theirs
                warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
                self._process.start()
        finally:
            child_end.close()
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held meanwhile is raised here
            except BaseException:
                self.close()
                raise

    @classmethod
    def start(cls) -> SummaryProcess | None:
        """A started process, or None where forking is not safe (not Linux, or other threads running) or the
        system refuses another process (the figure is then drawn in this one)."""
        if not sys.platform.startswith("linux") or threading.active_count() > 1:
            return None
        try:
            return cls()
        except OSError:
            return None

    @property
    def pid(self) -> int | None:
        """The drawing process's id (None once it has been ended)."""
        return self._process.pid if self._process is not None else None

    def draw(self, results) -> None:
        """Start drawing summary.png of ``results`` in the other process; :meth:`png` collects it."""
        series = summary_series(results)
        self._sent = True
        with contextlib.suppress(OSError):  # the process has gone: png() says so
            self._conn.send((series, results.region_name))

    def png(self) -> bytes:
        """The bytes of summary.png, once drawn (waits for it)."""
        from multiprocessing.connection import wait

        if not self._sent:
            raise RuntimeError("SummaryProcess.png() before draw()")
        wait([self._conn, self._process.sentinel])  # a reply, or the process gone
        reply = None
        if self._conn.poll():
            with contextlib.suppress(EOFError, OSError):  # it died before replying
                reply = self._conn.recv()
        if reply is not None and reply[0] == "png":
            return reply[1]
        if reply is None:
            self._process.join(5)
            reply = ("error", f"the drawing process stopped (exit code {self._process.exitcode})")
        raise GpsimError(f"summary.png could not be drawn: {reply[1]}")

    def close(self) -> None:
        """End the drawing process: it exits when its pipe closes (stopped at once if it was never asked to
        draw, or if it has not exited 5 s after)."""
        if self._process is None:
            return
        self._conn.close()
        if not self._sent:  # nothing asked of it (the run stopped early): no need to wait for its imports
            self._process.terminate()
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process.close()
        self._process = None

    def __enter__(self) -> SummaryProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _serve(conn, parent_end) -> None:
    """The drawing process: import matplotlib, then draw the one figure asked for and send back its bytes."""
    parent_end.close()  # so that this process sees the pipe close when the other one closes it, or dies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches both; the other process ends this one
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # stopped at once when no longer wanted
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # held while the process started
    failed = prepared = None
    try:
        import matplotlib.backends.backend_agg  # noqa: F401  the import is most of the figure's cost
        import matplotlib.figure  # noqa: F401
    except Exception as err:  # reported when the figure is asked for, as drawing it would fail
        failed = err
    else:
        with contextlib.suppress(Exception):  # if it cannot be prepared, it is drawn from nothing
            prepared = _prepared_summary_axes()  # while the model runs: what does not depend on its results
    try:
        series, title = conn.recv()
    except (EOFError, OSError):  # the run stopped before its figure was wanted
        return
    try:
        if failed is not None:
            raise failed
        runs = [series]
        fits = _fits_fixed_layout(runs)
        fig, axes = prepared if fits and prepared is not None else _summary_axes(fits)
        reply = ("png", _png(_draw_on(fig, axes, runs, title, None, fits)))
    except Exception as err:
        reply = ("error", one_line(f"{type(err).__name__}: {err}"))
    with contextlib.suppress(OSError):  # the other process has gone
        conn.send(reply)
