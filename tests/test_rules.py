"""Unit tests of the rules that decide the model's headline results: each rule can go either way.

Money that organisations manage (subscription plans, members' answer, reserve policy), delivery as work done,
heroic vs distributed leadership, practices that bend before they break, "can commit" as a record of asks,
the relationship graph as the substrate, and the Mesa conventions of ``GPModel``.
"""

from __future__ import annotations

from types import SimpleNamespace

import mesa
import networkx as nx
import numpy as np
import pytest

import gpsim
from gpsim.errors import ParameterError
from gpsim.rules import asks, finance, leadership, organisations, practices
from gpsim.state import DissolutionCause, LeadershipKind, OrgForm

P = gpsim.Params()


# --- money that organisations manage --------------------------------------------------------------------------
def _om(costs, recurrent=0.0, one_off_due=0.0):
    z = np.zeros(len(costs))
    return SimpleNamespace(
        monthly_costs=np.asarray(costs, float), recurrent=z + recurrent, service_costs=z, contract=z, delivery=z,
        local=z, one_off_next_year=z + one_off_due, reserves_after=z,
    )  # fmt: skip


def test_subscription_plan_covers_costs_less_other_income_and_rebuilds_reserves():
    p = P.replace(org_reserve_target_months=3.0)
    om = _om([10_000.0])
    pop = np.array([50_000.0])
    # no reserves: a year of costs (120k) plus 3 months of costs to rebuild (30k) over 50k patients = 3.0
    assert organisations.subscription_plan(om, pop, np.array([0.0]), p)[0] == pytest.approx(3.0)
    # reserves already at the target: costs only
    assert organisations.subscription_plan(om, pop, np.array([30_000.0]), p)[0] == pytest.approx(2.4)
    # recurrent income of 10k a month covers everything: never a negative subscription
    assert organisations.subscription_plan(_om([10_000.0], recurrent=10_000.0), pop, np.array([30_000.0]), p)[0] == 0
    # a two-year reserve target is rebuilt over two years, not one
    p24 = P.replace(org_reserve_target_months=24.0)
    assert organisations.subscription_plan(om, pop, np.array([0.0]), p24)[0] == pytest.approx(
        (120_000 + 120_000) / 50_000
    )


def test_members_accept_up_to_willingness_plus_a_share_of_what_they_have_seen():
    p = P.replace(willingness_to_pay_per_patient=1.0, benefit_share_paid=0.5)
    assert organisations.acceptable_subscription(np.array([0.0, 4.0]), p).tolist() == [1.0, 3.0]


def _review_model(trust: float, evidence: float):
    """A hand-built organisation of 4 members whose plan needs 5 GBP/patient (far above what they accept)."""
    n = 4
    pr = SimpleNamespace(
        n=n, open=np.ones(n, bool), org=np.zeros(n, np.int64), evidence=np.full(n, evidence),
        member_trust=np.full(n, trust),
    )  # fmt: skip
    o = SimpleNamespace(
        size=1, alive=np.array([True]), view=lambda name: {
            "founded": np.array([0]), "last_review": np.array([0]), "subscription": np.array([1.0])}[name],
    )  # fmt: skip
    model = SimpleNamespace(p=P.replace(org_reserve_target_months=0.0), orgs=o, practices=pr)
    om = _om([5 * 40_000 / 12])
    return model, om, np.array([40_000.0])


@pytest.mark.parametrize(("trust", "evidence", "expected_refusers"), [(0.0, 0.0, 4), (1.0, 0.0, 0), (0.0, 20.0, 0)])
def test_review_on_the_anniversary_members_refuse_or_accept(trust, evidence, expected_refusers):
    model, om, pop = _review_model(trust, evidence)
    rv = organisations.review(model, om, pop, np.array([4]), 12, np.random.default_rng(0))
    assert rv.due[0] and rv.proposed[0] == pytest.approx(5.0)
    assert rv.refusers.sum() == expected_refusers
    # not the anniversary, reserves fine: no review, nobody refuses
    rv = organisations.review(model, om, pop, np.array([4]), 7, np.random.default_rng(0))
    assert not rv.due[0] and rv.refusers.sum() == 0


