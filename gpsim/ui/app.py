# ruff: noqa: N802  (Solara components are named like classes)
"""The workshop pages (``gpsim ui`` serves them; or ``solara run gpsim.ui.app``).

``/`` is a participant's page: choose an area and a preset, change the Basic settings (the rest are under
Advanced), press Reset, then Step or Play. ``/room`` is the facilitator's page: a room code, every participant's
run gathered live, and buttons to push a preset or a story to the room.

Each browser tab gets its own :class:`~gpsim.ui.session.Session` (built inside the page with ``use_memo``), so
two people never see each other's runs. The live part (map, charts, table) is one browser widget fed by the
session with only what changed (see :mod:`gpsim.ui.live`). Downloads use matplotlib.
"""

from __future__ import annotations

import html
import math
import os
import re
import threading
from urllib.parse import parse_qsl

import solara

from gpsim.params import GROUPS, SPECS, SPECS_BY_NAME
from gpsim.scenarios import SCENARIOS
from gpsim.ui import figures, guard, labels, report
from gpsim.ui import room as rooms
from gpsim.ui.frames import whole
from gpsim.ui.inputs import MovedSlider, TypedBox
from gpsim.ui.live import LiveView, RoomAddress
from gpsim.ui.session import (
    AREA_SETTINGS,
    Session,
    live_counts,
    preset_text,
    region_choices,
    region_description,
    region_title,
)
from gpsim.ui.stories import STORIES

guard.install()  # in a server: never-shown connections let go soon, tabs per computer capped, /resourcez local

#: Sliders with more positions than this become number boxes (e.g. the number of practices, the region seed).
MAX_SLIDER_POSITIONS = 1000
#: How many months each Play update runs.
MONTHS_PER_UPDATE = [1, 3, 6, 12]
#: Pause between updates while playing (seconds); Play also waits for the page to draw each update.
SPEEDS = {"fast": 0.0, "steady": 0.4, "slow": 1.0}
#: Set to 1 to show developer figures (timings, and how many sessions and models the server holds).
ENV_DEBUG = "GPSIM_UI_DEBUG"

#: What each group of Advanced settings is about, for a GP partner or practice manager (the settings themselves
#: come from the one parameter declaration, gpsim.SPECS).
GROUP_GUIDE = {
    "Region & time": "The make-up of a made-up area (real areas come from the NHS register), hospitals' catchments "
    "and the calendar. The run goes forward a month at a time.",
    "Practices & workload": "The day job. How many appointments patients want and how fast that grows, how many GPs "
    "there are and how easily you can recruit, what a practice earns and spends. When demand outstrips what its GPs "
    "can offer for months on end, or the money runs out, a practice closes or merges with a neighbour.",
    "Trust": "Whether practices trust each other and the people leading their organisation. Trust grows slowly when "
    "an organisation delivers and falls fast when it lets members down; a difficult local history makes everything "
    "harder. When members stop trusting their leaders they leave, and the organisation can fall apart.",
    "Money": "Who pays for working at scale: one-off money from outside, joining fees and subscriptions from "
    "member practices, recurrent per-patient payments (like the PCN contract) and contracts from hospitals or CCGs, "
    "set against what the organisation costs to run. Watch what happens when the one-off money stops.",
    "Leadership": "Somebody has to build the organisation on top of their clinics. These settings say how much spare "
    "partner time there is, how much a busy surgery eats into it, how many practices have a driven ('heroic') leader, "
    "and how fast leaders burn out. An organisation needs months of this effort before members see any benefit.",
    "Commissioners & hospitals": "The world around the practices: how supportive the CCGs are and what size of "
    "organisation they push for, how often practices think about starting or joining one, and when hospitals or CCGs "
    "trust an organisation enough to give it contracts.",
}

#: One plain sentence for each Basic setting.
BASIC_HELP = {
    "pump_priming_per_patient": "Money from outside (e.g. the CCG) paid to new organisations of 20,000+ patients.",
    "pump_priming_months": "After this the one-off money stops.",
    "subscription_per_patient": "What member practices pay their organisation each year.",
    "recurrent_funding_per_patient": "A payment that keeps coming to network-sized organisations, from month 24.",
    "distributed_leadership_share": "The rest rely on one driven leader, who can burn out.",
    "heroic_leader_share": "Practices with a partner who has lots of spare drive to start something.",
    "difficult_history": "Old rivalries make practices slower to trust each other.",
    "ccg_supportiveness": "How much the CCGs back general practice working at scale.",
    "target_org_size": "Practices dislike joining an organisation much bigger than this.",
    "years": "How long the run is.",
}

