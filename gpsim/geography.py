"""The starting geography's type and the helpers that build one: :class:`Region`, peer edges, catchments.

Both the synthetic generator (:mod:`gpsim.region`) and the real-register loader (:mod:`gpsim.data`) build a
:class:`Region` with these helpers. Neither imports the other at module level, so the two form no import circle:
``gpsim.region`` -> ``gpsim.geography`` <- ``gpsim.data``, and ``gpsim.region`` loads ``gpsim.data`` only when a
real area is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Region:
    """A starting geography: per-practice arrays plus CCG and hospital tables.

    Attributes:
        name: human name of the area.
        practice_code: practice identifiers (e.g. ``A84002`` or ``P00017``), shape (N,).
        list_size: registered patients per practice, int64, shape (N,).
        x, y: positions in kilometres (OSGB eastings/northings / 1000 for real data), shape (N,).
        ccg: CCG index of each practice, shape (N,).
        hospital: hospital (catchment) index of each practice, shape (N,).
        ccg_code: code of each CCG, shape (C,).
        hospital_name: name of each hospital, shape (H,).
        hospital_xy: hospital positions (population-weighted catchment centres), shape (H, 2).
        peer_edges: undirected practice-practice edges ``(i, j)`` with ``i < j``, shape (E, 2).
        source: where the region came from (``synthetic`` or a file description).
        warnings: data-quality notes collected while building it (dropped rows and the like).
        register_sha256: SHA-256 of the register file's content for a real region ("" for a synthetic one):
            what identifies the data the region was built from (recorded in ``final.json`` and sweep manifests).
    """

    name: str
    practice_code: np.ndarray
    list_size: np.ndarray
    x: np.ndarray
    y: np.ndarray
    ccg: np.ndarray
    hospital: np.ndarray
    ccg_code: np.ndarray
    hospital_name: np.ndarray
    hospital_xy: np.ndarray
    peer_edges: np.ndarray
    source: str = "synthetic"
    warnings: tuple[str, ...] = field(default=())
    register_sha256: str = ""

    @property
    def n_practices(self) -> int:
        return len(self.list_size)

    @property
    def n_ccgs(self) -> int:
        return len(self.ccg_code)

    @property
    def n_hospitals(self) -> int:
        return len(self.hospital_name)

    @property
    def population(self) -> int:
        return int(self.list_size.sum())

    def ccg_xy(self) -> np.ndarray:
        """Population-weighted centre of each CCG, shape (C, 2)."""
        w = self.list_size.astype(float)
        c = self.n_ccgs
        tot = np.bincount(self.ccg, w, minlength=c)
        tot[tot == 0] = 1.0
        return np.column_stack(
            [np.bincount(self.ccg, w * self.x, minlength=c) / tot, np.bincount(self.ccg, w * self.y, minlength=c) / tot]
        )


# --- shared construction helpers ----------------------------------------------------------------


def peer_edges(x: np.ndarray, y: np.ndarray, ccg: np.ndarray, degree: int) -> np.ndarray:
    """Undirected peer edges from proximity and shared CCG.

    Each practice links to its ``degree - 1`` nearest practices in its own CCG and to its single nearest
    practice anywhere (which links neighbouring CCGs). Built with a k-d tree, so O(N log N).

    Returns:
        int64 array (E, 2) of unique pairs ``i < j``, sorted.
    """
    from scipy.spatial import cKDTree

    n = len(x)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    pts = np.column_stack([x, y])
    pairs = []
    # nearest anywhere
    k_any = min(2, n)
    _, idx = cKDTree(pts).query(pts, k=k_any)
    pairs.append(np.column_stack([np.arange(n), idx[:, 1]]))
    # nearest within the CCG
    k_in = degree - 1
    order = np.argsort(ccg, kind="stable")
    bounds = np.flatnonzero(np.diff(ccg[order])) + 1
    for members in np.split(order, bounds):
        m = len(members)
        if m < 2:
            continue
        k = min(k_in, m - 1) + 1
        _, idx = cKDTree(pts[members]).query(pts[members], k=k)
        idx = np.atleast_2d(idx)[:, 1:]
        src = np.repeat(members, idx.shape[1])
        pairs.append(np.column_stack([src, members[idx.ravel()]]))
    e = np.concatenate(pairs)
    e = np.sort(e, axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0).astype(np.int64)


def catchments(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, catchment: float, rng: np.random.Generator, iterations: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Group practices into hospital catchments of about ``catchment`` patients.

    Population-weighted k-means (k = round(total / catchment), at least 1) seeded by weighted sampling, then
    each practice goes to its nearest centre. Deterministic for a given ``rng`` state.

    Returns:
        (hospital index per practice, centres array (H, 2)).
    """
    from scipy.spatial import cKDTree

    n = len(x)
    pts = np.column_stack([x, y]).astype(float)
    w = weight.astype(float)
    k = int(max(1, min(n, round(w.sum() / catchment))))
    # k-means++-style seeding, weighted by population
    centres = np.empty((k, 2))
    centres[0] = pts[rng.choice(n, p=w / w.sum())]
    d2 = ((pts - centres[0]) ** 2).sum(1)
    for c in range(1, k):
        p = w * d2
        p = p / p.sum() if p.sum() > 0 else w / w.sum()
        centres[c] = pts[rng.choice(n, p=p)]
        d2 = np.minimum(d2, ((pts - centres[c]) ** 2).sum(1))
    for _ in range(iterations):
        _, label = cKDTree(centres).query(pts)
        tot = np.bincount(label, w, minlength=k)
        keep = tot > 0
        cx = np.bincount(label, w * pts[:, 0], minlength=k)
        cy = np.bincount(label, w * pts[:, 1], minlength=k)
        centres[keep] = np.column_stack([cx[keep] / tot[keep], cy[keep] / tot[keep]])
    _, label = cKDTree(centres).query(pts)
    # drop empty catchments and renumber
    used = np.unique(label)
    remap = np.full(k, -1)
    remap[used] = np.arange(len(used))
    return remap[label].astype(np.int64), centres[used]


# --- the synthetic generator ---------------------------------------------------------------------