def test_reserve_policy_saves_below_the_target_and_spends_above_it():
    m = gpsim.GPModel(gpsim.scenario("funding-cliff").replace(n_practices=80, n_ccgs=2), rng=3)
    for _ in range(18):
        m.step()
    obs = m._observe(m.steps + 1)
    low = finance.org_accounts(m, obs.population, obs.members, obs.delivering)
    m.p = m.p.replace(org_reserve_target_months=60.0)
    high = finance.org_accounts(m, obs.population, obs.members, obs.delivering)
    alive = m.orgs.alive & (obs.members > 0)
    assert alive.any()
    assert low.services[alive].sum() > 0  # pump-priming above 3 months of costs buys services
    assert high.services[alive].sum() < low.services[alive].sum()  # a 5-year target saves instead
    np.testing.assert_allclose(low.reserves_after + low.services, high.reserves_after + high.services)


def test_funding_cliff_survival_moves_with_members_willingness_to_pay():
    def survival(**over):
        alive = n = 0
        for seed in range(3):
            f = gpsim.run("funding-cliff", seed=seed, region_seed=seed, years=7.0, **over).final
            alive += f["survival_36m_after_one_off"] * f["survival_36m_after_one_off_n"]
            n += f["survival_36m_after_one_off_n"]
        return alive / n

    stingy, generous = survival(willingness_to_pay_per_patient=0.0), survival(willingness_to_pay_per_patient=4.0)
    assert stingy < 0.4 < 0.7 < generous


# --- delivery as work done -------------------------------------------------------------------------------------
def test_setup_work_grows_with_members_and_tightness_of_form():
    form = np.array([OrgForm.NETWORK, OrgForm.FEDERATION, OrgForm.SUPER_PARTNERSHIP, OrgForm.FEDERATION])
    work = organisations.setup_work(form, np.array([5, 5, 5, 10]), P)
    assert work[0] < work[1] < work[2]
    assert work[3] == pytest.approx(work[1] + 5 * P.setup_work_per_member)


# --- leadership with a real trade-off ----------------------------------------------------------------------------
def test_heroic_leader_gives_more_effort_and_burns_out_faster_than_a_team_member():
    kind = np.array([LeadershipKind.HEROIC, LeadershipKind.DISTRIBUTED])
    team = np.array([1, 4])
    eff = leadership.leader_effort(kind, team, np.ones(2), P)
    assert eff[0] > eff[1] > 0
    b = leadership.burnout(np.zeros(2), kind, team, np.ones(2), P)
    assert b[0] > 4 * b[1]
    # a pressured leader's practice has less to give
    assert leadership.leader_effort(kind, team, np.array([0.5, 1.0]), P)[0] == pytest.approx(eff[0] / 2)


def test_leadership_kind_follows_the_founder():
    rng = np.random.default_rng(0)
    p = P.replace(distributed_leadership_share=0.0, leadership_development_share=0.0)
    assert leadership.kind_at_founding(False, 0.5, p, rng) is LeadershipKind.DISTRIBUTED
    assert leadership.kind_at_founding(True, 0.5, p, rng) is LeadershipKind.HEROIC
    # a fully supportive CCG that always funds leadership development turns a heroic founder's into a team
    p = P.replace(distributed_leadership_share=0.0, leadership_development_share=1.0)
    assert leadership.kind_at_founding(True, 1.0, p, rng) is LeadershipKind.DISTRIBUTED


def test_succession_depends_on_who_is_available():
    # organisations 0 and 1 are heroic-led by practices 0 and 3; organisation 2 is a team
    practice_org = np.array([0, 0, 0, 1, 1, 2, 2])
    heroic = np.array([True, True, True, True, False, False, False])
    lead = np.array([9.0, 2.5, 4.0, 9.0, 0.1, 0.1, 0.1])
    kind = np.array([LeadershipKind.HEROIC, LeadershipKind.HEROIC, LeadershipKind.DISTRIBUTED])
    reserves = np.zeros(3)
    s = leadership.succession(
        np.arange(3), kind, np.array([0, 3, -1]), np.array([15.5, 0.2, 0.2]), practice_org, lead, heroic, reserves, P
    )
    assert s.new_leader.tolist() == [2, -1, -1]  # the heroic member with most spare time, not the leaver
    assert s.gone.tolist() == [False, True, False]  # nobody in organisation 1 can take over
    assert s.team_shrinks.tolist() == [False, False, True]
    # with enough spare time between them and a year of a team's cost in reserve, organisation 1 invests in a team
    one = (np.array([1]), kind[1:2], np.array([3]), np.array([10.0]), practice_org, lead, heroic)
    s = leadership.succession(*one, np.array([P.distributed_team_cost]), P)
    assert s.becomes_team.tolist() == [True] and not s.gone.any()
    s = leadership.succession(*one, np.array([P.distributed_team_cost - 1]), P)  # it cannot afford one
    assert s.gone.tolist() == [True]


