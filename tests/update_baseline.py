"""Rewrite tests/baseline.json: the ``final`` summary of every scenario for fixed seeds.

Run it on purpose, when a change of behaviour is intended, and review the diff in the same commit::

    python tests/update_baseline.py            # rewrite
    python tests/update_baseline.py --check    # compare only; exit 1 and list what moved

tests/test_baseline.py compares fresh runs against the file with tight tolerances, so a change that moves any
scenario's results fails the suite until this script is run and the diff explained.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import gpsim

PATH = Path(__file__).with_name("baseline.json")
#: (scenario, seed, overrides). Every scenario; the England ones shortened to keep the suite quick.
CASES: list[tuple[str, int, dict]] = [
    *[(name, 11, {}) for name in gpsim.SCENARIOS if not name.startswith("england")],
    ("england-2013", 11, {"years": 4.0}),
    ("england-2021", 11, {"years": 2.0}),
]
#: Relative and absolute tolerance of a float (integers must match exactly).
RTOL, ATOL = 1e-9, 1e-9


def case_key(name: str, seed: int, overrides: dict) -> str:
    extra = ",".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    return f"{name}/seed={seed}" + (f"/{extra}" if extra else "")


def final_of(name: str, seed: int, overrides: dict) -> dict:
    """The run's ``final`` summary, with NaN written as None (JSON has no NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data-quality notes of the real register are expected
        final = gpsim.run(name, seed, **overrides).final
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in final.items()}


def differences(expected: dict, got: dict) -> list[str]:
    """Keys whose values differ beyond the tolerances (or are missing on either side)."""
    out = []
    for key in sorted(set(expected) | set(got)):
        a, b = expected.get(key, "<missing>"), got.get(key, "<missing>")
        if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
            if not math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL):
                out.append(f"{key}: {a!r} -> {b!r}")
        elif a != b:
            out.append(f"{key}: {a!r} -> {b!r}")
    return out


def compute() -> dict:
    return {case_key(*c): final_of(*c) for c in CASES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the file instead of rewriting it")
    args = parser.parse_args(argv)
    fresh = compute()
    if args.check:
        stored = json.loads(PATH.read_text())
        moved = {k: differences(stored.get(k, {}), v) for k, v in fresh.items()}
        moved = {k: d for k, d in moved.items() if d}
        for k, d in moved.items():
            print(f"{k}:\n  " + "\n  ".join(d))
        print("baseline matches" if not moved else f"{len(moved)} case(s) moved")
        return 1 if moved else 0
    PATH.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
    print(f"wrote {PATH} ({len(fresh)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
