"""One browser tab's run: the settings being edited, the model, the pinned run "A", bands, and the live feed.

Nothing here knows about Solara, so it can be tested and timed directly. The page builds one
:class:`Session` per browser tab (never at module level: that would be shared by every visitor). The
session feeds a :class:`~gpsim.ui.live.LiveView` (``attach``): the fixed layers once per run, then each update
only what changed, and Play waits for the page to say it has drawn a frame before sending the next.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import numpy as np
import pandas as pd

from gpsim.errors import GpsimError
from gpsim.errors import shown as quoted
from gpsim.params import SPECS, SPECS_BY_NAME, Params
from gpsim.scenarios import DEFAULT_SCENARIO, SCENARIOS
from gpsim.ui import frames, labels, observe

#: Environment variables ``gpsim ui`` uses to pass its options to the app it serves.
ENV_SCENARIO = "GPSIM_UI_SCENARIO"
ENV_REGION = "GPSIM_UI_REGION"
ENV_SEED = "GPSIM_UI_SEED"
#: The relationship graph files ``gpsim ui --peer-graph`` offers (the paths as given, one a line).
ENV_PEER_GRAPHS = "GPSIM_UI_PEER_GRAPHS"
#: The built-in relationship graph: each practice's nearest neighbours.
NEAREST = "nearest"

#: Regions with more practices than this are drawn aggregated (one circle per CCG).
AGGREGATE_ABOVE = 1500
#: How long Play waits for the page to draw a frame before it sends the next anyway (a page that went away).
ACK_TIMEOUT_S = 5.0
#: How many seeds "Run 10 seeds" runs.
N_SEEDS = 10

#: Every live Session and model, held weakly: a debug count that proves closed sessions are freed (the app keeps
#: no per-session state at module level; these sets do not keep anything alive).
_LIVE_SESSIONS: weakref.WeakSet = weakref.WeakSet()
_LIVE_MODELS: weakref.WeakSet = weakref.WeakSet()

#: Run A per browser (Solara's session cookie), so a reload keeps it; the oldest are dropped past the limit.
_PINNED_BY_BROWSER: OrderedDict[str, Pinned] = OrderedDict()
PINNED_KEPT = 200
_PINNED_LOCK = threading.Lock()


def live_counts(collect: bool = True) -> tuple[int, int]:
    """(sessions, models) still alive in this process, after a garbage collection unless ``collect`` is False."""
    if collect:
        gc.collect()
    return len(_LIVE_SESSIONS), len(_LIVE_MODELS)


def nice_name(name: str) -> str:
    """The plain label of a setting (kept for callers of the earlier name)."""
    return labels.label(name)


def region_choices(current: str | None = None) -> list[str]:
    """Values for the area selector: 'synthetic', then the named real regions and 'england' when the real
    register is part of this installation, then ``current`` if it is something else (e.g. CCG codes)."""
    values = ["synthetic"]
    try:
        from gpsim.data import NAMED_REGIONS

        values += list(NAMED_REGIONS) + ["england"]
    except ImportError:
        pass
    if current and current not in values:
        values.append(current)
    return values


#: How the area menu names the areas.
REGION_TITLES = {
    "synthetic": "A made-up area (you set its size)",
    "england": "All England (6,600 practices)",
    "north-east-workshop": "North East workshop area (4 CCGs)",
    "north-east-and-north-cumbria": "The North East and North Cumbria",
    "west-yorkshire": "West Yorkshire",
    "greater-manchester": "Greater Manchester",
    "london": "London",
}


def region_title(name: str) -> str:
    """The area as a menu shows it: "North East workshop area (4 CCGs)"."""
    if name in REGION_TITLES:
        return REGION_TITLES[name]
    return name.replace("-", " ").capitalize() if name.replace("-", "").isalpha() else f"CCGs {name}"


def region_description(name: str) -> str:
    if name == "synthetic":
        return "A made-up area built from the settings under Advanced (number of practices, CCGs, list sizes)."
    if name == "england":
        return "Every practice in England, drawn as one circle per CCG. Takes a few seconds to load."
    try:
        from gpsim.data import NAMED_REGIONS

        if name in NAMED_REGIONS:
            return NAMED_REGIONS[name].description
    except ImportError:
        pass
    return "CCG codes from the NHS register."


def preset_text(name: str) -> str:
    """What a preset changes, without describing an area (the area is chosen separately)."""
    sc = SCENARIOS[name]
    base = Params().to_dict()
    changed = [k for k, v in sc.params.to_dict().items() if labels.differs(base[k], v) and k not in AREA_SETTINGS]
    what = labels.describe(sc.params.to_dict(), changed) if changed else "the standard settings"
    return f"{PRESET_STORIES.get(name, '')} Sets: {what}.".strip()


#: One sentence per preset, in the words of the room (the area is a separate choice).
PRESET_STORIES = {
    "baseline": "Modest one-off money for three years, nothing recurrent.",
    "funding-cliff": "Generous one-off money that stops after two years: do the organisations outlive it?",
    "recurrent-funding": "The funding cliff, but a recurrent network payment starts as the one-off money ends.",
    "distributed-leadership": "Most new organisations are led by a team rather than one heroic leader.",
    "low-trust-history": "An area with a difficult history between practices.",
    "neighbourhood-scale": "Commissioners aim for neighbourhood organisations of about 40,000 patients.",
    "large-scale": "Commissioners aim for large federations of about 250,000 patients.",
    "england-2013": "England's national policy timeline from 2013 to 2021 (Challenge Fund, Vanguards, PCNs).",
    "england-2021": "Starting in 2021 with the recurrent network payment in place.",
}

#: Settings that choose the area or its make-up: a preset never changes them (the area is its own choice).
AREA_SETTINGS = ("region", *labels.SYNTHETIC_ONLY)


@dataclass
class Pinned:
    """A run kept for comparison: its monthly table and what it was run with."""

    steps: pd.DataFrame
    params: Params
    seed: int
    label: str
    months: int = 0
    bands: dict | None = None

    @property
    def start(self) -> tuple[int, int]:
        return (self.params.start_year, self.params.start_month)

    @property
    def n_months(self) -> int:
        return int(self.params.n_months)


@dataclass
class OrgHistory:
    """Each organisation month by month (members, patients, reserves, trust) while the run goes on."""

    months: list[int] = field(default_factory=list)
    tables: list[dict[str, np.ndarray]] = field(default_factory=list)


def read_seed(text: str) -> int:
    """A random seed written as text (as ``gpsim run --seed`` takes it), or ValueError saying what it must be."""
    if text.isascii() and text.isdigit() and len(text) <= 39 and int(text) < 2**128:
        return int(text)
    raise ValueError("a whole number of 0 or more")


class Session:
    """The state behind one browser tab.

    ``pending`` holds the values the sliders show; they take effect on :meth:`reset`. ``model`` is the
    running :class:`~gpsim.GPModel`. All mutating methods hold ``lock`` so Play and button clicks never
    step the same model at once.
    """

    def __init__(
        self,
        scenario: str = DEFAULT_SCENARIO,
        region: str | None = None,
        seed: int = 0,
        *,
        overrides: dict[str, Any] | None = None,
        browser: str | None = None,
        peer_graphs: Sequence[str] = (),
    ) -> None:
        self.lock = threading.RLock()
        #: The only areas a visitor may choose: the named ones and the one the server was started with. Anything
        #: else (e.g. ``00L@/some/path``, which would read a file) is refused, whatever the browser sends.
        self.allowed_regions = set(region_choices(region)) | {sc.params.region for sc in SCENARIOS.values()}
        #: Likewise the only relationship graphs: the nearest neighbours and the files the server was started with
        #: (``gpsim ui --peer-graph``). Any other text is refused without being looked up as a file.
        presets = [sc.params.peer_graph for sc in SCENARIOS.values()]
        self.peer_graphs: tuple[str, ...] = tuple(dict.fromkeys([NEAREST, *presets, *peer_graphs]))
        self.server_region = region
        self.scenario = scenario if scenario in SCENARIOS else DEFAULT_SCENARIO
        base = SCENARIOS[self.scenario].params
        if region:
            base = base.replace(region=region)
        self.pending: dict[str, Any] = base.to_dict()
        self.pending_seed = int(seed)
        #: Text in the boxes as typed, by setting name (``seed`` for the random seed), until Reset or another
        #: change of that setting; ``unreadable`` says what a text that is no value should be (Reset refuses).
        self.typed: dict[str, str] = {}
        self.unreadable: dict[str, str] = {}
        self.applied: Params = base
        self.seed = int(seed)
        self.error: str | None = None
        self.notes: list[str] = []
        self.browser = browser
        self.pinned: Pinned | None = None
        self.model = None
        self.bands: dict | None = None
        self.bands_progress: tuple[int, int] | None = None
        self.history = OrgHistory()
        self.step_ms: list[float] = []
        self.frame_ms: list[float] = []
        self.paint_ms: list[float] = []
        # the live feed
        self._view = None
        self._run_id = 0
        self._seq = 0
        self._acked = 0
        self._sent_at: dict[int, float] = {}
        self._ack = threading.Condition(self.lock)
        self._sent_rows = 0
        self._sent_codes: np.ndarray | None = None
        self._ccg_names: list[str] | None = None
        self.stop_play = threading.Event()
        #: Set when the tab's connection is gone for good (the page passes Solara's kernel-closed event).
        self.closed = threading.Event()
        self.listeners: list[Callable[[Session, str], None]] = []
        if overrides:
            self.apply_overrides(overrides)
        if browser:
            with _PINNED_LOCK:
                self.pinned = _PINNED_BY_BROWSER.get(browser)
        if not self.reset():  # settings from a link that cannot run: fall back to the preset, say why
            note = self.error
            self.pending = base.to_dict()
            self.pending_seed = int(seed)
            self.reset()
            self.notes.append(f"The link's settings could not be used ({note}); showing the preset instead.")
        _LIVE_SESSIONS.add(self)

    @classmethod
    def from_environment(cls, query: str | None = None, browser: str | None = None) -> Session:
        """A session configured by ``gpsim ui``'s options (passed through the environment) and the page's
        address (``?preset=...&area=...&seed=...&<setting>=<value>``)."""
        seed = os.environ.get(ENV_SEED, "0")
        scenario = os.environ.get(ENV_SCENARIO, DEFAULT_SCENARIO)
        region = os.environ.get(ENV_REGION) or None
        values = dict(parse_qsl(query or "", keep_blank_values=False))
        graphs = [g for g in os.environ.get(ENV_PEER_GRAPHS, "").split("\n") if g]
        seed = int(seed) if seed.lstrip("-").isdigit() else 0
        notes = []
        if values.get("preset") in SCENARIOS:
            scenario = values.pop("preset")
        elif "preset" in values:
            notes.append(f"There is no preset called '{values.pop('preset')}'.")
        if "seed" in values:
            text = values.pop("seed")
            try:
                seed = read_seed(text)
            except ValueError:
                notes.append(f"The random seed must be a whole number (the link had '{text}').")
        overrides = {k: v for k, v in values.items() if k in SPECS_BY_NAME}
        if "area" in values:
            overrides["region"] = values["area"]
        session = cls(
            scenario=scenario, region=region, seed=seed, overrides=overrides, browser=browser, peer_graphs=graphs
        )
        session.notes[:0] = notes
        return session

    # --- editing -----------------------------------------------------------------------------------
    def apply_overrides(self, overrides: dict[str, Any]) -> None:
        """Settings from a link (text values): each is checked, and a bad one is named and skipped."""
        for name, value in overrides.items():
            spec = SPECS_BY_NAME[name]
            if name == "peer_graph" and value not in self.peer_graphs:  # checked as text: no file is looked at
                self.notes.append(
                    f"Skipped {labels.label(name)}: the link had {quoted(value)}; {self.peer_graphs_allowed()}."
                )
                continue
            try:
                v = spec.parse(value) if isinstance(value, str) and spec.kind is not str else value
                spec.check(v)
            except (GpsimError, ValueError) as err:
                self.notes.append(f"Skipped {labels.label(name)}: {labels.plain_error(str(err))}")
                continue
            if name == "region" and v not in self.allowed_regions:
                self.notes.append(f"Skipped the area '{v}': it is not one of this server's areas.")
                continue
            self.pending[name] = v

    def set_value(self, name: str, value: Any) -> None:
        """Make ``value`` the setting's pending value (a slider, a list, "back to the preset"); applies on Reset."""
        with self.lock:
            self.typed.pop(name, None)
            self.unreadable.pop(name, None)
            self._set_pending(name, value)

    def _set_pending(self, name: str, value: Any) -> None:
        spec = SPECS_BY_NAME[name]
        if spec.kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if name == "region" and value not in self.allowed_regions:
            return  # never a path or code list the server was not started with
        if name == "peer_graph" and value not in self.peer_graphs:
            return  # never a file the server was not started with
        with self.lock:
            self.pending[name] = value
            if name == "n_practices" and self.pending["n_ccgs"] > value:
                self.pending["n_ccgs"] = max(1, int(value))

    def type_text(self, name: str, text: str) -> None:
        """Text typed in the box of setting ``name`` (``seed``: the random seed), keystroke by keystroke.

        Text that reads as a value becomes the pending value at once (so Reset, however soon, uses it); the range
        is checked on Reset, as for every setting. Text that does not read (``12x``) keeps the last pending
        value and is remembered in ``unreadable``: Reset then refuses, naming the box.
        """
        with self.lock:
            self.typed[name] = text
            try:
                value = self._read_typed(name, text)
            except ValueError as err:
                self.unreadable[name] = str(err)
                return
            self.unreadable.pop(name, None)
            if name == "seed":
                self.pending_seed = value
            else:
                self._set_pending(name, value)

    @staticmethod
    def _read_typed(name: str, text: str) -> Any:
        """The value typed ``text`` stands for (in the box's shown units), or ValueError saying what it must be."""
        t = text.strip().replace(",", "")
        if name == "seed":
            return read_seed(t)
        spec = SPECS_BY_NAME[name]
        if spec.kind is str:
            return text
        sh = labels.shown(spec)
        try:
            shown = float(t)
        except ValueError:
            shown = math.nan
        if not math.isfinite(shown) or (spec.kind is int and not shown.is_integer()):
            raise ValueError("a whole number" if spec.kind is int else "a number")
        return sh.from_shown(int(shown) if spec.kind is int else shown)

    def box_error(self, name: str) -> str | None:
        """The short message under a box whose text is no value ("Not a whole number"), or None."""
        need = self.unreadable.get(name)
        return None if need is None else f"Not {need}"

    def box_text(self, name: str) -> str:
        """What a setting's box (or the seed's) shows: the text as typed, or else the pending value."""
        if name in self.typed:
            return self.typed[name]
        if name == "seed":
            return str(self.pending_seed)
        shown = labels.shown(SPECS_BY_NAME[name]).to_shown(self.pending[name])
        return f"{shown:g}" if isinstance(shown, float) else str(shown)

    def peer_graphs_allowed(self) -> str:
        """What this server allows for the relationship graph, in words (for a note about a refused value)."""
        files = [f"'{g}'" for g in self.peer_graphs if g != NEAREST]
        given = f", or a file given when the server was started: {', '.join(files)}" if files else ""
        return f"this server allows '{NEAREST}' (each practice's nearest neighbours){given}"

    def preset_value(self, name: str) -> Any:
        """What the chosen preset says for ``name`` (the area the visitor chose for ``region``)."""
        if name in AREA_SETTINGS:
            return self.area_defaults().get(name)
        return getattr(SCENARIOS[self.scenario].params, name)

    def area_defaults(self) -> dict[str, Any]:
        return {n: getattr(Params(), n) for n in AREA_SETTINGS} | {"region": self.pending.get("region")}

    def choose_scenario(self, name: str) -> None:
        """Set every setting to the preset's values, except the area (a separate choice). Applies on Reset."""
        with self.lock:
            if name not in SCENARIOS:
                return
            keep = {k: self.pending[k] for k in AREA_SETTINGS}
            self.scenario = name
            values = SCENARIOS[name].params.to_dict()
            values.update(keep)
            self.pending = values
            for box in [k for k in self.typed if k in SPECS_BY_NAME and k not in AREA_SETTINGS]:
                self.typed.pop(box)
                self.unreadable.pop(box, None)

    def choose_area(self, region: str) -> None:
        self.set_value("region", region)

    def pending_changes(self) -> list[str]:
        """Names of the settings changed since the last Reset (what Reset will apply)."""
        applied = self.applied.to_dict()
        names = [
            s.name
            for s in SPECS
            if s.name in self.unreadable or labels.differs(self.pending.get(s.name), applied[s.name])
        ]
        if self.pending_seed != self.seed or "seed" in self.unreadable:
            names.append("seed")
        return names

    def changed_from_preset(self, params: Params | None = None) -> list[str]:
        """Settings (other than the area) that differ from the chosen preset."""
        values = (params or self.applied).to_dict()
        pre = SCENARIOS[self.scenario].params.to_dict()
        return [s.name for s in SPECS if s.name not in AREA_SETTINGS and labels.differs(values[s.name], pre[s.name])]

    def query(self) -> str:
        """The page address's query for the current run: preset, area, seed and each changed setting."""
        values = self.applied.to_dict()
        q: dict[str, Any] = {"preset": self.scenario, "area": values["region"], "seed": self.seed}
        defaults = self.area_defaults()
        for s in SPECS:
            if s.name == "region":
                continue
            ref = defaults[s.name] if s.name in AREA_SETTINGS else getattr(SCENARIOS[self.scenario].params, s.name)
            if labels.differs(values[s.name], ref):
                q[s.name] = values[s.name]
        return urlencode(q)

    # --- running -----------------------------------------------------------------------------------
    def reset(self) -> bool:
        """Build a fresh model from the pending values. On bad values keep the old run and set ``error``."""
        from gpsim import GPModel

        with self.lock:
            if self.pending.get("region") not in self.allowed_regions:
                self.pending["region"] = self.applied.region
            if self.pending.get("peer_graph") not in self.peer_graphs:
                self.pending["peer_graph"] = NEAREST
            if self.unreadable:  # a box holds text that is no value: start nothing rather than half the changes
                self.error = "; ".join(
                    f"{labels.label(n)}: '{self.typed[n].strip()}' is not {need}" for n, need in self.unreadable.items()
                )
                return False
            try:
                params = Params.from_mapping(self.pending)
                model = GPModel(params, rng=self.pending_seed)  # regions are cached by the core
            except (GpsimError, ValueError) as err:
                self.error = labels.plain_error(str(err))
                return False
            self.error = None
            self.typed.clear()  # the boxes show the values now running
            same = self.model is not None and params == self.applied and self.pending_seed == self.seed
            if not same:
                self.bands = None
            self.applied, self.seed, self.model = params, self.pending_seed, model
            _LIVE_MODELS.add(model)
            self.history = OrgHistory()
            self.step_ms.clear()
            self.frame_ms.clear()
            self.paint_ms.clear()
            self._ccg_names = None
            self._publish_base()
        self._tell("reset")
        return True

    @property
    def month(self) -> int:
        return int(self.model.steps)

    @property
    def n_months(self) -> int:
        return int(self.applied.n_months)

    @property
    def finished(self) -> bool:
        return self.month >= self.n_months

    @property
    def aggregated(self) -> bool:
        return self.model.region.n_practices > AGGREGATE_ABOVE

    @property
    def start(self) -> tuple[int, int]:
        return (self.applied.start_year, self.applied.start_month)

    def step(self, months: int = 1, *, send: bool = True) -> int:
        """Advance up to ``months`` months (never past the end of the run); return how many were run."""
        with self.lock:
            t0 = time.perf_counter()
            done = 0
            while done < months and not self.finished:
                self.model.step()
                done += 1
            if done:
                self.step_ms.append((time.perf_counter() - t0) * 1000)
                del self.step_ms[:-50]
                self._note_history()
                if send:
                    self.send_frame()
        if done:
            self._tell("step")
        return done

    def _note_history(self) -> None:
        table = observe.orgs(self.model)
        keep = [c for c in ("org", "members", "reserves", "cohesion") if c in table]
        alive = table["dissolved_step"].isna().to_numpy() if "dissolved_step" in table else slice(None)
        self.history.months.append(self.month)
        self.history.tables.append({c: table[c].to_numpy()[alive].copy() for c in keep})

    def play(self, months: Callable[[], int], delay: Callable[[], float], running: Callable[[], bool]) -> None:
        """Play: step, send, wait until the page has drawn it, wait ``delay()``, until ``running()`` is False,
        Pause (``stop_play``) or the end of the run. Pause takes effect before the next step."""
        self.stop_play.clear()

        def go_on() -> bool:
            return running() and not self.stop_play.is_set() and not self.closed.is_set()

        while go_on() and not self.finished:
            self.step(months())
            with self._ack:
                self._ack.wait_for(self._drawn_or(go_on), ACK_TIMEOUT_S)
            end = time.monotonic() + delay()
            while go_on() and time.monotonic() < end:
                self.stop_play.wait(min(0.02, max(0.0, end - time.monotonic())))

    def _drawn_or(self, go_on: Callable[[], bool]) -> Callable[[], bool]:
        seq = self._seq
        return lambda: self._acked >= seq or not go_on() or self._view is None

    def pause(self) -> None:
        self.stop_play.set()
        with self._ack:
            self._ack.notify_all()

    # --- the live feed -----------------------------------------------------------------------------
    def attach(self, view) -> None:
        """Feed ``view`` (a LiveView that has loaded its drawing code): the fixed layers, then a whole frame."""
        with self.lock:
            self._view = view
            view.base = self._base
            self._sent_rows = 0
            self._sent_codes = None
            self.send_frame()

    def detach(self, view) -> None:
        with self.lock:
            if self._view is view:
                self._view = None

    def acked(self, seq: int) -> None:
        with self._ack:
            if seq > self._acked:
                self._acked = seq
                sent = self._sent_at.pop(seq, None)
                if sent is not None:
                    self.paint_ms.append((time.perf_counter() - sent) * 1000)
                    del self.paint_ms[:-50]
                for k in [k for k in self._sent_at if k < seq]:
                    del self._sent_at[k]
            self._ack.notify_all()

    def _publish_base(self) -> None:
        self._run_id += 1
        model = self.model
        recs = observe.records(model)
        cols = frames.chart_columns(recs)
        a = self.pinned
        self._base = dict(
            run=self._run_id,
            n_months=self.n_months,
            start=list(self.start),
            area_text=self.area_text(),
            map_title=f"Map: {self.area_name()}",
            palette=frames.ORG_COLOURS,
            no_org=frames.NO_ORG,
            cross=frames.CROSS,
            map=frames.map_base(model, aggregated=self.aggregated),
            charts=frames.charts_base(
                cols,
                start=self.start,
                n_months=self.n_months,
                pinned=a,
                bands=self.bands,
                bands_a=a.bands if a else None,
                des_month=self._des_month(),
                pcn_sizes=(self.applied.pcn_min_population, self.applied.pcn_max_population),
            ),
        )
        self._columns = cols
        self._sent_rows = 0
        self._sent_codes = None
        if self._view is not None:
            self._view.base = self._base
            self.send_frame()

    def _des_month(self) -> int | None:
        """The month this run's Network DES starts, else A's (so A's networks still show), else None."""
        from gpsim.policy import network_des_month

        for params in (self.applied, self.pinned.params if self.pinned else None):
            if params is not None and (month := network_des_month(params)) is not None:
                return month
        return None

    def send_frame(self) -> dict | None:
        """Send the page what changed since the last frame (everything after a reset or a reload)."""
        with self.lock:
            t0 = time.perf_counter()
            model = self.model
            recs = observe.records(model)
            state = observe.practices(model)
            frame: dict[str, Any] = dict(
                run=self._run_id,
                month=self.month,
                date=frames.month_text(self.start, self.month),
                finished=self.finished,
                rows=frames.rows_delta(recs, self._sent_rows, self.start, self._columns),
                orgs=frames.org_rows(observe.orgs(model), self.month),
            )
            if self.aggregated:
                if self._ccg_names is None:
                    from gpsim.ui.mapdata import ccg_names

                    self._ccg_names = ccg_names(model.region)
                frame["ccgs"] = frames.ccg_frame(model, state, self._ccg_names)
            else:
                codes = frames.practice_codes(state)
                old = self._sent_codes
                changed = np.arange(len(codes)) if old is None else np.flatnonzero(codes != old)
                frame["prac"] = [[int(i), int(codes[i]), int(state.org[i])] for i in changed]
                self._sent_codes = codes
            self._sent_rows = len(recs)
            self._seq += 1
            frame["seq"] = self._seq
            self.frame_ms.append((time.perf_counter() - t0) * 1000)
            del self.frame_ms[:-50]
            frame["timing"] = self.timing_text()
            if self._view is not None:
                self._sent_at[self._seq] = time.perf_counter()
                self._view.frame = frame
            return frame

    # --- the monthly table -------------------------------------------------------------------------
    def steps_frame(self) -> pd.DataFrame:
        """The run so far, one row per month (the same columns as ``Results.steps``)."""
        with self.lock:
            steps = pd.DataFrame.from_records(observe.records(self.model))
        start = pd.Timestamp(year=self.applied.start_year, month=self.applied.start_month, day=1)
        steps.insert(1, "date", [start + pd.DateOffset(months=int(s)) for s in steps["step"]])
        return steps

    def steps_csv(self) -> str:
        """The monthly table with the settings in a header block (lines starting with #), a row of plain names
        and then the usual column names, so a spreadsheet shows words and a script can skip to the data."""
        steps = self.steps_frame()
        lines = [
            f"# gpsim run: {self.area_name()}, preset '{self.scenario}', random seed {self.seed}, "
            f"{self.month} of {self.n_months} months, saved {time.strftime('%Y-%m-%d %H:%M')}",
        ]
        values = self.applied.to_dict()
        for s in SPECS:
            lines.append(f"# {labels.label(s.name)} ({s.name}): {labels.shown(s).text(values[s.name])}")
        lines.append("# The first row below gives each column in words; the second row its name in gpsim.")
        plain = [frames.COLUMN_NAMES.get(c, c.replace("_", " ")) for c in steps.columns]
        body = pd.DataFrame([plain], columns=steps.columns).to_csv(index=False, header=False)
        return "\n".join(lines) + "\n" + body + steps.to_csv(index=False)

    def file_stem(self) -> str:
        """File names that say the scenario, the area and the date: gpsim-funding-cliff-west-yorkshire-2026-12-01."""
        area = str(self.applied.region).replace(",", "-").replace("@", "-").replace("/", "-")[:40]
        return f"gpsim-{self.scenario}-{area}-{time.strftime('%Y-%m-%d')}"

    # --- compare -----------------------------------------------------------------------------------
    def pin(self) -> Pinned:
        """Keep the current run (as far as it has gone) as "A" for the charts to overlay."""
        with self.lock:
            changed = self.changed_from_preset()
            what = labels.describe(self.applied.to_dict(), changed) if changed else "no settings changed"
            self.pinned = Pinned(
                self.steps_frame(),
                self.applied,
                self.seed,
                f"{self.scenario} ({what}), seed {self.seed}",
                months=self.month,
                bands=self.bands,
            )
            if self.browser:
                with _PINNED_LOCK:
                    _PINNED_BY_BROWSER[self.browser] = self.pinned
                    _PINNED_BY_BROWSER.move_to_end(self.browser)
                    while len(_PINNED_BY_BROWSER) > PINNED_KEPT:
                        _PINNED_BY_BROWSER.popitem(last=False)
            self._publish_base()
            return self.pinned

    def unpin(self) -> None:
        with self.lock:
            self.pinned = None
            if self.browser:
                with _PINNED_LOCK:
                    _PINNED_BY_BROWSER.pop(self.browser, None)
            self._publish_base()

    def compare_differences(self) -> list[tuple[str, Any, Any]]:
        """(name, value in A, value in the current run) for each setting that differs."""
        if self.pinned is None:
            return []
        a, b = self.pinned.params.to_dict(), self.applied.to_dict()
        out = [(s.name, a[s.name], b[s.name]) for s in SPECS if labels.differs(a[s.name], b[s.name])]
        if self.pinned.seed != self.seed:
            out.append(("seed", self.pinned.seed, self.seed))
        return out

    # --- chance vs difference ----------------------------------------------------------------------
    def run_seeds(self, progress: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None):
        """Run the current settings (and A's, when comparing) over ten seeds with :func:`gpsim.replicates` (one
        region for all ten: this run's own); keep the median and the middle 80% of each charted line as bands.
        Runs in the calling thread (the page calls it from a worker); ``cancel`` stops it within a month."""
        import gpsim

        jobs = [("run", self.applied, self.seed, self.model.region)]
        if self.pinned is not None and self.pinned.bands is None:
            jobs.append(("A", self.pinned.params, self.pinned.seed, None))
        total = len(jobs) * N_SEEDS
        out: dict[str, dict] = {}

        def stopped() -> bool:
            return cancel is not None and cancel.is_set()

        for j, (which, params, seed, region) in enumerate(jobs):

            def tell(done: int, _n: int, before: int = j * N_SEEDS) -> None:
                self.bands_progress = (before + done, total)
                if progress:
                    progress(before + done, total)

            seeds = [seed + k for k in range(N_SEEDS)]
            runs = gpsim.replicates(params, seeds, region=region, progress=tell, stop=stopped)
            if len(runs) < N_SEEDS:  # cancelled
                self.bands_progress = None
                return
            out[which] = _bands([r.steps for r in runs], (params.start_year, params.start_month), self._columns)
        with self.lock:
            if "run" in out:
                self.bands = out["run"]
            if "A" in out and self.pinned is not None:
                self.pinned.bands = out["A"]
            self.bands_progress = None
            self._publish_base()

    # --- an organisation's story -------------------------------------------------------------------
    def org_story(self, org: int) -> dict | None:
        """What happened to one organisation: its row now and its members, patients, reserves and trust by month."""
        with self.lock:
            table = observe.orgs(self.model)
            if "org" not in table or org not in set(table["org"]):
                return None
            row = table[table["org"] == org].iloc[0].to_dict()
            months, members, reserves, trust = [], [], [], []
            for m, t in zip(self.history.months, self.history.tables, strict=True):
                hit = np.flatnonzero(t["org"] == org) if "org" in t else []
                if len(hit):
                    k = hit[0]
                    months.append(m)
                    members.append(int(t["members"][k]) if "members" in t else 0)
                    reserves.append(float(t["reserves"][k]) if "reserves" in t else 0.0)
                    trust.append(float(t["cohesion"][k]) if "cohesion" in t else 0.0)
            return dict(
                row=row, months=months, members=members, reserves=reserves, trust=trust, money=self.org_money(org)
            )

    def org_money(self, org: int) -> dict:
        """One organisation's money in and out by source, per year of the run so far (``GPModel.org_money``):
        ``years`` (labels), ``flows`` (plain name -> GBP per year, money out negative) and ``totals`` (plain name
        -> GBP over its life so far, money out negative)."""
        from gpsim.money import FLOWS, FLOWS_IN

        with self.lock:
            t = self.model.org_money()
        t = t[t["org"] == org]
        if not len(t):
            return dict(years=[], flows={}, totals={})
        year = (t["step"].to_numpy() - 1) // 12
        first, last = int(year.min()), int(year.max())
        years = [f"year {y + 1}" for y in range(first, last + 1)]
        flows, totals = {}, {}
        for name in FLOWS:
            sign = 1.0 if name in FLOWS_IN else -1.0
            per_year = np.bincount(year - first, t[name].to_numpy(), minlength=last - first + 1) * sign
            if per_year.any():
                flows[labels.MONEY_WORDS[name]] = per_year.tolist()
                totals[labels.MONEY_WORDS[name]] = float(per_year.sum())
        return dict(years=years, flows=flows, totals=totals)

    # --- guided stories ------------------------------------------------------------------------------
    def story_prepare(self, key: str, k: int):
        """Set up step ``k`` of a story: replay steps 0..k-1 to their months (quickly, one frame), then apply
        step k's settings (keeping the run so far as A first if the step says so). Returns the step; the page
        then plays to its month."""
        from gpsim.ui.stories import STORIES

        steps = STORIES[key].steps
        k = max(0, min(k, len(steps) - 1))
        with self.lock:
            self.pinned = None
            for j in range(k + 1):
                st = steps[j]
                if st.pin_first and j > 0:
                    self.pin()
                if st.new_run or j == 0:
                    if st.preset:
                        self.choose_scenario(st.preset)
                    for name, value in st.settings.items():
                        self.set_value(name, value)
                    self.reset()
                if j < k:
                    self.step(max(0, st.run_to - self.month), send=False)
            self.send_frame()
            return steps[k]

    def highlight(self, org: int) -> None:
        if self._view is not None:
            self._view.highlight = int(org)

    # --- words -------------------------------------------------------------------------------------
    def area_name(self) -> str:
        reg = self.model.region
        if reg.source == "synthetic":
            return "a made-up area"
        if self.applied.region in region_choices():
            return region_title(self.applied.region).split(" (")[0]
        return reg.name.split(" (")[0]

    def area_text(self) -> str:
        reg = self.model.region
        return (
            f"{self.area_name()}: {reg.n_practices:,} practices, {reg.n_hospitals} hospitals, {reg.n_ccgs} CCGs. "
            f"Preset: {self.scenario}"
            + (f", with {len(self.changed_from_preset())} setting(s) changed" if self.changed_from_preset() else "")
            + f". Random seed {self.seed}."
        )

    def describe(self, params: Params) -> str:
        """A short label: the preset, and what differs from it."""
        changed = self.changed_from_preset(params)
        return self.scenario + (f" with {labels.describe(params.to_dict(), changed[:3])}" if changed else "")

    def timing_text(self) -> str:
        parts = []
        if self.step_ms:
            parts.append(f"model {self.step_ms[-1]:.0f} ms")
        if self.frame_ms:
            parts.append(f"frame {self.frame_ms[-1]:.0f} ms")
        if self.paint_ms:
            parts.append(f"sent and drawn {self.paint_ms[-1]:.0f} ms")
        return ("last update: " + ", ".join(parts)) if parts else ""

    # --- listeners (the room) -------------------------------------------------------------------------
    def _tell(self, what: str) -> None:
        for fn in list(self.listeners):
            with contextlib.suppress(Exception):  # a room's trouble never stops a participant's run
                fn(self, what)


def _bands(runs: list[pd.DataFrame], start: tuple[int, int], columns) -> dict:
    """column -> (dates, 10th percentile, median, 90th percentile) over runs of equal length."""
    n = min(len(r) for r in runs)
    dates = [frames.month_date(start, m) for m in range(n)]
    out = {}
    for col in columns:
        if not all(col in r for r in runs):
            continue
        vals = np.vstack([r[col].to_numpy(dtype=float)[:n] for r in runs])
        lo, med, hi = np.percentile(vals, [10, 50, 90], axis=0)
        out[col] = (dates, lo.tolist(), med.tolist(), hi.tolist())
    return out
