# ruff: noqa: N802  (Solara components are named like classes)
"""The workshop page (``gpsim ui`` serves it; or ``solara run gpsim.ui.app``).

Each browser session gets its own :class:`~gpsim.ui.session.Session` (built inside :func:`Page` with
``use_memo``), so two people never see each other's runs. The map and charts are ECharts options drawn by the
browser; the server only steps the model and builds small JSON options. Downloads use matplotlib.
"""

from __future__ import annotations

import html
import math
import os
import threading
import time

import solara

from gpsim.params import GROUP_HELP, GROUPS, SPECS, ParamSpec
from gpsim.scenarios import SCENARIOS
from gpsim.ui import figures, views
from gpsim.ui.session import Session, live_counts, nice_name, region_choices, region_description

#: Sliders with more positions than this become number boxes (e.g. the number of practices, the region seed).
MAX_SLIDER_POSITIONS = 1000
#: How often Play redraws: months per update.
MONTHS_PER_UPDATE = [1, 2, 3, 6, 12]
#: Pause between updates while playing (seconds).
SPEEDS = {"fast": 0.05, "steady": 0.4, "slow": 1.0}
#: Parameters shown first in the Region panel (the rest follow).
REGION_FIRST = ("region", "n_practices", "n_ccgs", "years")
#: Set to 1 to show how many sessions and models the server holds (tests use it to prove closed sessions are freed).
ENV_DEBUG = "GPSIM_UI_DEBUG"

#: What each group of settings is about, for a GP partner or practice manager (the settings themselves come from
#: the one parameter declaration, gpsim.SPECS; the short technical summary is gpsim.params.GROUP_HELP).
GROUP_GUIDE = {
    "Region & time": "Which patch you are looking at, and for how long. Pick a real area (CCGs from the 2021 NHS "
    "register) or a made-up one whose size you set here. The run goes forward a month at a time.",
    "Practices & workload": "The day job. How many appointments patients want and how fast that grows, how many GPs "
    "there are and how easily you can recruit, what a practice earns and spends. When demand outstrips what its GPs "
    "can offer for months on end, or the money runs out, a practice closes or merges with a neighbour.",
    "Trust": "Whether practices trust each other and the people leading their organisation. Trust grows slowly when "
    "an organisation delivers and falls fast when it lets members down; a difficult local history makes everything "
    "harder. When members stop trusting their leaders they leave, and the organisation can fall apart.",
    "Money": "Who pays for working at scale: one-off pump-priming from outside, joining fees and subscriptions from "
    "member practices, recurrent per-patient payments (like the PCN contract) and contracts from hospitals or CCGs, "
    "set against what the organisation costs to run. Watch what happens when the one-off money stops.",
    "Leadership": "Somebody has to build the organisation on top of their clinics. These settings say how much spare "
    "partner time there is, how much a busy surgery eats into it, how many practices have a driven ('heroic') leader, "
    "and how fast leaders burn out. An organisation needs months of this effort before members see any benefit.",
    "Commissioners & hospitals": "The world around the practices: how supportive the CCGs are and what size of "
    "organisation they push for, how often practices think about starting or joining one, and when hospitals or CCGs "
    "trust an organisation enough to give it contracts.",
}

