"""Seeds: every run's generator is ``SeedSequence(root_seed, spawn_key=(point hash, replicate))``.

The point hash is a stable 63-bit hash (SHA-256) of the point's canonical JSON, so a run's seed depends only on
the experiment's root seed, the point's parameter values and the replicate number -- not on the order runs are
made, the worker that makes them, a retry, or which other points the experiment has. Adding points or replicates
later never shifts the seeds of existing runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gpsim.sweep.spec import canonical_json, point_id, stable_hash

__all__ = ["canonical_json", "point_id", "run_seed", "stable_hash"]


def run_seed(root_seed: int, values: Mapping[str, Any], replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate`` at the point with varied parameters ``values``."""
    return np.random.SeedSequence(root_seed, spawn_key=(int(point_id(values), 16), int(replicate)))
