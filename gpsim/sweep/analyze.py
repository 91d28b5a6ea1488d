"""Analysis of a stored sweep: sensitivity indices, tables, plots and one ``report.html``.

Every summary output is averaged over replicates at each design point. For ``sobol`` designs SALib computes
first-order and total indices (``S1``, ``ST``) with bootstrap confidence intervals; for ``morris`` designs
``mu``, ``mu_star`` (with its confidence interval) and ``sigma``. Every design gets a table of every output by
point, plots of the key outputs against each varied parameter, and, when monthly ``steps`` were kept,
time-series envelopes. Written into ``DIR/analysis/`` and ``DIR/report.html`` (images embedded).
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpsim.errors import ExperimentError
from gpsim.sweep.designs import sample_matrix
from gpsim.sweep.store import SweepStore

STEP_KEYS = (
    "relationships_per_hospital_mean",
    "share_population_committable",
    "n_orgs",
    "n_practices_open",
)
ID_COLUMNS = ("run_key", "step", "months")


def load_tables(root: str | os.PathLike) -> dict[str, Any]:
    """The manifest, design, runs and final tables of a sweep, and the replicate means by point."""
    store = SweepStore(root)
    manifest = store.read_manifest()
    runs = store.runs()
    if runs.empty:
        raise ExperimentError(f"{store.root}: no runs stored yet")
    design = store.design()
    exp = manifest["experiment"]
    varied = [c for c in design.columns if c not in ("row", "point_id")]
    final = store.final()
    if final.empty:
        raise ExperimentError(f"{store.root}: every stored run failed; see 'gpsim sweep status {store.root}'")
    final = final.merge(runs[["run_key", "point_id", "replicate"]], on="run_key", how="left")
    outputs = [
        c
        for c in final.columns
        if c not in ("run_key", "point_id", "replicate", *ID_COLUMNS)
        and pd.api.types.is_numeric_dtype(final[c])
        and not pd.api.types.is_bool_dtype(final[c])
    ]
    means = final.groupby("point_id")[outputs].mean()
    points = design.drop(columns="row").drop_duplicates("point_id").set_index("point_id")
    return dict(
        store=store,
        manifest=manifest,
        experiment=exp,
        runs=runs,
        design=design,
        varied=varied,
        final=final,
        outputs=outputs,
        means=means,
        points=points,
    )


def _problem(exp: dict[str, Any]) -> dict[str, Any]:
    names = list(exp["vary"])
    return {"num_vars": len(names), "names": names, "bounds": [[float(a), float(b)] for a, b in exp["vary"].values()]}


def _response(t: dict[str, Any], output: str) -> np.ndarray | None:
    """Replicate means in design-row order, or None when an output cannot be analysed (missing or constant)."""
    y = t["means"][output].reindex(t["design"]["point_id"]).to_numpy(dtype=float)
    if not np.isfinite(y).all() or np.nanstd(y) == 0:
        return None
    return y


def sobol_indices(t: dict[str, Any], resamples: int = 200) -> tuple[pd.DataFrame, list[str]]:
    """S1, S1_conf, ST, ST_conf (and S2 when the design has second order) for every analysable output."""
    from SALib.analyze import sobol

    exp = t["experiment"]
    problem = _problem(exp)
    second = bool(exp["design"].get("second_order", False))
    rows, skipped = [], []
    for out in t["outputs"]:
        y = _response(t, out)
        if y is None:
            skipped.append(out)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sobol.analyze(
                problem, y, calc_second_order=second, num_resamples=resamples, conf_level=0.95, seed=exp["seed"] % 2**32
            )
        for i, name in enumerate(problem["names"]):
            rows.append(
                dict(
                    output=out,
                    parameter=name,
                    S1=res["S1"][i],
                    S1_conf=res["S1_conf"][i],
                    ST=res["ST"][i],
                    ST_conf=res["ST_conf"][i],
                )
            )
    return pd.DataFrame(rows), skipped


def morris_indices(t: dict[str, Any], resamples: int = 200) -> tuple[pd.DataFrame, list[str]]:
    """mu, mu_star, mu_star_conf, sigma for every analysable output (on the design's unrounded sample)."""
    from SALib.analyze import morris

    exp = t["experiment"]
    problem = _problem(exp)
    d = exp["design"]
    x = sample_matrix("morris", problem, d["samples"], levels=d["levels"], seed=exp["seed"])
    rows, skipped = [], []
    for out in t["outputs"]:
        y = _response(t, out)
        if y is None:
            skipped.append(out)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = morris.analyze(
                problem,
                x,
                y,
                num_resamples=resamples,
                conf_level=0.95,
                num_levels=d["levels"],
                seed=exp["seed"] % 2**32,
            )
        for i, name in enumerate(problem["names"]):
            rows.append(
                dict(
                    output=out,
                    parameter=name,
                    mu=res["mu"][i],
                    mu_star=res["mu_star"][i],
                    mu_star_conf=res["mu_star_conf"][i],
                    sigma=res["sigma"][i],
                )
            )
    return pd.DataFrame(rows), skipped


def point_table(t: dict[str, Any]) -> pd.DataFrame:
    """Every design point: its varied values, replicates ok, and the replicate mean of every output."""
    n = t["final"].groupby("point_id").size().rename("replicates_ok")
    table = t["points"].join(n).join(t["means"])
    table["replicates_ok"] = table["replicates_ok"].fillna(0).astype(int)
    return table.reset_index()


def markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table (pandas' own needs the optional tabulate package)."""

    def cell(v: Any) -> str:
        return format(v, floatfmt) if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in rec) + " |" for rec in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


# --- plots --------------------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_indices(indices: pd.DataFrame, kind: str, outputs: list[str], path: Path) -> Path | None:
    outputs = [o for o in outputs if o in set(indices.get("output", []))]
    if not outputs:
        return None
    plt = _plt()
    n = len(outputs)
    cols = min(3, n)
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.6 * nrows), squeeze=False)
    for ax, out in zip(axes.flat, outputs, strict=False):
        sub = indices[indices["output"] == out]
        x = np.arange(len(sub))
        if kind == "sobol":
            ax.bar(x - 0.2, sub["S1"], 0.4, yerr=sub["S1_conf"], capsize=3, label="S1 (first order)")
            ax.bar(x + 0.2, sub["ST"], 0.4, yerr=sub["ST_conf"], capsize=3, label="ST (total)")
            ax.set_ylim(min(0, float((sub["S1"] - sub["S1_conf"]).min())) - 0.05, 1.1)
        else:
            ax.bar(x, sub["mu_star"], 0.6, yerr=sub["mu_star_conf"], capsize=3, label="mu* (with 95% CI)")
            ax.plot(x, sub["sigma"], "o", color="C3", label="sigma")
        ax.set_xticks(x, sub["parameter"], rotation=40, ha="right", fontsize=8)
        ax.set_title(out, fontsize=9)
        ax.axhline(0, color="grey", lw=0.5)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Sobol indices (95% bootstrap CI)" if kind == "sobol" else "Morris screening (95% CI on mu*)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_output_vs_params(t: dict[str, Any], output: str, path: Path) -> Path | None:
    if output not in t["outputs"]:
        return None
    plt = _plt()
    varied = t["varied"]
    per_run = t["final"][["point_id", output]].join(t["points"], on="point_id")
    n = len(varied)
    fig, axes = plt.subplots(1, n, figsize=(min(4.0 * n, 20), 3.3), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, varied, strict=False):
        x = per_run[name]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            ax.scatter(x, per_run[output], s=8, alpha=0.35, color="C0", label="runs")
            if x.nunique() <= 12:
                g = per_run.groupby(name)[output].agg(["mean", "sem"]).sort_index()
                ax.errorbar(
                    g.index,
                    g["mean"],
                    yerr=1.96 * g["sem"].fillna(0),
                    color="C1",
                    marker="o",
                    capsize=3,
                    label="mean (95% CI)",
                )
        else:
            g = per_run.groupby(x.astype(str))[output].agg(["mean", "sem"])
            ax.errorbar(range(len(g)), g["mean"], yerr=1.96 * g["sem"].fillna(0), fmt="o", capsize=3)
            ax.set_xticks(range(len(g)), g.index, rotation=30, fontsize=8)
        ax.set_xlabel(name, fontsize=8)
    axes.flat[0].set_ylabel(output, fontsize=8)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