CSS = """
.gpsim-title { font-size: 1.45rem; font-weight: 600; margin: 0; }
.gpsim-sub { color: #555; margin: 0 0 6px 0; }
.gpsim-param { margin: 0 0 6px 0; padding: 6px 0 0 0; border-top: 1px solid #eee; }
.gpsim-param-label { font-size: 0.86rem; font-weight: 600; color: #222; }
.gpsim-param-label .gpsim-value { font-weight: 700; color: #1565c0; }
.gpsim-param-label .gpsim-unit { font-weight: 400; color: #555; }
.gpsim-param-label .gpsim-changed { color: #e65100; font-weight: 600; font-size: 0.75rem; margin-left: 4px; }
.gpsim-param .v-input__slot { margin-bottom: 0; }
.gpsim-param .v-messages { display: none; }
.gpsim-help { font-size: 0.76rem; color: #666; line-height: 1.2; margin: 1px 0 0 0; }
.gpsim-group-help { font-size: 0.82rem; color: #333; margin-bottom: 8px; line-height: 1.3; background: #f3f6fa;
  border-left: 3px solid #1565c0; padding: 6px 8px; }
.gpsim-status { font-size: 1.05rem; font-weight: 600; }
.gpsim-chart-key { font-size: 0.85rem; color: #1565c0; font-weight: 600; }
.gpsim-chart-title { font-size: 0.82rem; font-weight: 600; color: #333; padding: 2px 4px 0 4px; line-height: 1.2; }
.gpsim-chart-legend { font-size: 0.74rem; color: #444; padding: 0 4px; display: flex; flex-wrap: wrap;
  gap: 2px 12px; }
.gpsim-chart-legend .gpsim-line { display: inline-block; width: 18px; height: 0; vertical-align: middle;
  margin-right: 4px; }
.gpsim-chart-note { font-size: 0.72rem; color: #666; padding: 0 4px 2px 4px; line-height: 1.2; }
.gpsim-timing { font-size: 0.75rem; color: #888; }
.gpsim-panel { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 4px; margin-bottom: 8px; }
.gpsim-map { width: 100%; aspect-ratio: 1 / 1; }
.gpsim-orgs table { border-collapse: collapse; font-size: 0.8rem; width: 100%; }
.gpsim-orgs th, .gpsim-orgs td { border-bottom: 1px solid #eee; padding: 2px 6px; text-align: right; }
.gpsim-orgs th:nth-child(-n+3), .gpsim-orgs td:nth-child(-n+3) { text-align: left; white-space: nowrap; }
.gpsim-swatch { display: inline-block; width: 11px; height: 11px; border-radius: 50%; vertical-align: middle; }
.gpsim-legend { font-size: 0.78rem; color: #555; }
.gpsim-controls .v-input { margin-top: 0; padding-top: 0; }
.gpsim-side { max-height: calc(100vh - 90px); overflow-y: auto; padding-right: 4px; }
"""


def format_value(spec: ParamSpec, value) -> str:
    if spec.kind is float:
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:g}"
    if spec.kind is int:
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def unit_text(unit: str) -> str:
    """Units as people write them: "GBP per patient" -> "£ per patient"."""
    return unit.replace("GBP", "£")


def slider_step(spec: ParamSpec) -> float:
    return spec.step or (1 if spec.kind is int else (spec.high - spec.low) / 100)


def is_snap(spec: ParamSpec, value, new) -> bool:
    """True when ``new`` is only ``value`` rounded to the slider's grid (a slider does this when it first shows a
    value between its positions, and would otherwise change a setting nobody touched)."""
    if spec.kind not in (int, float) or spec.choices is not None or spec.low is None or value == new:
        return False
    step = slider_step(spec)
    grid = spec.low + round((value - spec.low) / step) * step
    return not math.isclose(value, grid, rel_tol=1e-9, abs_tol=1e-12) and math.isclose(
        new, grid, rel_tol=1e-9, abs_tol=1e-9
    )


def positions(spec: ParamSpec) -> float:
    step = spec.step or (1 if spec.kind is int else (spec.high - spec.low) / 100)
    return (spec.high - spec.low) / step


