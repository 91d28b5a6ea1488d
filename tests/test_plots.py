"""summary.png: what it shows, that the drawing process gives the same picture, and that it never outlives a run."""

from __future__ import annotations

import io
import os
import signal
import struct

import numpy as np
import pytest

import gpsim
from gpsim import plots
from gpsim.errors import GpsimError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results():
    return gpsim.run("funding-cliff", seed=2, n_practices=80, n_ccgs=3, years=4.0)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (its first chunk, IHDR)."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def pixels(data: bytes) -> np.ndarray:
    from matplotlib import image

    return image.imread(io.BytesIO(data), format="png")


def ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_summary_png_is_a_picture_of_the_run(tmp_path, results):
    results.save(tmp_path / "run", plot=True)
    data = (tmp_path / "run" / "summary.png").read_bytes()
    assert png_size(data) == (11 * plots.SUMMARY_DPI, 7 * plots.SUMMARY_DPI)
    img = pixels(data)[..., :3]
    blue = np.all(np.abs(img - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.02, axis=-1)  # matplotlib's C0: two lines
    purple = np.all(np.abs(img - np.array([0x94, 0x67, 0xBD]) / 255) < 0.02, axis=-1)  # C4: practices closed
    h, w = blue.shape
    assert blue[: h // 2, : w // 2].sum() > 200 and blue[h // 2 :, : w // 2].sum() > 200  # top and bottom left
    assert purple[h // 2 :, w // 2 :].sum() > 100 and purple[:, : w // 2].sum() == 0  # only bottom right


def test_the_drawing_process_draws_the_same_picture(results):
    here = plots.summary_png(results)
    with plots.SummaryProcess() as drawing:
        drawing.draw(results)
        there = drawing.png()
        pid = drawing.pid
    assert ended(pid)
    assert there == here  # byte for byte: the process draws on a figure it prepared before the data came


def test_the_command_line_writes_the_librarys_picture(tmp_path):
    from gpsim.cli import main
    from gpsim.results import Results

    out = tmp_path / "run"
    assert main(["run", "--years", "2", "--set", "n_practices=40", "--seed", "5", "--quiet", "--out", str(out)]) == 0
    back = Results.load(out)
    np.testing.assert_array_equal(pixels((out / "summary.png").read_bytes()), pixels(plots.summary_png(back)))


def _series(top: float, n: int = 121) -> dict[str, np.ndarray]:
    ramp = np.linspace(0.0, 1.0, n)
    s = {name: ramp * top for name in plots.SUMMARY_COLUMNS[1:]}
    s["share_practices_in_org"] = s["share_population_committable"] = ramp
    s["date"] = np.arange("2016-01", n, dtype="datetime64[M]").astype("datetime64[ns]")[:n]
    return s


@pytest.mark.parametrize("top", [40.0, 49_999.0, 3.0e6])
def test_every_label_is_inside_the_picture_and_panels_do_not_overlap(top):
    """The fixed margins hold tick labels of up to five digits; larger values get a worked-out layout."""
    fig = plots.draw_summary([_series(top)], "A long region name: North East and North Cumbria")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    page = fig.bbox
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    for box in boxes:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    title = fig._suptitle.get_window_extent(renderer)
    assert title.y1 <= page.y1 and not any(title.overlaps(box) for box in boxes), (title, boxes[:2])


@pytest.mark.parametrize("top", [1.0, 40.0, 49_999.0])
def test_a_figure_prepared_before_its_data_gives_the_same_png_byte_for_byte(top):
    runs = [_series(top, n=481)]  # 40 years: the most date ticks
    fig, axes = plots._prepared_summary_axes()
    prepared = plots._png(plots._draw_on(fig, axes, runs, "Region", None, True))
    assert prepared == plots._png(plots.draw_summary(runs, "Region"))


class _Run:
    """What the drawing process is given of a run: its ``steps`` and its region's name."""

    def __init__(self, series: dict[str, np.ndarray]) -> None:
        import pandas as pd

        self.steps, self.region_name = pd.DataFrame(series), "A region"


@pytest.mark.parametrize("prepared", ["as usual", "cannot be prepared"])
@pytest.mark.parametrize("top", [40.0, 3.0e6])  # the fixed layout, and the one worked out for large values
def test_the_drawing_process_draws_the_librarys_bytes_however_its_figure_was_made(top, prepared, monkeypatch):
    if prepared == "cannot be prepared":

        def broken():
            raise RuntimeError("no figure before the data")

        monkeypatch.setattr(plots, "_prepared_summary_axes", broken)  # the forked process has it too
    run = _Run(_series(top))
    with plots.SummaryProcess() as drawing:
        drawing.draw(run)
        there = drawing.png()
    assert there == plots.summary_png(run)


def test_two_runs_are_overlaid_with_their_labels(results):
    other = gpsim.run("baseline", seed=2, n_practices=80, n_ccgs=3, years=4.0)
    fig = plots.summary_figure(results, compare=other, labels=("before", "after"))
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [
        "practices (before)",
        "population committable (before)",
        "practices (after)",
        "population committable (after)",
    ]
    assert ax.get_lines()[2].get_linestyle() == "--"


def test_a_figure_that_cannot_be_drawn_is_one_line_and_its_process_ends(results, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("no room on the page\nsecond line")

    monkeypatch.setattr(plots, "_draw_on", broken)  # the forked process has the same broken function
    with plots.SummaryProcess() as drawing:
        drawing.draw(results)
        with pytest.raises(GpsimError) as caught:
            drawing.png()
        pid = drawing.pid
    assert str(caught.value).startswith("summary.png could not be drawn: ValueError: no room on the page")
    assert "\n" not in str(caught.value)
    assert ended(pid)


def test_a_drawing_process_that_dies_is_reported(results):
    with plots.SummaryProcess() as drawing:
        os.kill(drawing.pid, signal.SIGKILL)
        drawing.draw(results)  # into a pipe nobody reads: still no error until the figure is asked for
        with pytest.raises(GpsimError, match=r"summary.png could not be drawn: the drawing process stopped \(exit"):
            drawing.png()


def test_a_run_that_stops_before_its_figure_ends_the_process():
    drawing = plots.SummaryProcess()
    pid = drawing.pid
    drawing.close()  # never asked to draw: the process sees its pipe close and exits
    assert ended(pid) and drawing.pid is None
    drawing.close()  # twice is harmless


def test_a_stop_signal_just_after_the_start_ends_the_copy_alone(tmp_path):
    """A SIGTERM reaching the copy before it set its own handlers ran the run's handler (Ctrl-C) there: the
    copy then carried on as the command line itself."""

    def stop(signum, frame):  # what gpsim run installs for SIGTERM
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        for _ in range(10):
            try:
                drawing = plots.SummaryProcess()
                os.kill(drawing.pid, signal.SIGTERM)  # at once: before or after the copy set its handlers
                drawing._process.join(10)
                code = drawing._process.exitcode
                drawing.close()
            except KeyboardInterrupt:  # only a copy running this process's handler gets here
                (tmp_path / f"copy-{os.getpid()}").write_text("")
                os._exit(0)
            assert code == -signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not list(tmp_path.iterdir())


def test_with_other_threads_running_the_run_draws_its_own_figure(tmp_path):
    """Forking copies only the calling thread, whatever locks the others hold: the figure is then drawn here."""
    import threading

    from gpsim.cli import main

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert plots.SummaryProcess.start() is None
        out = tmp_path / "run"
        assert main(["run", "--years", "1", "--set", "n_practices=30", "--quiet", "--out", str(out)]) == 0
    finally:
        stop.set()
        other.join()
    assert png_size((out / "summary.png").read_bytes()) == (11 * plots.SUMMARY_DPI, 7 * plots.SUMMARY_DPI)
