"""Mesa agents: practices, organisations, CCGs and hospitals as thin views onto the model's arrays.

The monthly update is vectorised over :mod:`gpsim.state`; these agents give the familiar Mesa handles
(``model.agents_by_type[Practice]``, ``agent.list_size``) for faces, notebooks and tests, and their
``step`` is never needed: the model updates all of them at once, synchronously.
"""

from __future__ import annotations

import mesa
from mesa.discrete_space import FixedAgent

from gpsim.state import DissolutionCause, LeadershipKind, OrgForm, PracticeStatus


class Practice(FixedAgent):
    """A GP practice; ``index`` is its row in the practice arrays and its node in the relationship graph.

    Its ``cell`` in the model's Mesa ``Network`` space is assigned when that space is first used.
    """

    def __init__(self, model, index: int, cell=None) -> None:
        super().__init__(model)
        self.index = index
        if cell is not None:
            self.cell = cell

    @property
    def cell(self):
        """The practice's cell in ``model.space`` (building the space on first use)."""
        if self._mesa_cell is None and self.model._space is None:
            self.model.space  # noqa: B018 - builds the space and places every practice
        return self._mesa_cell

    @cell.setter
    def cell(self, cell) -> None:
        FixedAgent.cell.fset(self, cell)

    @property
    def code(self) -> str:
        return str(self.model.region.practice_code[self.index])

    @property
    def list_size(self) -> int:
        return int(self.model.practices.list_size[self.index])

    @property
    def n_gps(self) -> int:
        return int(self.model.practices.n_gps[self.index])

    @property
    def workload_pressure(self) -> float:
        return float(self.model.practices.pressure[self.index])

    @property
    def leadership_capacity(self) -> float:
        return float(self.model.practices.leadership[self.index])

    @property
    def reserves(self) -> float:
        return float(self.model.practices.reserves[self.index])

    @property
    def heroic_leader(self) -> bool:
        return bool(self.model.practices.heroic[self.index])

    @property
    def status(self) -> PracticeStatus:
        return PracticeStatus(int(self.model.practices.status[self.index]))

    @property
    def organisation(self) -> Organisation | None:
        o = int(self.model.practices.org[self.index])
        return self.model.organisation(o) if o >= 0 else None


class Organisation(mesa.Agent):
    """An at-scale organisation (network, federation or super-partnership); ``index`` is its row."""

    def __init__(self, model, index: int) -> None:
        super().__init__(model)
        self.index = index

    def _get(self, name: str):
        return self.model.orgs.view(name)[self.index]

    @property
    def form(self) -> OrgForm:
        return OrgForm(int(self._get("form")))

    @property
    def leadership(self) -> LeadershipKind:
        return LeadershipKind(int(self._get("leadership")))

    @property
    def members(self) -> list[int]:
        return [int(i) for i in (self.model.practices.org == self.index).nonzero()[0]]

    @property
    def population(self) -> int:
        return int(self._get("population"))

    @property
    def maturity(self) -> int:
        """Months since founding."""
        return self.model.steps - int(self._get("founded"))

    @property
    def cohesion(self) -> float:
        return float(self._get("cohesion"))

    @property
    def can_commit_members(self) -> bool:
        return bool(self._get("committable"))

    @property
    def reserves(self) -> float:
        return float(self._get("reserves"))

    @property
    def delivering(self) -> bool:
        return int(self._get("first_benefit")) >= 0

    @property
    def cause(self) -> DissolutionCause:
        return DissolutionCause(int(self._get("cause")))


class CCG(mesa.Agent):
    """A clinical commissioning group: its practices, supportiveness and pump-priming."""

    def __init__(self, model, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def code(self) -> str:
        return str(self.model.ccg_code[self.index])

    @property
    def supportiveness(self) -> float:
        return float(self.model.ccg_support[self.index])

    @property
    def practices(self) -> list[int]:
        pr = self.model.practices
        return [int(i) for i in ((pr.ccg == self.index) & pr.open).nonzero()[0]]


class Hospital(mesa.Agent):
    """An acute hospital and its catchment; ``relationships`` is how many counterparts it must keep."""

    def __init__(self, model, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def name(self) -> str:
        return str(self.model.region.hospital_name[self.index])

    @property
    def relationships(self) -> int:
        return int(self.model.relationships_by_hospital()[self.index])
