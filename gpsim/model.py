"""GPModel: the Mesa model. ``step()`` reads like the ODD's process overview (docs/ODD.md section 3).

One step is one month, updated synchronously: every submodel first decides from the state at the start
of the month (plus this month's observations), then :meth:`GPModel._apply` makes all the changes in a
fixed, documented order. No agent acts before another, so activation order cannot change results. The rules
themselves live in :mod:`gpsim.rules`, one module per ODD submodel; this module is the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from gpsim import metrics, network, policy
from gpsim import region as region_mod
from gpsim.agents import CCG, Hospital, Organisation, Practice
from gpsim.arrays import distinct
from gpsim.money import OrgMoneyLog
from gpsim.network import DeferredGraph, NodeIds, PeerEdges, build_graph, collection_paused
from gpsim.params import Params
from gpsim.region import Region
from gpsim.rules import (
    asks,
    commissioners,
    contracts,
    finance,
    hospitals,
    leadership,
    membership,
    networks,
    organisations,
    practices,
    programmes,
    trust,
    workforce,
    workload,
)
from gpsim.state import (
    FORM_RELIEF,
    FORM_SAVING,
    DissolutionCause,
    ExitCause,
    GPPool,
    LeadershipKind,
    Ledger,
    OrgForm,
    OrgTable,
    PCNTable,
    PracticeArrays,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Observation:
    """What everyone sees at the start of a month (derived from last month's state)."""

    population: np.ndarray  # per organisation
    members: np.ndarray  # per organisation
    delivering: np.ndarray  # per organisation
    member_pressure: np.ndarray  # per organisation, population-weighted
    member_leadership: np.ndarray  # per organisation, sum of members' spare leadership
    leader_spare: np.ndarray  # per organisation, spare share of its leaders' own practices
    relief: np.ndarray  # per practice
    pressure: np.ndarray  # per practice
    leadership: np.ndarray  # per practice
    delivering_form: np.ndarray  # per practice: form of its organisation if delivering, else -1
    member: np.ndarray  # per practice


class _Switch:
    """Turns one funding programme on and off (Mesa holds event callbacks weakly: the model keeps these)."""

    def __init__(self, model: GPModel, programme: policy.FundingProgramme) -> None:
        self.model, self.programme = model, programme

    def start(self) -> None:
        programmes.start(self.model, self.programme)
        self.model.active_programmes.append(self.programme)

    def stop(self) -> None:
        self.model.active_programmes.remove(self.programme)


class _Merger:
    def __init__(self, model: GPModel, merger: policy.CCGMerger) -> None:
        self.model, self.merger = model, merger

    def apply(self) -> None:
        self.model.merge_ccgs(self.merger.share)


class GPModel(mesa.Model):
    """English GP practices, at-scale organisations, CCGs and hospitals on a relationship graph.

    Args:
        params: model parameters (defaults if omitted).
        rng: seed (int or ``numpy.random.SeedSequence``) or generator, passed to Mesa.
        region: a prebuilt starting region; by default built from ``params.region``.
        graph: the relationship graph between practices to start from (a networkx graph whose nodes are
            practice codes, with an optional ``trust`` edge attribute in [0, 1]), e.g. a patient-sharing
            network; by default ``params.peer_graph`` (each practice's nearest neighbours, or a GraphML file).
        **overrides: parameters by name (``GPModel(target_org_size=40_000, rng=1)``), applied on top of
            ``params``, as Mesa's ``batch_run`` passes them.
    """

    def __init__(
        self,
        params: Params | None = None,
        *,
        rng=None,
        region: Region | None = None,
        graph: nx.Graph | None = None,
        **overrides,
    ) -> None:
        super().__init__(rng=rng)
        p = params if params is not None else Params()
        self.p = p = p.replace(**overrides) if overrides else p
        self.region = region if region is not None else region_mod.from_params(p)
        n = self.region.n_practices
        self.ids = NodeIds(n, self.region.n_ccgs, self.region.n_hospitals)
        self.ccg_code = np.array(self.region.ccg_code, dtype=object)

        self.practices = pr = PracticeArrays(n)
        pr.list_size[:] = self.region.list_size
        pr.ccg[:] = self.region.ccg
        pr.hospital[:] = self.region.hospital
        pr.n_gps[:] = np.maximum(1, np.rint(pr.list_size * p.gp_fte_per_1000 / 1000 / p.fte_per_gp)).astype(np.int64)
        pr.n_partners[:] = np.clip(np.rint(p.partner_share * pr.n_gps), 1, pr.n_gps)
        pool = int(round(p.gp_pool_start_share * pr.n_gps.sum()))
        self.gp_pool = GPPool(available=pool, start=pool + int(pr.n_gps.sum()))
        pr.heroic[:] = self.rng.random(n) < p.heroic_leader_share
        self.ccg_support = commissioners.draw_support(self.region.n_ccgs, p, self.rng)
        self.commissioners = commissioners.Commissioners.start(self.region.n_ccgs, n)
        commissioners.set_budgets(self)
        self.mcp_era = policy.mcp_era(p)
        self.awards: dict[str, programmes.Award] = {}
        self.orgs = OrgTable(capacity=max(64, n // 4))
        self.community = hospitals.community_areas(self.region, p)
        catchment_population = np.bincount(pr.hospital, pr.list_size, minlength=self.region.n_hospitals)
        self.hospital_budget = catchment_population * p.hospital_contract_budget_per_patient
        self.pcns = PCNTable(capacity=max(16, n // 4))
        self.des_start = policy.network_des_month(p)
        self.pcn_asks_month = 0
        self.des_paid_month = 0.0
        h = p.difficult_history
        if graph is None and p.peer_graph != "nearest":
            graph = network.read_peer_graph(p.peer_graph)
        edges, given = (
            (self.region.peer_edges, None)
            if graph is None
            else network.peer_edges_from(graph, self.region.practice_code)
        )
        drawn = self.rng.beta(2.0 - h, 2.0 + h, len(edges))
        if given is not None:
            drawn = np.where(np.isnan(given), drawn, given)
        self.peers = PeerEdges(edges, drawn, n_nodes=n)
        # the networkx graph is built when first asked for (``graph``); structural changes reach it through
        # ``graph_changes``, kept until then
        self.graph_changes = DeferredGraph(partial(build_graph, self.ids, self.region, self.peers.edges, drawn.copy()))
        self._space: Network | None = None  # the Mesa cell space, built on first use (see ``space``)

        self.ledger = Ledger()
        self.org_money_log = OrgMoneyLog()  # each organisation's monthly flows (Results.org_money)
        self.patients_added = 0
        self.leaders_burnt_out = 0
        self.asks_issued = 0
        self.asks_delivered = 0
        self.closures: list[dict] = []
        self.records: list[dict] = []
        self.active_programmes: list[policy.FundingProgramme] = []
        self._org_agents: dict[int, Organisation] = {}
        self._queue_rank = np.full(n, n, dtype=np.int64)  # scratch for joining queues, kept at n between uses
        self._last_external = 0.0
        self._last_contract = 0.0
        self._last_asks = 0
        self._last_engaged = 0.0

        with collection_paused():
            for i in range(n):
                Practice(self, i)
            for c in range(self.region.n_ccgs):
                CCG(self, c)
            for k in range(self.region.n_hospitals):
                Hospital(self, k)

        obs = self._observe(1)
        pr.pressure[:], pr.leadership[:] = obs.pressure, obs.leadership
        pm = finance.practice_accounts(self, obs.delivering_form)
        pr.reserves[:] = p.initial_reserve_months * pm.monthly_costs
        # partners start judging the practice by what it earns them at the start (its profit per partner FTE)
        pr.partner_income[:] = np.divide(pm.profit * 12.0, pm.partner_fte, out=np.zeros(n), where=pm.partner_fte > 0)
        self.initial_population = int(pr.list_size.sum())
        self.initial_money = float(pr.reserves.sum())

        self._events = [_Switch(self, prog) for prog in policy.programmes(p)]
        for sw in self._events:
            self._at(sw.programme.start_month, sw.start)
            if sw.programme.end_month < p.n_months:
                self._at(sw.programme.end_month + 1, sw.stop)
        self._mergers = [_Merger(self, m) for m in policy.ccg_mergers(p)]
        for mg in self._mergers:
            self._at(mg.merger.month, mg.apply)
        self._des = networks.Start(self)
        if self.des_start is not None:
            self._at(self.des_start, self._des.fire)
        self._datacollector: mesa.DataCollector | None = None
        self.record()

    # --- set-up helpers --------------------------------------------------------------------------
    def _at(self, month: int, fn) -> None:
        """Make ``fn`` take effect from ``month`` (1-based): Mesa fires events after the step at their time."""
        if month <= 1:
            fn()
        else:
            self.schedule_event(fn, at=month - 1)

    # --- the monthly step: reads like ODD section 3 ----------------------------------------------
    def step(self) -> None:
        """One month. Decide everything from the start-of-month state, then apply it all together."""
        month = self.steps
        obs = self._observe(month)  # 1. workload pressure and spare leadership
        om = finance.org_accounts(self, obs.population, obs.members, obs.delivering)  # 2. money
        pm = finance.practice_accounts(self, obs.delivering_form)
        moods = self._decide_trust(obs, pm)  # 3. trust, cohesion, evidence of benefit
        asked = self._decide_asks(obs)  # 4. hospitals' asks and the record of commitment
        nets = networks.decide(self, obs.pressure, month, asked.networks_engaged)  # 4b. networks: DES money, asks
        leaders = self._decide_leadership(obs)  # 5. set-up work, delivery, burnout, succession
        review = organisations.review(self, om, obs.population, obs.members, month, self.rng)  # 6. subscriptions
        offers = self._decide_contracts(obs, asked, leaders, month)  # 7. contracts
        gps = self._decide_workforce(obs, pm, month)  # 8. GPs leave and are recruited
        moves = self._decide_membership(obs, om, moods, review)  # 9. join, leave, found
        exits = self._decide_exits(obs, pm, gps)  # 10. practices close or merge
        self._apply(month, obs, pm, om, moods, asked, leaders, review, offers, gps, moves, exits, nets)  # 11. all
        self.record()  # 12. monthly figures
        if self.steps >= self.p.n_months:
            self.running = False

    def _observe(self, month: int) -> Observation:
        p, pr, o = self.p, self.practices, self.orgs
        n_orgs = o.size
        is_open = pr.open
        member = is_open & (pr.org >= 0)
        org = pr.org[member]
        population = np.bincount(org, pr.list_size[member], minlength=n_orgs)[:n_orgs]
        members = np.bincount(org, minlength=n_orgs)[:n_orgs]
        delivering = o.alive & (o.view("first_benefit") >= 0)
        form = o.view("form")
        relief = np.zeros(pr.n)
        services = o.view("services_pp") / (p.gp_fte_per_1000 / 1000 * p.cost_per_gp_fte)
        org_relief = np.where(delivering, FORM_RELIEF[form], 0.0) + np.minimum(services, p.max_service_relief)
        relief[member] = org_relief[org]
        dem = workload.demand(pr.list_size, p, month)
        capacity = workload.capacity(pr.n_gps, relief + networks.relief(self), p)  # relief from PCN staff too
        pressure = np.where(is_open, workload.pressure(dem, capacity), 0.0)
        lead = np.where(is_open, leadership.practice_capacity(pr.n_gps, pressure, pr.heroic, p), 0.0)
        lead += networks.director_sessions(self) * is_open  # a clinical director's funded time
        delivering_form = np.full(pr.n, -1, dtype=np.int64)
        dm = member.copy()
        dm[member] = delivering[org]
        delivering_form[dm] = form[pr.org[dm]]
        w = pr.list_size[member]
        wp = np.bincount(org, pressure[member] * w, minlength=n_orgs)[:n_orgs]
        member_pressure = np.divide(wp, population, out=np.ones(n_orgs), where=population > 0)
        member_lead = np.bincount(org, lead[member], minlength=n_orgs)[:n_orgs]
        spare = leadership.spare_share(pressure, p) * is_open
        team_spare = np.divide(
            np.bincount(org, spare[member] * w, minlength=n_orgs)[:n_orgs],
            population,
            out=np.zeros(n_orgs),
            where=population > 0,
        )
        leader = o.view("leader")
        has_leader = (leader >= 0) & (pr.org[np.maximum(leader, 0)] == np.arange(n_orgs))
        leader_spare = np.where(
            o.view("leadership") == LeadershipKind.HEROIC,
            np.where(has_leader, spare[np.maximum(leader, 0)], 0.0),
            team_spare,
        )
        return Observation(
            population=population.astype(float),
            members=members,
            delivering=delivering,
            member_pressure=member_pressure,
            member_leadership=member_lead,
            leader_spare=leader_spare,
            relief=relief,
            pressure=pressure,
            leadership=lead,
            delivering_form=delivering_form,
            member=member,
        )

    def _decide_trust(self, obs: Observation, pm) -> dict:
        p, o, pr = self.p, self.orgs, self.practices
        gross = trust.gross_benefit(pm, obs.relief, pr.list_size, p)
        benefit = trust.member_benefit(pm, gross, pr.list_size)
        member_trust = trust.member_trust(self, benefit, obs.population)
        return dict(
            benefit_reference=trust.benefit_reference(pr.benefit_reference, benefit, obs.member, p),
            evidence=trust.benefit_reference(pr.evidence, gross, obs.member, p),
            member_trust=member_trust,
            cohesion=trust.cohesion(pr.org, member_trust, obs.member, o.size),
            peer_trust=trust.peer_trust(self, obs.delivering),
        )

    def _decide_asks(self, obs: Observation) -> asks.Asks:
        o, pr = self.orgs, self.practices
        score = o.view("hospital_trust") + o.view("commit_record")
        # a hospital's capacity is shared with primary care networks, ranked by the same score (ODD 7.13)
        engaged, pcn_engaged = networks.engaged_jointly(
            self, o.alive & (obs.members > 0), o.view("home_hospital"), score
        )
        out = asks.asks(
            o.alive, obs.members, obs.population, o.view("commit_record"), pr.org, obs.member, pr.member_trust,
            obs.pressure, pr.list_size, self.p, self.rng, engaged,
        )  # fmt: skip
        out.engaged, out.networks_engaged = engaged, pcn_engaged
        out.hospital_trust = trust.hospital_trust(o.view("hospital_trust"), out.issued, out.delivered, self.p)
        return out

    def _decide_leadership(self, obs: Observation) -> dict:
        p, o, pr = self.p, self.orgs, self.practices
        alive = o.alive
        kind, team, leader = o.view("leadership").copy(), o.view("team").copy(), o.view("leader").copy()
        # set-up work and delivery
        work = leadership.effort(kind, team, obs.leader_spare, obs.member_leadership, p) * alive
        done = o.view("work_done") + np.where(o.view("first_benefit") < 0, work, 0.0)
        needed = organisations.setup_work(o.view("form"), obs.members, p)
        newly = alive & (o.view("first_benefit") < 0) & (obs.members > 0) & (done >= needed)
        # burnout, and succession when the leader burns out or is no longer a member
        load = leadership.leader_load(obs.population, obs.member_pressure, p)
        burnout = np.where(alive, leadership.burnout(o.view("burnout"), kind, team, load, p), 0.0)
        heroic = kind == LeadershipKind.HEROIC
        leader_gone = alive & heroic & ((leader < 0) | (pr.org[np.maximum(leader, 0)] != np.arange(o.size)))
        burnt = alive & (burnout >= 1.0)
        idx = (burnt | leader_gone).nonzero()[0]
        s = leadership.succession(
            idx,
            kind[idx],
            leader[idx],
            obs.member_leadership[idx],
            pr.org,
            obs.leadership,
            pr.heroic,
            o.view("reserves")[idx],
            p,
        )
        took_over = s.new_leader >= 0
        leader[idx[took_over]] = s.new_leader[took_over]
        kind[idx[s.becomes_team]] = LeadershipKind.DISTRIBUTED
        team[idx[s.becomes_team]] = p.distributed_team_size
        leader[idx[s.becomes_team]] = -1
        team[idx[s.team_shrinks]] -= 1
        gone = np.zeros(o.size, dtype=bool)
        gone[idx[s.gone]] = True
        gone |= alive & ~heroic & (team <= 0)
        burnout[idx] = 0.0
        effort_share = leadership.leader_effort(kind, team, obs.leader_spare, p) / max(
            p.heroic_drive * p.leader_effort, 1e-12
        )
        return dict(
            burnout=burnout, burnt=burnt, kind=kind, team=team, leader=leader, gone=gone, work_done=done,
            work_needed=needed, newly=newly, effort_share=effort_share,
        )  # fmt: skip

    def _decide_contracts(self, obs: Observation, asked: asks.Asks, leaders: dict, month: int) -> np.ndarray:
        o = self.orgs
        eligible = obs.delivering & asked.committable & (o.view("contract_until") < month)
        support = self.ccg_support[np.maximum(o.view("home_ccg"), 0)]
        offered = contracts.offers(
            eligible & asked.engaged, asked.hospital_trust, support, o.view("spans_ccgs"), leaders["effort_share"],
            self.p, self.rng,
        )  # fmt: skip
        # each hospital pays for contracts from its yearly budget, best counterparts first
        yearly = obs.population * self.p.contract_value_per_patient
        home = o.view("home_hospital")
        running = o.alive & (o.view("contract_until") >= month) & (home >= 0)
        committed = np.bincount(home[running], yearly[running], minlength=self.region.n_hospitals)
        score = asked.hospital_trust + asked.record
        return hospitals.within_budget(offered, home, score, yearly, committed, self.hospital_budget)

    def _decide_workforce(self, obs: Observation, pm, month: int) -> workforce.WorkforceMonth:
        p, pr = self.p, self.practices
        is_open = pr.open
        # partners can afford another salaried GP if their income would stay above what they could earn salaried
        after = pr.partner_income * pm.partner_fte - p.fte_per_gp * p.cost_per_gp_fte
        can_afford = after >= p.salaried_gp_income * np.maximum(pm.partner_fte, p.fte_per_gp)
        wants = is_open & can_afford & (obs.pressure > 1.0)
        population = float(pr.list_size[is_open].sum())
        return workforce.month(
            pr.n_gps * is_open,
            pr.n_partners * is_open,
            self.gp_pool.available,
            obs.pressure,
            pr.partner_income,
            wants,
            obs.delivering_form >= 0,
            population,
            p,
            self.rng,
        )

    def _decide_membership(self, obs: Observation, om, moods: dict, review: organisations.Review) -> dict:
        p, pr, rng = self.p, self.practices, self.rng
        pop = obs.population
        services_pp = np.divide(om.services * 12, pop, out=np.zeros_like(pop), where=pop > 0)
        org_value = membership.expected_org_benefit_pp(self, obs.delivering, services_pp)
        common = membership.common_utility(p, self.ccg_support[pr.ccg], obs.pressure)
        independent = pr.open & (pr.org < 0)
        can_join = independent & (obs.leadership >= p.join_leadership_need)
        considering = can_join & (rng.random(pr.n) < p.join_consideration_rate)
        seen = np.bincount(pr.org[obs.member], pr.evidence[obs.member], minlength=self.orgs.size)[: self.orgs.size]
        mean_seen = np.divide(seen, obs.members, out=np.zeros(len(seen)), where=obs.members > 0)
        open_to_join = review.proposed <= organisations.acceptable_subscription(mean_seen, p)
        join_i, join_o = membership.join_choices(self, considering, org_value, pop, common, rng, open_to_join)
        leaves = membership.leave_choices(moods["member_trust"], obs.member, p, rng) | review.refusers
        joining = np.zeros(pr.n, dtype=bool)
        joining[join_i] = True
        eligible = independent & ~joining & (obs.leadership >= p.found_leadership_need)
        founders = membership.found_choices(
            self, eligible, can_join & ~joining, self._new_org_value(), common, rng, obs.leadership
        )
        return dict(join_i=join_i, join_o=join_o, leaves=leaves, founders=founders, can_join=can_join & ~joining)

    def _new_org_value(self) -> float:
        """What founders expect a new federation to be worth, GBP per patient per year."""
        p = self.p
        gross = (
            p.backoffice_saving_per_patient * FORM_SAVING[OrgForm.FEDERATION]
            + membership.relief_value_pp(p, np.array([OrgForm.FEDERATION]))[0]
        )
        money = sum(
            prog.per_patient * (1.0 - prog.service_cost_share) * (1.0 if prog.recurrent else p.unproven_discount)
            for prog in self.active_programmes
        )
        return p.unproven_discount * gross - p.subscription_per_patient + money

    def _decide_exits(self, obs: Observation, pm, gps: workforce.WorkforceMonth) -> dict:
        pr = self.practices
        income = practices.partner_income(pr.partner_income, pm.partner_income, pr.open, self.p)
        cause = practices.failing(gps.n_gps, obs.pressure, income, self.p) * pr.open
        months = np.where(cause > 0, pr.months_failing + 1, 0)
        exiting = pr.open & (months >= self.p.months_to_close)
        return dict(cause=cause, months=months, exiting=exiting, partner_income=income)

    # --- applying the month's changes ------------------------------------------------------------
    def _apply(self, month, obs, pm, om, moods, asked, leaders, review, offers, gps, moves, exits, nets) -> None:
        p, pr, o = self.p, self.practices, self.orgs
        pr.pressure[:], pr.leadership[:] = obs.pressure, obs.leadership
        finance.book(self, pm, om)
        self.org_money_log.add(month, om)
        o.view("subscription")[:] = review.proposed
        o.view("last_review")[review.due] = month
        one_off = om.one_off > 0
        o.view("one_off_months")[one_off] += 1
        o.view("last_one_off")[one_off] = month
        pop = np.maximum(obs.population, 1.0)
        o.view("services_pp")[:] = np.where(o.alive, om.services * 12 / pop, 0.0)
        self._last_external = float(om.one_off.sum() + om.recurrent.sum())
        self._last_contract = float(om.contract.sum())
        pr.n_gps[:], pr.n_partners[:] = gps.n_gps, gps.n_partners
        self.gp_pool.available = gps.pool
        self.gp_pool.trained += gps.trained
        self.gp_pool.left += gps.left
        pr.member_trust[:] = moods["member_trust"]
        pr.benefit_reference[:] = moods["benefit_reference"]
        pr.evidence[:] = moods["evidence"]
        pr.partner_income[:] = exits["partner_income"]
        o.view("cohesion")[:] = moods["cohesion"]
        self.peers.trust[:] = moods["peer_trust"]
        # asks and the record of commitment
        asks.record(o, asked, asked.hospital_trust)
        self._last_asks = int(asked.issued.sum())
        live = o.alive & (obs.members > 0)
        self._last_engaged = float(asked.engaged[live].mean()) if live.any() else 0.0
        self.asks_issued += self._last_asks
        self.asks_delivered += int(asked.delivered.sum())
        # leadership and delivery
        o.view("burnout")[:] = leaders["burnout"]
        o.view("team")[:] = leaders["team"]
        o.view("leader")[:] = leaders["leader"]
        o.view("leadership")[:] = leaders["kind"]
        o.view("leaders_burnt_out")[leaders["burnt"]] += 1
        self.leaders_burnt_out += int(leaders["burnt"].sum())
        o.view("work_done")[:] = leaders["work_done"]
        o.view("work_needed")[:] = np.where(o.view("first_benefit") < 0, leaders["work_needed"], o.view("work_needed"))
        o.view("first_benefit")[leaders["newly"]] = month
        for k in offers.nonzero()[0]:
            o.contract_until[k] = month + p.contract_months
            o.n_contracts[k] += 1
        # practices close or merge (ascending id); their patients move to open practices
        pr.months_failing[:] = exits["months"]
        exiting = exits["exiting"]
        if exiting.any() and not (pr.open & ~exiting).any():
            # the region's last open practice cannot close: nobody would be left to take its patients
            exiting = exiting.copy()
            exiting[exiting.nonzero()[0][np.argmax(pr.list_size[exiting])]] = False
        unavailable = ~pr.open | exiting
        for i in exiting.nonzero()[0]:
            practices.exit_practice(self, int(i), ExitCause(int(exits["cause"][i])), unavailable, month)
        # organisations dissolve on the documented rules
        is_open = pr.open  # no practice opens or closes from here on
        leaving = moves["leaves"] & is_open
        staying = is_open & (pr.org >= 0) & ~leaving
        members_after = np.bincount(pr.org[staying], minlength=o.size)[: o.size]
        alive = o.alive
        for name, hit in (
            ("months_no_reserves", om.reserves_after < 0),
            ("months_low_cohesion", moods["cohesion"] < p.cohesion_collapse),
            ("months_too_small", members_after < 2),
        ):
            col = o.view(name)
            col[:] = np.where(alive & hit, col + 1, 0)
        cause = organisations.dissolution_cause(
            alive,
            members_after + np.bincount(moves["join_o"], minlength=o.size)[: o.size],
            o.view("months_no_reserves"),
            o.view("months_low_cohesion"),
            o.view("months_too_small"),
            leaders["gone"],
            p,
        )
        dissolving = cause.nonzero()[0]
        members, inner = organisations.members_and_inner_edges(self, dissolving)
        organisations.dissolve_many(self, dissolving, cause[dissolving], month, members, inner)
        # members leave, independents join, founders found (ascending id; first come, first served)
        membership.leave_many(self, (leaving & (pr.org >= 0)).nonzero()[0])
        join_i, join_o = moves["join_i"], moves["join_o"]
        can = is_open[join_i] & (pr.org[join_i] < 0) & (o.dissolved[join_o] < 0)
        membership.join_many(self, join_i[can], join_o[can])
        teams = membership.founding_teams(self, moves["founders"], moves["can_join"])
        queues = membership.found_many(self, teams, month)  # founders and co-founders join once all are founded
        if queues:
            # one queue in founding order: each organisation is new, so no joiner counts another's as fellows
            joiners = np.concatenate([q for q, _ in queues])
            membership.join_many(self, joiners, np.repeat([k for _, k in queues], [len(q) for q, _ in queues]))
        # the list grows with births and people moving in
        growth = workload.list_growth(pr.list_size, is_open, p, self.rng)
        pr.list_size += growth
        self.patients_added += int(growth.sum())
        self._refresh_org_columns()
        # an organisation left with no members (its last ones closed or left this month) dissolves now
        empty = (o.alive & (o.view("members") == 0)).nonzero()[0]
        organisations.dissolve_many(
            self,
            empty,
            DissolutionCause.TOO_FEW_MEMBERS,
            month,
            [np.empty(0, np.int64)] * len(empty),
            [[]] * len(empty),
        )
        commissioners.update(self, month, asked.issued, asked.delivered)  # commissioners act on the month
        networks.apply(self, nets, month)  # DES money, networks' asks, networks after closures

    def _refresh_org_columns(self) -> None:
        pr, o = self.practices, self.orgs
        member = pr.open & (pr.org >= 0)
        n = o.size
        o.count_members(pr.org, pr.list_size, member)
        # CCGs each organisation spans: its home CCG if a member is there, plus the distinct others
        org, ccg = pr.org[member], pr.ccg[member]
        at_home = ccg == o.view("home_ccg")[org]
        spans = (np.bincount(org[at_home], minlength=n)[:n] > 0).astype(np.int64)
        away = distinct(org[~at_home] * (len(self.ccg_code) + 1) + ccg[~at_home]) // (len(self.ccg_code) + 1)
        spans += np.bincount(away, minlength=n)[:n]
        o.view("spans_ccgs")[:] = spans

    # --- rare events and structure -----------------------------------------------------------------
    def register_organisation(self, k: int) -> None:
        """Give a newly founded organisation its Mesa agent."""
        self._org_agents[k] = Organisation(self, k)

    def merge_ccgs(self, share: float) -> None:
        """Merge neighbouring CCGs until ``share`` of the starting number remain (:mod:`gpsim.rules.commissioners`)."""
        commissioners.merge_ccgs(self, share)

    def rebuild_peers(self) -> None:
        """Rebuild the peer arrays the rules use from the networkx graph, after the graph's practice-practice
        edges were changed (added or removed). Edges that stay keep their current trust; new ones take their
        ``trust`` attribute (0.5 without one)."""
        old = {(int(a), int(b)): float(t) for (a, b), t in zip(self.peers.edges, self.peers.trust, strict=True)}
        n = self.region.n_practices
        pairs, values = [], []
        for a, b, data in self.graph.edges(data=True):
            if a < n and b < n and a != b:
                key = (min(a, b), max(a, b))
                pairs.append(key)
                values.append(old.get(key, float(data.get("trust", 0.5))))
        order = np.lexsort((np.array([q for _, q in pairs]), np.array([q for q, _ in pairs]))) if pairs else []
        edges = np.array(pairs, dtype=np.int64).reshape(-1, 2)[order]
        self.peers = PeerEdges(edges, np.array(values, dtype=float)[order], n_nodes=n)
        for (a, b), t in zip(self.peers.edges.tolist(), self.peers.trust.tolist(), strict=True):
            self.graph.edges[a, b].update(kind="peer", trust=t)
        self._space = None

    # --- views for faces and metrics -------------------------------------------------------------
    @property
    def graph(self) -> nx.Graph:
        """The relationship graph (networkx): practices, CCGs, hospitals and organisations as nodes; peer,
        commissioning, catchment and membership edges (see :mod:`gpsim.network`). Built on first use and kept
        up to date from then on; peer edges carry the trust drawn at the start (current trust:
        :meth:`relationship_graph`). Edit its practice-practice edges, then call :meth:`rebuild_peers`."""
        return self.graph_changes.get()

    @graph.setter
    def graph(self, graph: nx.Graph) -> None:
        self.graph_changes.set(graph)
        self._space = None

    @property
    def space(self) -> Network:
        """The Mesa ``Network`` cell space over the practices' peer graph, each practice fixed to its cell.

        Nothing in the monthly update reads it, so it is built on first use: thousands of cells and their
        connections would otherwise cost more than a year of simulated months at England scale.
        """
        if self._space is None:
            n = self.region.n_practices
            self._space = Network(self.graph.subgraph(range(n)), capacity=1, random=self.random, layout=None)
            for agent in self.agents_by_type[Practice]:
                agent.cell = self._space[agent.index]
        return self._space

    def organisation(self, k: int) -> Organisation | None:
        """The Mesa agent of a live organisation (None once dissolved)."""
        return self._org_agents.get(k)

    def committable_orgs(self) -> np.ndarray:
        return self.orgs.view("committable") & self.orgs.alive

    def relationships_by_hospital(self, *, members_only: bool = False) -> np.ndarray:
        """Counterparts each hospital keeps in general practice (see
        :func:`gpsim.metrics.relationships_per_hospital`; ``members_only`` gives the first version's count, in
        which an organisation that cannot commit its members adds nothing)."""
        return self._relationships(self.practices.hospital, self.region.n_hospitals, members_only)

    def _relationships(self, area: np.ndarray, n_areas: int, members_only: bool = False) -> np.ndarray:
        """The counting rule of :func:`gpsim.metrics.relationships_per_hospital` over any areas (hospital
        catchments, community trusts)."""
        counts, only = self._relationship_counts(area, n_areas)
        return only if members_only else counts

    def _relationship_counts(self, area: np.ndarray, n_areas: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_relationships` under both conventions at once (as counted, members only)."""
        return self._relationship_counts_in([(area, n_areas)])[0]

    def _relationship_counts_in(self, areas: list[tuple[np.ndarray, int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`_relationship_counts` for several kinds of area at once (hospitals, community trusts)."""
        pr = self.practices
        committable = self.committable_orgs()
        if len(committable) == 0:
            committable = np.zeros(1, dtype=bool)
        c = self.pcns
        return metrics.relationship_counts_in(
            areas, pr.org, pr.open, committable, pcn=pr.pcn, pcn_committable=c.view("committable") & c.alive
        )

    def relationship_graph(self):
        """The networkx relationship graph with current trust written onto its peer edges, and a ``works_with``
        edge from each live organisation's home hospital carrying the hospital's trust in it and its record."""
        g = self.graph
        for (a, b), t in zip(self.peers.edges, self.peers.trust, strict=True):
            g.edges[int(a), int(b)]["trust"] = float(t)
        o = self.orgs
        for k in (o.alive & (o.view("home_hospital") >= 0)).nonzero()[0].tolist():
            g.add_edge(
                self.ids.hospital(o.home_hospital[k]), self.ids.org(k), kind="works_with",
                trust=float(o.hospital_trust[k]), record=float(o.commit_record[k]),
            )  # fmt: skip
        return g

    def relationships_by_community_trust(self) -> np.ndarray:
        """Counterparts each community trust keeps in general practice (the hospitals' counting rule)."""
        return self._relationships(self.community.trust, len(self.community.name))

    def practice_table(self) -> pd.DataFrame:
        """Each practice now, one row per practice in the region's order (docs/OUTPUTS.md, ``practice table``).

        A copy: changing it changes nothing in the model. ``org`` and ``pcn`` are missing for a practice in none
        (and for a closed practice).
        """
        import pandas as pd

        pr = self.practices
        is_open = pr.open.copy()

        def member(ids: np.ndarray) -> pd.arrays.IntegerArray:
            out = pd.array(ids.copy(), dtype="Int64")
            out[~(is_open & (ids >= 0))] = pd.NA
            return out

        return pd.DataFrame(
            {
                "practice": np.arange(pr.n),
                "code": np.asarray(self.region.practice_code, dtype=object),
                "ccg": self.ccg_code[pr.ccg],
                "hospital": pr.hospital.copy(),
                "open": is_open,
                "org": member(pr.org),
                "pcn": member(pr.pcn),
                "list_size": pr.list_size.copy(),
                "n_gps": pr.n_gps.copy(),
                "reserves": pr.reserves.copy(),
                "workload_pressure": pr.pressure.copy(),
            }
        )

    def org_money(self) -> pd.DataFrame:
        """Each organisation's money in and out by flow so far: one row per organisation and month in which it
        moved any money (``Results.org_money``; the columns are in docs/OUTPUTS.md, ``org money``). Money that
        moves only when an organisation is founded or dissolved (joining fees, a leadership-development grant,
        refunds and debts) is in the ledger alone."""
        return self.org_money_log.table()

    def record(self) -> None:
        """Append this month's model-level figures (one row of ``Results.steps``)."""
        self.records.append(metrics.monthly(self))

    @property
    def datacollector(self) -> mesa.DataCollector:
        """Mesa's ``DataCollector`` over the monthly figures (one model reporter per ``steps`` column), for Mesa
        tools such as ``mesa.batch_run``. Built from the recorded months when asked for, not collected every month:
        the figures are the same and the model does not pay for a second copy of them while it runs."""
        dc = self._datacollector
        if dc is None or len(dc._collection_steps) != len(self.records):
            dc = mesa.DataCollector(model_reporters={k: partial(_recorded, k) for k in self.records[0]})
            dc._validated = True
            for name in dc.model_vars:
                dc.model_vars[name] = [row[name] for row in self.records]
            dc._collection_steps = [float(row["step"]) for row in self.records]
            self._datacollector = dc
        return dc


def _recorded(column: str, model: GPModel):
    """A Mesa DataCollector model reporter (bound to a column with ``functools.partial``): one column of the
    month just recorded."""
    return model.records[-1][column]
