"""Funding programmes: who is paid, how much, and under which ledger name (ODD 7.10).

The timeline (dates and sizes) is in :mod:`gpsim.policy`. National budgets and site counts are England's; a
region gets its population's share of both (``england_population``), so a synthetic England gets the real
programmes and a CCG a small part of them (a fractional site is won with that chance). Five ways of allocating
money (:class:`gpsim.policy.Allocation`):

* open: every qualifying organisation is paid per patient (the generic pump-priming and recurrent payment);
* CCG budget: the same, for each organisation's first months, but each CCG pays its bidders best-first
  (:func:`gpsim.rules.commissioners.bid_score`) only while its yearly development budget lasts (the CCGs'
  development grants);
* competitive: bids for CCG areas (the area's at-scale organisations together) are scored on maturity, size and
  the CCG's relationship with the bidders, with noise; the best ``sites`` share the national budget, each at
  most ``programme_max_per_patient`` per patient a year (Challenge Fund waves, Vanguards);
* CCG allocation: the budget is shared to CCGs by population and released evenly over the months left to
  their at-scale organisations by population once the CCG has a plan (GP Forward View);
* commissioned: CCGs commission the service from their delivering at-scale providers from the month each
  starts (extended access).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpsim.policy import FOREVER, Allocation, FundingProgramme, extended_access_rollout
from gpsim.rules import commissioners


@dataclass
class Award:
    """The bids a competitive programme chose: organisations and what each is paid a month."""

    orgs: np.ndarray
    monthly: np.ndarray
    areas: np.ndarray  # the CCGs whose bids won


@dataclass
class ProgrammeMoney:
    """This month's programme money (GBP, one entry per organisation row unless said)."""

    one_off: np.ndarray
    recurrent: np.ndarray
    service_costs: np.ndarray  # cost of delivering the services the money buys
    due: np.ndarray  # one-off money still due in the next 12 months, at this month's rate
    by_ledger: dict[str, float]  # ledger entry -> GBP this month
    ccg_spend: dict[str, np.ndarray]  # commissioner money spent this month, per CCG, by purpose
    granted: np.ndarray  # organisations paid a CCG development grant this month


def england_share(model) -> float:
    """The simulated region's share of England's registered population."""
    return model.initial_population / model.p.england_population


def sites_for(sites: float, share: float, rng: np.random.Generator) -> int:
    """England's number of sites scaled to the region: the whole part, and one more with the fractional part's
    chance."""
    x = sites * share
    whole = int(np.floor(x))
    return whole + int(rng.random() < x - whole)


def area_bids(model, requires_delivery: bool = False):
    """One bid per CCG area from its live organisations together. Returns (population, maturity, relationship)
    per CCG (population-weighted) and the mask of organisations in a bid."""
    o = model.orgs
    n = model.region.n_ccgs
    pop = o.view("population").astype(float)
    delivering = o.view("first_benefit") >= 0
    in_bid = o.alive & (pop > 0) & (o.view("home_ccg") >= 0)
    if requires_delivery:
        in_bid &= delivering
    home = o.view("home_ccg")[in_bid]
    w = pop[in_bid]
    bid_pop = np.bincount(home, w, minlength=n)[:n]
    mature = commissioners.maturity(delivering, o.view("committable"), model.p)[in_bid]
    mat = np.divide(np.bincount(home, w * mature, minlength=n)[:n], bid_pop, out=np.zeros(n), where=bid_pop > 0)
    rel = o.view("ccg_relationship")[in_bid]
    rel = np.divide(np.bincount(home, w * rel, minlength=n)[:n], bid_pop, out=np.zeros(n), where=bid_pop > 0)
    return bid_pop, mat, rel, in_bid


def choose_bids(model, prog: FundingProgramme) -> Award:
    """A competitive programme picks its sites among the area bids of at least ``prog.min_population``: the best
    by :func:`~gpsim.rules.commissioners.bid_score` plus Gumbel noise of scale ``bid_noise``. Each site gets the
    national budget per site, at most ``programme_max_per_patient`` per patient a year, shared among the
    area's organisations by population and paid in equal monthly parts."""
    p, o, rng = model.p, model.orgs, model.rng
    bid_pop, mat, rel, in_bid = area_bids(model, prog.requires_delivery)
    score = commissioners.bid_score(mat, bid_pop, rel, p) + p.bid_noise * rng.gumbel(size=len(bid_pop))
    n_sites = sites_for(prog.sites, england_share(model), rng)
    eligible = (bid_pop >= max(prog.min_population, 1.0)).nonzero()[0]
    areas = eligible[np.lexsort((eligible, -score[eligible]))][:n_sites]
    per_site = prog.budget / max(prog.sites, 1e-12)
    grant = np.minimum(per_site, p.programme_max_per_patient * bid_pop * prog.months / 12)
    won = np.zeros(len(bid_pop), dtype=bool)
    won[areas] = True
    k = (in_bid & won[np.maximum(o.view("home_ccg"), 0)]).nonzero()[0]
    home = o.view("home_ccg")[k]
    monthly = grant[home] * o.view("population")[k] / bid_pop[home] / prog.months
    return Award(orgs=k, monthly=monthly, areas=np.sort(areas))


