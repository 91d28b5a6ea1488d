"""What the live widget draws: ``base`` (fixed for a run, sent once) and ``frame`` (what changed, each update).

Every builder returns plain JSON-ready values (Python floats, ints, strings, lists and dicts). Model state is
read through :mod:`gpsim.ui.observe` and the run's monthly rows (``GPModel.records``, the rows of
``Results.steps``); a chart whose column the model does not record is simply not drawn.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from gpsim.plots import LARGE_BAND, NEIGHBOURHOOD_BAND
from gpsim.ui import mapdata, observe
from gpsim.ui.figures import NO_ORG, ORG_COLOURS, ccg_shares

#: A filled "x" for closed practices (ECharts fills path symbols, so the cross has area).
CROSS = "path://M2,0 L5,3 L8,0 L10,2 L7,5 L10,8 L8,10 L5,7 L2,10 L0,8 L3,5 L0,2 Z"
HOSPITAL = "#c0392b"
HUB = "#34495e"
C = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

#: Chart titles (shown above each chart, in the page, so long titles wrap instead of being cut off).
CHARTS = {
    "share": "Practices and patients in an at-scale organisation (%)",
    "relationships": "Relationships each hospital has to keep with general practice",
    "orgs": "Organisations: going now, and failed so far",
    "money": "Money coming in to organisations (£ thousand a month)",
    "closed": "Practices closed or merged so far",
    "pressure": "Workload: appointments wanted ÷ appointments GPs can offer (above 1 = overloaded)",
}

#: A line under some charts, in plain words.
NOTES = {
    "relationships": "Shaded: what it would be if every practice were in an organisation of 30-50k patients "
    "(green, 6-10) or 200-300k patients (orange, 1-2). Grey line: with no organisations at all.",
    "money": "Grants & recurrent funding: one-off money and per-patient payments from outside. Contracts: extended "
    "services bought by hospitals or CCGs.",
}

#: Columns about primary care networks: charted only in runs with the Network DES.
PCN_COLUMNS = ("share_practices_in_pcn", "n_pcns")


def pcn_note(start: tuple[int, int], des_month: int | None, sizes: tuple[float, float] = (30_000, 50_000)) -> str:
    """The line under the membership chart about primary care networks, in the room's words."""
    if des_month is None:
        return "No primary care networks in this run: the Network DES (2019) is not part of it."
    when = "from the start of the run" if des_month <= 1 else f"from {month_text(start, des_month)}"
    return (
        f"Teal: practices in a primary care network (PCN), {when}. The Network DES pays practices to join a "
        f"network of about {sizes[0]:,.0f}-{sizes[1]:,.0f} patients; a PCN is not an at-scale organisation unless "
        "one runs it."
    )


#: (chart, column, label, colour, scale). Columns the model does not record are skipped.
LINES = [
    ("share", "share_practices_in_org", "practices", C[0], 100.0),
    ("share", "share_population_in_org", "patients", C[2], 100.0),
    ("share", "share_practices_in_pcn", "practices in a network (PCN)", C[7], 100.0),
    ("relationships", "relationships_baseline_mean", "if no organisations", "#777", 1.0),
    ("relationships", "relationships_per_hospital_mean", "with organisations", C[3], 1.0),
    ("orgs", "n_orgs", "going", C[0], 1.0),
    ("orgs", "n_orgs_failed_cum", "failed (total)", C[3], 1.0),
    ("orgs", "n_pcns", "primary care networks (PCNs)", C[7], 1.0),
    ("money", "external_funding_month", "grants & recurrent funding", C[1], 0.001),
    ("money", "contract_income_month", "contracts", C[4], 0.001),
    ("closed", "n_practices_closed_cum", "closed or merged", C[5], 1.0),
    ("pressure", "mean_workload_pressure", "average practice", C[6], 1.0),
]
#: Charts that count things: whole numbers on the axis.
COUNTS = ("orgs", "closed")

