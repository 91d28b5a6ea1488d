"""Joining, leaving and founding organisations: logit choices with documented utility (ODD 7.6).

A practice weighs, for each organisation it is connected to through its peers: its trust in that
organisation's members, the expected net money and workload relief, the autonomy the form costs, the
size against the CCG's target, whether it would cross a CCG boundary, CCG support and its own workload.
It compares these with the value of staying independent and chooses with noise (Gumbel-max, i.e. a
multinomial logit with temperature ``choice_noise``).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from gpsim.arrays import distinct_with_inverse
from gpsim.rules import commissioners
from gpsim.state import FORM_AUTONOMY, FORM_RELIEF, FORM_SAVING, LeadershipKind, OrgForm


def relief_value_pp(p, form: np.ndarray) -> np.ndarray:
    """Workload relief valued at the GP pay it saves, GBP per patient per year."""
    return FORM_RELIEF[form] * p.gp_fte_per_1000 / 1000.0 * p.cost_per_gp_fte


def money_utility(expected_pp: np.ndarray, p) -> np.ndarray:
    return p.trust_benefit_weight * np.tanh(expected_pp / p.benefit_scale)


def common_utility(p, support: np.ndarray, pressure: np.ndarray) -> np.ndarray:
    """The part of joining or founding utility that depends only on the practice."""
    return p.support_weight * support + p.pressure_weight * np.asarray(pressure - 1.0).clip(0.0, 1.0)


def expected_org_benefit_pp(model, delivering: np.ndarray, services_pp: np.ndarray):
    """What a practice expects from each organisation, GBP per patient per year: its benefits once delivering
    (discounted before), the services it currently funds, less its subscription."""
    p, o = model.p, model.orgs
    form = o.view("form")
    gross = p.backoffice_saving_per_patient * FORM_SAVING[form] + relief_value_pp(p, form)
    return np.where(delivering, gross, p.unproven_discount * gross) - o.view("subscription") + services_pp


def join_choices(
    model,
    considering: np.ndarray,
    org_value_pp: np.ndarray,
    org_population: np.ndarray,
    common: np.ndarray,
    rng: np.random.Generator,
    open_to_join: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which considering independents join which organisation this month.

    Only organisations in ``open_to_join`` (all if None) are options: a practice does not join one whose
    subscription is above what it would accept given what the members have seen.

    Returns:
        (practice ids, organisation ids), one pair per practice that joins.
    """
    p, pr, pe, o = model.p, model.practices, model.peers, model.orgs
    n_orgs = o.size
    half = pe.half_edges_where(considering)  # the considering practices' half-edges, CSR order
    target_org = pr.org[pe.dst[half]]
    mask = target_org >= 0
    if open_to_join is not None and mask.any():
        mask &= open_to_join[np.maximum(target_org, 0)]
    if not mask.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    half = half[mask]
    i, org, t = pe.src[half], target_org[mask], pe.trust[pe.eid[half]]
    keys, inv = distinct_with_inverse(i * n_orgs + org)
    trust_io = np.bincount(inv, t) / np.bincount(inv)
    ci, co = keys // n_orgs, keys % n_orgs
    size_after = (org_population[co] + pr.list_size[ci]) / p.target_org_size
    utility = (
        trust_io
        + money_utility(org_value_pp[co], p)
        - FORM_AUTONOMY[o.view("form")[co]]
        - p.size_aversion * np.log2(np.maximum(size_after, 1.0))
        - p.cross_ccg_cost * (o.view("home_ccg")[co] != pr.ccg[ci])
        + common[ci]
    )
    score = utility / p.choice_noise + rng.gumbel(size=len(utility))
    first = first_best(ci, score)
    best_i, best_o, best_score = ci[first], co[first], score[first]
    outside = p.independence_value / p.choice_noise + rng.gumbel(size=len(best_i))
    joins = best_score > outside
    return best_i[joins], best_o[joins]


def first_best(group: np.ndarray, score: np.ndarray) -> np.ndarray:
    """For each run of equal values in the sorted ``group``, the index of its highest ``score`` (the first one on
    a tie; NaN scores lose to any number, and a run of NaN alone gives its first index), in group order: what
    ``np.lexsort((-score, group))`` would put first in each group, in linear time."""
    if len(group) == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.empty(len(group), dtype=bool)
    starts[:1] = True
    np.not_equal(group[1:], group[:-1], out=starts[1:])
    start_idx = starts.nonzero()[0]
    gid = np.cumsum(starts) - 1
    hit = (score == np.fmax.reduceat(score, start_idx)[gid]).nonzero()[0]
    hit = hit[np.concatenate(([True], gid[hit][1:] != gid[hit][:-1]))] if len(hit) else hit
    first = start_idx.copy()
    first[gid[hit]] = hit
    return first


