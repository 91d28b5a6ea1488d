"""Refit a finished calibration's emulators with this checkout's code: time and quality, wave by wave.

    python -m benchmarks.emulators CALIBRATION_FOLDER [--workers 2] [--out record.json]

For each wave it rebuilds the training table from the stored runs, fits the emulators as ``gpsim calibrate``
does (:func:`gpsim.calibrate.waves.emulate`), times the fitting (wall, and CPU of this process when serial),
applies the wave's cut to the same candidates and reports how many are kept. Quality is measured on runs the
emulators never saw: wave k's emulators predict wave k+1's runs, the last wave's predict the posterior runs.
Per target: the log marginal likelihood, R^2, the root mean square of the standardised errors
``(y - mean) / sd`` (about 1 for an honest emulator) and the share of runs inside the 95% interval.

Run it on the same folder before and after a change to the emulators (e.g. from a worktree of each commit)
and compare the records; the kept candidates' indices are stored so the two regions can be compared exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _table(folder: Path, names: list[str]) -> pd.DataFrame:
    from gpsim.sweep.store import SweepStore

    store = SweepStore(folder / "runs")
    runs, final = store.runs(), store.final()
    keep = ["run_key", *[c for c in final.columns if c.startswith(("target:", "missing:"))]]
    return runs[["run_key", "point_id", *names, "status"]].merge(final[keep], on="run_key", how="left")


def _check(em, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    mean, var = em.predict(x)
    z = (y - mean) / np.sqrt(var + em.noise_var)
    return {
        "lml": float(em.gp.log_marginal_likelihood_value_),
        "r2": float(1 - np.sum((y - mean) ** 2) / np.sum((y - y.mean()) ** 2)),
        "rms_z": float(np.sqrt(np.mean(z**2))),
        "coverage95": float(np.mean(np.abs(z) <= 1.96)),
    }


def refit(root: Path, workers: int = 1, log=print) -> dict:
    """Refit every wave of the calibration in ``root``; return the record (see the module's docstring)."""
    from gpsim.calibrate import design as designs
    from gpsim.calibrate.targets import Target, Waves
    from gpsim.calibrate.waves import Space, _implausibility, emulate

    meta = json.loads((root / "calibration.json").read_text())
    recorded = meta["calibration"]  # as the calibration ran it: targets scaled, the mode's wave settings
    settings = Waves(**recorded["waves"])
    space = Space({name: tuple(bounds) for name, bounds in recorded["parameters"].items()})
    d = len(space.names)
    train = [t for t in (Target(**row) for row in recorded["targets"]) if t.period == "train"]
    n_waves = len(meta["waves"])
    folders = [root / "waves" / f"wave-{k}" for k in range(1, n_waves + 1)] + [root / "posterior"]
    tables = [_table(f, space.names) for f in folders]
    emulators, nroy, previous, waves = [], None, [], []
    for k in range(1, n_waves + 1):
        table = tables[k - 1]
        seed = recorded["seed"] + 1_000 * k
        c, t = time.process_time(), time.perf_counter()
        wave_emulators, previous = emulate(train, table, space, seed, workers=workers, previous=previous)
        fit_s, fit_cpu = time.perf_counter() - t, time.process_time() - c
        emulators.append(wave_emulators)
        low, high = (np.zeros(d), np.ones(d)) if nroy is None else designs.bounding_box(nroy)
        cands = space.unit(space.values(designs.sobol_in_box(settings.candidates, low, high, seed + 1)))
        t = time.perf_counter()
        kept = _implausibility(emulators, cands)[0] < settings.cutoff
        cut_s = time.perf_counter() - t
        nroy = cands[kept]
        test = tables[k]
        ok = test["status"] == "ok"
        x_test = space.unit(test.loc[ok, space.names].to_numpy(float))
        quality = {
            tg.name: {
                **_check(em, x_test, test.loc[ok, f"target:{tg.name}"].to_numpy(float)),
                "holdout_r2": em.diagnostics.get("holdout_r2"),
                "holdout_coverage95": em.diagnostics.get("holdout_coverage95"),
                "restarts": em.diagnostics.get("restarts"),
                "fit_seconds": em.diagnostics.get("fit_seconds"),
            }
            for tg, em in wave_emulators
            if em.gp is not None
        }
        waves.append(
            {
                "wave": k,
                "runs": int(len(table)),
                "fit_seconds": round(fit_s, 2),
                "fit_cpu_seconds_this_process": round(fit_cpu, 2),
                "cut_seconds": round(cut_s, 2),
                "candidates_kept": int(kept.sum()),
                "kept": np.flatnonzero(kept).tolist(),
                "tested_on": folders[k].name,
                "quality": quality,
            }
        )
        log(
            f"wave {k}: fitted in {fit_s:.1f} s (cpu here {fit_cpu:.1f} s), cut in {cut_s:.1f} s, "
            f"{int(kept.sum())} of {len(cands)} candidates kept"
        )
        for name, q in quality.items():
            log(
                f"  {name:24s} lml {q['lml']:9.1f}  R^2 {q['r2']:6.3f}  rms z {q['rms_z']:.2f}  "
                f"95% {q['coverage95']:.2f}  restarts {q['restarts']}"
            )
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"folder": str(root), "workers": workers, "load_after": load, "waves": waves}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.emulators", description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a finished calibration's folder (gpsim calibrate --out)")
    ap.add_argument("--workers", type=int, default=1, help="processes fitting the emulators (default 1)")
    ap.add_argument("--out", type=Path, help="write the record as JSON here")
    args = ap.parse_args(argv)
    if not (args.folder / "calibration.json").is_file():
        print(f"{args.folder}: no calibration.json (not a finished calibration)", file=sys.stderr)
        return 2
    record = refit(args.folder, workers=args.workers)
    if args.out:
        args.out.write_text(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
