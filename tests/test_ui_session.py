"""The workshop UI without a browser: a tab's run and its live feed, settings in plain words, links, rooms,
stories, bands, downloads, misuse, and what the page code may do.

Fast (no server, no Chromium); tests/test_ui_browser.py drives the same code through a real browser.
"""

from __future__ import annotations

import ast
import gc
import json
import re
import statistics
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from gpsim.params import GROUPS, SPECS, SPECS_BY_NAME
from gpsim.scenarios import SCENARIOS
from gpsim.ui import labels
from gpsim.ui import room as rooms
from gpsim.ui.session import AREA_SETTINGS, Session, live_counts, preset_text
from gpsim.ui.stories import STORIES

UI = Path(__file__).resolve().parent.parent / "gpsim" / "ui"
#: The ~300-practice region the step-time target is measured on (West Yorkshire: 285 practices in 2021).
MEASURED_REGION = "west-yorkshire"
STEP_TARGET_MS = 300
SHORT = {"years": "2"}


class FakeView:
    """Stands in for the browser widget: records what the session sends and answers each frame at once."""

    def __init__(self, session: Session | None = None, delay: float = 0.0) -> None:
        self.frames: list[dict] = []
        self.bases: list[dict] = []
        self.session = session
        self.delay = delay

    def __setattr__(self, name, value):
        if name == "frame":
            self.frames.append(value)
            if self.session is not None:
                s, seq = self.session, value["seq"]
                threading.Timer(self.delay, lambda: s.acked(seq)).start()
        elif name == "base":
            self.bases.append(value)
        object.__setattr__(self, name, value)


def slider_specs():
    pytest.importorskip("solara")
    from gpsim.ui.app import MAX_SLIDER_POSITIONS, positions

    return [s for s in SPECS if s.kind in (int, float) and s.choices is None and positions(s) <= MAX_SLIDER_POSITIONS]


def test_step_time_300_practices():
    """Server time per Step (model + the frame the page gets) for a ~300-practice real area: within the target."""
    session = Session(region=MEASURED_REGION)
    n = session.model.region.n_practices
    assert 250 <= n <= 350
    session.attach(FakeView())
    model_ms, total_ms = [], []
    for _ in range(24):
        t0 = time.perf_counter()
        session.step(1)
        total_ms.append((time.perf_counter() - t0) * 1000)
        model_ms.append(session.step_ms[-1])
    print(
        f"\n{MEASURED_REGION} ({n} practices), 24 steps: model median {statistics.median(model_ms):.1f} ms, "
        f"model + frame median {statistics.median(total_ms):.1f} ms (max {max(total_ms):.0f} ms)"
    )
    assert statistics.median(total_ms) <= STEP_TARGET_MS


def test_frames_send_only_what_changed():
    """The fixed layers go once per run; each frame carries only the new months and the recoloured practices."""
    session = Session(region=MEASURED_REGION)
    view = FakeView()
    session.attach(view)
    assert len(view.bases) == 1 and len(view.frames) == 1
    first = view.frames[0]
    n = session.model.region.n_practices
    assert len(first["prac"]) == n  # a fresh page gets every practice
    assert first["rows"]["start"] == 0 and len(first["rows"]["dates"]) == 1
    for _ in range(12):
        session.step(1)
    assert len(view.bases) == 1  # stepping never re-sends the map's fixed layers
    for k, f in enumerate(view.frames[1:], start=1):
        assert f["rows"]["start"] == k and len(f["rows"]["dates"]) == 1  # one new month each
        assert len(f["prac"]) < n
    changed = sum(len(f["prac"]) for f in view.frames[1:])
    state = view.frames[-1]
    assert changed > 0, "twelve months without a practice joining, leaving or closing"
    assert len(json.dumps(state)) < 20_000
    base_kb = len(json.dumps(view.bases[0])) / 1000
    frame_kb = statistics.median(len(json.dumps(f)) for f in view.frames[1:]) / 1000
    print(f"\n{MEASURED_REGION}: fixed layers {base_kb:.0f} kB once, then {frame_kb:.1f} kB per update (median)")
    session.reset()
    assert len(view.bases) == 2  # a new run sends its layers again


