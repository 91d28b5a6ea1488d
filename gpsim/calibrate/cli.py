"""``gpsim calibrate FILE``: history matching from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gpsim.errors import ExperimentError
from gpsim.sweep.cli import add_many_runs_options, check_many_runs_options

HELP = """Calibrate a scenario against the targets in FILE (e.g. experiments/calibrate-england.toml) by history
matching: waves of runs, one Gaussian-process emulator per training target, settings more than 3 standard
deviations from a target ruled out. Writes targets.csv, posterior.parquet, waves/, report.html and calibrated.toml
into --out. A stopped calibration continues with --resume. See docs/CALIBRATION.md."""


def register(subparsers) -> None:
    p = subparsers.add_parser("calibrate", help="calibrate a scenario against observed targets", description=HELP)
    p.add_argument("file", metavar="FILE", help="targets file (TOML), e.g. experiments/calibrate-england.toml")
    p.add_argument("--out", metavar="DIR", help="calibration folder (default: calibration/NAME, or NAME-quick)")
    add_many_runs_options(p)
    p.add_argument("--quick", action="store_true", help="the file's [quick] settings: reduced region, one small wave")
    p.add_argument("--resume", action="store_true", help="continue the calibration in --out")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from gpsim.calibrate.targets import load
    from gpsim.calibrate.waves import calibrate, summary_lines
    from gpsim.sweep.cli import _stop_on_sigterm

    show_bar = check_many_runs_options(args, "the calibration folder (default: calibration/NAME)")
    cal = load(args.file)
    default = Path("calibration") / (cal.name + ("-quick" if args.quick else ""))
    out = Path(args.out) if args.out is not None else default
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
        show_bar=show_bar,
        log=log,
    )
    if not args.quiet:
        print("\n".join(summary_lines(result)))
        print(f"wrote {result.out}/: targets.csv, posterior.parquet, waves/, report.html, calibrated.toml")
    return 0


#: The files ``gpsim run --posterior --out`` writes; a folder holding only these (or nothing) may be replaced.
ENSEMBLE_OUTPUTS = frozenset({"bands.parquet", "bands.csv", "draws.csv", "ensemble.json"})


def cmd_run_posterior(args: argparse.Namespace) -> int:
    """``gpsim run --posterior DIR [--samples K]``: an ensemble over a calibration's posterior.

    Like ``gpsim run``: everything is checked before the first draw runs, and ``--out`` is written whole beside
    itself and swapped in (an earlier ensemble there is replaced; a folder of anything else is refused).
    """
    import json

    from gpsim import __version__
    from gpsim.calibrate.ensemble import read_posterior, run_ensemble
    from gpsim.cli import base_params_from_args, param_changes, stop_on_sigterm
    from gpsim.errors import GpsimError
    from gpsim.params import check_seed
    from gpsim.results import OutputFolder, _missing_as_null, check_run_folder, write_folder_atomically

    if args.posterior is None:
        raise GpsimError("--samples needs --posterior DIR (the folder of a calibration)")
    if not args.posterior.strip():
        raise GpsimError("--posterior '': an empty path; name the folder of a calibration (gpsim calibrate --out)")
    samples = 20 if args.samples is None else args.samples
    if samples < 1:
        raise GpsimError(f"--samples {samples}: must be at least 1")
    check_seed(args.seed)
    read_posterior(args.posterior)  # a wrong folder is refused before anything else
    # None: the calibration's own scenario; --scenario and a --params file naming another are refused
    base = base_params_from_args(args) if args.params or args.scenario is not None else None
    changes = param_changes(args)  # a parameter given twice with two values is refused
    kind = OutputFolder(ENSEMBLE_OUTPUTS, "ensemble.json", "a gpsim ensemble")
    if args.out is not None:  # '' too: an empty path is refused, not ignored
        check_run_folder(args.out, kind)
    stop_on_sigterm()  # a SIGTERM stops like Ctrl-C: nothing is left half-written
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
    if args.out is not None:

        def write(tmp: Path) -> None:
            if args.format == "parquet":
                ens.bands.to_parquet(tmp / "bands.parquet", index=False)
            else:
                ens.bands.to_csv(tmp / "bands.csv", index=False)
            ens.draws.to_csv(tmp / "draws.csv", index=False)
            record = {
                "gpsim_version": __version__,
                "posterior": str(args.posterior),
                "samples": samples,
                "seed": args.seed,
                "final": [m.final for m in ens.members],
            }
            text = json.dumps(
                _missing_as_null(record),
                indent=2,
                allow_nan=False,
                default=lambda v: v.item() if hasattr(v, "item") else str(v),
            )
            (tmp / "ensemble.json").write_text(text + "\n")

        write_folder_atomically(Path(args.out), write, kind)
    if not args.quiet:
        m = ens.members[0]
        print(
            f"gpsim: {samples} posterior draws of {args.posterior}; {m.region_name}, {m.params.n_months} months from "
            f"{m.params.start_year}-{m.params.start_month:02d}; median [90% band]"
        )
        print()
        print(ens.summary_table().T.to_string())
        if args.out is not None:
            print(f"\nwrote {args.out}/: bands.{args.format}, draws.csv, ensemble.json")
    return 0
