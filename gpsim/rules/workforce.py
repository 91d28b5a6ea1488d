"""Workforce: GPs retiring, leaving under pressure, and being recruited (ODD 7.3)."""

from __future__ import annotations

import numpy as np


def leavers(n_gps: np.ndarray, pressure: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """GPs leaving this month: retirement plus burnout that rises with pressure above 1."""
    rate = (p.gp_retirement_rate + p.burnout_exit_rate * np.maximum(pressure - 1.0, 0.0)) / 12.0
    return rng.binomial(n_gps, np.clip(rate, 0.0, 1.0))


def recruits(
    pressure: np.ndarray,
    is_open: np.ndarray,
    can_afford: np.ndarray,
    in_delivering_org: np.ndarray,
    month: int,
    p,
    rng: np.random.Generator,
) -> np.ndarray:
    """At most one GP recruited this month by a practice that needs one (pressure above 1) and can pay.

    The chance falls by ``recruitment_decline`` a year, is lower for practices under heavy pressure (a hard
    place to work) and higher in an organisation that has started delivering (shared staff, support).
    """
    base = p.recruitment_rate * (1.0 - p.recruitment_decline) ** ((month - 1) / 12.0)
    attractiveness = np.where(in_delivering_org, p.recruitment_boost_in_org, 1.0) / (
        1.0 + np.maximum(pressure - 1.0, 0.0)
    )
    wants = is_open & can_afford & (pressure > 1.0)
    return (wants & (rng.random(len(pressure)) < base * attractiveness)).astype(np.int64)
