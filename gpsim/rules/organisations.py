"""Organisations: subscription plans and members' answer, set-up work and delivery, dissolution (ODD 7.4, 7.9).

An organisation sets its subscription once a year from its plan (and at once if its reserves run out):
enough to cover its running costs, less the other income it expects, and to restore its reserve target within
the year. Members accept a subscription up to ``willingness_to_pay_per_patient`` plus ``benefit_share_paid`` of
the benefit they have seen; above that, each may leave, the more likely the less it trusts the leaders.
Before an organisation delivers anything the only benefit members can have seen is the services its reserve
policy funds, so evidence is partial early on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from gpsim.state import FORM_WORK, DissolutionCause


@dataclass
class Review:
    """This month's subscription reviews."""

    due: np.ndarray  # per organisation: reviewed this month
    proposed: np.ndarray  # per organisation: the subscription the plan needs (GBP per patient per year)
    refusers: np.ndarray  # per practice: refuses the new subscription and leaves


def subscription_plan(om, population: np.ndarray, reserves_after: np.ndarray, p) -> np.ndarray:
    """The yearly subscription per patient each organisation's plan needs (never below zero).

    Costs for the next year (running costs, the leadership team) less the other income it expects (recurrent
    programmes, contract margins, local services, the one-off money still due), plus what it takes to bring
    reserves back to ``org_reserve_target_months`` of costs within a year (or within the target's own horizon,
    if longer: a two-year reserve is rebuilt over two years). Above the target, the plan draws reserves down.
    """
    costs = om.monthly_costs * 12.0
    other = (om.recurrent - om.service_costs + om.contract - om.delivery + om.local) * 12.0 + om.one_off_next_year
    # the reserve gap is closed over a year, or over the target's own horizon if that is longer
    gap = (
        (p.org_reserve_target_months * om.monthly_costs - reserves_after)
        * 12.0
        / max(12.0, p.org_reserve_target_months)
    )
    need = costs - other + gap
    return np.maximum(np.divide(need, population, out=np.zeros(len(need)), where=population > 0), 0.0)


def acceptable_subscription(evidence: np.ndarray, p) -> np.ndarray:
    """The most each practice will pay per patient per year: its unconditional willingness plus a share of the
    benefit it has seen."""
    return p.willingness_to_pay_per_patient + p.benefit_share_paid * np.maximum(evidence, 0.0)


def review(model, om, population: np.ndarray, members: np.ndarray, month: int, rng: np.random.Generator) -> Review:
    """Subscription reviews this month: on each anniversary of founding, or when reserves run out.

    Each member of a reviewing organisation whose acceptable subscription is below the proposal refuses it with
    probability ``1 - trust in the leaders`` and leaves; the others pay the new rate from next month.
    """
    p, o, pr = model.p, model.orgs, model.practices
    alive = o.alive & (members > 0)
    age = month - o.view("founded")
    due = alive & (((age > 0) & (age % 12 == 0)) | ((om.reserves_after < 0) & (o.view("last_review") < month)))
    proposed = np.where(due, subscription_plan(om, population, om.reserves_after, p), o.view("subscription"))
    member = pr.open & (pr.org >= 0)
    u = rng.random(pr.n)
    if o.size == 0:
        return Review(due=due, proposed=proposed, refusers=np.zeros(pr.n, dtype=bool))
    k = np.maximum(pr.org, 0)
    refuses = member & due[k] & (proposed[k] > acceptable_subscription(pr.evidence, p)) & (u < 1.0 - pr.member_trust)
    return Review(due=due, proposed=proposed, refusers=refuses)


def setup_work(form: np.ndarray, members: np.ndarray, p) -> np.ndarray:
    """Work (session-months) an organisation must do before it delivers: a base plus an amount per member,
    times the form's multiplier (a loose network needs less, a super-partnership more)."""
    return FORM_WORK[form] * (p.setup_work_base + p.setup_work_per_member * members)


def dissolution_cause(
    alive: np.ndarray,
    members_after: np.ndarray,
    months_no_reserves: np.ndarray,
    months_low_cohesion: np.ndarray,
    months_too_small: np.ndarray,
    leadership_gone: np.ndarray,
    p,
) -> np.ndarray:
    """The documented reason each organisation dissolves this month (``DissolutionCause.NONE`` to carry on).

    An organisation left with no members dissolves at once; one with a single member, low cohesion or no
    reserves for ``collapse_months`` (``reserves_exhausted_months``) months; one whose leadership is gone at once.
    """
    cause = np.full(len(alive), DissolutionCause.NONE, dtype=np.int8)
    rules = [
        ((months_too_small >= p.collapse_months) | (members_after <= 0), DissolutionCause.TOO_FEW_MEMBERS),
        (months_low_cohesion >= p.collapse_months, DissolutionCause.COHESION_COLLAPSE),
        (months_no_reserves >= p.reserves_exhausted_months, DissolutionCause.RESERVES_EXHAUSTED),
        (leadership_gone, DissolutionCause.LEADERSHIP_GONE),
    ]
    for hit, why in rules:  # later rules win: leadership loss is the most immediate cause
        cause[alive & hit] = why
    cause[alive & (members_after <= 0)] = DissolutionCause.TOO_FEW_MEMBERS
    return cause


