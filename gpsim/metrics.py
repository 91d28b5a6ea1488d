"""Pure functions of model state: relationships per hospital, shares, sustainability (no rules here)."""

from __future__ import annotations

import numpy as np

from gpsim.arrays import distinct
from gpsim.rules.commissioners import share_population_mcp
from gpsim.state import OrgForm


def relationships_per_hospital(
    hospital: np.ndarray,
    org: np.ndarray,
    is_open: np.ndarray,
    committable: np.ndarray,
    n_hospitals: int,
    *,
    uncommitted_adds: bool = True,
    pcn: np.ndarray | None = None,
    pcn_committable: np.ndarray | None = None,
) -> np.ndarray:
    """Distinct general-practice counterparts each hospital must keep.

    An organisation that can commit its members counts once per hospital it has members in. An organisation
    that cannot commit them does not replace its members: the hospital still deals with each member practice,
    and with the organisation as well, so it counts as its members plus one (seed article 004; ODD 7.7). With
    ``uncommitted_adds=False`` it counts as its members only (the first version's convention, kept for
    comparison). A practice outside any organisation counts as itself.

    Args:
        hospital: hospital index of each practice.
        org: organisation of each practice (-1 if none).
        is_open: which practices are open.
        committable: for each organisation, whether it can commit its members.
        n_hospitals: number of hospitals.
        uncommitted_adds: count an organisation that cannot commit its members as one more counterpart.
        pcn: primary care network of each practice (-1 if none); None counts no networks.
        pcn_committable: for each network, whether it can commit its members.

    Primary care networks (ODD 7.13) count by the same rule, after organisations: a member of an organisation
    that can commit it is that organisation's, whatever its network (a network inside a federation that can
    commit counts once, as the federation); otherwise a member of a network that can commit it is the
    network's; otherwise the practice counts as itself, and a network that cannot commit adds one more, as an
    organisation does.
    """
    counts, members_only = relationship_counts(
        hospital, org, is_open, committable, n_hospitals, pcn=pcn, pcn_committable=pcn_committable
    )
    return counts if uncommitted_adds else members_only


