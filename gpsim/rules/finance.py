"""Money: practice and organisation accounts for the month, and booking them (ODD 7.4).

Every pound moves under a name from :mod:`gpsim.state` (``MONEY_SOURCES``, ``MONEY_USES``,
``MONEY_TRANSFERS``), so the ledger can prove that stocks change only by named flows. How an organisation
sets its subscription and how members answer is in :mod:`gpsim.rules.organisations`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpsim.rules import commissioners, programmes
from gpsim.rules.programmes import ProgrammeMoney
from gpsim.state import FORM_COST, FORM_SAVING, LeadershipKind


@dataclass
class PracticeMoney:
    """This month's practice flows (GBP, one entry per practice)."""

    income: np.ndarray
    gp_pay: np.ndarray  # salaried GPs (partners are paid from the profit)
    staff: np.ndarray  # staff and running costs, net of back-office savings
    saving: np.ndarray
    fixed: np.ndarray
    subscription: np.ndarray
    profit: np.ndarray  # what is left for the partners this month, before they draw it
    drawings: np.ndarray  # what partners take out
    contributions: np.ndarray  # what partners put in to keep the practice solvent
    partner_fte: np.ndarray
    partner_income: np.ndarray  # this month's partner income per partner FTE, as a yearly rate
    reserves_after: np.ndarray
    monthly_costs: np.ndarray  # salaried GPs, staff and fixed costs


@dataclass
class OrgMoney:
    """This month's organisation flows (GBP, one entry per organisation row)."""

    subscriptions: np.ndarray
    one_off: np.ndarray
    recurrent: np.ndarray
    contract: np.ndarray
    local: np.ndarray  # margin from locally commissioned services
    running: np.ndarray
    team: np.ndarray
    delivery: np.ndarray  # cost of delivering contracts
    service_costs: np.ndarray  # cost of delivering programme-funded services (e.g. extended access)
    services: np.ndarray  # spent on services for members (reserve policy)
    reserves_after: np.ndarray
    monthly_costs: np.ndarray  # running costs and the leadership team
    one_off_next_year: np.ndarray  # one-off money still due in the next 12 months, at this month's rate
    programmes: ProgrammeMoney  # programme money by ledger name, and what commissioners spent


def running_cost(population: np.ndarray, form: np.ndarray, p) -> np.ndarray:
    """Central running cost, GBP per year: (fixed + per patient x population) x the form's multiplier."""
    return (p.org_fixed_cost + p.org_cost_per_patient * population) * FORM_COST[form]


def org_accounts(model, population, members, delivering) -> OrgMoney:
    """Organisation income and costs this month, and what its reserve policy spends on members' services.

    Reserves above ``org_reserve_target_months`` of running costs are spent on services for members (extended
    access, shared staff), which relieve members' workload; below it, the organisation saves.
    """
    p, o = model.p, model.orgs
    alive = o.alive
    n = o.size
    month = model.steps
    sub_rate = o.view("subscription")
    pr = model.practices
    is_member = (pr.org >= 0) & pr.open
    sub_by_practice = pr.list_size[is_member] * sub_rate[pr.org[is_member]] / 12.0
    subscriptions = np.bincount(pr.org[is_member], sub_by_practice, minlength=n)[:n]
    pg = programmes.payments(model, population, alive, delivering)
    one_off, recurrent, service_costs, due = pg.one_off, pg.recurrent, pg.service_costs, pg.due
    contract = np.where(
        alive & (o.view("contract_until") >= month), population * p.contract_value_per_patient / 12, 0.0
    )
    delivery = contract * (1.0 - p.contract_margin)
    local = np.where(
        commissioners.local_services(model, alive, delivering),
        population * p.local_services_margin_per_patient / 12,
        0.0,
    )
    running = np.where(alive, running_cost(population, o.view("form"), p) / 12.0, 0.0)
    team = np.where(alive & (o.view("leadership") == LeadershipKind.DISTRIBUTED), p.distributed_team_cost / 12, 0.0)
    costs = running + team
    reserves_after = (
        o.view("reserves") + subscriptions + one_off + recurrent + contract + local - costs - delivery - service_costs
    )
    target = p.org_reserve_target_months * costs
    services = np.where(alive & (members > 0), np.maximum(reserves_after - target, 0.0), 0.0)
    return OrgMoney(
        subscriptions=subscriptions,
        one_off=one_off,
        recurrent=recurrent,
        contract=contract,
        local=local,
        running=running,
        team=team,
        delivery=delivery,
        service_costs=service_costs,
        services=services,
        reserves_after=reserves_after - services,
        monthly_costs=costs,
        one_off_next_year=due,
        programmes=pg,
    )


