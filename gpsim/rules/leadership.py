"""Leadership: practices' spare leadership time, leaders' burnout and succession, delivery (ODD 7.2)."""

from __future__ import annotations

import numpy as np

from gpsim.state import LeadershipKind

#: Population whose leadership costs a leader ``leader_burnout_rate`` a month at normal pressure.
LOAD_REFERENCE = 50_000.0
#: A distributed team shares the load but spends extra effort coordinating.
DISTRIBUTED_OVERHEAD = 1.5


def practice_capacity(n_gps: np.ndarray, pressure: np.ndarray, heroic: np.ndarray, p) -> np.ndarray:
    """Spare leadership time (sessions a week): partners' time beyond clinical work, drained by pressure."""
    spare = np.clip(1.0 - p.leadership_drain * (pressure - 0.9), 0.0, 1.0)
    return p.leadership_sessions_per_gp * n_gps * spare * np.where(heroic, p.heroic_drive, 1.0)


def leader_load(population: np.ndarray, member_pressure: np.ndarray) -> np.ndarray:
    """How heavy leading is: grows with the square root of size and with members' workload pressure."""
    return np.sqrt(population / LOAD_REFERENCE) * np.maximum(member_pressure, 0.5)


def burnout(burnout_: np.ndarray, kind: np.ndarray, team: np.ndarray, load: np.ndarray, p) -> np.ndarray:
    """Burnout after this month: a heroic leader carries the whole load, a team shares it."""
    per_person = np.where(kind == LeadershipKind.DISTRIBUTED, DISTRIBUTED_OVERHEAD / np.maximum(team, 1), 1.0)
    return burnout_ + p.leader_burnout_rate * load * per_person


def succession(
    kind: np.ndarray, member_leadership: np.ndarray, p, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For organisations whose leader just burnt out: is a successor found, and does the team shrink?

    A heroic leader is succeeded with ``heroic_succession_chance`` (halved if no member has the spare time to
    found an organisation themselves). A distributed team replaces the person when members have at least
    ``join_leadership_need`` spare between them; otherwise it carries on one person short.

    Returns:
        (successor found, team shrinks) boolean arrays.
    """
    u = rng.random(len(kind))
    heroic = kind == LeadershipKind.HEROIC
    chance = p.heroic_succession_chance * np.where(member_leadership >= p.found_leadership_need, 1.0, 0.5)
    found = np.where(heroic, u < chance, True)
    shrinks = ~heroic & (member_leadership < p.join_leadership_need)
    return found, shrinks


def delivery_effort(member_leadership: np.ndarray, population: np.ndarray, p) -> np.ndarray:
    """Months of progress towards delivery made this month (1 = full strength).

    Building an organisation needs ``1 + population / 50,000`` sessions a week of leadership time; members
    give it ``leadership_share_to_org`` of their spare leadership, so pressured members slow delivery.
    """
    need = 1.0 + population / LOAD_REFERENCE
    return np.clip(p.leadership_share_to_org * member_leadership / need, 0.0, 1.0)
