"""Shared fixtures: small, fast parameter sets and an invariant checker used across test modules."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gpsim
from gpsim.state import PracticeStatus


def raw_runs(root) -> pd.DataFrame:
    """Every stored ``runs`` row of a sweep folder, without the reader's de-duplication (empty if none)."""
    parts = sorted((Path(root) / "runs").glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=["run_key"])
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def pytest_configure(config):
    """Keep the tests' region cache out of the user's cache folder (and start it empty): workers and
    command-line subprocesses started by the tests inherit the variable."""
    if "GPSIM_CACHE_DIR" not in os.environ:
        os.environ["GPSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="gpsim-test-cache-")


#: Examples run by property and fuzz tests, by test: printed at the end of the session (terminal summary).
EXAMPLE_COUNTS: dict[str, dict] = {}


def pytest_terminal_summary(terminalreporter):
    if not EXAMPLE_COUNTS:
        return
    terminalreporter.section("examples run (property and fuzz tests)")
    for name, counts in sorted(EXAMPLE_COUNTS.items()):
        shown = ", ".join(f"{k} {sorted(v) if isinstance(v, set) else v}" for k, v in counts.items())
        terminalreporter.write_line(f"{name}: {shown}")


#: A small region that still forms, fails and closes things within a few simulated years.
SMALL = dict(n_practices=80, n_ccgs=3, years=4.0)


@pytest.fixture
def small_params():
    return gpsim.scenario("funding-cliff").replace(**SMALL)


def check_invariants(model) -> None:
    """Everything that must hold after any month of any run."""
    pr, o = model.practices, model.orgs
    # patients are conserved: only list growth adds them; closures and mergers move them
    assert pr.list_size.sum() == model.initial_population + model.patients_added
    assert (pr.list_size >= 0).all() and (pr.n_gps >= 0).all()
    closed = pr.status != PracticeStatus.OPEN
    assert (pr.list_size[closed] == 0).all() and (pr.org[closed] == -1).all()
    # GPs are conserved: in practices + in the pool = start + trainees - leavers; partners are some of a practice's
    # GPs, at least one while it has any
    pool = model.gp_pool
    assert pr.n_gps.sum() + pool.available == pool.start + pool.trained - pool.left
    assert pool.available >= 0 and (pr.n_gps[closed] == 0).all() and (pr.n_partners[closed] == 0).all()
    assert ((pr.n_partners >= 0) & (pr.n_partners <= pr.n_gps)).all()
    assert (pr.n_partners[pr.n_gps > 0] >= 1).all()
    # money is conserved: stocks change only by named flows
    stock = pr.reserves.sum() + o.view("reserves").sum()
    assert stock == pytest.approx(model.initial_money + model.ledger.net_external(), rel=1e-9, abs=1e-3)
    for name in ("subscriptions", "joining_fees"):
        assert model.ledger.total[name] >= 0
    # no NaN anywhere
    for arr in (pr.reserves, pr.pressure, pr.leadership, pr.member_trust, model.peers.trust):
        assert np.isfinite(arr).all()
    for name in ("reserves", "cohesion", "burnout", "work_done", "hospital_trust", "subscription"):
        assert np.isfinite(o.view(name)).all(), name
    assert ((model.peers.trust >= 0) & (model.peers.trust <= 1)).all()
    # at most one membership per practice, and the graph agrees with the arrays
    member_edges = [(u, v) for u, v, k in model.graph.edges(data="kind") if k == "member"]
    practice_of_edge = [min(u, v) for u, v in member_edges]
    assert len(practice_of_edge) == len(set(practice_of_edge)) == int((pr.org >= 0).sum())
    for u, v in member_edges:
        i, node = min(u, v), max(u, v)
        assert model.ids.org(pr.org[i]) == node
    # primary care networks: a practice is in at most one network (one array entry) and at most one other
    # organisation; closed practices are in none; every member's network is live and the counts agree
    c = model.pcns
    assert (pr.pcn[closed] == -1).all()
    assert ((pr.pcn >= -1) & (pr.pcn < c.size)).all()
    in_pcn = pr.pcn >= 0
    assert c.alive[pr.pcn[in_pcn]].all()
    assert (np.bincount(pr.pcn[in_pcn], minlength=c.size)[: c.size] == c.view("members")).all()
    director = c.view("director")[c.alive]
    assert (pr.pcn[director] == np.flatnonzero(c.alive)).all()
    assert (c.view("members")[~c.alive] == 0).all()
    # dissolved organisations have no members and no money; live ones are registered as Mesa agents
    dissolved = np.flatnonzero(~o.alive)
    assert not np.isin(pr.org, dissolved).any()
    assert (o.view("reserves")[dissolved] == 0).all()
    assert set(model._org_agents) == set(np.flatnonzero(o.alive).tolist())


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(port: int, log: Path, env: dict, extra: tuple[str, ...] = (), ready: str = "/", wait: float = 90):
    """Start ``gpsim ui`` on a loopback port and wait until ``ready`` answers; fails the test if it never does."""
    import subprocess
    import sys
    import time
    import urllib.request

    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "gpsim.cli", "ui", "--port", str(port), *extra]
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + wait
    while True:
        if proc.poll() is not None:
            pytest.fail(f"gpsim ui exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"gpsim ui did not answer within {wait:.0f} s")
        time.sleep(0.3)


def stop_ui(proc) -> None:
    """Stop a server started by :func:`start_ui` by its PID (SIGTERM, then SIGKILL after 15 s)."""
    import signal
    import subprocess

    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


#: A small valid calibration targets table (tests change one thing in a copy of it).
VALID_TARGETS = {
    "scenario": "england-2013",
    "parameters": {"founding_rate": [0.002, 0.03]},
    "target": [
        {
            "name": "a",
            "output": "steps:n_practices_open@2015-07",
            "observed": 7816,
            "observation_sd": 20,
            "discrepancy_sd": 100,
            "period": "train",
            "source": "facts #1",
        }
    ],
}