CSS = """
.gpsim-page { padding: 8px 14px; max-width: 100vw; box-sizing: border-box; }
.gpsim-title { font-size: 1.45rem; font-weight: 600; margin: 0; }
.gpsim-sub { color: #555; margin: 0 0 6px 0; }
.gpsim-main { display: grid; grid-template-columns: minmax(260px, 330px) minmax(0, 1fr); gap: 12px;
  align-items: start; }
.gpsim-presenting .gpsim-main { grid-template-columns: minmax(0, 1fr); }
@media (max-width: 760px) {
  .gpsim-main { grid-template-columns: minmax(0, 1fr); }
  .gpsim-page { padding: 6px 8px; }
  .gpsim-title { font-size: 1.2rem; }
}
.gpsim-side { min-width: 0; }
@media (min-width: 761px) { .gpsim-side { max-height: calc(100vh - 80px); overflow-y: auto; padding-right: 4px; } }
.gpsim-step-title { font-weight: 700; margin: 8px 0 2px 0; }
.gpsim-param { margin: 0 0 4px 0; padding: 6px 0 0 0; border-top: 1px solid #eee; min-width: 0; }
.gpsim-param-label { font-size: 0.86rem; font-weight: 600; color: #222; }
.gpsim-param-label .gpsim-value { font-weight: 700; color: #1565c0; white-space: nowrap; }
.gpsim-changed { color: #e65100; font-weight: 600; font-size: 0.75rem; margin-left: 4px; }
.gpsim-param .v-input__slot { margin-bottom: 0; }
.gpsim-param .v-messages { display: none; }
.gpsim-param .gpsim-box .v-messages { display: block; }
.gpsim-param .v-input { margin-top: 0; padding-top: 0; }
.gpsim-range { font-size: 0.72rem; color: #777; display: flex; justify-content: space-between; gap: 6px;
  flex-wrap: wrap; }
.gpsim-back { font-size: 0.72rem !important; height: 20px !important; padding: 0 4px !important;
  text-transform: none !important; }
.gpsim-help { font-size: 0.76rem; color: #666; line-height: 1.2; margin: 1px 0 0 0; }
.gpsim-group-help { font-size: 0.82rem; color: #333; margin-bottom: 8px; line-height: 1.3; background: #f3f6fa;
  border-left: 3px solid #1565c0; padding: 6px 8px; }
.gpsim-group-name { font-weight: 700; margin-top: 10px; color: #1565c0; }
.gpsim-status { font-size: 1.05rem; font-weight: 600; }
.gpsim-chart-key { font-size: 0.85rem; color: #1565c0; font-weight: 600; }
.gpsim-chart-title { font-size: 0.82rem; font-weight: 600; color: #333; padding: 2px 4px 0 4px; line-height: 1.2; }
.gpsim-chart-legend { font-size: 0.74rem; color: #444; padding: 0 4px; display: flex; flex-wrap: wrap;
  gap: 2px 12px; }
.gpsim-chart-legend .gpsim-line { display: inline-block; width: 18px; height: 0; vertical-align: middle;
  margin-right: 4px; }
.gpsim-chart-note { font-size: 0.72rem; color: #666; padding: 0 4px 2px 4px; line-height: 1.2; }
.gpsim-timing { font-size: 0.75rem; color: #888; }
.gpsim-panel { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 4px; margin-bottom: 8px;
  min-width: 0; box-sizing: border-box; }
.gpsim-swatch { display: inline-block; width: 11px; height: 11px; border-radius: 50%; vertical-align: middle; }
.gpsim-legend { font-size: 0.78rem; color: #555; }
.gpsim-controls { display: flex; flex-wrap: wrap; gap: 6px 8px; align-items: center; padding-top: 6px; }
.gpsim-controls .v-input { margin-top: 0; padding-top: 0; }
.gpsim-control-box { width: 120px; }
@media (max-width: 760px) { .gpsim-control-box { width: calc(50% - 8px); } }
.gpsim-below { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; }
@media (max-width: 900px) { .gpsim-below { grid-template-columns: minmax(0, 1fr); } }
.gpsim-story { background: #fff8e1; border: 1px solid #ffcc80; border-radius: 6px; padding: 8px 10px;
  margin: 6px 0; }
.gpsim-story-text { font-size: 1rem; line-height: 1.35; margin: 4px 0; }
.gpsim-presenting .gpsim-story-text { font-size: 1.6rem; }
.gpsim-room-bar { background: #e8f5e9; border: 1px solid #a5d6a7; border-radius: 6px; padding: 4px 10px;
  margin: 4px 0; font-size: 0.9rem; }
.gpsim-room-code { font-size: 4rem; font-weight: 800; letter-spacing: 0.4rem; color: #1565c0; line-height: 1; }
.gpsim-room-url { font-size: 1.3rem; font-weight: 600; word-break: break-all; }
.gpsim-room-count { font-size: 1.6rem; font-weight: 700; }
.gpsim-multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 8px; }
.gpsim-multiple-label { font-size: 0.75rem; color: #333; line-height: 1.2; min-height: 2.4em; }
.gpsim-room-top { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: center; }
.gpsim-story-panel { max-width: 100%; }
div.gpsim-beside.gpsim-beside { display: grid !important; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr);
  column-gap: 14px; align-items: start; }
.gpsim-beside > * { grid-column: 1; }
.gpsim-beside > .gpsim-live, .gpsim-beside > *:has(.gpsim-live) { grid-column: 2; grid-row: 1 / span 8; }
"""


def _debug(query: dict) -> bool:
    return os.environ.get(ENV_DEBUG) == "1" or query.get("debug") == "1"


# --- one setting ------------------------------------------------------------------------------------
def positions(spec) -> float:
    s = labels.shown(spec)
    step = s.step or (1 if spec.kind is int else (s.high - s.low) / 100)
    return (s.high - s.low) / step


def slider_step(s: labels.Shown) -> float:
    return s.step or (1 if s.spec.kind is int else (s.high - s.low) / 100)


def is_snap(s: labels.Shown, value, new) -> bool:
    """True when ``new`` (shown units) is only ``value`` (shown units) rounded to the slider's grid (a slider does
    this when it first shows a value between its positions, and would otherwise change a setting nobody touched)."""
    if s.spec.kind not in (int, float) or s.spec.choices is not None or s.low is None or value == new:
        return False
    step = slider_step(s)
    grid = s.low + round((value - s.low) / step) * step
    return not math.isclose(value, grid, rel_tol=1e-9, abs_tol=1e-12) and math.isclose(
        new, grid, rel_tol=1e-9, abs_tol=1e-9
    )


def within_range(s: labels.Shown, new, high):
    """A slider's value (shown units) kept inside the setting's range.

    Vuetify rounds a slider's value to as many decimals as its step has, so a range that starts off the step's
    grid (0.1% with a step of 1%) gives 0 at its left end: a value the setting refuses, so Reset could not
    start a run. The end of the range is what the visitor asked for.
    """
    if s.low is None or not isinstance(new, int | float) or isinstance(new, bool):
        return new
    return min(max(new, s.low), high)


_JARGON = re.compile(r"\s*\([^)]*(Beta|logit|log|utility|sigma|DES-like)[^)]*\)")


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def plain_meaning(name: str, session: Session | None = None) -> str:
    """A setting's meaning without formulae in brackets (for the relationship graph: what this server offers)."""
    if name == "peer_graph" and session is not None:
        offered = (
            "or one of the relationship graphs the facilitator gave (e.g. patient sharing)"
            if len(session.peer_graphs) > 1
            else "the only choice on this server (a facilitator can offer a graph file, e.g. of patient sharing, "
            "with 'gpsim ui --peer-graph FILE')"
        )
        return (
            f"Who works with whom: each practice's nearest neighbours, {offered}. Practices start, join and merge "
            "organisations along it."
        )
    return BASIC_HELP.get(name) or _JARGON.sub("", SPECS_BY_NAME[name].meaning)