def test_england_is_drawn_by_ccg_and_frames_stay_small():
    session = Session(scenario="england-2021")
    assert session.aggregated
    view = FakeView()
    session.attach(view)
    session.step(1)
    reg = session.model.region
    base = view.bases[-1]
    assert base["map"]["kind"] == "ccgs" and len(base["map"]["points"]) == reg.n_ccgs
    assert len(view.frames[-1]["ccgs"]) == reg.n_ccgs
    hospitals = next(s for s in base["map"]["option"]["series"] if s["id"] == "hospitals")
    assert hospitals["symbolSize"] <= 5  # ~200 small dots, not a sheet of squares
    size = len(json.dumps(base)), len(json.dumps(view.frames[-1]))
    print(
        f"\nEngland ({reg.n_practices} practices): fixed layers {size[0] / 1000:.0f} kB, frame {size[1] / 1000:.0f} kB"
    )
    assert size[0] < 400_000 and size[1] < 40_000


def test_pause_stops_within_one_update():
    """Play at full speed against a page that takes 30 ms to draw; Pause stops before the next step."""
    session = Session(overrides=SHORT)
    session.attach(FakeView(session, delay=0.03))
    playing = threading.Event()
    playing.set()
    t = threading.Thread(target=session.play, args=(lambda: 1, lambda: 0.0, playing.is_set))
    t.start()
    while session.month < 4:
        time.sleep(0.005)
    at_pause = session.month
    session.pause()
    t.join(timeout=5)
    assert not t.is_alive()
    assert session.month - at_pause <= 1  # the step already under way, at most
    assert session.month < session.n_months


def test_play_waits_for_the_page():
    """A slow page (200 ms a frame) sets the pace: frames are never queued ahead of what it has drawn."""
    session = Session(overrides=SHORT)
    view = FakeView(session, delay=0.2)
    session.attach(view)
    playing = threading.Event()
    playing.set()
    t = threading.Thread(target=session.play, args=(lambda: 1, lambda: 0.0, playing.is_set))
    t.start()
    time.sleep(1.0)
    playing.clear()
    session.pause()
    t.join(timeout=5)
    assert 3 <= session.month <= 7, session.month  # about one month per 200 ms, not as fast as the model can go


@pytest.mark.parametrize("end", ["low", "high"])
def test_extreme_sliders_do_not_crash(end):
    """Every slider at an end (as the page offers them): the run is built and steps; no value can only fail."""
    session = Session(overrides=SHORT)
    for spec in slider_specs():
        s = labels.shown(spec)
        session.set_value(spec.name, s.from_shown(s.low if end == "low" else s.high))
    if end == "high":
        # the page caps the CCG slider at the number of practices
        session.set_value("n_ccgs", min(int(labels.shown("n_ccgs").high), session.pending["n_practices"]))
    ok = session.reset()
    assert ok, session.error
    session.step(12)
    assert session.month == min(12, session.n_months)
    json.dumps(session.send_frame())


def vuetify_round(value: float, low: float, high: float, step: float) -> float:
    """What a Vuetify 2 slider sends for ``value`` (VSlider.roundValue): onto the step's grid from ``low``, then to
    as many decimals as the step is written with."""
    text = repr(float(step)) if not float(step).is_integer() else str(int(step))
    decimals = len(text.split(".")[1]) if "." in text else 0
    offset = low % step
    return round(min(round((value - offset) / step) * step + offset, high), decimals)


def test_slider_ends_stay_in_range():
    """The page's slider at either end gives a value its setting accepts (a range starting off the step's grid,
    0.1% with 1% steps, used to arrive as 0% and Reset could not start a run)."""
    from gpsim.ui.app import slider_step, within_range

    for spec in slider_specs():
        s = labels.shown(spec)
        for end in (s.low, s.high):
            sent = vuetify_round(end, s.low, s.high, slider_step(s))
            spec.check(s.from_shown(within_range(s, sent, s.high)))
    s = labels.shown("vanguard_population_share")
    assert vuetify_round(s.low, s.low, s.high, slider_step(s)) < s.low  # the case this guards against
    assert within_range(s, 0.0, s.high) == s.low


