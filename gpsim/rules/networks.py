"""Primary care networks and the Network DES (ODD 7.13).

From the month the Network Directed Enhanced Service starts (July 2019 in the england-2013 timeline, or
``network_des_start_month``), practices sign up to a primary care network (PCN). The DES rule is geographic:
neighbouring practices of one CCG covering ``pcn_min_population``-``pcn_max_population`` patients form one
network, each with one clinical director. A practice opts out with chance ``pcn_opt_out_share``; a practice
already that big may be a network alone. Networks coexist with federations, networks and super-partnerships:
PCN membership (``PracticeArrays.pcn``) is separate from organisation membership (``PracticeArrays.org``), so a
practice is in at most one PCN and at most one other organisation.

The DES money goes to the network: ``network_des_per_patient`` a year at the start, rising linearly to
``network_des_per_patient_full`` over ``network_des_ramp_months`` as additional-roles funding grew. The network
pays its clinical director (``pcn_director_cost_per_patient``) and spends the rest on additional-roles staff
(pharmacists, physiotherapists, paramedics, social prescribers). Those staff take GP work off the members:
relief = additional-roles spending per patient / GP cost per patient x ``pcn_roles_relief_ratio``, at most
``max_service_relief``. The clinical director's funded time (``pcn_director_sessions``) is leadership the
director's own practice does not have to find from its partners' spare time.

Hospitals ask networks to do things as they ask organisations (:mod:`gpsim.rules.asks`, the same rule): each
member follows through with chance equal to its trust in its fellow members (the network has no leaders of its
own to trust beyond the clinical director, one of them), so a network can build a record of delivered asks and
become able to commit its members; until then a hospital still deals with each member practice.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from gpsim.rules import asks as asks_mod
from gpsim.rules import hospitals, trust
from gpsim.state import DissolutionCause


@dataclass
class PCNMonth:
    """What the networks decide this month (applied by :func:`apply`)."""

    income: np.ndarray  # per network: DES money this month (GBP)
    director: np.ndarray  # per network: paid to the clinical director
    roles: np.ndarray  # per network: spent on additional-roles staff
    population: np.ndarray  # per network, at the start of the month
    asked: asks_mod.Asks
    hospital_trust: np.ndarray  # per network, after this month
    cohesion: np.ndarray  # per network: members' mean trust in their fellow members


def des_rate(month: int, start: int | None, p) -> float:
    """DES money per patient per year in ``month``: the starting rate, rising linearly to the full rate over
    ``network_des_ramp_months`` (0 before the start or without a DES; ``start`` may be before the run's first
    month)."""
    if start is None or month < start:
        return 0.0
    ramp = p.network_des_ramp_months
    share = 1.0 if ramp <= 0 else min((month - start) / ramp, 1.0)
    return p.network_des_per_patient + share * (p.network_des_per_patient_full - p.network_des_per_patient)


def opt_outs(is_open: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """Open practices that decline the DES (one draw per practice, in id order)."""
    return is_open & (rng.random(len(is_open)) < p.pcn_opt_out_share)


def blocks(
    list_size: np.ndarray,
    signing: np.ndarray,
    ccg: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    indptr: np.ndarray,
    dst: np.ndarray,
    p,
) -> np.ndarray:
    """Group signing practices into geographic networks; returns each practice's block (-1 if none), 0, 1, ...

    Within each CCG, from its westernmost practice not yet placed, a block grows by adding the nearest (to its
    first practice) contiguous neighbour on the peer graph that keeps it within ``pcn_max_population``, until no
    neighbour fits. A block that ends below ``pcn_min_population`` joins the smallest adjacent block of the same
    CCG (going over the maximum, as the DES allowed by agreement); one with no such neighbour stays a small
    network (an isolated, rural area). Blocks are numbered in order of their first practice (CCG, then west to
    east), so the result does not depend on anything random.
    """
    n = len(list_size)
    lmax = p.pcn_max_population
    order = np.lexsort((np.arange(n), y, x, ccg))
    order = order[signing[order]]
    sizes: list[int] = []
    xs, ys, cs, ls = x.tolist(), y.tolist(), ccg.tolist(), list_size.tolist()
    ip, nb, sg = indptr.tolist(), dst.tolist(), signing.tolist()
    bl = [-1] * n
    for seed in order.tolist():
        if bl[seed] >= 0:
            continue
        b = len(sizes)
        bl[seed] = b
        total = ls[seed]
        sx, sy, c = xs[seed], ys[seed], cs[seed]
        heap: list[tuple[float, int]] = []
        seen = {seed}
        pending = [seed]
        while pending:
            i = pending.pop()
            for j in nb[ip[i] : ip[i + 1]]:  # the newest member's neighbours become candidates
                if j not in seen and sg[j] and bl[j] < 0 and cs[j] == c:
                    seen.add(j)
                    heapq.heappush(heap, ((xs[j] - sx) ** 2 + (ys[j] - sy) ** 2, j))
            while heap:  # the nearest candidate that still fits joins
                _, j = heapq.heappop(heap)
                if bl[j] < 0 and total + ls[j] <= lmax:
                    bl[j] = b
                    total += ls[j]
                    pending.append(j)
                    break
        sizes.append(total)
    return _merge_small(bl, sizes, ip, nb, cs, p.pcn_min_population)


def _merge_small(bl: list[int], sizes: list[int], ip: list[int], nb: list[int], cs: list[int], minimum) -> np.ndarray:
    """Blocks below ``minimum`` join their smallest adjacent block of the same CCG (smallest first, ties by
    number); the surviving blocks are renumbered 0, 1, ... in their original order."""
    parent = list(range(len(sizes)))
    members: list[list[int]] = [[] for _ in sizes]
    for i, b in enumerate(bl):
        if b >= 0:
            members[b].append(i)

    def root(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    heap = [(s, b) for b, s in enumerate(sizes) if s < minimum]
    heapq.heapify(heap)
    while heap:
        s, b = heapq.heappop(heap)
        if parent[b] != b or s != sizes[b]:
            continue  # merged away, or grown since it was queued
        near = {
            root(bl[j])
            for i in members[b]
            for j in nb[ip[i] : ip[i + 1]]
            if bl[j] >= 0 and cs[j] == cs[i] and root(bl[j]) != b
        }
        if not near:
            continue
        target = min(near, key=lambda r: (sizes[r], r))
        parent[b] = target
        sizes[target] += sizes[b]
        members[target] += members[b]
        if sizes[target] < minimum:
            heapq.heappush(heap, (sizes[target], target))
    roots = np.array([root(b) for b in range(len(sizes))], dtype=np.int64)
    _, renumber = np.unique(roots, return_inverse=True)
    block = np.array(bl, dtype=np.int64)
    has = block >= 0
    block[has] = renumber[block[has]]
    return block


class Start:
    """The DES start as a Mesa event (Mesa holds event callbacks weakly: the model keeps this object)."""

    def __init__(self, model) -> None:
        self.model = model

    def fire(self) -> None:
        form_networks(self.model, max(self.model.des_start, 1))


def form_networks(model, month: int) -> None:
    """Practices sign up: opt-outs are drawn, then the geographic blocks become networks, each with the member
    of most spare leadership as clinical director (lowest id on a tie)."""
    p, pr, pe, c = model.p, model.practices, model.peers, model.pcns
    is_open = pr.open
    signing = is_open & ~opt_outs(is_open, p, model.rng) & (pr.pcn < 0)
    block = blocks(pr.list_size, signing, pr.ccg, model.region.x, model.region.y, pe.indptr, pe.dst, p)
    n_blocks = int(block.max(initial=-1)) + 1
    if n_blocks == 0:
        return
    ids = (block >= 0).nonzero()[0]
    by_block = ids[np.lexsort((ids, -pr.leadership[ids], block[ids]))]
    first = by_block[np.concatenate(([True], block[by_block][1:] != block[by_block][:-1]))]  # most spare leadership
    offset = c.size
    for director in first.tolist():
        c.add(
            founded=month,
            founder=director,
            director=director,
            home_ccg=pr.ccg[director],
            home_hospital=pr.hospital[director],
            hospital_trust=0.5,
        )
    pr.pcn[ids] = block[ids] + offset
    refresh(model)


def refresh(model) -> None:
    """Members and population of every network, from the practice arrays."""
    pr = model.practices
    model.pcns.count_members(pr.pcn, pr.list_size, pr.open & (pr.pcn >= 0))


def fellow_trust(model) -> np.ndarray:
    """Each network member's mean trust in the fellow members it is connected to (its mean trust in all its
    peers if it has no fellow member among them)."""
    return model.peers.mean_trust_within(model.practices.pcn)


def engaged_jointly(
    model, org_eligible: np.ndarray, org_hospital: np.ndarray, org_score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which organisations and which networks their home hospital works with this month: its
    ``hospital_relationship_capacity`` is shared between both kinds of counterpart, best score first
    (:func:`gpsim.rules.hospitals.engaged`; a network's score is, like an organisation's, the hospital's trust in
    it plus its record). Organisations come first on a tie. Without networks, the organisations' answer alone."""
    c, pr = model.pcns, model.practices
    cap = model.p.hospital_relationship_capacity
    if c.size == 0:
        return hospitals.engaged(org_eligible, org_hospital, org_score, cap), np.zeros(0, dtype=bool)
    members = np.bincount(pr.pcn[pr.open & (pr.pcn >= 0)], minlength=c.size)[: c.size]
    both = hospitals.engaged(
        np.concatenate([org_eligible, c.alive & (members > 0)]),
        np.concatenate([org_hospital, c.view("home_hospital")]),
        np.concatenate([org_score, c.view("hospital_trust") + c.view("commit_record")]),
        cap,
    )
    n = len(org_eligible)
    return both[:n], both[n:]