@solara.component
def ParamControl(session: Session, name: str, pending_version: solara.Reactive, form_version: solara.Reactive):
    """One setting: its label and value in plain units, a slider (or box or list) with its range shown, what it
    means, and "back to the preset" when it differs from the preset.

    It re-renders when its own value changes or when many change at once (``form_version``: a preset, a Reset),
    not on every other slider's move (with 80 settings that made each move redraw them all)."""
    _ = form_version.value
    _tick, set_tick = solara.use_state(0)
    spec = SPECS_BY_NAME[name]
    sh = labels.shown(spec)
    value = session.pending[name]
    applied = getattr(session.applied, name)
    preset = session.preset_value(name)
    high = sh.high
    if name == "n_ccgs":  # never offer more CCGs than practices
        high = min(high, int(session.pending["n_practices"]))

    def change(v):
        if v is None:
            return
        if spec.choices is None and spec.kind in (int, float) and positions(spec) <= MAX_SLIDER_POSITIONS:
            v = within_range(sh, v, high)  # a slider (number boxes are checked on Reset, and say why)
        if is_snap(sh, sh.to_shown(value), v):
            return  # the slider rounding a value that is off its grid: not a visitor's move
        session.set_value(name, sh.from_shown(v))
        set_tick(lambda t: t + 1)
        pending_version.value += 1
        if name == "n_practices":  # the CCG slider's top follows it
            form_version.value += 1

    def moved(v):
        """A slider's move, at once (so Reset straight after uses it); ``change`` redraws when the value arrives."""
        v = within_range(sh, v, high)
        if not is_snap(sh, sh.to_shown(session.pending[name]), v):
            session.set_value(name, sh.from_shown(v))

    def back():
        session.set_value(name, preset)
        set_tick(lambda t: t + 1)
        pending_version.value += 1

    def typed(text: str) -> None:
        session.type_text(name, text)  # at once, before any click; the page catches up in typed_done

    def typed_done() -> None:
        set_tick(lambda t: t + 1)
        pending_version.value += 1
        if name == "n_practices":
            form_version.value += 1

    changed = labels.differs(value, applied)
    head = f"<span>{html.escape(sh.label)}: </span><span class='gpsim-value'>{html.escape(sh.text(value))}</span>" + (
        f"<span class='gpsim-changed'>changed (was {html.escape(sh.text(applied))}): applies on Reset</span>"
        if changed
        else ""
    )
    with solara.Column(gap="0px", classes=["gpsim-param", f"gpsim-param-{name}"]):
        solara.HTML(tag="div", unsafe_innerHTML=head, classes=["gpsim-param-label"])
        if name == "peer_graph":  # only what the server was started with: never a file a visitor names
            solara.v.Select(
                items=[dict(text=upper_first(sh.text(g)), value=g) for g in session.peer_graphs],
                v_model=value,
                on_v_model=change,
                dense=True,
                hide_details=True,
                class_="gpsim-peer-graph",
            )
        elif spec.choices is not None:
            solara.Select(label="", values=list(spec.choices), value=value, on_value=change, dense=True)
        elif spec.kind is bool:
            solara.Checkbox(label="on", value=value, on_value=change)
        elif spec.kind is str or positions(spec) > MAX_SLIDER_POSITIONS:
            TypedBox(
                text=session.box_text(name),
                on_text=typed,
                on_done=typed_done,
                error=session.box_error(name),
                classes=["gpsim-box"],
            )
        elif spec.kind is int:
            MovedSlider(
                value=int(value), min=int(sh.low), max=int(high), step=int(sh.step or 1), on_move=moved, on_value=change
            )
        else:
            MovedSlider(
                value=sh.to_shown(value), min=sh.low, max=high, step=slider_step(sh), on_move=moved, on_value=change
            )
        with solara.Div(classes=["gpsim-range"]):
            if sh.low is not None and spec.choices is None:
                solara.HTML(tag="span", unsafe_innerHTML=html.escape(labels.range_words(sh, high)))
            if labels.differs(value, preset) and name not in AREA_SETTINGS:
                solara.Button(
                    f"back to the preset ({sh.text(preset)})",
                    on_click=back,
                    text=True,
                    small=True,
                    classes=["gpsim-back"],
                )
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(plain_meaning(name, session)), classes=["gpsim-help"])


# --- the settings column ----------------------------------------------------------------------------
@solara.component
def AreaAndPreset(session: Session, pending_version, form_version):
    _ = form_version.value, pending_version.value
    v = solara.v

    def choose_area(value):
        if value:
            session.choose_area(value)
            pending_version.value += 1
            form_version.value += 1

    def choose_preset(value):
        if value:
            session.choose_scenario(value)
            pending_version.value += 1
            form_version.value += 1

    area = session.pending["region"]
    areas = [r for r in region_choices(area) if r in session.allowed_regions]
    solara.HTML(tag="div", unsafe_innerHTML="1. Choose the area", classes=["gpsim-step-title"])
    v.Select(
        label="Area",
        items=[dict(text=region_title(r), value=r) for r in areas],
        v_model=area,
        on_v_model=choose_area,
        dense=True,
        outlined=True,
        hide_details=True,
        class_="gpsim-area",
    )
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(region_description(area)), classes=["gpsim-help"])
    solara.HTML(tag="div", unsafe_innerHTML="2. Start from a preset", classes=["gpsim-step-title"])
    v.Select(
        label="Preset",
        items=[dict(text=name, value=name) for name in SCENARIOS],
        v_model=session.scenario,
        on_v_model=choose_preset,
        dense=True,
        outlined=True,
        hide_details=True,
        class_="gpsim-preset",
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=html.escape(preset_text(session.scenario) + " The area stays as you chose it."),
        classes=["gpsim-help", "gpsim-preset-text"],
    )


@solara.component
def PendingBanner(session: Session, pending_version: solara.Reactive):
    _ = pending_version.value
    changes = session.pending_changes()
    if session.error:
        solara.Error(f"Could not start a run with these settings: {session.error}", classes=["gpsim-error"])
    if changes:
        names = ", ".join(labels.label(c) for c in changes[:4]) + (" ..." if len(changes) > 4 else "")
        solara.Warning(
            f"{len(changes)} setting(s) changed ({names}). They apply when you press Reset.",
            classes=["gpsim-pending"],
            dense=True,
        )
    else:
        solara.Info("Move a slider, then press Reset to start a new run with it.", dense=True)