def test_slider_moves_reach_the_session_at_once():
    """Each move of a slider (its ``input`` event, sent in order with later clicks) is the pending value at once,
    without redrawing anything mid-move; the slider's own value redraws the page when it arrives; the slider
    rounding a value that is off its grid is not a move."""
    solara = pytest.importorskip("solara")
    import ipyvuetify as v

    from gpsim.ui.app import ParamControl

    session = Session(overrides=SHORT)
    pending_version, form_version = solara.reactive(0), solara.reactive(0)
    name = "difficult_history"
    _, rc = solara.render(ParamControl(session, name, pending_version, form_version), handle_error=False)
    slider = rc.find(v.Slider).widget

    def label() -> str:
        return rc.find(v.Sheet).widget.children[0].unsafe_innerHTML

    for shown in (5, 10, 15, 20, 25):  # five key presses, as the page sends them (percent)
        slider.fire_event("input", shown)
        assert session.pending[name] == pytest.approx(shown / 100)
    assert pending_version.value == 0 and "changed" not in label()  # nothing redrawn mid-move
    slider.v_model = 25  # the slider's value, held back by the page until now
    assert pending_version.value == 1 and session.pending[name] == pytest.approx(0.25)
    assert "applies on Reset" in label()
    slider.fire_event("input", 2000)  # no more than the slider's end
    assert session.pending[name] == pytest.approx(labels.shown(name).high / 100)
    session.set_value(name, 0.07)  # from a link: off the slider's 5% grid
    slider.fire_event("input", 5)  # the slider showing it at its nearest position
    assert session.pending[name] == 0.07
    rc.close()


def test_errors_name_settings_by_their_labels():
    session = Session()
    session.pending["n_ccgs"] = 1000  # what the page never offers, but a hand-made request could send
    assert not session.reset()
    assert "Number of CCGs" in session.error and "n_ccgs" not in session.error
    session.set_value("n_practices", 50)
    assert session.pending["n_ccgs"] <= 50  # fewer practices pull the CCG count down with them


def test_basic_settings_are_few_and_in_plain_words():
    assert 8 <= len(labels.BASIC) <= 12
    for name in labels.BASIC:
        text = labels.label(name)
        assert "_" not in text and text[0].isupper()
    for spec in SPECS:  # settings added later get a label made from their name until they have their own
        assert "_" not in labels.label(spec.name), spec.name
    assert labels.shown("distributed_leadership_share").text(0.2).startswith("20%")
    assert labels.shown("ccg_supportiveness").text(0.55) == "55%"
    assert labels.shown("subscription_per_patient").text(1.5).startswith("£1.5")
    assert labels.shown("org_fixed_cost").text(30000.0).startswith("£30,000")
    sh = labels.shown("difficult_history")
    assert (sh.low, sh.high) == (0.0, 100.0) and sh.from_shown(50.0) == 0.5
    assert sh.range_text == "from 0% to 100%"


def test_presets_never_change_the_area():
    session = Session(region="north-east-workshop")
    session.choose_scenario("funding-cliff")
    assert session.pending["region"] == "north-east-workshop"
    session.choose_scenario("england-2021")
    assert session.pending["region"] == "north-east-workshop"
    for name in SCENARIOS:
        text = preset_text(name)
        assert "synthetic" not in text.lower() and "_" not in text, text


def test_link_restores_preset_settings_seed_and_area():
    """The page address written after a Reset rebuilds the same run in a new tab."""
    a = Session(region="west-yorkshire")
    a.choose_scenario("funding-cliff")
    a.set_value("subscription_per_patient", 2.5)
    a.set_value("difficult_history", 0.4)
    a.pending_seed = 7
    assert a.reset()
    query = a.query()
    assert "subscription_per_patient=2.5" in query and "seed=7" in query and "area=west-yorkshire" in query
    b = Session.from_environment(query)
    assert (b.scenario, b.applied, b.seed) == (a.scenario, a.applied, a.seed)
    assert b.notes == []