#: Plain names for the monthly table's columns (the CSV's first row and the report use them).
COLUMN_NAMES = {
    "step": "Month of the run",
    "date": "Date",
    "n_practices_open": "Practices open",
    "share_practices_in_org": "Share of practices in an organisation",
    "share_population_in_org": "Share of patients in an organisation",
    "share_practices_in_pcn": "Share of practices in a network (PCN)",
    "n_orgs": "Organisations going",
    "n_orgs_failed_cum": "Organisations failed so far",
    "org_size_mean": "Average organisation size (patients)",
    "relationships_per_hospital_mean": "Relationships each hospital keeps with general practice",
    "relationships_baseline_mean": "Relationships per hospital if there were no organisations",
    "share_population_committable": "Share of patients in organisations that can commit their members",
    "mean_workload_pressure": "Workload (appointments wanted / offered)",
    "external_funding_month": "Grants and recurrent funding this month (£)",
    "contract_income_month": "Contract income this month (£)",
    "n_practices_closed_cum": "Practices closed or merged so far",
    "n_closures_cum": "Practices closed so far",
    "n_mergers_cum": "Practices merged so far",
    "leaders_burnt_out_cum": "Leaders burnt out so far",
    "population": "Registered patients",
    "mean_list_size": "Average list size",
    "n_hospital_asks": "Asks from hospitals this month",
    "share_asks_delivered": "Share of hospital asks delivered",
}


def _r(v: Any, nd: int = 2) -> float | None:
    v = float(v)
    return round(v, nd) if math.isfinite(v) else None


def month_date(start: tuple[int, int], months: int) -> str:
    """ISO date (first of the month) ``months`` after ``start`` = (year, month)."""
    y, m = divmod(start[1] - 1 + months, 12)
    return f"{start[0] + y:04d}-{m + 1:02d}-01"


def month_text(start: tuple[int, int], months: int) -> str:
    y, m = divmod(start[1] - 1 + months, 12)
    return f"{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m]} {start[0] + y}"


# --- the map -------------------------------------------------------------------------------------------
def map_base(model, *, aggregated: bool) -> dict:
    """The map's fixed layers and the points the frames recolour (practices, or CCG circles for big areas)."""
    reg = model.region
    real = reg.source != "synthetic"
    hx, hy = reg.hospital_xy[:, 0], reg.hospital_xy[:, 1]
    hub = reg.ccg_xy()
    px, py = (hub[:, 0], hub[:, 1]) if aggregated else (reg.x, reg.y)
    allx, ally = np.concatenate([px, hx]), np.concatenate([py, hy])
    cx, cy = (allx.min() + allx.max()) / 2, (ally.min() + ally.max()) / 2
    half = max(np.ptp(allx), np.ptp(ally), 1.0) / 2 * 1.08
    box = (cx - half, cx + half, cy - half, cy + half)
    ccg_names = mapdata.ccg_names(reg)
    series: list[dict] = []
    if real:
        for k, lines in enumerate(mapdata.outlines(reg, aggregated=aggregated)):
            series.append(
                dict(
                    id=f"outline{k}",
                    type="lines",
                    coordinateSystem="cartesian2d",
                    polyline=True,
                    silent=True,
                    z=0,
                    lineStyle=dict(color="#7a8a99", opacity=0.55 if k == 0 else 0.3, width=1.2 if k == 0 else 0.8),
                    data=[dict(coords=line.tolist()) for line in lines],
                )
            )
    km_per_px = (box[1] - box[0]) / mapdata.MAP_PX
    shown_ccgs = _ccg_labels(reg, ccg_names, km_per_px) if not aggregated else []
    if not aggregated:
        series += _practice_layers(model, ccg_names, shown_ccgs)
    series.append(_hospitals(reg, aggregated))
    avoid = [_marker_box(x, y, 9 * km_per_px) for x, y in reg.hospital_xy] if not aggregated else []
    hub_xy = reg.ccg_xy()
    avoid += [_marker_box(*hub_xy[c], 7 * km_per_px) for c in range(reg.n_ccgs) if not aggregated]
    avoid += [box for _c, box in shown_ccgs]
    towns = mapdata.towns(reg, box, aggregated=aggregated, avoid=avoid) if real else []
    if towns:
        series.append(
            dict(
                id="towns",
                type="scatter",
                silent=True,
                symbolSize=3,
                z=6,
                itemStyle=dict(color="#555"),
                label=dict(show=True, position="top", formatter="{b}", color="#333", fontWeight="bold", fontSize=11),
                labelLayout=dict(hideOverlap=True),
                data=[dict(name=t, value=[_r(x), _r(y)]) for t, x, y in towns],
            )
        )
    if aggregated:
        names = [f"{ccg_names[k]}" for k in range(reg.n_ccgs)]
        ref = _ccg_ref(model)
        points = [[_r(hub[k, 0]), _r(hub[k, 1]), _r(ref[k], 1)] for k in range(reg.n_ccgs)]
    else:
        names = mapdata.practice_labels(reg, ccg_names)
        rs = max(float(np.median(reg.list_size)), 1.0)
        size = 9.0 * np.sqrt(np.clip(reg.list_size / rs, 0.15, 8.0))
        points = [[_r(reg.x[i]), _r(reg.y[i]), _r(size[i], 1)] for i in range(reg.n_practices)]
    series.append(
        dict(
            id="practices",
            type="scatter",
            z=3,
            itemStyle=dict(borderColor="#fff", borderWidth=0.6),
            data=[],
        )
    )
    option = dict(
        animation=False,
        grid=dict(left=6, right=6, top=6, bottom=6),
        xAxis=dict(type="value", show=False, min=_r(box[0]), max=_r(box[1])),
        yAxis=dict(type="value", show=False, min=_r(box[2]), max=_r(box[3])),
        dataZoom=[
            dict(type="inside", xAxisIndex=0, filterMode="none"),
            dict(type="inside", yAxisIndex=0, filterMode="none"),
        ],
        series=series,
    )
    if aggregated:
        legend = (
            "One circle per CCG (too many practices to draw one by one): size = patients, darker blue = more of "
            "them in organisations. Small red dots: hospitals. Grey line: the outline of England. Hover a circle for "
            "its patients, share in organisations and practices closed. Scroll to zoom, drag to move."
        )
    else:
        legend = (
            "Each dot is a practice (size = list size). Grey: not in an organisation; a colour: one organisation. "
            "Black x: closed or merged. Red H: hospital. Dark diamond: CCG (dashed outline: its practices). Faint "
            "lines: working relationships. Hover for names; click a practice to see its organisation's story. "
            "Scroll to zoom, drag to move."
        )
    return dict(kind="ccgs" if aggregated else "practices", option=option, points=points, names=names, legend=legend)


