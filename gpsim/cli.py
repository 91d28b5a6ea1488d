"""The command line: ``gpsim run | scenarios | params`` plus the commands other faces register.

Every command has ``--help``. Bad input prints one line on stderr and exits with code 2, with no traceback
and nothing half-written. Other faces (regions, ui, sweep, validate, bench) add their sub-commands through
:data:`PLUGINS`: each module there exposes ``register(subparsers)`` and sets ``func`` on its parsers.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import sys
import textwrap
from collections.abc import Sequence

from gpsim.errors import GpsimError, ParameterError, one_line, shown

#: Modules that add sub-commands; a module that cannot be imported (an optional extra not installed) is skipped.
PLUGINS = ("gpsim.data.cli", "gpsim.ui.cli", "gpsim.sweep.cli", "gpsim.calibrate.cli", "gpsim.validate", "gpsim.bench")
#: The commands defined in this module: a command line naming one loads only :data:`CORE_PLUGINS`.
CORE_COMMANDS = ("run", "scenarios", "params")
#: The plugins that add options to :data:`CORE_COMMANDS` (``gpsim run --register``).
CORE_PLUGINS = ("gpsim.data.cli",)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse's own behaviour, without the usage block)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or, for ``command`` in :data:`CORE_COMMANDS`, of what that one needs (the
    other plugins' imports cost ``gpsim run`` a twentieth of a second)."""
    parser = _Parser(
        prog="gpsim",
        description="Simulate English GP practices joining at-scale organisations, month by month: how many "
        "relationships a hospital must keep with general practice, and how much sustainability emerges.",
        epilog="Run 'gpsim COMMAND --help' for a command's options.",
    )
    from gpsim import __version__

    parser.add_argument("--version", action="version", version=f"gpsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run one simulation and print its summary", description=RUN_HELP)
    add_param_arguments(run)
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same results")
    run.add_argument(
        "--out", metavar="DIR", help="write steps, orgs, closures, org_money, final.json and summary.png here"
    )
    run.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="table format for --out")
    run.add_argument("--progress", action="store_true", help="show a progress bar (default: only on a terminal)")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.add_argument("--posterior", metavar="DIR", help="run draws from a calibration (gpsim calibrate --out DIR)")
    run.add_argument("--samples", type=int, metavar="K", help="with --posterior: how many draws (default 20)")
    run.set_defaults(func=cmd_run)

    sc = sub.add_parser("scenarios", help="list the named scenarios", description="List the named scenarios.")
    sc.set_defaults(func=cmd_scenarios)

    pa = sub.add_parser(
        "params",
        help="list every parameter (default, unit, range, meaning, source)",
        description="List every parameter with its default, unit, allowed range, meaning and source.",
    )
    pa.add_argument("--markdown", action="store_true", help="print the Markdown reference (docs/PARAMETERS.md)")
    pa.add_argument("--scenario", help="show this scenario's values instead of the defaults")
    pa.set_defaults(func=cmd_params)

    for name in CORE_PLUGINS if command in CORE_COMMANDS else PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            if err.name is not None and (err.name == name or name.startswith(err.name + ".")):
                continue  # that face is not part of this installation
            raise
        module.register(sub)
    return parser


RUN_HELP = """Run one simulation. Start from a scenario (default: baseline), change any parameter with
--set name=value (see 'gpsim params'), and print the key figures at years 0, 2, 5 and the end."""


