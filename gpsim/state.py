"""The model's numeric state: per-practice arrays and the organisation table (struct of arrays).

The rules in :mod:`gpsim.rules` read and write these arrays; Mesa agents are thin views onto one row.
Enumerations name every discrete state; the money ledger names every source and use of money.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class PracticeStatus(IntEnum):
    OPEN = 0
    CLOSED = 1
    MERGED = 2


class OrgForm(IntEnum):
    NETWORK = 0
    FEDERATION = 1
    SUPER_PARTNERSHIP = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class LeadershipKind(IntEnum):
    HEROIC = 0
    DISTRIBUTED = 1

    @property
    def label(self) -> str:
        return self.name.lower()


class DissolutionCause(IntEnum):
    NONE = 0
    RESERVES_EXHAUSTED = 1
    COHESION_COLLAPSE = 2
    LEADERSHIP_GONE = 3
    TOO_FEW_MEMBERS = 4

    @property
    def label(self) -> str:
        return "" if self is DissolutionCause.NONE else self.name.lower().replace("_", " ")


class ExitCause(IntEnum):
    NO_GPS = 1
    WORKLOAD = 2
    FINANCES = 3  # partners' income below what they could earn as salaried or locum GPs

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


@dataclass(frozen=True)
class FormTraits:
    """What an organisational form means: tighter forms bind more, save more, cost more autonomy."""

    binding: float  # added to members' trust attractor (shared ownership holds members together)
    saving: float  # multiplier on back-office savings per patient once delivering
    relief: float  # share of GP workload taken off members once delivering (shared staff)
    cost: float  # multiplier on central running cost per patient
    autonomy_cost: float  # utility a practice gives up by joining
    work: float  # multiplier on the set-up work before the organisation delivers (tighter forms need more)


#: Assumptions (documented in docs/ODD.md, "Organisational forms").
FORMS: dict[OrgForm, FormTraits] = {
    OrgForm.NETWORK: FormTraits(binding=0.0, saving=0.5, relief=0.03, cost=0.6, autonomy_cost=0.05, work=0.6),
    OrgForm.FEDERATION: FormTraits(binding=0.05, saving=1.0, relief=0.06, cost=1.0, autonomy_cost=0.12, work=1.0),
    OrgForm.SUPER_PARTNERSHIP: FormTraits(
        binding=0.12, saving=1.6, relief=0.10, cost=1.4, autonomy_cost=0.30, work=1.6
    ),
}
FORM_BINDING = np.array([FORMS[f].binding for f in OrgForm])
FORM_SAVING = np.array([FORMS[f].saving for f in OrgForm])
FORM_RELIEF = np.array([FORMS[f].relief for f in OrgForm])
FORM_COST = np.array([FORMS[f].cost for f in OrgForm])
FORM_AUTONOMY = np.array([FORMS[f].autonomy_cost for f in OrgForm])
FORM_WORK = np.array([FORMS[f].work for f in OrgForm])

#: Named money flows: sources into the simulated system, uses out of it, and transfers inside it.
MONEY_SOURCES = (
    "capitation",
    "partner_contributions",
    "pump_priming",
    "recurrent_funding",
    "challenge_fund_wave1",
    "challenge_fund_wave2",
    "vanguards",
    "gp_forward_view",
    "extended_access",
    "mcp_contract",
    "ccg_leadership_development",
    "ccg_development_grants",
    "contract_income",
    "local_services_margin",
    "org_debt_written_off",
    "network_des",
)
MONEY_USES = (
    "gp_pay",
    "staff_and_running_costs",
    "practice_fixed_costs",
    "partner_drawings",
    "exit_settlement",
    "org_running_costs",
    "leadership_team_costs",
    "contract_delivery_costs",
    "service_delivery_costs",
    "org_residual_returned",
    "member_services",
    "network_des_clinical_directors",
    "network_des_additional_roles",
)
MONEY_TRANSFERS = ("joining_fees", "subscriptions", "dissolution_refunds", "dissolution_debt_cover", "merger_reserves")


class Ledger:
    """Cumulative money flows by name, so money can be audited: stocks change only by named flows."""

    def __init__(self) -> None:
        self.total: dict[str, float] = dict.fromkeys(MONEY_SOURCES + MONEY_USES + MONEY_TRANSFERS, 0.0)

    def add(self, name: str, amount: float) -> None:
        self.total[name] += float(amount)

    def add_each(self, name: str, amounts) -> None:
        """Add several amounts one after another (the same sum, to the last bit, as calling :meth:`add` on each)."""
        amounts = np.asarray(amounts, dtype=float)
        if len(amounts):  # a running sum is sequential, so its last entry is the loop's total to the last bit
            self.total[name] = float(np.add.accumulate(np.concatenate([[self.total[name]], amounts]))[-1])

    def net_external(self) -> float:
        """Money that entered minus money that left the simulated system."""
        return sum(self.total[k] for k in MONEY_SOURCES) - sum(self.total[k] for k in MONEY_USES)


@dataclass
class GPPool:
    """The region's GPs outside any practice post (newly qualified and locums), available to recruit, and the
    head-count ledger: GPs in practices + ``available`` = ``start`` + ``trained`` - ``left`` at all times."""

    available: int = 0
    start: int = 0  # GPs in practices and in the pool at the start
    trained: int = 0  # trainees who have qualified into the pool since the start
    left: int = 0  # GPs who have retired or left general practice since the start


class PracticeArrays:
    """Per-practice state, one numpy array per attribute (index = practice id = graph node id)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.list_size = np.zeros(n, dtype=np.int64)
        self.n_gps = np.zeros(n, dtype=np.int64)
        self.n_partners = np.zeros(n, dtype=np.int64)  # of n_gps, the partners (at least 1 while n_gps > 0)
        self.reserves = np.zeros(n)
        self.heroic = np.zeros(n, dtype=bool)
        self.status = np.zeros(n, dtype=np.int8)
        self.org = np.full(n, -1, dtype=np.int64)
        self.pcn = np.full(n, -1, dtype=np.int64)  # primary care network (-1 if none), separate from ``org``
        self.ccg = np.zeros(n, dtype=np.int64)
        self.hospital = np.zeros(n, dtype=np.int64)
        self.member_trust = np.zeros(n)  # trust in own organisation's leaders (0 when independent)
        self.benefit_reference = np.zeros(n)  # the membership benefit a member has grown used to (GBP/patient/yr)
        self.evidence = np.zeros(n)  # gross benefit a member has seen, last year's average (GBP/patient/yr)
        self.partner_income = np.zeros(n)  # partners' income per partner FTE, recent average (GBP/year)
        self.months_failing = np.zeros(n, dtype=np.int64)
        # observed each month (derived, kept for faces and the next month's decisions)
        self.pressure = np.ones(n)
        self.leadership = np.zeros(n)

    @property
    def open(self) -> np.ndarray:
        return self.status == PracticeStatus.OPEN