@solara.component
def Settings(session: Session, pending_version, form_version):
    _ = form_version.value
    advanced_open = solara.use_reactive(False)
    real = session.pending["region"] != "synthetic"
    with solara.Column(gap="2px", classes=["gpsim-side"]):
        AreaAndPreset(session, pending_version, form_version)
        solara.HTML(tag="div", unsafe_innerHTML="3. Change what you want to try", classes=["gpsim-step-title"])
        PendingBanner(session, pending_version)
        with solara.Column(gap="0px", classes=["gpsim-basic"]):
            for name in labels.BASIC:
                if name != "region":
                    ParamControl(session, name, pending_version, form_version).key(name)
        advanced = [s for s in SPECS if s.name not in labels.BASIC and not (real and s.name in labels.SYNTHETIC_ONLY)]
        solara.Button(
            ("Hide the advanced settings" if advanced_open.value else f"Advanced: {len(advanced)} more settings"),
            icon_name="mdi-chevron-up" if advanced_open.value else "mdi-chevron-down",
            on_click=lambda: advanced_open.set(not advanced_open.value),
            text=True,
            classes=["gpsim-advanced-header"],
        )
        if advanced_open.value:  # built only when opened (most people never do)
            with solara.Column(gap="0px", classes=["gpsim-advanced"]):
                for group in GROUPS:
                    specs = [s for s in advanced if s.group == group]
                    if not specs:
                        continue
                    solara.HTML(tag="div", unsafe_innerHTML=html.escape(group), classes=["gpsim-group-name"])
                    solara.HTML(
                        tag="div", unsafe_innerHTML=html.escape(GROUP_GUIDE[group]), classes=["gpsim-group-help"]
                    )
                    for s in specs:
                        ParamControl(session, s.name, pending_version, form_version).key(s.name)


# --- the run area -----------------------------------------------------------------------------------
@solara.component
def RunControls(session: Session, state: dict, pending_version, form_version, run_version):
    _ = pending_version.value, run_version.value
    playing, mpu, speed = state["playing"], state["mpu"], state["speed"]

    def reset():
        stop(playing, session)
        session.reset()
        run_version.value += 1
        pending_version.value += 1
        form_version.value += 1

    def step():
        if playing.value:
            return
        session.step(1)
        if session.finished:
            run_version.value += 1

    def play_pause():
        if playing.value:
            stop(playing, session)
        else:
            state["until"].value = None
            playing.value = True

    def type_seed(text: str) -> None:
        session.type_text("seed", text)  # at once, so a Reset clicked straight after uses it

    def seed_done() -> None:
        pending_version.value += 1

    pending = bool(session.pending_changes())
    with solara.Div(classes=["gpsim-controls"]):
        solara.Button(
            "Reset" + (" (apply changes)" if pending else ""),
            icon_name="mdi-restart",
            on_click=reset,
            color="warning" if pending else None,
            classes=["gpsim-reset"],
        )
        solara.Button(
            "Step", icon_name="mdi-skip-next", on_click=step, disabled=session.finished, classes=["gpsim-step"]
        )
        solara.Button(
            "Pause" if playing.value else "Play",
            icon_name="mdi-pause" if playing.value else "mdi-play",
            color="primary",
            on_click=play_pause,
            disabled=session.finished and not playing.value,
            classes=["gpsim-play"],
        )
        with solara.Div(classes=["gpsim-control-box"]):
            solara.Select(
                label="Months per update", values=MONTHS_PER_UPDATE, value=mpu, dense=True, classes=["gpsim-mpu"]
            )
        with solara.Div(classes=["gpsim-control-box"]):
            solara.Select(label="Play speed", values=list(SPEEDS), value=speed, dense=True, classes=["gpsim-speed"])
        with solara.Div(classes=["gpsim-control-box"]):
            TypedBox(
                text=session.box_text("seed"),
                on_text=type_seed,
                on_done=seed_done,
                label="Random seed",
                error=session.box_error("seed"),
                classes=["gpsim-seed"],
            )


def stop(playing: solara.Reactive, session: Session) -> None:
    """Pause now: the session stops before its next step; the button turns back into Play."""
    session.pause()
    playing.value = False


@solara.component
def RunArea(session: Session, state: dict, pending_version, form_version, run_version, debug: bool):
    playing = state["playing"]
    picked = solara.use_reactive(-1)

    def play(cancel: threading.Event):
        if not playing.value:
            return
        until = state["until"].value

        def running() -> bool:
            return playing.value and not cancel.is_set() and (until is None or session.month < until)

        session.play(
            months=lambda: state["mpu"].value if until is None else min(state["mpu"].value, until - session.month),
            delay=lambda: SPEEDS.get(state["speed"].value, 0.4),
            running=running,
        )
        if playing.value and not cancel.is_set():
            playing.value = False  # the end of the run (or of a story step)
            run_version.value += 1

    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)

    def pick(org: int):
        picked.value = org
        session.highlight(org)

    live = LiveView.element(
        on_hello=session.attach,
        on_ack=session.acked,
        on_pick=pick,
        debug=debug,
        presenter=state["presenter"].value,
        show=state["show"].value,
        query=state["query"],
    )

    def detach():
        widget = solara.get_widget(live)
        return lambda: session.detach(widget)

    solara.use_effect(detach, [])
    beside = state["presenter"].value and state["show"].value == "map"  # a projector: the map beside the rest
    with solara.Column(gap="4px", style={"min-width": "0"}, classes=["gpsim-beside"] if beside else []):
        RunControls(session, state, pending_version, form_version, run_version)
        StoryBar(session, state, pending_version, form_version, run_version)
        CompareKey(session, run_version)
        solara.display(live)
        if picked.value >= 0 and not state["presenter"].value:
            OrgStory(session, picked, run_version)
        if not state["presenter"].value:
            with solara.Div(classes=["gpsim-below"]):
                Compare(session, state, run_version, pending_version)
                Downloads(session, run_version)


@solara.component
def CompareKey(session: Session, run_version):
    _ = run_version.value
    a = session.pinned
    if a is None:
        return
    text = f"Dashed lines = run A ({a.label})"
    if a.months < a.n_months:
        text += f", kept at month {a.months} of {a.n_months}: its lines stop there"
    solara.HTML(
        tag="div", unsafe_innerHTML=html.escape(text + ". Solid lines = this run."), classes=["gpsim-chart-key"]
    )


