"""Money: practice and organisation accounts, funding programmes, subscriptions (ODD 7.4).

Every pound moves under a name from :mod:`gpsim.state` (``MONEY_SOURCES``, ``MONEY_USES``,
``MONEY_TRANSFERS``), so the ledger can prove that stocks change only by named flows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpsim.state import FORM_COST, FORM_SAVING, LeadershipKind

#: Reserves (in months of costs) an organisation keeps; income beyond them is spent on services for members
#: (extended access, shared staff), which relieve members' workload while the money lasts.
ORG_RESERVE_CAP_MONTHS = 3.0
#: Reserves (in months of costs) below which an organisation raises its subscription towards break-even.
ORG_RESERVE_FLOOR_MONTHS = 6.0


@dataclass
class PracticeMoney:
    """This month's practice flows (GBP, one entry per practice)."""

    income: np.ndarray
    gp_pay: np.ndarray
    staff: np.ndarray  # staff and running costs, net of back-office savings
    saving: np.ndarray
    fixed: np.ndarray
    subscription: np.ndarray
    drawings: np.ndarray
    reserves_after: np.ndarray
    monthly_costs: np.ndarray


@dataclass
class OrgMoney:
    """This month's organisation flows (GBP, one entry per organisation row)."""

    subscriptions: np.ndarray
    one_off: np.ndarray
    recurrent: np.ndarray
    contract: np.ndarray
    running: np.ndarray
    team: np.ndarray
    delivery: np.ndarray
    services: np.ndarray
    reserves_after: np.ndarray
    monthly_costs: np.ndarray
    next_subscription: np.ndarray
    by_programme: dict[str, float]


def running_cost(population: np.ndarray, form: np.ndarray, p) -> np.ndarray:
    """Central running cost, GBP per year: (fixed + per patient x population) x the form's multiplier."""
    return (p.org_fixed_cost + p.org_cost_per_patient * population) * FORM_COST[form]


def programme_payments(model, population: np.ndarray, alive: np.ndarray, delivering: np.ndarray):
    """Money each organisation receives this month from the active programmes.

    Returns:
        (one-off GBP per org, recurrent GBP per org, GBP by programme name).
    """
    one_off = np.zeros(len(population))
    recurrent = np.zeros(len(population))
    by_name: dict[str, float] = {}
    for prog in model.active_programmes:
        qualifies = alive & (population >= prog.min_population)
        if prog.requires_delivery:
            qualifies &= delivering
        if prog.selection_share < 1.0:
            qualifies &= model.selected_for(prog, qualifies)
        amount = np.where(qualifies, population * prog.per_patient / 12.0, 0.0)
        by_name[prog.name] = by_name.get(prog.name, 0.0) + float(amount.sum())
        if prog.recurrent:
            recurrent += amount
        else:
            one_off += amount
    return one_off, recurrent, by_name


def org_accounts(model, population, members, delivering) -> OrgMoney:
    """Organisation income and costs this month, and the subscription it will charge next month."""
    p, o = model.p, model.orgs
    alive = o.alive
    n = o.size
    month = model.steps
    sub_rate = o.view("subscription")
    pr = model.practices
    is_member = (pr.org >= 0) & pr.open
    sub_by_practice = np.zeros(pr.n)
    sub_by_practice[is_member] = pr.list_size[is_member] * sub_rate[pr.org[is_member]] / 12.0
    subscriptions = np.bincount(pr.org[is_member], sub_by_practice[is_member], minlength=n)[:n]
    one_off, recurrent, by_name = programme_payments(model, population, alive, delivering)
    contract = np.where(
        alive & (o.view("contract_until") >= month), population * p.contract_value_per_patient / 12, 0.0
    )
    delivery = contract * (1.0 - p.contract_margin)
    running = np.where(alive, running_cost(population, o.view("form"), p) / 12.0, 0.0)
    team = np.where(alive & (o.view("leadership") == LeadershipKind.DISTRIBUTED), p.distributed_team_cost / 12, 0.0)
    costs = running + team + delivery
    reserves_after = o.view("reserves") + subscriptions + one_off + recurrent + contract - costs
    cap = ORG_RESERVE_CAP_MONTHS * costs
    services = np.where(alive & (members > 0), np.maximum(reserves_after - cap, 0.0), 0.0)
    reserves_after = reserves_after - services
    # subscription for next month: towards break-even when reserves run low, never outside [base, max]
    shortfall = costs - (one_off + recurrent + contract)
    needed = np.divide(shortfall * 12.0, population, out=np.zeros(n), where=population > 0)
    low = reserves_after < ORG_RESERVE_FLOOR_MONTHS * costs
    # members pay more than the usual subscription only with clear evidence of benefit (a delivering organisation)
    base = p.subscription_per_patient
    top = np.where(delivering, max(p.max_subscription_per_patient, base), base)
    next_sub = np.where(low, np.clip(needed, base, top), np.clip(np.minimum(sub_rate, needed), base, top))
    return OrgMoney(
        subscriptions=subscriptions,
        one_off=one_off,
        recurrent=recurrent,
        contract=contract,
        running=running,
        team=team,
        delivery=delivery,
        services=services,
        reserves_after=reserves_after,
        monthly_costs=costs,
        next_subscription=np.where(alive, next_sub, sub_rate),
        by_programme=by_name,
    )


def practice_accounts(model, delivering_form: np.ndarray) -> PracticeMoney:
    """Practice income and costs this month.

    ``delivering_form[i]`` is the form of practice i's organisation if it delivers benefits, else -1.
    Surplus above ``initial_reserve_months`` of costs is drawn by the partners (their income).
    """
    p, pr = model.p, model.practices
    is_open = pr.open
    lst = pr.list_size * is_open
    income = lst * p.income_per_patient / 12.0
    gp_pay = pr.n_gps * is_open * (p.fte_per_gp * p.cost_per_gp_fte / 12.0)
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
    reserves_after = pr.reserves + income - costs - subscription
    target = p.initial_reserve_months * costs
    drawings = np.where(is_open, np.maximum(reserves_after - target, 0.0), 0.0)
    return PracticeMoney(
        income=income,
        gp_pay=gp_pay,
        staff=staff,
        saving=saving,
        fixed=fixed,
        subscription=subscription,
        drawings=drawings,
        reserves_after=reserves_after - drawings,
        monthly_costs=costs,
    )


def book(model, pm: PracticeMoney, om: OrgMoney) -> None:
    """Apply this month's flows to the accounts and the ledger."""
    pr, o, led = model.practices, model.orgs, model.ledger
    pr.reserves[:] = pm.reserves_after
    o.view("reserves")[:] = om.reserves_after
    o.view("subscription")[:] = om.next_subscription
    led.add("capitation", pm.income.sum())
    led.add("gp_pay", pm.gp_pay.sum())
    led.add("staff_and_running_costs", pm.staff.sum())
    led.add("practice_fixed_costs", pm.fixed.sum())
    led.add("partner_drawings", pm.drawings.sum())
    led.add("subscriptions", pm.subscription.sum())
    led.add("pump_priming", om.one_off.sum())
    led.add("recurrent_funding", om.recurrent.sum())
    led.add("contract_income", om.contract.sum())
    led.add("org_running_costs", om.running.sum())
    led.add("leadership_team_costs", om.team.sum())
    led.add("contract_delivery_costs", om.delivery.sum())
    led.add("member_services", om.services.sum())
