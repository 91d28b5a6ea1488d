"""The one parameter declaration.

Every parameter is declared exactly once, below, as a field of :class:`Params` with its default, unit,
allowed range, one-line meaning, source and UI group. CLI flags (``gpsim params``, ``--set``), UI sliders,
experiment-file validation and ``docs/PARAMETERS.md`` are all generated from these declarations.

Sources cite rows of the project's domain-facts table (``docs/ODD.md`` section 7 reproduces it) as
``facts #N``; ``facts: suggested`` refers to its "suggested starting values"; everything else says
``assumption`` and is a candidate for calibration (see ``docs/CALIBRATION.md``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gpsim.errors import ParameterError, shown

GROUPS = (
    "Region & time",
    "Practices & workload",
    "Trust",
    "Money",
    "Leadership",
    "Commissioners & hospitals",
)

GROUP_HELP = {
    "Region & time": "Which area is simulated, and for how long.",
    "Practices & workload": "How busy practices are, how their GPs come and go, and what makes a practice close.",
    "Trust": "How much practices trust each other and their organisation's leaders, and how fast that changes.",
    "Money": "Where an organisation's money comes from (one-off grants, subscriptions, contracts, recurrent "
    "payments) and what it costs to run.",
    "Leadership": "Who leads organisations, how fast leaders burn out, and how long it takes to deliver.",
    "Commissioners & hospitals": "How supportive CCGs are, the organisation size they aim for, and how hospitals "
    "contract with general practice.",
}


@dataclass(frozen=True)
class ParamSpec:
    """What is known about one parameter: everything a face needs to show, parse or check it."""

    name: str
    default: Any
    kind: type
    unit: str
    low: float | None
    high: float | None
    meaning: str
    source: str
    group: str
    choices: tuple[str, ...] | None = None
    step: float | None = None

    @property
    def range_text(self) -> str:
        """The allowed values as people read them: ``[0, 1]`` or ``one of a, b``."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.low is None and self.high is None:
            return "any text" if self.kind is str else "any"
        return f"[{_fmt(self.low)}, {_fmt(self.high)}]"

    def parse(self, text: str) -> Any:
        """Turn command-line or file text into a value of this parameter's type (not yet range-checked)."""
        text = text.strip()
        try:
            if self.kind is bool:
                low = text.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if self.kind is int:
                value = float(text)
                if not value.is_integer():
                    raise ValueError
                return int(value)
            if self.kind is float:
                return float(text)
            return text
        except ValueError:
            raise ParameterError(
                f"parameter '{self.name}': {text!r} is not a valid {self.kind.__name__}; allowed {self.range_text}"
            ) from None

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise a one-line :class:`ParameterError`."""
        where = f"parameter '{self.name}'"
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ParameterError(f"{where} = {shown(value)} must be true or false")
            return value
        if self.kind is str:
            if not isinstance(value, str) or not value.strip():
                raise ParameterError(f"{where} = {shown(value)} must be non-empty text; allowed {self.range_text}")
            if self.choices is not None and value not in self.choices:
                raise ParameterError(f"{where} = {shown(value)} is not allowed; allowed {self.range_text}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                import numpy as np

                if isinstance(value, np.generic) and not isinstance(value, np.bool_):
                    value = value.item()
                else:
                    raise TypeError
            except TypeError:
                raise ParameterError(
                    f"{where} = {shown(value)} must be a number ({self.kind.__name__}); allowed {self.range_text}"
                ) from None
        if self.kind is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ParameterError(f"{where} = {value!r} must be a whole number; allowed {self.range_text}")
                value = int(value)
        else:
            try:
                value = float(value)
            except OverflowError:  # an int too large for a float is beyond every declared range
                raise ParameterError(
                    f"{where} = {shown(value)} is out of range; allowed {self.range_text} {self.unit}".rstrip()
                ) from None
            if not math.isfinite(value):
                raise ParameterError(f"{where} = {value!r} must be finite; allowed {self.range_text}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ParameterError(
                f"{where} = {_fmt(value)} is out of range; allowed {self.range_text} {self.unit}".rstrip()
            )
        return value


def _fmt(x: float | None) -> str:
    if x is None:
        return "-inf"
    if isinstance(x, int):
        return shown(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}"


def param(
    default: Any,
    unit: str,
    low: float | None,
    high: float | None,
    meaning: str,
    source: str,
    group: str,
    *,
    choices: tuple[str, ...] | None = None,
    step: float | None = None,
) -> Any:
    """Declare one parameter (used only inside :class:`Params`)."""
    if group not in GROUPS:
        raise ValueError(f"unknown parameter group {group!r}")
    spec = dict(
        default=default, unit=unit, low=low, high=high, meaning=meaning, source=source, group=group, choices=choices
    )
    spec["step"] = step
    return field(default=default, metadata={"spec": spec})


RT, PW, TR, MO, LE, CH = GROUPS


@dataclass(frozen=True)
class Params:
    """All model parameters: one typed, validated, immutable object.

    Build with ``Params()`` for the defaults, ``Params(name=value, ...)``, ``params.replace(...)`` or
    :meth:`Params.from_mapping`. Any out-of-range value raises :class:`~gpsim.errors.ParameterError`.
    """

    # --- Region & time -------------------------------------------------------------------------
    region: str = param(
        "synthetic",
        "",
        None,
        None,
        "Area to simulate: 'synthetic' (generated from the parameters below), 'england', a named region "
        "(see 'gpsim regions'), or CCG codes separated by commas (e.g. '00L,00N'); add '@PATH' to read your own "
        "register file (e.g. '00L@my-register.csv')",
        "assumption",
        RT,
    )
    n_practices: int = param(
        180, "practices", 10, 120_000, "Number of practices in a synthetic region", "assumption", RT, step=10
    )
    n_ccgs: int = param(
        5,
        "CCGs",
        1,
        1_000,
        "Number of CCGs in a synthetic region",
        "facts #6 (211 CCGs for 8,106 practices in 2013)",
        RT,
    )
    mean_list_size: float = param(
        7_300.0,
        "patients",
        1_000.0,
        20_000.0,
        "Mean registered list size of practices in a synthetic region",
        "facts #2 (7,294 in 2015)",
        RT,
        step=100,
    )
    list_size_sigma: float = param(
        0.58,
        "log-sd",
        0.05,
        1.5,
        "Spread (log standard deviation) of list sizes in a synthetic region",
        "facts: suggested (36% under 5,000, facts #3)",
        RT,
        step=0.01,
    )
    hospital_catchment: float = param(
        300_000.0,
        "patients",
        50_000.0,
        2_000_000.0,
        "Typical population an acute hospital serves",
        "facts #7; seed article 'numbers game'",
        RT,
        step=10_000,
    )
    peer_degree: int = param(
        6,
        "peers per practice",
        2,
        20,
        "Nearest neighbouring practices each practice has a working relationship with (relationship graph)",
        "assumption",
        RT,
    )
    peer_graph: str = param(
        "nearest",
        "",
        None,
        None,
        "Relationship graph between practices: 'nearest' (each practice's 'peer_degree' nearest neighbours in its "
        "CCG) or a GraphML file whose nodes are practice codes, with an optional 'trust' (0-1) on each edge, e.g. a "
        "patient-sharing network; co-founding, joining, mergers and re-registration follow its edges",
        "assumption",
        RT,
    )
    region_seed: int = param(
        0,
        "",
        0,
        2**31 - 1,
        "Which draw of the synthetic region (and of hospital catchments) to use; the region "
        "is fixed by the parameters, the run's seed varies only what happens in it",
        "assumption",
        RT,
    )
    start_year: int = param(2016, "year", 2000, 2040, "Calendar year of the first simulated month", "assumption", RT)
    start_month: int = param(1, "month", 1, 12, "Calendar month of the first simulated month", "assumption", RT)
    years: float = param(10.0, "years", 0.25, 40.0, "Length of the run", "assumption", RT, step=0.25)
    policy_timeline: str = param(
        "none",
        "",
        None,
        None,
        "Scheduled national policy events layered on top of the funding parameters",
        "facts #8-#11 (england-2013 timeline)",
        RT,
        choices=("none", "england-2013"),
    )
    ccg_mergers: bool = param(
        True,
        "on/off",
        None,
        None,
        "Whether the timeline's CCG mergers (and the ICBs of July 2022) happen; off, the 2013 CCGs stay to the end "
        "(for comparing runs with and without them)",
        "facts #6 (211 -> 207 -> 191 -> 135 -> 106 -> 42)",
        RT,
    )

    # --- Practices & workload ------------------------------------------------------------------
    consultation_rate: float = param(
        5.5,
        "GP appointments per patient per year",
        1.0,
        15.0,
        "Demand for GP time at the start, per registered patient",
        "assumption",
        PW,
        step=0.1,
    )
    demand_growth: float = param(
        0.015,
        "per year",
        0.0,
        0.08,
        "Yearly growth in appointments wanted per patient",
        "facts: suggested (1-2% a year)",
        PW,
        step=0.005,
    )
    list_growth: float = param(
        0.01,
        "per year",
        0.0,
        0.05,
        "Yearly growth in registered patients (births, migration)",
        "facts: suggested (about 1% a year)",
        PW,
        step=0.005,
    )
    gp_fte_per_1000: float = param(
        0.52,
        "GP FTE per 1,000 patients",
        0.2,
        1.2,
        "GP staffing at the start",
        "facts #12; facts: suggested",
        PW,
        step=0.01,
    )
    fte_per_gp: float = param(
        0.8,
        "FTE per GP",
        0.3,
        1.0,
        "Average working time of one GP (GPs join and leave one person at a time)",
        "assumption",
        PW,
        step=0.05,
    )
    gp_retirement_rate: float = param(
        0.04,
        "per GP per year",
        0.0,
        0.3,
        "GPs retiring or leaving for reasons other than workload",
        "assumption (with 'gp_trainees_per_100k' it sets the GP workforce trend of facts #12; "
        "calibrated: docs/CALIBRATION.md)",
        PW,
        step=0.005,
    )
    gp_leaving_elasticity: float = param(
        0.8,
        "elasticity",
        0.0,
        2.0,
        "How strongly GPs' leaving rises with workload pressure: above pressure 1 the leaving rate is "
        "'gp_retirement_rate' x pressure to this power (at 1, 20% over capacity means 20% more leavers; above 1, "
        "each GP who leaves makes more leave than stay on, a vicious circle)",
        "assumption",
        PW,
        step=0.05,
    )
    gp_trainees_per_100k: float = param(
        4.33,
        "GPs per 100,000 patients per year",
        0.0,
        20.0,
        "Newly qualified GPs joining the region's pool each year, per 100,000 registered patients",
        "assumption (about 2,700-3,500 GPs a year completed GP training in England in 2013-2021, 5-6 per 100,000 "
        "patients; each counts as one GP of 'fte_per_gp') (calibrated: docs/CALIBRATION.md)",
        PW,
        step=0.1,
    )
    gp_pool_start_share: float = param(
        0.03,
        "share of practice GPs",
        0.0,
        0.5,
        "GPs in the pool at the start (locums without a practice post), as a share of the GPs in practices",
        "assumption",
        PW,
        step=0.01,
    )
    gp_pool_take_up: float = param(
        0.3,
        "per month",
        0.01,
        1.0,
        "Share of the GPs in the pool who would take a practice post this month if one were offered (the rest "
        "keep working as locums)",
        "assumption",
        PW,
        step=0.01,
    )
    gp_pool_leaving_rate: float = param(
        0.1,
        "per GP per year",
        0.0,
        0.5,
        "GPs in the pool (locums) retiring or leaving general practice in England each year",
        "assumption",
        PW,
        step=0.01,
    )
    capacity_per_gp_fte: float = param(
        10_577.0,
        "appointments per FTE per year",
        3_000.0,
        20_000.0,
        "Appointments one full-time GP (with their share of practice staff) provides a year; the default makes "
        "workload pressure 1.0 at the starting staffing",
        "assumption (5.5 / 0.52 per 1,000)",
        PW,
        step=50,
    )
    pressure_close_threshold: float = param(
        1.6,
        "demand / capacity",
        1.0,
        5.0,
        "Workload pressure above which a practice is unsustainable",
        "assumption",
        PW,
        step=0.05,
    )
    months_to_close: int = param(
        12,
        "months",
        1,
        36,
        "Months a practice must stay unsustainable (pressure, no GPs or debt) before it closes or merges",
        "assumption (calibrated: docs/CALIBRATION.md)",
        PW,
    )
    income_per_patient: float = param(
        150.0,
        "GBP per patient per year",
        50.0,
        400.0,
        "Practice income per (weighted) registered patient",
        "assumption",
        PW,
        step=1,
    )
    cost_per_gp_fte: float = param(
        110_000.0, "GBP per FTE per year", 50_000.0, 250_000.0, "Cost of one full-time GP", "assumption", PW, step=1_000
    )
    staff_cost_per_patient: float = param(
        58.0,
        "GBP per patient per year",
        0.0,
        200.0,
        "Other staff and running costs that scale with the list",
        "assumption",
        PW,
        step=1,
    )
    fixed_cost_per_practice: float = param(
        90_000.0,
        "GBP per practice per year",
        0.0,
        400_000.0,
        "Premises, practice manager and systems a practice pays for whatever its size (why small practices are "
        "fragile)",
        "assumption",
        PW,
        step=5_000,
    )
    initial_reserve_months: float = param(
        2.0, "months of costs", 0.0, 24.0, "Cash reserves a practice starts with", "assumption", PW, step=0.5
    )
    merge_share: float = param(
        0.67,
        "share",
        0.0,
        1.0,
        "Share of failing practices that merge into a trusted neighbour rather than close outright "
        "(the rest close and their patients re-register nearby)",
        "facts #5 (264 mergers vs 140 closures); facts: suggested",
        PW,
        step=0.01,
    )

    partner_share: float = param(
        0.75,
        "share of GP time",
        0.0,
        1.0,
        "Share of a practice's GPs who are partners (sharing the profit) rather than salaried GPs at the start; "
        "a practice always has at least one partner",
        "facts #12 (partner FTE 21.7k of about 29k GP FTE, 2015)",
        PW,
        step=0.05,
    )
    salaried_gp_income: float = param(
        80_000.0,
        "GBP per FTE per year",
        20_000.0,
        250_000.0,
        "What a partner could earn instead as a salaried or locum GP: partners whose income stays below it for "
        "'months_to_close' months give up the contract",
        "assumption",
        PW,
        step=1_000,
    )
    partner_premium: float = param(
        0.4,
        "share of salaried income",
        0.05,
        2.0,
        "How much more than 'salaried_gp_income' partners want to earn for the risk and work of a partnership: "
        "below it partners start to give up the partnership, above twice it salaried GPs take one up",
        "assumption",
        PW,
        step=0.05,
    )
    partner_step_down_rate: float = param(
        0.05,
        "per partner per year",
        0.0,
        0.5,
        "Chance a year a partner gives up the partnership when it pays no more than a salaried post (less as "
        "partner income rises, none at 'partner_premium' above salaried income)",
        "assumption (facts #12: partner FTE 21.7k to 16.9k, 2015-2021)",
        PW,
        step=0.01,
    )
    step_down_locum_share: float = param(
        0.3,
        "share",
        0.0,
        1.0,
        "Share of partners giving up the partnership who leave for locum work (the pool) rather than a salaried "
        "post in the same practice",
        "assumption",
        PW,
        step=0.05,
    )
    partner_take_up_rate: float = param(
        0.1,
        "per salaried GP per year",
        0.0,
        0.5,
        "Chance a year a salaried GP becomes a partner where partnership pays well (rising from none at "
        "'partner_premium' above salaried income to this at twice it)",
        "assumption",
        PW,
        step=0.01,
    )
    partner_income_memory_months: float = param(
        12.0,
        "months",
        1.0,
        60.0,
        "Months over which partners judge their income (exponential average): a bad month is absorbed, a bad "
        "year is not",
        "assumption",
        PW,
        step=1,
    )
    merge_trust: float = param(
        0.4,
        "trust 0-1",
        0.0,
        1.0,
        "Peer trust a neighbour needs to take over a failing practice (merger); without one, the practice closes",
        "assumption",
        PW,
        step=0.05,
    )
    recruitment_pressure_pull: float = param(
        1.9,
        "elasticity",
        -4.0,
        4.0,
        "How workload pressure changes a practice's chance of winning a GP it competes for: above 0 the practices "
        "that need one most try hardest and win more often; below 0 GPs avoid hard-pressed practices",
        "assumption (calibrated: docs/CALIBRATION.md)",
        PW,
        step=0.1,
    )
    recruitment_pay_floor: float = param(
        0.5,
        "times",
        0.0,
        1.0,
        "Least weight what a practice can pay has in winning a GP (partner income over 'salaried_gp_income' is "
        "counted no lower than this): 0 lets a practice that pays nothing win no one",
        "assumption",
        PW,
        step=0.05,
    )
    recruitment_pay_cap: float = param(
        2.0,
        "times",
        1.0,
        10.0,
        "Most weight what a practice can pay has in winning a GP (partner income over 'salaried_gp_income' is "
        "counted no higher than this): higher lets rich practices outbid the rest",
        "assumption",
        PW,
        step=0.1,
    )
    recruitment_boost_in_org: float = param(
        1.2,
        "times",
        1.0,
        3.0,
        "How much more attractive to a GP looking for a post a practice in a delivering organisation is (shared "
        "staff, support)",
        "assumption",
        PW,
        step=0.05,
    )
    max_service_relief: float = param(
        0.3,
        "share of GP capacity",
        0.0,
        1.0,
        "Most workload relief the services an organisation funds can bring its members",
        "assumption",
        PW,
        step=0.05,
    )

    # --- Trust ---------------------------------------------------------------------------------
    difficult_history: float = param(
        0.0,
        "0-1",
        0.0,
        1.0,
        "How difficult the local history among GPs is: initial peer trust is "
        "Beta(2-h, 2+h), so 0 gives Beta(2,2) and 1 gives Beta(1,3)",
        "facts: suggested",
        TR,
        step=0.05,
    )
    trust_gain_rate: float = param(
        0.04,
        "per month",
        0.0,
        0.5,
        "How fast trust moves up towards what members experience",
        "assumption",
        TR,
        step=0.01,
    )
    trust_loss_rate: float = param(
        0.12,
        "per month",
        0.0,
        0.8,
        "How fast trust moves down (faster than it rises: failure is remembered)",
        "assumption",
        TR,
        step=0.01,
    )
    size_trust_penalty: float = param(
        0.2,
        "trust per doubling",
        0.0,
        0.5,
        "How much members' trust in their leaders falls for each doubling of the organisation above the "
        "reference size (leaders grow distant)",
        "assumption; seed article (calibrated: docs/CALIBRATION.md)",
        TR,
        step=0.01,
    )
    trust_reference_size: float = param(
        30_000.0,
        "patients",
        5_000.0,
        500_000.0,
        "Organisation size at which distance from members starts to erode trust",
        "assumption (facts #11: 30-50k)",
        TR,
        step=5_000,
    )
    commit_threshold: float = param(
        0.5,
        "track record 0-1",
        0.0,
        1.0,
        "Track record (recent share of hospitals' asks its members delivered) from which an organisation counts as "
        "able to commit its members; a new organisation has no record",
        "assumption; seed article",
        TR,
        step=0.01,
    )
    failure_trust_damage: float = param(
        0.25,
        "trust",
        0.0,
        1.0,
        "Trust lost between members when their organisation dissolves or they leave",
        "assumption",
        TR,
        step=0.01,
    )
    choice_noise: float = param(
        0.15,
        "utility units",
        0.01,
        2.0,
        "Randomness in practices' join/found decisions (logit temperature)",
        "assumption",
        TR,
        step=0.01,
    )
    trust_benefit_weight: float = param(
        0.35,
        "trust",
        0.0,
        1.0,
        "How much members' trust in their leaders responds to the money and workload relief membership brings",
        "assumption; seed article (self-fund only with clear evidence of benefit)",
        TR,
        step=0.01,
    )
    loss_aversion: float = param(
        1.0,
        "times",
        0.0,
        5.0,
        "How much more a lost benefit weighs than its size: members judge this month against the benefit they "
        "have grown used to (their last year's average)",
        "assumption",
        TR,
        step=0.1,
    )
    leave_trust_threshold: float = param(
        0.3,
        "trust 0-1",
        0.0,
        1.0,
        "Trust in the leaders below which members start to leave",
        "assumption",
        TR,
        step=0.01,
    )
    cohesion_collapse: float = param(
        0.25,
        "cohesion 0-1",
        0.0,
        1.0,
        "Cohesion below which, held for 6 months, an organisation falls apart",
        "assumption",
        TR,
        step=0.01,
    )
    independence_value: float = param(
        0.49,
        "utility units",
        0.0,
        2.0,
        "Value a practice puts on staying independent (the 'no thanks' option when asked to join or found)",
        "assumption (calibrated: docs/CALIBRATION.md)",
        TR,
        step=0.01,
    )
    size_aversion: float = param(
        0.6,
        "utility per doubling",
        0.0,
        2.0,
        "How much practices dislike joining an organisation already bigger than the CCG's target size",
        "assumption",
        TR,
        step=0.05,
    )

    benefit_scale: float = param(
        3.0,
        "GBP per patient per year",
        0.5,
        30.0,
        "Net benefit of membership that moves trust and joining choices most of the way (tanh scale): money "
        "well below it counts roughly in proportion, money well above it adds little more",
        "assumption",
        TR,
        step=0.5,
    )
    benefit_memory_months: float = param(
        12.0,
        "months",
        1.0,
        60.0,
        "Months over which members get used to a level of benefit, and judge the evidence of benefit they pay for "
        "(exponential average)",
        "assumption",
        TR,
        step=1,
    )
    cofounder_trust: float = param(
        0.6,
        "trust 0-1",
        0.0,
        1.0,
        "Peer trust a neighbour needs to be asked to co-found an organisation",
        "assumption",
        TR,
        step=0.05,
    )
    unproven_discount: float = param(
        0.5,
        "share",
        0.0,
        1.0,
        "Share of a not-yet-delivering organisation's promised benefit that practices count on when choosing",
        "assumption",
        TR,
        step=0.05,
    )
    support_weight: float = param(
        0.2,
        "utility per unit of support",
        0.0,
        2.0,
        "How much a supportive CCG adds to practices' wish to join or found",
        "assumption",
        TR,
        step=0.05,
    )
    pressure_weight: float = param(
        0.2,
        "utility per unit of pressure",
        0.0,
        2.0,
        "How much a practice's own workload pressure above 1 adds to its wish to join or found (help with the load)",
        "assumption",
        TR,
        step=0.05,
    )
    cross_ccg_cost: float = param(
        0.1,
        "utility units",
        0.0,
        2.0,
        "How much a practice dislikes joining an organisation based in another CCG",
        "assumption",
        TR,
        step=0.05,
    )
    peer_trust_gain_share: float = param(
        0.25,
        "share of trust_gain_rate",
        0.0,
        1.0,
        "How fast fellow members of a delivering organisation grow closer, as a share of the trust gain rate",
        "assumption",
        TR,
        step=0.05,
    )
    leave_trust_damage_share: float = param(
        0.5,
        "share of failure_trust_damage",
        0.0,
        1.0,
        "Trust lost with the fellow members a practice leaves behind, as a share of the damage of a dissolution",
        "assumption",
        TR,
        step=0.05,
    )
    leave_sharpness: float = param(
        3.0,
        "times",
        0.5,
        20.0,
        "How sharply members' chance of leaving rises as their trust falls below the threshold (times the choice "
        "noise's sharpness)",
        "assumption",
        TR,
        step=0.5,
    )
    collapse_months: int = param(
        6,
        "months",
        1,
        36,
        "Months of cohesion below 'cohesion_collapse', or of fewer than two members, before an organisation ends",
        "assumption",
        TR,
    )
    form_federation_cutoff: float = param(
        0.6,
        "score",
        0.0,
        1.5,
        "Founders' form score (their mutual trust plus the size weight) from which they choose a federation over "
        "a loose network",
        "assumption",
        TR,
        step=0.01,
    )
    form_super_partnership_cutoff: float = param(
        0.75,
        "score",
        0.0,
        1.5,
        "Founders' form score from which they choose a super-partnership (merged partnerships) over a federation",
        "assumption",
        TR,
        step=0.01,
    )
    form_size_weight: float = param(
        0.1,
        "score per doubling",
        0.0,
        1.0,
        "How much each doubling of the CCG's target size above 50,000 pushes founders towards a tighter form",
        "assumption",
        TR,
        step=0.01,
    )
    form_choice_noise: float = param(
        0.1,
        "score (sd)",
        0.0,
        1.0,
        "Randomness in founders' choice of form (standard deviation of the score)",
        "assumption",
        TR,
        step=0.01,
    )
    ask_follow_pressure_weight: float = param(
        0.5,
        "probability per unit of pressure",
        0.0,
        5.0,
        "How much a member's workload pressure above 1 lowers its chance of following through on an ask its "
        "organisation took on (the chance starts at its trust in the leaders)",
        "assumption; seed article (leaders must be able to commit their members)",
        TR,
        step=0.05,
    )
    ask_delivery_share: float = param(
        0.65,
        "share of population",
        0.0,
        1.0,
        "Share of an organisation's patients whose practices must follow through for an ask to count as delivered",
        "assumption",
        TR,
        step=0.05,
    )
    commit_memory_asks: float = param(
        4.0,
        "asks",
        1.0,
        50.0,
        "How many recent asks an organisation's track record mostly reflects (exponential memory over asks)",
        "assumption",
        TR,
        step=0.5,
    )
    # --- Money ---------------------------------------------------------------------------------
    pump_priming_per_patient: float = param(
        0.0,
        "GBP per patient per year",
        0.0,
        40.0,
        "One-off external pump-priming paid to qualifying organisations while it lasts",
        "facts: suggested (7-10 GBP a year); facts #8-#10",
        MO,
        step=0.5,
    )
    pump_priming_start_month: int = param(
        1, "month of run", 1, 480, "First month pump-priming is paid", "assumption", MO
    )
    pump_priming_months: int = param(
        24, "months", 0, 120, "How long pump-priming lasts", "facts: suggested (1-3 years)", MO
    )
    pump_priming_min_population: float = param(
        20_000.0,
        "patients",
        0.0,
        500_000.0,
        "Smallest organisation that qualifies for pump-priming",
        "facts #8 (Challenge Fund pilots at least 40k)",
        MO,
        step=5_000,
    )
    joining_fee_per_patient: float = param(
        0.65,
        "GBP per patient, once",
        0.0,
        20.0,
        "One-off contribution a practice pays its organisation on joining",
        "facts #13 (at least 65p per patient to join)",
        MO,
        step=0.05,
    )
    subscription_per_patient: float = param(
        1.0,
        "GBP per patient per year",
        0.0,
        20.0,
        "Members' usual yearly subscription to their organisation (raised towards break-even when reserves run low)",
        "assumption; facts (self-funding through subscriptions)",
        MO,
        step=0.05,
    )
    recurrent_funding_per_patient: float = param(
        0.0,
        "GBP per patient per year",
        0.0,
        40.0,
        "Recurrent payment per patient to organisations of the network form or tighter (PCN-DES-like)",
        "facts #11; facts: suggested (6 GBP/head, 10-30 GBP conditional)",
        MO,
        step=0.5,
    )
    recurrent_funding_start_month: int = param(
        24, "month of run", 1, 480, "First month the recurrent payment is made", "assumption", MO
    )
    # --- the Network DES and primary care networks (rules/networks.py) ---
    network_des_start_month: int = param(
        0,
        "month of run",
        -480,
        480,
        "Month the Network DES starts and practices sign up to primary care networks (1 = the run's first month; "
        "below 1 = it began before the run, e.g. -17 is 18 months earlier: networks are there from the first "
        "month and the money as far up its ramp as that date implies); 0 = only where the policy timeline has it "
        "(england-2013: July 2019)",
        "facts #11, #17 (July 2019)",
        MO,
    )
    network_des_per_patient: float = param(
        6.0,
        "GBP per patient per year",
        0.0,
        60.0,
        "Network DES money paid to each primary care network when the DES starts",
        "facts: suggested (recurrent 6 GBP/head from 2019); facts #11",
        MO,
        step=0.5,
    )
    network_des_per_patient_full: float = param(
        29.4,
        "GBP per patient per year",
        0.0,
        60.0,
        "Network DES money per patient once additional-roles funding has grown to its full size",
        "facts #11 (about 1.47m GBP a year for a 50k network by 2023/24)",
        MO,
        step=0.5,
    )
    network_des_ramp_months: int = param(
        45,
        "months",
        0,
        240,
        "Months over which DES money rises linearly from its starting to its full rate (July 2019 to April 2023)",
        "facts #11 (full size by 2023/24)",
        MO,
    )
    pcn_min_population: float = param(
        30_000.0,
        "patients",
        1_000.0,
        500_000.0,
        "Smallest primary care network the DES allows (a smaller block joins a neighbouring one where it can)",
        "facts #17 (networks of 30-50k patients)",
        MO,
        step=1_000,
    )
    pcn_max_population: float = param(
        50_000.0,
        "patients",
        1_000.0,
        1_000_000.0,
        "Largest primary care network practices form by neighbours signing up together",
        "facts #17 (networks of 30-50k patients)",
        MO,
        step=1_000,
    )
    pcn_opt_out_share: float = param(
        0.01,
        "share of practices",
        0.0,
        1.0,
        "Chance an open practice declines to sign up to the Network DES",
        "facts #17 (about 99% of practices in a network)",
        MO,
        step=0.01,
    )
    pcn_director_cost_per_patient: float = param(
        0.5,
        "GBP per patient per year",
        0.0,
        10.0,
        "What a network pays its clinical director out of its DES money",
        "assumption (the 2019/20 DES paid about 0.5 GBP per patient for the clinical director); facts #17",
        MO,
        step=0.1,
    )
    pcn_director_sessions: float = param(
        2.5,
        "sessions per week",
        0.0,
        20.0,
        "Funded leadership time of a network's clinical director, added to the spare leadership of the director's "
        "own practice",
        "assumption (about a quarter of a full-time GP per network); facts #17 (one clinical director each)",
        MO,
        step=0.5,
    )
    pcn_roles_relief_ratio: float = param(
        0.5,
        "GP work per pound, relative to a GP",
        0.0,
        2.0,
        "How much GP work a pound spent on additional-roles staff takes off members, relative to a pound of GP "
        "time (pharmacists, physiotherapists and social prescribers take some of a GP's work, not all)",
        "assumption; facts #11, #17 (additional-roles staff funded)",
        MO,
        step=0.05,
    )
    willingness_to_pay_per_patient: float = param(
        3.43,
        "GBP per patient per year",
        0.0,
        20.0,
        "Subscription members accept without any evidence of benefit; above it, a member accepts a rise only as "
        "far as the benefit it has seen justifies, and otherwise may leave",
        "assumption; facts (self-fund only with clear evidence of benefit) (calibrated: docs/CALIBRATION.md)",
        MO,
        step=0.1,
    )
    benefit_share_paid: float = param(
        0.5,
        "share",
        0.0,
        1.0,
        "Share of the benefit a member has seen (back-office savings, workload relief, funded services; its "
        "last year's average) it is willing to pay back in subscription",
        "assumption; facts (self-fund only with clear evidence of benefit)",
        MO,
        step=0.05,
    )
    org_reserve_target_months: float = param(
        3.0,
        "months of costs",
        0.0,
        60.0,
        "Reserve policy: months of running costs an organisation saves before it spends its income on services for "
        "members (its subscription plan also aims to restore the target within a year)",
        "assumption (charity reserve policies commonly hold 3-6 months of costs)",
        MO,
        step=0.5,
    )
    local_services_margin_per_patient: float = param(
        0.0,
        "GBP per patient per year",
        0.0,
        20.0,
        "Recurrent margin a delivering organisation earns from local services commissioned from it (local enhanced "
        "services, hosting shared staff), after paying for them",
        "assumption",
        MO,
        step=0.25,
    )
    extended_access_per_patient: float = param(
        6.0,
        "GBP per patient per year",
        0.0,
        20.0,
        "Extended-access money (evening and weekend appointments) CCGs commission from their delivering at-scale "
        "providers in the england-2013 timeline, per patient covered, from the month each CCG starts (CCGs covering "
        "half the population by March 2018, all by October 2018); the provider keeps 'contract_margin' of it",
        "facts #15 (GBP 138m 2017/18, 258m 2018/19, at least 6 per head from April 2019; 50% coverage by March "
        "2018, 100% by October 2018)",
        MO,
        step=0.5,
    )
    at_scale_min_population: float = param(
        30_000.0,
        "patients",
        0.0,
        500_000.0,
        "Smallest organisation counted as an at-scale provider for GP Forward View money, extended access and "
        "Vanguard bids",
        "facts #11, #17 (networks of 30-50k)",
        MO,
        step=5_000,
    )
    challenge_fund_wave1_budget: float = param(
        50_000_000.0,
        "GBP (England)",
        0.0,
        1_000_000_000.0,
        "Prime Minister's Challenge Fund wave 1 (April 2014, one year), scaled to the region's share of England",
        "facts #8 (GBP 50m, 20 pilots)",
        MO,
        step=5_000_000,
    )
    challenge_fund_wave1_pilots: int = param(
        20, "pilots (England)", 0, 500, "Pilots chosen in Challenge Fund wave 1", "facts #8 (20 pilots)", MO
    )
    challenge_fund_min_population: float = param(
        40_000.0,
        "patients",
        0.0,
        500_000.0,
        "Smallest bid a Challenge Fund wave accepts",
        "facts #8 (pilots of at least 40k)",
        MO,
        step=5_000,
    )
    challenge_fund_wave1_patients: float = param(
        7_000_000.0,
        "patients (England)",
        100_000.0,
        57_000_000.0,
        "Patients the wave 1 pilots covered: the headline money per patient a pilot could expect (budget / patients) "
        "is what founders count on",
        "facts #8 (7m patients)",
        MO,
        step=500_000,
    )
    challenge_fund_wave2_budget: float = param(
        100_000_000.0,
        "GBP (England)",
        0.0,
        1_000_000_000.0,
        "Challenge Fund wave 2 (April 2015, one year), scaled to the region's share of England",
        "facts #8 (GBP 100m, 37 pilots)",
        MO,
        step=5_000_000,
    )
    challenge_fund_wave2_pilots: int = param(
        37, "pilots (England)", 0, 500, "Pilots chosen in Challenge Fund wave 2", "facts #8 (37 pilots)", MO
    )
    challenge_fund_wave2_patients: float = param(
        10_000_000.0,
        "patients (England)",
        100_000.0,
        57_000_000.0,
        "Patients the wave 2 pilots covered (headline money per patient, as for wave 1)",
        "facts #8 (>1,400 practices of about 7,300 patients, facts #2)",
        MO,
        step=500_000,
    )
    vanguard_budget: float = param(
        329_000_000.0,
        "GBP (England)",
        0.0,
        2_000_000_000.0,
        "Vanguard money over three years (April 2015 to March 2018) for all sites, scaled to the region's share",
        "facts #10 (GBP 329m over three years, central money ended 2017/18)",
        MO,
        step=10_000_000,
    )
    vanguard_sites: int = param(
        50, "sites (England)", 1, 500, "Vanguard sites chosen (of 269 bids)", "facts #10 (50 sites from 269 bids)", MO
    )
    vanguard_primary_care_sites: int = param(
        23,
        "sites (England)",
        0,
        500,
        "Vanguard sites built on general practice (MCPs and PACS); only these pay at-scale providers in the model",
        "facts #10 (14 MCPs, 9 PACS)",
        MO,
    )
    vanguard_population_share: float = param(
        0.08,
        "share of England",
        0.001,
        1.0,
        "Share of England's population the MCP/PACS Vanguard sites covered (headline money per patient, as for the "
        "Challenge Fund)",
        "facts #19 (about 8% in 2016)",
        MO,
        step=0.01,
    )
    gp_forward_view_budget: float = param(
        171_000_000.0,
        "GBP (England)",
        0.0,
        1_000_000_000.0,
        "GP Forward View transformational support, April 2017 to March 2019, allocated to CCGs by population and "
        "released to their at-scale providers once a CCG has a plan",
        "facts #9, #16 (GBP 171m one-off, about 3 per head)",
        MO,
        step=5_000_000,
    )
    ccg_plan_rate: float = param(
        0.15,
        "per CCG per month",
        0.0,
        1.0,
        "Chance a CCG without a plan for GP Forward View money makes one in a month (times "
        "'commissioner_support_base' + its supportiveness); until then the money waits",
        "facts #16 (about half of CCGs had plans in the first months)",
        MO,
        step=0.01,
    )
    org_fixed_cost: float = param(
        30_000.0,
        "GBP per organisation per year",
        0.0,
        500_000.0,
        "Central running cost of any organisation (before the form's multiplier)",
        "assumption (facts: central management team)",
        MO,
        step=5_000,
    )
    org_cost_per_patient: float = param(
        2.0,
        "GBP per patient per year",
        0.0,
        20.0,
        "Central running cost that grows with population covered (before the form's multiplier)",
        "assumption",
        MO,
        step=0.1,
    )
    backoffice_saving_per_patient: float = param(
        4.0,
        "GBP per patient per year",
        0.0,
        30.0,
        "Back-office savings a member practice makes once its organisation delivers (before the form's multiplier)",
        "assumption (facts: shared back office)",
        MO,
        step=0.5,
    )
    contract_value_per_patient: float = param(
        6.0,
        "GBP per patient per year",
        0.0,
        50.0,
        "Value of an extended-service contract (from a hospital or CCG) per patient covered",
        "assumption",
        MO,
        step=0.5,
    )
    contract_margin: float = param(
        0.3,
        "share",
        0.0,
        1.0,
        "Share of contract income left after paying for the service delivered",
        "assumption",
        MO,
        step=0.05,
    )
    contract_months: int = param(36, "months", 6, 180, "Length of an extended-service contract", "assumption", MO)
    reserves_exhausted_months: int = param(
        6, "months", 1, 36, "Months an organisation can run with no reserves before it dissolves", "assumption", MO
    )

    # --- Leadership ----------------------------------------------------------------------------
    heroic_leader_share: float = param(
        0.06,
        "share of practices",
        0.0,
        1.0,
        "Practices with a 'heroic' leader: lots of spare drive",
        "assumption; seed article",
        LE,
        step=0.01,
    )
    leadership_sessions_per_gp: float = param(
        0.6,
        "sessions per week per GP",
        0.0,
        4.0,
        "Partner time beyond clinical work, per GP, when workload pressure is normal",
        "assumption",
        LE,
        step=0.05,
    )
    leadership_share_to_org: float = param(
        0.14,
        "share",
        0.0,
        1.0,
        "Share of members' spare leadership time they give to building their organisation (the rest goes on "
        "their own practice); below what the organisation needs, it takes longer to deliver",
        "assumption (calibrated: docs/CALIBRATION.md)",
        LE,
        step=0.01,
    )
    leadership_drain: float = param(
        2.0,
        "per unit of pressure",
        0.0,
        10.0,
        "How fast workload pressure above 'leadership_pressure_onset' eats leadership time (2 means 0.5 above the "
        "onset leaves none)",
        "assumption",
        LE,
        step=0.1,
    )
    heroic_drive: float = param(
        3.0,
        "times",
        1.0,
        10.0,
        "How many times the usual leadership time a heroic leader puts in",
        "assumption; seed article",
        LE,
        step=0.5,
    )
    join_leadership_need: float = param(
        0.5,
        "sessions per week",
        0.0,
        10.0,
        "Leadership time a practice needs spare to join an organisation",
        "assumption",
        LE,
        step=0.1,
    )
    found_leadership_need: float = param(
        2.0,
        "sessions per week",
        0.0,
        20.0,
        "Leadership time a practice needs spare to found an organisation",
        "assumption",
        LE,
        step=0.1,
    )
    distributed_leadership_share: float = param(
        0.2,
        "share of heroic-led new organisations",
        0.0,
        1.0,
        "Chance a new organisation founded by a heroic leader invests in a distributed leadership team instead (an "
        "organisation whose founder is not a heroic leader is always led by a team of partners)",
        "assumption",
        LE,
        step=0.05,
    )
    leadership_pressure_onset: float = param(
        0.9,
        "demand / capacity",
        0.0,
        2.0,
        "Workload pressure above which partners' spare leadership time starts to drain",
        "assumption",
        LE,
        step=0.05,
    )
    leader_effort: float = param(
        2.0,
        "sessions per week",
        0.0,
        10.0,
        "Leadership time one ordinary leader gives the organisation (a heroic leader gives 'heroic_drive' times "
        "this; each member of a distributed team gives this, less coordination)",
        "assumption",
        LE,
        step=0.1,
    )
    setup_work_base: float = param(
        104.0,
        "session-months",
        0.0,
        1_000.0,
        "Work to set up a federation before it delivers anything (governance, a plan, a shared back office), in "
        "sessions a week kept up for a month; a network needs 0.6 times this, a super-partnership 1.6 times",
        "assumption (calibrated: docs/CALIBRATION.md)",
        LE,
        step=5,
    )
    setup_work_per_member: float = param(
        10.0,
        "session-months per member",
        0.0,
        200.0,
        "Extra set-up work for each member practice brought along (same form multipliers)",
        "assumption (calibrated: docs/CALIBRATION.md)",
        LE,
        step=1,
    )
    team_coordination_overhead: float = param(
        2.0,
        "times",
        1.0,
        5.0,
        "How much a distributed team's coordination costs it: the team's effort is its members' effort divided by "
        "this, and each member carries this share of the per-person load",
        "assumption; seed article (distributed leadership)",
        LE,
        step=0.1,
    )
    leader_load_reference_size: float = param(
        50_000.0,
        "patients",
        5_000.0,
        1_000_000.0,
        "Population whose leadership costs a leader 'leader_burnout_rate' a month at normal pressure (the load grows "
        "with the square root of size)",
        "assumption",
        LE,
        step=5_000,
    )
    leadership_development_share: float = param(
        0.3,
        "probability at full support",
        0.0,
        1.0,
        "Chance a fully supportive CCG funds leadership development for a new organisation founded by a heroic "
        "leader, so that it is led by a team (scaled by the CCG's supportiveness)",
        "assumption; seed article 002 (commissioners fund leadership development)",
        LE,
        step=0.05,
    )
    distributed_team_cost: float = param(
        40_000.0,
        "GBP per organisation per year",
        0.0,
        300_000.0,
        "Extra cost of a distributed leadership team",
        "assumption",
        LE,
        step=5_000,
    )
    distributed_team_size: int = param(
        4, "leaders", 2, 12, "People in a distributed leadership team (load shared among them)", "assumption", LE
    )
    leader_burnout_rate: float = param(
        0.015,
        "per month",
        0.0,
        0.5,
        "Burnout a leader accumulates a month leading 50,000 patients at normal pressure (1 = burnt out)",
        "assumption; seed article (heroic leadership)",
        LE,
        step=0.005,
    )
    # --- Commissioners & hospitals -------------------------------------------------------------
    ccg_supportiveness: float = param(
        0.5,
        "0-1",
        0.0,
        1.0,
        "How supportive CCGs are of general practice at scale (mean over CCGs)",
        "assumption; seed article",
        CH,
        step=0.05,
    )
    target_org_size: float = param(
        50_000.0,
        "patients",
        10_000.0,
        1_000_000.0,
        "Organisation size the CCGs' policy aims for",
        "facts #11 (30-50k); seed article (200-300k federations)",
        CH,
        step=5_000,
    )
    founding_rate: float = param(
        0.0265,
        "per practice per month",
        0.0,
        0.2,
        "Base chance an eligible practice founds an organisation in a month (before support and money)",
        "assumption (calibrated: docs/CALIBRATION.md)",
        CH,
        step=0.001,
    )
    join_consideration_rate: float = param(
        0.53,
        "per month",
        0.0,
        1.0,
        "Chance an independent practice reconsiders joining in a month",
        "assumption (calibrated: docs/CALIBRATION.md)",
        CH,
        step=0.01,
    )
    contract_rate: float = param(
        0.06,
        "per month",
        0.0,
        1.0,
        "Chance a hospital or CCG offers a contract to an eligible, trusted organisation in a month",
        "assumption",
        CH,
        step=0.01,
    )
    contract_trust_threshold: float = param(
        0.55,
        "trust 0-1",
        0.0,
        1.0,
        "Hospital trust an organisation needs before it is offered contracts",
        "assumption",
        CH,
        step=0.01,
    )

    ccg_support_concentration: float = param(
        6.0,
        "Beta a + b",
        0.5,
        100.0,
        "How alike CCGs are in supportiveness: each CCG's supportiveness is drawn from a Beta distribution with mean "
        "'ccg_supportiveness' and this concentration (large = all alike)",
        "assumption",
        CH,
        step=0.5,
    )
    # commissioners with budgets, bids and relationships; MCP/PACS contracts (ODD 7.10)
    ccg_development_budget_per_head: float = param(
        3.0,
        "GBP per head per year",
        0.0,
        20.0,
        "Each CCG's yearly development budget (pump-priming and leadership development for at-scale providers), set "
        "each April from its population; what is spent is gone, what is left at the year's end is lost",
        "assumption; seed article (most groups funded by non-recurrent CCG money)",
        CH,
        step=0.25,
    )
    ccg_grant_per_patient: float = param(
        0.0,
        "GBP per patient per year",
        0.0,
        40.0,
        "Development grant a CCG pays each new organisation of at least 'pump_priming_min_population' for its first "
        "'ccg_grant_months', best bids first, from its development budget while that lasts",
        "facts: suggested (one-off 7-10 GBP per patient a year for 1-3 years); seed article (CCG money)",
        CH,
        step=0.5,
    )
    ccg_grant_months: int = param(
        24, "months", 1, 120, "How long a CCG development grant lasts", "facts: suggested (1-3 years)", CH
    )
    leadership_development_cost: float = param(
        20_000.0,
        "GBP per organisation",
        0.0,
        200_000.0,
        "What a CCG pays from its development budget to develop a new organisation's leadership team (the chance it "
        "does so is 'leadership_development_share' x its supportiveness, while the budget covers it)",
        "assumption; seed article 002 (commissioners fund leadership development)",
        CH,
        step=5_000,
    )
    bid_maturity_weight: float = param(
        1.0,
        "score per unit",
        0.0,
        5.0,
        "Weight of a bidder's maturity (see 'bid_delivering_share') in "
        "a commissioner's or a national programme's choice of bids (see 'bid_delivering_share')",
        "assumption; facts #10 (Vanguards chosen from 269 bids)",
        CH,
        step=0.1,
    )
    bid_delivering_share: float = param(
        0.5,
        "share",
        0.0,
        1.0,
        "How a bidder's maturity is made up: this share for delivering benefits, the rest for being able to "
        "commit its members",
        "assumption",
        CH,
        step=0.05,
    )
    bid_size_weight: float = param(
        0.5,
        "score per doubling",
        0.0,
        5.0,
        "Weight of a bid's size (per doubling of the population it covers, against 'target_org_size')",
        "assumption",
        CH,
        step=0.1,
    )
    bid_relationship_weight: float = param(
        1.0,
        "score per unit",
        0.0,
        5.0,
        "Weight of the commissioner's relationship with the bidders (0-1) in the choice of bids",
        "assumption; seed article (an unsupportive CCG relationship hinders development)",
        CH,
        step=0.1,
    )
    bid_noise: float = param(
        0.3,
        "score sd",
        0.01,
        5.0,
        "Noise in judging bids (Gumbel scale): what the scoring does not see",
        "assumption",
        CH,
        step=0.05,
    )
    ccg_relationship_gain: float = param(
        0.1,
        "per delivered ask",
        0.0,
        1.0,
        "Share of the way to full trust a CCG's relationship with an organisation moves each time the organisation "
        "delivers what it took on",
        "assumption; seed article (commissioners trust providers that deliver)",
        CH,
        step=0.01,
    )
    ccg_relationship_loss: float = param(
        0.1,
        "per failed ask",
        0.0,
        1.0,
        "Share of a CCG's relationship with an organisation lost each time the organisation fails to deliver",
        "assumption",
        CH,
        step=0.01,
    )
    ccg_support_adapt: float = param(
        0.02,
        "per month",
        0.0,
        1.0,
        "Share of the gap a CCG's supportiveness closes each month towards its relationship with the organisations "
        "in its area (population-weighted)",
        "assumption",
        CH,
        step=0.01,
    )
    ccg_failure_damage: float = param(
        0.33,
        "supportiveness",
        0.0,
        1.0,
        "Supportiveness a CCG loses when an organisation in its area dissolves, scaled by the organisation's share of "
        "the CCG's population",
        "assumption; facts #13 (a federation's failure) (calibrated: docs/CALIBRATION.md)",
        CH,
        step=0.05,
    )
    merger_stance_renewal: float = param(
        0.5,
        "share",
        0.0,
        1.0,
        "How far a merged CCG's stance is new: its supportiveness is this share of a fresh draw and the rest the "
        "population-weighted mean of its parts",
        "assumption; facts #6 (CCG mergers)",
        CH,
        step=0.05,
    )
    merger_pause_months: int = param(
        6,
        "months",
        0,
        36,
        "Months after a merger in which the merged CCG releases no development money and procures nothing",
        "assumption (reorganisations freeze decisions)",
        CH,
    )
    local_services_relationship: float = param(
        0.5,
        "relationship 0-1",
        0.0,
        1.0,
        "Relationship a CCG needs with a delivering organisation before it commissions local services from it",
        "assumption",
        CH,
        step=0.05,
    )
    england_population: float = param(
        57_000_000.0,
        "patients",
        10_000.0,
        100_000_000.0,
        "Registered population of England, against which national programme budgets and site counts are scaled to "
        "the simulated region's share",
        "facts #1, #2 (7,816 practices x 7,294 patients, 2015)",
        CH,
        step=1_000_000,
    )
    programme_max_per_patient: float = param(
        30.0,
        "GBP per patient per year",
        1.0,
        200.0,
        "Most a competitive national programme pays a winning bid per patient it covers per year (a small bid gets "
        "less than the average award)",
        "assumption (about 3-4x the Challenge Fund's average, facts #8)",
        CH,
        step=1.0,
    )
    mcp_procurement_rate: float = param(
        0.3,
        "per CCG per year",
        0.0,
        1.0,
        "Chance a CCG with no whole-population (MCP/PACS) contract tries to procure one in a year of the Vanguard "
        "era (times 'commissioner_support_base' + its supportiveness)",
        "assumption; facts #19 (8% in 2016, 25% planned by 2017/18)",
        CH,
        step=0.01,
    )
    commissioner_support_base: float = param(
        0.5,
        "times",
        0.0,
        2.0,
        "How much goes on where the CCG is not supportive, as a multiple of the usual rate: practices founding "
        "organisations, contracts offered, GP Forward View plans made and MCP/PACS contracts procured all run at "
        "(this + the CCG's supportiveness) times their rate (0 = nothing happens without support)",
        "assumption",
        CH,
        step=0.05,
    )
    mcp_min_foundation_share: float = param(
        0.2,
        "share of the area",
        0.0,
        1.0,
        "Share of the area's population the foundation provider of an MCP/PACS contract must already cover",
        "assumption; facts #19 (a large-scale provider as the foundation)",
        CH,
        step=0.05,
    )
    mcp_min_foundation_population: float = param(
        100_000.0,
        "patients",
        10_000.0,
        1_000_000.0,
        "Smallest provider that can be the foundation of an MCP/PACS contract",
        "assumption; seed article 002 (MCPs need a large-scale provider)",
        CH,
        step=10_000,
    )
    mcp_min_years: float = param(
        10.0, "years", 1.0, 20.0, "Shortest MCP/PACS contract", "facts #19 (10-15 years)", CH, step=0.5
    )
    mcp_max_years: float = param(
        15.0, "years", 1.0, 25.0, "Longest MCP/PACS contract", "facts #19 (10-15 years)", CH, step=0.5
    )
    mcp_break_years: float = param(
        5.0,
        "years",
        1.0,
        15.0,
        "Break clause: after this long the commissioner ends the contract if the provider can no longer commit its "
        "members",
        "facts #19 (break clauses); length an assumption",
        CH,
        step=0.5,
    )
    mcp_margin_per_patient: float = param(
        2.0,
        "GBP per patient per year",
        0.0,
        20.0,
        "What the provider keeps from an MCP/PACS contract per patient of the area, after paying for the services",
        "assumption",
        CH,
        step=0.25,
    )
    ask_rate: float = param(
        0.3,
        "asks per organisation per month",
        0.0,
        1.0,
        "Chance a hospital asks an organisation serving its patients to do something this month (a pathway change, "
        "a shared rota, a service redesign)",
        "assumption; seed article 004 (hospitals need counterparts who can commit)",
        CH,
        step=0.01,
    )
    hospital_relationship_capacity: int = param(
        12,
        "counterparts per hospital",
        1,
        500,
        "How many general-practice organisations a hospital can actively work with at once; it works with the best "
        "by its trust and their record, and makes no asks of the rest",
        "assumption (sensitivity-tested: docs/CALIBRATION.md)",
        CH,
    )
    hospital_contract_budget_per_patient: float = param(
        2.0,
        "GBP per catchment patient per year",
        0.0,
        50.0,
        "Yearly money a hospital has for extended-service contracts with general practice, per patient of its "
        "catchment; contracts are awarded best counterparts first while it lasts",
        "assumption",
        CH,
        step=0.25,
    )
    community_trust_population: float = param(
        2_000_000.0,
        "patients",
        200_000.0,
        20_000_000.0,
        "Population a synthetic region's community trusts serve (real regions use the named community trusts)",
        "facts #20 (community trusts serve over a million, seed 004)",
        CH,
        step=100_000,
    )
    cross_ccg_contract_factor: float = param(
        0.5,
        "times",
        0.0,
        1.0,
        "How much less likely an organisation spanning several CCGs is to be offered a contract",
        "assumption",
        CH,
        step=0.05,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            spec = SPECS_BY_NAME[f.name]
            object.__setattr__(self, f.name, spec.check(getattr(self, f.name)))

    # --- construction and conversion -------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: Params | None = None, *, where: str = "") -> Params:
        """Overrides ``base`` (default: the defaults) with ``values``, refusing unknown names.

        Args:
            values: parameter name -> value (text values are parsed with the parameter's type).
            base: the parameters to start from.
            where: a prefix for error messages, e.g. the file the values came from.
        """
        if not isinstance(values, Mapping):
            raise ParameterError(f"{where}expected a mapping of parameter name -> value, not {shown(values)}")
        odd = [k for k in values if not isinstance(k, str)]
        if odd:
            raise ParameterError(f"{where}parameter names must be text, not {shown(odd[0])}")
        unknown = [k for k in values if k not in SPECS_BY_NAME]
        if unknown:
            raise ParameterError(f"{where}{unknown_message(unknown[0])}")
        parsed = {}
        for key, value in values.items():
            spec = SPECS_BY_NAME[key]
            if isinstance(value, str) and spec.kind is not str:
                value = spec.parse(value)
            parsed[key] = value
        try:
            return dataclasses.replace(base or cls(), **parsed)
        except ParameterError as err:
            raise ParameterError(f"{where}{err}") from None

    def replace(self, **changes: Any) -> Params:
        """A copy with some parameters changed (validated)."""
        return Params.from_mapping(changes, self)

    def to_dict(self) -> dict[str, Any]:
        """Plain ``{name: value}`` in declaration order (JSON-friendly)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def changed(self) -> dict[str, Any]:
        """Only the parameters that differ from the defaults."""
        default = Params()
        return {k: v for k, v in self.to_dict().items() if getattr(default, k) != v}

    @property
    def n_months(self) -> int:
        """Number of monthly steps in the run."""
        return max(1, round(self.years * 12))


def _build_specs() -> tuple[ParamSpec, ...]:
    hints = {"int": int, "float": float, "str": str, "bool": bool}
    specs = []
    for f in dataclasses.fields(Params):
        meta = f.metadata["spec"]
        specs.append(ParamSpec(name=f.name, kind=hints[f.type], **meta))
    return tuple(specs)


SPECS: tuple[ParamSpec, ...] = _build_specs()
SPECS_BY_NAME: dict[str, ParamSpec] = {s.name: s for s in SPECS}


def unknown_message(name: str) -> str:
    """One line for an unknown parameter name, with the closest known names."""
    close = difflib.get_close_matches(name, SPECS_BY_NAME, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see 'gpsim params' for the list"
    return f"unknown parameter '{name}'{hint}"


def spec(name: str) -> ParamSpec:
    """The declaration of one parameter, or a :class:`ParameterError` naming it."""
    try:
        return SPECS_BY_NAME[name]
    except KeyError:
        raise ParameterError(unknown_message(name)) from None


def check_seed(seed: Any) -> Any:
    """A run's seed as given (an int in [0, 2^128) or a ``numpy.random.SeedSequence``), or a one-line error."""
    import numpy as np

    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed {shown(seed)} must be a whole number >= 0 or a numpy SeedSequence")
    if not 0 <= int(seed) < 2**128:
        raise ParameterError(f"seed {shown(int(seed))} is out of range; allowed [0, 2^128)")
    return int(seed)


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``name=value`` (as given to ``--set``) into a checked ``(name, value)`` pair."""
    if "=" not in text:
        raise ParameterError(f"--set {text!r}: expected name=value")
    name, _, raw = text.partition("=")
    name = name.strip().replace("-", "_")
    s = spec(name)
    return name, s.check(s.parse(raw))


def markdown_table() -> str:
    """The parameter reference as a Markdown document, grouped (docs/PARAMETERS.md is exactly this)."""
    lines = [
        "# Parameter reference",
        "",
        "Generated from the one declaration in `gpsim/params.py` by `gpsim params --markdown > docs/PARAMETERS.md`",
        "(a test checks it is current). Sources cite the domain-facts table in",
        "[ODD.md](ODD.md#8-domain-facts-cited) as *facts #N*.",
        "",
    ]
    for group in GROUPS:
        lines += [
            f"## {group}",
            "",
            GROUP_HELP[group],
            "",
            "| name | default | unit | allowed | meaning | source |",
            "|---|---|---|---|---|---|",
        ]
        for s in SPECS:
            if s.group == group:
                default = s.default if not isinstance(s.default, float) else _fmt(s.default)
                lines.append(f"| `{s.name}` | {default} | {s.unit} | {s.range_text} | {s.meaning} | {s.source} |")
        lines.append("")
    return "\n".join(lines)
