"""Commissioners with budgets, bids and relationships; national programmes at their real size; MCP/PACS contracts.

Unit tests of each rule in :mod:`gpsim.rules.commissioners` and :mod:`gpsim.rules.programmes`, then one
england-2013 run checked against the figures the programmes had in reality (facts #8-#10, #15, #19).
"""

from __future__ import annotations

import numpy as np
import pytest

import gpsim
from gpsim import policy
from gpsim.rules import commissioners, leadership, programmes
from gpsim.state import LeadershipKind

P = gpsim.Params()


# --- budgets and bids ------------------------------------------------------------------------------------------
def test_a_budget_pays_the_best_bids_first_and_the_marginal_one_in_part():
    request = np.array([40.0, 50.0, 30.0, 20.0, 10.0])
    ccg = np.array([0, 0, 0, 1, 1])
    score = np.array([0.1, 0.9, 0.5, 0.0, 1.0])
    budget = np.array([70.0, 100.0])
    paid = commissioners.ration(request, ccg, score, budget)
    # CCG 0 pays the 0.9 bid (50), then 20 of the 0.5 bid's 30, nothing for the 0.1 bid; CCG 1 pays both
    assert paid.tolist() == [0.0, 50.0, 20.0, 20.0, 10.0]
    assert commissioners.ration(request, ccg, score, np.zeros(2)).sum() == 0.0


def test_bids_score_higher_when_mature_large_and_trusted():
    base = commissioners.bid_score(np.array([0.0]), np.array([50_000.0]), np.array([0.5]), P)[0]
    for m, pop, rel in ((1.0, 50_000.0, 0.5), (0.0, 200_000.0, 0.5), (0.0, 50_000.0, 0.9)):
        assert commissioners.bid_score(np.array([m]), np.array([pop]), np.array([rel]), P)[0] > base
    assert commissioners.maturity(np.array([True, False]), np.array([True, False]), P).tolist() == [1.0, 0.0]


def test_maturity_weighs_delivering_against_committing_by_the_declared_share():
    delivering, committable = np.array([True, False]), np.array([False, True])
    assert commissioners.maturity(delivering, committable, P).tolist() == [0.5, 0.5]
    only_delivery = P.replace(bid_delivering_share=1.0)
    assert commissioners.maturity(delivering, committable, only_delivery).tolist() == [1.0, 0.0]


def test_without_a_support_base_nothing_is_founded_where_no_ccg_supports_it():
    def organisations(base):
        run = gpsim.run(P.replace(ccg_supportiveness=0.0, ccg_support_concentration=100.0,
                                  commissioner_support_base=base, years=3), seed=4)  # fmt: skip
        return len(run.orgs)

    assert organisations(0.0) < organisations(1.0)


def test_sites_are_scaled_to_the_region_and_a_fractional_site_is_won_with_its_chance():
    rng = np.random.default_rng(0)
    assert programmes.sites_for(20, 1.0, rng) == 20
    draws = [programmes.sites_for(20, 0.02, rng) for _ in range(4000)]  # 0.4 of a site
    assert set(draws) == {0, 1}
    assert np.mean(draws) == pytest.approx(0.4, abs=0.03)


# --- relationships and supportiveness --------------------------------------------------------------------------
def test_delivering_raises_the_relationship_and_failing_lowers_it():
    p = P.replace(ccg_relationship_gain=0.1, ccg_relationship_loss=0.2)
    rel = np.full(3, 0.5)
    issued = np.array([True, True, False])
    delivered = np.array([True, False, False])
    after = commissioners.relationships(rel, issued, delivered, p)
    assert after == pytest.approx([0.55, 0.4, 0.5])


def test_supportiveness_follows_relationships_and_drops_when_an_organisation_fails():
    p = P.replace(ccg_support_adapt=0.5, ccg_failure_damage=0.2)
    support = np.array([0.5, 0.5, 0.5])
    home = np.array([0, 1, 1])
    pop = np.array([100.0, 100.0, 0.0])
    rel = np.array([0.9, 0.1, 0.5])
    alive = np.array([True, True, False])
    failed = np.array([0.0, 0.0, 50.0])  # organisation 2 dissolved with 50 patients of CCG 1's 200
    ccg_pop = np.array([100.0, 200.0, 100.0])
    after = commissioners.supportiveness(support, home, pop, rel, alive, failed, ccg_pop, p)
    assert after[0] == pytest.approx(0.7)  # half way to 0.9
    assert after[1] == pytest.approx(0.3 - 0.2 * 0.25)  # half way to 0.1, less a quarter of the damage
    assert after[2] == pytest.approx(0.5)  # no organisations: unchanged


