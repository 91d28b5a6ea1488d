"""gpsim as an EMA Workbench model (gpsim/ema.py): uncertainties from the declaration, gpsim's seeds, outcomes."""

from __future__ import annotations

import numpy as np
import pytest

import gpsim
from gpsim import outputs
from gpsim.errors import ParameterError
from gpsim.params import SPECS
from gpsim.sweep.seeds import run_seed

ema_workbench = pytest.importorskip("ema_workbench")
import gpsim.ema  # noqa: E402

SMALL = dict(n_practices=60, n_ccgs=2)


def test_perform_experiments_with_every_declared_uncertainty_and_final_outcome():
    model = gpsim.ema.model(scenario="funding-cliff", years=2, fixed=SMALL)
    experiments, outcomes = ema_workbench.perform_experiments(model, 8)
    expected = {s.name for s in SPECS if s.group != "Region & time"}
    assert expected <= set(experiments.columns)
    assert {u.name for u in model.uncertainties} == expected
    kinds = {type(u).__name__ for u in model.uncertainties}
    assert {"RealParameter", "IntegerParameter"} <= kinds
    numeric_final = {c.name for c in outputs.FINAL if c.kind in ("int", "float")}
    assert set(outcomes) == numeric_final
    assert all(v.shape == (8,) for v in outcomes.values())
    # the first experiment is gpsim.run with gpsim's seed scheme: root seed 0, the point's values, replicate 0
    row = experiments.iloc[0]
    values = {u.name: row[u.name] for u in model.uncertainties}
    values = {k: (v.item() if hasattr(v, "item") else v) for k, v in values.items()}
    params = gpsim.scenario("funding-cliff").replace(years=2, **SMALL, **values)
    direct = gpsim.run(params, seed=run_seed(0, values, 0))
    for key in ("n_orgs", "relationships_per_hospital_mean", "orgs_founded"):
        assert outcomes[key][0] == direct.final[key], key


def test_named_uncertainties_series_outcomes_and_replications():
    model = gpsim.ema.model(
        scenario="funding-cliff",
        years=2,
        fixed=SMALL,
        uncertainties={"subscription_per_patient": [0.0, 3.0], "pump_priming_months": None},
        outcomes=["survival_12m_after_one_off", "n_orgs"],
        replications=2,
    )
    by_name = {u.name: u for u in model.uncertainties}
    assert type(by_name["pump_priming_months"]).__name__ == "IntegerParameter"
    assert (by_name["subscription_per_patient"].lower_bound, by_name["subscription_per_patient"].upper_bound) == (
        0.0,
        3.0,
    )
    experiments, outcomes = ema_workbench.perform_experiments(model, 3)
    assert outcomes["n_orgs"].shape == (3,) and outcomes["survival_12m_after_one_off"].shape == (3,)
    assert experiments["pump_priming_months"].dtype.kind == "i"
    row = experiments.iloc[1]  # the mean of the two replicates' runs, each with its own seed
    values = {
        "subscription_per_patient": float(row["subscription_per_patient"]),
        "pump_priming_months": int(row["pump_priming_months"]),
    }
    params = gpsim.scenario("funding-cliff").replace(years=2, **SMALL, **values)
    runs = [gpsim.run(params, seed=run_seed(0, values, r)).final["n_orgs"] for r in (0, 1)]
    assert outcomes["n_orgs"][1] == pytest.approx(np.mean(runs))
    assert gpsim.ema.mean_of_known([np.nan, 0.5, 1.0]) == 0.75 and np.isnan(gpsim.ema.mean_of_known([np.nan]))
    series = gpsim.ema.model(  # one replication; steps columns come back as monthly series
        scenario="funding-cliff",
        years=1,
        fixed=SMALL,
        uncertainties=["size_aversion"],
        outcomes=["n_orgs", "share_population_committable_monthly"],
    )
    _, out = ema_workbench.perform_experiments(series, 2)
    assert out["n_orgs"].shape == (2,) and out["share_population_committable_monthly"].shape == (2, 13)  # months 0-12


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(uncertainties=["pump_priming_per_patiant"]), "unknown parameter 'pump_priming_per_patiant'"),
        (dict(uncertainties={"size_aversion": [0, 9]}), "uncertainties: size_aversion: parameter 'size_aversion'"),
        (dict(outcomes=["survival"]), "outcomes: unknown outcome 'survival'"),
        (dict(outcomes=["n_closures_cum"]), "say n_closures_cum_monthly"),
        (dict(replications=0), "replications 0"),
    ],
)
def test_bad_arguments_give_one_line(kwargs, message):
    with pytest.raises(ParameterError, match=message) as err:
        gpsim.ema.model(scenario="funding-cliff", **kwargs)
    assert len(str(err.value).splitlines()) == 1


def test_complete_drops_experiments_with_missing_outcomes_for_scenario_discovery():
    import pandas as pd

    x = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    y = {"s": np.array([0.5, np.nan, 1.0]), "n": np.array([1.0, 2.0, 3.0])}
    x2, y2 = gpsim.ema.complete(x, y, ["s"])
    assert list(x2["a"]) == [1.0, 3.0] and list(y2["n"]) == [1.0, 3.0]
    assert gpsim.ema.may_be_missing("survival_36m_after_one_off") and not gpsim.ema.may_be_missing("n_orgs")
