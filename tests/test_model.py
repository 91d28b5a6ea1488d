import numpy as np
import pandas as pd
import pytest
from conftest import SMALL, check_invariants

import gpsim
from gpsim.agents import CCG, Hospital, Organisation, Practice
from gpsim.scenarios import SCENARIOS


@pytest.mark.parametrize("name", ["baseline", "funding-cliff", "recurrent-funding", "low-trust-history", "large-scale"])
@pytest.mark.parametrize("seed", [0, 7])
def test_invariants_hold_every_month(name, seed):
    model = gpsim.GPModel(gpsim.scenario(name).replace(**SMALL), rng=seed)
    check_invariants(model)
    for _ in range(model.p.n_months):
        model.step()
        check_invariants(model)


def test_england_2013_timeline_invariants_short():
    p = gpsim.scenario("england-2013").replace(n_practices=900, n_ccgs=24, years=9.0)
    model = gpsim.GPModel(p, rng=3)
    for _ in range(p.n_months):
        model.step()
    check_invariants(model)
    # CCG mergers shrank the number of CCGs to about 106/211 of the start (facts #6)
    assert model.records[-1]["n_ccgs"] == round(24 * 106 / 211)


def test_same_seed_same_results_different_seed_different(small_params):
    a = gpsim.run(small_params, seed=11)
    b = gpsim.run(small_params, seed=11)
    c = gpsim.run(small_params, seed=12)
    pd.testing.assert_frame_equal(a.steps, b.steps)
    pd.testing.assert_frame_equal(a.orgs, b.orgs)
    pd.testing.assert_frame_equal(a.closures, b.closures)
    assert not a.steps.equals(c.steps)


def test_seed_sequence_seeds_work_and_are_recorded(small_params):
    ss = np.random.SeedSequence(5, spawn_key=(3, 1))
    a = gpsim.run(small_params, seed=ss)
    b = gpsim.run(small_params, seed=np.random.SeedSequence(5, spawn_key=(3, 1)))
    pd.testing.assert_frame_equal(a.steps, b.steps)
    assert a.seed == {"entropy": 5, "spawn_key": [3, 1]}


def test_the_region_is_fixed_by_parameters_not_by_the_run_seed(small_params):
    m1, m2 = gpsim.GPModel(small_params, rng=1), gpsim.GPModel(small_params, rng=2)
    assert np.array_equal(m1.region.list_size, m2.region.list_size)
    assert np.array_equal(m1.region.peer_edges, m2.region.peer_edges)
    m3 = gpsim.GPModel(small_params.replace(region_seed=9), rng=1)
    assert not np.array_equal(m1.region.list_size, m3.region.list_size)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_runs_and_reports_the_stable_outputs(name):
    p = gpsim.scenario(name)
    if name == "england-2013":
        p = p.replace(years=1.0)
    else:
        p = p.replace(years=2.0)
    r = gpsim.run(p, seed=1)
    required = [
        "step",
        "date",
        "n_practices_open",
        "n_practices_closed_cum",
        "share_practices_in_org",
        "share_population_in_org",
        "n_orgs",
        "n_orgs_failed_cum",
        "org_size_mean",
        "mean_list_size",
        "mean_workload_pressure",
        "relationships_per_hospital_mean",
        "relationships_per_hospital_max",
        "share_population_committable",
        "share_orgs_self_funding",
        "external_funding_month",
        "leaders_burnt_out_cum",
    ]
    assert not set(required) - set(r.steps.columns)
    assert len(r.steps) == p.n_months + 1 and r.steps["step"].tolist() == list(range(p.n_months + 1))
    assert r.steps["date"].iloc[0] == pd.Timestamp(p.start_year, p.start_month, 1)
    for key in ("survival_12m_after_one_off", "survival_24m_after_one_off", "survival_36m_after_one_off"):
        assert key in r.final
    assert r.params == p
    assert set(r.orgs.columns) >= {
        "form",
        "founded_step",
        "dissolved_step",
        "cause",
        "peak_members",
        "peak_population",
        "leadership",
        "months_external_funding",
    }


def test_baseline_shape_matches_the_issue():
    model = gpsim.GPModel(gpsim.scenario("baseline"), rng=0)
    assert model.region.n_practices == 180 and model.region.n_ccgs == 5 and model.region.n_hospitals == 4
    assert len(model.agents_by_type[Practice]) == 180
    assert len(model.agents_by_type[CCG]) == 5 and len(model.agents_by_type[Hospital]) == 4
    # with no organisations each hospital keeps one relationship per open practice in its catchment
    assert model.relationships_by_hospital().sum() == 180


def test_agents_are_views_onto_the_arrays():
    model = gpsim.GPModel(gpsim.scenario("funding-cliff").replace(**SMALL), rng=4)
    for _ in range(30):
        model.step()
    practice = next(iter(model.agents_by_type[Practice]))
    assert practice.list_size == model.practices.list_size[practice.index]
    orgs = list(model.agents_by_type.get(Organisation, []))
    assert orgs, "expected some organisations after 30 months of generous pump-priming"
    org = orgs[0]
    assert all(model.practices.org[i] == org.index for i in org.members)
    assert org.population == sum(model.practices.list_size[i] for i in org.members)


def test_delivery_is_work_done_with_no_floor():
    # default leadership: some organisations deliver in well under two years, none at a fixed delay
    r = gpsim.run("england-2013", seed=1, years=5.0, n_practices=1_500, n_ccgs=40)
    delivered = r.orgs[r.orgs["first_benefit_step"] >= 0]
    delay = delivered["first_benefit_step"] - delivered["founded_step"]
    assert len(delay) > 20
    assert delay.min() < delay.quantile(0.25) - 3
    assert delay.min() < 18