def decide(model, pressure: np.ndarray, month: int, engaged: np.ndarray | None = None) -> PCNMonth | None:
    """This month's DES money and hospitals' asks of networks, from the start-of-month state (None before any
    network exists, so runs without the DES draw nothing here). Only networks in ``engaged`` (all if None) are
    asked: their home hospital works with them (:func:`engaged_jointly`)."""
    p, pr, c = model.p, model.practices, model.pcns
    n = c.size
    if n == 0:
        return None
    alive = c.alive
    member = pr.open & (pr.pcn >= 0)
    pop = np.bincount(pr.pcn[member], pr.list_size[member], minlength=n)[:n].astype(float)
    members = np.bincount(pr.pcn[member], minlength=n)[:n]
    rate = des_rate(month, model.des_start, p)
    income = np.where(alive, pop * rate / 12.0, 0.0)
    director = np.minimum(pop * p.pcn_director_cost_per_patient / 12.0, income)
    fellows = fellow_trust(model)
    asked = asks_mod.asks(
        alive, members, pop, c.view("commit_record"), pr.pcn, member, fellows, pressure, pr.list_size, p, model.rng,
        engaged,
    )  # fmt: skip
    return PCNMonth(
        income=income,
        director=director,
        roles=income - director,
        population=pop,
        asked=asked,
        hospital_trust=trust.hospital_trust(c.view("hospital_trust"), asked.issued, asked.delivered, p),
        cohesion=trust.cohesion(pr.pcn, fellows, member, n),
    )


