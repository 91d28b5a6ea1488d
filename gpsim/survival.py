"""Survival of organisations: how long they last, from founding or from the end of their one-off money.

Durations are read from an ``orgs`` table (one run's ``Results.orgs`` or a sweep's ``orgs`` folder); an
organisation still alive at the end of its run is *censored* there. Kaplan-Meier curves and Cox models come
from lifelines (``pip install 'gpsim[sweep]'``), imported only when asked for: the model never needs it.

Two clocks:

* ``founding``: months from founding to dissolution; every organisation counts.
* ``one_off_end``: months from the last month of one-off (pump-priming) money to dissolution; only
  organisations that had one-off money, whose money ended before the end of the run and that did not dissolve
  in its last month (they lost the money by dissolving, not to the cliff) -- the same organisations as the
  ``survival_*m_after_one_off`` figures of ``final``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gpsim.errors import GpsimError

CLOCKS = {
    "founding": "months since founding",
    "one_off_end": "months since one-off money ended",
}
#: Fewest dissolutions per covariate before a Cox model is fitted (a common rule of thumb is 10).
EVENTS_PER_COVARIATE = 10


def lifelines():
    """The lifelines package, or a one-line error saying how to install it."""
    try:
        import lifelines as ll
    except ImportError:
        raise GpsimError("survival analysis needs lifelines: pip install 'gpsim[sweep]'") from None
    return ll


def durations(orgs: pd.DataFrame, months: int | pd.Series, since: str = "founding") -> pd.DataFrame:
    """Each organisation's time at risk and whether it ended in dissolution.

    Args:
        orgs: an ``orgs`` table (docs/OUTPUTS.md); extra columns (run_key, parameters) are kept.
        months: the length of the run (or, for a sweep, a Series aligned with ``orgs`` of each row's run length).
        since: ``founding`` or ``one_off_end`` (see :data:`CLOCKS`).

    Returns:
        The qualifying rows of ``orgs`` (organisations only: rows of kind ``pcn``, primary care networks, are
        left out) with ``duration`` (months) and ``dissolved`` (bool: False = censored at
        the end of the run).
    """
    if since not in CLOCKS:
        raise GpsimError(f"unknown survival clock {since!r}; allowed one of {', '.join(CLOCKS)}")
    if "kind" in orgs.columns:  # primary care networks are not organisations that can fail on their own
        keep_kind = (orgs["kind"] != "pcn").to_numpy(dtype=bool)
        orgs = orgs[keep_kind]
        months = months if np.isscalar(months) else months[keep_kind]  # a Series aligned with orgs
    end_of_run = pd.Series(months, index=orgs.index, dtype=float) if np.isscalar(months) else months.astype(float)
    dissolved = orgs["dissolved_step"].astype("Float64")
    if since == "founding":
        keep = pd.Series(True, index=orgs.index)
        start = orgs["founded_step"].astype(float)
    else:
        last = orgs["last_external_step"].astype("Float64")
        keep = (last.notna() & (last < end_of_run) & (dissolved.isna() | (dissolved > last))).fillna(False)
        start = last.astype(float)
    out = orgs[keep.to_numpy(dtype=bool)].copy()
    stop = dissolved[keep].fillna(end_of_run[keep]).astype(float)
    out["duration"] = (stop - start[keep]).to_numpy(dtype=float)
    out["dissolved"] = dissolved[keep].notna().to_numpy(dtype=bool)
    return out


def kaplan_meier(frame: pd.DataFrame, label: str = "organisations"):
    """A fitted lifelines ``KaplanMeierFitter`` over the rows of a :func:`durations` frame."""
    fitter = lifelines().KaplanMeierFitter(label=label)
    return fitter.fit(frame["duration"], event_observed=frame["dissolved"])


def survival_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The Kaplan-Meier estimate as a table: one row per month with an event or a censoring.

    Columns: ``months``, ``at_risk``, ``dissolved``, ``censored``, ``survival`` and its 95% confidence interval
    (``survival_low``, ``survival_high``; Greenwood's formula on the log-log scale, as lifelines computes it).
    """
    columns = ["months", "at_risk", "dissolved", "censored", "survival", "survival_low", "survival_high"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    km = kaplan_meier(frame)
    ev = km.event_table
    ci = km.confidence_interval_survival_function_
    return pd.DataFrame(
        {
            "months": ev.index.to_numpy(dtype=float),
            "at_risk": ev["at_risk"].to_numpy(dtype=int),
            "dissolved": ev["observed"].to_numpy(dtype=int),
            "censored": ev["censored"].to_numpy(dtype=int),
            "survival": km.survival_function_.iloc[:, 0].reindex(ev.index).to_numpy(),
            "survival_low": ci.iloc[:, 0].reindex(ev.index).to_numpy(),
            "survival_high": ci.iloc[:, 1].reindex(ev.index).to_numpy(),
        },
        columns=columns,
    )


def summary(frame: pd.DataFrame, at: Sequence[int] = (12, 24, 36)) -> dict[str, Any]:
    """Organisations, dissolutions, median survival and survival at ``at`` months (missing where unknown)."""
    out: dict[str, Any] = {"organisations": len(frame), "dissolved": int(frame["dissolved"].sum())}
    if frame.empty:
        out["median_months"] = np.nan
        out.update({f"survival_{m}m": np.nan for m in at})
        return out
    km = kaplan_meier(frame)
    median = km.median_survival_time_
    out["median_months"] = float(median) if np.isfinite(median) else np.nan  # never reached 50%: not known
    longest = float(frame["duration"].max())
    for m in at:
        out[f"survival_{m}m"] = float(km.survival_function_at_times(m).iloc[0]) if m <= longest else np.nan
    return out


def cox(
    frame: pd.DataFrame, covariates: Sequence[str], cluster: str | None = "run_key"
) -> tuple[pd.DataFrame | None, str]:
    """A Cox proportional-hazards model of dissolution against ``covariates``, when there are enough events.

    Organisations of one run share its history, so standard errors are clustered by run (robust sandwich
    errors) when ``cluster`` names a column.

    Returns:
        (a table with one row per covariate: ``coef``, ``hazard_ratio`` per unit, its 95% interval and ``p``;
        a note), or (None, why not) when there are too few dissolutions or covariates.
    """
    covariates = [c for c in covariates if c in frame and frame[c].nunique() > 1]
    events = int(frame["dissolved"].sum()) if len(frame) else 0
    if not covariates:
        return None, "no varied numeric parameter takes more than one value"
    need = EVENTS_PER_COVARIATE * len(covariates)
    if events < need:
        return None, f"{events} dissolutions; a Cox model of {len(covariates)} parameters needs at least {need}"
    ll = lifelines()
    cols = ["duration", "dissolved", *covariates] + ([cluster] if cluster and cluster in frame else [])
    data = frame[cols].copy()
    data[covariates] = data[covariates].astype(float)
    data["dissolved"] = data["dissolved"].astype(bool)
    fitter = ll.CoxPHFitter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the fit's own summary says how good it is
        fitter.fit(
            data,
            duration_col="duration",
            event_col="dissolved",
            cluster_col=cluster if cluster and cluster in frame else None,
        )
    s = fitter.summary
    table = pd.DataFrame(
        {
            "parameter": s.index.to_list(),
            "coef": s["coef"].to_numpy(),
            "hazard_ratio": s["exp(coef)"].to_numpy(),
            "hazard_ratio_low": s["exp(coef) lower 95%"].to_numpy(),
            "hazard_ratio_high": s["exp(coef) upper 95%"].to_numpy(),
            "p": s["p"].to_numpy(),
        }
    )
    note = f"{events} dissolutions among {len(frame)} organisations; concordance {fitter.concordance_index_:.2f}" + (
        "; standard errors clustered by run" if cluster and cluster in frame else ""
    )
    return table, note


def plot(groups: dict[str, pd.DataFrame], ax, title: str = "", clock: str = "founding") -> None:
    """Kaplan-Meier curves with 95% bands, one per group, on a matplotlib axis (x in years)."""
    ll = lifelines()
    drawn = 0
    for i, (label, frame) in enumerate(groups.items()):
        if frame.empty:
            continue
        drawn += 1
        km = ll.KaplanMeierFitter(label=f"{label} (n={len(frame)})")
        km.fit(frame["duration"] / 12, event_observed=frame["dissolved"])
        km.plot_survival_function(ax=ax, ci_show=True, ci_alpha=0.15, color=f"C{i % 10}", lw=1.4)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(CLOCKS[clock].replace("months", "years"))
    ax.set_ylabel("share of organisations still alive")
    if title:
        ax.set_title(title, fontsize=9)
    if drawn:
        ax.legend(fontsize=7, loc="lower left")
    else:
        ax.text(0.5, 0.5, "no organisation qualifies", ha="center", va="center", transform=ax.transAxes)
