"""``gpsim calibrate FILE``: history matching from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gpsim.errors import ExperimentError

HELP = """Calibrate a scenario against the targets in FILE (e.g. experiments/calibrate-england.toml) by history
matching: waves of runs, one Gaussian-process emulator per training target, settings more than 3 standard
deviations from a target ruled out. Writes targets.csv, posterior.parquet, waves/, report.html and calibrated.toml
into --out. A stopped calibration continues with --resume. See docs/CALIBRATION.md."""


def register(subparsers) -> None:
    p = subparsers.add_parser("calibrate", help="calibrate a scenario against observed targets", description=HELP)
    p.add_argument("file", metavar="FILE", help="targets file (TOML), e.g. experiments/calibrate-england.toml")
    p.add_argument("--out", metavar="DIR", help="calibration folder (default: calibration/NAME, or NAME-quick)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1, metavar="N", help="1 = serial (default); N > 1 = local Dask")
    where.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--quick", action="store_true", help="the file's [quick] settings: reduced region, one small wave")
    p.add_argument("--resume", action="store_true", help="continue the calibration in --out")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", help="show progress bars even when not on a terminal")
    bar.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from gpsim.calibrate.targets import load
    from gpsim.calibrate.waves import calibrate, summary_lines
    from gpsim.sweep.cli import _stop_on_sigterm
    from gpsim.sweep.engine import max_workers

    cal = load(args.file)
    if isinstance(args.workers, int) and not 1 <= args.workers <= max_workers():
        raise ExperimentError(f"--workers {args.workers}: must be between 1 and {max_workers()} on this machine")
    out = Path(args.out) if args.out else Path("calibration") / (cal.name + ("-quick" if args.quick else ""))
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ExperimentError("calibration needs scikit-learn: pip install 'gpsim[calibrate]'") from None
    _stop_on_sigterm()
    log = None if args.quiet else (lambda text: print(text, file=sys.stderr))
    result = calibrate(
        cal,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        quick=args.quick,
        resume=args.resume,
        show_bar=not args.quiet and (args.progress or sys.stderr.isatty()),
        log=log,
    )
    if not args.quiet:
        print("\n".join(summary_lines(result)))
        print(f"wrote {result.out}/: targets.csv, posterior.parquet, waves/, report.html, calibrated.toml")
    return 0


#: The files ``gpsim run --posterior --out`` writes; a folder holding only these (or nothing) may be written over.
ENSEMBLE_OUTPUTS = {"bands.parquet", "bands.csv", "draws.csv", "ensemble.json"}


def cmd_run_posterior(args: argparse.Namespace) -> int:
    """``gpsim run --posterior DIR [--samples K]``: an ensemble over a calibration's posterior."""
    import json

    from gpsim.calibrate.ensemble import read_posterior, run_ensemble
    from gpsim.cli import param_changes
    from gpsim.errors import GpsimError
    from gpsim.params import check_seed

    if not args.posterior:
        raise GpsimError("--samples needs --posterior DIR (the folder of a calibration)")
    samples = 20 if args.samples is None else args.samples
    if samples < 1:
        raise GpsimError(f"--samples {samples}: must be at least 1")
    check_seed(args.seed)
    read_posterior(args.posterior)  # a wrong folder is refused before anything else
    base = None
    if args.params:
        from gpsim import paramfile

        base = paramfile.load(args.params)
    elif args.scenario is not None:
        from gpsim.scenarios import scenario

        base = scenario(args.scenario)
    changes = param_changes(args)  # a parameter given twice with two values is refused
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and (not out.is_dir() or {p.name for p in out.iterdir()} - ENSEMBLE_OUTPUTS):
        raise GpsimError(f"--out {out}: already holds other files; choose another --out")
    bar = None
    if not args.quiet and (args.progress or sys.stderr.isatty()):
        from tqdm import tqdm

        bar = tqdm(total=samples, unit="draw", desc="gpsim ensemble", file=sys.stderr)
    try:
        ens = run_ensemble(
            args.posterior, samples, base, args.seed, progress=(lambda i, n: bar.update(1)) if bar else None, **changes
        )
    finally:
        if bar is not None:
            bar.close()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if args.format == "parquet":
            ens.bands.to_parquet(out / "bands.parquet", index=False)
            (out / "bands.csv").unlink(missing_ok=True)
        else:
            ens.bands.to_csv(out / "bands.csv", index=False)
            (out / "bands.parquet").unlink(missing_ok=True)
        ens.draws.to_csv(out / "draws.csv", index=False)
        finals = [m.final for m in ens.members]
        (out / "ensemble.json").write_text(
            json.dumps(
                {"posterior": str(args.posterior), "samples": samples, "seed": args.seed, "final": finals},
                indent=2,
                default=lambda v: v.item() if hasattr(v, "item") else str(v),
            )
            + "\n"
        )
    if not args.quiet:
        m = ens.members[0]
        print(
            f"gpsim: {samples} posterior draws of {args.posterior}; {m.region_name}, {m.params.n_months} months from "
            f"{m.params.start_year}-{m.params.start_month:02d}; median [90% band]"
        )
        print()
        print(ens.summary_table().T.to_string())
        if out is not None:
            print(f"\nwrote {out}/: bands.{args.format}, draws.csv, ensemble.json")
    return 0