#: Most distinct values a parameter may take to get its own lines in the envelopes and survival plots.
MAX_GROUPS = 6


def grouping_parameters(t: dict[str, Any], by: str | None = None) -> list[str]:
    """The varied parameters to split plots by: ``by`` if given, else each one with at most MAX_GROUPS values."""
    if by is not None:
        if by not in t["varied"]:
            raise ExperimentError(
                f"--by {by}: not a varied parameter of this sweep; allowed one of {', '.join(t['varied'])}"
            )
        return [by]
    return [n for n in t["varied"] if t["points"][n].nunique() <= MAX_GROUPS]


def plot_envelopes(t: dict[str, Any], steps: pd.DataFrame, path: Path, by: str | None = None) -> Path | None:
    """Median and 5-95% envelope of the key monthly series: one row of panels per varied parameter, one line
    per value of it (runs at every value of the other parameters pooled); all runs together when no parameter
    has few enough values."""
    cols = [c for c in STEP_KEYS if c in steps.columns]
    if steps.empty or not cols:
        return None
    plt = _plt()
    steps = steps.merge(t["runs"][["run_key", "point_id"]], on="run_key").join(t["points"], on="point_id")
    splits: list[str | None] = grouping_parameters(t, by) or [None]
    fig, axes = plt.subplots(
        len(splits), len(cols), figsize=(4.6 * len(cols), 3.2 * len(splits)), squeeze=False, sharex=True
    )
    for row, name in zip(axes, splits, strict=True):
        values = [None] if name is None else sorted(steps[name].dropna().unique())
        for ax, col in zip(row, cols, strict=True):
            for i, value in enumerate(values):
                sub = steps if name is None else steps[steps[name] == value]
                q = sub.groupby("step")[col].quantile([0.05, 0.5, 0.95]).unstack()
                years = q.index / 12
                label = "all runs" if name is None else f"{name} = {fmt_value(value)}"
                ax.fill_between(years, q[0.05], q[0.95], alpha=0.15, color=f"C{i}")
                ax.plot(years, q[0.5], color=f"C{i}", lw=1.3, label=label)
            ax.set_title(col, fontsize=9)
            ax.tick_params(labelsize=8)
        row[0].legend(fontsize=7, title=None if name is None else "median, 5-95% of runs", title_fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("years")
    fig.suptitle("Median and 5-95% envelope across runs" + ("" if splits == [None] else ", by each varied parameter"))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def fmt_value(v: Any) -> str:
    """A value as a person reads it: 30,000 (not 3e+04), 0.25, 2.5, yes/no."""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not np.isfinite(v):
            return "-" if np.isnan(v) else str(v)
        if v.is_integer() and abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.3g}"
    return str(v)


