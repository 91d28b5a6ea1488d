"""Commissioners: CCGs with budgets, bids, relationships, mergers and MCP/PACS contracts (ODD 7.10).

A CCG has a supportiveness (its stance towards general practice at scale), a yearly development budget that,
once spent, is spent, and a relationship with each organisation in its area that rises when the organisation
delivers what it took on and falls when it fails. The CCG's supportiveness drifts towards its relationships and
drops when an organisation in its area fails. CCGs choose between bids by maturity, size and relationship
(:func:`bid_score`), commission local services and extended access from the providers they trust, and, in the
Vanguard era, may procure one whole-population (MCP/PACS) contract per area, built on a mature large provider.
A merger pools budgets and relationships, gives the merged body a new stance and pauses its decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

from gpsim.rules import leadership
from gpsim.state import LeadershipKind

FOREVER = 10**9


def draw_support(n_ccgs: int, p, rng: np.random.Generator) -> np.ndarray:
    """Each CCG's supportiveness: Beta with mean ``ccg_supportiveness`` and concentration
    ``ccg_support_concentration`` (all equal at the ends of the range)."""
    mean = p.ccg_supportiveness
    if mean <= 0.0 or mean >= 1.0:
        return np.full(n_ccgs, mean)
    return rng.beta(mean * p.ccg_support_concentration, (1 - mean) * p.ccg_support_concentration, n_ccgs)


@dataclass
class MCPContracts:
    """Whole-population (MCP/PACS) contracts, one row per contract ever awarded."""

    holder: list[int] = field(default_factory=list)  # organisation holding it
    area: list[int] = field(default_factory=list)  # CCG that procured it
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)  # last month it runs, unless ended early
    break_at: list[int] = field(default_factory=list)  # month of the break clause
    ended: list[int] = field(default_factory=list)  # month it ended, -1 while running
    attempts: int = 0  # procurements tried
    failed: int = 0  # procurements that found no qualifying provider

    def running(self) -> np.ndarray:
        """Ids of contracts still running."""
        return (np.asarray(self.ended, dtype=np.int64) < 0).nonzero()[0]


@dataclass
class Commissioners:
    """What CCGs hold besides their supportiveness (``model.ccg_support``), indexed by CCG."""

    budget: np.ndarray  # development money left this financial year (GBP)
    gpfv_left: np.ndarray  # GP Forward View money allocated and not yet released (GBP)
    has_plan: np.ndarray  # made a plan for its GP Forward View money
    ea_from: np.ndarray  # month it starts commissioning extended access (FOREVER: not yet decided)
    paused_until: np.ndarray  # last month of a post-merger pause (decisions frozen)
    mcp: np.ndarray  # per practice: running MCP/PACS contract covering it, -1 if none
    contracts: MCPContracts = field(default_factory=MCPContracts)
    spent: dict[str, float] = field(default_factory=dict)  # development money spent, by purpose

    @classmethod
    def start(cls, n_ccgs: int, n_practices: int) -> Commissioners:
        return cls(
            budget=np.zeros(n_ccgs),
            gpfv_left=np.zeros(n_ccgs),
            has_plan=np.zeros(n_ccgs, dtype=bool),
            ea_from=np.full(n_ccgs, FOREVER, dtype=np.int64),
            paused_until=np.zeros(n_ccgs, dtype=np.int64),
            mcp=np.full(n_practices, -1, dtype=np.int64),
        )

    def spend(self, purpose: str, amount: float) -> None:
        self.spent[purpose] = self.spent.get(purpose, 0.0) + float(amount)


# --- bids ---------------------------------------------------------------------------------------------
def maturity(delivering: np.ndarray, committable: np.ndarray, p) -> np.ndarray:
    """How mature an organisation is, 0-1: ``bid_delivering_share`` for delivering benefits, the rest for being
    able to commit its members."""
    share = p.bid_delivering_share
    return share * delivering.astype(float) + (1.0 - share) * committable.astype(float)


def bid_score(maturity_: np.ndarray, population: np.ndarray, relationship: np.ndarray, p) -> np.ndarray:
    """How a commissioner ranks bids: ``bid_maturity_weight x maturity + bid_size_weight x log2(population /
    target_org_size) + bid_relationship_weight x relationship`` (no noise: add it where bids are judged)."""
    size = np.log2(np.maximum(population, 1.0) / p.target_org_size)
    return p.bid_maturity_weight * maturity_ + p.bid_size_weight * size + p.bid_relationship_weight * relationship


def ccg_population(model) -> np.ndarray:
    """Registered patients of open practices in each CCG."""
    pr = model.practices
    return np.bincount(pr.ccg, pr.list_size * pr.open, minlength=model.region.n_ccgs).astype(float)


def calendar_month(p, month: int) -> int:
    """Calendar month (1-12) of run month ``month`` (1-based)."""
    return (p.start_month - 1 + month - 1) % 12 + 1


def set_budgets(model) -> None:
    """A new financial year: each CCG's development budget is ``ccg_development_budget_per_head`` x its
    population; what was left of last year's is gone."""
    model.commissioners.budget[:] = model.p.ccg_development_budget_per_head * ccg_population(model)