@solara.component
def Compare(session: Session, state: dict, run_version, pending_version):
    _ = run_version.value, pending_version.value
    busy = solara.use_reactive(False)
    progress = solara.use_reactive("")

    def pin():
        session.pin()
        run_version.value += 1

    def unpin():
        session.unpin()
        run_version.value += 1

    def seeds():
        busy.value = True

    def run_seeds(cancel: threading.Event):
        if not busy.value:
            return

        def tell(done, total):
            progress.value = f"Running seed {done} of {total}..."

        session.run_seeds(progress=tell, cancel=cancel)
        progress.value = ""
        busy.value = False
        run_version.value += 1

    solara.use_thread(run_seeds, dependencies=[busy.value], intrusive_cancel=False)
    with solara.Div(classes=["gpsim-panel", "gpsim-compare"]):
        solara.HTML(tag="div", unsafe_innerHTML="<b>Compare, and chance vs difference</b>")
        with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
            solara.Button("Keep this run as A", icon_name="mdi-pin", on_click=pin, outlined=True, classes=["gpsim-pin"])
            if session.pinned is not None:
                solara.Button("Forget A", icon_name="mdi-pin-off", on_click=unpin, text=True, classes=["gpsim-unpin"])
            solara.Button(
                "Run 10 seeds",
                icon_name="mdi-chart-bell-curve",
                on_click=seeds,
                outlined=True,
                disabled=busy.value,
                classes=["gpsim-seeds"],
            )
        if busy.value:
            solara.ProgressLinear(True)
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(progress.value), classes=["gpsim-legend"])
        a = session.pinned
        if a is None:
            text = (
                "Keep a run as A, change a setting, press Reset and run again: the charts show A dashed and this run "
                "solid. Keep A at the end of a run to compare whole runs."
            )
        else:
            diffs = session.compare_differences()
            if session.applied.region != "synthetic" and a.params.region != "synthetic":
                diffs = [d for d in diffs if d[0] not in labels.SYNTHETIC_ONLY]
            what = (
                "; ".join(
                    f"{labels.label(n)}: {_value(n, va)} in A, {_value(n, vb)} in this run" for n, va, vb in diffs[:5]
                )
                if diffs
                else "none yet (change a setting and press Reset)"
            )
            text = f"What differs from A: {what}."
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(text), classes=["gpsim-legend", "gpsim-compare-text"])
        if session.bands:
            solara.HTML(
                tag="div",
                unsafe_innerHTML="Shaded bands: the middle 80% of 10 runs with different random seeds (dotted: their "
                "median). If A's and this run's bands overlap, the difference may be luck.",
                classes=["gpsim-legend", "gpsim-bands-text"],
            )


def _value(name: str, value) -> str:
    return str(value) if name == "seed" else labels.shown(name).text(value)


@solara.component
def OrgStory(session: Session, picked: solara.Reactive, run_version):
    """One organisation: members, reserves and trust month by month; how and when it ended."""
    _ = run_version.value
    story = session.org_story(picked.value)

    def close():
        picked.value = -1
        session.highlight(-1)

    with solara.Div(classes=["gpsim-panel", "gpsim-org-story"]):
        if story is None:
            solara.HTML(tag="div", unsafe_innerHTML="That organisation is not in this run.")
            solara.Button("Close", on_click=close, text=True)
            return
        row = story["row"]
        dissolved = whole(row.get("dissolved_step"))
        fate = (
            f"It failed in month {dissolved}: {row.get('cause', 'unknown reason')}."
            if dissolved >= 0
            else "It is still going."
        )
        extra = []
        for col, words in (
            ("n_contracts", "contracts won"),
            ("leaders_burnt_out", "leaders burnt out"),
            ("asks_taken", "hospital asks taken on"),
            ("asks_delivered", "asks delivered"),
        ):
            if whole(row.get(col)) >= 0:
                extra.append(f"{words}: {whole(row[col])}")
        counts = "; ".join(extra)
        counts = counts[:1].upper() + counts[1:] + "." if counts else ""
        text = (
            f"Organisation {picked.value} ({row.get('form', '')}, {row.get('leadership', '')} leadership), founded in "
            f"month {whole(row.get('founded_step'), 0)}. {fate} {counts}"
        )
        solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(text)}</b>", classes=["gpsim-org-story-text"])
        months = story["months"]
        option = dict(
            animation=False,
            grid=dict(left=44, right=44, top=28, bottom=24),
            legend=dict(top=0, textStyle=dict(fontSize=10)),
            tooltip=dict(trigger="axis"),
            xAxis=dict(type="value", name="month", min=0, max=session.n_months),
            yAxis=[dict(type="value", name="practices", minInterval=1), dict(type="value", name="£k / %")],
            series=[
                dict(type="line", name="member practices", data=list(zip(months, story["members"], strict=True))),
                dict(
                    type="line",
                    name="reserves (£k)",
                    yAxisIndex=1,
                    data=[[m, round(r / 1000, 1)] for m, r in zip(months, story["reserves"], strict=True)],
                ),
                dict(
                    type="line",
                    name="members' trust in leaders (%)",
                    yAxisIndex=1,
                    data=[[m, round(t * 100, 1)] for m, t in zip(months, story["trust"], strict=True)],
                ),
            ],
        )
        solara.FigureEcharts(option=option, attributes={"style": "height: 200px; width: 100%;"}, responsive=True)
        OrgMoney(story["money"])
        solara.Button("Close", on_click=close, text=True, small=True, classes=["gpsim-org-story-close"])


#: Money in (greens and blues) and out (reds and browns) in the organisation story, in the order of the flows.
MONEY_IN_COLOURS = ["#1b9e77", "#66a61e", "#1f78b4", "#a6cee3", "#7fc97f"]
MONEY_OUT_COLOURS = ["#d95f02", "#e7298a", "#a6761d", "#fb9a99", "#e31a1c"]


def pounds(value: float) -> str:
    """£ in words a room reads at a glance: £850, £12k, £1.2m."""
    v = abs(value)
    if v >= 1e6:
        return f"£{v / 1e6:.1f}m"
    if v >= 1e4:
        return f"£{v / 1e3:.0f}k"
    return f"£{v:,.0f}"


