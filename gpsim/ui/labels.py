"""Settings in the words a GP partner or commissioner uses: labels, units, percentages and pounds.

The settings themselves (names, ranges, meanings) come from the one declaration, :data:`gpsim.SPECS`; this
module only says how the page shows them: which dozen are **Basic**, a plain label for every one, whether a
value reads better as a percentage, and how an error message names a setting (by its label, not its code name).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from gpsim.params import SPECS, SPECS_BY_NAME, ParamSpec

#: The settings most people think in, in the order shown (the rest are under "Advanced").
BASIC = (
    "region",
    "pump_priming_per_patient",
    "pump_priming_months",
    "subscription_per_patient",
    "recurrent_funding_per_patient",
    "distributed_leadership_share",
    "heroic_leader_share",
    "difficult_history",
    "ccg_supportiveness",
    "target_org_size",
    "years",
)

#: Settings that only shape a made-up (synthetic) area: hidden when a real area is chosen.
SYNTHETIC_ONLY = ("n_practices", "n_ccgs", "mean_list_size", "list_size_sigma", "region_seed")

#: The most practices the page offers for a made-up area (more is possible from the command line).
UI_MAX_PRACTICES = 3_000

#: A plain label for every setting (the code name stays in the tooltip-free help line for modellers).
LABELS = {
    "region": "Area",
    "n_practices": "Number of practices (made-up area)",
    "n_ccgs": "Number of CCGs (made-up area)",
    "mean_list_size": "Average list size (made-up area)",
    "list_size_sigma": "How much list sizes vary (made-up area)",
    "hospital_catchment": "Patients each hospital serves",
    "peer_degree": "Neighbouring practices each practice works with",
    "region_seed": "Which version of the made-up area",
    "start_year": "First year",
    "start_month": "First month of the year",
    "years": "Years to run",
    "policy_timeline": "National policy timeline",
    "consultation_rate": "GP appointments per patient a year",
    "demand_growth": "Growth in appointments wanted",
    "list_growth": "Growth in registered patients",
    "gp_fte_per_1000": "Full-time GPs per 1,000 patients",
    "fte_per_gp": "Working time of one GP (full time = 1)",
    "gp_retirement_rate": "GPs retiring or leaving each year",
    "burnout_exit_rate": "Extra GPs leaving when overloaded",
    "recruitment_rate": "Chance of recruiting a needed GP each month",
    "recruitment_decline": "How much harder recruiting gets each year",
    "capacity_per_gp_fte": "Appointments a full-time GP offers a year",
    "pressure_close_threshold": "Overload at which a practice cannot go on",
    "months_to_close": "Months of trouble before a practice closes",
    "income_per_patient": "Practice income per patient",
    "cost_per_gp_fte": "Cost of a full-time GP",
    "staff_cost_per_patient": "Staff and running costs per patient",
    "fixed_cost_per_practice": "Fixed costs of a practice (premises, manager, systems)",
    "initial_reserve_months": "Cash reserves at the start",
    "debt_limit_months": "Debt a practice can carry",
    "merge_share": "Failing practices that merge rather than close",
    "difficult_history": "Local history between practices (0 = good, 100% = very difficult)",
    "trust_gain_rate": "How fast trust grows",
    "trust_loss_rate": "How fast trust falls",
    "size_trust_penalty": "Trust lost as an organisation grows",
    "trust_reference_size": "Size at which members start to feel distant",
    "commit_threshold": "Members' trust needed to commit them to contracts",
    "failure_trust_damage": "Trust lost when an organisation fails",
    "choice_noise": "How unpredictable practices' choices are",
    "trust_benefit_weight": "How much benefits build trust",
    "loss_aversion": "How much a lost benefit hurts",
    "leave_trust_threshold": "Trust below which members leave",
    "cohesion_collapse": "Trust below which an organisation falls apart",
    "independence_value": "How much practices value staying independent",
    "size_aversion": "Dislike of joining an organisation bigger than the target",
    "pump_priming_per_patient": "One-off money for new organisations",
    "pump_priming_start_month": "Month the one-off money starts",
    "pump_priming_months": "How long the one-off money lasts",
    "pump_priming_min_population": "Smallest organisation that gets the one-off money",
    "joining_fee_per_patient": "Joining fee (paid once)",
    "subscription_per_patient": "Members' subscription",
    "max_subscription_per_patient": "Highest subscription an organisation can ask",
    "recurrent_funding_per_patient": "Recurrent network payment (like the PCN DES)",
    "recurrent_funding_start_month": "Month the recurrent payment starts",
    "org_fixed_cost": "Running cost of an organisation",
    "org_cost_per_patient": "Running cost per patient covered",
    "backoffice_saving_per_patient": "Back-office savings for members",
    "contract_value_per_patient": "Value of a hospital or CCG contract",
    "contract_margin": "Share of contract income kept",
    "contract_months": "Length of a contract",
    "reserves_exhausted_months": "Months an organisation can run with no money left",
    "heroic_leader_share": "Practices with a driven ('heroic') leader",
    "leadership_sessions_per_gp": "Spare partner time for leadership",
    "leadership_share_to_org": "Share of spare time given to the organisation",
    "leadership_drain": "How fast workload eats leadership time",
    "heroic_drive": "Extra drive of a heroic leader",
    "join_leadership_need": "Leadership time needed to join",
    "found_leadership_need": "Leadership time needed to start an organisation",
    "distributed_leadership_share": "Leadership style: new organisations led by a team (not one heroic leader)",
    "distributed_team_cost": "Extra cost of a leadership team",
    "distributed_team_size": "People in a leadership team",
    "leader_burnout_rate": "How fast leaders burn out",
    "heroic_succession_chance": "Chance a burnt-out heroic leader is replaced",
    "delivery_delay_months": "Months of effort before members see benefits",
    "ccg_supportiveness": "Commissioner support for working at scale",
    "target_org_size": "Size the commissioners aim for",
    "founding_rate": "Chance a practice starts an organisation each month",
    "join_consideration_rate": "Chance an independent practice thinks about joining each month",
    "contract_rate": "Chance of a contract offer each month",
    "contract_trust_threshold": "Hospital trust needed before contracts are offered",
    "peer_graph": "Relationships between practices",
    "partner_share": "Share of GP time given by partners",
    "salaried_gp_income": "What a partner could earn as a salaried GP",
    "partner_income_memory_months": "Months over which partners judge their income",
    "merge_trust": "Trust a neighbour needs to take over a failing practice",
    "recruitment_boost_in_org": "Easier recruiting in a delivering organisation",
    "max_service_relief": "Most workload relief an organisation's services can bring",
    "benefit_scale": "Benefit that counts as a lot",
    "benefit_memory_months": "Months over which members get used to a benefit",
    "cofounder_trust": "Trust needed to be asked to start an organisation together",
    "unproven_discount": "How much a new organisation's promises are believed",
    "support_weight": "How much commissioner support draws practices in",
    "pressure_weight": "How much workload pushes practices to join",
    "cross_ccg_cost": "Dislike of joining an organisation in another CCG",
    "peer_trust_gain_share": "How fast fellow members grow closer",
    "leave_trust_damage_share": "Trust lost with the members a practice leaves",
    "leave_sharpness": "How sharply members leave as trust falls",
    "collapse_months": "Months of low trust before an organisation ends",
    "form_federation_cutoff": "How readily founders choose a federation",
    "form_super_partnership_cutoff": "How readily founders choose a super-partnership",
    "form_size_weight": "How much a bigger target pushes towards tighter organisations",
    "form_choice_noise": "How unpredictable the choice of kind of organisation is",
    "ask_follow_pressure_weight": "How much workload stops members following through on hospital asks",
    "ask_delivery_share": "Share of patients covered for an ask to count as delivered",
    "commit_memory_asks": "How many recent asks the track record reflects",
    "willingness_to_pay_per_patient": "Subscription members accept without evidence of benefit",
    "benefit_share_paid": "Share of the benefit members will pay back",
    "org_reserve_target_months": "Reserves an organisation saves before spending on members",
    "local_services_margin_per_patient": "Margin from local services commissioned from an organisation",
    "extended_access_per_patient": "Extended-access money (evening and weekend appointments)",
    "leadership_pressure_onset": "Workload at which leadership time starts to drain",
    "leader_effort": "Leadership time one leader gives the organisation",
    "setup_work_base": "Work to set up an organisation before it delivers",
    "setup_work_per_member": "Extra set-up work for each member practice",
    "team_coordination_overhead": "Coordination cost of a leadership team",
    "leader_load_reference_size": "Size of organisation that loads a leader fully",
    "leadership_development_share": "Chance a supportive CCG funds a leadership team",
    "ccg_support_concentration": "How alike the CCGs are in their support",
    "ask_rate": "Chance a hospital asks an organisation for something each month",
    "cross_ccg_contract_factor": "Contracts for organisations spanning several CCGs",
}

#: Units that are a share of something between 0 and 1: shown as a percentage.
_SHARE_UNITS = ("share", "share of practices", "share of new organisations", "probability", "0-1")
#: Rates per month or year in [0, 1] also read better as percentages.
_RATE_UNITS = ("per month", "per year", "per GP per year", "per practice per month")


@dataclass(frozen=True)
class Shown:
    """How one setting is shown: a label, a unit, a scale to the shown number and the shown range."""

    spec: ParamSpec
    label: str
    unit: str
    scale: float
    low: float | None
    high: float | None
    step: float | None

    @property
    def percent(self) -> bool:
        return self.scale == 100.0

    def to_shown(self, value: Any) -> Any:
        if self.scale == 1.0 or not isinstance(value, int | float) or isinstance(value, bool):
            return value
        return round(value * self.scale, 6)

    def from_shown(self, shown: Any) -> Any:
        if self.scale == 1.0 or not isinstance(shown, int | float) or isinstance(shown, bool):
            return shown
        return round(shown / self.scale, 9)

    def text(self, value: Any) -> str:
        """The value as people write it: "£10 per patient a year", "20%", "50,000 patients"."""
        return value_text(self, value)

    @property
    def range_text(self) -> str:
        if self.spec.choices is not None or self.low is None:
            return ""
        return range_words(self, self.high)


def _unit(spec: ParamSpec) -> str:
    u = spec.unit.replace("GBP", "£")
    u = u.replace("per patient per year", "per patient a year").replace("per year", "a year")
    return u.replace("per month", "a month").replace("months of costs", "months of costs")


def shown(spec: ParamSpec | str) -> Shown:
    """How ``spec`` (or the setting of that name) is shown on the page."""
    if isinstance(spec, str):
        spec = SPECS_BY_NAME[spec]
    name = LABELS.get(spec.name, spec.name.replace("_", " ").capitalize())
    unit = _unit(spec)
    scale = 1.0
    u = spec.unit
    shares = u in _SHARE_UNITS or u.startswith(("share", "probability")) or u in _RATE_UNITS
    in_unit_range = spec.low is not None and spec.low >= 0 and spec.high is not None and spec.high <= 1.0
    if spec.kind is float and in_unit_range and shares:
        scale = 100.0
        if u.startswith("share of "):
            unit = "of " + u[len("share of ") :]
        elif u in _RATE_UNITS:
            unit = u.replace("per year", "a year").replace("per month", "a month")
        else:
            unit = ""
    unit = re.sub(r"\b[a-z]+(?:_[a-z0-9]+)+\b", lambda m: label(m.group(0)).lower(), unit)
    low, high, step = spec.low, spec.high, spec.step
    if spec.name == "n_practices":
        high = min(high, UI_MAX_PRACTICES)
    if low is not None and scale != 1.0:
        low, high = low * scale, high * scale
        step = (step or (spec.high - spec.low) / 100) * scale
    return Shown(spec, name, unit, scale, low, high, step)


def range_words(s: Shown, high: float) -> str:
    """ "from £0 to £40 per patient a year": the shown range, the unit said once."""
    lo, hi = value_text(s, s.from_shown(s.low)), value_text(s, s.from_shown(high))
    unit = lo.split(" ", 1)[1] if " " in lo else ""
    if unit and hi.endswith(" " + unit):
        lo = lo[: -len(unit) - 1]
    return f"from {lo} to {hi}"


def value_text(s: Shown, value: Any) -> str:
    spec = s.spec
    if spec.kind is bool:
        return "on" if value else "off"
    if spec.name == "peer_graph" and isinstance(value, str):
        return peer_graph_text(value)
    if spec.kind is str or value is None:
        return str(value)
    if s.percent:
        v = value * 100
        text = f"{v:.1f}%" if abs(v - round(v)) > 1e-6 else f"{v:.0f}%"
        return f"{text} {s.unit}".strip()
    if "£" in s.unit:
        unit = s.unit.replace("£", "").strip()
        money = f"£{value:,.2f}".replace(".00", "") if abs(value) < 100 else f"£{value:,.0f}"
        return f"{money} {unit}".strip()
    if isinstance(value, float):
        if abs(value) >= 1000:
            num = f"{value:,.0f}"
        else:
            num = f"{value:g}"
    else:
        num = f"{value:,}" if abs(value) >= 10_000 else str(value)
    return f"{num} {s.unit}".strip()


def peer_graph_text(value: str) -> str:
    """A relationship graph in words: "nearest neighbours", or the file's name (never the folders it is in)."""
    if value == "nearest":
        return "nearest neighbours"
    return "the graph in " + value.replace("\\", "/").rsplit("/", 1)[-1]