# --- parameter panels ------------------------------------------------------------------------------
@solara.component
def ParamControl(session: Session, spec: ParamSpec, pending_version: solara.Reactive, form_version: solara.Reactive):
    """One parameter: a bold label with its value and unit, a slider (or box or list), and its meaning."""
    _ = form_version.value  # re-read the session when a preset replaces every value
    value = session.pending[spec.name]
    _local, set_local = solara.use_state(0)
    applied = getattr(session.applied, spec.name)

    def change(v):
        if v is None:
            return
        if is_snap(spec, value, v):
            return  # the slider rounding a value that is off its grid (e.g. 10,577 to 10,600): not a visitor's move
        session.set_value(spec.name, v)
        set_local(lambda n: n + 1)
        pending_version.value += 1

    changed = value != applied
    label = (
        f'<span>{html.escape(nice_name(spec.name))}: </span><span class="gpsim-value">'
        f"{html.escape(format_value(spec, value))}</span> "
        f'<span class="gpsim-unit">{html.escape(unit_text(spec.unit))}</span>'
        + (
            f'<span class="gpsim-changed">changed (was {html.escape(format_value(spec, applied))})</span>'
            if changed
            else ""
        )
    )
    help_text = spec.meaning
    if spec.name == "region":
        help_text = f"Now: {region_description(value)} Other choices: a named area, or 'england' (all of it)."
    elif spec.kind in (int, float) and spec.choices is None and positions(spec) > MAX_SLIDER_POSITIONS:
        help_text += f" (allowed {spec.range_text})"
    with solara.Column(gap="0px", classes=["gpsim-param", f"gpsim-param-{spec.name}"]):
        solara.HTML(tag="div", unsafe_innerHTML=label, classes=["gpsim-param-label"])
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(help_text), classes=["gpsim-help"])
        if spec.name == "region":
            values = [r for r in region_choices(value) if r in session.allowed_regions]
            solara.Select(label="", values=values, value=value, on_value=change, dense=True)
        elif spec.choices is not None:
            solara.Select(label="", values=list(spec.choices), value=value, on_value=change, dense=True)
        elif spec.kind is bool:
            solara.Checkbox(label="on", value=value, on_value=change)
        elif spec.kind is str:
            solara.InputText(label="", value=value, on_value=change)
        elif positions(spec) > MAX_SLIDER_POSITIONS:
            if spec.kind is int:
                solara.InputInt(label="", value=value, on_value=change, dense=True)
            else:
                solara.InputFloat(label="", value=value, on_value=change, dense=True)
        elif spec.kind is int:
            solara.SliderInt(
                label="", value=value, min=int(spec.low), max=int(spec.high), step=int(spec.step or 1), on_value=change
            )
        else:
            step = spec.step or (spec.high - spec.low) / 100
            solara.SliderFloat(label="", value=value, min=spec.low, max=spec.high, step=step, on_value=change)


@solara.component
def ParamPanels(session: Session, pending_version: solara.Reactive, form_version: solara.Reactive):
    """One expandable panel per parameter group, each opening with a plain-words explanation."""
    v = solara.v
    with v.ExpansionPanels(multiple=True, accordion=True, class_="gpsim-groups"):
        for group in GROUPS:
            specs = [s for s in SPECS if s.group == group]
            if group == GROUPS[0]:
                specs.sort(key=lambda s: REGION_FIRST.index(s.name) if s.name in REGION_FIRST else 99)
            with v.ExpansionPanel(class_="gpsim-group"):
                v.ExpansionPanelHeader(children=[f"{group} ({len(specs)})"], class_="gpsim-group-header")
                with v.ExpansionPanelContent():
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=html.escape(GROUP_GUIDE.get(group) or GROUP_HELP[group]),
                        classes=["gpsim-group-help"],
                    )
                    for s in specs:
                        ParamControl(session, s, pending_version, form_version).key(s.name)


@solara.component
def PendingBanner(session: Session, pending_version: solara.Reactive, run_version: solara.Reactive):
    _ = pending_version.value  # Reset bumps it too
    changes = session.pending_changes()
    if session.error:
        solara.Error(f"Could not apply these settings: {session.error}", classes=["gpsim-error"])
    if changes:
        names = ", ".join(nice_name(c) for c in changes[:6]) + (" ..." if len(changes) > 6 else "")
        solara.Warning(
            f"{len(changes)} setting(s) changed ({names}). Changes apply when you press Reset.",
            classes=["gpsim-pending"],
        )
    else:
        solara.Info("Move any slider, then press Reset to start a new run with it. Changes apply on Reset.", dense=True)


@solara.component
def Settings(session: Session, pending_version, form_version, run_version):
    def choose(name):
        session.choose_scenario(name)
        form_version.value += 1
        pending_version.value += 1

    _ = form_version.value
    with solara.Column(gap="4px", classes=["gpsim-side"]):
        solara.HTML(tag="div", unsafe_innerHTML="<b>1. Start from a preset</b>")
        solara.Select(
            label="Scenario preset",
            values=list(SCENARIOS),
            value=session.scenario,
            on_value=choose,
            classes=["gpsim-preset"],
        )
        solara.HTML(
            tag="div", unsafe_innerHTML=html.escape(SCENARIOS[session.scenario].description), classes=["gpsim-help"]
        )
        solara.HTML(
            tag="div", unsafe_innerHTML="<b>2. Change the settings</b> (open a panel: each setting says what it means)"
        )
        PendingBanner(session, pending_version, run_version)
        ParamPanels(session, pending_version, form_version)


