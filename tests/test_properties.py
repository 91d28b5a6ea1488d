"""Property tests: invariants hold after every month for parameters drawn across their declared ranges.

Parameters are drawn from the one declaration (``gpsim.SPECS``), so a new parameter is covered as soon as it
is declared. Regions are synthetic (small) or a real CCG from the bundled register; scenarios and seeds vary.
After every month :func:`check_month` checks, on top of ``conftest.check_invariants``: money conserved on each
side (practices, organisations) by the named flows of the ledger, flows that only grow, organisation member
counts and populations agreeing with the practice arrays and the networkx graph, and no negative or NaN state.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
from conftest import EXAMPLE_COUNTS, check_invariants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpsim
from gpsim.data import DataWarning
from gpsim.params import SPECS
from gpsim.scenarios import SCENARIOS
from gpsim.state import MONEY_SOURCES, MONEY_TRANSFERS, MONEY_USES

#: Region size and run length are kept small so many examples fit in CI; every other parameter spans its range.
BOUNDED = {
    "n_practices": (10, 70),
    "n_ccgs": (1, 4),
    "years": (0.25, 3.0),
    "region_seed": (0, 1000),
    "network_des_start_month": (0, 36),  # within the runs drawn, so most examples have primary care networks
}
#: Regions drawn: a synthetic one (from the parameters above) or a real CCG of the bundled register (40 practices).
REGIONS = ("synthetic", "synthetic", "00L")
SKIP = {"region", "peer_graph"}  # text: a region or a graph file, not a range to draw from
#: Examples per run (CI default; set GPSIM_PROPERTY_EXAMPLES=1000 for a longer hunt).
EXAMPLES = int(os.environ.get("GPSIM_PROPERTY_EXAMPLES", "200"))

#: Which side of the accounts each named flow moves money into (+) or out of (-).
PRACTICE_SIDE = {
    "capitation": +1,
    "partner_contributions": +1,
    "dissolution_refunds": +1,
    "gp_pay": -1,
    "staff_and_running_costs": -1,
    "practice_fixed_costs": -1,
    "partner_drawings": -1,
    "subscriptions": -1,
    "joining_fees": -1,
    "dissolution_debt_cover": -1,
    "exit_settlement": -1,
}
ORG_SIDE = {
    "pump_priming": +1,
    "recurrent_funding": +1,
    "challenge_fund_wave1": +1,
    "challenge_fund_wave2": +1,
    "vanguards": +1,
    "gp_forward_view": +1,
    "extended_access": +1,
    "mcp_contract": +1,
    "ccg_leadership_development": +1,
    "ccg_development_grants": +1,
    "contract_income": +1,
    "local_services_margin": +1,
    "subscriptions": +1,
    "joining_fees": +1,
    "dissolution_debt_cover": +1,
    "org_debt_written_off": +1,
    "org_running_costs": -1,
    "leadership_team_costs": -1,
    "contract_delivery_costs": -1,
    "service_delivery_costs": -1,
    "member_services": -1,
    "dissolution_refunds": -1,
    "org_residual_returned": -1,
    # primary care networks spend their DES money in the month it arrives (they hold no reserves)
    "network_des": +1,
    "network_des_clinical_directors": -1,
    "network_des_additional_roles": -1,
}
#: Flows that carry a closing practice's reserves, which may be negative (a practice in debt).
SIGNED = {"exit_settlement", "merger_reserves"}
#: Checks made after every month (reported with the number of examples).
PROPERTIES = (
    "patients conserved (closures and mergers move them)",
    "total money = start + sources - uses",
    "practice money changes only by practice-side named flows",
    "organisation money changes only by organisation-side named flows",
    "named flows never decrease (except the signed reserve transfers)",
    "at most one membership per practice, graph member edges = array memberships",
    "organisation member counts and populations = practice arrays = graph degree",
    "dissolved organisations have no members and no money",
    "no negative counts, no NaN or infinite state, trust in [0, 1]",
    "monthly record has no NaN and shares in [0, 1]",
    "relationships per hospital, members-only count <= the no-organisation baseline; each organisation that "
    "cannot commit adds at most one counterpart per hospital",
)


def test_every_named_flow_is_on_a_side():
    """The two side tables cover the ledger exactly: a new flow must be placed before the test can pass."""
    assert set(PRACTICE_SIDE) | set(ORG_SIDE) | {"merger_reserves"} == set(MONEY_SOURCES + MONEY_USES + MONEY_TRANSFERS)
    for name in MONEY_TRANSFERS:  # a transfer inside the system leaves one side and enters the other
        if name != "merger_reserves":
            assert PRACTICE_SIDE[name] == -ORG_SIDE[name], name


def _snapshot(model) -> dict:
    return {
        "ledger": dict(model.ledger.total),
        "practice_money": float(model.practices.reserves.sum()),
        "org_money": float(model.orgs.view("reserves").sum()),
    }


def _close(actual: float, expected: float, scale: float) -> bool:
    return abs(actual - expected) <= 1e-9 * scale + 1e-6


def check_month(model, before: dict) -> dict:
    """Everything that must hold after each month, given the state before it; returns the new snapshot."""
    check_invariants(model)
    pr, o = model.practices, model.orgs
    now = _snapshot(model)
    delta = {k: now["ledger"][k] - before["ledger"][k] for k in now["ledger"]}
    gross = sum(abs(v) for v in delta.values()) + abs(now["practice_money"]) + abs(now["org_money"])
    for k, v in delta.items():
        assert k in SIGNED or v >= 0, f"flow {k} went down by {-v}"
        assert math.isfinite(v), k
    practice_flow = sum(sign * delta[k] for k, sign in PRACTICE_SIDE.items())
    org_flow = sum(sign * delta[k] for k, sign in ORG_SIDE.items())
    assert _close(now["practice_money"] - before["practice_money"], practice_flow, gross)
    assert _close(now["org_money"] - before["org_money"], org_flow, gross)
    # organisation counts: arrays, table and graph agree
    member = pr.org >= 0
    assert pr.status[member].max(initial=0) == 0, "a closed practice is still a member"
    counts = np.bincount(pr.org[member], minlength=o.size)[: o.size]
    pops = np.bincount(pr.org[member], pr.list_size[member], minlength=o.size)[: o.size]
    assert (o.view("members") == counts).all()
    assert (o.view("population") == pops).all()
    assert (o.view("peak_members") >= counts).all()
    for k in np.flatnonzero(o.alive):
        node = model.ids.org(k)
        kinds = [d for _, _, d in model.graph.edges(node, data="kind")]
        assert kinds.count("member") == counts[k]
    # no negative or NaN state
    for name in ("members", "population", "peak_members", "peak_population"):
        assert (o.view(name) >= 0).all(), name
    for arr in (pr.benefit_reference, pr.member_trust):
        assert np.isfinite(arr).all()
    assert ((pr.member_trust >= 0) & (pr.member_trust <= 1)).all()
    assert (pr.months_failing >= 0).all()
    return now


def _strategy(spec):
    if spec.name in BOUNDED:
        lo, hi = BOUNDED[spec.name]
        return st.integers(lo, hi) if spec.kind is int else st.floats(lo, hi)
    if spec.choices:
        return st.sampled_from(spec.choices)
    if spec.kind is bool:
        return st.booleans()
    if spec.kind is int:
        return st.integers(int(spec.low), int(min(spec.high, spec.low + 10_000)))
    return st.floats(spec.low, spec.high, allow_nan=False, allow_infinity=False)


STRATEGIES = {s.name: _strategy(s) for s in SPECS if s.name not in SKIP}
PARAMS = st.fixed_dictionaries(STRATEGIES)


def test_every_declared_parameter_is_drawn():
    assert set(STRATEGIES) | SKIP == {s.name for s in SPECS}
    for s in SPECS:  # every declared numeric range is finite, so it can be drawn from
        if s.name not in SKIP and s.kind in (int, float):
            assert s.low is not None and s.high is not None and s.low <= s.high, s.name


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=PARAMS,
    region=st.sampled_from(REGIONS),
    scenario=st.sampled_from(sorted(set(SCENARIOS) - {"england-2013", "england-2021"})),
    seed=st.integers(0, 2**32),
)
def test_invariants_across_the_parameter_space(values, region, scenario, seed):
    if values["n_ccgs"] > values["n_practices"]:
        values["n_ccgs"] = values["n_practices"]
    params = gpsim.scenario(scenario).replace(**values, region=region)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the real CCG's notes (dropped tiny practices)
        model = gpsim.GPModel(params, rng=seed)
    state = check_month(model, _snapshot(model))
    assert model.practices.list_size.sum() == model.initial_population
    for _ in range(params.n_months):
        model.step()
        state = check_month(model, state)
    for row in model.records:
        assert all(not (isinstance(v, float) and math.isnan(v)) for k, v in row.items()), row
        assert 0.0 <= row["share_practices_in_org"] <= 1.0
        assert 0.0 <= row["share_population_in_org"] <= 1.0
        members_only = row["relationships_per_hospital_members_only_mean"]
        assert members_only <= row["relationships_baseline_mean"] + 1e-9
        # an organisation or a network that cannot commit adds at most one counterpart per hospital
        most = members_only + row["n_orgs"] + row["n_pcns"] + 1e-9
        assert members_only - 1e-9 <= row["relationships_per_hospital_mean"] <= most
        assert (
            0.0
            <= row["share_practices_in_pcn_and_org"]
            <= min(row["share_practices_in_pcn"], row["share_practices_in_org"]) + 1e-12
        )
    counts = EXAMPLE_COUNTS.setdefault("invariants", {"examples": 0, "months": 0, "properties": len(PROPERTIES)})
    counts["examples"] += 1
    counts["months"] += params.n_months
    counts.setdefault("regions", set()).add(region)


def test_savings_never_exceed_staff_costs():
    """Back-office savings come out of staff and running costs: even when the declared ranges would let savings
    per patient exceed those costs, the use of money never turns into a source."""
    params = gpsim.scenario("baseline").replace(
        n_practices=30, years=3.0, staff_cost_per_patient=0.0, backoffice_saving_per_patient=30.0, founding_rate=0.2
    )
    model = gpsim.GPModel(params, rng=1)
    before = model.ledger.total["staff_and_running_costs"]
    worst = 0.0
    for _ in range(params.n_months):
        model.step()
        now = model.ledger.total["staff_and_running_costs"]
        worst = min(worst, now - before)
        before = now
    assert worst >= 0, f"staff_and_running_costs fell by {-worst:.2f} GBP in a month"
