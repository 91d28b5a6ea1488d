"""Workforce: a national pool of GPs, leaving, moves between roles, and practices competing to recruit (ODD 7.3).

GPs are counted by head, each ``fte_per_gp`` FTE. A GP is either in a practice post (a partner or a salaried GP)
or in the pool: newly qualified GPs and locums, working without a post in any practice and available to recruit.
Every month, decided from the state at the start of the month:

* trainees qualify into the pool, in proportion to the region's registered population;
* GPs in practices retire or leave general practice, faster where workload pressure is high; GPs in the pool
  leave at their own rate;
* partners whose income is no better than a salaried GP's give up the partnership, to a salaried post in the
  same practice or to locum work (the pool); salaried GPs take up a partnership where it pays well;
* practices under pressure that can pay for another GP compete for the GPs in the pool willing to take a post
  this month, each winning at most one, with a chance weighted by how attractive a place to work they are.

So the head count is conserved: GPs in practices + in the pool = start + trainees - leavers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def leaving_rate(pressure: np.ndarray, p) -> np.ndarray:
    """Yearly chance a practice GP retires or leaves: ``gp_retirement_rate`` x pressure^``gp_leaving_elasticity``
    where workload pressure is above 1 (no extra leaving below it)."""
    return p.gp_retirement_rate * np.maximum(pressure, 1.0) ** p.gp_leaving_elasticity


def leavers(
    n_gps: np.ndarray, n_partners: np.ndarray, pressure: np.ndarray, p, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """GPs leaving each practice this month, and how many of them are partners (drawn without replacement).

    Returns:
        (leavers, partners among them), one entry per practice.
    """
    gone = rng.binomial(n_gps, (leaving_rate(pressure, p) / 12.0).clip(0.0, 1.0))
    partners_gone = np.zeros_like(gone)
    some = gone.nonzero()[0]
    partners_gone[some] = rng.hypergeometric(n_partners[some], n_gps[some] - n_partners[some], gone[some])
    return gone, partners_gone


def _binomial(n: np.ndarray, chance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Binomial(n, chance) per entry, drawn only where both are positive (the others are 0 without a draw)."""
    out = np.zeros(len(n), dtype=np.int64)
    some = ((n > 0) & (chance > 0)).nonzero()[0]
    out[some] = rng.binomial(n[some], chance[some])
    return out


def trainees(population: float, p, rng: np.random.Generator) -> int:
    """Newly qualified GPs joining the pool this month: Poisson around ``gp_trainees_per_100k`` a year per
    100,000 registered patients."""
    return int(rng.poisson(p.gp_trainees_per_100k * population / 100_000.0 / 12.0))


def partnership_appeal(partner_income: np.ndarray, p) -> np.ndarray:
    """How much better partnership pays than a salaried post, in units of the premium partners want for its risk
    and work: 0 = partner income equal to ``salaried_gp_income``, 1 = ``partner_premium`` above it."""
    return (partner_income / p.salaried_gp_income - 1.0) / p.partner_premium


