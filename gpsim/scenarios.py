"""Named scenarios: presets over the parameter defaults (``gpsim scenarios`` lists them).

Each is a sentence saying what it asks, and a small set of overrides. All synthetic scenarios share the one
synthetic generator (:func:`gpsim.region.synthetic`); ``england-2013`` only makes it bigger and adds the
national policy timeline (:mod:`gpsim.policy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpsim.errors import ParameterError
from gpsim.params import Params

#: The scenario every face starts from when none is named: ``gpsim.run()``, ``gpsim run``, ``gpsim ui``,
#: experiment files and ``gpsim.ema.model`` (README: Quick start).
DEFAULT_SCENARIO = "baseline"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> Params:
        return Params.from_mapping(self.overrides, where=f"scenario '{self.name}': ")


_BASE_MONEY = dict(pump_priming_per_patient=5.0, pump_priming_months=36)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "baseline",
            "A synthetic region of about 180 practices, 5 CCGs and 4 hospitals over 10 years, with modest CCG "
            "pump-priming (5 GBP per patient a year for three years) and no recurrent money.",
            dict(_BASE_MONEY),
        ),
        Scenario(
            "funding-cliff",
            "Generous one-off money (10 GBP per patient a year) that stops at month 24, and nothing recurrent: do "
            "the organisations it created outlive it?",
            dict(pump_priming_per_patient=10.0, pump_priming_months=24),
        ),
        Scenario(
            "recurrent-funding",
            "The funding cliff, but a PCN-DES-like recurrent payment (6 GBP per patient a year) starts as the one-off "
            "money ends.",
            dict(
                pump_priming_per_patient=10.0,
                pump_priming_months=24,
                recurrent_funding_per_patient=6.0,
                recurrent_funding_start_month=25,
            ),
        ),
        Scenario(
            "distributed-leadership",
            "The baseline, but nine in ten new organisations choose a distributed leadership team instead of one "
            "heroic leader.",
            dict(_BASE_MONEY, distributed_leadership_share=0.9),
        ),
        Scenario(
            "low-trust-history",
            "The baseline in an area with a difficult history among GPs: initial peer trust Beta(1,3) instead of "
            "Beta(2,2).",
            dict(_BASE_MONEY, difficult_history=1.0),
        ),
        Scenario(
            "neighbourhood-scale",
            "CCGs aim for neighbourhood organisations of about 40,000 patients (PCN-sized).",
            dict(_BASE_MONEY, target_org_size=40_000.0),
        ),
        Scenario(
            "large-scale",
            "CCGs aim for large federations of about 250,000 patients: fewer counterparts for the hospital, if "
            "their leaders can still commit the members.",
            dict(_BASE_MONEY, target_org_size=250_000.0, size_aversion=0.05),
        ),
        Scenario(
            "england-2013",
            "A synthetic England as of January 2013 (about 8,100 practices of mean list 7,000, 211 CCGs, about 190 "
            "hospitals of 300k) run to December 2021 with the national timeline: Challenge Fund waves, Vanguards, "
            "GP Forward View, extended access, MCP/PACS contracts, the Network DES (primary care networks) from July "
            "2019 and CCG mergers; CCGs pay new organisations development grants (7 GBP per patient a year for two "
            "years) from their budgets.",
            dict(
                n_practices=8_100,
                n_ccgs=211,
                mean_list_size=7_000.0,
                start_year=2013,
                start_month=1,
                years=9.0,
                policy_timeline="england-2013",
                ccg_grant_per_patient=7.0,
            ),
        ),
        Scenario(
            "england-2021",
            "All England from the real January 2021 register (6,621 practices of 100+ patients, 135 CCGs, 202 "
            "hospital catchments), with primary care networks in place (the Network DES since July 2019) but no "
            "federations yet: what would emerge from today's list sizes? Choose a smaller area with --region.",
            dict(
                region="england",
                start_year=2021,
                start_month=1,
                network_des_start_month=-17,  # July 2019
            ),
        ),
    ]
}


def scenario(name: str) -> Params:
    """The parameters of a named scenario."""
    try:
        return SCENARIOS[name].params
    except KeyError:
        raise ParameterError(f"unknown scenario '{name}'; choose one of {', '.join(SCENARIOS)}") from None