def members_and_inner_edges(model, orgs: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """For each of ``orgs``: its members (ascending) and the peer edges between two of its members."""
    if len(orgs) == 0:
        return [], []
    pr, pe = model.practices, model.peers
    wanted = np.zeros(model.orgs.size + 1, dtype=bool)
    wanted[orgs] = True
    org = pr.org
    ids = wanted[org].nonzero()[0]  # org -1 lands on the spare last slot, never wanted
    a, b = pe.edges[:, 0], pe.edges[:, 1]
    eids = ((org[a] == org[b]) & wanted[org[a]]).nonzero()[0]
    by_member = np.split(ids[np.argsort(org[ids], kind="stable")], np.searchsorted(np.sort(org[ids]), orgs[1:]))
    e_org = org[a[eids]]
    by_edge = np.split(eids[np.argsort(e_org, kind="stable")], np.searchsorted(np.sort(e_org), orgs[1:]))
    return by_member, by_edge


def _dissolve_in_graph(nodes: list[int], ends: list[int], gone: list[tuple[int, int]], month: int, g) -> None:
    """The graph's part of dissolving, per organisation: its members' edges go, then its node is marked dissolved
    (``gone[start:end]`` are the member edges of ``nodes[k]``, ``end = ends[k]``)."""
    start = 0
    for node, end in zip(nodes, ends, strict=True):
        for u, v in gone[start:end]:
            g.remove_edge(u, v)
        g.nodes[node]["dissolved"] = month
        start = end


def dissolve_many(model, orgs: np.ndarray, causes, month: int, members: list, inner: list) -> None:
    """Organisations ``orgs`` dissolve, one after another in that order: reserves go back to members by list
    size (or the debt is covered; an organisation with no members returns what is left, or has its debt written
    off), trust between members takes the failure hit, members become independent. ``members`` and ``inner``
    are each one's members and inner edges, as :func:`members_and_inner_edges` gives them; two organisations
    never share either, so the arrays change at once, and the ledger adds each amount in the same order as one
    dissolution after another would."""
    if len(orgs) == 0:
        return
    pr, o, pe = model.practices, model.orgs, model.peers
    reserves = o.reserves[orgs].astype(float)
    sizes = np.array([len(m) for m in members])
    entries: dict[str, list[float]] = {}
    for r, size in zip(reserves.tolist(), sizes.tolist(), strict=True):
        if size:
            key = "dissolution_refunds" if r >= 0 else "dissolution_debt_cover"
        else:
            key = "org_residual_returned" if r >= 0 else "org_debt_written_off"
        entries.setdefault(key, []).append(abs(r))
    all_members = np.concatenate(members).astype(np.int64) if sizes.sum() else np.empty(0, np.int64)
    if len(all_members):
        lists = pr.list_size[all_members]
        totals = np.repeat([max(pr.list_size[m].sum(), 1) for m in members], sizes)
        pr.reserves[all_members] += np.repeat(reserves, sizes) * (lists / totals)
        edges = np.concatenate([np.asarray(e, dtype=np.int64) for e in inner])
        pe.trust[edges] = np.maximum(pe.trust[edges] - model.p.failure_trust_damage, 0.0)
    for key, amounts in entries.items():
        model.ledger.add_each(key, amounts)
    o.reserves[orgs] = 0.0
    owner = np.repeat(np.asarray(orgs, dtype=np.int64), sizes)
    pr.org[all_members] = -1
    pr.member_trust[all_members] = 0.0
    pr.benefit_reference[all_members] = 0.0
    pr.evidence[all_members] = 0.0
    o.dissolved[orgs] = month
    o.cause[orgs] = causes
    o.committable[orgs] = False
    gone = list(zip(all_members.tolist(), (owner + model.ids.org(0)).tolist(), strict=True))
    nodes = [model.ids.org(k) for k in np.asarray(orgs).tolist()]
    ends = np.cumsum(sizes).tolist()

    model.graph_changes.change(partial(_dissolve_in_graph, nodes, ends, gone, month))
    for k in np.asarray(orgs).tolist():
        agent = model._org_agents.pop(k, None)
        if agent is not None:
            agent.remove()