def _hospitals(reg, aggregated: bool) -> dict:
    xs, ys = reg.hospital_xy[:, 0], reg.hospital_xy[:, 1]
    small = aggregated or len(xs) > 40
    return dict(
        id="hospitals",
        type="scatter",
        symbol="circle" if small else "rect",
        symbolSize=4 if small else 15,
        z=2 if small else 5,
        itemStyle=dict(color=HOSPITAL, opacity=0.8 if small else 1, borderColor="#fff", borderWidth=0 if small else 1),
        label=dict(show=not small, formatter="H", color="#fff", fontSize=9, fontWeight="bold"),
        data=[dict(name=f"Hospital: {reg.hospital_name[k]}", value=[_r(xs[k]), _r(ys[k])]) for k in range(len(xs))],
    )


def _marker_box(x: float, y: float, half: float) -> tuple:
    return (x - half, x + half, y - half, y + half)


def _ccg_labels(reg, names: list[str], km_per_px: float) -> list[tuple[int, tuple]]:
    """The CCGs whose names fit beside their diamond without covering another name, a diamond or a hospital
    (largest CCG first), with each label's box in km."""
    if reg.n_ccgs > 12:
        return []
    hub = reg.ccg_xy()
    pop = np.bincount(reg.ccg, reg.list_size, minlength=reg.n_ccgs)
    marks = [_marker_box(*hub[c], 7 * km_per_px) for c in range(reg.n_ccgs)]
    marks += [_marker_box(x, y, 9 * km_per_px) for x, y in reg.hospital_xy]
    out: list[tuple[int, tuple]] = []
    for c in np.argsort(-pop, kind="stable").tolist():
        label = mapdata.label_box(*hub[c], names[c], km_per_px, where="right", size=10.0)
        if not any(mapdata.overlaps(label, b) for b in marks + [b for _c, b in out]):
            out.append((c, label))
    return out


