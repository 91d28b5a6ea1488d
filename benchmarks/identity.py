"""Bit-identity check for speed work: same parameters + seed must give exactly the same results.

Save a reference with the current code, change the code, then check against the reference::

    python -m benchmarks.identity save /tmp/gpsim-ref
    python -m benchmarks.identity check /tmp/gpsim-ref

The parameters of every case are pinned in the reference (``params.json``), so changes to the parameter
defaults or scenarios made after saving do not show up as differences. The starting region of each case
is saved too and compared separately.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import gpsim
from gpsim import region as region_mod

#: (name, scenario, overrides, seed). Small, big, real-data and policy-heavy cases.
CASES = [
    ("baseline-0", "baseline", {}, 0),
    ("baseline-1", "baseline", {}, 1),
    ("baseline-7", "baseline", {}, 7),
    ("funding-cliff-2", "funding-cliff", {}, 2),
    ("recurrent-funding-3", "recurrent-funding", {}, 3),
    ("distributed-leadership-4", "distributed-leadership", {}, 4),
    ("low-trust-history-5", "low-trust-history", {}, 5),
    ("neighbourhood-scale-6", "neighbourhood-scale", {}, 6),
    ("large-scale-8", "large-scale", {}, 8),
    ("tiny-9", "baseline", {"n_practices": 12, "n_ccgs": 2}, 9),
    ("pressured-10", "baseline", {"n_practices": 400, "n_ccgs": 8, "years": 15.0, "demand_growth": 0.06}, 10),
    ("england-2013-0", "england-2013", {}, 0),
    ("england-2013-1", "england-2013", {}, 1),
    ("england-0", "baseline", {"region": "england"}, 0),
    ("england-2021-0", "england-2021", {}, 0),
    ("west-yorkshire-3", "baseline", {"region": "west-yorkshire"}, 3),
]


def case_params(scenario: str, overrides: dict) -> gpsim.Params:
    return gpsim.scenario(scenario).replace(**overrides) if overrides else gpsim.scenario(scenario)


def results_of(params: gpsim.Params, seed: int):
    res = gpsim.run(params, seed=seed)
    return {
        "steps": res.steps,
        "orgs": res.orgs,
        "closures": res.closures,
        "org_money": res.org_money,
        "final": res.final,
        "ledger": dict(res.ledger),
    }


def region_arrays(params: gpsim.Params) -> dict:
    r = region_mod.from_params(params)
    names = ("list_size", "x", "y", "ccg", "hospital", "hospital_xy", "peer_edges")
    return {k: np.asarray(getattr(r, k)) for k in names}


def save(out: Path, names: list[str] | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pinned = {}
    for name, sc, ov, seed in CASES:
        if names and name not in names:
            continue
        try:
            p = case_params(sc, ov)
        except gpsim.GpsimError as err:
            print(f"skip {name}: {err}")
            continue
        t = time.perf_counter()
        data = results_of(p, seed)
        data["region"] = region_arrays(p)
        (out / f"{name}.pkl").write_bytes(pickle.dumps(data))
        pinned[name] = {"params": p.to_dict(), "seed": seed}
        print(f"saved {name} ({time.perf_counter() - t:.2f} s)")
    old = json.loads((out / "params.json").read_text()) if (out / "params.json").exists() else {}
    old.update(pinned)
    (out / "params.json").write_text(json.dumps(old, indent=1))


def check(ref: Path, names: list[str] | None) -> int:
    pinned = json.loads((ref / "params.json").read_text())
    bad = 0
    for name, spec in pinned.items():
        if names and name not in names:
            continue
        p = gpsim.Params.from_mapping(spec["params"])
        want = pickle.loads((ref / f"{name}.pkl").read_bytes())
        t = time.perf_counter()
        got = results_of(p, spec["seed"])
        took = time.perf_counter() - t
        problems = []
        for key, arr in region_arrays(p).items():
            if not np.array_equal(arr, want["region"][key]):
                problems.append(f"region.{key}")
        for key in ("steps", "orgs", "closures", "org_money"):
            try:
                pd.testing.assert_frame_equal(got[key], want[key], check_exact=True)
            except AssertionError as err:
                problems.append(f"{key}: {str(err).splitlines()[:4]}")
        if json.dumps(got["final"], sort_keys=True, default=str) != json.dumps(
            want["final"], sort_keys=True, default=str
        ):
            problems.append("final")
        if "ledger" in want and got["ledger"] != want["ledger"]:  # exact: the same sums in the same order
            problems.append("ledger")
        print(f"{'OK  ' if not problems else 'DIFF'} {name} ({took:.2f} s) {'; '.join(problems)}")
        bad += bool(problems)
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.identity", description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("save", "check"))
    ap.add_argument("dir", type=Path)
    ap.add_argument("--only", nargs="*", help="case names")
    args = ap.parse_args(argv)
    if args.action == "save":
        save(args.dir, args.only)
        return 0
    return check(args.dir, args.only)


if __name__ == "__main__":
    sys.exit(main())