def active(model, month: int) -> np.ndarray:
    """CCGs free to release money and procure this month (not in a post-merger pause)."""
    return model.commissioners.paused_until < month


# --- leadership development -------------------------------------------------------------------------
def leadership_at_founding(model, founder: int) -> tuple[LeadershipKind, bool]:
    """Leadership of a new organisation (:func:`gpsim.rules.leadership.founding_leadership`), where the CCG funds
    leadership development only while its budget covers ``leadership_development_cost``. Returns (kind,
    whether the CCG pays for it)."""
    p, c = model.p, int(model.practices.ccg[founder])
    cs = model.commissioners
    can_pay = cs.budget[c] >= p.leadership_development_cost and cs.paused_until[c] < model.steps
    support = float(model.ccg_support[c]) if can_pay else 0.0
    return leadership.founding_leadership(bool(model.practices.heroic[founder]), support, p, model.rng)


def pay_leadership_development(model, c: int) -> float:
    """CCG ``c`` pays for a new organisation's leadership development from its budget; returns the grant, which
    goes into the organisation's reserves."""
    amount = model.p.leadership_development_cost
    model.commissioners.budget[c] -= amount
    model.commissioners.spend("leadership_development", amount)
    model.ledger.add("ccg_leadership_development", amount)
    return amount


