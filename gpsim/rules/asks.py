"""Hospitals' asks, members following through, and the record that makes an organisation able to commit (ODD 7.7).

"Can commit its members" is observed, not assumed. A hospital asks an organisation serving its patients to do
something (a pathway change, a shared rota, a service redesign) with chance ``ask_rate`` a month. The
organisation takes it on and relies on its members: each follows through with probability equal to its trust in
the leaders, less ``ask_follow_pressure_weight`` per unit of workload pressure above 1. The ask is delivered when
practices holding ``ask_delivery_share`` of the organisation's patients followed through. The organisation's
track record is an exponential average of its asks' outcomes over about ``commit_memory_asks`` asks, starting at
0: a brand-new organisation cannot commit its members; one whose record reaches ``commit_threshold`` can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Asks:
    """This month's asks and their outcomes."""

    issued: np.ndarray  # per organisation
    delivered: np.ndarray  # per organisation
    record: np.ndarray  # per organisation, after this month
    committable: np.ndarray  # per organisation, after this month
    followed: np.ndarray  # per practice: followed through on its organisation's ask
    engaged: np.ndarray | None = None  # per organisation: its home hospital actively works with it
    hospital_trust: np.ndarray | None = None  # per organisation, after this month
    networks_engaged: np.ndarray | None = None  # per primary care network: its home hospital works with it


def record(table, asked: Asks, hospital_trust: np.ndarray) -> None:
    """Write this month's asks into an organisation or network table (``_apply`` time): the track record, who
    can commit, hospitals' trust, and the counts of asks taken and delivered."""
    table.view("commit_record")[:] = asked.record
    table.view("committable")[:] = asked.committable
    table.view("hospital_trust")[:] = hospital_trust
    table.view("asks_taken")[asked.issued] += 1
    table.view("asks_delivered")[asked.delivered] += 1


def follow_chance(member_trust: np.ndarray, pressure: np.ndarray, p) -> np.ndarray:
    """Chance a member follows through on an ask: its trust in the leaders, less the pull of its workload."""
    return np.asarray(member_trust - p.ask_follow_pressure_weight * np.maximum(pressure - 1.0, 0.0)).clip(0.0, 1.0)


def asks(
    alive: np.ndarray,
    members: np.ndarray,
    population: np.ndarray,
    record: np.ndarray,
    practice_org: np.ndarray,
    member: np.ndarray,
    member_trust: np.ndarray,
    pressure: np.ndarray,
    list_size: np.ndarray,
    p,
    rng: np.random.Generator,
    engaged: np.ndarray | None = None,
) -> Asks:
    """Issue this month's asks, see who follows through, and update each organisation's track record.

    Only organisations in ``engaged`` (all if None) are asked: a hospital makes no asks of counterparts it does
    not actively work with (:func:`gpsim.rules.hospitals.engaged`)."""
    n = len(alive)
    asked_orgs = alive if engaged is None else alive & engaged
    issued = asked_orgs & (members >= 1) & (rng.random(n) < p.ask_rate)
    k = np.maximum(practice_org, 0)
    asked = member & issued[k] if n else np.zeros(len(practice_org), dtype=bool)
    followed = asked & (rng.random(len(practice_org)) < follow_chance(member_trust, pressure, p))
    followed_pop = np.bincount(practice_org[followed], list_size[followed], minlength=n)[:n]
    delivered = issued & (followed_pop >= p.ask_delivery_share * population) & (population > 0)
    new_record = np.where(issued, record + (delivered.astype(float) - record) / p.commit_memory_asks, record)
    return Asks(
        issued=issued,
        delivered=delivered,
        record=new_record,
        committable=alive & (members > 0) & (new_record >= p.commit_threshold) & (new_record > 0),
        followed=followed,
    )