def role_moves(
    n_gps: np.ndarray, n_partners: np.ndarray, partner_income: np.ndarray, p, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moves between partner, salaried and locum roles this month.

    A partner gives up the partnership with yearly chance ``partner_step_down_rate`` x (1 - appeal), clipped to
    [0, 1] (full rate when partner income is no better than salaried, none once it is ``partner_premium`` above
    it); ``step_down_locum_share`` of them leave the practice for locum work, the rest take a salaried post in
    it. The last partner cannot step down (they would hand back the contract: ODD 7.8). A salaried GP takes up a
    partnership with yearly chance ``partner_take_up_rate`` x (appeal - 1), clipped to [0, 1].

    Returns:
        (partners to salaried, partners to locum, salaried to partner), one entry per practice.
    """
    appeal = partnership_appeal(partner_income, p)
    down = _binomial(np.maximum(n_partners - 1, 0), p.partner_step_down_rate * (1.0 - appeal).clip(0, 1) / 12, rng)
    to_locum = _binomial(down, np.full(len(down), p.step_down_locum_share), rng)
    up = _binomial(n_gps - n_partners, p.partner_take_up_rate * (appeal - 1.0).clip(0, 1) / 12, rng)
    return down - to_locum, to_locum, up


def attractiveness(pressure: np.ndarray, in_delivering_org: np.ndarray, partner_income: np.ndarray, p) -> np.ndarray:
    """How attractive a practice is to a GP looking for a post (relative weight).

    (``recruitment_boost_in_org`` in a delivering organisation, else 1) x what it can pay (partner income over
    ``salaried_gp_income``, between ``recruitment_pay_floor`` and ``recruitment_pay_cap``) x
    pressure^``recruitment_pressure_pull``: with a positive pull the practices that need a GP most try hardest
    (locum rates, golden hellos), with a negative one GPs avoid hard-pressed practices as hard places to work.
    """
    pay = np.asarray(partner_income / p.salaried_gp_income).clip(p.recruitment_pay_floor, p.recruitment_pay_cap)
    boost = np.where(in_delivering_org, p.recruitment_boost_in_org, 1.0)
    return boost * pay * np.maximum(pressure, 1e-9) ** p.recruitment_pressure_pull


def allocate(available: int, wants: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Share ``available`` GPs among the practices that ``wants`` one, at most one each.

    If there are enough, every practice that wants a GP gets one. Otherwise ``available`` of them are drawn
    without replacement with chances proportional to ``weight`` (Efraimidis-Spirakis: the largest
    log(u) / weight win). Returns the recruits per practice (0 or 1).
    """
    got = np.zeros(len(wants), dtype=np.int64)
    idx = wants.nonzero()[0]
    if available <= 0 or len(idx) == 0:
        return got
    if available >= len(idx):
        got[idx] = 1
        return got
    w = weight[idx]
    keys = np.full(len(idx), -np.inf)
    pos = w > 0
    keys[pos] = np.log(rng.random(int(pos.sum()))) / w[pos]
    winners = idx[np.argpartition(-keys, available - 1)[:available]]
    got[winners] = 1
    return got


@dataclass
class WorkforceMonth:
    """This month's workforce changes (per practice unless said otherwise)."""

    n_gps: np.ndarray  # GPs in each practice after the month
    n_partners: np.ndarray  # partners in each practice after the month
    leavers: np.ndarray
    recruits: np.ndarray
    pool: int  # GPs in the pool after the month
    trained: int  # trainees who joined the pool this month
    left: int  # GPs who left general practice this month, from practices and the pool


def month(
    n_gps: np.ndarray,
    n_partners: np.ndarray,
    pool: int,
    pressure: np.ndarray,
    partner_income: np.ndarray,
    wants: np.ndarray,
    in_delivering_org: np.ndarray,
    population: float,
    p,
    rng: np.random.Generator,
) -> WorkforceMonth:
    """One month of the national workforce, decided from the start-of-month state (see the module docstring).

    Args:
        n_gps, n_partners: GPs and partners per practice (0 for closed practices).
        pool: GPs in the pool.
        pressure, partner_income: each practice's workload pressure and partners' income per partner FTE.
        wants: practices that want another GP and can pay for one.
        in_delivering_org: practices in an organisation that is delivering benefits.
        population: registered patients in the region (sets the number of trainees).
    """
    gone, partners_gone = leavers(n_gps, n_partners, pressure, p, rng)
    staying, partners = n_gps - gone, n_partners - partners_gone
    to_salaried, to_locum, to_partner = role_moves(staying, partners, partner_income, p, rng)
    partners = partners - to_salaried - to_locum + to_partner
    staying = staying - to_locum
    # GPs in the pool willing to take a post this month, shared among the practices competing for them
    willing = int(rng.binomial(pool, p.gp_pool_take_up))
    got = allocate(willing, wants, attractiveness(pressure, in_delivering_org, partner_income, p), rng)
    staying = staying + got
    # someone must hold the contract: with no partner left, a salaried GP (or the new recruit) becomes one
    partners = np.where((partners <= 0) & (staying > 0), 1, np.maximum(partners, 0))
    rest = pool - int(got.sum()) + int(to_locum.sum())
    pool_gone = int(rng.binomial(pool - int(got.sum()), np.clip(p.gp_pool_leaving_rate / 12.0, 0.0, 1.0)))
    new = trainees(population, p, rng)
    return WorkforceMonth(
        n_gps=staying,
        n_partners=partners,
        leavers=gone,
        recruits=got,
        pool=rest - pool_gone + new,
        trained=new,
        left=int(gone.sum()) + pool_gone,
    )