def test_bad_link_values_are_skipped_and_named():
    s = Session.from_environment("preset=nope&seed=x&n_ccgs=abc&area=00L@/etc/passwd&years=2&bogus=1")
    assert s.scenario == "baseline" and s.seed == 0 and s.applied.years == 2.0
    text = " ".join(s.notes)
    assert "nope" in text and "seed" in text and "Number of CCGs" in text and "area" in text
    assert s.applied.region == "synthetic"


def test_typed_boxes_apply_each_keystroke_and_refuse_what_is_no_number():
    """The seed and number boxes hand each keystroke to the session (so a Reset straight after uses it); text
    that is no number makes Reset refuse, naming the box, and apply none of the other changes."""
    session = Session(overrides=SHORT)
    for text in ("1", "12", " 1,234 "):
        session.type_text("seed", text)
    assert session.pending_seed == 1234 and session.box_text("seed") == " 1,234 "
    session.type_text("region_seed", "57")
    assert session.pending["region_seed"] == 57
    assert session.reset() and (session.seed, session.applied.region_seed) == (1234, 57)
    assert session.box_text("seed") == "1234" and session.typed == {}  # the boxes now show what runs

    session.set_value("difficult_history", 0.9)
    for name, text in [("seed", "12x"), ("seed", "-3"), ("seed", "2.5"), ("region_seed", "abc"), ("region_seed", "")]:
        session.type_text(name, text)
    assert set(session.unreadable) == {"seed", "region_seed"}
    assert set(session.pending_changes()) == {"seed", "region_seed", "difficult_history"}
    model = session.model
    assert not session.reset()
    assert "Random seed: '2.5' is not a whole number" in session.error
    assert f"{labels.label('region_seed')}: '' is not a whole number" in session.error
    assert session.model is model and session.seed == 1234 and session.applied.difficult_history != 0.9
    assert session.box_text("seed") == "2.5"  # kept for the visitor to correct

    session.type_text("seed", "8")
    session.set_value("region_seed", 3)  # "back to the preset" or a link: the box's text gives way
    assert session.unreadable == {} and session.box_text("region_seed") == "3"
    assert session.reset() and (session.seed, session.applied.region_seed) == (8, 3)
    assert session.applied.difficult_history == 0.9 and session.error is None
    session.type_text("region_seed", "x")
    session.type_text("seed", "9")
    session.choose_scenario("funding-cliff")  # a preset keeps the area's settings, and so what was typed there
    assert not session.reset() and set(session.unreadable) == {"region_seed"} and session.seed == 8


def test_pinned_run_is_kept_for_the_browser():
    a = Session(overrides=SHORT, browser="cookie-1")
    a.step(5)
    a.pin()
    b = Session(overrides=SHORT, browser="cookie-1")  # the same browser after a reload
    assert b.pinned is a.pinned and b.pinned.months == 5
    assert Session(overrides=SHORT, browser="cookie-2").pinned is None
    b.unpin()
    assert Session(overrides=SHORT, browser="cookie-1").pinned is None


def test_region_is_never_a_visitor_path(tmp_path):
    """A browser can send any value for the area box; a register file path (or unknown text) is ignored."""
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
    started = Session(region="north-east-workshop")
    assert "north-east-workshop" in started.allowed_regions


def _spy_on_graph_files(monkeypatch) -> list[str]:
    """Record every relationship graph file the model reads, and every file a Path is asked about."""
    import networkx as nx

    from gpsim import network

    looked_at: list[str] = []
    read, read_graphml, is_file = network.read_peer_graph, nx.read_graphml, Path.is_file
    monkeypatch.setattr(network, "read_peer_graph", lambda path: looked_at.append(str(path)) or read(path))
    monkeypatch.setattr(nx, "read_graphml", lambda path, *a, **k: looked_at.append(str(path)) or read_graphml(path))
    monkeypatch.setattr(Path, "is_file", lambda self: looked_at.append(str(self)) or is_file(self))
    return looked_at