def add_param_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario / --set / --years / --region options shared by commands that build parameters."""
    from gpsim import DEFAULT_SCENARIO

    parser.add_argument(
        "--scenario",
        default=None,  # None: DEFAULT_SCENARIO, unless a --params file names one (then giving both is checked)
        help=f"named scenario to start from (default {DEFAULT_SCENARIO}; see 'gpsim scenarios')",
    )
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter (repeatable), e.g. --set pump_priming_per_patient=8",
    )
    parser.add_argument("--years", type=float, help="length of the run in years (same as --set years=N)")
    parser.add_argument("--region", help="area: synthetic, england, a named region or CCG codes (e.g. 00L,00N)")
    parser.add_argument("--params", metavar="FILE", help="parameter file (TOML), e.g. a calibration's calibrated.toml")


def param_changes(args: argparse.Namespace) -> dict:
    """The parameter changes of --set, --years and --region; a parameter given twice with two values is refused."""
    from gpsim.params import parse_assignment

    changes: dict = {}
    for text in args.sets:
        name, value = parse_assignment(text)
        if name in changes and changes[name] != value:
            raise ParameterError(f"--set {name}={shown(changes[name])} and --set {text}: two values for {name}")
        changes[name] = value
    flags = {"years": args.years, "region": getattr(args, "region", None) or None}
    for name, value in flags.items():
        if value is None:
            continue
        if name in changes and changes[name] != value:
            flag = getattr(args, "_region_flag", None) if name == "region" else None
            raise ParameterError(
                f"--set {name}={shown(changes[name])} and {flag or f'--{name} {value}'} disagree; give {name} once"
            )
        changes[name] = value
    return changes


def params_from_args(args: argparse.Namespace):
    """Build validated Params from --scenario, --params, --set, --years and --region."""
    p = base_params_from_args(args)
    changes = param_changes(args)
    return p.replace(**changes) if changes else p


def base_params_from_args(args: argparse.Namespace):
    """The Params of --scenario and --params (the file's values on top); giving two scenarios is refused."""
    from gpsim import DEFAULT_SCENARIO
    from gpsim.scenarios import scenario

    p = scenario(args.scenario or DEFAULT_SCENARIO)
    if getattr(args, "params", None):
        from gpsim import paramfile

        named = paramfile.scenario_of(args.params)
        if named is not None and args.scenario is not None and named != args.scenario:
            raise ParameterError(
                f"--scenario {args.scenario} and --params {args.params} (scenario = {shown(named)}) disagree; "
                "give the scenario once"
            )
        p = paramfile.load(args.params, base=p)  # the file's scenario, if it names one, is the one used
    return p


def cmd_run(args: argparse.Namespace) -> int:
    if args.posterior is not None or args.samples is not None:  # '' too: refused, not a plain run
        from gpsim.calibrate.cli import cmd_run_posterior

        return cmd_run_posterior(args)
    ends_process = getattr(args, "ends_process", False)
    if ends_process:
        # the imports and the model make objects that stay alive until the process ends, not garbage: collect
        # none until the run has ended (a tenth of a second of imports; the run pauses collection anyway)
        gc.disable()
    import gpsim
    from gpsim.params import check_seed

    params = params_from_args(args)
    check_seed(args.seed)
    drawing = None
    if args.out is not None and args.out.strip():
        from gpsim.plots import SummaryProcess

        # summary.png is drawn in a second process: it imports matplotlib while this one imports Mesa and
        # pandas and runs the model. Started before those imports, the copy of this process is small: fewer
        # of the memory pages this process then writes to are shared with it and have to be copied first
        drawing = SummaryProcess.start()
    with drawing or contextlib.nullcontext():  # leaving the block, however, ends that process
        from gpsim.results import Results, check_run_folder

        if args.out is not None:  # '' too: an empty path is refused, not ignored
            check_run_folder(args.out)
        if ends_process:  # the quick import leaves lazy modules behind: not in a process that carries on
            import_model()
        else:
            import gpsim.model  # noqa: F401
        region = gpsim.region_for(params)  # data errors surface here, before anything runs
        stop_on_sigterm()  # a SIGTERM stops like Ctrl-C: nothing is left half-written
        show_bar = not args.quiet and (args.progress or sys.stderr.isatty())
        bar = None
        if show_bar:
            from tqdm import tqdm

            bar = tqdm(total=params.n_months, unit="month", desc="gpsim run", file=sys.stderr)
        try:
            results: Results = gpsim.run(
                params, seed=args.seed, region=region, progress=(lambda m, n: bar.update(1)) if bar else None
            )
        finally:
            if bar is not None:
                bar.close()
        if ends_process:
            # what the run made stays alive until the process ends: spare the garbage collector walking it
            # again while the tables are written and once more at exit (a quarter of a second for England)
            gc.freeze()
            gc.enable()
        if args.out is not None:  # written beside --out, then swapped in whole
            results.save(args.out, fmt=args.format, plot=True, drawing=drawing)
    if not args.quiet:
        print(results.format_summary())
        if args.out:
            print(
                f"\nwrote {args.out}/: steps.{args.format}, orgs.{args.format}, closures.{args.format}, "
                f"org_money.{args.format}, final.json, summary.png"
            )
    return 0


def import_model() -> None:
    """Import the model, and with it Mesa, pandas, SciPy and networkx, about a tenth of a second faster.

    Two things those imports do cost a command-line run without being of any use to it:

    * Mesa names its model module's logger after the module that creates it by asking :func:`inspect.stack`
      for the whole call stack, with a line of source code for every frame: some 30 frames deep during the
      import, most of them in the import system, each making :mod:`inspect` search every loaded module for
      the frame's file. For the import, :func:`inspect.stack` and :func:`inspect.getmodule` answer from the
      frames themselves (file name, line, function, module by name; no source lines, as
      ``inspect.stack(context=0)`` gives), which is all such callers use.
    * SciPy's array-API layer copies every public attribute of numpy, which imports numpy's test tools and
      Fortran wrapper generator (:data:`LAZY_MODULES`). They are made lazy modules first (the standard
      library's :class:`importlib.util.LazyLoader`): loaded, as before, the first time anything uses them.

    Neither is done with another thread running. ``gpsim run`` does this only as the process's own command
    line: a lazy module stays lazy until first used, and on a Python without the fix for CPython issue 114763
    (3.12.1 has none) threads using one for the first time at once can find it empty, so a process that
    carries on after ``main([...])`` imports the model the usual way.
    """
    import inspect
    import threading

    if "gpsim.model" in sys.modules or threading.active_count() > 1:
        import gpsim.model  # noqa: F401

        return
    stack, getmodule = inspect.stack, inspect.getmodule

    def quick_stack(context: int = 1) -> list[inspect.FrameInfo]:
        frames, frame = [], sys._getframe(1)
        while frame is not None:
            frames.append(
                inspect.FrameInfo(frame, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name, None, None)
            )
            frame = frame.f_back
        return frames

    def quick_getmodule(obj, _filename=None):
        if inspect.isframe(obj):
            module = sys.modules.get(obj.f_globals.get("__name__"))
            if module is not None and getattr(module, "__dict__", None) is obj.f_globals:
                return module
        return getmodule(obj, _filename)

    if "scipy" not in sys.modules:
        lazy_modules(LAZY_MODULES)
    inspect.stack, inspect.getmodule = quick_stack, quick_getmodule
    try:
        import gpsim.model  # noqa: F401
    finally:
        inspect.stack, inspect.getmodule = stack, getmodule


#: Modules :func:`import_model` makes lazy: what importing SciPy loads and a run never uses.
LAZY_MODULES = ("numpy.testing", "numpy.f2py")


def lazy_modules(names: Sequence[str]) -> None:
    """Make each of ``names`` (submodules, not yet imported) a lazy module, loaded when first used; a name
    that cannot be found, or whose loader cannot load lazily, is left to be imported as usual."""
    import importlib.util

    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = sys.modules.get(parent_name)
        if name in sys.modules or parent is None or child in vars(parent):
            continue
        try:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
                continue
            spec.loader = importlib.util.LazyLoader(spec.loader)
            module = importlib.util.module_from_spec(spec)
        except (ImportError, ValueError, TypeError):
            continue
        sys.modules[name] = module
        spec.loader.exec_module(module)  # only records what to do on first use
        setattr(parent, child, module)  # as an import would: the package's attribute is the module


def stop_on_sigterm() -> None:
    """A batch system's SIGTERM (time limit, scancel, kill) stops like Ctrl-C, so clean-up code runs."""
    import contextlib
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (called from a UI): leave signals alone
        signal.signal(signal.SIGTERM, stop)


def cmd_scenarios(args: argparse.Namespace) -> int:
    from gpsim.scenarios import SCENARIOS

    for s in SCENARIOS.values():
        print(s.name)
        print(textwrap.indent(textwrap.fill(s.description, 96), "    "))
        if s.overrides:
            print("    sets: " + ", ".join(f"{k}={v}" for k, v in s.overrides.items()))
        print()
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from gpsim.params import GROUPS, SPECS, markdown_table
    from gpsim.scenarios import scenario

    if args.markdown:
        print(markdown_table())
        return 0
    values = scenario(args.scenario).to_dict() if args.scenario else {s.name: s.default for s in SPECS}
    for group in GROUPS:
        print(f"{group}")
        for s in SPECS:
            if s.group != group:
                continue
            print(f"  {s.name} = {values[s.name]}  [{s.unit or '-'}; {s.range_text}]")
            print(textwrap.indent(textwrap.fill(s.meaning, 92), "      "))
            print(f"      source: {s.source}")
        print()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: this process's own, which then ends with the command)."""
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    args.ends_process = argv is None  # the process's own command line: the process ends with the command
    code = _command(args)
    if args.ends_process and args.command in QUICK_EXIT_COMMANDS:
        end_process(code)
    return code


def _command(args: argparse.Namespace) -> int:
    """Run the parsed command: its exit code, with bad input and refusals from the system as one line."""
    try:
        return int(args.func(args) or 0)
    except GpsimError as err:
        print(f"gpsim: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gpsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:  # the machine said no (disk full, a file vanished, a read-only folder): one line
        where = f"{err.filename}: " if err.filename else ""
        print(f"gpsim: error: {one_line(where + (err.strerror or str(err)))}", file=sys.stderr)
        return EXIT_USAGE


#: Commands whose process, once the command has finished, ends without the interpreter's clean-up of every
#: object it made (:func:`end_process`).
QUICK_EXIT_COMMANDS = frozenset({"run"})


def end_process(code: int) -> None:
    """End this process with exit code ``code`` now, skipping the interpreter's teardown.

    A finished ``gpsim run`` holds the whole model (an England run: hundreds of thousands of objects); the
    interpreter would free every one of them, module by module, before exiting: a twentieth of a second of
    nothing. Everything a user sees is done first: the exit functions registered with :mod:`atexit` run, and
    standard output and error are flushed (the output folder's files were closed and flushed to disk before
    it was swapped in). With another thread still running, a profiler, tracer, debugger or coverage tool
    watching (``python -m cProfile -o FILE``: it writes its report after ``main()`` returns), or an output
    stream that cannot be flushed (a closed pipe), this returns and the process ends the usual way.
    """
    import atexit
    import os
    import threading

    if threading.active_count() > 1:  # the interpreter joins threads at exit: leave it to do so
        return
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)  # CPython's; without it, the usual exit
    if _watched() or run_exit_functions is None:
        return
    try:
        _flush_output()
    except (OSError, ValueError):  # a closed pipe or stream: the usual exit reports it as it always has
        return
    run_exit_functions()  # what libraries asked to run at exit (multiprocessing, logging, coverage...)
    with contextlib.suppress(OSError, ValueError):
        _flush_output()  # anything those printed
    os._exit(code)


def _watched() -> bool:
    """Whether a profiler, tracer, debugger or coverage tool is watching this process (they report at exit)."""
    tools = any(sys.monitoring.get_tool(tool) is not None for tool in range(6))  # sys.monitoring's six tool ids
    return tools or sys.getprofile() is not None or sys.gettrace() is not None


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()


if __name__ == "__main__":
    sys.exit(main())
