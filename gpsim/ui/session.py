"""One browser session's run: the parameters being edited, the model, the pinned run "A", and timings.

Nothing here knows about Solara, so it can be tested and timed directly. The page builds one
:class:`Session` per browser session (never at module level: that would be shared by every visitor).
"""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gpsim.errors import GpsimError
from gpsim.params import SPECS, SPECS_BY_NAME, Params
from gpsim.scenarios import SCENARIOS

#: Environment variables ``gpsim ui`` uses to pass its options to the app it serves.
ENV_SCENARIO = "GPSIM_UI_SCENARIO"
ENV_REGION = "GPSIM_UI_REGION"
ENV_SEED = "GPSIM_UI_SEED"

#: Regions with more practices than this are drawn aggregated (one circle per CCG).
AGGREGATE_ABOVE = 1500

#: Every live Session and model, held weakly: a debug count that proves closed sessions are freed (the app keeps
#: no per-session state at module level; these sets do not keep anything alive).
_LIVE_SESSIONS: weakref.WeakSet = weakref.WeakSet()
_LIVE_MODELS: weakref.WeakSet = weakref.WeakSet()


def live_counts(collect: bool = True) -> tuple[int, int]:
    """(sessions, models) still alive in this process, after a garbage collection unless ``collect`` is False."""
    if collect:
        gc.collect()
    return len(_LIVE_SESSIONS), len(_LIVE_MODELS)


#: Words in parameter names that read better spelled out.
_WORDS = {"n": "number of", "ccg": "CCG", "ccgs": "CCGs", "gp": "GP", "fte": "FTE", "org": "organisation"}