def test_peer_graph_is_only_what_the_server_offers(tmp_path, monkeypatch):
    """The relationship graph is 'nearest' or a file the server was started with; a file named by a link or sent
    by the browser is refused as text, never looked up, and the note says the same whether or not it exists."""
    import networkx as nx

    monkeypatch.delenv("GPSIM_UI_PEER_GRAPHS", raising=False)
    looked_at = _spy_on_graph_files(monkeypatch)
    notes = {}
    for path in ("/etc/passwd", "/no/such/file.graphml", str(tmp_path)):
        s = Session.from_environment(f"peer_graph={path}&years=2")
        assert s.applied.peer_graph == "nearest" and s.applied.years == 2.0  # the rest of the link still counts
        (note,) = s.notes
        notes[path] = note.replace(path, "PATH")
    assert looked_at == []
    assert len(set(notes.values())) == 1, notes  # nothing told about the file
    assert notes["/etc/passwd"] == (
        "Skipped Relationships between practices: the link had 'PATH'; this server allows 'nearest' "
        "(each practice's nearest neighbours)."
    )

    codes = Session(overrides=SHORT).model.region.practice_code
    given = tmp_path / "sharing.graphml"
    nx.write_graphml(nx.Graph([(str(codes[0]), str(codes[1])), (str(codes[1]), str(codes[2]))]), given)
    monkeypatch.setenv("GPSIM_UI_PEER_GRAPHS", str(given))
    s = Session.from_environment("peer_graph=/etc/passwd&years=2")
    assert s.peer_graphs == ("nearest", str(given))
    assert f"or a file given when the server was started: '{given}'" in s.notes[0]
    for bad in ("/etc/passwd", str(tmp_path / "other.graphml"), "sharing.graphml", ""):
        s.set_value("peer_graph", bad)  # what a tampered page could send
        assert s.pending["peer_graph"] == "nearest"
    s.pending["peer_graph"] = "/etc/passwd"  # even if it got in, Reset does not use it
    assert s.reset() and s.applied.peer_graph == "nearest"
    assert looked_at == []

    s.set_value("peer_graph", str(given))
    assert s.reset() and s.applied.peer_graph == str(given)
    assert s.model.peers.edges.tolist() == [[0, 1], [1, 2]]
    assert set(looked_at) <= {str(given)} and looked_at
    assert labels.describe(s.applied.to_dict(), ["peer_graph"]) == (
        "Relationships between practices: the graph in sharing.graphml"
    )
    link = Session.from_environment(s.query())  # a link to this run brings the file back on this server
    assert link.applied.peer_graph == str(given) and link.notes == []


def test_run_ten_seeds_gives_bands():
    session = Session(overrides={"years": "1"})
    session.step(6)
    session.pin()
    session.set_value("pump_priming_per_patient", 20.0)
    session.reset()
    view = FakeView()
    session.attach(view)
    session.run_seeds()
    assert session.bands and session.pinned.bands  # this run's and A's
    for dates, lo, med, hi in session.bands.values():
        assert len(dates) == session.n_months + 1
        assert all(a <= m <= b for a, m, b in zip(lo, med, hi, strict=True))
    ids = {s["id"] for c in view.bases[-1]["charts"] for s in c["option"]["series"]}
    assert any(i.startswith("run:") and i.endswith(":band") for i in ids)
    assert any(i.startswith("A:") and i.endswith(":band") for i in ids)


