"""The output schema: every column a run or a sweep writes, with its type, unit, meaning and when it is missing.

Declared once here and used three ways: the sweep store writes every Parquet part with the Arrow schema built
from these declarations (so every part of a table has the same column types), ``docs/OUTPUTS.md`` is generated
from them (``python -m gpsim.outputs > docs/OUTPUTS.md``; a test checks it is current), and a test fails when a
run writes a column that is not described here.

**Missing values.** One convention everywhere: a value that does not exist (an organisation that never
dissolved has no dissolution month; survival when no organisation qualifies) is *missing* -- null in Parquet
and JSON, an empty cell in CSV, ``<NA>`` (whole numbers and text) or ``NaN`` (decimals) in pandas, ``NaN`` in the
``Results.final`` dictionary. No sentinel values such as -1 or "" are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from gpsim.state import MONEY_SOURCES, MONEY_TRANSFERS, MONEY_USES, DissolutionCause, LeadershipKind

#: How a column's kind is stored in Parquet.
ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "date": pa.timestamp("ms"),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "list<int>": pa.list_(pa.int64()),
}


@dataclass(frozen=True)
class Column:
    """One output column (or one key of ``final`` / the ledger).

    Attributes:
        name: the column name.
        kind: ``int``, ``float``, ``bool``, ``text``, ``date``, ``timestamp`` or ``list<int>``.
        unit: the unit ("" for counts and plain numbers, "share" for 0-1 fractions).
        meaning: what it is, in one sentence.
        missing: when the value is missing ("" = never missing).
    """

    name: str
    kind: str
    unit: str
    meaning: str
    missing: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.kind]


def _cols(*rows: tuple) -> tuple[Column, ...]:
    return tuple(Column(*r) for r in rows)


NO_ORG = "no organisation is alive (the mean of nothing)"

#: ``Results.steps``: one row per month, month 0 being the starting state.
STEPS = _cols(
    ("step", "int", "month", "Months since the start (0 = the starting state)."),
    ("date", "date", "", "The first day of the simulated month."),
    ("n_practices_open", "int", "practices", "Practices open at the end of the month."),
    ("n_practices_closed_cum", "int", "practices", "Practices closed or merged away since the start."),
    ("n_closures_cum", "int", "practices", "Practices closed since the start (patients re-registered elsewhere)."),
    ("n_mergers_cum", "int", "practices", "Practices merged into a neighbour since the start."),
    ("share_practices_in_org", "float", "share", "Share of open practices that belong to an organisation."),
    ("share_population_in_org", "float", "share", "Share of registered patients whose practice is in an organisation."),
    ("n_orgs", "int", "organisations", "Organisations alive at the end of the month."),
    ("n_orgs_failed_cum", "int", "organisations", "Organisations dissolved since the start."),
    ("n_orgs_founded_cum", "int", "organisations", "Organisations founded since the start (alive or not)."),
    ("org_size_mean", "float", "patients", f"Mean registered population of live organisations; 0 when {NO_ORG}."),
    ("mean_list_size", "float", "patients", "Mean registered list size of open practices."),
    ("mean_workload_pressure", "float", "ratio", "Mean demand over capacity of open practices (1 = at capacity)."),
    (
        "relationships_per_hospital_mean",
        "float",
        "counterparts",
        "Distinct general-practice counterparts a hospital must keep, mean over hospitals: an organisation able "
        "to commit its members counts once; one that cannot counts as its members plus one (the hospital deals "
        "with it and still with every member); a practice outside any organisation counts as itself.",
    ),
    ("relationships_per_hospital_max", "float", "counterparts", "The same, for the hospital with the most."),
    (
        "relationships_baseline_mean",
        "float",
        "counterparts",
        "Counterparts per hospital if no practice were in an organisation (open practices per hospital, mean).",
    ),
    (
        "relationships_per_hospital_members_only_mean",
        "float",
        "counterparts",
        "Counterparts per hospital by the first version's convention: an organisation that cannot commit its "
        "members counts as its members only (adds no counterpart of its own).",
    ),
    (
        "relationships_per_community_trust_mean",
        "float",
        "counterparts",
        "Distinct general-practice counterparts a community trust must keep, mean over community trusts (the "
        "hospitals' counting rule over each community trust's area).",
    ),
    (
        "share_population_committable",
        "float",
        "share",
        "Share of registered patients in organisations whose leaders can commit their members.",
    ),
    ("share_orgs_committable", "float", "share", f"Share of live organisations able to commit; 0 when {NO_ORG}."),
    (
        "share_orgs_self_funding",
        "float",
        "share",
        f"Share of live organisations whose recurrent income covers running costs; 0 when {NO_ORG}.",
    ),
    (
        "share_orgs_delivering",
        "float",
        "share",
        f"Share of live organisations that have delivered a first benefit; 0 when {NO_ORG}.",
    ),
    ("mean_cohesion", "float", "0-1", f"Mean cohesion (members' trust in their leaders); 0 when {NO_ORG}."),
    ("external_funding_month", "float", "GBP", "One-off and recurrent national money paid to organisations."),
    ("contract_income_month", "float", "GBP", "Contract income paid to organisations this month."),
    ("n_contracts_active", "int", "organisations", "Live organisations holding a hospital or CCG contract."),
    ("leaders_burnt_out_cum", "int", "leaders", "Organisation leaders burnt out since the start."),
    ("population", "float", "patients", "Registered patients of open practices."),
    ("gp_fte_per_1000", "float", "FTE per 1,000 patients", "Full-time-equivalent GPs per 1,000 patients."),
    (
        "share_gp_fte_partners",
        "float",
        "share",
        "Share of the GP time in practices given by partners (the rest by salaried GPs).",
    ),
    (
        "gp_pool_available",
        "int",
        "GPs",
        "GPs without a practice post (newly qualified and locums) who could be recruited, at the month's end.",
    ),
    ("n_gps_trained_cum", "int", "GPs", "Newly qualified GPs who have joined the region since the start."),
    (
        "n_gps_left_cum",
        "int",
        "GPs",
        "GPs who have retired or left general practice since the start, from practices or without a post.",
    ),
    ("n_ccgs", "int", "CCGs", "CCGs with at least one open practice."),
    (
        "share_practices_in_pcn",
        "float",
        "share",
        "Share of open practices in a primary care network (counted apart from organisations: a practice can be "
        "in a network and in an organisation at once).",
    ),
    ("n_pcns", "int", "networks", "Primary care networks in operation (with at least one member)."),
    (
        "share_practices_in_pcn_and_org",
        "float",
        "share",
        "Share of open practices in both a primary care network and an organisation.",
    ),
    (
        "share_pcns_committable",
        "float",
        "share",
        "Share of primary care networks able to commit their members (a record of delivered hospital asks); 0 "
        "when no network exists.",
    ),
    ("n_pcn_asks", "int", "asks", "Asks hospitals made of primary care networks this month."),
    ("network_des_month", "float", "GBP", "Network DES money paid to primary care networks this month."),
    (
        "share_population_mcp",
        "float",
        "share",
        "Share of registered patients covered by a whole-population contract (multispecialty community provider or "
        "primary and acute care system) that a commissioner procured from an at-scale provider.",
    ),
    ("share_practices_in_network", "float", "share", "Share of open practices in a network."),
    ("share_practices_in_federation", "float", "share", "Share of open practices in a federation."),
    ("share_practices_in_super_partnership", "float", "share", "Share of open practices in a super-partnership."),
    ("n_hospital_asks", "int", "asks", "Asks hospitals made of organisations this month."),
    (
        "share_orgs_engaged",
        "float",
        "share",
        "Share of live organisations their home hospital actively worked with this month (the rest are beyond "
        f"its capacity and get no asks); 0 when {NO_ORG}.",
    ),
    (
        "share_asks_delivered",
        "float",
        "share",
        "Share of all hospital asks since the start that the organisation's members delivered (0 before the "
        "first ask).",
    ),
)

#: ``Results.orgs``: one row per organisation ever formed, then one per primary care network (``kind``).
ORGS = _cols(
    (
        "org",
        "int",
        "",
        "Organisation id (0, 1, ... in order of founding); primary care networks are numbered on their own, so "
        "a row is identified by kind and org together.",
    ),
    (
        "kind",
        "text",
        "",
        "organisation (a network, federation or super-partnership practices chose to form) or pcn (a primary "
        "care network of the Network DES).",
    ),
    ("form", "text", "", "Network, federation or super-partnership.", "the row is a primary care network"),
    ("leadership", "text", "", "Heroic (one GP) or distributed (a team).", "the row is a primary care network"),
    ("founded_step", "int", "month", "Month it was founded."),
    ("dissolved_step", "int", "month", "Month it dissolved.", "it was still alive at the end of the run"),
    (
        "cause",
        "text",
        "",
        "Why it dissolved: " + ", ".join(c.label for c in DissolutionCause if c is not DissolutionCause.NONE) + ".",
        "it was still alive at the end of the run",
    ),
    ("peak_members", "int", "practices", "Most member practices it ever had."),
    ("peak_population", "int", "patients", "Largest registered population it ever had."),
    ("members", "int", "practices", "Member practices at the end of the run (0 once dissolved)."),
    ("population", "int", "patients", "Registered population at the end of the run (0 once dissolved)."),
    (
        "first_benefit_step",
        "int",
        "month",
        "Month it first delivered a benefit to members.",
        "it never delivered a benefit (always for a primary care network, whose staff relieve members from its "
        "first month)",
    ),
    ("months_external_funding", "int", "months", "Months it received one-off (pump-priming) money."),
    ("last_external_step", "int", "month", "Last month it received one-off money.", "it never had one-off money"),
    ("cohesion", "float", "0-1", "Members' trust in its leaders at the end of the run (0 once dissolved)."),
    ("reserves", "float", "GBP", "Money in reserve at the end of the run (0 once dissolved)."),
    ("leaders_burnt_out", "int", "leaders", "Its leaders who burnt out."),
    ("n_contracts", "int", "contracts", "Contracts it won."),
    (
        "founder",
        "text",
        "",
        "Code of the practice that founded it (a primary care network: its first clinical director's practice).",
    ),
    ("subscription", "float", "GBP per patient per year", "Its members' yearly subscription at the end."),
    ("asks_taken", "int", "asks", "Hospital asks it took on."),
    ("asks_delivered", "int", "asks", "Hospital asks its members delivered."),
    ("commit_record", "float", "0-1", "Its track record of delivered asks at the end (0 = none yet)."),
    ("can_commit_members", "bool", "", "Whether it could commit its members at the end (False once dissolved)."),
    (
        "ccg_relationship",
        "float",
        "0-1",
        "Its CCG's relationship with it at the end (raised by delivered asks, lowered by failed ones).",
        "a primary care network (CCGs hold relationships with organisations)",
    ),
    (
        "spans_ccgs",
        "int",
        "CCGs",
        "CCGs its members were in at the end (fewer after mergers); 0 once dissolved and for a primary care network.",
    ),
    ("ccg_grant_months", "int", "months", "Months it received a CCG development grant (0 for a network)."),
)

#: ``Results.closures``: one row per practice that closed or merged.
CLOSURES = _cols(
    ("step", "int", "month", "Month the practice closed or merged."),
    ("practice", "int", "", "Practice id (index into the region's practices)."),
    ("code", "text", "", "Practice code (the NHS code for a real region)."),
    ("list_size", "int", "patients", "Registered patients at exit."),
    ("n_gps", "int", "GPs", "GPs (headcount) at exit."),
    ("cause", "text", "", "Why: no gps, workload or finances."),
    ("kind", "text", "", "Closure (patients re-registered with neighbours) or merger (taken over by one)."),
    ("into", "int", "", "The practice it merged into.", "it closed rather than merged"),
)

#: ``Results.org_money`` (and ``GPModel.org_money()``): each organisation's money in and out, month by month.
ORG_MONEY = _cols(
    ("step", "int", "month", "Month of the run the money moved in (the ``steps`` row of the same month)."),
    ("org", "int", "", "Organisation id (the ``org`` of its ``orgs`` row of kind organisation)."),
    ("subscriptions", "float", "GBP", "Members' subscriptions it received that month (money in)."),
    (
        "one_off_funding",
        "float",
        "GBP",
        "One-off programme money it received that month: pump-priming, Challenge Fund, Vanguard, GP Forward View, "
        "extended access, CCG development grants (money in).",
    ),
    ("recurrent_funding", "float", "GBP", "Recurrent network payment it received that month (money in)."),
    ("contract_income", "float", "GBP", "Contract income from hospitals and CCGs that month (money in)."),
    ("local_services_margin", "float", "GBP", "Margin on locally commissioned services that month (money in)."),
    ("running_costs", "float", "GBP", "Its central running costs that month (money out)."),
    ("leadership_team_costs", "float", "GBP", "Cost of its distributed leadership team that month (money out)."),
    ("contract_delivery_costs", "float", "GBP", "Cost of delivering its contracts that month (money out)."),
    (
        "service_delivery_costs",
        "float",
        "GBP",
        "Cost of delivering programme-funded services such as extended access that month (money out).",
    ),
    ("member_services", "float", "GBP", "Reserves above its target spent on services for members (money out)."),
    (
        "net",
        "float",
        "GBP",
        "Money in minus money out that month (what its reserves changed by, before joining fees and founding grants).",
    ),
)

#: ``GPModel.practice_table()``: each practice now (a running model's state, for pages and notebooks).
PRACTICES = _cols(
    ("practice", "int", "", "Practice id (index into the region's practices)."),
    ("code", "text", "", "Practice code (the NHS code for a real region)."),
    ("ccg", "text", "", "Code of its CCG."),
    ("hospital", "int", "", "Index of the hospital whose catchment it is in."),
    ("open", "bool", "", "Whether it is open (False once closed or merged)."),
    ("org", "int", "", "Its organisation's id (``orgs``).", "it is in no organisation, or closed"),
    ("pcn", "int", "", "Its primary care network's id (``orgs`` rows of kind pcn).", "it is in no network, or closed"),
    ("list_size", "int", "patients", "Registered patients."),
    ("n_gps", "int", "GPs", "GPs (headcount)."),
    ("reserves", "float", "GBP", "Money the practice holds in reserve."),
    ("workload_pressure", "float", "", "Demand over capacity (1 = at capacity)."),
)

#: ``final`` keys that are not a copy of the last month's ``steps`` value.
_FINAL_OWN = [
    ("months", "int", "months", "Length of the run."),
    ("mcp_contracts_awarded", "int", "contracts", "Whole-population MCP/PACS contracts commissioners awarded."),
    (
        "mcp_procurements_failed",
        "int",
        "procurements",
        "MCP/PACS procurements that found no provider able to be the foundation (none was awarded).",
    ),
    ("orgs_founded", "int", "organisations", "Organisations founded during the run."),
    ("orgs_dissolved", "int", "organisations", "Organisations dissolved during the run."),
    *(
        (
            f"orgs_dissolved_{c.name.lower()}",
            "int",
            "organisations",
            f"Organisations dissolved because of {c.label}.",
        )
        for c in DissolutionCause
        if c is not DissolutionCause.NONE
    ),
    *(
        row
        for m in (12, 24, 36)
        for row in (
            (
                f"survival_{m}m_after_one_off",
                "float",
                "share",
                f"Share of organisations still alive {m} months after their one-off money ended (of those whose "
                f"money ended at least {m} months before the end and that did not dissolve in its last month).",
                f"no organisation qualifies (survival_{m}m_after_one_off_n = 0)",
            ),
            (
                f"survival_{m}m_after_one_off_n",
                "int",
                "organisations",
                f"How many organisations the {m}-month survival share counts.",
            ),
        )
    ),
    *(
        row
        for k in LeadershipKind
        for row in (
            (f"orgs_{k.label}", "int", "organisations", f"Organisations founded with {k.label} leadership."),
            (
                f"dissolution_rate_{k.label}_per_year",
                "float",
                "per organisation-year",
                f"Dissolutions of {k.label}-led organisations per year alive.",
                f"no {k.label}-led organisation was ever alive",
            ),
            (
                f"dissolution_rate_{k.label}_after_24m_per_year",
                "float",
                "per organisation-year",
                f"Dissolutions of {k.label}-led organisations per year alive beyond their first 24 months.",
                f"no {k.label}-led organisation lived beyond 24 months",
            ),
        )
    ),
    (
        "median_delivery_delay_months",
        "float",
        "months",
        "Median months from founding to first delivered benefit.",
        "no organisation delivered a benefit",
    ),
    ("n_closures", "int", "practices", "Practices closed during the run (= last n_closures_cum)."),
    ("n_mergers", "int", "practices", "Practices merged during the run (= last n_mergers_cum)."),
    ("leaders_burnt_out", "int", "leaders", "Leaders burnt out during the run (= last leaders_burnt_out_cum)."),
    ("relationships_per_hospital_start", "float", "counterparts", "relationships_per_hospital_mean at month 0."),
    (
        "practices_change_per_year",
        "float",
        "per year",
        "Average yearly rate of change of open practices (-0.02 = 2% fewer each year).",
    ),
    ("population_start", "float", "patients", "Registered patients at month 0."),
    ("mean_list_size_start", "float", "patients", "Mean list size at month 0."),
]
#: ``steps`` columns that ``final`` carries under another name (cumulative counts at the end).
FINAL_RENAMED = {
    "n_closures_cum": "n_closures",
    "n_mergers_cum": "n_mergers",
    "leaders_burnt_out_cum": "leaders_burnt_out",
}

#: ``Results.final``: end-of-run figures. A key shared with ``steps`` is that column's value in the last month.
FINAL = (
    *(
        Column(
            c.name,
            c.kind,
            c.unit,
            "The last month's value of the steps column of the same name: " + c.meaning[0].lower() + c.meaning[1:],
            c.missing,
        )
        for c in STEPS
        if c.name not in ("date", *FINAL_RENAMED)
    ),
    *_cols(*_FINAL_OWN),
)

_LEDGER_MEANING = {
    "capitation": "Core practice income from registered patients (source).",
    "partner_contributions": "Money partners put into their practice to cover a loss (source).",
    "local_services_margin": "Margin organisations earn on locally commissioned services (source).",
    "service_delivery_costs": "Cost of delivering programme-funded services such as extended access (use).",
    "pump_priming": "One-off pump-priming paid to organisations (source; the generic programme of the parameters).",
    "recurrent_funding": "Recurrent network payment paid to organisations (source).",
    "challenge_fund_wave1": "Prime Minister's Challenge Fund wave 1 (2014/15) paid to the chosen pilots (source).",
    "challenge_fund_wave2": "Prime Minister's Challenge Fund wave 2 (2015/16) paid to the chosen pilots (source).",
    "vanguards": "Vanguard money (2015/16-2017/18) paid to organisations of the chosen MCP/PACS sites (source).",
    "gp_forward_view": "GP Forward View transformational support CCGs released to at-scale providers (source).",
    "extended_access": "Extended access CCGs commissioned from at-scale providers (source; most of it is spent "
    "delivering the appointments, see service_delivery_costs).",
    "mcp_contract": "What providers kept from whole-population MCP/PACS contracts (source).",
    "ccg_leadership_development": "Leadership-development grants CCGs paid new organisations (source).",
    "ccg_development_grants": "Development grants CCGs paid new organisations from their budgets (source).",
    "contract_income": "Contract income paid to organisations by hospitals and CCGs (source).",
    "org_debt_written_off": "Debts of dissolved organisations that nobody paid (source: money the system absorbed).",
    "gp_pay": "Pay of salaried GPs (use; partners are paid from the profit, as drawings).",
    "staff_and_running_costs": "Practices' staff and running costs (use).",
    "practice_fixed_costs": "Practices' fixed costs: premises and the like (use).",
    "partner_drawings": "Profit drawn by practice partners (use).",
    "exit_settlement": "Reserves of closing practices settled on exit (use).",
    "org_running_costs": "Organisations' central running costs (use).",
    "leadership_team_costs": "Cost of distributed leadership teams (use).",
    "contract_delivery_costs": "Cost of delivering contracts (use).",
    "org_residual_returned": "Reserves of dissolved organisations paid out (use).",
    "member_services": "Services organisations provided to their members (use).",
    "joining_fees": "Joining fees paid by practices to organisations (transfer).",
    "subscriptions": "Members' subscriptions paid to their organisations (transfer).",
    "dissolution_refunds": "Reserves of dissolved organisations refunded to members (transfer).",
    "dissolution_debt_cover": "Debts of dissolved organisations covered by members (transfer).",
    "merger_reserves": "Reserves moved to the practice a merging practice joins (transfer).",
    "network_des": "Network DES money paid to primary care networks (source).",
    "network_des_clinical_directors": "What primary care networks paid their clinical directors (use).",
    "network_des_additional_roles": "What primary care networks spent on additional-roles staff (use).",
}

#: ``Results.ledger``: cumulative money flows of the run by name. Sources enter the simulated system, uses leave
#: it and transfers move money inside it.
LEDGER = tuple(
    Column(name, "float", "GBP", _LEDGER_MEANING.get(name, "")) for name in MONEY_SOURCES + MONEY_USES + MONEY_TRANSFERS
)

# --- sweep tables -------------------------------------------------------------------------------------------
#: Stands for one column per varied parameter, typed as the parameter is declared (``gpsim params``).
PARAMETER = Column("<parameter>", "parameter", "as declared", "One column per varied parameter, with its value.")

_RUN_KEY = Column("run_key", "text", "", "The run: point id and replicate, e.g. 3f2a...-r0.")
_POINT = Column("point_id", "text", "", "The design point: 16 hex digits of the hash of its parameter values.")
_REPLICATE = Column("replicate", "int", "", "Replicate number at the point (0, 1, ...).")

SWEEP_DESIGN = (
    Column("row", "int", "", "Design row (a sampled design can repeat a point after rounding)."),
    _POINT,
    PARAMETER,
)
SWEEP_RUNS = (
    _RUN_KEY,
    _POINT,
    _REPLICATE,
    Column("seed_entropy", "int", "", "The experiment's root seed (the SeedSequence entropy)."),
    Column("seed_spawn_key", "list<int>", "", "The run's SeedSequence spawn key: [point hash, replicate]."),
    PARAMETER,
    Column("status", "text", "", "ok or failed."),
    Column("error", "text", "", "The exception and traceback of a failed run.", "the run succeeded"),
    Column("attempt", "int", "", "Which attempt this row is (1 = first run; more after --retry-failed)."),
    Column("wall_seconds", "float", "seconds", "Wall time of the run.", "the engine lost the run"),
    Column("worker", "text", "", "The worker that ran it (Dask address, or host:pid).", "the engine lost the run"),
    Column("finished", "timestamp", "UTC", "When the run finished."),
)
_RUN_ID = (_RUN_KEY, _POINT, _REPLICATE, PARAMETER)
SWEEP_FINAL = (_RUN_KEY, *FINAL)
SWEEP_STEPS = (_RUN_KEY, *STEPS)
SWEEP_ORGS = (*_RUN_ID, *ORGS)
SWEEP_CLOSURES = (*_RUN_ID, *CLOSURES)

#: Every table, in the order docs/OUTPUTS.md lists them: (title, where, columns, what a row is).
TABLES: dict[str, tuple[str, tuple[Column, ...], str]] = {
    "steps": ("Results.steps, steps.parquet", STEPS, "one row per month from month 0"),
    "orgs": (
        "Results.orgs, orgs.parquet",
        ORGS,
        "one row per organisation ever formed, then one per primary care network",
    ),
    "closures": ("Results.closures, closures.parquet", CLOSURES, "one row per practice closure or merger"),
    "org money": (
        "Results.org_money, org_money.parquet; GPModel.org_money() while running",
        ORG_MONEY,
        "one row per organisation and month in which it moved any money; money that moves only when an "
        "organisation is founded or dissolved (joining fees, a leadership-development grant, refunds and debts) is "
        "in the ledger alone",
    ),
    "final": ('Results.final, final.json "final"', FINAL, "end-of-run figures of one run (one value per key)"),
    "ledger": ('Results.ledger, final.json "ledger"', LEDGER, "cumulative money flows of one run, by name"),
    "practice table": ("GPModel.practice_table(), while a model runs", PRACTICES, "one row per practice, now"),
    "sweep design": ("sweep folder: design.parquet", SWEEP_DESIGN, "one row per design row"),
    "sweep runs": ("sweep folder: runs/*.parquet", SWEEP_RUNS, "one row per run (a retry replaces the failed row)"),
    "sweep retried": (
        "sweep folder: retried/*.parquet",
        SWEEP_RUNS,
        "one row per failed attempt that a later --retry-failed attempt replaced in runs/",
    ),
    "sweep final": ("sweep folder: final/*.parquet", SWEEP_FINAL, "one row per successful run"),
    "sweep steps": (
        "sweep folder: steps/*.parquet",
        SWEEP_STEPS,
        "one row per kept month of each successful run ([outputs] steps)",
    ),
    "sweep orgs": ("sweep folder: orgs/*.parquet", SWEEP_ORGS, "one row per organisation of each successful run"),
    "sweep closures": (
        "sweep folder: closures/*.parquet",
        SWEEP_CLOSURES,
        "one row per practice closure or merger of each successful run",
    ),
}


def names(table: str) -> set[str]:
    """The described column names of ``table`` (a key of :data:`TABLES`), without the parameter placeholder."""
    return {c.name for c in TABLES[table][1] if c is not PARAMETER}


def by_name(table: str) -> dict[str, Column]:
    return {c.name: c for c in TABLES[table][1] if c is not PARAMETER}


def markdown() -> str:
    """docs/OUTPUTS.md: every table with every column's type, unit, meaning and when it is missing."""
    lines = [
        "# Outputs",
        "",
        "Generated from the one declaration in `gpsim/outputs.py` by `python -m gpsim.outputs > docs/OUTPUTS.md`",
        "(a test checks it is current, and another fails when a run writes a column that is not described here).",
        "",
        "**Missing values.** One convention everywhere: a value that does not exist is *missing* -- null in Parquet",
        "and JSON, an empty cell in CSV, `<NA>` (whole numbers, text) or `NaN` (decimals) in pandas, and `NaN` in the",
        "`Results.final` dictionary. The *missing when* column says when; an empty cell there means never missing.",
        "No sentinel values (-1, empty text) are used. One exception remains in `steps`: the means over live",
        "organisations (`org_size_mean`, `share_orgs_committable`, `share_orgs_self_funding`, `share_orgs_delivering`,",
        "`mean_cohesion`) are 0 in a month when no organisation is alive; they are to become missing too.",
        "",
        "**Types.** `int` is a 64-bit integer, `float` a 64-bit decimal, `text` a UTF-8 string, `date` a timestamp",
        "(milliseconds, no time zone) at the start of the month, `timestamp` a UTC timestamp, `list<int>` a list of",
        "integers. Every Parquet part of a sweep table has the same Arrow schema, so `pandas.read_parquet(folder)` and",
        "DuckDB's `read_parquet('folder/*.parquet')` read a sweep folder as it is. `<parameter>` stands for one",
        "column per varied parameter, typed as the parameter is declared (docs/PARAMETERS.md): whole-number",
        "parameters are `int`, others `float`, `bool` or `text`.",
        "",
        "`share` means a fraction between 0 and 1; GBP are pounds sterling, nominal; months count from the start",
        "of the run (month 0 is the starting state).",
        "",
    ]
    for key, (where, columns, rows) in TABLES.items():
        lines += [
            f"## {key}",
            "",
            f"{where}: {rows}.",
            "",
            "| column | type | unit | meaning | missing when |",
            "|---|---|---|---|---|",
        ]
        for c in columns:
            lines.append(f"| `{c.name}` | {c.kind} | {c.unit} | {c.meaning} | {c.missing} |")
        lines.append("")
    return "\n".join(lines)


def parameter_arrow_type(kind: type) -> pa.DataType:
    """The Arrow type of a parameter declared with Python type ``kind``."""
    return {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}[kind]


if __name__ == "__main__":
    print(markdown())
