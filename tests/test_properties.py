"""Property tests: invariants hold after every month for parameters drawn across their declared ranges."""

from __future__ import annotations

import math
import os

from conftest import check_invariants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpsim
from gpsim.params import SPECS
from gpsim.scenarios import SCENARIOS

#: Region size and run length are kept small so many examples fit in CI; every other parameter spans its range.
BOUNDED = {"n_practices": (10, 70), "n_ccgs": (1, 4), "years": (0.25, 3.0), "region_seed": (0, 1000)}
SKIP = {"region"}
#: Examples per run (CI default; set GPSIM_PROPERTY_EXAMPLES=1000 for a longer hunt).
EXAMPLES = int(os.environ.get("GPSIM_PROPERTY_EXAMPLES", "80"))


def _strategy(spec):
    if spec.name in BOUNDED:
        lo, hi = BOUNDED[spec.name]
        return st.integers(lo, hi) if spec.kind is int else st.floats(lo, hi)
    if spec.choices:
        return st.sampled_from(spec.choices)
    if spec.kind is int:
        return st.integers(int(spec.low), int(min(spec.high, spec.low + 10_000)))
    return st.floats(spec.low, spec.high, allow_nan=False, allow_infinity=False)


PARAMS = st.fixed_dictionaries({s.name: _strategy(s) for s in SPECS if s.name not in SKIP})


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=PARAMS, scenario=st.sampled_from(sorted(set(SCENARIOS) - {"england-2013"})), seed=st.integers(0, 2**32))
def test_invariants_across_the_parameter_space(values, scenario, seed):
    if values["n_ccgs"] > values["n_practices"]:
        values["n_ccgs"] = values["n_practices"]
    params = gpsim.scenario(scenario).replace(**values)
    model = gpsim.GPModel(params, rng=seed)
    check_invariants(model)
    for _ in range(params.n_months):
        model.step()
        check_invariants(model)
    row = model.records[-1]
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in row.values())
    assert 0.0 <= row["share_practices_in_org"] <= 1.0
    assert row["relationships_per_hospital_mean"] <= row["relationships_baseline_mean"] + 1e-9
