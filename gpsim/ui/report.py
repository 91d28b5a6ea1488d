"""The one-page report a participant takes home: settings in words, the charts, the map and the comparison.

One self-contained HTML file (the pictures are embedded), readable offline and printable on one or two pages.
"""

from __future__ import annotations

import base64
import html
import time

from gpsim.params import SPECS
from gpsim.ui import figures, frames, labels


def _img(png: bytes, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def html_report(session) -> str:
    """The report for ``session``'s run as it stands (and run A, if one is kept)."""
    p = session.applied
    a = session.pinned
    steps = session.steps_frame()
    charts = figures.session_charts(session, dpi=80)
    map_png = figures.to_png(figures.map_figure(session.model, aggregated=session.aggregated, size=5.0), dpi=80)
    values = p.to_dict()
    changed = session.changed_from_preset()
    basic_rows = "".join(
        f"<tr><td>{html.escape(labels.label(n))}</td><td>{html.escape(labels.shown(n).text(values[n]))}</td></tr>"
        for n in labels.BASIC
        if n != "region"
    )
    changed_text = (
        html.escape(labels.describe(values, changed)) if changed else "none: the preset's settings as they are"
    )
    last = steps.iloc[-1]
    figures_rows = "".join(
        f"<tr><td>{html.escape(frames.COLUMN_NAMES.get(c, c))}</td><td>{_fmt(c, last[c])}</td></tr>"
        for c in (
            "share_practices_in_org",
            "n_orgs",
            "n_orgs_failed_cum",
            "relationships_per_hospital_mean",
            "n_practices_closed_cum",
            "mean_workload_pressure",
        )
        if c in steps
    )
    compare = ""
    if a is not None:
        diffs = session.compare_differences()
        what = (
            "; ".join(f"{labels.label(n)}: {_v(n, va)} in A, {_v(n, vb)} in this run" for n, va, vb in diffs)
            or "no settings differ"
        )
        compare = (
            f"<h2>Compared with run A</h2><p>Run A (dashed in the charts): {html.escape(a.label)}, kept at month "
            f"{a.months}. What differs: {html.escape(what)}.</p>"
        )
    advanced = "".join(
        f"<tr><td>{html.escape(labels.label(s.name))}</td><td>{html.escape(labels.shown(s).text(values[s.name]))}</td></tr>"
        for s in SPECS
        if s.name not in labels.BASIC
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(session.file_stem())}</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 16px auto; color: #222; font-size: 14px; }}
h1 {{ font-size: 1.4rem; margin: 0 0 4px 0; }} h2 {{ font-size: 1.1rem; margin: 14px 0 4px 0; }}
table {{ border-collapse: collapse; }} td {{ padding: 1px 10px 1px 0; vertical-align: top; }}
.two {{ display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }} img {{ max-width: 100%; }}
details {{ margin-top: 10px; }} .small {{ color: #666; font-size: 12px; }}
</style></head><body>
<h1>gpsim: {html.escape(session.area_name())}, preset '{html.escape(session.scenario)}'</h1>
<p class="small">Saved {time.strftime("%d %B %Y, %H:%M")}. Month {session.month} of {session.n_months}
({frames.month_text(session.start, session.month)}). Random seed {session.seed}. The model is a simplified
picture for discussion, not a forecast.</p>
<div class="two"><div><h2>The main settings</h2><table>{basic_rows}</table>
<p>Changed from the preset: {changed_text}.</p></div>
<div><h2>Where the run got to</h2><table>{figures_rows}</table>{compare}</div></div>
<h2>Charts</h2>{_img(charts, "charts over time")}
<h2>Map</h2>{_img(map_png, "map of the area")}
<details><summary>Every other setting</summary><table>{advanced}</table></details>
</body></html>
"""


def _v(name: str, value) -> str:
    return str(value) if name == "seed" else labels.shown(name).text(value)


def _fmt(col: str, value) -> str:
    if col.startswith("share_"):
        return f"{float(value) * 100:.0f}%"
    if col == "mean_workload_pressure" or col.startswith("relationships"):
        return f"{float(value):.1f}"
    return f"{int(value):,}"
