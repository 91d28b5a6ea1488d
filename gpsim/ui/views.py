"""Live views as ECharts options (drawn by the browser, so a step costs the server only the model and a little
JSON). The same data as the matplotlib figures in :mod:`gpsim.ui.figures`, which the Download button uses.

Every builder returns a plain dict (JSON-ready: Python floats, ints, strings and lists only).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gpsim.plots import LARGE_BAND, NEIGHBOURHOOD_BAND
from gpsim.state import OrgForm, PracticeStatus
from gpsim.ui.figures import NO_ORG, ORG_COLOURS, _ccg_outlines, org_colour  # noqa: F401

#: A filled "x" for closed practices (ECharts fills path symbols, so the cross has area).
CROSS = "path://M2,0 L5,3 L8,0 L10,2 L7,5 L10,8 L8,10 L5,7 L2,10 L0,8 L3,5 L0,2 Z"
HOSPITAL = "#c0392b"
HUB = "#34495e"
C = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def _r(v: float, nd: int = 2) -> float | None:
    v = float(v)
    return round(v, nd) if math.isfinite(v) else None


# --- the map -------------------------------------------------------------------------------------------
def map_option(model, *, aggregated: bool = False) -> dict:
    reg = model.region
    xs, ys = (reg.hospital_xy[:, 0], reg.hospital_xy[:, 1])
    hub = reg.ccg_xy()
    allx = np.concatenate([reg.x, xs]) if not aggregated else np.concatenate([hub[:, 0], xs])
    ally = np.concatenate([reg.y, ys]) if not aggregated else np.concatenate([hub[:, 1], ys])
    # a square box with equal km on both axes (the element is square too), so distances look right
    cx, cy = (allx.min() + allx.max()) / 2, (ally.min() + ally.max()) / 2
    half = max(np.ptp(allx), np.ptp(ally), 1.0) / 2 * 1.06
    axis = dict(type="value", show=False, scale=True)
    series = _aggregated_series(model) if aggregated else _practice_series(model)
    series.append(
        dict(
            type="scatter",
            name="hospital",
            symbol="rect",
            # all England has ~200 hospitals: small and under the CCG circles, or they hide the picture
            symbolSize=5 if aggregated else 16,
            z=2 if aggregated else 5,
            itemStyle=dict(color=HOSPITAL, borderColor="#fff", borderWidth=0 if aggregated else 1),
            label=dict(show=len(xs) <= 40, formatter="H", color="#fff", fontSize=9, fontWeight="bold"),
            tooltip=dict(formatter="{b}"),
            data=[dict(name=f"Hospital: {reg.hospital_name[k]}", value=[_r(xs[k]), _r(ys[k])]) for k in range(len(xs))],
        )
    )
    return dict(
        animation=False,
        grid=dict(left=8, right=8, top=8, bottom=8),
        xAxis=dict(axis, min=_r(cx - half), max=_r(cx + half)),
        yAxis=dict(axis, min=_r(cy - half), max=_r(cy + half)),
        tooltip=dict(trigger="item", confine=True),
        series=series,
    )


def _static(model, key, build):
    """A part of the map that does not change during a run, built once per model (kept on the model, so it goes
    with it). Handing the page the same object each step also lets it skip comparing it item by item."""
    cache = model.__dict__.setdefault("_ui_static", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _background(model, outlines, e) -> list[dict]:
    """CCG outlines and working relationships: fixed for a run."""
    x, y = model.region.x, model.region.y
    series: list[dict] = []
    if outlines:
        series.append(
            dict(
                type="lines",
                coordinateSystem="cartesian2d",
                polyline=True,
                silent=True,
                z=0,
                lineStyle=dict(color=HUB, opacity=0.35, width=1, type="dashed"),
                data=[dict(coords=[[_r(a), _r(b)] for a, b in np.vstack([p, p[:1]])]) for p in outlines],
            )
        )
    if len(e):
        series.append(
            dict(
                type="lines",
                coordinateSystem="cartesian2d",
                silent=True,
                large=True,
                z=1,
                lineStyle=dict(color="#555", opacity=0.12, width=0.6),
                data=[[[_r(x[i]), _r(y[i])], [_r(x[j]), _r(y[j])]] for i, j in e],
            )
        )
    return series


def _practice_series(model) -> list[dict]:
    reg, pr, orgs = model.region, model.practices, model.orgs
    x, y = reg.x, reg.y
    series: list[dict] = []
    outlines = _ccg_outlines(reg)
    e = model.peers.edges
    series += _static(model, ("background", id(e), len(e)), lambda: _background(model, outlines, e))
    is_open = pr.status == PracticeStatus.OPEN
    ref = max(float(np.median(reg.list_size)), 1.0)
    size = 9.0 * np.sqrt(np.clip(pr.list_size / ref, 0.15, 8.0))
    form = orgs.view("form")
    codes = reg.practice_code
    points = []
    for i in np.flatnonzero(is_open):
        k = int(pr.org[i])
        where = f"organisation {k} ({OrgForm(int(form[k])).label})" if k >= 0 else "no organisation"
        points.append(
            dict(
                name=f"{codes[i]}: {int(pr.list_size[i]):,} patients, {where}, workload pressure {pr.pressure[i]:.2f}",
                value=[_r(x[i]), _r(y[i])],
                symbolSize=_r(size[i], 1),
                itemStyle=dict(color=org_colour(k)),
            )
        )
    series.append(
        dict(
            type="scatter",
            name="practices",
            z=3,
            itemStyle=dict(borderColor="#fff", borderWidth=0.6),
            tooltip=dict(formatter="{b}"),
            data=points,
        )
    )
    closed = np.flatnonzero(~is_open)
    series.append(
        dict(
            type="scatter",
            name="closed",
            symbol=CROSS,
            symbolSize=9,
            z=4,
            itemStyle=dict(color="#111"),
            tooltip=dict(formatter="{b}"),
            data=[dict(name=f"{codes[i]}: closed or merged", value=[_r(x[i]), _r(y[i])]) for i in closed],
        )
    )
    hub = reg.ccg_xy()
    series.append(
        dict(
            type="scatter",
            name="CCG hub",
            symbol="diamond",
            symbolSize=12,
            z=5,
            itemStyle=dict(color=HUB, borderColor="#fff", borderWidth=1),
            label=dict(show=reg.n_ccgs <= 30, position="right", formatter="{b}", color=HUB, fontSize=10),
            tooltip=dict(formatter="CCG {b}"),
            data=[dict(name=str(reg.ccg_code[c]), value=[_r(hub[c, 0]), _r(hub[c, 1])]) for c in range(reg.n_ccgs)],
        )
    )
    return series


def _aggregated_series(model) -> list[dict]:
    """One circle per starting CCG: area = open patients, colour = share of them in organisations."""
    reg, pr = model.region, model.practices
    c = reg.n_ccgs
    is_open = pr.status == PracticeStatus.OPEN
    pop = np.bincount(reg.ccg, pr.list_size * is_open, minlength=c).astype(float)
    in_org = np.bincount(reg.ccg, pr.list_size * (is_open & (pr.org >= 0)), minlength=c)
    share = np.divide(in_org, pop, out=np.zeros(c), where=pop > 0)
    closed = np.bincount(reg.ccg, ~is_open, minlength=c)
    hub = reg.ccg_xy()
    ref = max(float(np.median(pop[pop > 0])) if (pop > 0).any() else 1.0, 1.0)
    data = [
        dict(
            name=f"CCG {reg.ccg_code[k]}: {int(pop[k]):,} patients, {share[k] * 100:.0f}% in organisations, "
            f"{int(closed[k])} practices closed",
            value=[_r(hub[k, 0]), _r(hub[k, 1])],
            symbolSize=_r(10 * math.sqrt(pop[k] / ref), 1),
            itemStyle=dict(color=_blue(share[k])),
        )
        for k in range(c)
    ]
    return [
        dict(
            type="scatter",
            name="CCGs",
            z=3,
            itemStyle=dict(borderColor="#08519c", borderWidth=0.8, opacity=0.9),
            tooltip=dict(formatter="{b}"),
            data=data,
        )
    ]


def _blue(share: float) -> str:
    """Pale blue (none in organisations) to dark blue (all)."""
    lo, hi = (222, 235, 247), (8, 81, 156)
    r, g, b = (round(a + (z - a) * min(max(share, 0.0), 1.0)) for a, z in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


# --- the charts ----------------------------------------------------------------------------------------
#: Chart titles (shown above each chart, in the page, so long titles wrap instead of being cut off).
CHARTS = {
    "share": "Practices and patients in an at-scale organisation (%)",
    "relationships": "Relationships each hospital has to keep with general practice",
    "orgs": "Organisations: alive now, and failed so far",
    "money": "Money coming in to organisations (£ thousand a month)",
    "closed": "Practices closed or merged so far",
    "pressure": "Workload: appointments wanted ÷ appointments GPs can offer (above 1 = overloaded)",
}

#: A line under some charts, in plain words.
NOTES = {
    "relationships": "Shaded: what it would be if every practice were in an organisation of 30-50k patients "
    "(green, 6-10) or 200-300k patients (orange, 1-2). Grey line: with no organisations at all.",
    "money": "Grants & recurrent funding: pump-priming and per-patient payments from outside. Contracts: extended "
    "services bought by hospitals or CCGs.",
}

#: (chart, column, label, colour, scale)
LINES = [
    ("share", "share_practices_in_org", "practices", C[0], 100.0),
    ("share", "share_population_in_org", "patients", C[2], 100.0),
    ("relationships", "relationships_baseline_mean", "if no organisations", "#777", 1.0),
    ("relationships", "relationships_per_hospital_mean", "with organisations", C[3], 1.0),
    ("orgs", "n_orgs", "alive", C[0], 1.0),
    ("orgs", "n_orgs_failed_cum", "failed (total)", C[3], 1.0),
    ("money", "external_funding_month", "grants & recurrent funding", C[1], 0.001),
    ("money", "contract_income_month", "contracts", C[4], 0.001),
    ("closed", "n_practices_closed_cum", "closed or merged", C[5], 1.0),
    ("pressure", "mean_workload_pressure", "average practice", C[6], 1.0),
]
#: Charts that count things: whole numbers on the axis.
COUNTS = ("orgs", "closed")
#: Runs this short show a dot per month (a line of one or two points is invisible).
DOTS_UP_TO = 12


def chart_legend(key: str, compare: bool = False) -> list[dict]:
    """The key drawn above a chart: label, colour and whether the line is dashed (run A)."""
    out = []
    for chart, _col, label, colour, _scale in LINES:
        if chart != key:
            continue
        if compare:
            out.append(dict(label=f"{label} (A)", colour=colour, dashed=True))
            out.append(dict(label=f"{label} (this run)", colour=colour, dashed=False))
        else:
            out.append(dict(label=label, colour=colour, dashed=False))
    return out


def _dates(steps: pd.DataFrame, start: tuple[int, int]) -> list[str]:
    """ISO dates (first of each month) for a time axis."""
    return [_month_date(start, int(m)) for m in steps["step"]]


def _month_date(start: tuple[int, int], months: int) -> str:
    y, m = divmod(start[1] - 1 + months, 12)
    return f"{start[0] + y:04d}-{m + 1:02d}-01"


def chart_options(
    steps: pd.DataFrame,
    *,
    start: tuple[int, int],
    n_months: int,
    compare: pd.DataFrame | None = None,
    compare_start: tuple[int, int] | None = None,
    compare_months: int | None = None,
) -> dict[str, dict]:
    """One ECharts option per chart (keys of :data:`CHARTS`). ``compare`` (run A) is dashed.

    Titles and keys are drawn by the page above each chart (see :func:`chart_legend`), so they can wrap and never
    cover the lines. Until the run has a few months, each month is a dot and month 0 says what to press."""
    x = _dates(steps, start)
    x0, x1 = _month_date(start, 0), _month_date(start, n_months)
    runs = [("", steps, x, "solid")]
    if compare is not None:
        cs = compare_start or start
        cx = _dates(compare, cs)
        x0 = min(x0, _month_date(cs, 0))
        x1 = max(x1, _month_date(cs, compare_months or n_months))
        runs = [(" (A)", compare, cx, "dashed"), (" (this run)", steps, x, "solid")]
    out: dict[str, dict] = {}
    for key in CHARTS:
        series = []
        for suffix, s, xs, dash in runs:
            for chart, col, label, colour, scale in LINES:
                if chart != key or col not in s:
                    continue
                ys = s[col].to_numpy(dtype=float) * scale
                series.append(
                    dict(
                        type="line",
                        name=label + suffix,
                        showSymbol=len(xs) <= DOTS_UP_TO,
                        symbolSize=5,
                        color=colour,
                        lineStyle=dict(
                            type=dash, width=2 if dash == "solid" else 1.6, opacity=1 if dash == "solid" else 0.7
                        ),
                        data=[[a, _r(b, 3)] for a, b in zip(xs, ys, strict=True)],
                    )
                )
        if key == "relationships" and series:
            series[0]["markArea"] = dict(
                silent=True,
                data=[
                    [
                        dict(yAxis=NEIGHBOURHOOD_BAND[0], itemStyle=dict(color="rgba(44,160,44,0.13)")),
                        dict(yAxis=NEIGHBOURHOOD_BAND[1]),
                    ],
                    [
                        dict(yAxis=LARGE_BAND[0], itemStyle=dict(color="rgba(255,127,14,0.2)")),
                        dict(yAxis=LARGE_BAND[1]),
                    ],
                ],
            )
        if key == "pressure" and series:
            series[0]["markLine"] = dict(
                silent=True,
                symbol="none",
                data=[dict(yAxis=1.0)],
                lineStyle=dict(color="#999", type="dotted"),
                label=dict(show=False),
            )
        if key == "share":
            y_axis = dict(type="value", min=0, max=100)
        elif key in COUNTS:
            y_axis = dict(type="value", min=0, minInterval=1)
        else:
            y_axis = dict(type="value", scale=key == "pressure", min=None if key == "pressure" else 0)
            if y_axis["min"] is None:
                del y_axis["min"]
        opt = dict(
            animation=False,
            grid=dict(left=44, right=14, top=12, bottom=24),
            tooltip=dict(trigger="axis"),
            xAxis=dict(type="time", min=x0, max=x1, splitNumber=6, axisLabel=dict(fontSize=10)),
            yAxis=dict(y_axis, axisLabel=dict(fontSize=10)),
            series=series,
        )
        if len(steps) <= 1:
            opt["graphic"] = [
                dict(
                    type="text",
                    left="center",
                    top="middle",
                    silent=True,
                    style=dict(
                        text="Press Step or Play:\nthe lines grow month by month",
                        fill="#999",
                        fontSize=12,
                        lineHeight=18,
                        textAlign="center",
                    ),
                )
            ]
        out[key] = opt
    return out


# --- the organisations table ---------------------------------------------------------------------------
def org_rows(model, limit: int = 12) -> tuple[list[dict], int, int]:
    """The largest living organisations first, then the most recent failures; plus (alive, failed) counts."""
    o = model.orgs
    n = o.size
    if n == 0:
        return [], 0, 0
    v = o.view
    alive = o.alive[:n] if len(o.alive) >= n else o.alive
    dissolved = v("dissolved")
    month = int(model.steps)
    order = list(np.argsort(-v("population") * alive, kind="stable"))
    live = [k for k in order if alive[k]]
    dead = sorted(np.flatnonzero(dissolved >= 0), key=lambda k: -dissolved[k])
    rows = []
    for k in (live + list(dead))[:limit]:
        k = int(k)
        fb = int(v("first_benefit")[k])
        if not alive[k]:
            from gpsim.state import DissolutionCause

            status = f"failed month {int(dissolved[k])}: {DissolutionCause(int(v('cause')[k])).label}"
        elif fb >= 0:
            status = "delivering"
        else:
            status = "building up"
        rows.append(
            dict(
                org=k,
                colour=org_colour(k) if alive[k] else NO_ORG,
                form=OrgForm(int(v("form")[k])).label,
                members=int(v("members")[k]) if alive[k] else int(v("peak_members")[k]),
                population=int(v("population")[k]) if alive[k] else int(v("peak_population")[k]),
                age=month - int(v("founded")[k]) if alive[k] else int(dissolved[k]) - int(v("founded")[k]),
                reserves=float(v("reserves")[k]),
                cohesion=float(v("cohesion")[k]),
                status=status,
                alive=bool(alive[k]),
            )
        )
    return rows, len(live), len(dead)


__all__ = ["CHARTS", "NOTES", "ORG_COLOURS", "chart_legend", "chart_options", "map_option", "org_rows"]