# --- the run area ----------------------------------------------------------------------------------
@solara.component
def RunControls(
    session: Session, run_version, pending_version, form_version, playing, months_per_update, speed, version: int
):
    _ = pending_version.value

    def reset():
        playing.value = False
        session.reset()
        run_version.value += 1
        pending_version.value += 1
        form_version.value += 1  # the "changed" marks on the sliders clear

    def step():
        session.step(months_per_update.value)
        run_version.value += 1

    def set_seed(v):
        if v is not None:
            session.pending_seed = int(v)
            pending_version.value += 1

    pending = bool(session.pending_changes())
    with solara.Row(
        gap="8px",
        style={"align-items": "center", "flex-wrap": "wrap", "padding-top": "12px"},
        classes=["gpsim-controls"],
    ):
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
            on_click=lambda: setattr(playing, "value", not playing.value),
            disabled=session.finished and not playing.value,
            classes=["gpsim-play"],
        )
        with solara.Div(style={"width": "150px"}):
            solara.Select(
                label="Months per update",
                values=MONTHS_PER_UPDATE,
                value=months_per_update,
                dense=True,
                classes=["gpsim-mpu"],
            )
        with solara.Div(style={"width": "110px"}):
            solara.Select(label="Play speed", values=list(SPEEDS), value=speed, dense=True, classes=["gpsim-speed"])
        with solara.Div(style={"width": "110px"}):
            solara.InputInt(
                label="Random seed", value=session.pending_seed, on_value=set_seed, dense=True, classes=["gpsim-seed"]
            )


@solara.component
def Status(session: Session, version: int):
    p = session.applied
    month = session.month
    y, m = divmod(p.start_month - 1 + month, 12)
    date = (
        f"{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m]} {p.start_year + y}"
    )
    done = " (end of run: press Reset to run again)" if session.finished else ""
    with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap"}, gap="12px"):
        solara.HTML(
            tag="span",
            unsafe_innerHTML=f"Month <span class='gpsim-month'>{month}</span> of {session.n_months} ({date}){done}",
            classes=["gpsim-status"],
        )
        solara.HTML(
            tag="span",
            unsafe_innerHTML=html.escape(
                f"Area: {session.model.region.name.split(' (')[0]}, {session.model.region.n_practices:,} practices, "
                f"{session.model.region.n_hospitals} hospitals, {session.model.region.n_ccgs} CCGs. "
                f"Settings: {session.describe(p)}. Random seed {session.seed}."
            ),
            classes=["gpsim-legend"],
        )
        solara.HTML(tag="span", unsafe_innerHTML=html.escape(session.timing_text()), classes=["gpsim-timing"])


