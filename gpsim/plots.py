"""Figures shared by the CLI, the UI, reports and notebooks (matplotlib, no display needed).

Figures are made as :class:`matplotlib.figure.Figure` objects, without pyplot: no GUI backend is chosen or
imported, nothing is kept in pyplot's list of open figures, and ``gpsim run --out`` does not pay for pyplot's
import. In a notebook the returned figure shows as any matplotlib figure does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The seed article's numbers game: counterparts per hospital for organisations of 30-50k and 200-300k.
NEIGHBOURHOOD_BAND = (6.0, 10.0)
LARGE_BAND = (1.0, 2.0)


def summary_figure(results, title: str | None = None, compare=None, labels=("A", "B")) -> Figure:
    """Four panels over time: share in organisations; relationships per hospital; organisations alive and
    failed; practices closed. ``compare`` overlays a second run (dashed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    runs = [(results, "-", labels[0])] + ([(compare, "--", labels[1])] if compare is not None else [])
    for res, ls, lab in runs:
        s = res.steps
        x = s["date"]
        suffix = f" ({lab})" if compare is not None else ""
        ax = axes[0, 0]
        ax.plot(x, s["share_practices_in_org"] * 100, ls, color="C0", label="practices" + suffix)
        ax.plot(x, s["share_population_committable"] * 100, ls, color="C2", label="population committable" + suffix)
        ax = axes[0, 1]
        ax.plot(x, s["relationships_per_hospital_mean"], ls, color="C3", label="mean" + suffix)
        ax.plot(x, s["relationships_baseline_mean"], ls, color="0.5", lw=1, label="with no organisations" + suffix)
        ax = axes[1, 0]
        ax.plot(x, s["n_orgs"], ls, color="C0", label="alive" + suffix)
        ax.plot(x, s["n_orgs_failed_cum"], ls, color="C3", label="failed (cumulative)" + suffix)
        ax = axes[1, 1]
        ax.plot(x, s["n_practices_closed_cum"], ls, color="C4", label="closed or merged" + suffix)
    axes[0, 0].set(title="In at-scale organisations", ylabel="%", ylim=(0, 100))
    ax = axes[0, 1]
    ax.axhspan(*NEIGHBOURHOOD_BAND, color="C2", alpha=0.12, label="30-50k organisations: 6-10")
    ax.axhspan(*LARGE_BAND, color="C1", alpha=0.15, label="200-300k organisations: 1-2")
    ax.set(title="Relationships each hospital keeps with general practice", ylabel="counterparts", ylim=(0, None))
    axes[1, 0].set(title="Organisations", ylabel="count")
    axes[1, 1].set(title="Practices closed or merged (cumulative)", ylabel="practices")
    for ax in axes.flat:
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
    fig.suptitle(title or results.region_name)
    return fig


def save_summary(results, path: str) -> None:
    fig = summary_figure(results)
    fig.savefig(path, dpi=110)  # a Figure without pyplot draws with the Agg canvas for PNG
