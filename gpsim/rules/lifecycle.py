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
        candidates = np.flatnonzero(~unavailable)
        if len(candidates) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        pts = np.column_stack([model.region.x[candidates], model.region.y[candidates]])
        k = min(3, len(candidates))
        _, idx = cKDTree(pts).query([model.region.x[i], model.region.y[i]], k=k)
        dest = candidates[np.atleast_1d(idx)]
    weights = pr.list_size[dest].astype(float) + 1.0
    moved = rng.multinomial(int(pr.list_size[i]), weights / weights.sum())
    return dest, moved


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