def test_heroic_organisations_deliver_sooner_and_dissolve_more_often_once_established():
    """Matched runs (same region, seed and founders): heroic founders lead alone, or every organisation invests
    in a team. Organisations founded by heroic leaders are compared across the two arms. Dissolutions count when
    the leadership is gone: both arms also lose organisations whose members close under workload (ODD 7.3), which
    is not what the leadership kind decides."""
    delay = {0.0: [], 1.0: []}
    dissolved = {0.0: 0, 1.0: 0}
    years = {0.0: 0.0, 1.0: 0.0}
    for seed in range(2):  # all England: a few hundred organisations with heroic founders per arm
        for share in (0.0, 1.0):
            p = gpsim.scenario("england-2013").replace(
                distributed_leadership_share=share, leadership_development_share=0.0
            )
            m = gpsim.GPModel(p, rng=seed)
            for _ in range(p.n_months):
                m.step()
            o = m.orgs
            by_heroic = m.practices.heroic[o.view("founder")]
            fb, fd, d = o.view("first_benefit"), o.view("founded"), o.view("dissolved")
            end = np.where(d >= 0, d, m.steps)
            delay[share] += (fb - fd)[by_heroic & (fb >= 0)].tolist()
            old = by_heroic & (end - fd >= 24)  # past the fragile first two years
            dissolved[share] += int(((d[old] >= 0) & (o.view("cause")[old] == DissolutionCause.LEADERSHIP_GONE)).sum())
            years[share] += float((end - fd - 24)[old].sum() / 12)
    assert np.mean(delay[0.0]) < np.mean(delay[1.0])
    assert dissolved[0.0] / years[0.0] > dissolved[1.0] / years[1.0]


# --- practices that bend before they break -----------------------------------------------------------------------
def test_partners_absorb_a_loss_and_the_practice_exits_only_when_their_income_stays_low():
    m = gpsim.GPModel(gpsim.Params(n_practices=20, n_ccgs=1), rng=0)
    pr = m.practices
    pr.reserves[:] = 0.0
    m.p = m.p.replace(fixed_cost_per_practice=400_000.0)  # every practice now loses money
    pm = finance.practice_accounts(m, np.full(pr.n, -1))
    assert (pm.profit < 0).any()
    loss = pm.profit < 0
    assert pm.contributions[loss] == pytest.approx(-pm.profit[loss])  # partners put the money in
    assert (pm.reserves_after >= 0).all() and (pm.partner_income[loss] < 0).all()
    # partners judge a year, not a month: one bad month moves their income by 1/12 of the gap
    income = practices.partner_income(np.full(pr.n, 100_000.0), pm.partner_income, pr.open, m.p)
    np.testing.assert_allclose(income, 100_000.0 + (pm.partner_income - 100_000.0) / 12)
    cause = practices.failing(pr.n_gps, np.ones(pr.n), np.array([50_000.0] * 10 + [90_000.0] * 10), m.p)
    assert (cause[:10] == 3).all() and (cause[10:] == 0).all()


# --- "can commit" observed ---------------------------------------------------------------------------------------
def _asks(trust, record, pressure=1.0, members=4):
    n = members
    return asks.asks(
        np.array([True]), np.array([n]), np.array([n * 5_000.0]), np.array([record]), np.zeros(n, np.int64),
        np.ones(n, bool), np.full(n, trust), np.full(n, pressure), np.full(n, 5_000), P.replace(ask_rate=1.0),
        np.random.default_rng(1),
    )  # fmt: skip


