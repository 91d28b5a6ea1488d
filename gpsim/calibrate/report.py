"""``report.html``: one self-contained page (plots embedded) that says what a calibration found."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PRIOR, POSTERIOR, OBSERVED = "#9aa5b1", "#1f6fb2", "#c0392b"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:,.1f}m"
        if a >= 100:
            return f"{v:,.0f}"
        if a >= 1:
            return f"{v:.2f}"
        return f"{v:.3g}"
    return html.escape(str(v))


def _top_share(sample: pd.DataFrame, kept: np.ndarray, names: list[str], edges: list[np.ndarray]) -> float:
    """The largest share not ruled out in any one- or two-parameter cell (at least 1%): the plots' scale, so a
    region that keeps 7% of the prior is not drawn as uniformly dark."""
    top = 0.0
    for j, xj in enumerate(names):
        for i, yi in enumerate(names[: j + 1]):
            if i == j:
                total, _ = np.histogram(sample[xj], bins=edges[j])
                inside, _ = np.histogram(sample[xj][kept], bins=edges[j])
            else:
                total, _, _ = np.histogram2d(sample[xj], sample[yi], bins=[edges[j], edges[i]])
                inside, _, _ = np.histogram2d(sample[xj][kept], sample[yi][kept], bins=[edges[j], edges[i]])
            share = np.divide(inside, total, out=np.zeros_like(inside, dtype=float), where=total > 0)
            top = max(top, float(share.max(initial=0.0)))
    return max(top, 0.01)


def pairs_figure(posterior: pd.DataFrame, depth: tuple[pd.DataFrame, np.ndarray], space) -> str:
    """The non-implausible region. Upper triangle: for each pair of parameters, the share of the prior not ruled
    out at each pair of values (over all other parameters; "optical depth"); diagonal: the same for one parameter;
    lower triangle: draws from the region left at the end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = space.names
    d = len(names)
    size = min(1.8 * d, 15)
    fig, axes = plt.subplots(d, d, figsize=(size, size), squeeze=False)
    post = posterior.iloc[:800]
    sample, kept = depth
    bins = 12
    edges = [np.linspace(space.low[j], space.high[j], bins + 1) for j in range(d)]
    image = None
    top = _top_share(sample, kept, names, edges)  # colour and bar scale: the densest cell, not 100%
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i][j]
            if i == j:
                total, _ = np.histogram(sample[xj], bins=edges[j])
                inside, _ = np.histogram(sample[xj][kept], bins=edges[j])
                share = np.divide(inside, total, out=np.zeros(bins), where=total > 0)
                ax.stairs(share, edges[j], fill=True, color=POSTERIOR, alpha=0.8)
                ax.set_ylim(0, top)
                ax.set_title(xj, fontsize=7)
            elif i < j:
                total, _, _ = np.histogram2d(sample[xj], sample[yi], bins=[edges[j], edges[i]])
                inside, _, _ = np.histogram2d(sample[xj][kept], sample[yi][kept], bins=[edges[j], edges[i]])
                share = np.divide(inside, total, out=np.zeros_like(inside), where=total > 0)
                image = ax.pcolormesh(edges[j], edges[i], share.T, vmin=0, vmax=top, cmap="viridis")
            else:
                ax.scatter(post[xj], post[yi], s=3, color=POSTERIOR, alpha=0.5, lw=0)
                ax.set_ylim(space.low[i], space.high[i])
            ax.set_xlim(space.low[j], space.high[j])
            if i == d - 1:
                ax.set_xlabel(xj, fontsize=7, rotation=20, ha="right")
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(yi, fontsize=7, rotation=0, ha="right", va="center")
            elif not (i == j == 0):
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.tight_layout(rect=(0, 0, 0.93, 0.96))
    if image is not None:
        cax = fig.add_axes((0.945, 0.55, 0.012, 0.35))
        fig.colorbar(image, cax=cax).set_label("share not ruled out", fontsize=8)
    fig.suptitle(
        "Where the region not ruled out lies. Above the diagonal and on it: share of the prior not ruled out at "
        "those values; below: draws from the region",
        fontsize=9,
    )
    return _png(fig)


