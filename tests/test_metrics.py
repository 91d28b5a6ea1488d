"""The numbers game (seed article): relationships a hospital keeps with general practice."""

import numpy as np
import pytest

from gpsim.metrics import relationships_per_hospital, survival_after_funding


def catchment(practices_per_org: int, n_practices: int = 300, committable: bool = True):
    """One hospital of about 300k patients served by ``n_practices`` practices of ~8k, grouped into
    organisations of ``practices_per_org`` practices (0 = no organisations)."""
    hospital = np.zeros(n_practices, dtype=int)
    if practices_per_org:
        org = np.arange(n_practices) // practices_per_org
        flags = np.full(org.max() + 1, committable)
    else:
        org = np.full(n_practices, -1)
        flags = np.zeros(1, dtype=bool)
    return hospital, org, np.ones(n_practices, dtype=bool), flags


def test_no_organisations_gives_catchment_over_list_size():
    # 300,000 / 8,000 = 37.5 practices: 37 or 38 counterparts
    for n in (37, 38):
        h, org, open_, flags = catchment(0, n)
        assert relationships_per_hospital(h, org, open_, flags, 1)[0] == n


@pytest.mark.parametrize(("per_org", "low", "high"), [(4, 6, 10), (5, 6, 10), (6, 6, 10), (30, 1, 2), (37, 1, 2)])
def test_cohesive_organisations_reduce_counterparts(per_org, low, high):
    # 30-50k organisations are 4-6 practices of 8k; 200-300k are 25-37 practices
    h, org, open_, flags = catchment(per_org, 37)
    assert low <= relationships_per_hospital(h, org, open_, flags, 1)[0] <= high


def test_organisations_that_cannot_commit_members_add_a_counterpart():
    # 37 practices in 8 organisations (7 of 5, one of 2) that cannot commit: the hospital still deals with all
    # 37 practices, and with each of the 8 organisations as well
    h, org, open_, flags = catchment(5, 37, committable=False)
    assert relationships_per_hospital(h, org, open_, flags, 1)[0] == 37 + 8
    # the first version's convention (members only) is kept for comparison
    assert relationships_per_hospital(h, org, open_, flags, 1, uncommitted_adds=False)[0] == 37


def test_hand_built_catchment_members_plus_one():
    # one hospital, five practices: practices 0-2 in organisation 0, practices 3-4 independent
    hospital = np.zeros(5, dtype=int)
    org = np.array([0, 0, 0, -1, -1])
    is_open = np.ones(5, dtype=bool)
    # cannot commit: three members + the organisation + two independents = 6
    assert relationships_per_hospital(hospital, org, is_open, np.array([False]), 1)[0] == 6
    # can commit: the organisation once + two independents = 3
    assert relationships_per_hospital(hospital, org, is_open, np.array([True]), 1)[0] == 3
    # members only (old convention): 5
    assert relationships_per_hospital(hospital, org, is_open, np.array([False]), 1, uncommitted_adds=False)[0] == 5


def test_closed_practices_and_split_catchments():
    hospital = np.array([0, 0, 0, 1, 1, 1])
    org = np.array([0, 0, -1, 0, 1, 1])
    is_open = np.array([True, True, True, True, True, False])
    committable = np.array([True, True])
    # hospital 0: org 0 once + one independent; hospital 1: org 0 once + org 1 (its open member)
    assert relationships_per_hospital(hospital, org, is_open, committable, 2).tolist() == [2, 2]
    # org 1 cannot commit: hospital 1 deals with its open member and with org 1 itself
    assert relationships_per_hospital(hospital, org, is_open, np.array([True, False]), 2).tolist() == [2, 3]


def test_survival_after_funding_counts_only_ended_money():
    last = np.array([10, 10, 10, 10, -1, 40])
    dissolved = np.array([-1, 30, 50, 10, 5, -1])
    # org 3 died in its last funded month (not counted); org 4 had no money; org 5's money ended too late
    share, n = survival_after_funding(last, dissolved, now=48, months=36)
    assert n == 3 and share == pytest.approx(2 / 3)