def test_weak_leadership_never_delivers_and_strong_leadership_delivers_fast():
    base = dict(seed=2, years=4.0, n_practices=120, n_ccgs=3)
    weak = gpsim.run("funding-cliff", leader_effort=0.0, leadership_share_to_org=0.0, **base)
    assert len(weak.orgs) > 0 and (weak.orgs["first_benefit_step"] < 0).all()
    strong = gpsim.run("funding-cliff", setup_work_base=5.0, setup_work_per_member=1.0, **base)
    delivered = strong.orgs[strong.orgs["first_benefit_step"] >= 0]
    assert len(delivered) > 0
    assert (delivered["first_benefit_step"] - delivered["founded_step"]).median() <= 6


def test_no_money_means_no_external_funding_recorded():
    r = gpsim.run("baseline", seed=0, years=2.0, pump_priming_per_patient=0.0)
    assert (r.steps["external_funding_month"] == 0).all()
    assert r.ledger["pump_priming"] == 0


def test_pump_priming_is_paid_only_while_it_lasts():
    r = gpsim.run("funding-cliff", seed=0, years=4.0)
    paid = r.steps.set_index("step")["external_funding_month"]
    assert paid.loc[25:].eq(0).all()  # money ends after month 24
    assert paid.loc[1:24].gt(0).any()
    assert (r.orgs["last_external_step"] <= 24).all()


def test_small_practices_are_more_fragile_than_large_ones():
    # mechanisms only (fixed costs, lumpy GPs): exit rates by starting list size over several runs
    small_exits = large_exits = small_n = large_n = 0
    for seed in range(4):
        model = gpsim.GPModel(gpsim.scenario("baseline").replace(n_practices=400, n_ccgs=6, years=8.0), rng=seed)
        start = model.region.list_size
        for _ in range(model.p.n_months):
            model.step()
        exited = model.practices.status != 0
        small, large = start < 4_000, start > 10_000
        small_exits += exited[small].sum()
        large_exits += exited[large].sum()
        small_n += small.sum()
        large_n += large.sum()
    assert small_exits / small_n > 2 * large_exits / large_n


def test_relationship_graph_carries_current_trust():
    model = gpsim.GPModel(gpsim.scenario("funding-cliff").replace(**SMALL), rng=0)
    for _ in range(40):
        model.step()
    g = model.relationship_graph()
    a, b = model.peers.edges[0]
    assert g.edges[int(a), int(b)]["trust"] == pytest.approx(model.peers.trust[0])
    kinds = {d["kind"] for _, d in g.nodes(data=True)}
    assert kinds >= {"practice", "ccg", "hospital", "organisation"}


def _graph_record(g):
    """Everything about a networkx graph a user could see: nodes with data, and each node's neighbours with edge
    data, in the graph's own order."""
    return list(g.nodes(data=True)), [(u, list(g.adj[u].items())) for u in g]


def test_the_graph_built_on_first_use_is_the_graph_kept_up_to_date_all_along():
    # CCG mergers (2017-2021) re-point organisations; founding, joining, leaving, dissolving and closing all
    # change the graph: one model builds its graph at the start, the other only after 108 months
    params = gpsim.scenario("england-2013").replace(n_practices=400, n_ccgs=12)
    early, late = gpsim.GPModel(params, rng=3), gpsim.GPModel(params, rng=3)
    early.graph.number_of_nodes()
    while early.running:
        early.step()
        late.step()
    assert early.orgs.size > 0 and (early.orgs.view("dissolved") >= 0).any() and (early.practices.status > 0).any()
    assert early.region.n_ccgs > int(np.count_nonzero(np.bincount(early.practices.ccg)))  # mergers happened
    assert not late.graph_changes.built
    assert _graph_record(late.graph) == _graph_record(early.graph)
    assert late.graph_changes.built


def test_a_run_does_not_build_the_graph_and_a_given_graph_replaces_it():
    model = gpsim.GPModel(gpsim.Params(**SMALL), rng=0)
    for _ in range(12):
        model.step()
    assert not model.graph_changes.built
    mine = model.graph.copy()
    model.graph = mine
    assert model.graph is mine


@pytest.mark.filterwarnings("ignore::gpsim.data.DataWarning")  # West Yorkshire's register notes
@pytest.mark.parametrize("copy_kind", ["pickle", "deepcopy"])
def test_a_model_saved_mid_run_carries_on_as_the_original(copy_kind):
    """A model pickled (or deep-copied) part-way, before its graph is built, runs on to the same results, graph
    and Mesa agents as the original: researchers checkpoint runs and branch them ("what if, from year two...")."""
    import copy
    import pickle

    model = gpsim.GPModel(gpsim.scenario("baseline").replace(region="west-yorkshire", years=4.0), rng=5)
    for _ in range(24):
        model.step()
    assert not model.graph_changes.built and model.graph_changes._changes  # structural changes still kept
    twin = pickle.loads(pickle.dumps(model)) if copy_kind == "pickle" else copy.deepcopy(model)
    while model.running:
        model.step()
        twin.step()
    a, b = gpsim.Results.from_model(model, 5), gpsim.Results.from_model(twin, 5)
    for name in ("steps", "orgs", "closures", "org_money"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert list(model.graph.nodes(data=True)) == list(twin.graph.nodes(data=True))
    assert list(model.graph.edges(data=True)) == list(twin.graph.edges(data=True))
    assert twin.steps == model.steps == 48 and len(twin.agents) == len(model.agents)