def nice_name(name: str) -> str:
    """A parameter name as a heading: ``gp_fte_per_1000`` -> "GP FTE per 1000"."""
    words = [_WORDS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def region_choices(current: str | None = None) -> list[str]:
    """Values for the region selector: 'synthetic', then the named real regions and 'england' when the real
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


def region_description(name: str) -> str:
    if name == "synthetic":
        return "A made-up region built from the region sliders below (number of practices, CCGs, list sizes)."
    if name == "england":
        return "Every practice in England, drawn as one circle per CCG. Takes a few seconds to load."
    try:
        from gpsim.data import NAMED_REGIONS

        if name in NAMED_REGIONS:
            return NAMED_REGIONS[name].description
    except ImportError:
        pass
    return "CCG codes from the NHS register."


@dataclass
class Pinned:
    """A run kept for comparison: its monthly table and what it was run with."""

    steps: pd.DataFrame
    params: Params
    seed: int
    label: str


class Session:
    """The state behind one browser tab.

    ``pending`` holds the values the sliders show; they take effect on :meth:`reset`. ``model`` is the
    running :class:`~gpsim.GPModel`. All mutating methods hold ``lock`` so Play and button clicks never
    step the same model at once.
    """

    def __init__(self, scenario: str = "baseline", region: str | None = None, seed: int = 0) -> None:
        self.lock = threading.RLock()
        #: The only areas a visitor may choose: the named ones and the one the server was started with. Anything
        #: else (e.g. ``00L@/some/path``, which would read a file) is refused, whatever the browser sends.
        self.allowed_regions = set(region_choices(region)) | {sc.params.region for sc in SCENARIOS.values()}
        self.scenario = scenario if scenario in SCENARIOS else "baseline"
        base = SCENARIOS[self.scenario].params
        if region:
            base = base.replace(region=region)
        self.pending: dict[str, Any] = base.to_dict()
        self.pending_seed = int(seed)
        self.applied: Params = base
        self.seed = int(seed)
        self.error: str | None = None
        self.pinned: Pinned | None = None
        self.model = None
        self.step_ms: list[float] = []  # model time of recent Step clicks / Play frames
        self.draw_ms: list[float] = []
        self.render_ms: list[float] = []  # model done -> page updated and sent (server side), per update
        self.stepped_at: float | None = None
        self.reset()
        _LIVE_SESSIONS.add(self)

    @classmethod
    def from_environment(cls) -> Session:
        """A session configured by ``gpsim ui``'s options (passed through the environment)."""
        seed = os.environ.get(ENV_SEED, "0")
        return cls(
            scenario=os.environ.get(ENV_SCENARIO, "baseline"),
            region=os.environ.get(ENV_REGION) or None,
            seed=int(seed) if seed.lstrip("-").isdigit() else 0,
        )

    # --- editing -----------------------------------------------------------------------------------
    def set_value(self, name: str, value: Any) -> None:
        spec = SPECS_BY_NAME[name]
        if spec.kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if name == "region" and value not in self.allowed_regions:
            return  # never a path or code list the server was not started with
        with self.lock:
            self.pending[name] = value

    def choose_scenario(self, name: str) -> None:
        """Set every slider to the preset's values (the region choice is kept). Applies on Reset."""
        with self.lock:
            if name not in SCENARIOS:
                return
            region = self.pending.get("region", "synthetic")
            self.scenario = name
            values = SCENARIOS[name].params.to_dict()
            if region != "synthetic" and values.get("region", "synthetic") == "synthetic":
                values["region"] = region
            self.pending = values

    def pending_changes(self) -> list[str]:
        """Names of the settings changed since the last Reset (what Reset will apply)."""
        applied = self.applied.to_dict()
        names = [s.name for s in SPECS if self.pending.get(s.name) != applied[s.name]]
        if self.pending_seed != self.seed:
            names.append("seed")
        return names

    # --- running -----------------------------------------------------------------------------------
    def reset(self) -> bool:
        """Build a fresh model from the pending values. On bad values keep the old run and set ``error``."""
        from gpsim import GPModel

        with self.lock:
            if self.pending.get("region") not in self.allowed_regions:
                self.pending["region"] = self.applied.region
            try:
                params = Params.from_mapping(self.pending)
                model = GPModel(params, rng=self.pending_seed)  # regions are cached by the core
            except (GpsimError, ValueError) as err:
                self.error = str(err)
                return False
            self.error = None
            self.applied, self.seed, self.model = params, self.pending_seed, model
            _LIVE_MODELS.add(model)
            self.step_ms.clear()
            self.draw_ms.clear()
            self.render_ms.clear()
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

    def step(self, months: int = 1) -> int:
        """Advance up to ``months`` months (never past the end of the run); return how many were run."""
        with self.lock:
            t0 = time.perf_counter()
            done = 0
            while done < months and not self.finished:
                self.model.step()
                done += 1
            if done:
                self.stepped_at = time.perf_counter()
                self.step_ms.append((self.stepped_at - t0) * 1000)
                del self.step_ms[:-50]
            return done

    def note_draw(self, ms: float) -> None:
        self.draw_ms.append(ms)
        del self.draw_ms[:-50]

    def note_rendered(self) -> None:
        """The page has been updated after a step: record the server's drawing time since the model finished."""
        if self.stepped_at is not None:
            self.render_ms.append((time.perf_counter() - self.stepped_at) * 1000)
            del self.render_ms[:-50]
            self.stepped_at = None

    def steps_frame(self) -> pd.DataFrame:
        """The run so far, one row per month (the same columns as ``Results.steps``)."""
        with self.lock:
            steps = pd.DataFrame.from_records(self.model.records)
        p = self.applied
        start = pd.Timestamp(year=p.start_year, month=p.start_month, day=1)
        steps.insert(1, "date", [start + pd.DateOffset(months=int(s)) for s in steps["step"]])
        return steps

    def steps_csv(self) -> str:
        return self.steps_frame().to_csv(index=False)

    # --- compare -----------------------------------------------------------------------------------
    def pin(self) -> Pinned:
        """Keep the current run as "A" for the charts to overlay."""
        with self.lock:
            self.pinned = Pinned(self.steps_frame(), self.applied, self.seed, f"A: {self.describe(self.applied)}")
            return self.pinned

    def unpin(self) -> None:
        with self.lock:
            self.pinned = None

    def describe(self, params: Params) -> str:
        """A short label: the scenario if the values match one, else the chosen preset and what differs from it."""
        for name, sc in SCENARIOS.items():
            if sc.params.replace(region=params.region) == params:
                return name
        base = SCENARIOS[self.scenario].params.replace(region=params.region).to_dict()
        changed = {k: v for k, v in params.to_dict().items() if base[k] != v}
        text = ", ".join(f"{nice_name(k)} {_short(v)}" for k, v in list(changed.items())[:4])
        return f"{self.scenario} with {text}" + (" ..." if len(changed) > 4 else "")

    def compare_differences(self) -> list[tuple[str, Any, Any]]:
        """(name, value in A, value in the current run) for each setting that differs."""
        if self.pinned is None:
            return []
        a, b = self.pinned.params.to_dict(), self.applied.to_dict()
        out = [(s.name, a[s.name], b[s.name]) for s in SPECS if a[s.name] != b[s.name]]
        if self.pinned.seed != self.seed:
            out.append(("seed", self.pinned.seed, self.seed))
        return out

    # --- timings -----------------------------------------------------------------------------------
    def timing_text(self) -> str:
        if not self.step_ms and not self.draw_ms:
            return ""
        parts = []
        if self.step_ms:
            parts.append(f"model {self.step_ms[-1]:.0f} ms")
        drawing = self.render_ms or self.draw_ms  # whole page update when known (the previous one), else the views
        if drawing:
            parts.append(f"drawing {drawing[-1]:.0f} ms")
        return "last update: " + ", ".join(parts)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
