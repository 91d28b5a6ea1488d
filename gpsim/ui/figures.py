"""The UI's pictures: a map of the region and six charts over time (matplotlib, no pyplot, PNG bytes).

Positions are the region's own (km), never a recomputed layout, so the map stays still between steps and
Resets. Figures are built with :class:`matplotlib.figure.Figure` directly (not pyplot), so sessions drawing
at the same time in different threads do not share state.
"""

from __future__ import annotations

import contextlib
import io
import textwrap

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator

from gpsim.plots import LARGE_BAND, NEIGHBOURHOOD_BAND
from gpsim.ui import observe

#: Organisation colours: distinct, none of them grey (grey means "not in an organisation").
ORG_COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#e6550d",
    "#31a354",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#fdae6b",
    "#74c476",
    "#9e9ac8",
    "#fd8d3c",
    "#6baed6",
]
NO_ORG = "#b8b8b8"
A_STYLE = dict(ls="--", alpha=0.75)


def org_colour(org: int) -> str:
    return NO_ORG if org < 0 else ORG_COLOURS[org % len(ORG_COLOURS)]


def to_png(fig: Figure, dpi: int = 80) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# --- the map -------------------------------------------------------------------------------------------
def map_figure(model, *, aggregated: bool = False, size: float = 6.0) -> Figure:
    """Practices at their positions, coloured by organisation and sized by list; closed ones marked with x;
    hospitals (red squares) and CCG hubs (labelled diamonds, with a faint outline of each CCG's practices);
    faint lines for working relationships. ``aggregated`` draws one circle per CCG instead (all England)."""
    reg = model.region
    state = observe.practices(model)
    fig = Figure(figsize=(size, size), layout="constrained")
    ax = fig.add_subplot()
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("0.85")
    month = int(model.steps)
    if aggregated:
        _draw_aggregated(ax, model, state)
    else:
        _draw_practices(ax, model, state)
    hx, hy = reg.hospital_xy[:, 0], reg.hospital_xy[:, 1]
    many = aggregated or len(hx) > 40
    if many:  # all England has ~200 hospitals: small dots under the CCG circles, not a sheet of squares
        ax.scatter(hx, hy, marker="o", s=5, c="#c0392b", alpha=0.7, linewidths=0, zorder=2)
    else:
        ax.scatter(hx, hy, marker="s", s=90, c="#c0392b", edgecolors="white", linewidths=1.2, zorder=5)
        for k in range(len(hx)):
            ax.annotate(
                "H", (hx[k], hy[k]), ha="center", va="center", fontsize=7, color="white", weight="bold", zorder=6
            )
    n_open = int(state.open.sum())
    in_org = int((state.open & (state.org >= 0)).sum())
    n_orgs = int(model.records[-1].get("n_orgs", 0))
    year = model.p.start_year + (model.p.start_month - 1 + month) // 12
    title = (
        f"{reg.name.split(' (')[0]}: month {month} ({year}). {n_orgs} organisations; {in_org} of {n_open} open "
        "practices are in one"
    )
    # wrapped to the figure's width (a long area name would otherwise run off the edge)
    ax.set_title("\n".join(textwrap.wrap(title, width=int(size * 11))), fontsize=9, loc="left")
    handles = [
        Line2D([], [], ls="", marker="o", color=NO_ORG, label="practice, no organisation"),
        Line2D([], [], ls="", marker="o", color=ORG_COLOURS[0], label="practice in an organisation (colour)"),
        Line2D([], [], ls="", marker="x", color="black", label="closed or merged"),
        Line2D([], [], ls="", marker="s", color="#c0392b", label="hospital"),
        Line2D([], [], ls="", marker="D", color="#34495e", label="CCG hub"),
    ]
    if aggregated:
        handles[3] = Line2D([], [], ls="", marker="o", ms=3, color="#c0392b", label="hospital")
        handles = handles[3:4] + [
            Line2D([], [], ls="", marker="o", color="#3182bd", label="CCG (size: patients; colour: share in orgs)")
        ]
    ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85, borderpad=0.4)
    return fig


def _ccg_outlines(reg) -> list[np.ndarray]:
    """Convex hull of each CCG's practices (cached on the region: positions never move)."""
    cached = getattr(reg, "_ui_outlines", None)
    if cached is not None:
        return cached
    outlines = []
    try:
        from scipy.spatial import ConvexHull, QhullError
    except ImportError:  # outlines are decoration
        ConvexHull = None
    pts = np.column_stack([reg.x, reg.y])
    for c in range(reg.n_ccgs):
        sel = pts[reg.ccg == c]
        if ConvexHull is None or len(sel) < 3:
            continue
        try:
            outlines.append(sel[ConvexHull(sel).vertices])
        except (QhullError, ValueError):
            continue
    with contextlib.suppress(AttributeError, TypeError):
        object.__setattr__(reg, "_ui_outlines", outlines)
    return outlines


