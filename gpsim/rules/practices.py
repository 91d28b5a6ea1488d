"""Practices: partners' income, when a practice bends and when it exits, where its patients go (ODD 7.8).

A practice bends before it breaks: losses are absorbed by its reserves and then by its partners' drawings
(:func:`gpsim.rules.finance.practice_accounts`). It exits when its partners' income stays below what they could
earn as salaried or locum GPs, when it has no GP left (its last partner retired or left and nobody was
recruited), or when it cannot meet its workload, each for ``months_to_close`` months in a row.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from gpsim.rules.membership import remove_member
from gpsim.state import ExitCause, PracticeStatus


def partner_income(current: np.ndarray, this_month: np.ndarray, is_open: np.ndarray, p) -> np.ndarray:
    """Partners' income per partner FTE as they judge it: an exponential average over
    ``partner_income_memory_months`` of this month's (yearly-rate) income."""
    return np.where(is_open, current + (this_month - current) / p.partner_income_memory_months, 0.0)


def failing(n_gps: np.ndarray, pressure: np.ndarray, partner_income_: np.ndarray, p) -> np.ndarray:
    """Which practices are unsustainable this month, and why (first matching cause, else 0)."""
    no_gps = n_gps <= 0
    finances = partner_income_ < p.salaried_gp_income
    workload = pressure > p.pressure_close_threshold
    cause = np.where(
        no_gps, ExitCause.NO_GPS, np.where(finances, ExitCause.FINANCES, np.where(workload, ExitCause.WORKLOAD, 0))
    )
    return cause.astype(np.int8)


def merge_partner(model, i: int, unavailable: np.ndarray) -> int:
    """The most trusted open neighbour (trust >= ``merge_trust``, not itself exiting) to take over practice ``i``,
    or -1."""
    nbrs, eids = model.peers.neighbours(i)
    ok = ~unavailable[nbrs] & (model.peers.trust[eids] >= model.p.merge_trust)
    if not ok.any():
        return -1
    cand, trust = nbrs[ok], model.peers.trust[eids[ok]]
    return int(cand[np.argmax(trust)])


def reregister(model, i: int, unavailable: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Where the patients of closing practice ``i`` go: open peer neighbours in proportion to their list
    sizes, or the three nearest open practices if no neighbour is open. Returns (practices, patients)."""
    pr = model.practices
    nbrs, _ = model.peers.neighbours(i)
    dest = nbrs[~unavailable[nbrs]]
    if len(dest) == 0:
        dest = nearest_available(model, i, unavailable, 3)
        if len(dest) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
    weights = pr.list_size[dest].astype(float) + 1.0
    moved = rng.multinomial(int(pr.list_size[i]), weights / weights.sum())
    return dest, moved


def nearest_available(model, i: int, unavailable: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` practices nearest to practice ``i`` that are not ``unavailable``, nearest first.

    Queries one k-d tree of all the region's practices (built once per model), widening the search until
    enough available practices are found. Should two candidates be exactly as far away where the order
    matters, it rebuilds the tree over the available practices alone, as the first version of this rule did,
    so ties are broken the same way.
    """
    region = model.region
    tree = getattr(model, "_practice_tree", None)
    if tree is None:
        tree = model._practice_tree = cKDTree(np.column_stack([region.x, region.y]))
    n = len(unavailable)
    here = [region.x[i], region.y[i]]
    m = min(4 * k + 4, n)
    while True:
        dist, idx = tree.query(here, k=m)
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
        ok = ~unavailable[idx]
        if ok.sum() > k or m == n:
            break
        m = min(4 * m, n)
    d_ok, found = dist[ok][: k + 1], idx[ok]
    if len(np.unique(d_ok)) < len(d_ok):  # a tie that could change the choice or the order
        candidates = (~unavailable).nonzero()[0]
        if len(candidates) == 0:
            return candidates
        pts = np.column_stack([region.x[candidates], region.y[candidates]])
        _, sub = cKDTree(pts).query(here, k=min(k, len(candidates)))
        return candidates[np.atleast_1d(sub)]
    return found[:k]


def exit_practice(model, i: int, cause: ExitCause, unavailable: np.ndarray, month: int) -> None:
    """Practice ``i`` exits: it merges into its most trusted open neighbour (with chance ``merge_share``, if one
    trusts it enough) or closes, its patients re-registering with open neighbours. Recorded in ``closures``."""
    pr = model.practices
    if pr.org[i] >= 0:
        remove_member(model, i)
    partner = -1
    if model.rng.random() < model.p.merge_share:
        partner = merge_partner(model, i, unavailable)
    patients = int(pr.list_size[i])
    if partner >= 0:
        pr.list_size[partner] += patients
        pr.n_gps[partner] += pr.n_gps[i]
        pr.n_partners[partner] += pr.n_partners[i]
        pr.reserves[partner] += pr.reserves[i]
        model.ledger.add("merger_reserves", pr.reserves[i])
        pr.status[i] = PracticeStatus.MERGED
        kind, into = "merger", int(partner)
    else:
        dest, moved = reregister(model, i, unavailable, model.rng)
        model.gp_pool.available += int(pr.n_gps[i])  # its GPs look for posts elsewhere
        np.add.at(pr.list_size, dest, moved)
        model.ledger.add("exit_settlement", pr.reserves[i])
        pr.status[i] = PracticeStatus.CLOSED
        kind, into = "closure", -1
    model.closures.append(
        dict(
            step=month,
            practice=i,
            code=str(model.region.practice_code[i]),
            list_size=patients,
            n_gps=int(pr.n_gps[i]),
            cause=cause.label,
            kind=kind,
            into=into,
        )
    )
    pr.list_size[i] = 0
    pr.n_gps[i] = 0
    pr.n_partners[i] = 0
    pr.reserves[i] = 0.0
    pr.pressure[i] = 0.0
    pr.leadership[i] = 0.0
    pr.partner_income[i] = 0.0
    pr.evidence[i] = 0.0
    model.graph_changes.set_node(int(i), "status", PracticeStatus(pr.status[i]).name.lower())