def apply(model, d: PCNMonth | None, month: int) -> None:
    """Book the month's DES money, record asks, and keep networks in step with practices that closed: a
    closed practice leaves its network, a network left with no members ends, and a network whose clinical
    director's practice has gone appoints the member with most spare leadership."""
    pr, c, led = model.practices, model.pcns, model.ledger
    model.pcn_asks_month = 0
    model.des_paid_month = 0.0
    if d is None:
        return
    led.add("network_des", d.income.sum())
    led.add("network_des_clinical_directors", d.director.sum())
    led.add("network_des_additional_roles", d.roles.sum())
    model.des_paid_month = float(d.income.sum())
    c.view("roles_pp")[:] = np.divide(d.roles * 12.0, d.population, out=np.zeros(c.size), where=d.population > 0)
    a = d.asked
    asks_mod.record(c, a, d.hospital_trust)
    c.view("cohesion")[:] = d.cohesion
    model.pcn_asks_month = int(a.issued.sum())
    pr.pcn[~pr.open] = -1
    refresh(model)
    alive = c.alive
    ended = alive & (c.view("members") == 0)
    c.view("dissolved")[ended] = month
    c.view("cause")[ended] = DissolutionCause.TOO_FEW_MEMBERS
    c.view("committable")[ended] = False
    c.view("roles_pp")[ended] = 0.0
    director = c.view("director")
    lost = c.alive & ((director < 0) | (pr.pcn[np.maximum(director, 0)] != np.arange(c.size)))
    for k in lost.nonzero()[0].tolist():
        cand = (pr.pcn == k).nonzero()[0]
        director[k] = cand[np.lexsort((cand, -pr.leadership[cand]))[0]]


def relief(model) -> np.ndarray:
    """Share of GP workload the network's additional-roles staff take off each member practice (last month's
    spending): spending per patient / GP cost per patient x ``pcn_roles_relief_ratio``, at most
    ``max_service_relief``."""
    p, pr, c = model.p, model.practices, model.pcns
    out = np.zeros(pr.n)
    if c.size == 0:
        return out
    member = pr.open & (pr.pcn >= 0)
    gp_cost_pp = p.gp_fte_per_1000 / 1000.0 * p.cost_per_gp_fte
    share = c.view("roles_pp") * c.alive / gp_cost_pp * p.pcn_roles_relief_ratio
    out[member] = np.minimum(share[pr.pcn[member]], p.max_service_relief)
    return out


def director_sessions(model) -> np.ndarray:
    """Funded leadership sessions a week each practice holds as a network's clinical director."""
    pr, c = model.practices, model.pcns
    out = np.zeros(pr.n)
    if c.size == 0:
        return out
    directors = c.view("director")[c.alive & (c.view("director") >= 0)]
    # the sessions of a practice directing several networks add up one by one, as np.add.at would add them
    return np.bincount(directors, np.full(len(directors), float(model.p.pcn_director_sessions)), minlength=pr.n)


def in_network(model) -> np.ndarray:
    """Open practices in a network now."""
    pr = model.practices
    return pr.open & (pr.pcn >= 0)
