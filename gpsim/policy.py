"""The policy timeline a run schedules as Mesa events: funding programmes, CCG mergers, the MCP/PACS era.

This module holds only dates and sizes. How a programme chooses whom to pay and how the money moves is in
:mod:`gpsim.rules.programmes`; what commissioners do with their budgets, relationships and mergers is in
:mod:`gpsim.rules.commissioners`. The generic one-off pump-priming, the CCGs' development grants (paid from their
yearly budgets) and the recurrent payment come from parameters; ``policy_timeline='england-2013'`` adds the national
programmes of 2014-2021 at their calendar dates and real sizes (facts #8-#11, #15-#16), the CCG mergers and the ICBs
(facts #6) and the years in which commissioners could procure MCP/PACS contracts (facts #19).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gpsim.params import Params

FOREVER = 10**9


class Allocation(Enum):
    """How a programme decides who is paid (see :mod:`gpsim.rules.programmes`)."""

    OPEN = "open"  # every qualifying organisation, per patient (the generic payments)
    CCG_BUDGET = "ccg budget"  # every qualifying organisation, per patient, while its CCG's budget lasts
    COMPETITIVE = "competitive"  # a fixed number of area bids chosen by score share a fixed national budget
    CCG_ALLOCATION = "ccg allocation"  # a national budget shared to CCGs by population, released once they plan
    COMMISSIONED = "commissioned"  # CCGs commission it from their delivering providers from a start month each


@dataclass(frozen=True)
class FundingProgramme:
    """A stream of money to organisations.

    Attributes:
        name: label shown in outputs.
        ledger: the ledger entry its money is booked under.
        start_month: first month paid (1 = first simulated month).
        months: how many months it pays (``FOREVER`` for recurrent money).
        per_patient: GBP per patient covered per year (for budgeted programmes, what a funded organisation can
            expect on average; the budget decides what is paid).
        min_population: smallest organisation (or bid) that qualifies.
        recurrent: True for money that does not end (counts towards self-funding).
        allocation: how it decides who is paid.
        budget: national budget in GBP (England; scaled to the region's share), for budgeted programmes.
        sites: number of bids chosen in England (scaled to the region's share), for competitive programmes.
        requires_delivery: only organisations already delivering qualify.
        service_cost_share: share of the money spent delivering the service it buys (0 for development money;
            for commissioned services such as extended access, 1 - ``contract_margin``).
        months_per_org: most months it pays any one organisation (CCG development grants).
    """

    name: str
    ledger: str
    start_month: int
    months: int
    per_patient: float
    min_population: float
    recurrent: bool = False
    allocation: Allocation = Allocation.OPEN
    budget: float = 0.0
    sites: float = 0.0
    requires_delivery: bool = False
    service_cost_share: float = 0.0
    months_per_org: int = FOREVER

    @property
    def end_month(self) -> int:
        """Last month paid."""
        return self.start_month + self.months - 1


@dataclass(frozen=True)
class CCGMerger:
    """At ``month``, neighbouring CCGs merge until only ``share`` of the starting number remain."""

    month: int
    share: float


@dataclass(frozen=True)
class ExtendedAccessRollout:
    """CCGs start commissioning extended access between ``start`` and ``end``: those covering ``half_share`` of
    the population by ``half_by``, all by ``end`` (run months)."""

    start: int
    half_by: int
    end: int
    half_share: float = 0.5


def month_of(params: Params, year: int, month: int) -> int:
    """The run month (1-based) of a calendar month."""
    return (year - params.start_year) * 12 + (month - params.start_month) + 1


def programmes(params: Params) -> list[FundingProgramme]:
    """Every funding programme of a run, clipped to the months it simulates."""
    p = params
    found: list[FundingProgramme] = []
    if p.pump_priming_per_patient > 0 and p.pump_priming_months > 0:
        found.append(
            FundingProgramme(
                "pump-priming",
                "pump_priming",
                p.pump_priming_start_month,
                p.pump_priming_months,
                p.pump_priming_per_patient,
                p.pump_priming_min_population,
            )
        )
    if p.ccg_grant_per_patient > 0:
        found.append(
            FundingProgramme(
                "CCG development grants",
                "ccg_development_grants",
                1,
                FOREVER,
                p.ccg_grant_per_patient,
                p.pump_priming_min_population,
                allocation=Allocation.CCG_BUDGET,
                months_per_org=p.ccg_grant_months,
            )
        )
    if p.recurrent_funding_per_patient > 0:
        found.append(
            FundingProgramme(
                "recurrent network payment",
                "recurrent_funding",
                p.recurrent_funding_start_month,
                FOREVER,
                p.recurrent_funding_per_patient,
                0.0,
                recurrent=True,
            )
        )
    if p.policy_timeline == "england-2013":
        m = lambda y, mo: month_of(p, y, mo)  # noqa: E731
        bid, at_scale = Allocation.COMPETITIVE, p.at_scale_min_population
        # the headline money per patient per year a funded bid gets (what founders count on): the budget per
        # year over the patients the funded bids covered
        per_head = lambda budget, months, patients: budget / (months / 12) / patients  # noqa: E731
        everyone = p.england_population
        vanguard = p.vanguard_budget * p.vanguard_primary_care_sites / p.vanguard_sites
        found += [
            # facts #8: wave 1 (2014), GBP 50m for 20 pilots of 40k or more, about 7m patients, one year
            FundingProgramme(
                "Challenge Fund wave 1", "challenge_fund_wave1", m(2014, 4), 12,
                per_head(p.challenge_fund_wave1_budget, 12, p.challenge_fund_wave1_patients),
                p.challenge_fund_min_population, allocation=bid, budget=p.challenge_fund_wave1_budget,
                sites=p.challenge_fund_wave1_pilots,
            ),
            # facts #8: wave 2 (2015), GBP 100m, 37 pilots, >1,400 practices (about 10m patients), one year
            FundingProgramme(
                "Challenge Fund wave 2", "challenge_fund_wave2", m(2015, 4), 12,
                per_head(p.challenge_fund_wave2_budget, 12, p.challenge_fund_wave2_patients),
                p.challenge_fund_min_population, allocation=bid, budget=p.challenge_fund_wave2_budget,
                sites=p.challenge_fund_wave2_pilots,
            ),
            # facts #10: 50 sites from 269 bids, GBP 329m over 2015/16-2017/18; the 23 MCP/PACS sites pay general
            # practice, so they get 23/50 of it
            FundingProgramme(
                "Vanguards", "vanguards", m(2015, 4), 36,
                per_head(vanguard, 36, p.vanguard_population_share * everyone), at_scale, allocation=bid,
                budget=vanguard, sites=p.vanguard_primary_care_sites,
            ),
            # facts #9, #16: GP Forward View, GBP 171m (about 3 per head) over 2017/18-2018/19, through CCGs
            FundingProgramme(
                "GP Forward View", "gp_forward_view", m(2017, 4), 24,
                per_head(p.gp_forward_view_budget, 24, everyone), at_scale, allocation=Allocation.CCG_ALLOCATION,
                budget=p.gp_forward_view_budget,
            ),
        ]  # fmt: skip
        # facts #15: extended access, recurrent, commissioned by CCGs from delivering at-scale providers
        if p.extended_access_per_patient > 0:
            found.append(
                FundingProgramme(
                    "Extended access", "extended_access", m(2017, 4), FOREVER, p.extended_access_per_patient,
                    p.at_scale_min_population, recurrent=True, allocation=Allocation.COMMISSIONED,
                    requires_delivery=True, service_cost_share=1.0 - p.contract_margin,
                )
            )  # fmt: skip
    end = p.n_months
    return [q for q in found if q.start_month <= end and q.end_month >= 1]


def extended_access_rollout(params: Params) -> ExtendedAccessRollout | None:
    """When CCGs start commissioning extended access (facts #15: 50% of the population by March 2018, 100% by
    October 2018), or None outside the england-2013 timeline."""
    if params.policy_timeline != "england-2013" or params.extended_access_per_patient <= 0:
        return None
    m = lambda y, mo: month_of(params, y, mo)  # noqa: E731
    return ExtendedAccessRollout(m(2017, 4), m(2018, 3), m(2018, 10))


def mcp_era(params: Params) -> tuple[int, int] | None:
    """First and last month in which commissioners may procure MCP/PACS contracts: from the Vanguard era (the
    first MCP/PACS sites, April 2015) until integrated care boards take over commissioning (July 2022); None
    outside the england-2013 timeline."""
    if params.policy_timeline != "england-2013":
        return None
    return month_of(params, 2015, 4), month_of(params, 2022, 6)


def ccg_mergers(params: Params) -> list[CCGMerger]:
    """CCG mergers of the england-2013 timeline (facts #6: 211 -> 207 -> 191 -> 135 -> 106 -> 42 ICBs)."""
    if params.policy_timeline != "england-2013" or not params.ccg_mergers:
        return []
    steps = [((2017, 4), 207), ((2019, 4), 191), ((2020, 4), 135), ((2021, 4), 106), ((2022, 7), 42)]
    out = [CCGMerger(month_of(params, y, mo), n / 211) for (y, mo), n in steps]
    return [c for c in out if 1 <= c.month <= params.n_months]


def network_des_month(params: Params) -> int | None:
    """The run month the Network DES starts (facts #11, #17), or None if this run has none.

    ``network_des_start_month`` sets it for any run; otherwise the england-2013 timeline starts it in July 2019.
    A month before the run's first means the DES was already in place when the run began (networks form in the
    first month, with the money as far up its ramp as that date implies).
    """
    if params.network_des_start_month != 0:
        start = params.network_des_start_month
    elif params.policy_timeline == "england-2013":
        start = month_of(params, 2019, 7)
    else:
        return None
    return start if start <= params.n_months else None
