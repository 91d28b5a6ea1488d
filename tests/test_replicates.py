"""One setting over several seeds in one process (gpsim.replicates) and warming sweep workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim import region as region_module
from gpsim.errors import ParameterError
from gpsim.sweep.engine import Task, region_params

SMALL = dict(n_practices=60, n_ccgs=2, years=2.0)


def test_each_member_is_the_run_with_that_seed(monkeypatch):
    params = gpsim.scenario("baseline").replace(**SMALL)
    members = gpsim.replicates(params, [3, 5])
    for seed, member in zip([3, 5], members, strict=True):
        pd.testing.assert_frame_equal(member.steps, gpsim.run(params, seed=seed).steps)
    assert not members[0].steps.equals(members[1].steps)  # different seeds, different runs


def test_the_region_is_built_once(monkeypatch):
    built = []
    real = region_module.from_params
    monkeypatch.setattr(region_module, "from_params", lambda p: built.append(p) or real(p))
    monkeypatch.delitem(gpsim.__dict__, "region_for", raising=False)  # looked up afresh through the lazy name
    seen = []
    members = gpsim.replicates("baseline", 3, progress=lambda d, t: seen.append((d, t)), **SMALL)
    assert len(members) == 3 and len(built) == 1
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert members[2].seed == 2  # a count K means seeds 0 .. K-1


@pytest.mark.parametrize("seeds", [0, -1, [], "12", True, [1, "x"], [1, -5], 2.5])
def test_bad_seeds_are_refused_before_any_run(seeds, monkeypatch):
    monkeypatch.setattr(gpsim, "run", lambda *a, **k: pytest.fail("ran before refusing"))
    with pytest.raises(ParameterError, match="seed"):
        gpsim.replicates("baseline", seeds, **SMALL)


def _task(**params) -> Task:
    return Task("k", "p", 0, {}, params, 1, 0, 0)


def test_sweep_workers_warm_each_distinct_region_once():
    a = gpsim.scenario("baseline").replace(**SMALL).to_dict()
    b = {**a, "pump_priming_per_patient": 9.0}  # same region
    c = {**a, "n_practices": 61}  # another region
    got = region_params([_task(**a), _task(**b), _task(**c), _task(**a)])
    assert got == [a, c]


def test_warming_builds_the_region_the_runs_use():
    from gpsim.sweep.warm import warm

    p = gpsim.scenario("baseline").replace(n_practices=57, n_ccgs=2)
    region_module._cached.cache_clear()
    warm([p.to_dict(), {"region": "no-such-area"}])  # a bad region is left for its runs to report
    assert region_module._cached.cache_info().currsize == 1
    assert gpsim.region_for(p) is region_module._cached(region_module.region_key(p))
    assert np.all(gpsim.region_for(p).list_size > 0)


def test_stop_ends_early_with_the_runs_finished_so_far():
    """``stop`` is asked every month: a stop during the third run returns the first two, whole and unchanged."""
    params = gpsim.scenario("baseline").replace(**SMALL)
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2 * params.n_months + 5  # part-way through the third run

    members = gpsim.replicates(params, [0, 1, 2, 3], stop=stop)
    assert [m.seed for m in members] == [0, 1]
    pd.testing.assert_frame_equal(members[1].steps, gpsim.run(params, seed=1).steps)
    assert gpsim.replicates(params, 3, stop=lambda: True) == []
    with pytest.raises(ParameterError, match="stop"):
        gpsim.replicates(params, 2, stop=True)


def test_a_run_leaves_the_garbage_collector_as_it_found_it():
    import gc

    params = gpsim.Params(n_practices=30, n_ccgs=1, years=1.0)

    def fail(month, n_months):
        raise KeyboardInterrupt

    assert gc.isenabled()
    gpsim.run(params, seed=0)
    assert gc.isenabled()
    with pytest.raises(KeyboardInterrupt):
        gpsim.run(params, seed=0, progress=fail)
    assert gc.isenabled()
    gc.disable()
    try:
        gpsim.run(params, seed=0)
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()
