"""Analysis of a stored sweep: sensitivity indices, tables, plots and one ``report.html``.

Every summary output is averaged over replicates at each design point. For ``sobol`` designs SALib computes
first-order and total indices (``S1``, ``ST``) with bootstrap confidence intervals; for ``morris`` designs
``mu``, ``mu_star`` (with its confidence interval) and ``sigma``. Every design gets a table of every output by
point, plots of the key outputs against each varied parameter, and, when monthly ``steps`` were kept,
time-series envelopes. Written into ``DIR/analysis/`` and ``DIR/report.html`` (images embedded).
"""

from __future__ import annotations

import base64
import html
import json
import os
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


def plot_envelopes(t: dict[str, Any], steps: pd.DataFrame, path: Path) -> Path | None:
    cols = [c for c in STEP_KEYS if c in steps.columns]
    if steps.empty or not cols:
        return None
    plt = _plt()
    steps = steps.merge(t["runs"][["run_key", "point_id"]], on="run_key")
    groups = list(t["points"].index) if len(t["points"]) <= 6 else [None]
    fig, axes = plt.subplots(1, len(cols), figsize=(4.6 * len(cols), 3.4), squeeze=False)
    for ax, col in zip(axes.flat, cols, strict=False):
        for i, pid in enumerate(groups):
            sub = steps if pid is None else steps[steps["point_id"] == pid]
            q = sub.groupby("step")[col].quantile([0.05, 0.5, 0.95]).unstack()
            years = q.index / 12
            label = "all runs" if pid is None else _point_label(t, pid)
            ax.fill_between(years, q[0.05], q[0.95], alpha=0.2, color=f"C{i}")
            ax.plot(years, q[0.5], color=f"C{i}", lw=1.2, label=label)
        ax.set_title(col, fontsize=9)
        ax.set_xlabel("years")
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("Median and 5-95% envelope across runs")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _point_label(t: dict[str, Any], pid: str) -> str:
    rec = t["points"].loc[pid]
    return ", ".join(f"{k}={_short(v)}" for k, v in rec.items())


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


# --- the whole analysis ---------------------------------------------------------------------------------
def analyze(root: str | os.PathLike, resamples: int = 200) -> Path:
    """Write tables, plots and ``report.html`` for the sweep in ``root``; return the report's path."""
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
    (out / "points.md").write_text(markdown(show, ".4g"))
    if len(show) <= 200:
        sections.append(
            (
                "Key outputs by point (replicate means; every output in analysis/points.csv)",
                show.to_html(index=False, float_format=lambda v: f"{v:.4g}"),
            )
        )

    for o in key:
        p = plot_output_vs_params(t, o, out / f"vs-params-{o}.png")
        if p:
            images.append((f"{o} against each varied parameter", p))
    steps = store.steps()
    if not steps.empty:
        p = plot_envelopes(t, steps, out / "envelopes.png")
        if p:
            images.append(("Time series", p))

    if failed:
        bad = t["runs"][t["runs"]["run_key"].isin(failed)][["run_key", "error"]].head(10)
        sections.append(("Failed runs (first 10)", bad.to_html(index=False)))

    report = store.root / "report.html"
    report.write_text(_html(t, status, sections, images))
    return report


def _html(t: dict[str, Any], status: str, sections: list[tuple[str, str]], images: list[tuple[str, Path]]) -> str:
    m = t["manifest"]
    exp = t["experiment"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>gpsim sweep: {html.escape(exp['name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "pre{background:#f6f6f6;padding:1em;font-size:11px;overflow:auto}img{max-width:100%}</style></head><body>",
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
def export_csv(root: str | os.PathLike, to: str | os.PathLike | None = None) -> list[Path]:
    """Write ``design.csv``, ``runs.csv``, ``final.csv`` (with point, replicate and varied values) and
    ``steps.csv`` (when kept) into ``to`` (default ``ROOT/export``)."""
    store = SweepStore(root)
    store.read_manifest()
    dest = Path(to) if to else store.root / "export"
    dest.mkdir(parents=True, exist_ok=True)
    runs = store.runs()
    design = store.design()
    varied = [c for c in design.columns if c not in ("row", "point_id")]
    written = []
    frames = {"design": design, "runs": runs}
    final = store.final()
    if not final.empty:
        ids = runs[["run_key", "point_id", "replicate", *varied]]
        frames["final"] = ids.merge(final, on="run_key", suffixes=("", "_output"))
    steps = store.steps()
    if not steps.empty:
        frames["steps"] = steps
    for name, frame in frames.items():
        path = dest / f"{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    return written