def test_ten_seeds_share_this_runs_region_and_can_be_cancelled(monkeypatch):
    """The bands are gpsim.replicates over seeds seed..seed+9 on the session's own region (no region is built);
    a cancel part-way leaves no bands."""
    import gpsim
    from gpsim import region as region_module

    session = Session(overrides={"years": "1"}, seed=4)
    session.attach(FakeView())
    built = []
    real = region_module.from_params
    monkeypatch.setattr(region_module, "from_params", lambda p: built.append(p) or real(p))
    seen = []
    session.run_seeds(progress=lambda d, t: seen.append((d, t)))
    assert built == [] and seen[-1] == (10, 10)
    runs = [gpsim.run(session.applied, seed=4 + k).steps["n_orgs"] for k in range(10)]
    median = np.percentile(np.vstack([r.to_numpy(dtype=float) for r in runs]), 50, axis=0)
    np.testing.assert_allclose(session.bands["n_orgs"][2], median)

    session.bands = None
    cancel = threading.Event()
    told = []
    session.run_seeds(progress=lambda d, t: told.append(d) or (d >= 3 and cancel.set()), cancel=cancel)
    assert session.bands is None and session.bands_progress is None and told == [1, 2, 3]


def test_organisation_story():
    session = Session(overrides={"years": "3"})
    session.step(36)
    table = session.steps_frame()
    assert table["n_orgs_founded_cum"].iloc[-1] > 0, "no organisation formed in three years of the baseline"
    story = session.org_story(0)
    assert story["months"] and len(story["members"]) == len(story["months"]) == len(story["reserves"])
    assert story["row"]["org"] == 0
    assert session.org_story(10_000) is None
    # money in and out by source, per year: the model's own monthly record of that organisation, summed
    money = story["money"]
    mine = session.model.org_money().query("org == 0")
    assert money["years"][0] == f"year {(int(mine['step'].min()) - 1) // 12 + 1}"
    subs = money["flows"][labels.MONEY_WORDS["subscriptions"]]
    assert len(subs) == len(money["years"]) and sum(subs) == pytest.approx(mine["subscriptions"].sum())
    running = money["totals"][labels.MONEY_WORDS["running_costs"]]
    assert running == pytest.approx(-mine["running_costs"].sum()) and running < 0  # money out is below the line
    assert set(money["flows"]) == set(money["totals"]) and all(v != 0 for v in money["totals"].values())


def test_organisations_table_shows_asks_delivered_of_taken():
    """The table's asks column is each organisation's hospital asks delivered "of" those it took on."""
    from gpsim.ui import frames

    session = Session(scenario="funding-cliff", overrides={"years": "5"})
    session.step(60)
    orgs = frames_orgs(session)
    took = orgs[orgs["asks_taken"] > 0]
    assert len(took), "no organisation took on a hospital ask in five years of the funding cliff"
    rows = frames.org_rows(orgs, session.month, limit=len(orgs))["rows"]
    by_org = {r["org"]: r["asks"] for r in rows}
    for _, o in orgs.iterrows():
        assert by_org[int(o["org"])] == f"{int(o['asks_delivered'])} of {int(o['asks_taken'])}"


def frames_orgs(session):
    from gpsim.ui import observe

    return observe.orgs(session.model)


def test_downloads_say_what_they_are():
    session = Session(scenario="funding-cliff", region="north-east-workshop")
    session.step(3)
    text = session.steps_csv()
    head = [line for line in text.splitlines() if line.startswith("#")]
    assert any("One-off money for new organisations" in line and "£10" in line for line in head)
    rows = [line for line in text.splitlines() if not line.startswith("#")]
    assert rows[0].startswith("Month of the run,Date,")  # plain names first
    assert rows[1].startswith("step,date,")  # then the names scripts use
    assert len(rows) == 2 + 4
    assert re.fullmatch(r"gpsim-funding-cliff-north-east-workshop-\d{4}-\d\d-\d\d", session.file_stem())
    from gpsim.ui import report

    page = report.html_report(session)
    assert page.count("data:image/png;base64,") == 2
    assert "One-off money for new organisations" in page and "funding-cliff" in page


def test_map_png_title_fits_and_hospitals_are_small():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from gpsim.ui import figures

    session = Session(scenario="england-2021")
    fig = figures.map_figure(session.model, aggregated=True)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    title = ax.title.get_window_extent(canvas.get_renderer())
    assert title.x0 >= 0 and title.x1 <= fig.bbox.x1 + 0.5, (title, fig.bbox)
    sizes = [c.get_sizes() for c in ax.collections if len(c.get_offsets()) == session.model.region.n_hospitals]
    assert sizes and max(float(np.max(s)) for s in sizes) <= 10


