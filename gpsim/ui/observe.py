"""The one place the page reads a running model's state (everything else uses ``Results``-shaped tables).

``GPModel.records`` are the rows of ``Results.steps``; :func:`gpsim.results.org_table` is ``Results.orgs``;
:class:`gpsim.Region` is public. Only :func:`practices` looks at the per-practice arrays behind the Mesa
agents, read-only, and copies what it needs, so a change in the model's layout touches this file alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PracticeState:
    """Each practice now: open or not, its organisation (-1 for none) and its list size."""

    open: np.ndarray
    org: np.ndarray
    list_size: np.ndarray


def practices(model) -> PracticeState:
    """A copy of each practice's status, organisation and list size."""
    pr = model.practices
    is_open = pr.open
    is_open = np.asarray(is_open() if callable(is_open) else is_open, dtype=bool)
    org = np.asarray(pr.org, dtype=np.int64).copy()
    org[~is_open] = -1
    return PracticeState(is_open.copy(), org, np.asarray(pr.list_size, dtype=np.int64).copy())


def orgs(model) -> pd.DataFrame:
    """One row per organisation ever formed (the columns of ``Results.orgs``)."""
    from gpsim.results import org_table

    return org_table(model)


def peer_edges(model) -> np.ndarray:
    """The working relationships between practices, (E, 2) indices (fixed for a run)."""
    return np.asarray(model.region.peer_edges)


def records(model) -> list[dict]:
    """The monthly rows so far (month 0 first), as ``Results.steps`` has them."""
    return model.records
