"""Hospitals and community trusts: whom they work with, and their contracts budget (ODD 7.7a).

An acute hospital can actively work with only so many general-practice counterparts
(``hospital_relationship_capacity``). Each month it works with the organisations it is home hospital to in
order of its trust in them and their record of delivering its asks, up to that capacity; the rest are left
unengaged: it makes no asks of them, so they cannot build the record that would let them commit their members.
It awards extended-service contracts from a yearly budget (``hospital_contract_budget_per_patient`` of its
catchment's patients), best counterparts first, while the budget lasts. Trust is held per hospital-organisation
pair (an organisation works with its home hospital: the one serving its founder), written onto the graph's
``works_with`` edges by :meth:`gpsim.model.GPModel.relationship_graph`.

Community trusts are a second kind of counterpart with populations over a million (seed 004): the named
community trusts of the NHS organisation file for real regions, synthetic ones otherwise. They count their
counterparts by the same rule as hospitals (:func:`gpsim.metrics.relationships_per_hospital`).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
from scipy.spatial import cKDTree

from gpsim.geography import catchments


def engaged(alive: np.ndarray, home_hospital: np.ndarray, score: np.ndarray, capacity: int) -> np.ndarray:
    """Which organisations their home hospital actively works with: the ``capacity`` best by ``score`` (ties by
    id), among live organisations with a home hospital."""
    n = len(alive)
    out = np.zeros(n, dtype=bool)
    idx = (alive & (home_hospital >= 0)).nonzero()[0]
    if len(idx) == 0:
        return out
    order = idx[np.lexsort((-score[idx], home_hospital[idx]))]  # stable: ties keep ascending ids
    h = home_hospital[order]
    first = np.concatenate(([0], (h[1:] != h[:-1]).nonzero()[0] + 1))
    start = np.repeat(first, np.diff(np.concatenate((first, [len(order)]))))
    out[order[np.arange(len(order)) - start < capacity]] = True
    return out


def within_budget(
    offered: np.ndarray,
    home_hospital: np.ndarray,
    score: np.ndarray,
    yearly_cost: np.ndarray,
    committed: np.ndarray,
    budget: np.ndarray,
) -> np.ndarray:
    """Offers a hospital can pay for: best score first, while this year's committed contract spending plus the
    new contracts' yearly cost stays within its budget (per hospital: ``committed``, ``budget``)."""
    out = np.zeros(len(offered), dtype=bool)
    idx = (offered & (home_hospital >= 0)).nonzero()[0]
    if len(idx) == 0:
        return out
    order = idx[np.lexsort((-score[idx], home_hospital[idx]))]  # stable: ties keep ascending ids
    h = home_hospital[order]
    cost = yearly_cost[order]
    cum = np.cumsum(cost)
    first = np.concatenate(([0], (h[1:] != h[:-1]).nonzero()[0] + 1))
    base = np.repeat(cum[first] - cost[first], np.diff(np.concatenate((first, [len(order)]))))
    out[order[committed[h] + (cum - base) <= budget[h]]] = True
    return out


@dataclass(frozen=True)
class CommunityAreas:
    """Community trusts of a region: each practice's trust, and the trusts' names."""

    trust: np.ndarray  # per practice
    name: np.ndarray  # per community trust


@functools.cache
def named_community_trusts() -> tuple[tuple[str, str, float, float], ...]:
    """(code, name, x km, y km) of the community trusts named in the NHS organisation file (bundled), placed at
    their headquarters' postcode district."""
    text = resources.files("gpsim.data").joinpath("community-trusts.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple((r["code"], r["name"], float(r["x_km"]), float(r["y_km"])) for r in rows)


def community_areas(region, p) -> CommunityAreas:
    """Community trust of each practice.

    Real regions: the nearest named community trust headquarters (an assumption: community services are
    organised around those trusts; areas come out at several million patients). Synthetic regions: population-
    weighted k-means into areas of about ``community_trust_population`` patients (at least one), drawn from the
    region's own seed so every run on the region shares them.
    """
    if region.source != "synthetic":
        trusts = named_community_trusts()
        xy = np.array([(x, y) for _, _, x, y in trusts])
        _, label = cKDTree(xy).query(np.column_stack([region.x, region.y]))
        used = np.unique(label)
        remap = np.full(len(trusts), -1)
        remap[used] = np.arange(len(used))
        names = np.array([trusts[i][1].title().replace("Nhs", "NHS") for i in used], dtype=object)
        return CommunityAreas(trust=remap[label].astype(np.int64), name=names)
    rng = np.random.default_rng([int(p.region_seed), 4])  # a stream of its own: the region's, not the run's
    label, centres = catchments(region.x, region.y, region.list_size, p.community_trust_population, rng)
    names = np.array([f"Community trust {i + 1}" for i in range(len(centres))], dtype=object)
    return CommunityAreas(trust=label, name=names)
