"""Trust: members' trust in their leaders (cohesion), hospitals' trust, and trust between peers (ODD 7.5).

Trust moves towards what people experience, up at ``trust_gain_rate`` and down at the faster
``trust_loss_rate``: failure is remembered longer than success.
"""

from __future__ import annotations

import numpy as np

from gpsim.state import FORM_BINDING


def relax(current: np.ndarray, target: np.ndarray, p) -> np.ndarray:
    """Move ``current`` towards ``target``: up at ``trust_gain_rate``, down at ``trust_loss_rate``."""
    gap = target - current
    return (current + np.where(gap > 0, p.trust_gain_rate, p.trust_loss_rate) * gap).clip(0.0, 1.0)


def co_member_trust(model) -> np.ndarray:
    """Each practice's mean peer trust in fellow members it is connected to (its own peer mean if none)."""
    return model.peers.mean_trust_within(model.practices.org)


def gross_benefit(pm, relief: np.ndarray, list_size: np.ndarray, p) -> np.ndarray:
    """What membership brought a practice this month, GBP per patient per year: back-office savings plus the
    workload relief of delivered benefits and funded services, valued at the GP time it saves."""
    relief_value = relief * list_size * (p.gp_fte_per_1000 / 1000.0 * p.cost_per_gp_fte / 12.0)
    gross = (pm.saving + relief_value) * 12.0
    return np.divide(gross, list_size, out=np.zeros(len(gross)), where=list_size > 0)


def member_benefit(pm, gross_pp: np.ndarray, list_size: np.ndarray) -> np.ndarray:
    """Net benefit of membership this month, GBP per patient per year (gross benefit - subscription)."""
    sub = np.divide(pm.subscription * 12.0, list_size, out=np.zeros(len(gross_pp)), where=list_size > 0)
    return gross_pp - sub


def size_penalty(population: np.ndarray, p) -> np.ndarray:
    """Trust lost to distance from members: ``size_trust_penalty`` per doubling above the reference size."""
    ratio = np.maximum(population / p.trust_reference_size, 1.0)
    return p.size_trust_penalty * np.log2(ratio)


def felt_benefit(benefit_pp: np.ndarray, reference: np.ndarray, p) -> np.ndarray:
    """Benefit as members feel it: a drop below what they have grown used to counts ``loss_aversion`` times
    extra (so the end of funded services hurts more than their start helped)."""
    return benefit_pp - p.loss_aversion * np.maximum(reference - benefit_pp, 0.0)


def benefit_reference(reference: np.ndarray, benefit_pp: np.ndarray, member: np.ndarray, p) -> np.ndarray:
    """A benefit averaged over ``benefit_memory_months`` (exponential; 0 for non-members). Used for the net
    benefit members grow used to and for the gross benefit they have seen (the evidence they pay for)."""
    return np.where(member, reference + (benefit_pp - reference) / p.benefit_memory_months, 0.0)


def member_trust(model, benefit_pp: np.ndarray, org_population: np.ndarray) -> np.ndarray:
    """Members' trust in their organisation's leaders after this month (independents stay 0)."""
    p, pr = model.p, model.practices
    if model.orgs.size == 0:
        return np.zeros(pr.n)
    member = (pr.org >= 0) & pr.open
    o = np.maximum(pr.org, 0)
    target = (
        co_member_trust(model)
        + p.trust_benefit_weight * np.tanh(felt_benefit(benefit_pp, pr.benefit_reference, p) / p.benefit_scale)
        - size_penalty(org_population[o], p)
        + FORM_BINDING[model.orgs.view("form")[o]]
    )
    return np.where(member, relax(pr.member_trust, target.clip(0.0, 1.0), p), 0.0)


def cohesion(org: np.ndarray, trust: np.ndarray, member: np.ndarray, n_orgs: int) -> np.ndarray:
    """Cohesion of each organisation: its members' mean trust in the leaders (0 with no members)."""
    total = np.bincount(org[member], trust[member], minlength=n_orgs)[:n_orgs]
    count = np.bincount(org[member], minlength=n_orgs)[:n_orgs]
    return np.divide(total, count, out=np.zeros(n_orgs), where=count > 0)


def hospital_trust(current: np.ndarray, issued: np.ndarray, delivered: np.ndarray, p) -> np.ndarray:
    """A hospital's trust in an organisation moves towards 1 when an ask is delivered and towards 0 when one
    fails (up at ``trust_gain_rate``, down at ``trust_loss_rate``); without an ask it stays."""
    target = np.where(issued, delivered.astype(float), current)
    return relax(current, target, p)


def peer_trust(model, delivering_org: np.ndarray) -> np.ndarray:
    """Peer trust after this month: fellow members of a delivering organisation grow closer (at
    ``peer_trust_gain_share`` of the gain rate); other edges keep their trust."""
    pr, pe = model.practices, model.peers
    if model.orgs.size == 0:
        return pe.trust.copy()
    a, b = pe.edges[:, 0], pe.edges[:, 1]
    together = (pr.org[a] >= 0) & (pr.org[a] == pr.org[b]) & delivering_org[np.maximum(pr.org[a], 0)]
    return np.where(
        together, pe.trust + model.p.peer_trust_gain_share * model.p.trust_gain_rate * (1.0 - pe.trust), pe.trust
    )
