"""Practices closing or merging, organisations dissolving (ODD 7.8, 7.9)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from gpsim.state import DissolutionCause, ExitCause

#: Months of cohesion below ``cohesion_collapse`` (or fewer than two members) before an organisation ends.
COLLAPSE_MONTHS = 6
#: Peer trust a neighbour needs to take over a failing practice.
MERGE_TRUST = 0.4


def failing(n_gps: np.ndarray, pressure: np.ndarray, reserves: np.ndarray, monthly_costs: np.ndarray, p):
    """Which practices are unsustainable this month, and why (first matching cause, else 0)."""
    no_gps = n_gps <= 0
    finances = reserves < -p.debt_limit_months * monthly_costs
    workload = pressure > p.pressure_close_threshold
    cause = np.where(
        no_gps, ExitCause.NO_GPS, np.where(finances, ExitCause.FINANCES, np.where(workload, ExitCause.WORKLOAD, 0))
    )
    return cause.astype(np.int8)


def merge_partner(model, i: int, unavailable: np.ndarray) -> int:
    """The most trusted open neighbour (trust >= 0.4, not itself exiting) to take over practice ``i``, or -1."""
    nbrs, eids = model.peers.neighbours(i)
    ok = ~unavailable[nbrs] & (model.peers.trust[eids] >= MERGE_TRUST)
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
        candidates = np.flatnonzero(~unavailable)
        if len(candidates) == 0:
            return candidates
        pts = np.column_stack([region.x[candidates], region.y[candidates]])
        _, sub = cKDTree(pts).query(here, k=min(k, len(candidates)))
        return candidates[np.atleast_1d(sub)]
    return found[:k]


def dissolution_cause(
    alive: np.ndarray,
    months_no_reserves: np.ndarray,
    months_low_cohesion: np.ndarray,
    months_too_small: np.ndarray,
    leadership_gone: np.ndarray,
    p,
) -> np.ndarray:
    """The documented reason each organisation dissolves this month (``DissolutionCause.NONE`` to carry on)."""
    cause = np.full(len(alive), DissolutionCause.NONE, dtype=np.int8)
    rules = [
        (months_too_small >= COLLAPSE_MONTHS, DissolutionCause.TOO_FEW_MEMBERS),
        (months_low_cohesion >= COLLAPSE_MONTHS, DissolutionCause.COHESION_COLLAPSE),
        (months_no_reserves >= p.reserves_exhausted_months, DissolutionCause.RESERVES_EXHAUSTED),
        (leadership_gone, DissolutionCause.LEADERSHIP_GONE),
    ]
    for hit, why in rules:  # later rules win: leadership loss is the most immediate cause
        cause[alive & hit] = why
    return cause
