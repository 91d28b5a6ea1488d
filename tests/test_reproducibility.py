"""Reproducibility: the same parameters and seed give bit-identical ``steps``, ``orgs`` and ``closures``.

Checked in one process (run twice), across separate processes (a fresh interpreter with a different
``PYTHONHASHSEED`` running ``gpsim.run`` and writing Parquet and pickle, and the ``gpsim run --out`` command),
and on Dask worker processes. Tables are compared by a fingerprint of every value's bits (floats by their
IEEE-754 bit pattern, so -0.0 != 0.0 and NaN payloads count), not by a tolerance.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim.data import DataWarning
from gpsim.sweep.engine import local_cluster

TABLES = ("steps", "orgs", "closures")
#: A synthetic region where organisations form and fail and practices close within the run, and a real CCG.
CASES = {
    "synthetic": ("funding-cliff", dict(n_practices=80, n_ccgs=3, years=4.0), 7),
    "00L": ("baseline", dict(region="00L", years=3.0), 2**40 + 5),
}


def fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 over column names, dtypes and the exact bits of every value (NaN/NA included)."""
    h = hashlib.sha256()
    for col in frame.columns:
        s = frame[col]
        h.update(f"{col}:{s.dtype}|".encode())
        if s.dtype.kind in "fiub" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            h.update(np.ascontiguousarray(s.to_numpy()).tobytes())
        else:
            h.update("\x1f".join(repr(v) for v in s.astype(object).tolist()).encode())
    h.update(str(len(frame)).encode())
    return h.hexdigest()


def fingerprints(results) -> dict[str, str]:
    return {name: fingerprint(getattr(results, name)) for name in TABLES}


def run_case(case: str):
    scenario, overrides, seed = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return gpsim.run(scenario, seed=seed, **overrides)


@pytest.fixture(scope="module")
def reference():
    out = {case: run_case(case) for case in CASES}
    for r in out.values():  # the runs are worth comparing: things happen in them
        assert len(r.orgs) > 0 and r.final["orgs_dissolved"] + len(r.closures) > 0
    return out


@pytest.mark.parametrize("case", CASES)
def test_same_process_twice_is_bit_identical(case, reference):
    again = run_case(case)
    assert fingerprints(again) == fingerprints(reference[case])
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(reference[case], name), check_exact=True)
    assert json.dumps(again.final, sort_keys=True, default=str) == json.dumps(
        reference[case].final, sort_keys=True, default=str
    )
    assert again.ledger == reference[case].ledger


def test_a_different_seed_gives_a_different_run(reference):
    scenario, overrides, seed = CASES["synthetic"]
    other = gpsim.run(scenario, seed=seed + 1, **overrides)
    assert fingerprints(other)["steps"] != fingerprints(reference["synthetic"])["steps"]


CHILD = """
import pickle, sys, warnings
import gpsim
from gpsim.data import DataWarning
scenario, overrides, seed, out = pickle.loads(bytes.fromhex(sys.argv[1]))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DataWarning)
    r = gpsim.run(scenario, seed=seed, **overrides)
for name in ("steps", "orgs", "closures"):
    getattr(r, name).to_parquet(f"{out}/{name}.parquet", index=False)
with open(f"{out}/results.pkl", "wb") as fh:
    pickle.dump({name: getattr(r, name) for name in ("steps", "orgs", "closures")}, fh)
"""


@pytest.mark.parametrize("case", CASES)
def test_separate_processes_with_other_hash_seeds_are_bit_identical(case, reference, tmp_path):
    want = fingerprints(reference[case])
    for hash_seed in ("0", "4242"):
        out = tmp_path / hash_seed
        out.mkdir()
        arg = pickle.dumps((*CASES[case], str(out))).hex()
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", CHILD, arg], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        with open(out / "results.pkl", "rb") as fh:
            pickled = pickle.load(fh)
        assert {name: fingerprint(pickled[name]) for name in TABLES} == want
        # Parquet round trip: values are the same bits (dtypes may come back as Arrow-backed equivalents)
        for name in TABLES:
            back = pd.read_parquet(out / f"{name}.parquet")
            pd.testing.assert_frame_equal(back, getattr(reference[case], name), check_exact=True, check_dtype=False)


def test_cli_run_in_another_process_writes_the_same_tables(reference, tmp_path):
    scenario, overrides, seed = CASES["synthetic"]
    sets = [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "gpsim.cli", "run", "--scenario", scenario, *sets, "--seed", str(seed)]
    done = subprocess.run([*cmd, "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    saved = gpsim.Results.load(out)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(saved, name), getattr(reference["synthetic"], name), check_exact=True, check_dtype=False
        )


def _run_on_worker(case: str) -> tuple[dict[str, str], str]:
    from distributed import get_worker

    return fingerprints(run_case(case)), get_worker().address


def test_dask_workers_are_bit_identical(reference):
    pytest.importorskip("distributed")
    from distributed import Client

    with (
        local_cluster(2, silence_logs=40) as cluster,  # gpsim's own embedded cluster: workers forked, model preloaded
        Client(cluster) as client,
    ):
        workers = sorted(client.scheduler_info()["workers"])
        assert len(workers) == 2
        futures = [
            client.submit(_run_on_worker, case, workers=[w], pure=False, key=f"repro-{case}-{i}")
            for case in CASES
            for i, w in enumerate(workers)
        ]
        got = client.gather(futures)
    seen = set()
    for (case, _), (prints, address) in zip([(c, w) for c in CASES for w in workers], got, strict=True):
        assert prints == fingerprints(reference[case]), (case, address)
        seen.add(address)
    assert seen == set(workers)  # every worker process ran every case