def test_asks_are_delivered_when_trusting_members_follow_through():
    assert _asks(1.0, 0.0).delivered[0] and not _asks(0.0, 0.0).delivered[0]
    # heavy workload pressure stops even trusting members following through
    assert not _asks(1.0, 0.0, pressure=4.0).delivered[0]


def test_a_new_organisation_cannot_commit_until_it_has_a_record():
    out = _asks(1.0, 0.0)
    assert not out.committable[0]  # one delivered ask: record 1/commit_memory_asks, below the threshold
    record = 0.0
    for _ in range(3):
        record = _asks(1.0, record).record[0]
    assert record >= P.commit_threshold and _asks(1.0, record).committable[0]
    # failures wear the record down again
    for _ in range(4):
        record = _asks(0.0, record).record[0]
    assert not _asks(0.0, record).committable[0]


# --- the graph is the substrate ----------------------------------------------------------------------------------
def _nearest_graph(model):
    codes = model.region.practice_code
    g = nx.Graph()
    g.add_nodes_from(str(c) for c in codes)
    g.add_edges_from((str(codes[a]), str(codes[b])) for a, b in model.region.peer_edges)
    return g


def test_removing_edges_changes_who_joins_whom():
    p = gpsim.scenario("funding-cliff").replace(n_practices=120, n_ccgs=3, years=3.0)
    base = gpsim.GPModel(p, rng=5)
    full = _nearest_graph(base)
    thin = full.copy()
    thin.remove_edges_from(list(full.edges)[::2])

    def memberships(graph):
        m = gpsim.GPModel(p, rng=5, graph=graph)
        for _ in range(p.n_months):
            m.step()
        return m.orgs.size, m.practices.org.copy()

    n_full, org_full = memberships(full)
    n_thin, org_thin = memberships(thin)
    assert n_full > 0 and not np.array_equal(org_full, org_thin)
    # with no edges at all nobody has a trusted neighbour to co-found with
    empty = nx.Graph()
    empty.add_nodes_from(full.nodes)
    assert memberships(empty)[0] == 0


def test_a_graph_file_gives_the_peers_and_their_trust(tmp_path):
    model = gpsim.GPModel(gpsim.Params(n_practices=30, n_ccgs=1), rng=0)
    codes = model.region.practice_code
    g = nx.Graph()
    g.add_edge(str(codes[0]), str(codes[1]), trust=0.9)
    g.add_edge(str(codes[1]), str(codes[2]))
    g.add_edge(str(codes[2]), "NOT-IN-THIS-REGION")
    path = tmp_path / "sharing.graphml"
    nx.write_graphml(g, path)
    m = gpsim.GPModel(gpsim.Params(n_practices=30, n_ccgs=1, peer_graph=str(path)), rng=0)
    assert m.peers.edges.tolist() == [[0, 1], [1, 2]]
    assert m.peers.trust[0] == pytest.approx(0.9) and 0 <= m.peers.trust[1] <= 1
    with pytest.raises(ParameterError, match="none of its 2 nodes"):
        bad = nx.Graph([("X1", "X2")])
        gpsim.GPModel(gpsim.Params(n_practices=30, n_ccgs=1), rng=0, graph=bad)
    with pytest.raises(ParameterError, match="no such file"):
        gpsim.GPModel(gpsim.Params(n_practices=30, n_ccgs=1, peer_graph=str(tmp_path / "missing.graphml")), rng=0)


def test_peer_arrays_are_rebuilt_from_the_graph():
    m = gpsim.GPModel(gpsim.Params(n_practices=30, n_ccgs=1), rng=0)
    a, b = (int(x) for x in m.peers.edges[0])
    n_edges = len(m.peers)
    m.graph.remove_edge(a, b)
    m.rebuild_peers()
    assert len(m.peers) == n_edges - 1 and [a, b] not in m.peers.edges.tolist()
    assert b not in m.peers.neighbours(a)[0]


