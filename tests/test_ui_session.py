"""The workshop UI without a browser: one session's run, its timings, misuse, and what the page code may do.

Fast (no server, no Chromium); tests/test_ui_browser.py drives the same code through a real browser.
"""

from __future__ import annotations

import ast
import gc
import json
import statistics
import time
from pathlib import Path

import pytest

from gpsim.params import GROUPS, SPECS
from gpsim.ui import views
from gpsim.ui.session import Session, live_counts

UI = Path(__file__).resolve().parent.parent / "gpsim" / "ui"
#: The ~300-practice region the step-time target is measured on (West Yorkshire: 285 practices in 2021).
MEASURED_REGION = "west-yorkshire"
STEP_TARGET_MS = 300


def slider_specs():
    pytest.importorskip("solara")
    from gpsim.ui.app import MAX_SLIDER_POSITIONS, positions

    return [s for s in SPECS if s.kind in (int, float) and s.choices is None and positions(s) <= MAX_SLIDER_POSITIONS]


def draw(session: Session) -> tuple[dict, dict]:
    """What the page builds after a step (the 'drawing' part of the time it shows)."""
    p = session.applied
    m = views.map_option(session.model, aggregated=session.aggregated)
    c = views.chart_options(session.steps_frame(), start=(p.start_year, p.start_month), n_months=session.n_months)
    views.org_rows(session.model)
    return m, c


def test_step_time_300_practices():
    """Server time per Step (model + drawing) for a ~300-practice real region: median within the target."""
    session = Session(region=MEASURED_REGION)
    n = session.model.region.n_practices
    assert 250 <= n <= 350
    draw(session)  # first call builds the cached CCG outlines
    model_ms, draw_ms = [], []
    for _ in range(24):
        t0 = time.perf_counter()
        session.step(1)
        t1 = time.perf_counter()
        draw(session)
        model_ms.append((t1 - t0) * 1000)
        draw_ms.append((time.perf_counter() - t1) * 1000)
    total = [a + b for a, b in zip(model_ms, draw_ms, strict=True)]
    print(
        f"\n{MEASURED_REGION} ({n} practices), 24 steps: model median {statistics.median(model_ms):.1f} ms, "
        f"drawing median {statistics.median(draw_ms):.1f} ms, total median {statistics.median(total):.1f} ms "
        f"(max {max(total):.0f} ms)"
    )
    assert statistics.median(total) <= STEP_TARGET_MS


def test_england_map_is_aggregated_and_small():
    session = Session(scenario="england-2021")
    assert session.aggregated
    session.step(1)
    t0 = time.perf_counter()
    m, c = draw(session)
    ms = (time.perf_counter() - t0) * 1000
    points = sum(len(s["data"]) for s in m["series"])
    reg = session.model.region
    assert points == reg.n_ccgs + reg.n_hospitals  # one circle per CCG, one square per hospital
    size = len(json.dumps(m)) + len(json.dumps(c))
    print(f"\nEngland ({reg.n_practices} practices): map {points} marks, {size / 1000:.0f} kB of JSON, {ms:.0f} ms")
    assert size < 200_000


@pytest.mark.parametrize("end", ["low", "high"])
def test_extreme_sliders_do_not_crash(end):
    """Every slider at its minimum, or at its maximum: the run is built (or refused with a message) and steps."""
    session = Session()
    for spec in slider_specs():
        session.set_value(spec.name, getattr(spec, end))
    ok = session.reset()
    if not ok:  # e.g. 1,000 CCGs for 180 practices: refused in words, the previous run kept
        assert session.error and "n_ccgs" in session.error
        session.set_value("n_ccgs", 5)
        assert session.reset(), session.error
    assert session.error is None
    session.step(12)
    assert session.month == min(12, session.n_months)
    m, c = draw(session)
    json.dumps(m), json.dumps(c)  # JSON-ready, no NaN objects


def test_region_is_never_a_visitor_path(tmp_path):
    """A browser can send any value for the region box; a register file path (or unknown text) is ignored."""
    secret = tmp_path / "register.csv"
    session = Session()
    for bad in (f"00L@{secret}", "00L@/etc/passwd", "../../x", "england@x"):
        session.set_value("region", bad)
        assert session.pending["region"] == "synthetic"
    session.pending["region"] = "00L@/etc/passwd"  # even if it got in, Reset does not use it
    assert session.reset()
    assert session.applied.region == "synthetic"
    session.choose_scenario("no-such-preset")
    assert session.scenario == "baseline"
    # the area the server was started with (possibly a file its operator named) stays available
    started = Session(region="north-east-workshop")
    assert "north-east-workshop" in started.allowed_regions


def test_page_code_evaluates_nothing_and_opens_no_files():
    """No eval/exec/compile/open/import-by-name in the page code, and no file or process calls in it."""
    banned_calls = {"eval", "exec", "compile", "open", "__import__", "execfile", "input"}
    banned_attrs = {
        "read_text",
        "write_text",
        "read_bytes",
        "write_bytes",
        "system",
        "popen",
        "Popen",
        "run",
        "load",
        "loads",
        "import_module",
        "unlink",
        "remove",
    }
    for name in ("app.py", "session.py", "views.py", "figures.py"):
        tree = ast.parse((UI / name).read_text(), name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name):
                    assert f.id not in banned_calls, f"{name}:{node.lineno} calls {f.id}"
                elif isinstance(f, ast.Attribute):
                    assert f.attr not in banned_attrs, f"{name}:{node.lineno} calls .{f.attr}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "subprocess", "shutil", "importlib"} & set(mods), f"{name} imports {mods}"


def test_every_group_has_a_plain_explanation():
    pytest.importorskip("solara")
    from gpsim.ui.app import GROUP_GUIDE

    for group in GROUPS:
        text = GROUP_GUIDE[group]
        assert len(text) > 80 and "_" not in text  # sentences, not parameter names


def test_sessions_and_models_are_freed():
    """The app keeps no per-session state at module level: a dropped session takes its models with it."""
    before = live_counts()
    s = Session()
    s.step(3)
    s.reset()  # the old model goes at once
    assert live_counts() == (before[0] + 1, before[1] + 1)
    s.pin()
    del s
    gc.collect()
    assert live_counts() == before