@solara.component
def Views(session: Session, run_version, version: int):
    """The map, the charts and the organisations table (rebuilt after every step)."""
    t0 = time.perf_counter()
    model = session.model
    agg = session.aggregated
    map_opt = views.map_option(model, aggregated=agg)
    steps = session.steps_frame()
    a = session.pinned
    p = session.applied
    charts = views.chart_options(
        steps,
        start=(p.start_year, p.start_month),
        n_months=session.n_months,
        compare=a.steps if a else None,
        compare_start=(a.params.start_year, a.params.start_month) if a else None,
        compare_months=a.params.n_months if a else None,
    )
    rows, n_alive, n_failed = views.org_rows(model)
    session.note_draw((time.perf_counter() - t0) * 1000)
    solara.use_effect(session.note_rendered, None)  # after every render: the whole update has been sent

    if a is not None:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=html.escape(f"Charts: dashed lines = {a.label}; solid lines = this run."),
            classes=["gpsim-chart-key"],
        )
    with solara.Columns([6, 6], gutters_dense=True):
        with solara.Div(classes=["gpsim-panel"]):
            with solara.Div(classes=["gpsim-map-wrap"]):
                solara.FigureEcharts(
                    option=map_opt, attributes={"style": "width: 100%; aspect-ratio: 1 / 1;"}, responsive=True
                )
            legend = (
                "One circle per CCG (too many practices to draw one by one): size = patients, darker blue = more "
                "of them in organisations. Small red squares: hospitals. Hover a circle for its patients, share in "
                "organisations and practices closed."
                if agg
                else "Each dot is a practice (size = list size). Grey: not in an organisation; a colour: one "
                "organisation. Black x: closed or merged. Red H: hospital. Dark diamond: CCG hub (dashed outline: "
                "its practices). Faint lines: working relationships. Hover for details."
            )
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(legend), classes=["gpsim-legend"])
        with solara.Column(gap="0px"):
            for key in ("share", "relationships", "orgs"):
                Chart(key, charts[key], a is not None, 170)
    with solara.Columns([1, 1, 1], gutters_dense=True):
        for key in ("money", "closed", "pressure"):
            Chart(key, charts[key], a is not None, 180)
    with solara.Columns([7, 5], gutters_dense=True):
        with solara.Div(classes=["gpsim-panel", "gpsim-orgs"]):
            OrgTable(rows, n_alive, n_failed)
        with solara.Column(gap="6px"):
            Compare(session, run_version, version)
            Downloads(session, version)


@solara.component
def Chart(key: str, option: dict, compare: bool, height: int):
    """A chart with its title and key above it (page text, so they wrap rather than cover the lines)."""
    legend = "".join(
        f"<span><span class='gpsim-line' style='border-top: 2px {'dashed' if e['dashed'] else 'solid'} "
        f"{e['colour']}'></span>{html.escape(e['label'])}</span>"
        for e in views.chart_legend(key, compare)
    )
    with solara.Div(classes=["gpsim-panel", f"gpsim-chart-{key}"]):
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(views.CHARTS[key]), classes=["gpsim-chart-title"])
        solara.HTML(tag="div", unsafe_innerHTML=legend, classes=["gpsim-chart-legend"])
        solara.FigureEcharts(option=option, attributes={"style": f"height: {height}px;"}, responsive=True)
        if key in views.NOTES:
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(views.NOTES[key]), classes=["gpsim-chart-note"])


@solara.component
def OrgTable(rows, n_alive: int, n_failed: int):
    head = f"<b>Organisations</b>: {n_alive} alive, {n_failed} failed so far"
    if not rows:
        solara.HTML(tag="div", unsafe_innerHTML=head + ". None yet: press Step or Play.")
        return
    body = "".join(
        "<tr>"
        f"<td><span class='gpsim-swatch' style='background:{r['colour']}'></span> {r['org']}</td>"
        f"<td>{html.escape(r['form'])}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{r['members']}</td><td>{r['population']:,}</td><td>{r['age']}</td>"
        f"<td>{r['reserves'] / 1000:,.0f}</td><td>{r['cohesion']:.2f}</td>"
        "</tr>"
        for r in rows
    )
    table = (
        f"<div>{head} (largest first, then the latest failures)</div><table><thead><tr>"
        "<th>#</th><th>kind</th><th>status</th><th>practices</th><th>patients</th><th>age (months)</th>"
        "<th>reserves (£k)</th><th>members' trust in leaders (0-1)</th>"
        f"</tr></thead><tbody>{body}</tbody></table>"
    )
    solara.HTML(tag="div", unsafe_innerHTML=table)


@solara.component
def Compare(session: Session, run_version, version: int):

    def pin():
        session.pin()
        run_version.value += 1

    def unpin():
        session.unpin()
        run_version.value += 1

    with solara.Div(classes=["gpsim-panel", "gpsim-compare"]):
        solara.HTML(tag="div", unsafe_innerHTML="<b>Compare two settings</b>")
        with solara.Row(gap="6px"):
            solara.Button("Pin this run as A", icon_name="mdi-pin", on_click=pin, outlined=True, classes=["gpsim-pin"])
            if session.pinned is not None:
                solara.Button("Clear A", icon_name="mdi-pin-off", on_click=unpin, text=True, classes=["gpsim-unpin"])
        if session.pinned is None:
            text = (
                "Pin a run as A, change some settings, press Reset and run again: the charts show A dashed and "
                "this run solid."
            )
        else:
            a = session.pinned
            diffs = session.compare_differences()
            what = (
                "; ".join(f"{nice_name(n)}: {_fmt(va)} in A, {_fmt(vb)} now" for n, va, vb in diffs[:5])
                if diffs
                else "no settings differ yet (change some and press Reset)"
            )
            text = f"A (dashed) = {a.label}, {int(a.steps['step'].iloc[-1])} months. Differences: {what}."
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(text), classes=["gpsim-legend", "gpsim-compare-text"])