def test_stories_play_end_to_end():
    session = Session(overrides=SHORT)
    for key, story in STORIES.items():
        for k, step in enumerate(story.steps):
            got = session.story_prepare(key, k)
            assert got is step
            session.step(step.run_to - session.month, send=False)
            assert session.month == min(step.run_to, session.n_months)
            if step.preset:
                assert session.scenario == step.preset
            for name, value in step.settings.items():
                assert getattr(session.applied, name) == value
            if step.pin_first:
                assert session.pinned is not None
        back = session.story_prepare(key, 0)  # Back to the start
        assert session.pinned is None and back is story.steps[0]


def test_room_gathers_runs_and_lets_people_leave():
    room = rooms.new_room()
    assert re.fullmatch(r"[A-Z2-9]{4}", room.code) and rooms.find(room.code.lower()) is room
    people = [Session(overrides={"years": "1", "subscription_per_patient": str(s)}) for s in (0.5, 2.0, 3.0)]
    for p in people:
        room.join(p)
        p.step(6)
    runs = room.runs()
    assert len(runs) == 3 and {r["month"] for r in runs} == {6}
    assert rooms.differing_settings(runs)[0] == "subscription_per_patient"
    assert all("Members' subscription" in r["label"] for r in runs)
    room.set_frozen(True)
    people[0].step(3)
    assert {r["month"] for r in room.runs()} == {6}  # frozen: the picture stays still
    room.set_frozen(False)
    room.push_story("money-stops")
    assert room.push[1:] == ("story", "money-stops")
    room.clear()
    assert room.runs() == []
    del people[0]
    gc.collect()
    assert len(room.participants) == 2  # a closed tab (its session gone) leaves the room


def test_room_memory_per_participant():
    """30 participants, each running the baseline to the end: server memory per participant."""
    room = rooms.new_room()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    people = []
    for k in range(30):
        s = Session(seed=k)
        room.join(s)
        s.attach(FakeView())
        s.step(s.n_months)
        people.append(s)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(room.runs()) == 30
    per = used / 30 / 1e6
    print(f"\nroom: 30 participants, each a full 120-month run of 180 practices: {per:.1f} MB per participant")
    assert per < 30


def test_page_code_evaluates_nothing_and_opens_no_files():
    """No eval/exec/compile/open/import-by-name in the page code, and no file or process calls in it (mapdata reads
    only the files shipped in gpsim/data, by fixed names)."""
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
    pages = ("app.py", "session.py", "frames.py", "figures.py", "live.py", "labels.py", "room.py", "report.py")
    for name in pages + ("stories.py", "observe.py"):
        tree = ast.parse((UI / name).read_text(), name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name):
                    assert f.id not in banned_calls, f"{name}:{node.lineno} calls {f.id}"
                elif isinstance(f, ast.Attribute) and not (name == "session.py" and f.attr == "run"):
                    assert f.attr not in banned_attrs, f"{name}:{node.lineno} calls .{f.attr}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "subprocess", "shutil", "importlib"} & set(mods), f"{name} imports {mods}"
    opened = re.findall(r"open\(([^)]*)\)", (UI / "mapdata.py").read_text())
    assert opened == ['path, "rb"'], opened


def test_every_group_has_a_plain_explanation():
    pytest.importorskip("solara")
    from gpsim.ui.app import GROUP_GUIDE

    for group in GROUPS:
        text = GROUP_GUIDE[group]
        assert len(text) > 80 and "_" not in text  # sentences, not parameter names


def test_area_settings_are_not_presets():
    assert set(labels.SYNTHETIC_ONLY) <= set(AREA_SETTINGS)
    for name in labels.SYNTHETIC_ONLY:
        assert SPECS_BY_NAME[name].group == GROUPS[0]


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