def _point_label(t: dict[str, Any], pid: str) -> str:
    rec = t["points"].loc[pid]
    return ", ".join(f"{k} {fmt_value(v)}" for k, v in rec.items())


# --- survival -------------------------------------------------------------------------------------------
def survival_analysis(t: dict[str, Any], out: Path, by: str | None = None) -> tuple[list, list]:
    """Kaplan-Meier curves by design point or varied parameter for both clocks, and Cox models.

    Writes ``analysis/survival.csv`` (organisations, dissolutions, median and 12/24/36-month survival by group),
    ``analysis/cox-<clock>.csv`` and ``survival-<clock>.png``; returns (report sections, images).
    """
    from gpsim import survival

    orgs = t["store"].orgs()
    if orgs.empty:
        kept = t["experiment"].get("outputs", {}).get("orgs", True)
        why = "the experiment has [outputs] orgs = false" if not kept else "no organisation formed in any run"
        return [("Survival of organisations", f"<p>Not computed: {html.escape(why)}.</p>")], []
    months = orgs[["run_key"]].merge(t["final"][["run_key", "months"]], on="run_key", how="left")["months"]
    orgs = orgs.reset_index(drop=True)
    months.index = orgs.index
    splits = grouping_parameters(t, by)
    by_point = by is None and len(t["points"]) <= MAX_GROUPS
    numeric = [
        n for n in t["varied"] if pd.api.types.is_numeric_dtype(orgs[n]) and not pd.api.types.is_bool_dtype(orgs[n])
    ]
    rows, sections, images = [], [], []
    plt = _plt()
    for clock, label in survival.CLOCKS.items():
        d = survival.durations(orgs, months, clock)
        panels: list[tuple[str, str, dict[str, pd.DataFrame]]] = []
        if by_point:
            groups = {_point_label(t, pid): d[d["point_id"] == pid] for pid in t["points"].index}
            panels.append(("point", "by design point", groups))
        for name in splits:
            values = sorted(d[name].dropna().unique()) if len(d) else []
            groups = {fmt_value(v): d[d[name] == v] for v in values}
            panels.append((name, f"by {name}", groups))
        if not panels:
            panels.append(("all", "all organisations", {"all runs": d}))
        for group_by, _, groups in panels:
            for name, g in groups.items():
                rows.append({"clock": clock, "by": group_by, "group": name, **survival.summary(g)})
        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
        for ax, (_, title, groups) in zip(axes.flat, panels, strict=True):
            survival.plot(groups, ax, title=title, clock=clock)
        fig.suptitle(f"Organisations still alive, {label} (Kaplan-Meier, 95% band; alive at the end = censored)")
        fig.tight_layout()
        path = out / f"survival-{clock}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        images.append((f"Survival of organisations, {label}", path))
        table, note = survival.cox(d, numeric)
        body = f"<p>{html.escape(note)}.</p>"
        if table is not None:
            table.to_csv(out / f"cox-{clock}.csv", index=False)
            body = (
                "<p>Hazard ratio per unit of each parameter (below 1: organisations last longer as it rises).</p>"
                + table.to_html(index=False, float_format=lambda v: f"{v:.4g}")
                + body
            )
        sections.append((f"Cox model of dissolution, {label}", body))
    table = pd.DataFrame(rows)
    table.to_csv(out / "survival.csv", index=False)
    shown = table.copy()
    for c in shown.columns:
        if c.startswith("survival_"):
            shown[c] = shown[c].map(lambda v: "-" if pd.isna(v) else f"{v:.0%}")
        elif c == "median_months":
            shown[c] = shown[c].map(lambda v: "-" if pd.isna(v) else f"{v:.0f}")
    sections.insert(
        0,
        (
            "Survival of organisations (every group in analysis/survival.csv; '-' = not reached or not known)",
            "<div class='wide'>" + shown.to_html(index=False) + "</div>",
        ),
    )
    return sections, images