@solara.component
def OrgMoney(money: dict):
    """An organisation's money in and out by source, per year: a stacked bar chart (in above the line, out below)
    and one sentence with the totals."""
    totals = money["totals"]
    if not totals:
        solara.HTML(tag="div", unsafe_innerHTML="No money has moved through it yet.", classes=["gpsim-org-money-text"])
        return
    ins = [(k, v) for k, v in totals.items() if v > 0]
    outs = [(k, -v) for k, v in totals.items() if v < 0]

    def listed(items):
        return ", ".join(f"{name} {pounds(v)}" for name, v in sorted(items, key=lambda kv: -kv[1]))

    text = (
        f"Money so far: {pounds(sum(v for _, v in ins))} came in ({listed(ins) or 'nothing'}) and "
        f"{pounds(sum(v for _, v in outs))} went out ({listed(outs) or 'nothing'})."
    )
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(text), classes=["gpsim-org-money-text"])
    n_in = n_out = 0
    series = []
    for name, values in money["flows"].items():
        going_in = totals[name] > 0
        colours = MONEY_IN_COLOURS if going_in else MONEY_OUT_COLOURS
        colour = colours[(n_in if going_in else n_out) % len(colours)]
        n_in, n_out = n_in + going_in, n_out + (not going_in)
        series.append(
            dict(
                type="bar",
                name=name,
                stack="in" if going_in else "out",
                itemStyle=dict(color=colour),
                data=[round(v / 1000, 1) for v in values],
            )
        )
    option = dict(
        animation=False,
        grid=dict(left=52, right=12, top=48, bottom=24),
        legend=dict(top=0, textStyle=dict(fontSize=10)),
        tooltip=dict(trigger="axis", axisPointer=dict(type="shadow")),
        xAxis=dict(type="category", data=money["years"]),
        yAxis=dict(type="value", name="£k a year (out below 0)", nameTextStyle=dict(fontSize=10)),
        series=series,
    )
    with solara.Div(classes=["gpsim-org-money"]):
        solara.FigureEcharts(option=option, attributes={"style": "height: 220px; width: 100%;"}, responsive=True)


@solara.component
def Downloads(session: Session, run_version):
    _ = run_version.value

    def charts_png() -> bytes:
        return figures.session_charts(session)

    def map_png() -> bytes:
        return figures.to_png(figures.map_figure(session.model, aggregated=session.aggregated), dpi=110)

    stem = session.file_stem()
    with solara.Div(classes=["gpsim-panel", "gpsim-downloads"]):
        solara.HTML(tag="div", unsafe_innerHTML="<b>Take it home</b>")
        with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
            solara.FileDownload(
                lambda: report.html_report(session).encode(),
                filename=f"{stem}.html",
                label="One-page report (HTML)",
                mime_type="text/html",
            )
            solara.FileDownload(
                lambda: session.steps_csv().encode(),
                filename=f"{stem}.csv",
                label="Month-by-month table (CSV)",
                mime_type="text/csv",
            )
            solara.FileDownload(charts_png, filename=f"{stem}-charts.png", label="Charts (PNG)", mime_type="image/png")
            solara.FileDownload(map_png, filename=f"{stem}-map.png", label="Map (PNG)", mime_type="image/png")


# --- stories ----------------------------------------------------------------------------------------
@solara.component
def StoryBar(session: Session, state: dict, pending_version, form_version, run_version):
    story_key, index = state["story"], state["story_step"]
    chosen = solara.use_reactive(next(iter(STORIES)))

    def go(k: int):
        stop(state["playing"], session)
        key = story_key.value
        step = session.story_prepare(key, k)
        index.value = k
        state["until"].value = step.run_to
        state["mpu"].value = 3
        pending_version.value += 1
        form_version.value += 1
        run_version.value += 1
        if session.month < step.run_to:
            state["playing"].value = True

    def start():
        story_key.value = chosen.value
        go(0)

    def leave():
        stop(state["playing"], session)
        story_key.value = None
        index.value = 0
        state["until"].value = None

    if story_key.value is None:
        if state["presenter"].value:
            return
        with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}, classes=["gpsim-story-pick"]):
            with solara.Div(style={"width": "330px", "max-width": "100%"}):
                StorySelect("Guided story", chosen, "gpsim-story-select")
            solara.Button(
                "Start the story",
                icon_name="mdi-book-open-variant",
                on_click=start,
                outlined=True,
                classes=["gpsim-story-start"],
            )
        return
    story = STORIES[story_key.value]
    k = index.value
    with solara.Div(classes=["gpsim-story"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>{html.escape(story.title)}</b> (step {k + 1} of {len(story.steps)})",
            classes=["gpsim-story-head"],
        )
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(story.steps[k].text), classes=["gpsim-story-text"])
        with solara.Row(gap="6px"):
            solara.Button(
                "Back",
                icon_name="mdi-chevron-left",
                on_click=lambda: go(k - 1),
                disabled=k == 0,
                classes=["gpsim-story-back"],
            )
            solara.Button(
                "Next",
                icon_name="mdi-chevron-right",
                on_click=lambda: go(k + 1),
                disabled=k + 1 >= len(story.steps),
                color="primary",
                classes=["gpsim-story-next"],
            )
            solara.Button("End the story", on_click=leave, text=True, classes=["gpsim-story-end"])


@solara.component
def StorySelect(label: str, chosen: solara.Reactive, css: str):
    solara.v.Select(
        label=label,
        items=[dict(text=s.title, value=k) for k, s in STORIES.items()],
        v_model=chosen.value,
        on_v_model=chosen.set,
        dense=True,
        hide_details=True,
        class_=css,
    )


# --- the participant's page -------------------------------------------------------------------------
@solara.component
def Home():
    router = solara.use_router()
    first_query = solara.use_memo(lambda: router.search or "", [])
    query = dict(parse_qsl(first_query))
    debug = _debug(query)
    session = solara.use_memo(lambda: _new_session(first_query), [])
    pending_version = solara.use_reactive(0)
    form_version = solara.use_reactive(0)
    run_version = solara.use_reactive(0)
    state = dict(
        playing=solara.use_reactive(False),
        mpu=solara.use_reactive(1),
        speed=solara.use_reactive("steady"),
        until=solara.use_reactive(None),
        presenter=solara.use_reactive(query.get("presenter") == "1"),
        show=solara.use_reactive("all"),
        story=solara.use_reactive(None),
        story_step=solara.use_reactive(0),
    )
    _ = run_version.value
    extra = {k: query[k] for k in ("room", "debug") if k in query}
    state["query"] = session.query() + "".join(f"&{k}={v}" for k, v in extra.items())
    room = solara.use_memo(lambda: rooms.find(query.get("room")), [])
    presenting = state["presenter"].value
    with solara.Div(classes=["gpsim-page"] + (["gpsim-presenting"] if presenting else [])):
        Header(session, state, room)
        for note in session.notes:
            solara.Warning(note, dense=True, classes=["gpsim-note"])
        if query.get("room") and room is None:
            solara.Warning(
                f"There is no room {query['room']!r} on this server (ask the facilitator for the code).", dense=True
            )
        if room is not None:
            RoomMember(room, session, state, pending_version, form_version, run_version)
        with solara.Div(classes=["gpsim-main"]):
            if not presenting:
                Settings(session, pending_version, form_version)
            RunArea(session, state, pending_version, form_version, run_version, debug)
        if debug:
            DebugCounts()