# --- extended access --------------------------------------------------------------------------------------------
def test_extended_access_covers_half_the_population_by_march_2018_and_all_by_october():
    params = gpsim.scenario("england-2013")
    rollout = policy.extended_access_rollout(params)
    assert (rollout.half_by, rollout.end) == (policy.month_of(params, 2018, 3), policy.month_of(params, 2018, 10))
    rng = np.random.default_rng(1)
    support, pop = rng.random(200), rng.integers(50_000, 500_000, 200).astype(float)
    start = commissioners.extended_access_start(support, pop, rollout)
    assert start.min() >= rollout.start and start.max() <= rollout.end
    by_half = pop[start <= rollout.half_by].sum() / pop.sum()
    assert 0.48 <= by_half <= 0.52
    assert start[np.argmax(support)] == rollout.start  # the most supportive CCG starts first
    assert start[np.argmin(support)] >= rollout.half_by


# --- a small model to act on -----------------------------------------------------------------------------------
@pytest.fixture
def model():
    """A synthetic region a few years in, with organisations of every kind."""
    m = gpsim.GPModel(gpsim.scenario("baseline").replace(n_practices=120, n_ccgs=2, years=5.0), rng=3)
    for _ in range(36):
        m.step()
    assert m.orgs.alive.sum() >= 2
    return m


def test_leadership_development_is_paid_from_the_budget_only_while_it_lasts(model):
    p = model.p.replace(distributed_leadership_share=0.0, leadership_development_share=1.0, ccg_supportiveness=1.0)
    model.p = p
    heroic = np.flatnonzero(model.practices.heroic & model.practices.open)
    founder = int(heroic[0])
    c = int(model.practices.ccg[founder])
    model.ccg_support[c] = 1.0
    model.commissioners.paused_until[:] = 0
    model.commissioners.budget[c] = p.leadership_development_cost
    kind, developed = commissioners.leadership_at_founding(model, founder)
    assert kind == LeadershipKind.DISTRIBUTED and developed
    model.commissioners.budget[c] = p.leadership_development_cost - 1.0  # cannot cover the cost
    kind, developed = commissioners.leadership_at_founding(model, founder)
    assert kind == LeadershipKind.HEROIC and not developed


def test_founding_leadership_says_whether_the_ccg_paid():
    p = P.replace(distributed_leadership_share=0.5, leadership_development_share=0.5)
    rng = np.random.default_rng(0)
    out = [leadership.founding_leadership(True, 1.0, p, rng) for _ in range(2000)]
    paid = np.mean([d for _, d in out])
    assert paid == pytest.approx(0.5, abs=0.04)  # u in [0.5, 1): the CCG's part
    assert all(k == LeadershipKind.DISTRIBUTED for k, _ in out)
    assert leadership.founding_leadership(False, 1.0, p, rng) == (LeadershipKind.DISTRIBUTED, False)


def test_an_mcp_needs_a_mature_large_foundation_and_none_is_awarded_without_one(model):
    o = model.orgs
    area = int(o.home_ccg[np.flatnonzero(o.alive)[0]])
    area_pop = float(commissioners.ccg_population(model)[area])
    model.p = model.p.replace(mcp_min_foundation_population=10_000.0, mcp_min_foundation_share=0.0)
    o.view("committable")[:] = False
    assert commissioners.mcp_foundation(model, area, area_pop) == -1  # nobody can commit its members
    k = int(np.flatnonzero(o.alive & (o.view("home_ccg") == area))[0])
    o.view("committable")[k] = True
    o.view("first_benefit")[k] = max(o.first_benefit[k], 1)
    assert commissioners.mcp_foundation(model, area, area_pop) == k
    model.p = model.p.replace(mcp_min_foundation_share=1.0)  # must already cover the whole area
    assert commissioners.mcp_foundation(model, area, area_pop) == -1


def test_an_mcp_contract_covers_its_area_pays_its_holder_and_ends_at_the_break_if_the_holder_cannot_commit(model):
    o, cs = model.orgs, model.commissioners
    model.p = model.p.replace(mcp_min_foundation_population=10_000.0, mcp_min_foundation_share=0.0,
                              mcp_procurement_rate=1.0, mcp_margin_per_patient=12.0)  # fmt: skip
    area = int(o.home_ccg[np.flatnonzero(o.alive)[0]])
    k = int(np.flatnonzero(o.alive & (o.view("home_ccg") == area))[0])
    o.view("committable")[k] = True
    o.view("first_benefit")[k] = max(o.first_benefit[k], 1)
    model.mcp_era = (1, 10**6)
    model.ccg_support[:] = 1.0
    month = model.steps
    for _ in range(200):  # a chance of 1/12 x 1.5 a month: soon
        commissioners.procure_mcp(model, month, commissioners.ccg_population(model))
        if len(cs.contracts.running()):
            break
    j = int(cs.contracts.running()[0])
    holder = cs.contracts.holder[j]
    assert o.home_ccg[holder] == cs.contracts.area[j]  # built on a provider of its own area
    pr = model.practices
    assert (cs.mcp[pr.open & (pr.ccg == cs.contracts.area[j])] == j).all()
    assert commissioners.share_population_mcp(model) > 0
    pay = commissioners.mcp_payments(model, o.alive)
    covered = pr.list_size[pr.open & (cs.mcp == j)].sum()
    assert pay[holder] == pytest.approx(covered * 12.0 / 12)
    assert 120 <= cs.contracts.end[j] - month <= 180  # 10-15 years
    o.view("committable")[holder] = False
    commissioners.procure_mcp(model, cs.contracts.break_at[j], commissioners.ccg_population(model))
    assert cs.contracts.ended[j] == cs.contracts.break_at[j]
    assert (cs.mcp != j).all()


