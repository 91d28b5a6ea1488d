"""Funding programmes and CCG mergers: the policy timeline a run schedules as Mesa events.

A programme pays organisations a sum per patient per year while it runs. The generic one-off pump-priming
and recurrent payments come from parameters; ``policy_timeline='england-2013'`` adds the national
programmes of 2014-2021 at their calendar dates (facts #8-#11) and the CCG mergers (facts #6).
"""

from __future__ import annotations

from dataclasses import dataclass

from gpsim.params import Params

FOREVER = 10**9


@dataclass(frozen=True)
class FundingProgramme:
    """A stream of money to organisations.

    Attributes:
        name: label shown in outputs.
        start_month: first month paid (1 = first simulated month).
        months: how many months it pays (``FOREVER`` for recurrent money).
        per_patient: GBP per patient covered per year.
        min_population: smallest organisation that qualifies.
        recurrent: True for money that does not end (counts towards self-funding).
        selection_share: share of qualifying organisations picked (competitive bids, e.g. Vanguards).
        requires_delivery: only organisations already delivering qualify.
        service_cost_share: share of the money spent delivering the service it buys (0 for development money;
            for commissioned services such as extended access, 1 - ``contract_margin``).
    """

    name: str
    start_month: int
    months: int
    per_patient: float
    min_population: float
    recurrent: bool = False
    selection_share: float = 1.0
    requires_delivery: bool = False
    service_cost_share: float = 0.0

    @property
    def end_month(self) -> int:
        """Last month paid."""
        return self.start_month + self.months - 1


@dataclass(frozen=True)
class CCGMerger:
    """At ``month``, neighbouring CCGs merge until only ``share`` of the starting number remain."""

    month: int
    share: float


def month_of(params: Params, year: int, month: int) -> int:
    """The run month (1-based) of a calendar month."""
    return (year - params.start_year) * 12 + (month - params.start_month) + 1


def programmes(params: Params) -> list[FundingProgramme]:
    """Every funding programme of a run, clipped to the months it simulates."""
    found: list[FundingProgramme] = []
    if params.pump_priming_per_patient > 0 and params.pump_priming_months > 0:
        found.append(
            FundingProgramme(
                "pump-priming",
                params.pump_priming_start_month,
                params.pump_priming_months,
                params.pump_priming_per_patient,
                params.pump_priming_min_population,
            )
        )
    if params.recurrent_funding_per_patient > 0:
        found.append(
            FundingProgramme(
                "recurrent network payment",
                params.recurrent_funding_start_month,
                FOREVER,
                params.recurrent_funding_per_patient,
                0.0,
                recurrent=True,
            )
        )
    if params.policy_timeline == "england-2013":
        m = lambda y, mo: month_of(params, y, mo)  # noqa: E731
        found += [
            # facts #8: wave 1, GBP 50m for about 7m patients for one year, pilots of at least 40k
            FundingProgramme("Challenge Fund wave 1", m(2014, 4), 12, 7.0, 40_000),
            # facts #8: wave 2, GBP 100m, 37 pilots, >1,400 practices (about 10m patients)
            FundingProgramme("Challenge Fund wave 2", m(2015, 4), 12, 10.0, 30_000),
            # facts #10: 50 of 269 bids, GBP 329m over three years for about 5m people; delivering bidders only
            FundingProgramme("Vanguards", m(2015, 4), 36, 20.0, 50_000, selection_share=0.2, requires_delivery=True),
            # facts #9: GP Forward View, about GBP 3 per head 2017-19 for practices working at scale
            FundingProgramme("GP Forward View", m(2017, 4), 24, 3.0, 30_000),
        ]
        # facts #15: extended access commissioned from at-scale providers that deliver: GBP 138m in 2017/18 and
        # 258m in 2018/19 (about 40% and 75% of the 6 per head reached from April 2019), recurrent
        ea, cost = params.extended_access_per_patient, 1.0 - params.contract_margin
        if ea > 0:
            found += [
                FundingProgramme("Extended access 2017/18", m(2017, 4), 12, 0.4 * ea, 30_000, True, 1.0, True, cost),
                FundingProgramme("Extended access 2018/19", m(2018, 4), 12, 0.75 * ea, 30_000, True, 1.0, True, cost),
                FundingProgramme("Extended access", m(2019, 4), FOREVER, ea, 30_000, True, 1.0, True, cost),
            ]
    end = params.n_months
    return [p for p in found if p.start_month <= end and p.end_month >= 1]


def ccg_mergers(params: Params) -> list[CCGMerger]:
    """CCG mergers of the england-2013 timeline (facts #6: 211 -> 207 -> 191 -> 135 -> 106)."""
    if params.policy_timeline != "england-2013":
        return []
    steps = [((2017, 4), 207), ((2019, 4), 191), ((2020, 4), 135), ((2021, 4), 106)]
    out = [CCGMerger(month_of(params, y, mo), n / 211) for (y, mo), n in steps]
    return [c for c in out if 1 <= c.month <= params.n_months]