def start(model, prog: FundingProgramme) -> None:
    """What a programme does as it starts: choose its sites, allocate its budget to CCGs, or set when each CCG
    starts commissioning."""
    cs = model.commissioners
    if prog.allocation is Allocation.COMPETITIVE:
        model.awards[prog.ledger] = choose_bids(model, prog)
    elif prog.allocation is Allocation.CCG_ALLOCATION:
        pop = commissioners.ccg_population(model)
        cs.gpfv_left += prog.budget * england_share(model) * pop / max(pop.sum(), 1.0)
    elif prog.allocation is Allocation.COMMISSIONED:
        rollout = extended_access_rollout(model.p)
        if rollout is not None:
            pop = commissioners.ccg_population(model)
            cs.ea_from[:] = commissioners.extended_access_start(model.ccg_support, pop, rollout)
        else:
            cs.ea_from[:] = prog.start_month


def payments(model, population: np.ndarray, alive: np.ndarray, delivering: np.ndarray) -> ProgrammeMoney:
    """Money each organisation receives this month from the running programmes and MCP/PACS contracts."""
    p, o, cs = model.p, model.orgs, model.commissioners
    n = len(population)
    one_off, recurrent, service_costs, due = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    by_ledger: dict[str, float] = {}
    ccg_spend: dict[str, np.ndarray] = {}
    granted = np.zeros(n, dtype=bool)
    month = model.steps
    home = np.maximum(o.view("home_ccg"), 0)
    n_ccgs = model.region.n_ccgs
    free = commissioners.active(model, month)
    for prog in model.active_programmes:
        kind = prog.allocation
        qualifies = alive & (population >= prog.min_population)
        if prog.requires_delivery:
            qualifies &= delivering
        if kind is Allocation.COMPETITIVE:
            award = model.awards.get(prog.ledger)
            amount = np.zeros(n)
            if award is not None and len(award.orgs):
                k = award.orgs
                amount[k] = np.where(alive[k] & (population[k] > 0), award.monthly, 0.0)
        elif kind is Allocation.CCG_ALLOCATION:
            months_left = max(prog.end_month - month + 1, 1)
            qualifies &= population > 0
            cpop = np.bincount(home[qualifies], population[qualifies], minlength=n_ccgs)[:n_ccgs]
            release = np.where(cs.has_plan & free & (cpop > 0), np.maximum(cs.gpfv_left, 0.0) / months_left, 0.0)
            share = np.divide(population, cpop[home], out=np.zeros(n), where=cpop[home] > 0)
            amount = np.where(qualifies, release[home] * share, 0.0)
            ccg_spend[prog.ledger] = np.bincount(home, amount, minlength=n_ccgs)[:n_ccgs]
        else:
            if kind is Allocation.COMMISSIONED:
                qualifies &= cs.ea_from[home] <= month
            amount = np.where(qualifies, population * prog.per_patient / 12.0, 0.0)
            if kind is Allocation.CCG_BUDGET:
                if prog.months_per_org < FOREVER:
                    amount *= o.view("ccg_grant_months") < prog.months_per_org
                score = commissioners.bid_score(
                    commissioners.maturity(delivering, o.view("committable"), p), population,
                    o.view("ccg_relationship"), p,
                )  # fmt: skip
                amount = commissioners.ration(amount * free[home], home, score, cs.budget)
                ccg_spend["budget"] = (
                    ccg_spend.get("budget", 0.0) + np.bincount(home, amount, minlength=n_ccgs)[:n_ccgs]
                )
                if prog.months_per_org < FOREVER:
                    granted = amount > 0
        by_ledger[prog.ledger] = by_ledger.get(prog.ledger, 0.0) + float(amount.sum())
        service_costs += amount * prog.service_cost_share
        if prog.recurrent:
            recurrent += amount
        else:
            one_off += amount
            due += amount * min(12, max(prog.end_month - month, 0))
    mcp = commissioners.mcp_payments(model, alive)
    if mcp.any():
        recurrent += mcp
        by_ledger["mcp_contract"] = float(mcp.sum())
    return ProgrammeMoney(one_off, recurrent, service_costs, due, by_ledger, ccg_spend, granted)


def book(model, money: ProgrammeMoney) -> None:
    """Book this month's programme money in the ledger and take what commissioners spent off their budgets."""
    cs = model.commissioners
    model.orgs.view("ccg_grant_months")[money.granted] += 1
    for name, amount in money.by_ledger.items():
        model.ledger.add(name, amount)
    for purpose, spent in money.ccg_spend.items():
        if purpose == "budget":
            cs.budget -= spent
            cs.spend("development", spent.sum())
        else:
            cs.gpfv_left -= spent
            cs.spend(purpose, spent.sum())