def _new_session(query: str) -> Session:
    """A tab's session, told when Solara closes the tab's kernel (so Play and room threads stop at once)."""
    session = Session.from_environment(query, browser=_browser_id())
    session.closed = _closed_event()
    return session


def _closed_event() -> threading.Event:
    try:
        from solara.lifecycle import kernel_closed_event

        return kernel_closed_event()
    except (ImportError, RuntimeError):  # outside a server (tests), or an older Solara
        return threading.Event()


def _browser_id() -> str | None:
    try:
        return solara.get_session_id()
    except Exception:  # noqa: BLE001 - outside a server (tests) there is no browser cookie
        return None


@solara.component
def Header(session: Session, state: dict, room):
    presenter, show = state["presenter"], state["show"]
    with solara.Row(gap="10px", style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.HTML(tag="p", unsafe_innerHTML="gpsim: GP practices working at scale", classes=["gpsim-title"])
        solara.Button(
            "Leave presenter mode" if presenter.value else "Presenter mode",
            icon_name="mdi-projector-screen",
            on_click=lambda: presenter.set(not presenter.value),
            text=True,
            classes=["gpsim-presenter-toggle"],
        )
        if presenter.value:
            with solara.Div(style={"width": "180px"}):
                solara.v.Select(
                    label="Show",
                    items=[
                        dict(text="map and charts", value="all"),
                        dict(text="the map", value="map"),
                        dict(text="the charts", value="charts"),
                    ],
                    v_model=show.value,
                    on_v_model=show.set,
                    dense=True,
                    hide_details=True,
                    class_="gpsim-show",
                )
    if not presenter.value:
        solara.HTML(
            tag="p",
            unsafe_innerHTML="Choose an area and a preset, change a setting, press Reset, then Play. Watch practices "
            "join organisations (coloured dots), organisations fail, and how many relationships each hospital has "
            "to keep with general practice.",
            classes=["gpsim-sub"],
        )


@solara.component
def RoomMember(room: rooms.Room, session: Session, state: dict, pending_version, form_version, run_version):
    """In a room: join on load, leave on close, and follow what the facilitator pushes."""
    seen = solara.use_reactive(room.push[0] if room.push else 0)
    frozen = solara.use_reactive(room.frozen)

    def join():
        pid = room.join(session)
        return lambda: room.leave(pid)

    solara.use_effect(join, [])

    def listen(cancel: threading.Event):
        version = -1
        while not cancel.is_set() and not session.closed.is_set():
            version = room.wait(version, 1.0)
            frozen.value = room.frozen
            push = room.push
            if push and push[0] > seen.value:
                seen.value = push[0]
                stop(state["playing"], session)
                if push[1] == "preset":
                    state["story"].value = None
                    session.choose_scenario(push[2])
                    session.reset()
                    pending_version.value += 1
                    form_version.value += 1
                    run_version.value += 1
                elif push[1] == "story" and push[2] in STORIES:
                    state["story"].value = push[2]
                    step = session.story_prepare(push[2], 0)
                    state["story_step"].value = 0
                    state["until"].value = step.run_to
                    state["mpu"].value = 3
                    pending_version.value += 1
                    form_version.value += 1
                    run_version.value += 1
                    state["playing"].value = True

    solara.use_thread(listen, dependencies=[], intrusive_cancel=False)
    text = f"You are in room {room.code}: your runs appear on the facilitator's screen."
    if frozen.value:
        text += " The facilitator has frozen the room for a moment (your runs carry on)."
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(text), classes=["gpsim-room-bar"])


@solara.component
def DebugCounts():
    """Sessions and models alive in the server (after a garbage collection), counted once per page load."""
    counts = solara.use_memo(live_counts, [])
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"server holds <span class='gpsim-debug-sessions'>{counts[0]}</span> sessions, "
        f"<span class='gpsim-debug-models'>{counts[1]}</span> models",
        classes=["gpsim-legend", "gpsim-debug"],
    )


# --- the facilitator's page -------------------------------------------------------------------------
@solara.component
def RoomPage():
    router = solara.use_router()
    query = solara.use_memo(lambda: dict(parse_qsl(router.search or "")), [])
    room = solara.use_memo(lambda: rooms.find(query.get("code")) or rooms.new_room(), [])
    closed = solara.use_memo(_closed_event, [])
    version = solara.use_reactive(0)
    setting = solara.use_reactive(None)
    outcome = solara.use_reactive("orgs_going")
    preset = solara.use_reactive("funding-cliff")
    story = solara.use_reactive(next(iter(STORIES)))
    big = solara.use_reactive(False)

    def watch(cancel: threading.Event):
        seen = -1
        while not cancel.is_set() and not closed.is_set():
            new = room.wait(seen, 2.0)
            if new != seen or room.has_news():
                seen = new
                version.value += 1
            cancel.wait(0.7)  # at most about one redraw a second, however busy the room

    solara.use_thread(watch, dependencies=[], intrusive_cancel=False)
    _ = version.value
    runs = room.runs()
    differing = rooms.differing_settings(runs)
    chosen = setting.value if setting.value in differing else (differing[0] if differing else None)
    with solara.Div(classes=["gpsim-page", "gpsim-room"]):
        with solara.Div(classes=["gpsim-room-top"]):
            with solara.Column(gap="2px"):
                solara.HTML(tag="div", unsafe_innerHTML="Room code")
                solara.HTML(tag="div", unsafe_innerHTML=html.escape(room.code), classes=["gpsim-room-code"])
            with solara.Column(gap="2px"):
                solara.HTML(tag="div", unsafe_innerHTML="Everyone opens")
                RoomAddress.element(code=room.code)
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=html.escape(
                        f"{len(room.participants)} people in the room" + (" (frozen)" if room.frozen else "")
                    ),
                    classes=["gpsim-legend", "gpsim-room-people"],
                )
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"<span class='gpsim-room-count'>{len(runs)} run{'s' * (len(runs) != 1)}</span>",
                classes=["gpsim-room-runs"],
            )
        with solara.Row(
            gap="8px", style={"flex-wrap": "wrap", "align-items": "center"}, classes=["gpsim-room-controls"]
        ):
            with solara.Div(style={"width": "190px"}):
                solara.Select(
                    label="Preset", values=list(SCENARIOS), value=preset, dense=True, classes=["gpsim-room-preset"]
                )
            solara.Button(
                "Send preset to everyone",
                on_click=lambda: room.push_preset(preset.value),
                outlined=True,
                classes=["gpsim-push-preset"],
            )
            with solara.Div(style={"width": "300px"}):
                StorySelect("Story", story, "gpsim-room-story")
            solara.Button(
                "Start story for everyone",
                on_click=lambda: room.push_story(story.value),
                outlined=True,
                classes=["gpsim-push-story"],
            )
            solara.Button(
                "Unfreeze" if room.frozen else "Freeze",
                icon_name="mdi-snowflake",
                on_click=lambda: room.set_frozen(not room.frozen),
                outlined=True,
                classes=["gpsim-freeze"],
            )
            solara.Button(
                "Clear the runs", icon_name="mdi-delete-sweep", on_click=room.clear, text=True, classes=["gpsim-clear"]
            )
            solara.Button("Bigger" if not big.value else "Smaller", on_click=lambda: big.set(not big.value), text=True)
        SharedChart(runs, differing, chosen, setting, outcome, big.value)
        with solara.Div(classes=["gpsim-multiples"]):
            for r in runs:
                Multiple(r).key(f"p{r['pid']}")