def _practice_layers(model, ccg_names: list[str], shown_ccgs: list[tuple[int, tuple]]) -> list[dict]:
    from gpsim.ui.figures import _ccg_outlines

    reg = model.region
    x, y = reg.x, reg.y
    out: list[dict] = []
    outlines = _ccg_outlines(reg)
    if outlines:
        out.append(
            dict(
                id="ccg-outlines",
                type="lines",
                coordinateSystem="cartesian2d",
                polyline=True,
                silent=True,
                z=0,
                lineStyle=dict(color=HUB, opacity=0.35, width=1, type="dashed"),
                data=[dict(coords=[[_r(a), _r(b)] for a, b in np.vstack([p, p[:1]])]) for p in outlines],
            )
        )
    e = observe.peer_edges(model)
    if len(e):
        out.append(
            dict(
                id="relationships",
                type="lines",
                coordinateSystem="cartesian2d",
                silent=True,
                large=True,
                z=1,
                lineStyle=dict(color="#555", opacity=0.12, width=0.6),
                data=[[[_r(x[i]), _r(y[i])], [_r(x[j]), _r(y[j])]] for i, j in e],
            )
        )
    hub = reg.ccg_xy()
    labelled = {c for c, _box in shown_ccgs}
    out.append(
        dict(
            id="ccgs",
            type="scatter",
            symbol="diamond",
            symbolSize=12,
            z=5,
            itemStyle=dict(color=HUB, borderColor="#fff", borderWidth=1),
            label=dict(show=False, position="right", formatter="{b}", color=HUB, fontSize=10),
            data=[
                dict(
                    name=ccg_names[c],
                    value=[_r(hub[c, 0]), _r(hub[c, 1])],
                    **({"label": dict(show=True)} if c in labelled else {}),
                )
                for c in range(reg.n_ccgs)
            ],
        )
    )
    return out


def _ccg_ref(model) -> list[float]:
    """Starting circle sizes for the CCG view (area proportional to patients)."""
    pop = np.bincount(model.region.ccg, model.region.list_size, minlength=model.region.n_ccgs).astype(float)
    ref = max(float(np.median(pop[pop > 0])) if (pop > 0).any() else 1.0, 1.0)
    return list(10 * np.sqrt(pop / ref))


def practice_codes(state: observe.PracticeState) -> np.ndarray:
    """One colour code per practice: -2 closed, -1 no organisation, else the organisation number."""
    return np.where(~state.open, -2, state.org)


def ccg_frame(model, state: observe.PracticeState, names: list[str]) -> list[list]:
    """[size, colour, hover text] for each CCG circle."""
    reg = model.region
    c = reg.n_ccgs
    pop, share, closed = ccg_shares(reg, state)
    start = np.bincount(reg.ccg, reg.list_size, minlength=c).astype(float)
    ref = max(float(np.median(start[start > 0])) if (start > 0).any() else 1.0, 1.0)
    return [
        [
            _r(10 * math.sqrt(pop[k] / ref), 1),
            _blue(share[k]),
            f"{names[k]}: {int(pop[k]):,} patients, {share[k] * 100:.0f}% in organisations, "
            f"{int(closed[k])} practices closed",
        ]
        for k in range(c)
    ]