def _add_organisations(nodes: list[int], ccg_nodes: list[int], labels: list[tuple[str, str]], month: int, g) -> None:
    """The graph's part of founding: each new organisation's node and its CCG's ``commissions`` edge."""
    for node, ccg, (form, kind) in zip(nodes, ccg_nodes, labels, strict=True):
        g.add_node(node, kind="organisation", form=form, leadership=kind, founded=month)
        g.add_edge(ccg, node, kind="commissions")


def leave_choices(trust: np.ndarray, member: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """Members who leave this month: the lower their trust in the leaders below ``leave_trust_threshold``, the
    likelier (a logistic curve ``leave_sharpness`` times sharper than the choice noise)."""
    z = (p.leave_trust_threshold - trust) / (p.choice_noise / p.leave_sharpness)
    chance = p.join_consideration_rate / (1.0 + np.exp(-z.clip(-50, 50)))
    return member & (rng.random(len(trust)) < chance)


def cofounder_candidates(
    model, eligible: np.ndarray, can_join: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-edges from eligible founders to independent neighbours who trust them enough to co-found.

    Returns:
        (founder ids, co-founder ids, trust) sorted by founder.
    """
    pe = model.peers
    half = pe.half_edges_where(eligible)
    t = pe.trust[pe.eid[half]]
    keep = half[can_join[pe.dst[half]] & (t >= model.p.cofounder_trust)]
    return pe.src[keep], pe.dst[keep], pe.trust[pe.eid[keep]]


def founding_teams(model, founders: np.ndarray, can_join: np.ndarray) -> list[tuple[int, list[int], float]]:
    """Who founds with whom this month: founders in ascending id, first come, first served. A founder already
    claimed as an earlier founder's co-founder (or no longer open and independent) founds nothing; each takes
    the trusting independent neighbours (:func:`cofounder_candidates`) not yet claimed, and founds nothing if
    none is left.

    Returns:
        (founder, co-founders in CSR order, their mean trust in the founder) for each new organisation.
    """
    pr = model.practices
    is_founder = np.zeros(pr.n, dtype=bool)
    is_founder[founders] = True
    f_all, c_all, t_all = cofounder_candidates(model, is_founder, can_join)
    free = pr.open & (pr.org < 0)
    # a few dozen founders a month with a few co-founders each: plain Python over lists beats numpy calls here
    starts = np.searchsorted(f_all, founders, side="left").tolist()  # f_all is sorted by founder
    ends = np.searchsorted(f_all, founders, side="right").tolist()
    c_list, t_list, free_list = c_all.tolist(), t_all.tolist(), free.tolist()
    claimed: set[int] = set()
    teams = []
    for f, lo, hi in zip(founders.tolist(), starts, ends, strict=True):
        if f in claimed or not free_list[f]:
            continue
        pairs = [(c, t) for c, t in zip(c_list[lo:hi], t_list[lo:hi], strict=True) if c not in claimed and free_list[c]]
        if not pairs:
            continue
        cof = [c for c, _ in pairs]
        claimed.update(cof)
        claimed.add(f)
        teams.append((f, cof, float(np.mean([t for _, t in pairs]))))  # numpy's mean, to the last bit
    return teams


def found_choices(
    model,
    eligible: np.ndarray,
    can_join: np.ndarray,
    new_org_value_pp: float,
    common: np.ndarray,
    rng: np.random.Generator,
    spare_leadership: np.ndarray,
) -> np.ndarray:
    """Practices that decide to found an organisation this month (ascending id).

    Founding needs spare leadership (``found_leadership_need``) and at least one trusted independent neighbour
    with time to join. The chance is ``founding_rate x drive x (commissioner_support_base + CCG support) x
    logistic((U_found - U_none) / noise)``, where drive is the practice's spare leadership over
    ``found_leadership_need`` (the more drive, the likelier to take the first step: heroic leaders found more
    often). At the default base of 0.5, a CCG of average supportiveness (0.5) leaves ``founding_rate`` unchanged;
    where U_found is built like the joining utility for a new federation with the founder's co-founders.
    """
    p, pr = model.p, model.practices
    u = rng.random(pr.n)
    support = model.ccg_support[pr.ccg]
    with np.errstate(over="ignore"):  # a need near 0 makes the drive infinite: the chance is then 1 (clipped)
        drive = spare_leadership / p.found_leadership_need if p.found_leadership_need > 0 else np.ones(pr.n)
    most = p.founding_rate * drive * (p.commissioner_support_base + support)  # the chance when the logistic is 1
    # the logistic is at most 1, so only practices drawn below ``most`` can found: the rest need no utility
    maybe = eligible & (u < most.clip(0.0, 1.0))
    f, _, t = cofounder_candidates(model, maybe, can_join)
    count = np.bincount(f, minlength=pr.n)
    mean_t = np.divide(np.bincount(f, t, minlength=pr.n), count, out=np.zeros(pr.n), where=count > 0)
    utility = mean_t + money_utility(np.float64(new_org_value_pp), p) - FORM_AUTONOMY[OrgForm.FEDERATION] + common
    z = ((utility - p.independence_value) / p.choice_noise).clip(-50, 50)
    chance = (most / (1.0 + np.exp(-z))).clip(0.0, 1.0)
    return (maybe & (count > 0) & (u < chance)).nonzero()[0]


def choose_form(mean_trust: float, p, rng: np.random.Generator) -> OrgForm:
    """Form of a new organisation: the more its founders trust each other and the larger the CCG's target
    size, the tighter the form (score = trust + ``form_size_weight`` log2(target / 50k) + noise of sd
    ``form_choice_noise``, against the two cut-offs)."""
    score = (
        mean_trust
        + p.form_size_weight * np.log2(p.target_org_size / 50_000.0)
        + rng.normal(0.0, 1.0) * (p.form_choice_noise)
    )
    if score < p.form_federation_cutoff:
        return OrgForm.NETWORK
    if score < max(p.form_super_partnership_cutoff, p.form_federation_cutoff):
        return OrgForm.FEDERATION
    return OrgForm.SUPER_PARTNERSHIP


def found_many(model, teams: list[tuple[int, list[int], float]], month: int) -> list[tuple[np.ndarray, int]]:
    """Found one organisation per team (founder, co-founders, their mean trust; from :func:`founding_teams`),
    one after another in that order. Each one's form follows the founders' trust (:func:`choose_form`), its
    leadership the founder and the CCG's leadership development
    (:func:`gpsim.rules.commissioners.leadership_at_founding`), which the CCG pays for at once, so the next
    founder's CCG has what is left. The founders and co-founders join when the caller joins the returned queues
    (:func:`join_many`). Returns each one's (joining queue: founder first, then co-founders; organisation id)."""
    if not teams:
        return []
    p, pr, o = model.p, model.practices, model.orgs
    forms, kinds, grants = [], [], []
    for f, _, mean_trust in teams:  # draws and CCG budgets one organisation after another, as they are decided
        forms.append(choose_form(mean_trust, p, model.rng))
        kind, developed = commissioners.leadership_at_founding(model, f)
        kinds.append(kind)
        # the CCG pays at once: the next founder's CCG has what is left
        grants.append(commissioners.pay_leadership_development(model, int(pr.ccg[f])) if developed else 0.0)
    founders = np.array([f for f, _, _ in teams], dtype=np.int64)
    heroic = np.array([k == LeadershipKind.HEROIC for k in kinds])
    ks = o.add_many(
        len(teams),
        form=np.array(forms, dtype=np.int8),
        leadership=np.array(kinds, dtype=np.int8),
        founded=month,
        founder=founders,
        leader=np.where(heroic, founders, -1),
        home_ccg=pr.ccg[founders],
        home_hospital=pr.hospital[founders],
        subscription=p.subscription_per_patient,
        team=np.where(heroic, 1, p.distributed_team_size),
        hospital_trust=0.5,  # no record yet: neither trusted nor distrusted
        cohesion=np.array([t for _, _, t in teams]),
        last_review=month,
    )
    o.reserves[ks] += np.array(grants)  # the leadership-development grants paid above
    nodes = [model.ids.org(k) for k in ks.tolist()]
    ccg_nodes = [model.ids.ccg(c) for c in pr.ccg[founders].tolist()]
    labels = [(form.label, kind.label) for form, kind in zip(forms, kinds, strict=True)]

    model.graph_changes.change(partial(_add_organisations, nodes, ccg_nodes, labels, month))
    for k in ks.tolist():
        model.register_organisation(k)
    return [(np.array([f, *cof], dtype=np.int64), k) for (f, cof, _), k in zip(teams, ks.tolist(), strict=True)]


def remove_member(model, i: int) -> None:
    """Practice ``i`` stops being a member of its organisation (arrays and graph)."""
    k = int(model.practices.org[i])
    model.practices.org[i] = -1
    model.practices.member_trust[i] = 0.0
    model.practices.benefit_reference[i] = 0.0
    model.practices.evidence[i] = 0.0
    model.graph_changes.remove_edge(int(i), model.ids.org(k))


def leave_many(model, leavers: np.ndarray) -> None:
    """Practices ``leavers`` (ascending) leave their organisations, one after another: each edge to a
    fellow member still in the organisation takes ``leave_trust_damage_share`` of the failure hit, so an edge
    between two leavers is hit once, by the first to leave."""
    if len(leavers) == 0:
        return
    pr, pe = model.practices, model.peers
    half = pe.half_edges_of(leavers)
    src, nbr = pe.src[half], pe.dst[half]
    leaving = np.zeros(pr.n, dtype=bool)
    leaving[leavers] = True
    hit = pe.eid[half[(pr.org[nbr] == pr.org[src]) & ~(leaving[nbr] & (nbr < src))]]
    pe.trust[hit] = np.maximum(pe.trust[hit] - model.p.leave_trust_damage_share * model.p.failure_trust_damage, 0.0)
    orgs = pr.org[leavers]
    pr.org[leavers] = -1
    pr.member_trust[leavers] = 0.0
    pr.benefit_reference[leavers] = 0.0
    pr.evidence[leavers] = 0.0
    model.graph_changes.remove_edges_from(zip(leavers.tolist(), (orgs + model.ids.org(0)).tolist(), strict=True))


def join_many(model, joiners: np.ndarray, orgs: np.ndarray) -> None:
    """Independent practices ``joiners[j]`` join organisations ``orgs[j]``, one after another in that order.

    A joiner starts trusting the leaders as much as it trusts the fellow members it knows (0.5 if it knows
    none), counting those who joined before it; it pays the joining fee to the organisation.
    """
    pr, pe = model.practices, model.peers
    m = len(joiners)
    if m == 0:
        return
    # the joiners' half-edges, grouped by joiner in order
    owner = np.repeat(np.arange(m), pe.indptr[joiners + 1] - pe.indptr[joiners])
    half = pe.half_edges_of(joiners)
    nbr, k = pe.dst[half], orgs[owner]
    rank = model._queue_rank  # position in the queue of each joiner (m and more: not queued)
    rank[joiners] = np.arange(m)
    r = rank[nbr]
    rank[joiners] = pr.n
    queued = r < m
    org_after = pr.org[nbr]
    org_after[queued] = orgs[r[queued]]
    fellow = (pr.org[nbr] == k) | ((r < owner) & (org_after == k))
    t = pe.trust[pe.eid[half[fellow]]]
    count = np.bincount(owner[fellow], minlength=m)
    total = np.bincount(owner[fellow], t, minlength=m)
    trust = np.divide(total, count, out=np.full(m, 0.5), where=count > 0)
    for j in (count >= 8).nonzero()[0]:  # numpy sums 8 or more terms pairwise: use its mean there
        trust[j] = t[owner[fellow] == j].mean()
    # a joiner has seen nothing itself yet: it starts from what the members it joins report (their mean)
    member = (pr.org >= 0) & pr.open
    n_orgs = model.orgs.size
    seen = np.bincount(pr.org[member], pr.evidence[member], minlength=n_orgs)[:n_orgs]
    count = np.bincount(pr.org[member], minlength=n_orgs)[:n_orgs]
    pr.evidence[joiners] = np.divide(seen, count, out=np.zeros(n_orgs), where=count > 0)[orgs]
    pr.org[joiners] = orgs
    pr.member_trust[joiners] = trust
    fee = pr.list_size[joiners] * model.p.joining_fee_per_patient
    pr.reserves[joiners] -= fee
    np.add.at(model.orgs.reserves, orgs, fee)  # in queue order
    model.ledger.add_each("joining_fees", fee)
    edges = zip(joiners.tolist(), (orgs + model.ids.org(0)).tolist(), strict=True)
    model.graph_changes.add_edges_from(edges, kind="member")
