"""Extended-service contracts from hospitals and CCGs (ODD 7.7)."""

from __future__ import annotations

import numpy as np


def offers(
    eligible: np.ndarray,
    hospital_trust: np.ndarray,
    support: np.ndarray,
    spans_ccgs: np.ndarray,
    effort_share: np.ndarray,
    p,
    rng: np.random.Generator,
) -> np.ndarray:
    """Organisations offered a new contract this month.

    Eligible organisations (alive, delivering, able to commit their members, no contract running) whose main
    hospital trusts them at least ``contract_trust_threshold`` win one with chance
    ``contract_rate x (commissioner_support_base + CCG supportiveness) x effort_share``, times
    ``cross_ccg_contract_factor`` for organisations spanning several CCGs. ``effort_share`` is the leadership's
    effort as a share of a heroic leader's at full strength (bids are work: heroic leaders win more). At the
    default base of 0.5, a CCG of average supportiveness (0.5) leaves ``contract_rate`` unchanged.
    """
    chance = (
        p.contract_rate
        * (p.commissioner_support_base + support)
        * np.where(spans_ccgs > 1, p.cross_ccg_contract_factor, 1.0)
        * np.asarray(effort_share).clip(0.0, 1.0)
    )
    trusted = hospital_trust >= p.contract_trust_threshold
    return eligible & trusted & (rng.random(len(eligible)) < chance)