def targets_figure(table: pd.DataFrame, prior: pd.DataFrame, post: pd.DataFrame) -> str:
    """Each target: prior predictive (first-wave runs) and posterior predictive runs against the observation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table.sort_values("period", key=lambda s: s.map({"train": 0, "test": 1}), kind="stable")
    n = len(rows)
    cols = 4
    nrow = math.ceil(n / cols)
    fig, axes = plt.subplots(nrow, cols, figsize=(4.0 * cols, 2.7 * nrow), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (_, r) in zip(axes.flat, rows.iterrows(), strict=False):
        kind = "TRAIN" if r["period"] == "train" else "TEST"
        title = f"[{kind}] {r['label']}"
        if len(title) > 52:
            title = title[:50] + "..."
        if r["status"] != "ok":
            ax.text(0.5, 0.5, "not available in\nthis model version", ha="center", va="center", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=8)
            continue
        col = f"target:{r['target']}"
        pv = prior[col].to_numpy(float)
        qv = post[col].to_numpy(float)
        pv, qv = pv[np.isfinite(pv)], qv[np.isfinite(qv)]
        both = np.concatenate([pv, qv])
        lo = min(r["accept_low"], *np.percentile(both, [1])) if len(both) else r["accept_low"]
        hi = max(r["accept_high"], *np.percentile(both, [99])) if len(both) else r["accept_high"]
        outside = int(((both < lo) | (both > hi)).sum())
        pv, qv = np.clip(pv, lo, hi), np.clip(qv, lo, hi)  # the few extreme runs sit in the end bins
        if hi <= lo:
            hi = lo + 1
        bins = np.linspace(lo, hi, 30)
        ax.axvspan(r["accept_low"], r["accept_high"], color=OBSERVED, alpha=0.08)
        ax.hist(pv, bins=bins, color=PRIOR, alpha=0.7, density=True, label="prior runs")
        if len(qv):
            ax.hist(qv, bins=bins, color=POSTERIOR, alpha=0.6, density=True, label="posterior runs")
        ax.axvline(r["observed"], color=OBSERVED, lw=2, label="observed (band: 3 sd)")
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
        flag = "  UNINFORMATIVE" if r["informative"] == "uninformative" else ""
        ax.set_title(title, fontsize=8, color="#7f6000" if flag else "black")
        ax.text(
            0.02,
            0.97,
            f"prior pass {r['prior_pass_share']:.0%}{flag}\nposterior pass {r['posterior_pass_share']:.0%}"
            + (f"\n{outside} extreme runs in the end bins" if outside else ""),
            transform=ax.transAxes,
            fontsize=7,
            va="top",
            color="#7f6000" if flag else "#333",
        )
    axes.flat[0].legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return _png(fig)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#222;
line-height:1.45;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;
text-align:right}th{background:#f4f6f8}td.l,th.l{text-align:left}
tr.uninformative td{background:#fff7d6}tr.missing td{color:#888;font-style:italic}
.test td:first-child{border-left:4px solid #8e44ad}.train td:first-child{border-left:4px solid #1f6fb2}
img{max-width:100%}.note{color:#555;font-size:14px}.tag{font-size:11px;padding:1px 6px;border-radius:8px;
background:#eee;margin-left:4px}
"""


