"""Each organisation's money month by month, by flow: what came in (subscriptions, one-off and recurrent
programme money, contracts, local services) and what went out (running costs, leadership team, delivery,
services for members).

The model's monthly accounts (:func:`gpsim.rules.finance.org_accounts`) already hold these flows as one array per
flow, one entry per organisation; :class:`OrgMoneyLog` keeps the rows that moved any money, without a loop over
organisations, and :meth:`OrgMoneyLog.table` lays them out as ``Results.org_money`` (docs/OUTPUTS.md). The
same flows, summed over organisations, are the ledger's entries of the same meaning (``Results.ledger``).
Money that moves only at an organisation's start or end (joining fees, the refunds and debts of a dissolution)
is in the ledger alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Money into an organisation's reserves each month: column name -> the monthly accounts' field.
FLOWS_IN = {
    "subscriptions": "subscriptions",
    "one_off_funding": "one_off",
    "recurrent_funding": "recurrent",
    "contract_income": "contract",
    "local_services_margin": "local",
}
#: Money out of them each month: column name -> the monthly accounts' field.
FLOWS_OUT = {
    "running_costs": "running",
    "leadership_team_costs": "team",
    "contract_delivery_costs": "delivery",
    "service_delivery_costs": "service_costs",
    "member_services": "services",
}
#: The flow columns of ``Results.org_money``, money in first.
FLOWS = (*FLOWS_IN, *FLOWS_OUT)
_FIELDS = (*FLOWS_IN.values(), *FLOWS_OUT.values())


class OrgMoneyLog:
    """The organisations' monthly flows, kept as one block of rows per month (only organisations that moved money)."""

    def __init__(self) -> None:
        self._steps: list[np.ndarray] = []
        self._orgs: list[np.ndarray] = []
        self._amounts: list[np.ndarray] = []

    def add(self, step: int, accounts) -> None:
        """Keep month ``step``'s flows from the monthly accounts (an object with one array per flow field)."""
        flows = [np.asarray(getattr(accounts, f), dtype=float) for f in _FIELDS]
        moved = flows[0] != 0
        for f in flows[1:]:
            moved |= f != 0
        rows = moved.nonzero()[0]
        if len(rows):
            self._steps.append(np.full(len(rows), step, dtype=np.int64))
            self._orgs.append(rows.astype(np.int64))
            self._amounts.append(np.stack([f[rows] for f in flows], axis=1))

    def table(self) -> pd.DataFrame:
        """One row per organisation and month in which it moved any money: ``step``, ``org``, then each flow in
        GBP for that month (money in, then money out, all positive), then ``net`` (in minus out)."""
        if not self._steps:
            amounts = np.zeros((0, len(FLOWS)))
            steps = orgs = np.zeros(0, dtype=np.int64)
        else:
            steps, orgs = np.concatenate(self._steps), np.concatenate(self._orgs)
            amounts = np.concatenate(self._amounts)
        out = pd.DataFrame(amounts, columns=list(FLOWS))
        out.insert(0, "org", orgs)
        out.insert(0, "step", steps)
        n_in = len(FLOWS_IN)
        out["net"] = amounts[:, :n_in].sum(axis=1) - amounts[:, n_in:].sum(axis=1)
        return out
