"""Extended-service contracts from hospitals and CCGs (ODD 7.7)."""

from __future__ import annotations

import numpy as np


def offers(
    eligible: np.ndarray,
    hospital_trust: np.ndarray,
    support: np.ndarray,
    spans_ccgs: np.ndarray,
    p,
    rng: np.random.Generator,
) -> np.ndarray:
    """Organisations offered a new contract this month.

    Eligible organisations (alive, delivering, able to commit their members, no contract running) whose main
    hospital trusts them at least ``contract_trust_threshold`` are offered one with chance
    ``contract_rate x (0.5 + CCG supportiveness)``, halved for organisations spanning several CCGs.
    """
    chance = p.contract_rate * (0.5 + support) * np.where(spans_ccgs > 1, 0.5, 1.0)
    trusted = hospital_trust >= p.contract_trust_threshold
    return eligible & trusted & (rng.random(len(eligible)) < chance)