def partner_fte(n_partners: np.ndarray, p) -> np.ndarray:
    """Partner FTE of each practice: its partners (ODD 7.3) x ``fte_per_gp``."""
    return n_partners * p.fte_per_gp


def practice_accounts(model, delivering_form: np.ndarray) -> PracticeMoney:
    """Practice income and costs this month, and what the partners take out or put in.

    ``delivering_form[i]`` is the form of practice i's organisation if it delivers benefits, else -1. What is
    left after salaried GPs, staff, fixed costs and the subscription is the partners' profit. Partners draw
    whatever would take reserves above ``initial_reserve_months`` of costs; a loss is absorbed first by the
    reserves and then by the partners themselves, who put money in rather than let the practice go insolvent.
    Their income (drawings less contributions, per partner FTE) is what they judge the practice by.
    """
    p, pr = model.p, model.practices
    is_open = pr.open
    lst = pr.list_size * is_open
    n_gps = pr.n_gps * is_open
    income = lst * p.income_per_patient / 12.0
    partners = partner_fte(pr.n_partners * is_open, p)
    gp_pay = (n_gps * p.fte_per_gp - partners) * (p.cost_per_gp_fte / 12.0)
    gross_staff = lst * p.staff_cost_per_patient / 12.0
    # back-office savings come out of staff and running costs, so they can at most remove them
    saving = np.where(
        delivering_form >= 0,
        np.minimum(
            lst * p.backoffice_saving_per_patient * FORM_SAVING[np.maximum(delivering_form, 0)] / 12, gross_staff
        ),
        0.0,
    )
    staff = gross_staff - saving
    fixed = is_open * (p.fixed_cost_per_practice / 12.0)
    member = is_open & (pr.org >= 0)
    subscription = np.zeros(pr.n)
    subscription[member] = lst[member] * model.orgs.view("subscription")[pr.org[member]] / 12.0
    costs = gp_pay + staff + fixed
    profit = income - costs - subscription
    held = pr.reserves + profit
    target = p.initial_reserve_months * costs
    drawings = np.where(is_open, np.maximum(held - target, 0.0), 0.0)
    contributions = np.where(is_open, np.maximum(-held, 0.0), 0.0)
    partner_income = np.divide((drawings - contributions) * 12.0, partners, out=np.zeros(pr.n), where=partners > 0)
    return PracticeMoney(
        income=income,
        gp_pay=gp_pay,
        staff=staff,
        saving=saving,
        fixed=fixed,
        subscription=subscription,
        profit=profit,
        drawings=drawings,
        contributions=contributions,
        partner_fte=partners,
        partner_income=partner_income,
        reserves_after=held - drawings + contributions,
        monthly_costs=costs,
    )


def book(model, pm: PracticeMoney, om: OrgMoney) -> None:
    """Apply this month's flows to the accounts and the ledger."""
    pr, o, led = model.practices, model.orgs, model.ledger
    pr.reserves[:] = pm.reserves_after
    o.view("reserves")[:] = om.reserves_after
    led.add("capitation", pm.income.sum())
    led.add("partner_contributions", pm.contributions.sum())
    led.add("gp_pay", pm.gp_pay.sum())
    led.add("staff_and_running_costs", pm.staff.sum())
    led.add("practice_fixed_costs", pm.fixed.sum())
    led.add("partner_drawings", pm.drawings.sum())
    led.add("subscriptions", pm.subscription.sum())
    programmes.book(model, om.programmes)
    led.add("contract_income", om.contract.sum())
    led.add("local_services_margin", om.local.sum())
    led.add("org_running_costs", om.running.sum())
    led.add("leadership_team_costs", om.team.sum())
    led.add("contract_delivery_costs", om.delivery.sum())
    led.add("service_delivery_costs", om.service_costs.sum())
    led.add("member_services", om.services.sum())