def ration(request: np.ndarray, ccg: np.ndarray, score: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """What each request gets when every CCG pays its requests in order of score (best first, ties by index)
    until its budget runs out; the request that crosses the line gets what is left."""
    paid = np.zeros(len(request))
    idx = (request > 0).nonzero()[0]
    if len(idx) == 0:
        return paid
    order = idx[np.lexsort((-score[idx], ccg[idx]))]  # stable: ties keep ascending ids
    c, r = ccg[order], request[order]
    cum = np.cumsum(r)
    first = np.concatenate(([True], c[1:] != c[:-1]))
    base = np.maximum.accumulate(np.where(first, cum - r, 0.0))  # cumulative total before each CCG's group
    before = cum - r - base
    paid[order] = (np.maximum(budget[c], 0.0) - before).clip(0.0, r)
    return paid


# --- extended access --------------------------------------------------------------------------------
def extended_access_start(support: np.ndarray, population: np.ndarray, rollout) -> np.ndarray:
    """Month each CCG starts commissioning extended access: the most supportive first, so that CCGs holding
    ``rollout.half_share`` of the population start by ``rollout.half_by`` and all by ``rollout.end``."""
    n = len(support)
    order = np.lexsort((np.arange(n), -support))
    total = max(population.sum(), 1.0)
    q = (np.cumsum(population[order]) - population[order] / 2) / total  # population share before its midpoint
    h = rollout.half_share
    early = rollout.start + (rollout.half_by - rollout.start) * q / h
    late = rollout.half_by + 1 + (rollout.end - rollout.half_by - 1) * (q - h) / max(1 - h, 1e-12)
    out = np.empty(n, dtype=np.int64)
    out[order] = np.floor(np.where(q < h, early, late)).astype(np.int64)
    return out


def local_services(model, alive: np.ndarray, delivering: np.ndarray) -> np.ndarray:
    """Organisations their CCG commissions local services from: delivering, and trusted by it at least
    ``local_services_relationship``."""
    return alive & delivering & (model.orgs.view("ccg_relationship") >= model.p.local_services_relationship)


# --- the monthly update -----------------------------------------------------------------------------
def relationships(relationship: np.ndarray, issued: np.ndarray, delivered: np.ndarray, p) -> np.ndarray:
    """Each organisation's relationship with its CCG after this month's asks: a delivered ask moves it
    ``ccg_relationship_gain`` of the way to 1, a failed one takes ``ccg_relationship_loss`` of it away."""
    up = relationship + p.ccg_relationship_gain * (1.0 - relationship)
    down = relationship * (1.0 - p.ccg_relationship_loss)
    return np.where(delivered, up, np.where(issued, down, relationship))


def supportiveness(
    support: np.ndarray,
    home_ccg: np.ndarray,
    population: np.ndarray,
    relationship: np.ndarray,
    alive: np.ndarray,
    failed_population: np.ndarray,
    ccg_pop: np.ndarray,
    p,
) -> np.ndarray:
    """Each CCG's supportiveness after this month: ``ccg_support_adapt`` of the way towards the
    population-weighted relationship with the live organisations in its area (unchanged without any), less
    ``ccg_failure_damage`` x the share of its population in organisations that dissolved (``failed_population``
    per organisation, their largest size)."""
    n = len(support)
    live = alive & (population > 0) & (home_ccg >= 0)
    w = np.bincount(home_ccg[live], population[live], minlength=n)[:n]
    r = np.bincount(home_ccg[live], population[live] * relationship[live], minlength=n)[:n]
    mean_r = np.divide(r, w, out=support.copy(), where=w > 0)
    hit = failed_population > 0
    lost = np.bincount(home_ccg[hit], failed_population[hit], minlength=n)[:n]
    damage = p.ccg_failure_damage * np.minimum(np.divide(lost, ccg_pop, out=np.zeros(n), where=ccg_pop > 0), 1.0)
    return (support + p.ccg_support_adapt * (mean_r - support) - damage).clip(0.0, 1.0)


def update(model, month: int, issued: np.ndarray, delivered: np.ndarray) -> None:
    """Commissioners act on the month's outcomes (after every other change of the month): relationships and
    supportiveness, GP Forward View plans, MCP/PACS contracts, and a new budget when a financial year starts."""
    p, o, cs = model.p, model.orgs, model.commissioners
    alive, home = o.alive, np.maximum(o.view("home_ccg"), 0)
    rel = o.view("ccg_relationship")
    new = o.view("founded") == month
    rel[new] = model.ccg_support[home[new]]
    n = min(len(issued), o.size)
    rel[:n] = relationships(rel[:n], issued[:n], delivered[:n], p)
    failed = np.where(o.view("dissolved") == month, o.view("peak_population"), 0).astype(float)
    pop = o.view("population").astype(float)
    ccg_pop = ccg_population(model)
    model.ccg_support[:] = supportiveness(model.ccg_support, home, pop, rel, alive, failed, ccg_pop, p)
    gpfv = [q for q in model.active_programmes if q.ledger == "gp_forward_view"]
    free = active(model, month + 1)
    if gpfv:
        planning = free & ~cs.has_plan & (cs.gpfv_left > 0)
        chance = p.ccg_plan_rate * (p.commissioner_support_base + model.ccg_support)
        cs.has_plan |= planning & (model.rng.random(len(planning)) < chance)
    procure_mcp(model, month, ccg_pop)
    if calendar_month(p, month + 1) == 4:
        set_budgets(model)


# --- MCP/PACS contracts ------------------------------------------------------------------------------
def mcp_foundation(model, area: int, area_pop: float) -> int:
    """The provider an MCP/PACS contract for ``area`` would be built on: the best-scoring live organisation of
    the area that delivers, can commit its members and covers at least ``mcp_min_foundation_share`` of the area
    and ``mcp_min_foundation_population``; -1 if none qualifies."""
    p, o = model.p, model.orgs
    pop = o.view("population").astype(float)
    ok = (
        o.alive
        & (o.view("home_ccg") == area)
        & (o.view("first_benefit") >= 0)
        & o.view("committable")
        & (pop >= max(p.mcp_min_foundation_population, p.mcp_min_foundation_share * area_pop))
    )
    cand = ok.nonzero()[0]
    if len(cand) == 0:
        return -1
    score = bid_score(np.ones(len(cand)), pop[cand], o.view("ccg_relationship")[cand], p)
    return int(cand[np.argmax(score)])


def procure_mcp(model, month: int, ccg_pop: np.ndarray) -> None:
    """End contracts whose term is over, whose holder dissolved, or whose holder can no longer commit its
    members at the break clause; then, in the MCP/PACS era, each area without a running contract tries to
    procure one with chance ``mcp_procurement_rate / 12 x (commissioner_support_base + supportiveness)`` a month."""
    p, o, cs, pr = model.p, model.orgs, model.commissioners, model.practices
    ct = cs.contracts
    for j in ct.running().tolist():
        k = ct.holder[j]
        gone = o.dissolved[k] >= 0
        broken = month == ct.break_at[j] and not o.committable[k]
        if gone or broken or month >= ct.end[j]:
            ct.ended[j] = month
            cs.mcp[cs.mcp == j] = -1
    era = model.mcp_era
    if era is None or not era[0] <= month + 1 <= era[1] or p.mcp_procurement_rate <= 0:
        return
    live = (ccg_pop > 0).nonzero()[0]
    covered = np.zeros(len(ccg_pop), dtype=bool)
    running = ct.running()
    if len(running):
        covered[np.asarray(ct.area, dtype=np.int64)[running]] = True
    chance = p.mcp_procurement_rate / 12.0 * (p.commissioner_support_base + model.ccg_support[live])
    draw = model.rng.random(len(live))
    free = active(model, month + 1)[live]
    for c in live[(draw < chance) & ~covered[live] & free].tolist():
        ct.attempts += 1
        k = mcp_foundation(model, c, float(ccg_pop[c]))
        if k < 0:
            ct.failed += 1
            continue
        lo, hi = p.mcp_min_years, max(p.mcp_max_years, p.mcp_min_years)
        years = lo + (hi - lo) * model.rng.random()
        j = len(ct.holder)
        ct.holder.append(k)
        ct.area.append(c)
        ct.start.append(month + 1)
        ct.end.append(month + round(12 * years))
        ct.break_at.append(month + round(12 * min(p.mcp_break_years, years)))
        ct.ended.append(-1)
        cs.mcp[pr.open & (pr.ccg == c)] = j


def mcp_payments(model, alive: np.ndarray) -> np.ndarray:
    """What each organisation keeps this month from the MCP/PACS contracts it holds: ``mcp_margin_per_patient``
    per patient covered."""
    pr, cs = model.practices, model.commissioners
    out = np.zeros(model.orgs.size)
    covered = pr.open & (cs.mcp >= 0)
    if covered.any():
        holder = np.asarray(cs.contracts.holder, dtype=np.int64)[cs.mcp[covered]]
        out += np.bincount(holder, pr.list_size[covered], minlength=len(out))[: len(out)]
    return np.where(alive, out * model.p.mcp_margin_per_patient / 12.0, 0.0)


def share_population_mcp(model) -> float:
    """Share of registered patients covered by a running MCP/PACS contract."""
    pr = model.practices
    lists = pr.list_size * pr.open
    total = lists.sum()
    return float(lists[model.commissioners.mcp >= 0].sum() / total) if total > 0 else 0.0


# --- mergers -------------------------------------------------------------------------------------------
def _repoint(old: int, new: int, nodes: list[int], graph) -> None:
    """On the graph, organisations ``nodes`` commissioned by CCG node ``old`` are commissioned by ``new``."""
    for node in nodes:
        if graph.has_edge(old, node):
            graph.remove_edge(old, node)
            graph.add_edge(new, node, kind="commissions")


def merge_ccgs(model, share: float) -> None:
    """Merge neighbouring CCGs (nearest population-weighted centres first) until ``share`` of the starting
    number remain. The merged body pools its parts' budgets and money waiting to be released, takes a new
    stance (``merger_stance_renewal`` of a fresh draw, the rest the population-weighted mean of its parts),
    commissions extended access if either part did, and pauses its decisions for ``merger_pause_months``; its
    practices and organisations are re-pointed to it on the graph."""
    p, pr, cs = model.p, model.practices, model.commissioners
    n_start = model.region.n_ccgs
    target = max(1, round(n_start * share))
    month = model.steps + 1  # the merger takes effect from the next month
    w = pr.list_size * pr.open
    # patients and population-weighted position sums per CCG, kept up to date as CCGs merge
    weight = np.bincount(pr.ccg, w, minlength=n_start).astype(float)
    sx = np.bincount(pr.ccg, w * model.region.x, minlength=n_start)
    sy = np.bincount(pr.ccg, w * model.region.y, minlength=n_start)
    alive = np.bincount(pr.ccg[pr.open], minlength=n_start) > 0
    while True:
        live = alive.nonzero()[0]
        if len(live) <= target:
            return
        tot = weight[live]
        cx, cy = sx[live] / np.maximum(tot, 1), sy[live] / np.maximum(tot, 1)
        # merge the smallest CCG into its nearest neighbour (population-weighted centres), one pair at a time
        small = int(np.argmin(tot))
        d = np.hypot(cx - cx[small], cy - cy[small])
        d[small] = np.inf
        near = int(np.argmin(d))
        a, b = int(live[near]), int(live[small])
        wa, wb = tot[near], tot[small]
        weight[a], sx[a], sy[a] = weight[a] + weight[b], sx[a] + sx[b], sy[a] + sy[b]
        alive[b] = False
        pooled = (model.ccg_support[a] * wa + model.ccg_support[b] * wb) / max(wa + wb, 1)
        fresh = draw_support(1, p, model.rng)[0]
        model.ccg_support[a] = (1 - p.merger_stance_renewal) * pooled + p.merger_stance_renewal * fresh
        cs.budget[a] += cs.budget[b]
        cs.gpfv_left[a] += cs.gpfv_left[b]
        cs.budget[b] = cs.gpfv_left[b] = 0.0
        cs.has_plan[a] |= cs.has_plan[b]
        cs.ea_from[a] = min(cs.ea_from[a], cs.ea_from[b])
        cs.paused_until[a] = month + p.merger_pause_months - 1
        moved = (pr.ccg == b).nonzero()[0].tolist()
        pr.ccg[moved] = a
        model.graph_changes.remove_edges_from((model.ids.ccg(b), i) for i in moved)
        model.graph_changes.add_edges_from(((model.ids.ccg(a), i) for i in moved), kind="commissions")
        home = model.orgs.view("home_ccg")
        nodes = [model.ids.org(int(k)) for k in (home == b).nonzero()[0]]
        model.graph_changes.change(partial(_repoint, model.ids.ccg(b), model.ids.ccg(a), nodes))
        home[home == b] = a
        ct = cs.contracts
        ct.area[:] = [a if c == b else c for c in ct.area]
