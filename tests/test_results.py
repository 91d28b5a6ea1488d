import json
import os

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim.errors import GpsimError
from gpsim.results import Results


def test_save_and_load_round_trip(tmp_path, small_params):
    r = gpsim.run(small_params, seed=3)
    for fmt in ("parquet", "csv"):
        out = tmp_path / fmt
        r.save(out, fmt=fmt)
        back = Results.load(out)
        assert back.params == r.params and back.seed == 3
        pd.testing.assert_series_equal(back.steps["n_orgs"], r.steps["n_orgs"])
        pd.testing.assert_frame_equal(back.org_money, r.org_money, check_dtype=False)
        assert back.final["orgs_founded"] == r.final["orgs_founded"]
        meta = json.loads((out / "final.json").read_text())
        assert meta["params"]["years"] == small_params.years
        assert meta["versions"]["numpy"] == np.__version__ and meta["versions"]["python"].count(".") == 2
        assert not [p for p in os.listdir(out) if p.startswith(".gpsim-")]  # no temporary leftovers


def test_parquet_tables_read_back_as_the_same_tables_with_the_same_types(tmp_path, small_params):
    import pyarrow.parquet as pq

    r = gpsim.run(small_params, seed=3)
    r.save(tmp_path / "run")
    for name in ("steps", "orgs", "closures", "org_money"):
        frame = getattr(r, name)
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)  # pandas' own way, every option its default
        ours, plain = pq.read_table(tmp_path / "run" / f"{name}.parquet"), pq.read_table(tmp_path / f"{name}.parquet")
        assert ours.schema == plain.schema and ours.equals(plain), name
        pd.testing.assert_frame_equal(ours.to_pandas(), frame)


def test_save_to_unwritable_place_is_a_clear_error(tmp_path, small_params):
    r = gpsim.run(small_params.replace(years=0.5), seed=0)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(GpsimError, match="cannot write to output folder"):
        r.save(blocker / "out")


def test_summary_table_has_the_milestone_rows(small_params):
    r = gpsim.run(small_params, seed=0)
    assert list(r.summary_table().index) == ["year 0", "year 2", "year 4"]
    assert "relationships / hospital" in r.format_summary()


def test_org_money_adds_up_to_the_ledger():
    """Each organisation's monthly flows, summed over organisations and months, are the ledger's entries of the
    same meaning; every row moved some money; net is money in minus money out."""
    from gpsim.money import FLOWS, FLOWS_IN, FLOWS_OUT
    from gpsim.state import MONEY_SOURCES

    r = gpsim.run("england-2013", seed=1, region="synthetic", n_practices=150, n_ccgs=3)
    t, led = r.org_money, r.ledger
    assert len(t) and list(t.columns) == ["step", "org", *FLOWS, "net"]
    same = {
        "subscriptions": "subscriptions",
        "contract_income": "contract_income",
        "local_services_margin": "local_services_margin",
        "running_costs": "org_running_costs",
        "leadership_team_costs": "leadership_team_costs",
        "contract_delivery_costs": "contract_delivery_costs",
        "service_delivery_costs": "service_delivery_costs",
        "member_services": "member_services",
    }
    for column, entry in same.items():
        assert t[column].sum() == pytest.approx(led[entry], rel=1e-9, abs=1e-6), column
    # programme money paid to organisations month by month: every programme source but the founding grant and
    # the Network DES (paid to primary care networks)
    not_programmes = {"capitation", "partner_contributions", "contract_income", "local_services_margin"}
    not_programmes |= {"org_debt_written_off", "network_des", "ccg_leadership_development"}
    programmes = sum(led[k] for k in MONEY_SOURCES if k not in not_programmes)
    assert programmes > 0 and t["one_off_funding"].sum() + t["recurrent_funding"].sum() == pytest.approx(programmes)
    flows = t[list(FLOWS)].to_numpy()
    assert (flows >= 0).all() and (flows != 0).any(axis=1).all()
    net = t[list(FLOWS_IN)].sum(axis=1) - t[list(FLOWS_OUT)].sum(axis=1)
    np.testing.assert_allclose(t["net"], net)
    assert t["step"].between(1, r.params.n_months).all() and set(t["org"]) <= set(r.orgs["org"])
    assert not t.duplicated(["step", "org"]).any()


def test_practice_table_is_a_copy_of_each_practice_now():
    from gpsim import GPModel

    model = GPModel(gpsim.resolve_params("funding-cliff", n_practices=80, n_ccgs=2), rng=4)
    for _ in range(30):
        model.step()
    t = model.practice_table()
    assert len(t) == model.region.n_practices and list(t["practice"]) == list(range(len(t)))
    orgs = model.orgs
    members = t["org"].dropna().astype(int).value_counts()
    assert len(members) and all(members[k] == orgs.view("members")[k] for k in members.index)
    assert t.loc[~t["open"], "org"].isna().all() and t.loc[~t["open"], "pcn"].isna().all()
    assert list(t["code"]) == [str(c) for c in model.region.practice_code]
    before = model.practices.list_size.copy()
    t["list_size"] = 0
    t.loc[0, "org"] = 99
    assert (model.practices.list_size == before).all() and model.practice_table()["org"].fillna(-1).iloc[0] != 99
    assert (model.practices.org != 99).all()
