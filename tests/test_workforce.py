"""The national GP workforce (ODD 7.3): trainees, leaving, moves between roles, practices competing for GPs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL, check_invariants

import gpsim
from gpsim.model import GPModel
from gpsim.rules import workforce

P = gpsim.Params()


def test_leaving_rises_with_pressure_only_above_one_and_only_with_an_elasticity():
    pressure = np.array([0.5, 1.0, 1.2, 1.5])
    rate = workforce.leaving_rate(pressure, P.replace(gp_retirement_rate=0.05, gp_leaving_elasticity=1.0))
    assert rate[:2] == pytest.approx([0.05, 0.05])
    assert rate[2:] == pytest.approx([0.06, 0.075])
    flat = workforce.leaving_rate(pressure, P.replace(gp_retirement_rate=0.05, gp_leaving_elasticity=0.0))
    assert flat == pytest.approx([0.05] * 4)


def test_partners_who_leave_are_some_of_the_partners_and_leavers_follow_the_rate():
    rng = np.random.default_rng(1)
    n = 20_000
    gps, partners = np.full(n, 6), np.full(n, 2)
    p = P.replace(gp_retirement_rate=0.12, gp_leaving_elasticity=0.0)
    gone, partners_gone = workforce.leavers(gps, partners, np.ones(n), p, rng)
    assert (partners_gone <= np.minimum(gone, partners)).all()
    assert gone.mean() == pytest.approx(6 * 0.01, rel=0.05)  # 12% a year is 1% a month
    assert partners_gone.sum() / gone.sum() == pytest.approx(2 / 6, rel=0.1)  # partners leave like everyone else


def test_trainees_scale_with_the_population():
    rng = np.random.default_rng(2)
    p = P.replace(gp_trainees_per_100k=6.0)
    draws = [workforce.trainees(1_000_000.0, p, rng) for _ in range(2_000)]
    assert np.mean(draws) == pytest.approx(6.0 * 10 / 12, rel=0.05)
    assert workforce.trainees(1_000_000.0, p.replace(gp_trainees_per_100k=0.0), rng) == 0


def test_partners_step_down_when_partnership_pays_no_better_and_salaried_gps_take_it_up_when_it_pays_well():
    rng = np.random.default_rng(3)
    n = 5_000
    gps, partners = np.full(n, 6), np.full(n, 3)
    p = P.replace(partner_step_down_rate=0.5, partner_take_up_rate=0.5, partner_premium=0.4, step_down_locum_share=0.5)
    low = np.full(n, p.salaried_gp_income)  # no better than salaried
    to_salaried, to_locum, up = workforce.role_moves(gps, partners, low, p, rng)
    assert (to_salaried + to_locum).sum() > 0 and up.sum() == 0
    assert to_locum.sum() == pytest.approx(to_salaried.sum(), rel=0.25)  # half of them to locum work
    high = np.full(n, p.salaried_gp_income * 2.0)  # premium twice over: full take-up rate, nobody steps down
    to_salaried, to_locum, up = workforce.role_moves(gps, partners, high, p, rng)
    assert (to_salaried + to_locum).sum() == 0 and up.sum() > 0
    assert up.mean() == pytest.approx(3 * 0.5 / 12, rel=0.1)
    # the last partner never steps down, however little the partnership pays
    one = np.ones(n, dtype=np.int64)
    to_salaried, to_locum, _ = workforce.role_moves(gps, one, np.zeros(n), p, rng)
    assert (to_salaried + to_locum).sum() == 0


def test_attractiveness_pull_decides_whether_hard_pressed_practices_win_or_lose_gps():
    pressure = np.array([1.0, 1.5])
    income = np.full(2, P.salaried_gp_income * 1.5)
    no_org = np.zeros(2, dtype=bool)
    pulled = workforce.attractiveness(pressure, no_org, income, P.replace(recruitment_pressure_pull=2.0))
    avoided = workforce.attractiveness(pressure, no_org, income, P.replace(recruitment_pressure_pull=-2.0))
    assert pulled[1] > pulled[0] and avoided[1] < avoided[0]
    in_org = workforce.attractiveness(pressure, np.ones(2, bool), income, P.replace(recruitment_boost_in_org=1.5))
    assert in_org / workforce.attractiveness(pressure, no_org, income, P) == pytest.approx([1.5, 1.5])
    richer = workforce.attractiveness(pressure, no_org, income * 1.2, P)
    assert (richer > workforce.attractiveness(pressure, no_org, income, P)).all()


def test_allocation_gives_each_wanting_practice_at_most_one_gp_and_no_more_than_there_are():
    rng = np.random.default_rng(4)
    wants = np.array([True, False, True, True, False, True])
    weight = np.ones(6)
    assert workforce.allocate(10, wants, weight, rng).tolist() == [1, 0, 1, 1, 0, 1]  # enough for all
    assert workforce.allocate(0, wants, weight, rng).sum() == 0
    for _ in range(50):
        got = workforce.allocate(2, wants, weight, rng)
        assert got.sum() == 2 and (got[~wants] == 0).all() and got.max() == 1


def test_allocation_favours_attractive_practices_in_proportion():
    rng = np.random.default_rng(5)
    wants = np.ones(2, dtype=bool)
    weight = np.array([1.0, 3.0])
    wins = sum(workforce.allocate(1, wants, weight, rng) for _ in range(4_000))
    assert wins[1] / wins.sum() == pytest.approx(0.75, abs=0.03)
    assert workforce.allocate(1, wants, np.array([0.0, 1.0]), rng).tolist() == [0, 1]


def test_one_month_conserves_head_count_and_keeps_a_partner_in_every_staffed_practice():
    rng = np.random.default_rng(6)
    n = 500
    p = P.replace(gp_retirement_rate=0.3, partner_step_down_rate=0.5, step_down_locum_share=1.0)
    gps = rng.integers(0, 8, n)
    partners = np.minimum(gps, np.maximum(1, gps // 2)) * (gps > 0)
    pressure = rng.uniform(0.7, 2.0, n)
    income = rng.uniform(0.5, 2.5, n) * p.salaried_gp_income
    wants = pressure > 1.0
    m = workforce.month(gps, partners, 40, pressure, income, wants, np.zeros(n, bool), 3e6, p, rng)
    assert m.n_gps.sum() + m.pool == gps.sum() + 40 + m.trained - m.left
    assert (m.n_gps >= 0).all() and (m.n_partners <= m.n_gps).all()
    assert (m.n_partners[m.n_gps > 0] >= 1).all()
    assert (m.recruits[~wants] == 0).all()


def _fte_trend(model: GPModel) -> float:
    start = model.records[0]["gp_fte_per_1000"]
    return model.records[-1]["gp_fte_per_1000"] / start


def test_gp_supply_sets_the_workforce_trend_and_every_month_conserves_gps():
    base = gpsim.scenario("baseline").replace(**SMALL)
    trends = []
    for supply in (0.0, 4.0, 12.0):
        model = GPModel(base.replace(gp_trainees_per_100k=supply), rng=7)
        while model.running:
            model.step()
            check_invariants(model)
        trends.append(_fte_trend(model))
    assert trends[0] < trends[1] < trends[2]
    assert trends[0] < 1.0  # no one trained: retirements shrink the workforce


def test_closed_practices_gps_return_to_the_pool():
    model = GPModel(gpsim.scenario("baseline").replace(**SMALL), rng=8)
    i = 0
    before = model.gp_pool.available
    gps = int(model.practices.n_gps[i])
    unavailable = ~model.practices.open
    unavailable[i] = True
    model.p = model.p.replace(merge_share=0.0)
    from gpsim.rules import practices
    from gpsim.state import ExitCause

    practices.exit_practice(model, i, ExitCause.WORKLOAD, unavailable, 1)
    assert model.gp_pool.available == before + gps
    check_invariants(model)


def test_what_a_practice_can_pay_counts_only_between_the_declared_floor_and_cap():
    pressure, no_org = np.ones(3), np.zeros(3, bool)
    income = np.array([0.0, 1.0, 100.0]) * P.salaried_gp_income
    weight = workforce.attractiveness(pressure, no_org, income, P)
    assert weight.tolist() == pytest.approx([P.recruitment_pay_floor, 1.0, P.recruitment_pay_cap])
    wide = workforce.attractiveness(
        pressure, no_org, income, P.replace(recruitment_pay_floor=0.0, recruitment_pay_cap=10.0)
    )
    assert wide.tolist() == pytest.approx([0.0, 1.0, 10.0])