def test_a_merger_pools_budgets_takes_a_new_stance_and_pauses(model):
    cs, pr = model.commissioners, model.practices
    cs.budget[:] = [100.0, 50.0]
    model.ccg_support[:] = [0.2, 0.8]
    model.p = model.p.replace(merger_stance_renewal=0.0, merger_pause_months=6)
    pop = commissioners.ccg_population(model)
    pooled = (0.2 * pop[0] + 0.8 * pop[1]) / pop.sum()
    model.merge_ccgs(0.5)
    a = int(np.unique(pr.ccg[pr.open])[0])
    assert cs.budget[a] == 150.0 and cs.budget.sum() == 150.0
    assert model.ccg_support[a] == pytest.approx(pooled)
    assert cs.paused_until[a] == model.steps + 6
    assert not commissioners.active(model, model.steps + 1)[a]
    assert commissioners.active(model, model.steps + 7)[a]
    assert (model.orgs.view("home_ccg")[model.orgs.alive] == a).all()
    for k in np.flatnonzero(model.orgs.alive):  # the organisations' commissioning edges point at the merged CCG
        assert model.graph.has_edge(model.ids.ccg(a), model.ids.org(int(k)))


def test_a_competitive_programme_shares_its_budget_among_the_chosen_area_bids(model):
    model.p = model.p.replace(england_population=float(model.initial_population))  # the region is "England"
    prog = policy.FundingProgramme(
        "test", "challenge_fund_wave1", 1, 12, 7.0, 0.0, allocation=policy.Allocation.COMPETITIVE,
        budget=1_000_000.0, sites=1,
    )  # fmt: skip
    award = programmes.choose_bids(model, prog)
    assert len(award.areas) == 1
    assert (model.orgs.home_ccg[award.orgs] == award.areas[0]).all()
    bid_pop = model.orgs.view("population")[award.orgs].sum()
    expected = min(1_000_000.0, model.p.programme_max_per_patient * bid_pop)
    assert award.monthly.sum() * 12 == pytest.approx(expected)


# --- england-2013 against the real programmes ------------------------------------------------------------------
@pytest.fixture(scope="module")
def england():
    return gpsim.run("england-2013", seed=1)


def test_england_programmes_are_their_real_size(england):
    led = england.ledger
    p = gpsim.scenario("england-2013")
    share = 8_100 * 7_000 / p.england_population  # about 1: a synthetic England
    cf = led["challenge_fund_wave1"] + led["challenge_fund_wave2"]
    assert 0.8 * 150e6 <= cf <= 150e6 * share * 1.05  # within 20% of GBP 150m, never more than the budgets
    assert led["challenge_fund_wave1"] <= 50e6 * 1.05 and led["challenge_fund_wave2"] <= 100e6 * 1.05
    assert 0 < led["vanguards"] <= 329e6 * 23 / 50 * 1.05
    assert 0 < led["gp_forward_view"] <= 171e6 * 1.05
    assert led["extended_access"] > 0 and led["ccg_development_grants"] > 0


def test_england_mcps_cover_a_few_percent_to_a_quarter_at_their_peak(england):
    peak = england.steps["share_population_mcp"].max()
    assert 0.01 <= peak <= 0.25
    assert england.steps["share_population_mcp"].iloc[:27].max() == 0  # none before the Vanguard era


def test_the_timeline_merges_ccgs_to_42_icbs_in_july_2022_when_a_run_reaches_it():
    long = gpsim.scenario("england-2013").replace(years=10.0)
    steps = policy.ccg_mergers(long)
    assert [round(m.share * 211) for m in steps] == [207, 191, 135, 106, 42]
    assert steps[-1].month == policy.month_of(long, 2022, 7)
    assert [round(m.share * 211) for m in policy.ccg_mergers(gpsim.scenario("england-2013"))][-1] == 106
    assert policy.ccg_mergers(long.replace(ccg_mergers=False)) == []


def test_england_reports_contracts_tried_and_awarded_and_who_spans_ccgs(england):
    f = england.final
    assert f["mcp_contracts_awarded"] >= 1 and f["mcp_procurements_failed"] >= 1
    orgs = england.orgs[england.orgs["kind"] == "organisation"]
    alive = orgs["dissolved_step"].isna()
    assert (orgs.loc[alive, "spans_ccgs"] >= 1).all()
    assert (orgs.loc[~alive, "spans_ccgs"] == 0).all()
    assert orgs["ccg_relationship"].between(0, 1).all()
    assert (orgs["ccg_grant_months"] <= gpsim.scenario("england-2013").ccg_grant_months).all()
    assert orgs["ccg_grant_months"].max() > 0