def relationship_counts(
    area: np.ndarray,
    org: np.ndarray,
    is_open: np.ndarray,
    committable: np.ndarray,
    n_areas: int,
    *,
    pcn: np.ndarray | None = None,
    pcn_committable: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`relationships_per_hospital` over any areas under both conventions at once: (an organisation
    that cannot commit its members adds one, it adds nothing). One pass: the distinct (area, organisation)
    pairs are found once and the second convention counts those whose organisation can commit."""
    (out,) = relationship_counts_in(
        [(area, n_areas)], org, is_open, committable, pcn=pcn, pcn_committable=pcn_committable
    )
    return out


def relationship_counts_in(
    areas: list[tuple[np.ndarray, int]],
    org: np.ndarray,
    is_open: np.ndarray,
    committable: np.ndarray,
    *,
    pcn: np.ndarray | None = None,
    pcn_committable: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`relationship_counts` for several kinds of area (``(area of each practice, number of areas)``, e.g.
    hospital catchments and community trusts) from one look at who is in what."""
    in_org = (org >= 0) & is_open
    in_committable = in_org & committable[np.maximum(org, 0)]
    covered = in_committable
    groups = [_Counted(org, in_org, committable)]
    if pcn is not None and pcn_committable is not None and len(pcn_committable):
        in_pcn = (pcn >= 0) & is_open & ~in_committable
        covered = covered | (in_pcn & pcn_committable[np.maximum(pcn, 0)])
        groups.append(_Counted(pcn, in_pcn, pcn_committable))
    alone = (is_open & ~covered).nonzero()[0]
    out = []
    for area, n_areas in areas:
        counts = members_only = np.bincount(area[alone], minlength=n_areas)
        for g in groups:
            both, only = g.distinct_pairs(area, n_areas)
            counts, members_only = both + counts, only + members_only
        out.append((counts, members_only))
    return out


class _Counted:
    """The practices ``counted`` in a grouping (organisations or networks), ready to be counted by area."""

    def __init__(self, group: np.ndarray, counted: np.ndarray, committable: np.ndarray) -> None:
        self.rows = counted.nonzero()[0]
        self.group = group[self.rows]
        self.committable = committable
        self.width = len(committable) + 1  # any bound above every group id

    def distinct_pairs(self, area: np.ndarray, n_areas: int) -> tuple[np.ndarray, np.ndarray]:
        """For each area, the number of distinct groups with a counted practice in it, and of those the number
        whose group is committable."""
        if len(self.rows) == 0:
            return np.zeros(n_areas), np.zeros(n_areas)
        pairs = distinct(area[self.rows] * self.width + self.group)
        where = pairs // self.width
        return (
            np.bincount(where, minlength=n_areas).astype(float),
            np.bincount(where[self.committable[pairs - where * self.width]], minlength=n_areas).astype(float),
        )


def population_weighted_share(mask: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float(weights[mask].sum() / total) if total > 0 else 0.0


def survival_after_funding(last_one_off: np.ndarray, dissolved: np.ndarray, now: int, months: int) -> tuple[float, int]:
    """Share of organisations still alive ``months`` after their one-off money ended.

    Only organisations that had one-off money, whose money ended at least ``months`` before ``now``, count.
    Returns (share, number counted); share is NaN when none count.
    """
    # organisations that died in the very month of their last payment lost it by dying, not by the cliff
    ended = (last_one_off >= 0) & (last_one_off + months <= now) & ((dissolved < 0) | (dissolved > last_one_off))
    n = int(ended.sum())
    if n == 0:
        return float("nan"), 0
    alive = (dissolved[ended] < 0) | (dissolved[ended] > last_one_off[ended] + months)
    return float(alive.mean()), n


def monthly(model) -> dict:
    """The model-level figures recorded each month (the columns of ``Results.steps``)."""
    pr, o = model.practices, model.orgs
    is_open = pr.open
    lists = pr.list_size * is_open
    population = float(lists.sum())
    member = is_open & (pr.org >= 0)
    alive = o.alive
    committable = o.view("committable") & alive
    (rel, rel_members_only), (community, _) = model._relationship_counts_in(
        [(pr.hospital, model.region.n_hospitals), (model.community.trust, len(model.community.name))]
    )
    baseline = np.bincount(pr.hospital[is_open], minlength=model.region.n_hospitals)
    pop = o.view("population")
    in_committable = member & committable[np.maximum(pr.org, 0)] if o.size else np.zeros(pr.n, bool)
    n_open = int(is_open.sum())
    failed = int((o.view("dissolved") >= 0).sum())
    n_gps = int(pr.n_gps[is_open].sum())
    gp_fte = n_gps * model.p.fte_per_gp
    return {
        "step": model.steps,
        "n_practices_open": n_open,
        "n_practices_closed_cum": int((~is_open).sum()),
        "n_closures_cum": int((pr.status == 1).sum()),
        "n_mergers_cum": int((pr.status == 2).sum()),
        "share_practices_in_org": float(member.sum() / n_open) if n_open else 0.0,
        "share_population_in_org": population_weighted_share(member, lists),
        "n_orgs": int(alive.sum()),
        "n_orgs_failed_cum": failed,
        "n_orgs_founded_cum": int(o.size),
        "org_size_mean": float(pop[alive].mean()) if alive.any() else 0.0,
        "mean_list_size": float(lists.sum() / n_open) if n_open else 0.0,
        "mean_workload_pressure": float(pr.pressure[is_open].mean()) if n_open else 0.0,
        "relationships_per_hospital_mean": float(rel.mean()),
        "relationships_per_hospital_max": float(rel.max()),
        "relationships_per_hospital_members_only_mean": float(rel_members_only.mean()),
        "relationships_per_community_trust_mean": float(community.mean()),
        "relationships_baseline_mean": float(baseline.mean()),
        "share_population_committable": population_weighted_share(in_committable, lists),
        "share_orgs_committable": float(committable[alive].mean()) if alive.any() else 0.0,
        "share_orgs_self_funding": self_funding_share(model),
        "share_orgs_delivering": float((o.view("first_benefit")[alive] >= 0).mean()) if alive.any() else 0.0,
        "mean_cohesion": float(o.view("cohesion")[alive].mean()) if alive.any() else 0.0,
        "external_funding_month": model._last_external,
        "contract_income_month": model._last_contract,
        "n_contracts_active": int((alive & (o.view("contract_until") >= model.steps)).sum()),
        "leaders_burnt_out_cum": model.leaders_burnt_out,
        "n_hospital_asks": model._last_asks,
        "share_orgs_engaged": model._last_engaged,
        "share_asks_delivered": model.asks_delivered / model.asks_issued if model.asks_issued else 0.0,
        **form_shares(pr.org, member, o.view("form"), n_open),
        "population": population,
        "gp_fte_per_1000": gp_fte / population * 1000 if population else 0.0,
        "share_gp_fte_partners": float(pr.n_partners[is_open].sum() / n_gps) if n_gps else 0.0,
        "gp_pool_available": model.gp_pool.available,
        "n_gps_trained_cum": model.gp_pool.trained,
        "n_gps_left_cum": model.gp_pool.left,
        **network_figures(model, member, n_open),
        "n_ccgs": int(np.count_nonzero(np.bincount(pr.ccg[is_open]))),
        "share_population_mcp": share_population_mcp(model),
    }


def form_shares(org: np.ndarray, member: np.ndarray, form: np.ndarray, n_open: int) -> dict[str, float]:
    """Share of open practices in an organisation of each form."""
    counts = np.bincount(form[org[member]], minlength=len(OrgForm)) if member.any() else np.zeros(len(OrgForm))
    return {f"share_practices_in_{f.name.lower()}": float(counts[f] / n_open) if n_open else 0.0 for f in OrgForm}


def self_funding_share(model) -> float:
    """Share of live organisations whose recurrent income (subscriptions, recurrent payments, contract
    margin) covers their running costs, at this month's rates."""
    p, o = model.p, model.orgs
    alive = o.alive
    if not alive.any():
        return 0.0
    from gpsim.rules.finance import running_cost
    from gpsim.state import LeadershipKind

    pop = o.view("population").astype(float)
    recurrent_rate = sum(
        prog.per_patient * (1.0 - prog.service_cost_share) for prog in model.active_programmes if prog.recurrent
    )
    contract = np.where(o.view("contract_until") >= model.steps, p.contract_value_per_patient * p.contract_margin, 0.0)
    local = np.where(o.view("first_benefit") >= 0, p.local_services_margin_per_patient, 0.0)
    income = pop * (o.view("subscription") + recurrent_rate + contract + local)
    cost = running_cost(pop, o.view("form"), p)
    cost = cost + np.where(o.view("leadership") == LeadershipKind.DISTRIBUTED, p.distributed_team_cost, 0.0)
    return float((income[alive] >= cost[alive]).mean())


def network_figures(model, member: np.ndarray, n_open: int) -> dict[str, float]:
    """Primary care network figures of the month (ODD 7.13): networks are counted apart from organisations."""
    pr, c = model.practices, model.pcns
    in_pcn = pr.open & (pr.pcn >= 0)
    alive = c.alive
    return {
        "share_practices_in_pcn": float(in_pcn.sum() / n_open) if n_open else 0.0,
        "n_pcns": int(alive.sum()),
        "share_practices_in_pcn_and_org": float((in_pcn & member).sum() / n_open) if n_open else 0.0,
        "share_pcns_committable": float(c.view("committable")[alive].mean()) if alive.any() else 0.0,
        "n_pcn_asks": model.pcn_asks_month,
        "network_des_month": model.des_paid_month,
    }