def _targets_html(table: pd.DataFrame) -> str:
    head = (
        "<tr><th class=l>target</th><th class=l>sample</th><th>observed</th><th>uncertainty (sd)</th>"
        "<th>prior pass</th><th class=l>informative?</th><th>posterior pass</th><th>posterior mean</th>"
        "<th>95% interval</th><th class=l>source</th></tr>"
    )
    out = []
    for _, r in table.iterrows():
        cls = r["period"]
        if r["status"] != "ok":
            cls += " missing"
        elif r["informative"] == "uninformative":
            cls += " uninformative"
        ok = r["status"] == "ok"
        cells = [
            f"<td class=l>{html.escape(r['label'])}<br><small>{html.escape(r['output'])}</small></td>",
            f"<td class=l>{r['sample']}</td>",
            f"<td>{_fmt(float(r['observed']))}</td>",
            f"<td>{_fmt(float(r['uncertainty_sd']))}</td>",
            f"<td>{r['prior_pass_share']:.0%}</td>" if ok else "<td></td>",
            f"<td class=l>{html.escape(str(r['informative']))}</td>",
            f"<td>{r['posterior_pass_share']:.0%}</td>" if ok else "<td></td>",
            f"<td>{_fmt(r.get('posterior_mean'))}</td>",
            f"<td>{_fmt(r.get('posterior_low95'))} - {_fmt(r.get('posterior_high95'))}</td>" if ok else "<td></td>",
            f"<td class=l>{html.escape(r['source'])}</td>",
        ]
        out.append(f"<tr class='{cls}'>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(out)}</table>"


def _fmt_seconds(value) -> str:
    """Whole seconds, or blank for a record made before the time was kept."""
    return f"{value:.0f}" if isinstance(value, int | float) else ""


def _waves_html(meta: dict) -> str:
    rows = "".join(
        f"<tr><td>{w['wave']}</td><td>{w['runs']}</td><td>{w['failed']}</td><td>{w['run_seconds']:.0f}</td>"
        f"<td>{_fmt_seconds(w.get('fit_seconds'))}</td><td>{w['seconds']:.0f}</td><td>{w['nroy_share_of_prior']:.2%}</td>"
        f"<td class=l>{html.escape(', '.join(w['emulated_targets']))}</td></tr>"
        for w in meta["waves"]
    )
    return (
        "<table><tr><th>wave</th><th>runs</th><th>failed</th><th>seconds running</th><th>seconds fitting emulators</th>"
        "<th>seconds in all</th>"
        f"<th>prior space not ruled out</th><th class=l>emulated targets</th></tr>{rows}</table>"
    )


def _emulators_html(root: Path, n_waves: int) -> str:
    parts = []
    for k in range(1, n_waves + 1):
        path = root / "waves" / f"wave-{k}" / "emulators.csv"
        if not path.exists():
            continue
        f = pd.read_csv(path)
        cols = [c for c in ("target", "runs", "status", "holdout_r2", "holdout_coverage95", "run_sd") if c in f]
        body = "".join(
            "<tr>" + "".join(f"<td class=l>{_fmt(r[c])}</td>" for c in cols) + "</tr>" for _, r in f.iterrows()
        )
        parts.append(f"<h3>Wave {k}</h3><table><tr>{''.join(f'<th class=l>{c}</th>' for c in cols)}</tr>{body}</table>")
    return "".join(parts)


def write_report(
    path: Path, cal, quick: bool, meta: dict, table: pd.DataFrame, posterior, tables, post_runs, space, depth
):
    """Write ``report.html`` (plots embedded as PNG data, so the one file can be mailed or archived)."""
    pairs = pairs_figure(posterior, depth, space)
    tfig = targets_figure(table, tables[0], post_runs)
    ok = table[table["status"] == "ok"]
    lines = []
    for sample in ("in-sample", "out-of-sample"):
        sel = ok[ok["sample"] == sample]
        met = int((sel["posterior_pass_share"] >= 0.5).sum())
        lines.append(f"<li><b>{sample}</b>: {met} of {len(sel)} targets met by most posterior runs</li>")
    unin = ok.loc[ok["informative"] == "uninformative", "label"].tolist()
    missing = table.loc[table["status"] != "ok", "label"].tolist()
    if unin:
        lines.append(
            "<li><b>uninformative</b> (met by more than 90% of the prior, so meeting them shows little): "
            + html.escape("; ".join(unin))
            + "</li>"
        )
    if missing:
        lines.append("<li><b>not available in this model version</b>: " + html.escape("; ".join(missing)) + "</li>")
    share = meta["waves"][-1]["nroy_share_of_prior"] if meta["waves"] else 1.0
    point = ", ".join(f"{k} = {v:.4g}" for k, v in meta["point"].items())
    prior_rows = "".join(
        f"<tr><td class=l>{n}</td><td>{_fmt(float(lo))}</td><td>{_fmt(float(hi))}</td>"
        f"<td>{_fmt(float(posterior[n].quantile(0.05)))} - {_fmt(float(posterior[n].quantile(0.95)))}</td>"
        f"<td>{_fmt(float(meta['point'][n]))}</td></tr>"
        for n, (lo, hi) in zip(space.names, zip(space.low, space.high, strict=True), strict=True)
    )
    empty = (
        "<p class=note><b>Every candidate was ruled out.</b> No setting of the calibrated parameters meets all "
        "training targets within their stated uncertainty; the 'posterior' below is the least implausible "
        "candidates, shown so you can see how close the model gets.</p>"
        if meta.get("posterior_empty")
        else ""
    )
    page = f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>gpsim calibration: {html.escape(cal.name)}</title><style>{CSS}</style></head><body>
<h1>Calibration: {html.escape(cal.name)}{" <span class=tag>quick mode: reduced region</span>" if quick else ""}</h1>
<p class=note>{html.escape(cal.question)}<br>Scenario <b>{html.escape(cal.scenario)}</b>; history matching in
{len(meta["waves"])} wave(s), implausibility cut-off {cal.settings(quick).cutoff:g}; {meta["seconds"]:.0f} s in all.
Stopped because {html.escape(meta["stopped"])}. In-sample targets (2013-2016) were used to rule settings out;
out-of-sample targets (2017-2021) were not, so meeting them is a test of the model.</p>
<h2>What was found</h2><ul>
<li>{share:.2%} of the prior parameter space is not ruled out ({1 - share:.2%} ruled out)</li>
{"".join(lines)}
<li>point estimate (central and well fitting, in <code>calibrated.toml</code>): {html.escape(point)}</li></ul>
{empty}
<h2>Targets</h2>
<p class=note>A run <i>meets</i> a target when it is within 3 standard deviations (observation and model
discrepancy together) of the observed value. Prior pass = share of first-wave runs (spread over the whole prior)
that meet it; above 90% the target is marked uninformative (yellow): the model could hardly have missed it.
Posterior = runs of draws from the region left at the end, each with its own seed. Blue edge: in-sample; purple
edge: out-of-sample.</p>
{_targets_html(table)}
<h2>Prior and posterior predictive runs against each observation</h2>
<img alt="each target's prior and posterior runs against the observation" src="{tfig}">
<h2>The region not ruled out</h2>
<table><tr><th class=l>parameter</th><th>prior low</th><th>prior high</th><th>posterior 90%</th>
<th>point estimate</th></tr>{prior_rows}</table>
<img alt="pairwise plots of the region not ruled out" src="{pairs}">
<h2>Waves</h2>{_waves_html(meta)}
<h2>Emulator diagnostics</h2>
<p class=note>Each wave fits one Gaussian-process emulator per available in-sample target. holdout_r2: how much
of the variation in 20% held-out runs the emulator predicts; holdout_coverage95: share of held-out runs inside its
95% interval (about 0.95 is right); run_sd: the run-to-run spread it estimates.</p>
{_emulators_html(path.parent, len(meta["waves"]))}
</body></html>
"""
    tmp = path.with_name(".tmp-report.html")
    tmp.write_text(page)
    tmp.replace(path)