def _blue(share: float) -> str:
    """Pale blue (none in organisations) to dark blue (all)."""
    lo, hi = (222, 235, 247), (8, 81, 156)
    r, g, b = (round(a + (z - a) * min(max(share, 0.0), 1.0)) for a, z in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


# --- the charts ----------------------------------------------------------------------------------------
def chart_legend(key: str, columns, compare: bool, bands: bool) -> list[dict]:
    out = []
    for chart, col, label, colour, _scale in LINES:
        if chart != key or col not in columns:
            continue
        if compare:
            out.append(dict(label=f"{label} (A)", colour=colour, dashed=True))
            out.append(dict(label=f"{label} (this run)", colour=colour, dashed=False))
        else:
            out.append(dict(label=label, colour=colour, dashed=False))
    if bands:
        out.append(dict(label="shaded: middle 80% of 10 runs with other seeds", colour="#999", dashed=False))
    return out


def charts_base(
    columns,
    *,
    start: tuple[int, int],
    n_months: int,
    pinned=None,
    bands: dict | None = None,
    bands_a: dict | None = None,
    des_month: int | None = None,
    pcn_sizes: tuple[float, float] = (30_000, 50_000),
) -> list[dict]:
    """One entry per chart: its title, key, note, fixed option (axes, run A, bands) and the lines that grow.

    ``pinned`` is run A (``steps`` DataFrame, ``start`` and ``n_months``); ``bands`` / ``bands_a`` map a column to
    (dates, low, median, high) lists from runs over ten seeds. ``des_month`` is the run month the Network DES
    starts (None: no DES in this run or in A, so no primary care network lines); ``pcn_sizes`` the patients a
    network is meant to cover (smallest, largest).
    """
    if des_month is None:
        columns = [c for c in columns if c not in PCN_COLUMNS]
    notes = dict(NOTES, share=pcn_note(start, des_month, pcn_sizes))
    x0, x1 = month_date(start, 0), month_date(start, n_months)
    if pinned is not None:
        x0 = min(x0, month_date(pinned.start, 0))
        x1 = max(x1, month_date(pinned.start, pinned.n_months))
    out = []
    for key, title in CHARTS.items():
        lines = [ln for ln in LINES if ln[0] == key and ln[1] in columns]
        if not lines:
            continue
        series: list[dict] = []
        grow = []
        for which, b in (("A", bands_a), ("run", bands)):
            for _chart, col, _label, colour, scale in lines:
                if b and col in b:
                    series += _band_series(f"{which}:{col}", b[col], colour, scale, which == "A")
        if pinned is not None:
            dates = [month_date(pinned.start, int(m)) for m in pinned.steps["step"]]
            for _chart, col, label, colour, scale in lines:
                if col not in pinned.steps:
                    continue
                ys = pinned.steps[col].to_numpy(dtype=float) * scale
                series.append(
                    dict(
                        id=f"A:{col}",
                        type="line",
                        name=f"{label} (A)",
                        showSymbol=False,
                        color=colour,
                        lineStyle=dict(type="dashed", width=1.6, opacity=0.75),
                        data=[[d, _r(v, 3)] for d, v in zip(dates, ys, strict=True)],
                    )
                )
        for _chart, col, label, colour, scale in lines:
            sid = f"run:{col}"
            series.append(
                dict(
                    id=sid,
                    type="line",
                    name=label + (" (this run)" if pinned is not None else ""),
                    showSymbol=True,
                    symbolSize=4,
                    color=colour,
                    lineStyle=dict(width=2),
                    data=[],
                )
            )
            grow.append(dict(id=sid, col=col, scale=scale))
        _marks(key, series)
        if key == "share":
            y_axis: dict = dict(type="value", min=0, max=100)
        elif key in COUNTS:
            y_axis = dict(type="value", min=0, minInterval=1)
        elif key == "pressure":
            y_axis = dict(type="value", scale=True)
        else:
            y_axis = dict(type="value", min=0)
        option = dict(
            animation=False,
            grid=dict(left=44, right=14, top=12, bottom=24),
            tooltip=dict(trigger="axis"),
            xAxis=dict(type="time", min=x0, max=x1, splitNumber=6),
            yAxis=y_axis,
            series=series,
        )
        out.append(
            dict(
                key=key,
                title=title,
                note=notes.get(key, ""),
                legend=chart_legend(key, columns, pinned is not None, bool(bands)),
                option=option,
                lines=grow,
                has_a=pinned is not None,
            )
        )
    return out


def _band_series(sid: str, band: tuple, colour: str, scale: float, is_a: bool) -> list[dict]:
    dates, lo, med, hi = band
    lo = [v * scale for v in lo]
    hi = [v * scale for v in hi]
    med = [v * scale for v in med]
    stack = f"band-{sid}"
    return [
        dict(
            id=f"{sid}:lo",
            type="line",
            stack=stack,
            silent=True,
            symbol="none",
            lineStyle=dict(opacity=0),
            data=[[d, _r(v, 3)] for d, v in zip(dates, lo, strict=True)],
        ),
        dict(
            id=f"{sid}:band",
            type="line",
            stack=stack,
            silent=True,
            symbol="none",
            lineStyle=dict(opacity=0),
            areaStyle=dict(color=colour, opacity=0.1 if is_a else 0.18),
            data=[[d, _r(b - a, 3)] for d, a, b in zip(dates, lo, hi, strict=True)],
        ),
        dict(
            id=f"{sid}:median",
            type="line",
            silent=True,
            symbol="none",
            lineStyle=dict(color=colour, width=1, type="dotted", opacity=0.9),
            data=[[d, _r(v, 3)] for d, v in zip(dates, med, strict=True)],
        ),
    ]


def _marks(key: str, series: list[dict]) -> None:
    if not series:
        return
    if key == "relationships":
        series[-1]["markArea"] = dict(
            silent=True,
            data=[
                [
                    dict(yAxis=NEIGHBOURHOOD_BAND[0], itemStyle=dict(color="rgba(44,160,44,0.13)")),
                    dict(yAxis=NEIGHBOURHOOD_BAND[1]),
                ],
                [dict(yAxis=LARGE_BAND[0], itemStyle=dict(color="rgba(255,127,14,0.2)")), dict(yAxis=LARGE_BAND[1])],
            ],
        )
    if key == "pressure":
        series[-1]["markLine"] = dict(
            silent=True, symbol="none", data=[dict(yAxis=1.0)], lineStyle=dict(color="#999", type="dotted")
        )


def rows_delta(records: list[dict], first: int, start: tuple[int, int], columns) -> dict:
    """The monthly rows from index ``first`` on, as column lists (only the columns the charts draw)."""
    part = records[first:]
    cols = {}
    for col in columns:
        vals = []
        for r in part:
            v = r.get(col)
            vals.append(_r(v, 4) if v is not None else None)
        cols[col] = vals
    return dict(start=first, dates=[month_date(start, int(r["step"])) for r in part], cols=cols)


def chart_columns(records: list[dict]) -> list[str]:
    if not records:
        return []
    have = records[0]
    return [col for _c, col, *_ in LINES if col in have]


# --- the organisations table ---------------------------------------------------------------------------
def whole(value: Any, default: int = -1) -> int:
    """A whole number from a table cell that may be missing (None, NaN or pandas' NA)."""
    try:
        if value is None or pd.isna(value):
            return default
        return int(value)
    except (TypeError, ValueError):
        return default


def _num(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def org_rows(orgs: pd.DataFrame, month: int, limit: int = 12) -> dict:
    """The largest organisations still going first, then the most recent failures; plus counts. ``asks`` is
    "delivered of taken" for the hospitals' asks it took on."""
    if orgs is None or len(orgs) == 0:
        return dict(rows=[], alive=0, failed=0)
    dissolved = orgs["dissolved_step"] if "dissolved_step" in orgs else pd.Series([pd.NA] * len(orgs))
    alive = dissolved.isna().to_numpy()
    pop = orgs["population"].to_numpy(dtype=float) if "population" in orgs else np.zeros(len(orgs))
    live = [int(k) for k in np.argsort(-pop * alive, kind="stable") if alive[k]]
    d = dissolved.fillna(-1).to_numpy(dtype=float)
    dead = sorted(np.flatnonzero(~alive), key=lambda k: -d[k])
    rows = []

    def col(name, k, default=0):
        return orgs[name].iloc[k] if name in orgs else default

    for k in (live + [int(k) for k in dead])[:limit]:
        org = int(col("org", k, k))
        founded = whole(col("founded_step", k, 0), 0)
        if alive[k]:
            status = "delivering for its members" if whole(col("first_benefit_step", k)) >= 0 else "building up"
            members, population, age = whole(col("members", k), 0), whole(col("population", k), 0), month - founded
        else:
            status = f"failed in month {int(d[k])}: {col('cause', k, 'unknown')}"
            members = whole(col("peak_members", k, col("members", k)), 0)
            population = whole(col("peak_population", k, col("population", k)), 0)
            age = int(d[k]) - founded
        rows.append(
            dict(
                org=org,
                colour=ORG_COLOURS[org % len(ORG_COLOURS)] if alive[k] else NO_ORG,
                form=str(col("form", k, "")),
                status=status,
                members=members,
                population=f"{population:,}",
                age=age,
                reserves=f"{_num(col('reserves', k)) / 1000:,.0f}",
                trust=f"{_num(col('cohesion', k)) * 100:.0f}%",
                asks=f"{whole(col('asks_delivered', k), 0)} of {whole(col('asks_taken', k), 0)}",
            )
        )
    return dict(rows=rows, alive=len(live), failed=len(dead))