# --- the whole analysis ---------------------------------------------------------------------------------
def analyze(root: str | os.PathLike, resamples: int = 200, by: str | None = None) -> Path:
    """Write tables, plots and ``report.html`` for the sweep in ``root``; return the report's path.

    Args:
        root: the sweep folder.
        resamples: bootstrap resamples for the confidence intervals of sensitivity indices.
        by: split survival curves and envelopes by this varied parameter only (default: by design point when
            there are at most six, and by each varied parameter that takes at most six values).
    """
    t = load_tables(root)
    store: SweepStore = t["store"]
    exp = t["experiment"]
    kind = exp["design"]["kind"]
    out = store.root / "analysis"
    out.mkdir(exist_ok=True)
    key = [o for o in exp["outputs"].get("key", []) if o in t["outputs"]] or t["outputs"][:4]
    sections: list[tuple[str, str]] = []
    images: list[tuple[str, Path]] = []

    n_runs = t["manifest"].get("n_runs", 0)
    ok, failed = store.stored_keys()
    missing = n_runs - len(ok) - len(failed)
    status = f"{len(ok)} runs ok, {len(failed)} failed, {missing} missing of {n_runs} planned"

    indices = pd.DataFrame()
    skipped: list[str] = []
    if kind in ("sobol", "morris") and len(t["means"]) and missing == 0 and not failed:
        indices, skipped = (sobol_indices if kind == "sobol" else morris_indices)(t, resamples)
    elif kind in ("sobol", "morris"):
        sections.append(("Indices", "<p>Not computed: the sweep is incomplete (every design row needs a result).</p>"))
    if not indices.empty:
        indices.to_csv(out / f"{kind}.csv", index=False)
        (out / f"{kind}.md").write_text(markdown(indices, ".3f"))
        p = plot_indices(indices, kind, key, out / f"{kind}-indices.png")
        if p:
            images.append((f"{kind.title()} indices of the key outputs", p))
        top = indices[indices["output"].isin(key)]
        note = (
            f"<p>Outputs constant or missing at some point (no indices): {', '.join(skipped)}.</p>" if skipped else ""
        )
        sections.append(
            (
                f"{kind.title()} indices (key outputs; all outputs in analysis/{kind}.csv)",
                top.to_html(index=False, float_format=lambda v: f"{v:.3f}") + note,
            )
        )

    points = point_table(t)
    points.to_csv(out / "points.csv", index=False)
    show = points[["point_id", *t["varied"], "replicates_ok", *key]]
    (out / "points.md").write_text(markdown(show.astype(object).map(fmt_value)))
    if len(show) <= 200:
        sections.append(
            (
                "Key outputs by point (replicate means; every output and the point ids in analysis/points.csv)",
                points_html(show.drop(columns="point_id")),
            )
        )

    for o in key:
        p = plot_output_vs_params(t, o, out / f"vs-params-{o}.png")
        if p:
            images.append((f"{o} against each varied parameter", p))
    steps = store.steps()
    if not steps.empty:
        p = plot_envelopes(t, steps, out / "envelopes.png", by=by)
        if p:
            images.append(("Time series", p))
    more_sections, more_images = survival_analysis(t, out, by=by)
    sections += more_sections
    images += more_images

    if failed:
        bad = t["runs"][t["runs"]["run_key"].isin(failed)][["run_key", "error"]].head(10)
        sections.append(("Failed runs (first 10)", bad.to_html(index=False)))

    report = store.root / "report.html"
    report.write_text(_html(t, status, sections, images))
    return report


