"""Joining, leaving and founding organisations: logit choices with documented utility (ODD 7.6).

A practice weighs, for each organisation it is connected to through its peers: its trust in that
organisation's members, the expected net money and workload relief, the autonomy the form costs, the
size against the CCG's target, whether it would cross a CCG boundary, CCG support and its own workload.
It compares these with the value of staying independent and chooses with noise (Gumbel-max, i.e. a
multinomial logit with temperature ``choice_noise``).
"""

from __future__ import annotations

import numpy as np

from gpsim.arrays import distinct_with_inverse
from gpsim.rules.trust import BENEFIT_SCALE
from gpsim.state import FORM_AUTONOMY, FORM_RELIEF, FORM_SAVING, OrgForm

#: Peer trust a neighbour needs to be asked to co-found.
COFOUNDER_TRUST = 0.6
#: Weight of CCG supportiveness, of own workload pressure, and cost of crossing a CCG boundary, in utility.
SUPPORT_WEIGHT, PRESSURE_WEIGHT, CROSS_CCG_COST = 0.2, 0.2, 0.1
#: Share of a not-yet-delivering organisation's benefit that practices expect (hope, discounted).
UNPROVEN_DISCOUNT = 0.5


def relief_value_pp(p, form: np.ndarray) -> np.ndarray:
    """Workload relief valued at the GP pay it saves, GBP per patient per year."""
    return FORM_RELIEF[form] * p.gp_fte_per_1000 / 1000.0 * p.cost_per_gp_fte


def money_utility(expected_pp: np.ndarray, p) -> np.ndarray:
    return p.trust_benefit_weight * np.tanh(expected_pp / BENEFIT_SCALE)


def common_utility(p, support: np.ndarray, pressure: np.ndarray) -> np.ndarray:
    """The part of joining or founding utility that depends only on the practice."""
    return SUPPORT_WEIGHT * support + PRESSURE_WEIGHT * np.clip(pressure - 1.0, 0.0, 1.0)


def expected_org_benefit_pp(model, delivering: np.ndarray, services_pp: np.ndarray):
    """What a practice expects from each organisation, GBP per patient per year: its benefits once delivering
    (discounted before), the services it currently funds, less its subscription."""
    p, o = model.p, model.orgs
    form = o.view("form")
    gross = p.backoffice_saving_per_patient * FORM_SAVING[form] + relief_value_pp(p, form)
    return np.where(delivering, gross, UNPROVEN_DISCOUNT * gross) - o.view("subscription") + services_pp


def join_choices(
    model,
    considering: np.ndarray,
    org_value_pp: np.ndarray,
    org_population: np.ndarray,
    common: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Which considering independents join which organisation this month.

    Returns:
        (practice ids, organisation ids), one pair per practice that joins.
    """
    p, pr, pe, o = model.p, model.practices, model.peers, model.orgs
    n_orgs = o.size
    half = pe.half_edges_of(np.flatnonzero(considering))  # the considering practices' half-edges, CSR order
    target_org = pr.org[pe.dst[half]]
    mask = target_org >= 0
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
        - CROSS_CCG_COST * (o.view("home_ccg")[co] != pr.ccg[ci])
        + common[ci]
    )
    score = utility / p.choice_noise + rng.gumbel(size=len(utility))
    order = np.lexsort((-score, ci))
    first = order[np.r_[True, ci[order][1:] != ci[order][:-1]]]
    best_i, best_o, best_score = ci[first], co[first], score[first]
    outside = p.independence_value / p.choice_noise + rng.gumbel(size=len(best_i))
    joins = best_score > outside
    return best_i[joins], best_o[joins]


def leave_choices(trust: np.ndarray, member: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """Members who leave this month: the lower their trust in the leaders below ``leave_trust_threshold``, the
    likelier (a logistic curve three times sharper than the choice noise)."""
    z = (p.leave_trust_threshold - trust) / (p.choice_noise / 3.0)
    chance = p.join_consideration_rate / (1.0 + np.exp(-np.clip(z, -50, 50)))
    return member & (rng.random(len(trust)) < chance)


def cofounder_candidates(
    model, eligible: np.ndarray, can_join: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-edges from eligible founders to independent neighbours who trust them enough to co-found.

    Returns:
        (founder ids, co-founder ids, trust) sorted by founder.
    """
    pe = model.peers
    half = pe.half_edges_of(np.flatnonzero(eligible))
    t = pe.trust[pe.eid[half]]
    keep = half[can_join[pe.dst[half]] & (t >= COFOUNDER_TRUST)]
    return pe.src[keep], pe.dst[keep], pe.trust[pe.eid[keep]]


def found_choices(
    model,
    eligible: np.ndarray,
    can_join: np.ndarray,
    new_org_value_pp: float,
    common: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Practices that decide to found an organisation this month (ascending id).

    Founding needs spare leadership (``found_leadership_need``) and at least one trusted independent neighbour
    with time to join. The chance is ``founding_rate x (0.5 + CCG support) x logistic((U_found - U_none) / noise)``
    where U_found is built like the joining utility for a new federation with the founder's co-founders.
    """
    p, pr = model.p, model.practices
    f, _, t = cofounder_candidates(model, eligible, can_join)
    count = np.bincount(f, minlength=pr.n)
    mean_t = np.divide(np.bincount(f, t, minlength=pr.n), count, out=np.zeros(pr.n), where=count > 0)
    utility = mean_t + money_utility(np.float64(new_org_value_pp), p) - FORM_AUTONOMY[OrgForm.FEDERATION] + common
    z = np.clip((utility - p.independence_value) / p.choice_noise, -50, 50)
    support = model.ccg_support[pr.ccg]
    chance = p.founding_rate * (0.5 + support) / (1.0 + np.exp(-z))
    return np.flatnonzero(eligible & (count > 0) & (rng.random(pr.n) < chance))


def choose_form(mean_trust: float, p, rng: np.random.Generator) -> OrgForm:
    """Form of a new organisation: the more its founders trust each other and the larger the CCG's target
    size, the tighter the form (score = trust + 0.1 log2(target / 50k) + noise sd 0.1)."""
    score = mean_trust + 0.1 * np.log2(p.target_org_size / 50_000.0) + rng.normal(0.0, 0.1)
    if score < 0.6:
        return OrgForm.NETWORK
    if score < 0.75:
        return OrgForm.FEDERATION
    return OrgForm.SUPER_PARTNERSHIP