@solara.component
def SharedChart(runs: list[dict], differing: list[str], chosen, setting, outcome, big: bool):
    with solara.Div(classes=["gpsim-panel", "gpsim-shared"]):
        if not runs:
            solara.HTML(
                tag="div",
                unsafe_innerHTML="No runs yet: when participants press Reset or Play, their runs appear here.",
            )
            return
        with solara.Row(gap="8px", style={"flex-wrap": "wrap", "align-items": "center"}):
            with solara.Div(style={"width": "320px"}):
                solara.v.Select(
                    label="Across: the setting that differs",
                    items=[dict(text=labels.label(n), value=n) for n in differing]
                    or [dict(text="(all runs alike)", value="")],
                    v_model=chosen or "",
                    on_v_model=setting.set,
                    dense=True,
                    hide_details=True,
                    class_="gpsim-room-setting",
                )
            with solara.Div(style={"width": "320px"}):
                solara.v.Select(
                    label="Up: the outcome",
                    items=[dict(text=t, value=k) for k, t in rooms.OUTCOMES.items()],
                    v_model=outcome.value,
                    on_v_model=outcome.set,
                    dense=True,
                    hide_details=True,
                )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=html.escape(
                f"Every run: {rooms.OUTCOMES[outcome.value]} against "
                f"{labels.label(chosen) if chosen else 'participant'}"
            ),
            classes=["gpsim-chart-title", "gpsim-shared-title"],
        )
        points = []
        for r in runs:
            y = r["outcomes"].get(outcome.value)
            if y is None:
                continue
            if chosen == "seed":
                x = r["seed"]
            elif chosen:
                x = labels.shown(chosen).to_shown(r["values"][chosen])
            else:
                x = r["pid"]
            if not isinstance(x, int | float):
                continue
            points.append(dict(name=f"{r['name']} (month {r['month']})", value=[x, round(float(y), 2)]))
        xname = (
            (
                labels.label(chosen)
                + (
                    f" ({labels.shown(chosen).unit})"
                    if chosen and chosen != "seed" and labels.shown(chosen).unit
                    else ""
                )
            )
            if chosen
            else "participant"
        )
        option = dict(
            animation=False,
            grid=dict(left=60, right=20, top=30, bottom=50),
            tooltip=dict(trigger="item"),
            textStyle=dict(fontSize=16 if big else 12),
            xAxis=dict(type="value", name=xname, nameLocation="middle", nameGap=30, scale=True),
            yAxis=dict(type="value"),
            series=[dict(type="scatter", symbolSize=16 if big else 11, data=points)],
        )
        solara.FigureEcharts(
            option=option, attributes={"style": f"height: {560 if big else 320}px; width: 100%;"}, responsive=True
        )


@solara.component
def Multiple(run: dict):
    """One participant's run: settings in words, relationships per hospital and organisations still going."""
    option = solara.use_memo(
        lambda: dict(
            animation=False,
            grid=dict(left=32, right=32, top=8, bottom=18),
            tooltip=dict(trigger="axis"),
            xAxis=dict(type="value", min=0, max=run["n_months"], axisLabel=dict(fontSize=9)),
            yAxis=[
                dict(type="value", min=0, axisLabel=dict(fontSize=9)),
                dict(type="value", min=0, max=100, axisLabel=dict(fontSize=9)),
            ],
            series=[
                dict(
                    type="line",
                    name="relationships per hospital",
                    showSymbol=False,
                    color="#d62728",
                    data=run["relationships"],
                ),
                dict(
                    type="line",
                    name="organisations still going (%)",
                    yAxisIndex=1,
                    showSymbol=False,
                    color="#1f77b4",
                    data=run["survival"],
                ),
            ],
        ),
        [run["month"], run["label"], run["seed"], len(run["relationships"])],
    )
    with solara.Div(classes=["gpsim-panel", "gpsim-multiple"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>{html.escape(run['name'])}</b>: {html.escape(run['label'])}, seed {run['seed']}, "
            f"month {run['month']}",
            classes=["gpsim-multiple-label"],
        )
        solara.FigureEcharts(option=option, attributes={"style": "height: 120px; width: 100%;"}, responsive=True)
        solara.HTML(
            tag="div",
            unsafe_innerHTML="<span style='color:#d62728'>relationships per hospital</span> · "
            "<span style='color:#1f77b4'>organisations still going (%)</span>",
            classes=["gpsim-chart-note"],
        )


@solara.component
def Layout(children=[]):  # noqa: B006 - Solara's layout signature
    """No app bar or sidebar: the page is the whole app."""
    with solara.Column(gap="0px", style={"background": "#f6f7f9", "min-height": "100vh"}) as main:
        solara.Title("gpsim: GP practices working at scale")
        solara.Style(CSS)
        for child in children:
            solara.display(child)
    return main


routes = [
    solara.Route(path="/", component=Home, label="Run", layout=Layout),
    solara.Route(path="room", component=RoomPage, label="Room"),
]
