"""Primary care networks and the Network DES (ODD 7.13): sign-up in geographic blocks, DES money, relief,
networks' asks, how overlapping membership counts, and the england-2013 pattern."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL, check_invariants

import gpsim
from gpsim import metrics, policy
from gpsim.rules import networks, practices
from gpsim.state import ExitCause

P = gpsim.Params()


# --- DES money over time ---------------------------------------------------------------------------------------
def test_des_rate_starts_at_the_starting_rate_and_ramps_linearly_to_the_full_rate():
    p = P.replace(network_des_per_patient=6.0, network_des_per_patient_full=30.0, network_des_ramp_months=24)
    assert networks.des_rate(9, 10, p) == 0.0  # before the start
    assert networks.des_rate(10, None, p) == 0.0  # no DES in this run
    assert networks.des_rate(10, 10, p) == pytest.approx(6.0)
    assert networks.des_rate(22, 10, p) == pytest.approx(18.0)  # half way up the ramp
    assert networks.des_rate(34, 10, p) == pytest.approx(30.0)
    assert networks.des_rate(100, 10, p) == pytest.approx(30.0)  # stays at the full rate
    # a DES that started 12 months before the run is half way up its ramp in the first month
    assert networks.des_rate(1, -11, p) == pytest.approx(18.0)
    assert networks.des_rate(5, 1, p.replace(network_des_ramp_months=0)) == pytest.approx(30.0)


def test_the_des_starts_in_july_2019_in_the_england_timeline_and_only_when_asked_elsewhere():
    england = gpsim.scenario("england-2013")
    assert policy.network_des_month(england) == (2019 - 2013) * 12 + 7
    assert policy.network_des_month(P) is None  # off by default outside the timeline
    assert policy.network_des_month(P.replace(network_des_start_month=7)) == 7
    assert policy.network_des_month(P.replace(years=1.0, network_des_start_month=13)) is None  # after the run
    # a run of the timeline that starts after July 2019 finds the DES already in place
    later = england.replace(start_year=2021, years=1.0)
    assert policy.network_des_month(later) == (2019 - 2021) * 12 + 7


# --- sign-up in geographic blocks -------------------------------------------------------------------------------
def _chain(lists, ccg=None, signing=None, p=P):
    """Practices on a west-east line, each a peer of the next: the blocks the DES rule makes of them."""
    n = len(lists)
    lists = np.asarray(lists, dtype=np.int64)
    edges = [(i, i + 1) for i in range(n - 1)]
    src = np.array([a for a, b in edges] + [b for a, b in edges], dtype=np.int64)
    dst = np.array([b for a, b in edges] + [a for a, b in edges], dtype=np.int64)
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))])
    ccg = np.zeros(n, np.int64) if ccg is None else np.asarray(ccg)
    signing = np.ones(n, bool) if signing is None else np.asarray(signing)
    x = np.arange(n, dtype=float)
    return networks.blocks(lists, signing, ccg, x, np.zeros(n), indptr, dst, p).tolist()


def test_neighbours_fill_a_block_up_to_the_maximum_from_the_west():
    # ten practices of 10k: two networks of 50k (the sixth would take the first to 60k)
    assert _chain([10_000] * 10) == [0] * 5 + [1] * 5


def test_a_block_left_below_the_minimum_joins_its_smallest_neighbour():
    # seven of 10k: 50k, then 20k left over, which joins the first (70k, as the DES allowed by agreement)
    assert _chain([10_000] * 7) == [0] * 7
    # with a higher maximum the leftover would have been part of the first block anyway
    assert _chain([10_000] * 7, p=P.replace(pcn_max_population=80_000)) == [0] * 7
    # 12 of 10k: 50k, 50k, then 20k joins the smaller of its neighbours (the second)
    assert _chain([10_000] * 12) == [0] * 5 + [1] * 7


def test_a_practice_above_the_minimum_may_be_a_network_alone():
    assert _chain([60_000, 10_000, 10_000, 10_000]) == [0, 1, 1, 1]
    # 35k alone (adding 20k would pass 50k); 20k + 25k = 45k; the last 10k joins the smaller neighbour
    assert _chain([35_000, 20_000, 25_000, 10_000]) == [0, 1, 1, 1]


def test_blocks_never_cross_a_ccg_boundary_and_a_small_isolated_one_stays_small():
    assert _chain([10_000] * 6, ccg=[0, 0, 0, 1, 1, 1]) == [0, 0, 0, 1, 1, 1]
    # two practices alone in their CCG: no neighbour of the same CCG to join, a small network
    assert _chain([10_000] * 5 + [5_000, 5_000], ccg=[0] * 5 + [1, 1]) == [0] * 5 + [1, 1]


def test_practices_that_opt_out_are_in_no_block_and_blocks_do_not_jump_over_them():
    out = _chain([10_000] * 7, signing=[True, True, False, True, True, True, True])
    assert out[2] == -1
    # 0-1 (20k) cannot reach 3-6 across the gap and has no other neighbour: it stays a small network
    assert out[:2] == [0, 0] and out[3:] == [1, 1, 1, 1]


def test_opt_outs_are_drawn_at_the_declared_share_among_open_practices_only():
    rng = np.random.default_rng(0)
    is_open = np.ones(20_000, bool)
    is_open[:1000] = False
    out = networks.opt_outs(is_open, P.replace(pcn_opt_out_share=0.1), rng)
    assert not out[:1000].any()
    assert out[1000:].mean() == pytest.approx(0.1, abs=0.01)
    assert not networks.opt_outs(is_open, P.replace(pcn_opt_out_share=0.0), rng).any()


# --- how overlapping membership counts -------------------------------------------------------------------------
def _counts(org, org_committable, pcn, pcn_committable, members_only=False):
    n = len(org)
    return metrics.relationships_per_hospital(
        np.zeros(n, np.int64), np.array(org), np.ones(n, bool), np.array(org_committable), 1,
        uncommitted_adds=not members_only, pcn=np.array(pcn), pcn_committable=np.array(pcn_committable),
    )[0]  # fmt: skip


def test_a_network_inside_a_federation_that_can_commit_counts_once():
    # practices 0-1: one federation that can commit and one network, the same two practices
    for pcn_commits in (True, False):
        assert _counts([0, 0], [True], [0, 0], [pcn_commits]) == 1
    # the federation cannot commit: the hospital deals with each practice, the federation and the network
    assert _counts([0, 0], [False], [0, 0], [False]) == 2 + 1 + 1
    # ... unless the network can commit them: then the network (and the federation, adding complexity)
    assert _counts([0, 0], [False], [0, 0], [True]) == 1 + 1
    assert _counts([0, 0], [False], [0, 0], [True], members_only=True) == 1


def test_overlapping_membership_counts_each_practice_by_its_best_counterpart():
    # 0-1 in a federation that can commit, network 0 = {0, 1, 2} cannot commit; network 1 = {3, 4} can; 5 alone
    org = [0, 0, -1, -1, -1, -1]
    pcn = [0, 0, 0, 1, 1, -1]
    # federation 1 + practice 2 + network 0 (adds one for practice 2) + network 1 + practice 5
    assert _counts(org, [True], pcn, [False, True]) == 5
    assert _counts(org, [True], pcn, [False, True], members_only=True) == 4
    # without networks the count is the organisations-only count
    n = len(org)
    plain = metrics.relationships_per_hospital(
        np.zeros(n, np.int64), np.array(org), np.ones(n, bool), np.array([True]), 1
    )
    assert plain[0] == 1 + 4


def test_a_hospital_shares_its_capacity_between_organisations_and_networks_best_score_first():
    from types import SimpleNamespace

    from gpsim.state import PCNTable, PracticeArrays

    pr = PracticeArrays(4)
    pr.pcn[:] = [0, 0, 1, 1]
    c = PCNTable()
    for score in (0.5, 0.2):
        c.add(home_hospital=0, hospital_trust=score)
    model = SimpleNamespace(practices=pr, pcns=c, p=P.replace(hospital_relationship_capacity=2))
    orgs_eligible, orgs_hospital = np.array([True, True]), np.array([0, 0])
    orgs, nets = networks.engaged_jointly(model, orgs_eligible, orgs_hospital, np.array([0.9, 0.3]))
    # capacity 2: the organisation of 0.9 and the network of 0.5; the organisation of 0.3 and network of 0.2 wait
    assert orgs.tolist() == [True, False] and nets.tolist() == [True, False]
    # a network with no members left is not a counterpart
    pr.pcn[:2] = -1
    orgs, nets = networks.engaged_jointly(model, orgs_eligible, orgs_hospital, np.array([0.9, 0.3]))
    assert orgs.tolist() == [True, True] and nets.tolist() == [False, False]


# --- in a run ----------------------------------------------------------------------------------------------------
def _des_params(**kw):
    return (
        gpsim.scenario("baseline")
        .replace(**SMALL)
        .replace(n_practices=120, network_des_start_month=3, pcn_min_population=20_000, pcn_max_population=40_000, **kw)
    )


def _model_after(months, **kw):
    m = gpsim.GPModel(_des_params(**kw), rng=3)
    for _ in range(months):
        m.step()
        check_invariants(m)
    return m


def test_practices_sign_up_in_the_des_month_and_networks_stay_within_the_rule():
    m = gpsim.GPModel(_des_params(), rng=3)
    m.step()
    assert m.pcns.size == 0 and (m.practices.pcn == -1).all()
    m.step()  # sign-up takes effect from month 3: month 2's figures have no networks yet
    assert m.records[-1]["n_pcns"] == 0 and m.records[-1]["share_practices_in_pcn"] == 0
    m.step()  # month 3: the DES has started
    c, pr = m.pcns, m.practices
    in_pcn = pr.open & (pr.pcn >= 0)
    assert in_pcn.sum() >= 0.95 * pr.open.sum()
    pop = np.bincount(pr.pcn[in_pcn], pr.list_size[in_pcn])
    for k in range(c.size):
        assert len(set(pr.ccg[pr.pcn == k])) == 1  # one CCG each
    assert (c.view("founded") == 3).all()
    # the 20-40k rule: most networks within it (a merged leftover may pass the maximum)
    assert ((pop >= 20_000) & (pop <= 40_000)).mean() >= 0.5
    assert m.records[-1]["n_pcns"] == c.size
    assert m.records[-1]["share_practices_in_pcn"] == pytest.approx(in_pcn.sum() / pr.open.sum())
    # each network's clinical director is the member practice with most spare leadership when it formed
    assert (pr.pcn[c.view("director")] == np.arange(c.size)).all()


def test_coverage_follows_the_opt_out_share_either_way():
    for share, low, high in ((0.0, 1.0, 1.0), (0.5, 0.35, 0.65), (1.0, 0.0, 0.0)):
        m = _model_after(3, pcn_opt_out_share=share)
        covered = m.records[-1]["share_practices_in_pcn"]
        assert low <= covered <= high, (share, covered)


def test_no_networks_without_the_des():
    r = gpsim.run(gpsim.scenario("baseline").replace(**SMALL), seed=1)
    assert (r.steps["n_pcns"] == 0).all() and (r.steps["share_practices_in_pcn"] == 0).all()
    assert (r.orgs["kind"] == "organisation").all()
    assert r.ledger["network_des"] == 0


def test_des_money_goes_to_the_networks_and_is_spent_on_the_director_and_additional_roles():
    m = _model_after(4, network_des_ramp_months=0, network_des_per_patient_full=12.0)
    pr = m.practices
    in_pcn = pr.open & (pr.pcn >= 0)
    listed = pr.list_size[in_pcn].sum()  # members' patients at the start of the next month
    expected = listed * 12.0 / 12
    before = dict(m.ledger.total)
    m.step()
    paid = m.ledger.total["network_des"] - before["network_des"]
    assert paid == pytest.approx(expected)
    assert m.records[-1]["network_des_month"] == pytest.approx(expected)
    director = m.ledger.total["network_des_clinical_directors"] - before["network_des_clinical_directors"]
    roles = m.ledger.total["network_des_additional_roles"] - before["network_des_additional_roles"]
    assert director == pytest.approx(listed * m.p.pcn_director_cost_per_patient / 12)
    assert director + roles == pytest.approx(paid)


def test_additional_roles_relieve_members_workload_and_the_director_gets_funded_time():
    m = _model_after(4)
    pr, c, p = m.practices, m.pcns, m.p
    relief = networks.relief(m)
    in_pcn = pr.open & (pr.pcn >= 0)
    gp_cost_pp = p.gp_fte_per_1000 / 1000 * p.cost_per_gp_fte
    roles_pp = c.view("roles_pp")
    assert (roles_pp[c.alive] > 0).all()
    expected = np.minimum(roles_pp[pr.pcn[in_pcn]] / gp_cost_pp * p.pcn_roles_relief_ratio, p.max_service_relief)
    assert relief[in_pcn] == pytest.approx(expected)
    assert (relief[~in_pcn] == 0).all()
    sessions = networks.director_sessions(m)
    assert (sessions[c.view("director")[c.alive]] == p.pcn_director_sessions).all()
    assert sessions.sum() == pytest.approx(p.pcn_director_sessions * c.alive.sum())
    # the relief is real capacity: members are under less pressure than with staff who relieve nobody
    off = _model_after(6, pcn_roles_relief_ratio=0.0)
    on = _model_after(6, pcn_roles_relief_ratio=2.0)
    assert on.records[-1]["mean_workload_pressure"] < off.records[-1]["mean_workload_pressure"]


@pytest.mark.parametrize("peer_trust, commits", [(1.0, True), (0.0, False)])
def test_a_network_builds_a_record_of_asks_only_if_its_members_trust_each_other(peer_trust, commits):
    m = _model_after(3, ask_rate=1.0, commit_threshold=0.5)
    delivered_before = m.pcns.view("asks_delivered").copy()
    for _ in range(24):
        m.peers.trust[:] = peer_trust  # hand-set: members follow through as far as they trust their fellows
        m.practices.pressure[:] = 1.0
        m.step()
    c = m.pcns
    assert (c.view("asks_taken")[c.alive] > 0).all()
    assert c.view("committable")[c.alive].any() == commits
    if not commits:
        # nothing delivered once trust is gone: the record of the first month's asks fades
        assert (c.view("asks_delivered") == delivered_before).all() and (c.view("commit_record") < 0.05).all()
    assert m.records[-1]["share_pcns_committable"] == pytest.approx(c.view("committable")[c.alive].mean())


def test_a_closed_practice_leaves_its_network_and_a_new_director_is_appointed():
    m = _model_after(4)
    pr, c = m.practices, m.pcns
    k = int(np.argmax(c.view("members")))
    old = int(c.view("director")[k])
    month = m.steps
    unavailable = ~pr.open
    unavailable[old] = True
    practices.exit_practice(m, old, ExitCause.WORKLOAD, unavailable, month)
    networks.apply(m, networks.decide(m, pr.pressure, month), month)
    assert pr.pcn[old] == -1
    new = int(c.view("director")[k])
    assert new != old and pr.pcn[new] == k
    members = np.flatnonzero(pr.pcn == k)
    assert pr.leadership[new] == pr.leadership[members].max()
    check_invariants(m)


def test_networks_are_rows_of_kind_pcn_in_the_orgs_table_and_left_out_of_survival():
    m = _model_after(6)
    r = gpsim.Results.from_model(m, seed=3)
    pcn = r.orgs[r.orgs["kind"] == "pcn"]
    assert len(pcn) == m.pcns.size
    assert pcn["form"].isna().all() and (pcn["founded_step"] == 3).all()
    assert pcn["members"].sum() == (m.practices.pcn >= 0).sum()
    assert f"primary care networks {m.pcns.alive.sum():,} at the end" in r.format_summary()
    orgs_only = r.orgs[r.orgs["kind"] == "organisation"]
    from gpsim import survival

    assert len(survival.durations(r.orgs, 6)) == len(orgs_only)


def test_england_2013_puts_nearly_every_practice_in_one_of_about_1250_networks_by_mid_2020():
    """The issue's pattern (facts #17: about 1,250 networks, ~99% of practices): the count comes out of the
    30-50k rule applied to the synthetic England's practices, not from a set number."""
    p = gpsim.scenario("england-2013")
    r = gpsim.run(p.replace(years=7.5), seed=1)  # to June 2020
    last = r.steps.iloc[-1]
    assert last["share_practices_in_pcn"] >= 0.95
    assert 1_000 <= last["n_pcns"] <= 1_500
    before = r.steps[r.steps["step"] < policy.network_des_month(p)]
    assert (before["n_pcns"] == 0).all()


def test_a_des_that_began_before_the_run_has_networks_from_the_first_month():
    # england-2021 starts in January 2021, 18 months after the DES began (July 2019): facts #17 has ~99% of
    # practices in a network by April 2021, so a run from 2021 must not start with none.
    early = P.replace(n_practices=120, network_des_start_month=-17, pcn_min_population=20_000, years=1.0)
    run = gpsim.run(early, seed=3)
    assert run.steps["share_practices_in_pcn"].iloc[1] > 0.8
    ramp = early.network_des_ramp_months
    rate = networks.des_rate(1, policy.network_des_month(early), early)
    expected = early.network_des_per_patient + min(18 / ramp, 1.0) * (
        early.network_des_per_patient_full - early.network_des_per_patient
    )
    assert rate == pytest.approx(expected)
    assert gpsim.run(early.replace(network_des_start_month=0), seed=3).steps["share_practices_in_pcn"].max() == 0
