"""Space-filling designs over the prior box and over the region not yet ruled out."""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc


def latin_hypercube(n: int, d: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube in the unit cube (the first wave: the whole prior)."""
    return qmc.LatinHypercube(d, seed=np.random.default_rng(seed)).random(n)


def sobol_in_box(n: int, low: np.ndarray, high: np.ndarray, seed: int) -> np.ndarray:
    """``n`` scrambled Sobol points in the box ``[low, high]`` of the unit cube (candidates for the next wave)."""
    d = len(low)
    m = int(np.ceil(np.log2(max(n, 2))))
    pts = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed)).random_base2(m)[:n]
    return low + pts * (high - low)


def bounding_box(points: np.ndarray, margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """The smallest box holding ``points``, widened by ``margin`` of each side's length, within the unit cube."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) * margin + 1e-9
    return np.clip(low - pad, 0.0, 1.0), np.clip(high + pad, 0.0, 1.0)


def maximin(points: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of ``n`` of ``points`` chosen greedily to be far apart (farthest-point sampling)."""
    if len(points) <= n:
        return np.arange(len(points))
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(points)))]
    dist = np.sum((points - points[chosen[0]]) ** 2, axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.sum((points - points[nxt]) ** 2, axis=1))
    return np.array(chosen)
