"""``gpsim sweep run | status | analyze | export``: batch experiments from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gpsim.errors import ExperimentError

SWEEP_HELP = """Run an experiment file (experiments/*.toml): many runs over a design of parameter values, each
replicated with its own seed, stored as Parquet in a folder you can resume, analyse and export. See docs/SWEEPS.md."""


def register(subparsers) -> None:
    sweep = subparsers.add_parser(
        "sweep", help="run, inspect, analyse and export batch experiments", description=SWEEP_HELP
    )
    sub = sweep.add_subparsers(dest="sweep_command", metavar="SUBCOMMAND", parser_class=type(sweep))

    run = sub.add_parser(
        "run",
        help="run an experiment file",
        description="Run every run of an experiment file (or, with --resume, every run not yet stored).",
    )
    run.add_argument("file", metavar="FILE", help="experiment file (TOML), e.g. experiments/numbers-game.toml")
    run.add_argument("--out", metavar="DIR", help="sweep folder (default: sweeps/NAME)")
    add_many_runs_options(run)
    run.add_argument("--resume", action="store_true", help="continue the sweep in --out: run only missing runs")
    run.add_argument("--retry-failed", action="store_true", help="with --resume, also rerun runs that failed")
    run.add_argument("--batch", type=int, default=50, metavar="N", help="runs per stored part file (default 50)")
    run.add_argument("--dry-run", action="store_true", help="check the file and print the plan, run nothing")
    run.set_defaults(func=cmd_run)

    st = sub.add_parser("status", help="how far a sweep has got", description="Show a sweep folder's progress.")
    st.add_argument("dir", metavar="DIR")
    st.set_defaults(func=cmd_status)

    an = sub.add_parser(
        "analyze",
        aliases=["analyse"],
        help="sensitivity indices, survival of organisations, tables, plots and report.html",
        description="Analyse a sweep: Sobol or Morris indices (SALib) on replicate means for sobol/morris "
        "designs, tables of every output by point, plots, Kaplan-Meier survival of organisations (from founding "
        "and from the end of one-off money) with a Cox model of the varied parameters (lifelines), and one "
        "self-contained report.html.",
    )
    an.add_argument("dir", metavar="DIR")
    an.add_argument("--resamples", type=int, default=200, help="bootstrap resamples for confidence intervals")
    an.add_argument(
        "--by",
        metavar="PARAM",
        help="split survival curves and time series by this varied parameter only (default: by point when there "
        "are at most 6, and by each varied parameter with at most 6 values)",
    )
    an.set_defaults(func=cmd_analyze)

    ex = sub.add_parser("export", help="write the sweep's tables as CSV", description="Export a sweep's tables.")
    ex.add_argument("dir", metavar="DIR")
    ex.add_argument("--csv", action="store_true", required=True, help="write CSV files (the only format for now)")
    ex.add_argument("--to", metavar="DIR", help="where to write (default: DIR/export)")
    ex.add_argument("--force", action="store_true", help="replace CSV files of an earlier export in --to")
    ex.set_defaults(func=cmd_export)

    sweep.set_defaults(func=lambda args: _usage(sweep))


def add_many_runs_options(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` or ``--scheduler ADDRESS``, and ``--progress`` or ``--quiet``: for commands of many runs."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=1, metavar="N", help="1 = serial (default); N > 1 = local Dask cluster"
    )
    where.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask cluster, e.g. tcp://host:8786")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", help="show progress bars even when not on a terminal")
    bar.add_argument("--quiet", action="store_true", help="print nothing but errors")


def check_many_runs_options(args: argparse.Namespace, what: str) -> bool:
    """Check ``--out``, ``--workers`` and ``--scheduler`` before anything is read or made; return show_bar.

    ``what`` names the folder in the message for ``--out ''`` (e.g. "the sweep folder (default: sweeps/NAME)").
    """
    from gpsim.sweep.engine import check_scheduler_address, check_workers

    if args.out is not None and not args.out.strip():
        raise ExperimentError(f"--out '': an empty path; name {what}")
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)  # before reading anything: a typo costs nothing
    else:
        check_workers(args.workers)
    return not args.quiet and (args.progress or sys.stderr.isatty())


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    from gpsim.data.cli import printed_warnings

    with printed_warnings(quiet=args.quiet):  # data notes as one 'gpsim: warning:' line each; none with --quiet
        return _cmd_run(args)


def _cmd_run(args: argparse.Namespace) -> int:
    from gpsim.sweep.engine import run_sweep
    from gpsim.sweep.spec import load

    show_bar = check_many_runs_options(args, "the sweep folder (default: sweeps/NAME)")
    exp = load(args.file)
    out = Path(args.out) if args.out is not None else Path("sweeps") / exp.name
    if args.batch < 1:
        raise ExperimentError(f"--batch {args.batch}: must be at least 1")
    if args.retry_failed and not args.resume:
        raise ExperimentError("--retry-failed needs --resume")
    if not args.quiet:
        print(exp.summary(), file=sys.stderr)
    if args.dry_run:
        print(f"would write {out}/ (experiment hash {exp.hash[:12]})")
        return 0
    _stop_on_sigterm()
    outcome = run_sweep(
        exp,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        retry_failed=args.retry_failed,
        show_bar=show_bar,
        batch=args.batch,
    )
    if not args.quiet:
        print(
            f"{outcome.out}: {outcome.ran} runs in {outcome.seconds:.1f} s ({outcome.skipped} already stored); "
            f"{outcome.done - outcome.failed}/{outcome.total} ok, {outcome.failed} failed"
        )
        if outcome.failed:
            print(f"failed runs keep their traceback: gpsim sweep status {outcome.out}")
    return 0


def _stop_on_sigterm() -> None:
    from gpsim.cli import stop_on_sigterm

    stop_on_sigterm()


def cmd_status(args: argparse.Namespace) -> int:
    from gpsim.sweep.store import SweepStore

    store = SweepStore(args.dir)
    m = store.read_manifest()
    runs = store.runs()
    ok, failed = store.stored_keys()
    total = m.get("n_runs", 0)
    e = m.get("experiment", {})
    print(f"{store.root}: {e.get('name')} ({e.get('design', {}).get('kind')} design, hash {m['experiment_hash'][:12]})")
    if e.get("question"):
        print(f"  question: {e['question']}")
    print(f"  runs: {total} planned, {len(ok)} ok, {len(failed)} failed, {total - len(ok) - len(failed)} missing")
    for s in m.get("sessions", []):
        git = s.get("git", {})
        dirty = " (dirty)" if git.get("dirty") else ""
        print(
            f"  session {s.get('started')} -> {s.get('ended') or 'interrupted'}: {s.get('engine')}, "
            f"ran {s.get('ran', '?')} of {s.get('to_run')}; commit {str(git.get('commit'))[:10]}{dirty}"
        )
    if not runs.empty and len(ok):
        w = runs.loc[runs["status"] == "ok", "wall_seconds"]
        print(f"  wall time per run: median {w.median():.2f} s, max {w.max():.2f} s")
    if failed:
        bad = runs[runs["run_key"].isin(failed)].head(3)
        for _, r in bad.iterrows():
            first = str(r["error"]).splitlines()[0] if r["error"] else ""
            print(f"  failed {r['run_key']}: {first}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from gpsim.sweep.analyze import analyze

    report = analyze(args.dir, resamples=args.resamples, by=args.by)
    print(f"wrote {report.parent}/analysis/ (tables and plots) and {report}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gpsim.sweep.analyze import export_csv

    written = export_csv(args.dir, args.to, force=args.force)
    for p in written:
        print(p)
    return 0
