"""The one place the page reads a running model's state (everything else uses ``Results``-shaped tables).

``GPModel.records`` are the rows of ``Results.steps``; :func:`gpsim.results.org_table` is ``Results.orgs``;
``GPModel.practice_table()`` is each practice now; :class:`gpsim.Region` is public. Nothing here reads the
model's internal arrays, so a change in the model's layout does not reach the page.
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
    """Each practice's status, organisation (-1 for none or closed) and list size (``GPModel.practice_table``)."""
    t = model.practice_table()
    return PracticeState(
        t["open"].to_numpy(dtype=bool),
        t["org"].to_numpy(dtype=np.int64, na_value=-1),
        t["list_size"].to_numpy(dtype=np.int64),
    )


def orgs(model) -> pd.DataFrame:
    """One row per organisation ever formed (the ``Results.orgs`` rows of kind organisation: primary care networks
    are numbered on their own and shown apart)."""
    from gpsim.results import ORG_KIND, org_table

    table = org_table(model)
    return table[table["kind"] == ORG_KIND].reset_index(drop=True)


def peer_edges(model) -> np.ndarray:
    """The working relationships between practices, (E, 2) indices (fixed for a run)."""
    return np.asarray(model.region.peer_edges)


def records(model) -> list[dict]:
    """The monthly rows so far (month 0 first), as ``Results.steps`` has them."""
    return model.records