def points_html(frame: pd.DataFrame) -> str:
    """The points table as HTML that fits the page: values as people read them (30,000; 0.25), headers that
    wrap at underscores, and a horizontal scroll bar only if it still does not fit."""
    body = frame.copy()
    for c in body.columns:
        body[c] = body[c].map(fmt_value)
    table = body.to_html(index=False, escape=True)
    for c in frame.columns:
        table = table.replace(f"<th>{html.escape(c)}</th>", f"<th>{html.escape(c).replace('_', '_<wbr>')}</th>")
    return f"<div class='wide'>{table}</div>"


def _html(t: dict[str, Any], status: str, sections: list[tuple[str, str]], images: list[tuple[str, Path]]) -> str:
    m = t["manifest"]
    exp = t["experiment"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>gpsim sweep: {html.escape(exp['name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "pre{background:#f6f6f6;padding:1em;font-size:11px;overflow:auto}img{max-width:100%}"
        ".wide{overflow-x:auto;max-width:100%}th{font-weight:600;vertical-align:bottom;max-width:9em}"
        "</style></head><body>",
        f"<h1>{html.escape(exp['name'])}</h1>",
        f"<p><b>Question.</b> {html.escape(exp.get('question', ''))}</p>",
        f"<p>{html.escape(exp['design']['kind'])} design over {html.escape(', '.join(t['varied']))}; "
        f"{exp['replicates']} replicates per point; scenario {html.escape(exp['scenario'])}; "
        f"{html.escape(status)}.</p>",
    ]
    for title, body in sections:
        parts.append(f"<h2>{html.escape(title)}</h2>{body}")
    for title, path in images:
        data = base64.b64encode(path.read_bytes()).decode()
        parts.append(
            f"<h2>{html.escape(title)}</h2><img alt='{html.escape(path.name)}' src='data:image/png;base64,{data}'>"
        )
    parts.append("<h2>Manifest</h2><pre>" + html.escape(json.dumps(m, indent=2, default=str)) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


# --- export -------------------------------------------------------------------------------------------
def export_csv(root: str | os.PathLike, to: str | os.PathLike | None = None, *, force: bool = False) -> list[Path]:
    """Write ``design.csv``, ``runs.csv``, ``final.csv`` (with point, replicate and varied values), and
    ``steps.csv``, ``orgs.csv`` and ``closures.csv`` (when kept) into ``to`` (default ``ROOT/export``).

    A file already there is never replaced unless ``force``; every file is written under a temporary name and
    renamed into place only when all of them are complete, so a full disk leaves no truncated CSV behind.
    """
    store = SweepStore(root)
    store.read_manifest()
    if to is not None and not str(to).strip():
        raise ExperimentError("--to '': an empty path; name the folder to write to")
    dest = Path(to) if to else store.root / "export"
    runs = store.runs()
    design = store.design()
    varied = [c for c in design.columns if c not in ("row", "point_id")]
    frames = {"design": design, "runs": runs}
    final = store.final()
    if not final.empty:
        ids = runs[["run_key", "point_id", "replicate", *varied]]
        frames["final"] = ids.merge(final, on="run_key", suffixes=("", "_output"))
    for name in ("steps", "orgs", "closures"):
        frame = store.read(name) if name == "steps" else getattr(store, name)()
        if not frame.empty:
            frames[name] = frame
    targets = {name: dest / f"{name}.csv" for name in frames}
    try:
        if dest.exists() and not dest.is_dir():
            raise ExperimentError(f"--to {dest}: is a file, not a folder")
        there = [p.name for p in targets.values() if os.path.lexists(p)]
        if there and not force:
            raise ExperimentError(
                f"--to {dest}: already holds {', '.join(there)}; use --force to replace, or another --to"
            )
        made = not dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExperimentError(f"cannot write to export folder {dest}: {err.strerror or err}") from None
    temps: dict[str, Path] = {}
    try:
        for name, frame in frames.items():
            temps[name] = dest / f".tmp-{uuid.uuid4().hex[:8]}-{name}.csv"
            frame.to_csv(temps[name], index=False)
            with open(temps[name], "rb") as fh:
                os.fsync(fh.fileno())
        for name, tmp in temps.items():
            os.replace(tmp, targets[name])  # a link named like an export is replaced, never followed
    except OSError as err:
        raise ExperimentError(
            f"cannot write to export folder {dest}: {err.strerror or err}; nothing exported"
        ) from None
    finally:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        if made and not any(dest.iterdir()):
            with contextlib.suppress(OSError):
                dest.rmdir()
    return list(targets.values())
