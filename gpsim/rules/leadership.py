"""Leadership: spare leadership time, leaders' effort and burnout, succession, heroic vs distributed (ODD 7.2).

The trade-off is in the mechanism, not in a parameter for each side of it: a heroic leader puts in
``heroic_drive`` times an ordinary leader's effort (faster set-up, more contracts won) and carries the whole
load, so burns out ``heroic_drive`` times faster than one person; when that happens a successor must be found
among the members. A distributed team of ``distributed_team_size`` gives each member's ordinary effort, less
coordination, costs money (``distributed_team_cost``), shares the load, and survives losing one person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpsim.state import LeadershipKind


def spare_share(pressure: np.ndarray, p) -> np.ndarray:
    """Share of partners' leadership time left after clinical work: all of it up to
    ``leadership_pressure_onset``, then falling by ``leadership_drain`` per unit of pressure."""
    return np.asarray(1.0 - p.leadership_drain * (pressure - p.leadership_pressure_onset)).clip(0.0, 1.0)


def practice_capacity(n_gps: np.ndarray, pressure: np.ndarray, heroic: np.ndarray, p) -> np.ndarray:
    """Spare leadership time (sessions a week): partners' time beyond clinical work, drained by pressure."""
    return p.leadership_sessions_per_gp * n_gps * spare_share(pressure, p) * np.where(heroic, p.heroic_drive, 1.0)


def kind_at_founding(founder_heroic: bool, support: float, p, rng: np.random.Generator) -> LeadershipKind:
    """Leadership of a new organisation (:func:`founding_leadership` without saying who paid)."""
    return founding_leadership(founder_heroic, support, p, rng)[0]


def founding_leadership(
    founder_heroic: bool, support: float, p, rng: np.random.Generator
) -> tuple[LeadershipKind, bool]:
    """Leadership of a new organisation follows its founder: a heroic founder leads it alone unless it invests
    in a team (``distributed_leadership_share``) or the CCG funds leadership development
    (``leadership_development_share`` x supportiveness); partners without a heroic leader share the work.
    Returns (kind, whether the team is the CCG's leadership development)."""
    if not founder_heroic:
        return LeadershipKind.DISTRIBUTED, False
    own = p.distributed_leadership_share
    chance = min(1.0, own + p.leadership_development_share * support)
    u = rng.random()
    if u < chance:
        return LeadershipKind.DISTRIBUTED, u >= own
    return LeadershipKind.HEROIC, False


def leader_effort(kind: np.ndarray, team: np.ndarray, leader_spare: np.ndarray, p) -> np.ndarray:
    """Sessions a week the leadership gives the organisation: a heroic leader ``heroic_drive`` x
    ``leader_effort``; a team ``team x leader_effort / team_coordination_overhead``; both scaled by the spare
    share of the leaders' own practices (``leader_spare``)."""
    heroic = kind == LeadershipKind.HEROIC
    per_org = np.where(heroic, p.heroic_drive, np.maximum(team, 0) / p.team_coordination_overhead)
    return p.leader_effort * per_org * leader_spare


def effort(kind, team, leader_spare, member_leadership, p) -> np.ndarray:
    """Session-months of work done on the organisation this month: its leadership's effort plus
    ``leadership_share_to_org`` of its members' spare leadership."""
    return leader_effort(kind, team, leader_spare, p) + p.leadership_share_to_org * member_leadership


def leader_load(population: np.ndarray, member_pressure: np.ndarray, p) -> np.ndarray:
    """How heavy leading is: grows with the square root of size and with members' workload pressure."""
    return np.sqrt(population / p.leader_load_reference_size) * member_pressure


def burnout(burnout_: np.ndarray, kind: np.ndarray, team: np.ndarray, load: np.ndarray, p) -> np.ndarray:
    """Burnout of the leader (for a team: of its most-loaded member) after this month. A heroic leader's
    effort, and so its burnout, is ``heroic_drive`` times an ordinary leader's; a team member carries
    ``team_coordination_overhead / team`` of the load."""
    heroic = kind == LeadershipKind.HEROIC
    per_person = np.where(heroic, p.heroic_drive, p.team_coordination_overhead / np.maximum(team, 1))
    return burnout_ + p.leader_burnout_rate * load * per_person


@dataclass
class Succession:
    """What happens to organisations whose leader burnt out or left (arrays over those organisations)."""

    new_leader: np.ndarray  # practice taking over as heroic leader, -1 if none
    becomes_team: np.ndarray  # a heroic-led organisation turns to a distributed team
    team_shrinks: np.ndarray  # a team carries on one person short
    gone: np.ndarray  # no leadership left: the organisation dissolves


def succession(
    orgs: np.ndarray,
    kind: np.ndarray,
    leader: np.ndarray,
    member_leadership: np.ndarray,
    practice_org: np.ndarray,
    practice_lead: np.ndarray,
    heroic_practice: np.ndarray,
    reserves: np.ndarray,
    p,
) -> Succession:
    """Who takes over, from who is actually available among the members.

    A heroic leader is succeeded by the member practice with a heroic leader and the most spare leadership
    (at least ``found_leadership_need``) other than its own; failing one, the organisation invests in a
    distributed team if it can afford a year of the team's cost (``distributed_team_cost``) from its reserves
    and its members have ``distributed_team_size x join_leadership_need`` spare between them; otherwise
    leadership is gone. A team replaces a burnt-out member when members have ``join_leadership_need`` spare;
    otherwise it carries on one person short.
    """
    m = len(orgs)
    new_leader = np.full(m, -1, dtype=np.int64)
    heroic = kind == LeadershipKind.HEROIC
    if m:
        slot = np.full(int(practice_org.max(initial=-1)) + 2, -1, dtype=np.int64)
        slot[orgs] = np.arange(m)
        s = slot[np.where(practice_org >= 0, practice_org, -1)]
        cand = (
            (s >= 0) & heroic_practice & (practice_lead >= p.found_leadership_need) & (practice_org >= 0)
        ).nonzero()[0]
        cand = cand[cand != leader[s[cand]]]
        if len(cand):
            order = np.lexsort((cand, -practice_lead[cand], s[cand]))  # by org, most spare first, lowest id
            cs = s[cand[order]]
            first = np.concatenate(([True], cs[1:] != cs[:-1]))
            new_leader[cs[first]] = cand[order][first]
    no_successor = heroic & (new_leader < 0)
    becomes_team = (
        no_successor
        & (member_leadership >= p.distributed_team_size * p.join_leadership_need)
        & (reserves >= p.distributed_team_cost)
    )
    team_shrinks = ~heroic & (member_leadership < p.join_leadership_need)
    gone = no_successor & ~becomes_team
    return Succession(
        new_leader=np.where(heroic, new_leader, -1), becomes_team=becomes_team, team_shrinks=team_shrinks, gone=gone
    )
