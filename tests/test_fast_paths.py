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
