"""Workshop rooms: a facilitator's page gathers every participant's run, live, in this server process.

A :class:`Room` has a short code (``K7QF``). Participants join with ``/?room=CODE``; each participant's
:class:`~gpsim.ui.session.Session` tells the room when it resets or steps, and the room keeps a small summary of
each run (its settings in words, two curves and the outcome figures; rebuilt when the facilitator's page is
drawn), never the model. The facilitator can push a preset or a story to everyone, freeze the room (the picture
stops changing while the room talks) or clear it. A participant who closes the tab leaves the room.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from gpsim.params import SPECS
from gpsim.ui import labels

#: Letters and digits that cannot be misread (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 4
#: A participant's playing wakes the facilitator's page at most this often.
SUMMARY_EVERY_S = 0.5
#: Rooms nobody has looked at for this long are dropped.
ROOM_IDLE_S = 12 * 3600

#: What the shared chart can show on its vertical axis: key -> (label, how to read it from a summary).
OUTCOMES = {
    "orgs_going": "Organisations still going (% of those founded)",
    "relationships": "Relationships each hospital keeps with general practice (now)",
    "in_org": "Practices in an organisation (%, now)",
    "failed": "Organisations failed so far",
}


@dataclass
class Participant:
    pid: int
    name: str
    session: Any  # weakref.ref to the Session
    summary: dict | None = None
    updated: float = 0.0
    dirty: bool = True


@dataclass
class Room:
    """One workshop room (thread-safe: participants' tabs and the facilitator's page use it at once)."""

    code: str
    created: float = field(default_factory=time.time)
    frozen: bool = False
    push: tuple[int, str, str] | None = None  # (number, "preset" or "story", name)
    version: int = 0
    participants: dict[int, Participant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cond = threading.Condition()
        self._ids = itertools.count(1)
        self.seen = time.time()

    # --- participants ----------------------------------------------------------------------------
    def join(self, session) -> int:
        with self.cond:
            pid = next(self._ids)
            self.participants[pid] = Participant(pid, f"Participant {pid}", weakref.ref(session))
            session.listeners.append(self._listener(pid))
            weakref.finalize(session, self.leave, pid)
            self._changed()
            return pid

    def leave(self, pid: int) -> None:
        with self.cond:
            if self.participants.pop(pid, None) is not None:
                self._changed()

    def _listener(self, pid: int):
        room = weakref.ref(self)

        def heard(session, what: str) -> None:
            r = room()
            if r is not None:
                r._mark(pid)

        return heard

    def _mark(self, pid: int) -> None:
        """A participant's run moved on: its summary is rebuilt the next time the room is drawn."""
        with self.cond:
            p = self.participants.get(pid)
            if p is None or self.frozen:
                return
            p.dirty = True
            now = time.monotonic()
            if now - p.updated >= SUMMARY_EVERY_S:  # wake the facilitator's page at most twice a second per run
                p.updated = now
                self._changed()

    def _changed(self) -> None:
        self.version += 1
        self.cond.notify_all()

    # --- the facilitator -------------------------------------------------------------------------
    def runs(self) -> list[dict]:
        """Every participant's latest run summary (participants who have not run yet are left out)."""
        with self.cond:
            self.seen = time.time()
            todo = [] if self.frozen else [p for p in self.participants.values() if p.dirty]
        for p in todo:
            session = p.session()
            if session is not None and session.model is not None:
                p.summary = summarise(session)
            p.dirty = False
        with self.cond:
            return [dict(p.summary, pid=p.pid, name=p.name) for p in self.participants.values() if p.summary]

    def has_news(self) -> bool:
        """True when a participant's run has moved on since the room was last drawn."""
        with self.cond:
            return not self.frozen and any(p.dirty for p in self.participants.values())

    def push_preset(self, name: str) -> None:
        self._push("preset", name)

    def push_story(self, name: str) -> None:
        self._push("story", name)

    def _push(self, kind: str, name: str) -> None:
        with self.cond:
            n = (self.push[0] + 1) if self.push else 1
            self.push = (n, kind, name)
            self._changed()

    def set_frozen(self, frozen: bool) -> None:
        with self.cond:
            self.frozen = frozen
            self._changed()

    def clear(self) -> None:
        """Forget every run gathered so far (participants stay in the room; their next run shows again)."""
        with self.cond:
            for p in self.participants.values():
                p.summary = None
                p.dirty = False
            self._changed()

    def wait(self, version: int, timeout: float) -> int:
        """Block until the room changes after ``version`` (or ``timeout`` seconds); return the new version."""
        with self.cond:
            self.cond.wait_for(lambda: self.version != version, timeout)
            return self.version


def summarise(session) -> dict:
    """A run in a few hundred numbers: its settings in words, two curves and the outcome figures."""
    with session.lock:
        recs = list(session.model.records)
        values = session.applied.to_dict()
        changed = session.changed_from_preset()
        label = session.scenario + (f": {labels.describe(values, changed[:3])}" if changed else "")
        month, n_months = session.month, session.n_months
    every = max(1, len(recs) // 60)
    picked = recs[::every] + ([recs[-1]] if (len(recs) - 1) % every else [])

    def curve(fn) -> list[list[float]]:
        return [[int(r["step"]), round(float(fn(r)), 4)] for r in picked]

    last = recs[-1]
    founded = last.get("n_orgs_founded_cum", 0) or 0
    going = last.get("n_orgs", 0)
    return dict(
        label=label,
        values={k: values[k] for k in values},
        seed=session.seed,
        month=month,
        n_months=n_months,
        relationships=curve(lambda r: r.get("relationships_per_hospital_mean", 0.0)),
        survival=curve(
            lambda r: 100.0 * r.get("n_orgs", 0) / r["n_orgs_founded_cum"] if r.get("n_orgs_founded_cum") else 100.0
        ),
        outcomes=dict(
            orgs_going=100.0 * going / founded if founded else None,
            relationships=float(last.get("relationships_per_hospital_mean", 0.0)),
            in_org=100.0 * float(last.get("share_practices_in_org", 0.0)),
            failed=float(last.get("n_orgs_failed_cum", 0)),
        ),
    )


def differing_settings(runs: list[dict]) -> list[str]:
    """Settings whose value differs between the gathered runs, most distinct values first (Basic ones first on
    ties); the seed counts too."""
    counts = []
    for s in SPECS:
        distinct = {repr(r["values"].get(s.name)) for r in runs}
        if len(distinct) > 1:
            basic = s.name in labels.BASIC
            counts.append((-len(distinct), 0 if basic else 1, s.name))
    if len({r["seed"] for r in runs}) > 1:
        counts.append((-len({r["seed"] for r in runs}), 2, "seed"))
    return [name for *_k, name in sorted(counts)]


# --- the rooms of this server ------------------------------------------------------------------------------
_ROOMS: dict[str, Room] = {}
_ROOMS_LOCK = threading.Lock()


def new_room() -> Room:
    """A room with a fresh code."""
    with _ROOMS_LOCK:
        now = time.time()
        for code in [c for c, r in _ROOMS.items() if now - r.seen > ROOM_IDLE_S]:
            del _ROOMS[code]
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in _ROOMS:
                room = _ROOMS[code] = Room(code)
                return room


def find(code: str | None) -> Room | None:
    """The room with this code (any case, spaces ignored), or None."""
    if not code:
        return None
    with _ROOMS_LOCK:
        return _ROOMS.get(code.strip().upper().replace(" ", ""))


def all_rooms() -> list[Room]:
    with _ROOMS_LOCK:
        return list(_ROOMS.values())
