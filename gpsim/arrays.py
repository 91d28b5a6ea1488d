"""Array helpers for the monthly update: distinct values by sorting.

``np.unique`` does more than the monthly rules need (and in recent numpy first hashes, then sorts), which
made it the most expensive call of a month at England scale. These give the same answers -- sorted
distinct values, and the index of each input's value among them -- with one sort.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-d integer array (``np.unique(values)``)."""
    s = np.sort(values)
    first = np.empty(len(s), dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    return s[first]


def distinct_with_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a 1-d integer array: the sorted distinct values and,
    for each input, the index of its value among them."""
    order = np.argsort(values, kind="stable")
    s = values[order]
    first = np.empty(len(s), dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return s[first], inverse
