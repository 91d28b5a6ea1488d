"""Survival of organisations (gpsim/survival.py, Results.survival): durations, censoring, Kaplan-Meier, Cox."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim import survival
from gpsim.errors import GpsimError

pytest.importorskip("lifelines")

NA = pd.NA


def orgs_frame() -> pd.DataFrame:
    """Six organisations in a 20-month run, worked by hand below."""
    return pd.DataFrame(
        {
            "org": ["A", "B", "D", "E", "F", "G"],
            "founded_step": [0, 2, 0, 10, 1, 0],
            "dissolved_step": pd.array([10, NA, 6, NA, 15, NA], dtype="Int64"),
            "last_external_step": pd.array([4, 6, 6, NA, 3, 20], dtype="Int64"),
        }
    )


def test_durations_from_founding_censor_the_living_at_the_end_of_the_run():
    d = survival.durations(orgs_frame(), 20, "founding").set_index("org")
    assert d["duration"].to_dict() == {"A": 10, "B": 18, "D": 6, "E": 10, "F": 14, "G": 20}
    assert d["dissolved"].to_dict() == {"A": True, "B": False, "D": True, "E": False, "F": True, "G": False}


def test_durations_from_the_end_of_one_off_money_count_the_same_organisations_as_final():
    d = survival.durations(orgs_frame(), 20, "one_off_end").set_index("org")
    # D dissolved in its last funded month, E never had one-off money, G still had it at the end: not counted
    assert d["duration"].to_dict() == {"A": 6, "B": 14, "F": 12}
    assert d["dissolved"].to_dict() == {"A": True, "B": False, "F": True}


def test_kaplan_meier_matches_the_hand_computed_estimate():
    t = survival.survival_table(survival.durations(orgs_frame(), 20, "founding")).set_index("months")
    # 6 at risk at month 6 (one dissolves), 5 at 10 (one dissolves, one censored), 3 at 14 (one dissolves)
    assert t.loc[6, "at_risk"] == 6 and t.loc[10, "at_risk"] == 5 and t.loc[14, "at_risk"] == 3
    assert t.loc[6, "survival"] == pytest.approx(5 / 6)
    assert t.loc[10, "survival"] == pytest.approx(2 / 3)
    assert t.loc[14, "survival"] == pytest.approx(4 / 9)
    assert t.loc[10, "censored"] == 1 and t.loc[20, "censored"] == 1
    assert (t["survival_low"] <= t["survival"]).all() and (t["survival"] <= t["survival_high"]).all()
    s = survival.summary(survival.durations(orgs_frame(), 20, "one_off_end"), at=(6, 12, 36))
    assert s["organisations"] == 3 and s["dissolved"] == 2 and s["median_months"] == 12
    assert s["survival_6m"] == pytest.approx(2 / 3) and s["survival_12m"] == pytest.approx(1 / 3)
    assert np.isnan(s["survival_36m"])  # beyond the longest follow-up: not known, not extrapolated


def test_results_survival_of_one_run():
    r = gpsim.run("funding-cliff", seed=3, n_practices=100, n_ccgs=2, years=6.0)
    t = r.survival()
    assert t["at_risk"].iloc[0] == len(r.orgs)
    assert t["dissolved"].sum() == r.final["orgs_dissolved"]
    assert (np.diff(t["survival"]) <= 0).all()
    cliff = r.survival("one_off_end")
    assert cliff["at_risk"].iloc[0] <= len(r.orgs)
    with pytest.raises(GpsimError, match="unknown survival clock 'death'"):
        r.survival("death")


def test_cox_needs_enough_events_and_finds_a_protective_parameter():
    rng = np.random.default_rng(1)
    n = 400
    x = rng.choice([0.0, 1.0, 3.0], n)
    t = rng.exponential(20 * np.exp(0.5 * x))  # hazard falls by exp(-0.5) per unit of x
    frame = pd.DataFrame({"duration": np.minimum(t, 60), "dissolved": t < 60, "subscription": x})
    table, note = survival.cox(frame, ["subscription"], cluster=None)
    hr = table.set_index("parameter").loc["subscription"]
    assert hr["hazard_ratio_low"] < np.exp(-0.5) < hr["hazard_ratio_high"] and hr["hazard_ratio"] < 1
    none, why = survival.cox(frame.head(8), ["subscription"], cluster=None)
    assert none is None and "needs at least 10" in why
    none, why = survival.cox(frame.assign(subscription=1.0), ["subscription"], cluster=None)
    assert none is None and "more than one value" in why