def test_primary_care_networks_show_when_the_run_has_the_network_des():
    """With the Network DES the membership chart draws the share of practices in a network and the
    organisations chart the number of networks, with a line in words saying from when; without it, neither."""
    month = 3
    session = Session(overrides={"network_des_start_month": str(month), "years": "1"})
    view = FakeView()
    session.attach(view)
    session.step(month + 1)
    charts = {c["key"]: c for c in view.bases[-1]["charts"]}
    assert "share_practices_in_pcn" in {g["col"] for g in charts["share"]["lines"]}
    assert "n_pcns" in {g["col"] for g in charts["orgs"]["lines"]}
    from gpsim.ui.frames import month_text

    first = session.steps_frame().query("n_pcns > 0")
    assert len(first), "no primary care network formed after the Network DES started"
    assert f"from {month_text(session.start, int(first['step'].iloc[0]))}" in charts["share"]["note"]
    assert f"{session.applied.pcn_min_population:,.0f}" in charts["share"]["note"]

    plain = Session(overrides={"years": "1"})
    plain.attach(view)
    charts = {c["key"]: c for c in view.bases[-1]["charts"]}
    assert not {"share_practices_in_pcn", "n_pcns"} & {g["col"] for c in charts.values() for g in c["lines"]}
    assert "No primary care networks" in charts["share"]["note"]


def test_map_outlines_are_closed_short_edged_and_without_holes():
    """England's outline and an area's are closed lines with short edges (no long stray chords), England has no
    hole inside it (the Lake District's sparse districts used to leave one) and every practice is inside its area."""
    from matplotlib.path import Path as Polygon

    from gpsim.region import from_params
    from gpsim.ui import mapdata

    pytest.importorskip("contourpy")
    reg = from_params(Session(region="north-east-workshop").applied)
    area, england = mapdata.outlines(reg, aggregated=False)
    for lines in (area, england):
        assert lines
        for line in lines:
            assert np.allclose(line[0], line[-1]), "an outline is a closed line"
            assert np.hypot(*np.diff(line, axis=0).T).max() < 10.0, "a long straight edge"
    main = max(england, key=len)
    inside = [Polygon(line).contains_point(main[0]) for line in england if line is not main]
    holes = [line for line in england if line is not main and Polygon(main).contains_point(line.mean(axis=0))]
    assert not holes and not any(inside)
    d = mapdata.districts()
    keswick = d.loc["CA12", ["x", "y"]].to_numpy(dtype=float)  # the heart of the Lake District
    assert Polygon(main).contains_point(keswick)
    practices = np.column_stack([reg.x, reg.y])
    assert np.logical_or.reduce([Polygon(line).contains_points(practices) for line in area]).all()


def test_map_names_do_not_cover_each_other():
    """Town and CCG names on a real area's map: no two labels overlap, and none covers a hospital or CCG marker."""
    from gpsim.ui import frames, mapdata

    session = Session(region="west-yorkshire")
    base = frames.map_base(session.model, aggregated=False)
    reg = session.model.region
    x0, x1 = base["option"]["xAxis"]["min"], base["option"]["xAxis"]["max"]
    km = (x1 - x0) / mapdata.MAP_PX
    series = {s["id"]: s for s in base["option"]["series"]}
    towns = [(d["name"], *d["value"]) for d in series["towns"]["data"]]
    ccgs = [d for d in series["ccgs"]["data"] if d.get("label", {}).get("show")]
    assert len(towns) >= 5 and ccgs
    boxes = [mapdata.label_box(x, y, name, km, where="top") for name, x, y in towns]
    boxes += [mapdata.label_box(*d["value"], d["name"], km, where="right", size=10.0) for d in ccgs]
    for i, a in enumerate(boxes):
        assert not any(mapdata.overlaps(a, b) for b in boxes[i + 1 :]), (i, a)
    marks = [(x - 7 * km, x + 7 * km, y - 7 * km, y + 7 * km) for x, y in reg.hospital_xy]
    assert not any(mapdata.overlaps(b, m) for b in boxes for m in marks)