class OrgTable:
    """Organisation state as growable arrays; a row is never deleted, so history stays in place."""

    FIELDS = {
        "form": (np.int8, 0),
        "leadership": (np.int8, 0),
        "founded": (np.int64, -1),
        "dissolved": (np.int64, -1),
        "cause": (np.int8, 0),
        "founder": (np.int64, -1),
        "home_ccg": (np.int64, -1),
        "reserves": (np.float64, 0.0),
        "subscription": (np.float64, 0.0),
        "burnout": (np.float64, 0.0),
        "team": (np.int64, 1),
        "first_benefit": (np.int64, -1),
        "one_off_months": (np.int64, 0),
        "last_one_off": (np.int64, -1),
        "contract_until": (np.int64, -1),
        "services_pp": (np.float64, 0.0),
        "n_contracts": (np.int64, 0),
        "months_no_reserves": (np.int64, 0),
        "months_low_cohesion": (np.int64, 0),
        "months_too_small": (np.int64, 0),
        "cohesion": (np.float64, 0.0),
        "committable": (bool, False),
        "leader": (np.int64, -1),
        "home_hospital": (np.int64, -1),
        "work_done": (np.float64, 0.0),
        "work_needed": (np.float64, 0.0),
        "last_review": (np.int64, -1),
        "asks_taken": (np.int64, 0),
        "asks_delivered": (np.int64, 0),
        "commit_record": (np.float64, 0.0),
        "hospital_trust": (np.float64, 0.5),
        "peak_members": (np.int64, 0),
        "peak_population": (np.int64, 0),
        "leaders_burnt_out": (np.int64, 0),
        "members": (np.int64, 0),
        "population": (np.int64, 0),
        "spans_ccgs": (np.int64, 0),
        "ccg_relationship": (np.float64, 0.5),
        "ccg_grant_months": (np.int64, 0),
    }

    def __init__(self, capacity: int = 64) -> None:
        self.size = 0
        self._views: dict[str, np.ndarray] = {}  # the used part of each column, until the next row is added
        for name, (dtype, fill) in self.FIELDS.items():
            setattr(self, name, np.full(capacity, fill, dtype=dtype))

    def add(self, **values) -> int:
        """Append one organisation and return its id."""
        self._grow(1)
        i = self.size
        for name, value in values.items():
            getattr(self, name)[i] = value
        self.size += 1
        self._views.clear()
        return i

    def add_many(self, n: int, **columns) -> np.ndarray:
        """Append ``n`` organisations at once (each column a scalar or ``n`` values, in order) and return their
        ids: the same rows as :meth:`add` called ``n`` times."""
        first = self.size
        self._grow(n)
        for name, values in columns.items():
            getattr(self, name)[first : first + n] = values
        self.size += n
        self._views.clear()
        return np.arange(first, first + n)

    def _grow(self, n: int) -> None:
        """Make room for ``n`` more rows, doubling the columns' length as often as needed."""
        capacity = len(getattr(self, next(iter(self.FIELDS))))
        if self.size + n <= capacity:
            return
        while self.size + n > capacity:
            capacity = max(2 * capacity, 1)
        for name, (dtype, fill) in self.FIELDS.items():
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def __getstate__(self) -> dict:
        # a copy or pickle gets fresh views of its own columns (a copied view would no longer write through)
        return {**self.__dict__, "_views": {}}

    def view(self, name: str) -> np.ndarray:
        """The used part of one column (a view, writes go through)."""
        try:
            return self._views[name]
        except KeyError:
            v = self._views[name] = getattr(self, name)[: self.size]
            return v

    def count_members(self, group: np.ndarray, list_size: np.ndarray, counted: np.ndarray) -> np.ndarray:
        """Set ``members``, ``population`` and their peaks from the practices ``counted`` (``group[i]`` is each
        practice's row); returns ``counted`` practices' rows."""
        n = self.size
        rows = group[counted]
        pop = np.bincount(rows, list_size[counted], minlength=n)[:n]
        cnt = np.bincount(rows, minlength=n)[:n]
        self.view("population")[:] = pop
        self.view("members")[:] = cnt
        self.view("peak_population")[:] = np.maximum(self.view("peak_population"), pop)
        self.view("peak_members")[:] = np.maximum(self.view("peak_members"), cnt)
        return rows

    @property
    def alive(self) -> np.ndarray:
        return self.view("dissolved") < 0


class PCNTable(OrgTable):
    """Primary care networks (:mod:`gpsim.rules.networks`), a table of their own: a practice's PCN is separate
    from its organisation, so networks never count as organisations."""

    FIELDS = {
        "founded": (np.int64, -1),
        "dissolved": (np.int64, -1),
        "cause": (np.int8, 0),
        "founder": (np.int64, -1),  # the first clinical director's practice
        "director": (np.int64, -1),  # the clinical director's practice
        "home_ccg": (np.int64, -1),
        "home_hospital": (np.int64, -1),
        "members": (np.int64, 0),
        "population": (np.int64, 0),
        "peak_members": (np.int64, 0),
        "peak_population": (np.int64, 0),
        "roles_pp": (np.float64, 0.0),  # additional-roles spending last month, GBP per patient per year
        "asks_taken": (np.int64, 0),
        "asks_delivered": (np.int64, 0),
        "commit_record": (np.float64, 0.0),
        "committable": (bool, False),
        "hospital_trust": (np.float64, 0.5),
        "cohesion": (np.float64, 0.0),
    }