def _fmt(v) -> str:
    return f"{v:,g}" if isinstance(v, float) else str(v)


@solara.component
def Downloads(session: Session, version: int):

    def charts_png() -> bytes:
        p = session.applied
        a = session.pinned
        fig = figures.charts_figure(
            session.steps_frame(),
            start_year=p.start_year,
            start_month=p.start_month,
            n_months=session.n_months,
            compare=a.steps if a else None,
            compare_start=(a.params.start_year, a.params.start_month) if a else None,
            compare_months=a.params.n_months if a else None,
        )
        return figures.to_png(fig, dpi=110)

    def map_png() -> bytes:
        return figures.to_png(figures.map_figure(session.model, aggregated=session.aggregated), dpi=110)

    with solara.Div(classes=["gpsim-panel", "gpsim-downloads"]):
        solara.HTML(tag="div", unsafe_innerHTML="<b>Take it home</b>")
        with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
            solara.FileDownload(
                lambda: session.steps_csv().encode(),
                filename="gpsim-steps.csv",
                label="Steps table (CSV)",
                mime_type="text/csv",
            )
            solara.FileDownload(charts_png, filename="gpsim-charts.png", label="Charts (PNG)", mime_type="image/png")
            solara.FileDownload(map_png, filename="gpsim-map.png", label="Map (PNG)", mime_type="image/png")


@solara.component
def RunArea(session: Session, run_version, pending_version, form_version):
    playing = solara.use_reactive(False)
    months_per_update = solara.use_reactive(1)
    speed = solara.use_reactive("steady")

    def play(cancel: threading.Event):
        while playing.value and not cancel.is_set():
            done = session.step(months_per_update.value)
            run_version.value += 1
            if not done or session.finished:
                playing.value = False
                return
            cancel.wait(SPEEDS.get(speed.value, 0.4))

    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)
    # Only this component listens to run_version and hands the number down: one render pass per update (each
    # listener of a reactive value would otherwise re-render the page once; with six that made a Step 6x slower).
    version = run_version.value
    with solara.Column(gap="6px"):
        RunControls(session, run_version, pending_version, form_version, playing, months_per_update, speed, version)
        Status(session, version)
        Views(session, run_version, version)


@solara.component
def Page():
    session = solara.use_memo(Session.from_environment, [])  # one run per browser session
    run_version = solara.use_reactive(0)
    pending_version = solara.use_reactive(0)
    form_version = solara.use_reactive(0)
    solara.Title("gpsim: GP practices working at scale")
    solara.Style(CSS)
    with solara.Column(gap="0px", style={"padding": "8px 14px"}):
        solara.HTML(tag="p", unsafe_innerHTML="gpsim: GP practices working at scale", classes=["gpsim-title"])
        solara.HTML(
            tag="p",
            unsafe_innerHTML="Pick a preset, move the sliders, press Reset, then Play. Watch practices join "
            "organisations (coloured dots), organisations fail, and how many relationships each hospital has to keep "
            "with general practice.",
            classes=["gpsim-sub"],
        )
        with solara.Columns([3, 9], gutters_dense=True):
            Settings(session, pending_version, form_version, run_version)
            RunArea(session, run_version, pending_version, form_version)
        if os.environ.get(ENV_DEBUG) == "1":
            DebugCounts()


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


@solara.component
def Layout(children=[]):  # noqa: B006 - Solara's layout signature
    """No app bar or sidebar: the page is the whole app."""
    with solara.Column(gap="0px", style={"background": "#f6f7f9", "min-height": "100vh"}) as main:
        for child in children:
            solara.display(child)
    return main
