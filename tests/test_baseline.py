"""Regression baseline: every scenario's ``final`` summary for fixed seeds matches tests/baseline.json.

A deliberate change of behaviour rewrites the file with ``python tests/update_baseline.py`` and the diff is
reviewed in the same commit; anything else that moves a figure is a regression.
"""

from __future__ import annotations

import json

import pytest
from update_baseline import CASES, PATH, case_key, differences, final_of

import gpsim

STORED = json.loads(PATH.read_text())


def test_baseline_covers_every_scenario():
    assert {c[0] for c in CASES} == set(gpsim.SCENARIOS)
    assert set(STORED) == {case_key(*c) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case_key(*c) for c in CASES])
def test_scenario_matches_baseline(case):
    moved = differences(STORED[case_key(*case)], final_of(*case))
    assert not moved, "behaviour changed (if on purpose: python tests/update_baseline.py):\n" + "\n".join(moved)


def test_differences_sees_a_change():
    """The comparison itself must notice a moved figure, a changed count and a missing key."""
    a = {"x": 1.0, "n": 3, "gone": 2}
    assert differences(a, dict(a)) == []
    moved = differences(a, {"x": 1.0 + 1e-6, "n": 4})
    assert [m.split(":")[0] for m in moved] == ["gone", "n", "x"]