def label(name: str) -> str:
    """The plain label of a setting (``seed`` is the random seed)."""
    if name == "seed":
        return "Random seed"
    return LABELS.get(name, name.replace("_", " ").capitalize())


def describe(values: dict[str, Any], names: list[str] | tuple[str, ...]) -> str:
    """ "One-off money for new organisations £10 per patient a year; ..." for ``names``."""
    parts = []
    for n in names:
        if n == "seed":
            parts.append(f"random seed {values.get('seed')}")
        elif n in SPECS_BY_NAME:
            parts.append(f"{label(n)}: {shown(n).text(values[n])}")
    return "; ".join(parts)


_NAMES = sorted((s.name for s in SPECS), key=len, reverse=True)
_NAME_RE = re.compile(r"'?\b(" + "|".join(map(re.escape, _NAMES)) + r")\b'?")


def plain_error(message: str) -> str:
    """An error message with every setting named by its label ("'Number of CCGs (made-up area)'")."""
    text = _NAME_RE.sub(lambda m: f"'{label(m.group(1))}'", message)
    return text.replace("parameter '", "'")


def differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a != b


__all__ = [
    "BASIC",
    "LABELS",
    "SYNTHETIC_ONLY",
    "Shown",
    "describe",
    "label",
    "peer_graph_text",
    "plain_error",
    "shown",
    "value_text",
]


#: An organisation's money flows (``Results.org_money``) as the organisation story names them.
MONEY_WORDS = {
    "subscriptions": "members' subscriptions",
    "one_off_funding": "one-off money",
    "recurrent_funding": "recurrent network payment",
    "contract_income": "contracts",
    "local_services_margin": "local services",
    "running_costs": "running costs",
    "leadership_team_costs": "leadership team",
    "contract_delivery_costs": "delivering contracts",
    "service_delivery_costs": "delivering funded services",
    "member_services": "services for members",
}
