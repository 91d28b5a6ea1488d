"""GPModel: the Mesa model. ``step()`` reads like the ODD's process overview (docs/ODD.md section 3).

One step is one month, updated synchronously: every submodel first decides from the state at the start
of the month (plus this month's observations), then :meth:`GPModel._apply` makes all the changes in a
fixed, documented order. No agent acts before another, so activation order cannot change results.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np
from mesa.discrete_space import Network

from gpsim import metrics, policy
from gpsim import region as region_mod
from gpsim.agents import CCG, Hospital, Organisation, Practice
from gpsim.arrays import distinct
from gpsim.network import NodeIds, PeerEdges, build_graph, collection_paused
from gpsim.params import Params
from gpsim.region import Region
from gpsim.rules import contracts, finance, leadership, lifecycle, membership, trust, workforce, workload
from gpsim.state import (
    FORM_RELIEF,
    FORM_SAVING,
    DissolutionCause,
    ExitCause,
    LeadershipKind,
    Ledger,
    OrgForm,
    OrgTable,
    PracticeArrays,
    PracticeStatus,
)

#: Most workload relief funded services can bring (share of GP capacity).
MAX_SERVICE_RELIEF = 0.3
#: Concentration of the Beta distribution CCG supportiveness is drawn from (mean = ``ccg_supportiveness``).
SUPPORT_CONCENTRATION = 6.0


@dataclass
class Observation:
    """What everyone sees at the start of a month (derived from last month's state)."""

    population: np.ndarray  # per organisation
    members: np.ndarray  # per organisation
    delivering: np.ndarray  # per organisation
    member_pressure: np.ndarray  # per organisation, population-weighted
    member_leadership: np.ndarray  # per organisation, sum of members' spare leadership
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
    """

    def __init__(self, params: Params | None = None, *, rng=None, region: Region | None = None) -> None:
        super().__init__(rng=rng)
        self.p = p = params if params is not None else Params()
        self.region = region if region is not None else region_mod.from_params(p)
        n = self.region.n_practices
        self.ids = NodeIds(n, self.region.n_ccgs, self.region.n_hospitals)
        self.ccg_code = np.array(self.region.ccg_code, dtype=object)

        self.practices = pr = PracticeArrays(n)
        pr.list_size[:] = self.region.list_size
        pr.ccg[:] = self.region.ccg
        pr.hospital[:] = self.region.hospital
        pr.n_gps[:] = np.maximum(1, np.rint(pr.list_size * p.gp_fte_per_1000 / 1000 / p.fte_per_gp)).astype(np.int64)
        pr.heroic[:] = self.rng.random(n) < p.heroic_leader_share
        self.ccg_support = self._draw_support(self.region.n_ccgs)
        self.orgs = OrgTable(capacity=max(64, n // 4))
        h = p.difficult_history
        edges = self.region.peer_edges
        self.peers = PeerEdges(edges, self.rng.beta(2.0 - h, 2.0 + h, len(edges)), n_nodes=n)
        with collection_paused():  # tens of thousands of dicts, all kept: nothing for the collector to find
            self.graph = build_graph(self.ids, self.region, self.peers)
        self._space: Network | None = None  # the Mesa cell space, built on first use (see ``space``)

        self.ledger = Ledger()
        self.patients_added = 0
        self.leaders_burnt_out = 0
        self.closures: list[dict] = []
        self.records: list[dict] = []
        self.active_programmes: list[policy.FundingProgramme] = []
        self._selection: dict[str, dict[int, bool]] = {}
        self._org_agents: dict[int, Organisation] = {}
        self._queue_rank = np.full(n, n, dtype=np.int64)  # scratch for joining queues, kept at n between uses
        self._last_external = 0.0
        self._last_contract = 0.0

        with collection_paused():
            for i in range(n):
                Practice(self, i)
            for c in range(self.region.n_ccgs):
                CCG(self, c)
            for k in range(self.region.n_hospitals):
                Hospital(self, k)

        obs = self._observe(1)
        pr.pressure[:], pr.leadership[:] = obs.pressure, obs.leadership
        pr.reserves[:] = p.initial_reserve_months * self._monthly_costs()
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
        self.record()

    # --- set-up helpers --------------------------------------------------------------------------
    def _draw_support(self, n_ccgs: int) -> np.ndarray:
        mean = self.p.ccg_supportiveness
        if mean <= 0.0 or mean >= 1.0:
            return np.full(n_ccgs, mean)
        return self.rng.beta(mean * SUPPORT_CONCENTRATION, (1 - mean) * SUPPORT_CONCENTRATION, n_ccgs)

    def _at(self, month: int, fn) -> None:
        """Make ``fn`` take effect from ``month`` (1-based): Mesa fires events after the step at their time."""
        if month <= 1:
            fn()
        else:
            self.schedule_event(fn, at=month - 1)

    def _monthly_costs(self) -> np.ndarray:
        p, pr = self.p, self.practices
        return (
            pr.n_gps * p.fte_per_gp * p.cost_per_gp_fte / 12
            + pr.list_size * p.staff_cost_per_patient / 12
            + p.fixed_cost_per_practice / 12
        ) * pr.open

    # --- the monthly step: reads like ODD section 3 ----------------------------------------------
    def step(self) -> None:
        """One month. Decide everything from the start-of-month state, then apply it all together."""
        month = self.steps
        obs = self._observe(month)  # 1. workload pressure and spare leadership
        om = finance.org_accounts(self, obs.population, obs.members, obs.delivering)  # 2. money
        pm = finance.practice_accounts(self, obs.delivering_form)
        moods = self._decide_trust(obs, pm)  # 3. trust and cohesion
        leaders = self._decide_leadership(obs, moods)  # 4. leaders' burnout, succession, delivery
        offers = self._decide_contracts(obs, moods, month)  # 5. contracts
        gps = self._decide_workforce(obs, pm, month)  # 6. GPs leave and are recruited
        moves = self._decide_membership(obs, om, moods)  # 7. join, leave, found
        exits = self._decide_exits(obs, pm, gps)  # 8. practices close or merge
        self._apply(month, obs, pm, om, moods, leaders, offers, gps, moves, exits)  # 9. all changes at once
        self.record()  # 10. monthly figures

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
        org_relief = np.where(delivering, FORM_RELIEF[form], 0.0) + np.minimum(services, MAX_SERVICE_RELIEF)
        relief[member] = org_relief[org]
        dem = workload.demand(pr.list_size, p, month)
        pressure = np.where(is_open, workload.pressure(dem, workload.capacity(pr.n_gps, relief, p)), 0.0)
        lead = np.where(is_open, leadership.practice_capacity(pr.n_gps, pressure, pr.heroic, p), 0.0)
        delivering_form = np.full(pr.n, -1, dtype=np.int64)
        dm = member.copy()
        dm[member] = delivering[org]
        delivering_form[dm] = form[pr.org[dm]]
        wp = np.bincount(org, pressure[member] * pr.list_size[member], minlength=n_orgs)[:n_orgs]
        member_pressure = np.divide(wp, population, out=np.ones(n_orgs), where=population > 0)
        member_lead = np.bincount(org, lead[member], minlength=n_orgs)[:n_orgs]
        return Observation(
            population=population.astype(float),
            members=members,
            delivering=delivering,
            member_pressure=member_pressure,
            member_leadership=member_lead,
            relief=relief,
            pressure=pressure,
            leadership=lead,
            delivering_form=delivering_form,
            member=member,
        )

    def _decide_trust(self, obs: Observation, pm) -> dict:
        p, o = self.p, self.orgs
        benefit = trust.member_benefit(pm, obs.relief, self.practices.list_size)
        member_trust = trust.member_trust(self, benefit, obs.population)
        cohesion = trust.cohesion(self.practices.org, member_trust, obs.member, o.size)
        committable = o.alive & (obs.members > 0) & (cohesion >= p.commit_threshold)
        return dict(
            benefit_reference=trust.benefit_reference(self.practices.benefit_reference, benefit, obs.member),
            member_trust=member_trust,
            cohesion=cohesion,
            committable=committable,
            hospital_trust=trust.hospital_trust(o.view("hospital_trust"), committable, obs.delivering, p),
            peer_trust=trust.peer_trust(self, obs.delivering),
        )

    def _decide_leadership(self, obs: Observation, moods: dict) -> dict:
        p, o = self.p, self.orgs
        alive = o.alive
        load = leadership.leader_load(obs.population, obs.member_pressure)
        burnout = np.where(
            alive, leadership.burnout(o.view("burnout"), o.view("leadership"), o.view("team"), load, p), 0
        )
        burnt = alive & (burnout >= 1.0)
        idx = np.flatnonzero(burnt)
        successor, shrinks = leadership.succession(o.view("leadership")[idx], obs.member_leadership[idx], p, self.rng)
        team = o.view("team").copy()
        team[idx[shrinks]] -= 1
        gone = np.zeros(o.size, dtype=bool)
        gone[idx[~successor]] = True
        gone |= alive & (team <= 0)
        burnout[burnt] = 0.0
        effort = leadership.delivery_effort(obs.member_leadership, obs.population, p) * (alive & ~gone)
        progress = o.view("progress") + effort
        newly_delivering = alive & (o.view("first_benefit") < 0) & (progress >= p.delivery_delay_months)
        return dict(burnout=burnout, burnt=burnt, team=team, gone=gone, progress=progress, newly=newly_delivering)

    def _decide_contracts(self, obs: Observation, moods: dict, month: int) -> np.ndarray:
        o = self.orgs
        eligible = obs.delivering & moods["committable"] & (o.view("contract_until") < month)
        support = self.ccg_support[np.maximum(o.view("home_ccg"), 0)]
        return contracts.offers(eligible, moods["hospital_trust"], support, o.view("spans_ccgs"), self.p, self.rng)

    def _decide_workforce(self, obs: Observation, pm, month: int) -> dict:
        p, pr = self.p, self.practices
        is_open = pr.open
        leavers = workforce.leavers(pr.n_gps * is_open, obs.pressure, p, self.rng)
        can_afford = pr.reserves > -p.debt_limit_months * pm.monthly_costs
        recruits = workforce.recruits(obs.pressure, is_open, can_afford, obs.delivering_form >= 0, month, p, self.rng)
        return dict(n_gps=pr.n_gps - leavers + recruits, leavers=leavers, recruits=recruits)

    def _decide_membership(self, obs: Observation, om, moods: dict) -> dict:
        p, pr, rng = self.p, self.practices, self.rng
        pop = obs.population
        services_pp = np.divide(om.services * 12, pop, out=np.zeros_like(pop), where=pop > 0)
        org_value = membership.expected_org_benefit_pp(self, obs.delivering, services_pp)
        common = membership.common_utility(p, self.ccg_support[pr.ccg], obs.pressure)
        independent = pr.open & (pr.org < 0)
        can_join = independent & (obs.leadership >= p.join_leadership_need)
        considering = can_join & (rng.random(pr.n) < p.join_consideration_rate)
        join_i, join_o = membership.join_choices(self, considering, org_value, pop, common, rng)
        leaves = membership.leave_choices(moods["member_trust"], obs.member, p, rng)
        joining = np.zeros(pr.n, dtype=bool)
        joining[join_i] = True
        eligible = independent & ~joining & (obs.leadership >= p.found_leadership_need)
        founders = membership.found_choices(self, eligible, can_join & ~joining, self._new_org_value(), common, rng)
        return dict(join_i=join_i, join_o=join_o, leaves=leaves, founders=founders, can_join=can_join & ~joining)

    def _new_org_value(self) -> float:
        """What founders expect a new federation to be worth, GBP per patient per year."""
        p = self.p
        gross = (
            p.backoffice_saving_per_patient * FORM_SAVING[OrgForm.FEDERATION]
            + membership.relief_value_pp(p, np.array([OrgForm.FEDERATION]))[0]
        )
        money = sum(
            prog.per_patient * (1.0 if prog.recurrent else membership.UNPROVEN_DISCOUNT)
            for prog in self.active_programmes
        )
        return membership.UNPROVEN_DISCOUNT * gross - p.subscription_per_patient + money

    def _decide_exits(self, obs: Observation, pm, gps: dict) -> dict:
        pr = self.practices
        cause = lifecycle.failing(gps["n_gps"], obs.pressure, pm.reserves_after, pm.monthly_costs, self.p) * pr.open
        months = np.where(cause > 0, pr.months_failing + 1, 0)
        exiting = pr.open & (months >= self.p.months_to_close)
        return dict(cause=cause, months=months, exiting=exiting)

    # --- applying the month's changes ------------------------------------------------------------
    def _apply(self, month, obs, pm, om, moods, leaders, offers, gps, moves, exits) -> None:
        p, pr, o = self.p, self.practices, self.orgs
        pr.pressure[:], pr.leadership[:] = obs.pressure, obs.leadership
        finance.book(self, pm, om)
        one_off = om.one_off > 0
        o.view("one_off_months")[one_off] += 1
        o.view("last_one_off")[one_off] = month
        pop = np.maximum(obs.population, 1.0)
        o.view("services_pp")[:] = np.where(o.alive, om.services * 12 / pop, 0.0)
        self._last_external = float(om.one_off.sum() + om.recurrent.sum())
        self._last_contract = float(om.contract.sum())
        pr.n_gps[:] = gps["n_gps"]
        pr.member_trust[:] = moods["member_trust"]
        pr.benefit_reference[:] = moods["benefit_reference"]
        o.view("cohesion")[:] = moods["cohesion"]
        o.view("committable")[:] = moods["committable"]
        o.view("hospital_trust")[:] = moods["hospital_trust"]
        self.peers.trust[:] = moods["peer_trust"]
        o.view("burnout")[:] = leaders["burnout"]
        o.view("team")[:] = leaders["team"]
        o.view("leaders_burnt_out")[leaders["burnt"]] += 1
        self.leaders_burnt_out += int(leaders["burnt"].sum())
        o.view("progress")[:] = leaders["progress"]
        o.view("first_benefit")[leaders["newly"]] = month
        for k in np.flatnonzero(offers):
            o.contract_until[k] = month + p.contract_months
            o.n_contracts[k] += 1
        # practices close or merge (ascending id); their patients move to open practices
        pr.months_failing[:] = exits["months"]
        exiting = exits["exiting"]
        if exiting.any() and not (pr.open & ~exiting).any():
            # the region's last open practice cannot close: nobody would be left to take its patients
            exiting = exiting.copy()
            exiting[np.flatnonzero(exiting)[np.argmax(pr.list_size[exiting])]] = False
        unavailable = ~pr.open | exiting
        for i in np.flatnonzero(exiting):
            self._exit_practice(int(i), ExitCause(int(exits["cause"][i])), unavailable, month)
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
        cause = lifecycle.dissolution_cause(
            alive,
            o.view("months_no_reserves"),
            o.view("months_low_cohesion"),
            o.view("months_too_small"),
            leaders["gone"],
            p,
        )
        dissolving = np.flatnonzero(cause)
        members, inner = self._members_and_inner_edges(dissolving)
        for k, mem, edges in zip(dissolving, members, inner, strict=True):
            self._dissolve(int(k), DissolutionCause(int(cause[k])), month, mem, edges)
        # members leave, independents join, founders found (ascending id; first come, first served)
        self._leave_many(np.flatnonzero(leaving & (pr.org >= 0)))
        join_i, join_o = moves["join_i"], moves["join_o"]
        can = is_open[join_i] & (pr.org[join_i] < 0) & (o.dissolved[join_o] < 0)
        self._join_many(join_i[can], join_o[can])
        claimed = np.zeros(pr.n, dtype=bool)
        is_founder = np.zeros(pr.n, dtype=bool)
        is_founder[moves["founders"]] = True
        f_all, c_all, t_all = membership.cofounder_candidates(self, is_founder, moves["can_join"])
        starts = np.searchsorted(f_all, moves["founders"], side="left")  # f_all is sorted by founder
        ends = np.searchsorted(f_all, moves["founders"], side="right")
        queues = []  # founders and co-founders of each new organisation join once all are founded
        for f, lo, hi in zip(moves["founders"], starts, ends, strict=True):
            if claimed[f] or not is_open[f] or pr.org[f] >= 0:
                continue
            cof, tr = c_all[lo:hi], t_all[lo:hi]
            ok = ~claimed[cof] & is_open[cof] & (pr.org[cof] < 0)  # claimed covers those founding this month
            if not ok.any():
                continue
            claimed[cof[ok]] = True
            claimed[f] = True
            queues.append(self._found(int(f), cof[ok], float(tr[ok].mean()), month, join=False))
        if queues:
            # one queue in founding order: each organisation is new, so no joiner counts another's as fellows
            joiners = np.concatenate([q for q, _ in queues])
            self._join_many(joiners, np.repeat([k for _, k in queues], [len(q) for q, _ in queues]))
        # the list grows with births and people moving in
        growth = workload.list_growth(pr.list_size, is_open, p, self.rng)
        pr.list_size += growth
        self.patients_added += int(growth.sum())
        self._refresh_org_columns()

    def _refresh_org_columns(self) -> None:
        pr, o = self.practices, self.orgs
        member = pr.open & (pr.org >= 0)
        n = o.size
        pop = np.bincount(pr.org[member], pr.list_size[member], minlength=n)[:n]
        cnt = np.bincount(pr.org[member], minlength=n)[:n]
        o.view("population")[:] = pop
        o.view("members")[:] = cnt
        o.view("peak_population")[:] = np.maximum(o.view("peak_population"), pop)
        o.view("peak_members")[:] = np.maximum(o.view("peak_members"), cnt)
        # CCGs each organisation spans: its home CCG if a member is there, plus the distinct others
        org, ccg = pr.org[member], pr.ccg[member]
        at_home = ccg == o.view("home_ccg")[org]
        spans = (np.bincount(org[at_home], minlength=n)[:n] > 0).astype(np.int64)
        away = distinct(org[~at_home] * (len(self.ccg_code) + 1) + ccg[~at_home]) // (len(self.ccg_code) + 1)
        spans += np.bincount(away, minlength=n)[:n]
        o.view("spans_ccgs")[:] = spans

    # --- rare events (per-object Python) ---------------------------------------------------------
    def _exit_practice(self, i: int, cause: ExitCause, unavailable: np.ndarray, month: int) -> None:
        pr = self.practices
        if pr.org[i] >= 0:
            self._remove_member(i)
        partner = -1
        if self.rng.random() < self.p.merge_share:
            partner = lifecycle.merge_partner(self, i, unavailable)
        patients = int(pr.list_size[i])
        if partner >= 0:
            pr.list_size[partner] += patients
            pr.n_gps[partner] += pr.n_gps[i]
            pr.reserves[partner] += pr.reserves[i]
            self.ledger.add("merger_reserves", pr.reserves[i])
            pr.status[i] = PracticeStatus.MERGED
            kind, into = "merger", int(partner)
        else:
            dest, moved = lifecycle.reregister(self, i, unavailable, self.rng)
            np.add.at(pr.list_size, dest, moved)
            self.ledger.add("exit_settlement", pr.reserves[i])
            pr.status[i] = PracticeStatus.CLOSED
            kind, into = "closure", -1
        self.closures.append(
            dict(
                step=month,
                practice=i,
                code=str(self.region.practice_code[i]),
                list_size=patients,
                n_gps=int(pr.n_gps[i]),
                cause=cause.label,
                kind=kind,
                into=into,
            )
        )
        pr.list_size[i] = 0
        pr.n_gps[i] = 0
        pr.reserves[i] = 0.0
        pr.pressure[i] = 0.0
        pr.leadership[i] = 0.0
        self.graph.nodes[i]["status"] = PracticeStatus(pr.status[i]).name.lower()

    def _remove_member(self, i: int) -> None:
        k = int(self.practices.org[i])
        self.practices.org[i] = -1
        self.practices.member_trust[i] = 0.0
        self.practices.benefit_reference[i] = 0.0
        self.graph.remove_edge(i, self.ids.org(k))

    def _leave(self, i: int) -> None:
        """Practice ``i`` leaves its organisation; trust with the members it knows takes half the failure hit."""
        k = self.practices.org[i]
        nbrs, eids = self.peers.neighbours(i)
        hit = eids[self.practices.org[nbrs] == k]
        self.peers.trust[hit] = np.maximum(self.peers.trust[hit] - 0.5 * self.p.failure_trust_damage, 0.0)
        self._remove_member(i)

    def _leave_many(self, leavers: np.ndarray) -> None:
        """Practices ``leavers`` (ascending) leave their organisations, one after another: each edge to a
        fellow member still in the organisation takes half the failure hit, so an edge between two leavers
        is hit once, by the first to leave."""
        if len(leavers) == 0:
            return
        pr, pe = self.practices, self.peers
        half = pe.half_edges_of(leavers)
        src, nbr = pe.src[half], pe.dst[half]
        leaving = np.zeros(pr.n, dtype=bool)
        leaving[leavers] = True
        hit = pe.eid[half[(pr.org[nbr] == pr.org[src]) & ~(leaving[nbr] & (nbr < src))]]
        pe.trust[hit] = np.maximum(pe.trust[hit] - 0.5 * self.p.failure_trust_damage, 0.0)
        orgs = pr.org[leavers]
        pr.org[leavers] = -1
        pr.member_trust[leavers] = 0.0
        pr.benefit_reference[leavers] = 0.0
        self.graph.remove_edges_from(zip(leavers.tolist(), (orgs + self.ids.org(0)).tolist(), strict=True))

    def _join(self, i: int, k: int) -> None:
        self._join_many(np.array([i]), np.array([k]))

    def _join_many(self, joiners: np.ndarray, orgs: np.ndarray) -> None:
        """Independent practices ``joiners[j]`` join organisations ``orgs[j]``, one after another in that order.

        A joiner starts trusting the leaders as much as it trusts the fellow members it knows (0.5 if it knows
        none), counting those who joined before it; it pays the joining fee to the organisation.
        """
        pr, pe = self.practices, self.peers
        m = len(joiners)
        if m == 0:
            return
        # the joiners' half-edges, grouped by joiner in order
        owner = np.repeat(np.arange(m), pe.indptr[joiners + 1] - pe.indptr[joiners])
        half = pe.half_edges_of(joiners)
        nbr, k = pe.dst[half], orgs[owner]
        rank = self._queue_rank  # position in the queue of each joiner (m and more: not queued)
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
        for j in np.flatnonzero(count >= 8):  # numpy sums 8 or more terms pairwise: use its mean there
            trust[j] = t[owner[fellow] == j].mean()
        pr.org[joiners] = orgs
        pr.member_trust[joiners] = trust
        fee = pr.list_size[joiners] * self.p.joining_fee_per_patient
        pr.reserves[joiners] -= fee
        np.add.at(self.orgs.reserves, orgs, fee)  # in queue order
        self.ledger.add_each("joining_fees", fee)
        self.graph.add_edges_from(zip(joiners.tolist(), (orgs + self.ids.org(0)).tolist(), strict=True), kind="member")

    def _found(
        self, founder: int, cofounders: np.ndarray, mean_trust: float, month: int, *, join: bool = True
    ) -> tuple[np.ndarray, int]:
        """Found organisation ``k`` led by ``founder``; founder and co-founders join it (now, or, with
        ``join=False``, when the caller joins the returned queue). Returns (the joining queue, ``k``)."""
        p, pr = self.p, self.practices
        form = membership.choose_form(mean_trust, p, self.rng)
        kind = (
            LeadershipKind.DISTRIBUTED if self.rng.random() < p.distributed_leadership_share else LeadershipKind.HEROIC
        )
        k = self.orgs.add(
            form=form,
            leadership=kind,
            founded=month,
            founder=founder,
            home_ccg=pr.ccg[founder],
            subscription=p.subscription_per_patient,
            team=p.distributed_team_size if kind else 1,
            hospital_trust=mean_trust,
            cohesion=mean_trust,
        )
        node = self.ids.org(k)
        self.graph.add_node(node, kind="organisation", form=form.label, leadership=kind.label, founded=month)
        self.graph.add_edge(self.ids.ccg(pr.ccg[founder]), node, kind="commissions")
        self._org_agents[k] = Organisation(self, k)
        queue = np.concatenate([[founder], cofounders]).astype(np.int64)
        if join:
            self._join_many(queue, np.full(len(queue), k))
        return queue, k

    def _members_and_inner_edges(self, orgs: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """For each of ``orgs``: its members (ascending) and the peer edges between two of its members."""
        if len(orgs) == 0:
            return [], []
        pr, pe = self.practices, self.peers
        wanted = np.zeros(self.orgs.size + 1, dtype=bool)
        wanted[orgs] = True
        org = pr.org
        ids = np.flatnonzero(wanted[org])  # org -1 lands on the spare last slot, never wanted
        a, b = pe.edges[:, 0], pe.edges[:, 1]
        eids = np.flatnonzero((org[a] == org[b]) & wanted[org[a]])
        by_member = np.split(ids[np.argsort(org[ids], kind="stable")], np.searchsorted(np.sort(org[ids]), orgs[1:]))
        e_org = org[a[eids]]
        by_edge = np.split(eids[np.argsort(e_org, kind="stable")], np.searchsorted(np.sort(e_org), orgs[1:]))
        return by_member, by_edge

    def _dissolve(
        self, k: int, cause: DissolutionCause, month: int, members: np.ndarray | None = None, inner=None
    ) -> None:
        """Organisation ``k`` dissolves: reserves go back to members by list size (or its debt is covered),
        trust between its members takes the failure hit. ``members`` and ``inner`` (edges between members)
        may be passed in when known."""
        pr, o, pe = self.practices, self.orgs, self.peers
        if members is None:
            (members,), (inner,) = self._members_and_inner_edges(np.array([k]))
        r = float(o.reserves[k])
        if len(members):
            share = pr.list_size[members] / max(pr.list_size[members].sum(), 1)
            pr.reserves[members] += r * share
            self.ledger.add("dissolution_refunds" if r >= 0 else "dissolution_debt_cover", abs(r))
            pe.trust[inner] = np.maximum(pe.trust[inner] - self.p.failure_trust_damage, 0.0)
        else:
            self.ledger.add("org_residual_returned" if r >= 0 else "org_debt_written_off", abs(r))
        o.reserves[k] = 0.0
        for i in members:
            self._remove_member(int(i))
        o.dissolved[k] = month
        o.cause[k] = cause
        o.committable[k] = False
        self.graph.nodes[self.ids.org(k)]["dissolved"] = month
        agent = self._org_agents.pop(k, None)
        if agent is not None:
            agent.remove()

    def merge_ccgs(self, share: float) -> None:
        """Merge neighbouring CCGs (nearest population-weighted centres first) until ``share`` of the starting
        number remain. Supportiveness of a merged CCG is the population-weighted mean of its parts."""
        pr = self.practices
        n_start = self.region.n_ccgs
        target = max(1, round(n_start * share))
        while True:
            live = np.unique(pr.ccg[pr.open])
            if len(live) <= target:
                return
            w = pr.list_size * pr.open
            tot = np.bincount(pr.ccg, w, minlength=n_start)[live]
            cx = np.bincount(pr.ccg, w * self.region.x, minlength=n_start)[live] / np.maximum(tot, 1)
            cy = np.bincount(pr.ccg, w * self.region.y, minlength=n_start)[live] / np.maximum(tot, 1)
            d = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :])
            np.fill_diagonal(d, np.inf)
            # merge the smallest CCG into its nearest neighbour, one pair at a time
            small = int(np.argmin(tot))
            near = int(np.argmin(d[small]))
            a, b = int(live[near]), int(live[small])
            wa, wb = tot[near], tot[small]
            self.ccg_support[a] = (self.ccg_support[a] * wa + self.ccg_support[b] * wb) / max(wa + wb, 1)
            moved = np.flatnonzero(pr.ccg == b)
            pr.ccg[moved] = a
            for i in moved:
                self.graph.remove_edge(self.ids.ccg(b), int(i))
                self.graph.add_edge(self.ids.ccg(a), int(i), kind="commissions")
            self.orgs.view("home_ccg")[self.orgs.view("home_ccg") == b] = a

    def selected_for(self, programme: policy.FundingProgramme, qualifies: np.ndarray) -> np.ndarray:
        """Which qualifying organisations a competitive programme picks (each decided once, when first eligible)."""
        chosen = self._selection.setdefault(programme.name, {})
        out = np.zeros(len(qualifies), dtype=bool)
        for k in np.flatnonzero(qualifies):
            if k not in chosen:
                chosen[int(k)] = bool(self.rng.random() < programme.selection_share)
            out[k] = chosen[int(k)]
        return out

    # --- views for faces and metrics -------------------------------------------------------------
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

    def relationships_by_hospital(self) -> np.ndarray:
        pr = self.practices
        committable = self.committable_orgs()
        if len(committable) == 0:
            committable = np.zeros(1, dtype=bool)
        return metrics.relationships_per_hospital(pr.hospital, pr.org, pr.open, committable, self.region.n_hospitals)

    def relationship_graph(self):
        """The networkx relationship graph with current trust written onto its peer edges."""
        g = self.graph
        for (a, b), t in zip(self.peers.edges, self.peers.trust, strict=True):
            g.edges[int(a), int(b)]["trust"] = float(t)
        return g

    def record(self) -> None:
        """Append this month's model-level figures (one row of ``Results.steps``)."""
        self.records.append(metrics.monthly(self))
