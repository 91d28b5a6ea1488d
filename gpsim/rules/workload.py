"""Workload: demand for GP time, capacity, and workload pressure (ODD 7.1)."""

from __future__ import annotations

import numpy as np

#: Pressure reported for a practice with no GP capacity at all (demand / 0 is capped here).
PRESSURE_CAP = 5.0


def demand(list_size: np.ndarray, p, month: int) -> np.ndarray:
    """Appointments wanted this month: list x consultation rate, growing by ``demand_growth`` a year."""
    growth = (1.0 + p.demand_growth) ** ((month - 1) / 12.0)
    return list_size * (p.consultation_rate * growth / 12.0)


def capacity(n_gps: np.ndarray, relief: np.ndarray, p) -> np.ndarray:
    """Appointments the practice's GPs can give this month, plus relief from shared organisation staff."""
    return n_gps * (p.fte_per_gp * p.capacity_per_gp_fte / 12.0) * (1.0 + relief)


def pressure(demand_: np.ndarray, capacity_: np.ndarray) -> np.ndarray:
    """Workload pressure = demand / capacity (1 = just coping), capped at :data:`PRESSURE_CAP`."""
    out = np.full(demand_.shape, PRESSURE_CAP)
    np.divide(demand_, capacity_, out=out, where=capacity_ > 0)
    return np.minimum(out, PRESSURE_CAP)


def list_growth(list_size: np.ndarray, is_open: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """New registrations this month (births and moves in), Poisson around ``list_growth`` a year."""
    return rng.poisson(list_size * (p.list_growth / 12.0)) * is_open