def _draw_practices(ax, model, state) -> None:
    reg = model.region
    x, y = reg.x, reg.y
    for poly in _ccg_outlines(reg):
        ax.add_patch(Polygon(poly, closed=True, fc="#34495e", alpha=0.04, ec="#34495e", lw=0.6, zorder=0))
    e = observe.peer_edges(model)
    if len(e):
        seg = np.stack([np.column_stack([x[e[:, 0]], y[e[:, 0]]]), np.column_stack([x[e[:, 1]], y[e[:, 1]]])], axis=1)
        ax.add_collection(LineCollection(seg, colors=[(0.3, 0.3, 0.3, 0.10)], linewidths=0.5, zorder=1))
    is_open = state.open
    # size by list: area proportional to patients (a 7,300 list is about 30 points^2)
    ref = max(float(np.median(reg.list_size)), 1.0)
    sizes = 30.0 * np.clip(state.list_size / ref, 0.15, 8.0)
    org = state.org
    colours = np.array([to_rgba(NO_ORG)] * len(x))
    member = is_open & (org >= 0)
    if member.any():
        palette = np.array([to_rgba(c) for c in ORG_COLOURS])
        colours[member] = palette[org[member] % len(ORG_COLOURS)]
    ax.scatter(
        x[is_open], y[is_open], s=sizes[is_open], c=colours[is_open], edgecolors="white", linewidths=0.5, zorder=3
    )
    closed = ~is_open
    if closed.any():
        ax.scatter(x[closed], y[closed], s=22, marker="x", c="black", linewidths=1.1, zorder=4)
    hub = reg.ccg_xy()
    ax.scatter(hub[:, 0], hub[:, 1], marker="D", s=36, c="#34495e", edgecolors="white", linewidths=0.8, zorder=5)
    if reg.n_ccgs <= 30:
        for c in range(reg.n_ccgs):
            ax.annotate(
                str(reg.ccg_code[c]),
                (hub[c, 0], hub[c, 1]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                color="#34495e",
                zorder=6,
            )
    pad = 0.03 * max(np.ptp(x), np.ptp(y), 1.0)
    ax.set_xlim(x.min() - pad, x.max() + pad)
    ax.set_ylim(y.min() - pad, y.max() + pad)


def ccg_shares(reg, state) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per starting CCG: patients in open practices, the share of them in organisations, practices closed."""
    c = reg.n_ccgs
    is_open = state.open
    pop = np.bincount(reg.ccg, state.list_size * is_open, minlength=c).astype(float)
    in_org = np.bincount(reg.ccg, state.list_size * (is_open & (state.org >= 0)), minlength=c)
    share = np.divide(in_org, pop, out=np.zeros(c), where=pop > 0)
    return pop, share, np.bincount(reg.ccg, ~is_open, minlength=c)


def session_charts(session, dpi: int = 110) -> bytes:
    """The six charts of a page's run (and its run A, dashed) as PNG bytes."""
    p = session.applied
    a = session.pinned
    fig = charts_figure(
        session.steps_frame(),
        start_year=p.start_year,
        start_month=p.start_month,
        n_months=session.n_months,
        compare=a.steps if a else None,
        compare_start=a.start if a else None,
        compare_months=a.n_months if a else None,
    )
    return to_png(fig, dpi=dpi)


def _draw_aggregated(ax, model, state) -> None:
    """One circle per (starting) CCG at its hub: area = open patients, colour = share of them in organisations."""
    reg = model.region
    pop, share, closed = ccg_shares(reg, state)
    hub = reg.ccg_xy()
    ref = max(float(np.median(pop[pop > 0])) if (pop > 0).any() else 1.0, 1.0)
    ax.scatter(
        hub[:, 0],
        hub[:, 1],
        s=60 * pop / ref,
        c=share,
        cmap="Blues",
        vmin=-0.15,
        vmax=1.0,
        edgecolors="0.4",
        linewidths=0.4,
        zorder=3,
    )
    hit = closed > 0
    ax.scatter(hub[hit, 0], hub[hit, 1], s=8 + 4 * closed[hit], marker="x", c="black", linewidths=0.8, zorder=4)
    pad = 0.03 * max(np.ptp(hub[:, 0]), np.ptp(hub[:, 1]), 1.0)
    ax.set_xlim(hub[:, 0].min() - pad, hub[:, 0].max() + pad)
    ax.set_ylim(hub[:, 1].min() - pad, hub[:, 1].max() + pad)


# --- the charts ----------------------------------------------------------------------------------------
def _years(steps: pd.DataFrame, start_year: int, start_month: int) -> np.ndarray:
    return start_year + (start_month - 1) / 12 + steps["step"].to_numpy() / 12


def charts_figure(
    steps: pd.DataFrame,
    *,
    start_year: int,
    start_month: int,
    n_months: int,
    compare: pd.DataFrame | None = None,
    compare_start: tuple[int, int] | None = None,
    compare_months: int | None = None,
    labels: tuple[str, str] = ("this run", "A"),
    size: tuple[float, float] = (10.0, 10.5),
) -> Figure:
    """Six panels over time. ``compare`` (run A) is drawn dashed under the current run (solid)."""
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(3, 2, sharex=True)
    runs = []
    if compare is not None:
        cy, cm = compare_start or (start_year, start_month)
        runs.append((compare, _years(compare, cy, cm), A_STYLE, f" ({labels[1]})"))
    runs.append((steps, _years(steps, start_year, start_month), dict(ls="-"), f" ({labels[0]})" if runs else ""))
    for s, x, style, suffix in runs:
        ax = axes[0, 0]
        ax.plot(x, s["share_practices_in_org"] * 100, color="C0", label="practices" + suffix, **style)
        ax.plot(x, s["share_population_in_org"] * 100, color="C2", label="patients" + suffix, lw=1.2, **style)
        ax = axes[0, 1]
        ax.plot(
            x, s["relationships_baseline_mean"], color="0.45", lw=1.2, label="if no organisations" + suffix, **style
        )
        ax.plot(x, s["relationships_per_hospital_mean"], color="C3", lw=2, label="with organisations" + suffix, **style)
        ax = axes[1, 0]
        ax.plot(x, s["n_orgs"], color="C0", lw=2, label="alive" + suffix, **style)
        ax.plot(x, s["n_orgs_failed_cum"], color="C3", label="failed (total)" + suffix, **style)
        ax = axes[1, 1]
        ax.plot(x, s["external_funding_month"] / 1000, color="C1", lw=2, label="grants & recurrent" + suffix, **style)
        ax.plot(x, s["contract_income_month"] / 1000, color="C4", label="contracts" + suffix, **style)
        ax = axes[2, 0]
        ax.plot(x, s["n_practices_closed_cum"], color="C5", lw=2, label="closed or merged" + suffix, **style)
        ax = axes[2, 1]
        ax.plot(x, s["mean_workload_pressure"], color="C6", lw=2, label="mean pressure" + suffix, **style)
    ax = axes[0, 1]
    ax.axhspan(*NEIGHBOURHOOD_BAND, color="C2", alpha=0.13, label="if all in 30-50k orgs: 6-10")
    ax.axhspan(*LARGE_BAND, color="C1", alpha=0.18, label="if all in 200-300k orgs: 1-2")
    axes[0, 0].set(title="Practices and patients in an at-scale organisation (%)", ylim=(0, 100))
    axes[0, 1].set(title="Relationships each hospital has to keep with general practice", ylim=(0, None))
    axes[1, 0].set(title="Organisations: alive now, and failed so far", ylim=(0, None))
    axes[1, 1].set(title="Money coming in to organisations (£ thousand a month)", ylim=(0, None))
    axes[2, 0].set(title="Practices closed or merged so far", ylim=(0, None))
    axes[2, 1].set(title="Workload: appointments wanted ÷ appointments available (1 = full)")
    for ax in (axes[1, 0], axes[2, 0]):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max(ax.get_ylim()[1], 4))
    axes[2, 1].axhline(1.0, color="0.6", lw=0.8, ls=":")
    x0 = start_year + (start_month - 1) / 12
    x1 = x0 + n_months / 12
    if compare is not None:
        cy, cm = compare_start or (start_year, start_month)
        cx0 = cy + (cm - 1) / 12
        x0, x1 = min(x0, cx0), max(x1, cx0 + (compare_months or n_months) / 12)
    for ax in axes.flat:
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.set_xlim(x0, x1)
        # the key goes under each panel, never over the lines
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=2, frameon=False)
        ax.tick_params(labelbottom=True)
        ax.xaxis.get_major_formatter().set_useOffset(False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
