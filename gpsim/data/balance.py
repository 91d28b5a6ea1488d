"""Hospital catchments of about equal population for real regions.

Plain population-weighted k-means (:func:`gpsim.region.catchments`) places centres well but lets dense
cities grow catchments of a million patients while rural ones hold a few tens of thousands. Real acute
hospitals are sized to their population, so for real data the k-means centres are refined by a
multiplicatively weighted assignment: a practice goes to the candidate centre minimising
``distance**2 / scale``, and each centre's scale grows while its catchment is under the target population
and shrinks while it is over. Centres then move to their catchments' patient-weighted means.
"""

from __future__ import annotations

import numpy as np

from gpsim.geography import catchments

#: Balancing rounds and the nearest centres each practice may choose between.
ROUNDS = 100
CANDIDATES = 12


def balanced_catchments(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, catchment: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Catchments of about ``catchment`` patients: (hospital index per practice, centres (H, 2)).

    Deterministic for a given ``rng`` state; every practice gets one hospital, every hospital at least one
    practice, and the catchments partition the region's patients.
    """
    from scipy.spatial import cKDTree

    hospital, centres = catchments(x, y, weight, catchment, rng)
    k = len(centres)
    if k < 2:
        return hospital, centres
    pts = np.column_stack([x, y]).astype(float)
    w = weight.astype(float)
    target = w.sum() / k
    scale = np.ones(k)
    c = centres.copy()
    kn = min(CANDIDATES, k)
    rows = np.arange(len(pts))
    label = hospital
    for step in range(ROUNDS + 1):
        dist, cand = cKDTree(c).query(pts, k=kn)
        dist, cand = dist.reshape(len(pts), kn), cand.reshape(len(pts), kn)
        label = cand[rows, np.argmin(dist**2 / scale[cand], axis=1)]
        if step == ROUNDS:
            break
        pop = np.bincount(label, w, minlength=k)
        scale *= np.clip(target / np.maximum(pop, 1.0), 0.5, 2.0)
        live = pop > 0
        c[live] = (
            np.column_stack([np.bincount(label, w * pts[:, 0], k), np.bincount(label, w * pts[:, 1], k)])[live]
            / pop[live, None]
        )
    used = np.unique(label)
    remap = np.full(k, -1)
    remap[used] = np.arange(len(used))
    label = remap[label].astype(np.int64)
    # centres: the patient-weighted mean of each final catchment
    tot = np.bincount(label, w)
    centres = np.column_stack([np.bincount(label, w * pts[:, 0]), np.bincount(label, w * pts[:, 1])]) / tot[:, None]
    return label, centres