def test_an_organisation_with_no_members_dissolves_that_month():
    m = gpsim.GPModel(gpsim.scenario("funding-cliff").replace(n_practices=80, n_ccgs=2), rng=1)
    while not m.orgs.alive.any():
        m.step()
    k = int(np.flatnonzero(m.orgs.alive)[0])
    m.p = m.p.replace(leave_trust_threshold=1.0, leave_sharpness=20.0, join_consideration_rate=1.0)
    m.practices.member_trust[m.practices.org == k] = 0.0  # every member leaves this month
    month = m.steps + 1
    m.step()
    if m.orgs.view("members")[k] == 0:
        assert m.orgs.view("dissolved")[k] == month


# --- Mesa conventions --------------------------------------------------------------------------------------------
def test_gpmodel_takes_keyword_parameters_stops_at_the_horizon_and_collects_data():
    m = gpsim.GPModel(target_org_size=40_000, years=0.5, n_practices=40, n_ccgs=2, rng=1)
    assert m.p.target_org_size == 40_000
    m.run_model()
    assert m.steps == 6 and not m.running
    frame = m.datacollector.get_model_vars_dataframe()
    assert len(frame) == 7 and "relationships_per_hospital_mean" in frame


def test_mesa_batch_run():
    out = mesa.batch_run(
        gpsim.GPModel,
        parameters={"target_org_size": [40_000, 250_000], "n_practices": 40, "n_ccgs": 2, "years": 0.5},
        rng=[1],
        max_steps=6,
        number_processes=1,
        display_progress=False,
    )
    assert {row["target_org_size"] for row in out} == {40_000, 250_000}
    assert all("share_practices_in_org" in row for row in out)


# --- hospitals and community trusts ------------------------------------------------------------------------------
def test_a_hospital_works_with_its_best_counterparts_up_to_its_capacity():
    from gpsim.rules import hospitals

    alive = np.array([True, True, True, True, False, True])
    home = np.array([0, 0, 0, 1, 0, -1])
    score = np.array([0.2, 0.9, 0.5, 0.1, 1.0, 1.0])
    # hospital 0 works with its two best live organisations (1 and 2), hospital 1 with its only one
    assert hospitals.engaged(alive, home, score, 2).tolist() == [False, True, True, True, False, False]
    assert hospitals.engaged(alive, home, score, 10).tolist() == [True, True, True, True, False, False]


def test_contracts_are_paid_from_the_hospitals_budget_best_first():
    from gpsim.rules import hospitals

    offered = np.array([True, True, True, True])
    home = np.array([0, 0, 0, 1])
    score = np.array([0.5, 0.9, 0.7, 0.1])
    cost = np.array([100.0, 100.0, 100.0, 100.0])
    # hospital 0 has 250 a year and already spends 50: the two best (1, 2) fit, 0 does not; hospital 1 has none
    out = hospitals.within_budget(offered, home, score, cost, np.array([50.0, 0.0]), np.array([250.0, 0.0]))
    assert out.tolist() == [False, True, True, False]


def test_capacity_limits_whom_a_hospital_asks():
    p = gpsim.scenario("england-2013").replace(n_practices=1_500, n_ccgs=40, years=4.0)
    wide = gpsim.run(p, seed=3, hospital_relationship_capacity=50)
    narrow = gpsim.run(p, seed=3, hospital_relationship_capacity=1)
    assert wide.steps["share_orgs_engaged"].iloc[-1] == 1.0
    assert narrow.steps["share_orgs_engaged"].iloc[-1] < 1.0
    assert narrow.orgs["asks_taken"].sum() < wide.orgs["asks_taken"].sum()


def test_community_trusts_serve_over_a_million_and_face_more_counterparts():
    m = gpsim.GPModel(gpsim.scenario("england-2013"), rng=0)
    pop = np.bincount(m.community.trust, m.practices.list_size)
    assert len(pop) >= 10 and np.median(pop) > 1_000_000  # k-means areas vary; the typical one is over a million
    start = m.records[0]
    assert start["relationships_per_community_trust_mean"] > 3 * start["relationships_per_hospital_mean"]
    # a real area uses the named community trusts of the NHS organisation file
    real = gpsim.GPModel(gpsim.Params(region="00L", years=0.25), rng=0)
    assert len(real.community.name) == 1 and "Community" in real.community.name[0]
