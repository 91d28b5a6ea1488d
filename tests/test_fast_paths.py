"""The shortcuts taken for speed give what the plain computation gives, to the last bit.

Each test compares a fast path with the straightforward numpy it replaced, on random inputs with the awkward
cases (ties, NaN, empty, repeated indices) in them.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import gpsim
from gpsim.model import GPModel
from gpsim.rules import membership
from gpsim.state import Ledger, OrgTable


def test_first_best_is_what_a_lexsort_puts_first_in_each_group():
    rng = np.random.default_rng(0)
    for trial in range(2000):
        n = int(rng.integers(1, 40))
        group = np.sort(rng.integers(0, 8, n))
        score = rng.integers(0, 4, n).astype(float)  # many ties
        if trial % 3 == 0:
            score[rng.random(n) < 0.3] = np.nan
        order = np.lexsort((-score, group))
        want = order[np.r_[True, group[order][1:] != group[order][:-1]]]
        assert np.array_equal(membership.first_best(group, score), want)
    assert len(membership.first_best(np.zeros(0, np.int64), np.zeros(0))) == 0


def test_ledger_adds_many_amounts_as_one_by_one():
    rng = np.random.default_rng(1)
    amounts = rng.random(500) * 10.0 ** rng.integers(-3, 6, 500)
    one, many = Ledger(), Ledger()
    one.total["joining_fees"] = many.total["joining_fees"] = 0.1
    for a in amounts:
        one.add("joining_fees", a)
    many.add_each("joining_fees", amounts)
    many.add_each("joining_fees", [])
    assert many.total["joining_fees"] == one.total["joining_fees"]  # exact, not approximate


def test_org_table_views_follow_new_rows_and_write_through_in_copies():
    o = OrgTable(capacity=2)
    o.add(reserves=1.0)
    first = o.view("reserves")
    for _ in range(5):  # past the capacity: the columns are reallocated
        o.add(reserves=2.0)
    assert len(first) == 1 and len(o.view("reserves")) == 6
    assert o.view("reserves").base is o.reserves
    o.view("reserves")[0] = 3.0
    assert o.reserves[0] == 3.0
    for twin in (copy.deepcopy(o), pickle.loads(pickle.dumps(o))):
        twin.view("reserves")[1] = 9.0
        assert twin.reserves[1] == 9.0 and o.reserves[1] == 2.0


def _founding_teams_plainly(model, founders, can_join):
    """The founding loop as it was written before, with numpy per founder."""
    pr = model.practices
    is_founder = np.zeros(pr.n, dtype=bool)
    is_founder[founders] = True
    f_all, c_all, t_all = membership.cofounder_candidates(model, is_founder, can_join)
    claimed = np.zeros(pr.n, dtype=bool)
    teams = []
    for f in founders:
        lo, hi = np.searchsorted(f_all, f, "left"), np.searchsorted(f_all, f, "right")
        if claimed[f] or not pr.open[f] or pr.org[f] >= 0:
            continue
        cof, tr = c_all[lo:hi], t_all[lo:hi]
        ok = ~claimed[cof] & pr.open[cof] & (pr.org[cof] < 0)
        if not ok.any():
            continue
        claimed[cof[ok]] = True
        claimed[f] = True
        teams.append((int(f), cof[ok].tolist(), float(tr[ok].mean())))
    return teams


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_founding_teams_match_the_plain_loop(seed):
    model = GPModel(gpsim.scenario("baseline").replace(n_practices=300, n_ccgs=6), rng=seed)
    for _ in range(3):
        model.step()
    rng = np.random.default_rng(seed)
    pr = model.practices
    free = pr.open & (pr.org < 0)
    for _ in range(20):
        founders = np.sort(rng.choice(pr.n, size=int(rng.integers(1, 60)), replace=False))
        can_join = free & (rng.random(pr.n) < 0.7)
        got = membership.founding_teams(model, founders, can_join)
        assert got == _founding_teams_plainly(model, founders, can_join)


def _twins(seed: int, months: int = 24) -> tuple[GPModel, GPModel]:
    p = gpsim.scenario("baseline").replace(n_practices=300, n_ccgs=6)
    twins = GPModel(p, rng=seed), GPModel(p, rng=seed)
    for m in twins:
        for _ in range(months):
            m.step()
    return twins


def _same_state(a: GPModel, b: GPModel) -> None:
    for name in ("org", "reserves", "member_trust", "benefit_reference", "evidence"):
        assert np.array_equal(getattr(a.practices, name), getattr(b.practices, name)), name
    for name in OrgTable.FIELDS:
        assert np.array_equal(a.orgs.view(name), b.orgs.view(name)), name
    assert np.array_equal(a.peers.trust, b.peers.trust)
    assert a.ledger.total == b.ledger.total  # exact: the same additions in the same order
    assert a.commissioners.spent == b.commissioners.spent
    assert np.array_equal(a.commissioners.budget, b.commissioners.budget)
    assert list(a.graph.nodes(data=True)) == list(b.graph.nodes(data=True))
    assert list(a.graph.edges(data=True)) == list(b.graph.edges(data=True))
    assert sorted(a._org_agents) == sorted(b._org_agents)
    assert a.rng.random() == b.rng.random()  # the same draws were made


@pytest.mark.parametrize("seed", [3, 4])
def test_dissolving_several_at_once_is_dissolving_them_one_after_another(seed):
    from gpsim.rules import organisations
    from gpsim.state import DissolutionCause

    batch, single = _twins(seed)
    alive = batch.orgs.alive.nonzero()[0]
    assert len(alive) >= 3, "the scenario should have organisations by month 24"
    ks = alive[: len(alive) // 2 + 1]
    batch.orgs.reserves[ks[0]] = single.orgs.reserves[ks[0]] = -1234.5  # a debt to cover, too
    members, inner = organisations.members_and_inner_edges(batch, ks)
    organisations.dissolve_many(batch, ks, DissolutionCause.RESERVES_EXHAUSTED, 25, members, inner)
    for k in ks:
        organisations.dissolve(single, int(k), DissolutionCause.RESERVES_EXHAUSTED, 25)
    _same_state(batch, single)


@pytest.mark.parametrize("seed", [5, 6])
def test_founding_several_at_once_is_founding_them_one_after_another(seed):
    batch, single = _twins(seed)
    pr = batch.practices
    free = pr.open & (pr.org < 0)
    ccg = np.bincount(pr.ccg[free]).argmax()
    free = (free & (pr.ccg == ccg)).nonzero()[0]
    assert len(free) >= 8, "the scenario should leave independent practices at month 24"
    # heroic founders in one CCG that pays for leadership development whenever it can afford it: its budget
    # covers two grants, so the third founder and after must find it spent
    teams = [(int(free[i]), [int(free[i + 1])], 0.3 + 0.1 * i) for i in range(0, 8, 2)]
    for m in (batch, single):
        m.p = m.p.replace(distributed_leadership_share=0.0, leadership_development_share=1.0)
        m.ccg_support[:] = 1.0
        m.commissioners.budget[:] = 2.5 * m.p.leadership_development_cost
        m.commissioners.paused_until[:] = -1
        m.practices.heroic[free[:8]] = True
    got = membership.found_many(batch, teams, 25)
    want = [membership.found_many(single, [team], 25)[0] for team in teams]
    assert [k for _, k in got] == [k for _, k in want]
    assert all(np.array_equal(q, r) for (q, _), (r, _) in zip(got, want, strict=True))
    grants = batch.orgs.reserves[[k for _, k in got]]
    assert (grants > 0).sum() == 2, "two grants, then the budget is spent"
    _same_state(batch, single)
