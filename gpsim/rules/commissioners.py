"""Commissioners: CCG supportiveness and mergers (ODD 7.10)."""

from __future__ import annotations

import numpy as np


def draw_support(n_ccgs: int, p, rng: np.random.Generator) -> np.ndarray:
    """Each CCG's supportiveness: Beta with mean ``ccg_supportiveness`` and concentration
    ``ccg_support_concentration`` (all equal at the ends of the range)."""
    mean = p.ccg_supportiveness
    if mean <= 0.0 or mean >= 1.0:
        return np.full(n_ccgs, mean)
    return rng.beta(mean * p.ccg_support_concentration, (1 - mean) * p.ccg_support_concentration, n_ccgs)


def merge_ccgs(model, share: float) -> None:
    """Merge neighbouring CCGs (nearest population-weighted centres first) until ``share`` of the starting
    number remain. Supportiveness of a merged CCG is the population-weighted mean of its parts."""
    pr = model.practices
    n_start = model.region.n_ccgs
    target = max(1, round(n_start * share))
    while True:
        live = np.unique(pr.ccg[pr.open])
        if len(live) <= target:
            return
        w = pr.list_size * pr.open
        tot = np.bincount(pr.ccg, w, minlength=n_start)[live]
        cx = np.bincount(pr.ccg, w * model.region.x, minlength=n_start)[live] / np.maximum(tot, 1)
        cy = np.bincount(pr.ccg, w * model.region.y, minlength=n_start)[live] / np.maximum(tot, 1)
        d = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :])
        np.fill_diagonal(d, np.inf)
        # merge the smallest CCG into its nearest neighbour, one pair at a time
        small = int(np.argmin(tot))
        near = int(np.argmin(d[small]))
        a, b = int(live[near]), int(live[small])
        wa, wb = tot[near], tot[small]
        model.ccg_support[a] = (model.ccg_support[a] * wa + model.ccg_support[b] * wb) / max(wa + wb, 1)
        moved = np.flatnonzero(pr.ccg == b)
        pr.ccg[moved] = a
        for i in moved:
            model.graph.remove_edge(model.ids.ccg(b), int(i))
            model.graph.add_edge(model.ids.ccg(a), int(i), kind="commissions")
        model.orgs.view("home_ccg")[model.orgs.view("home_ccg") == b] = a
