"""Command-line face of the real data: ``gpsim regions`` and the ``--register PATH`` option of ``gpsim run``.

``--register PATH`` is folded into the region text as ``SELECTION@PATH`` (see :mod:`gpsim.data`), so the
model, its cache and saved results all see one parameter. Data-quality warnings are printed on stderr as
``gpsim: warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import textwrap
import warnings

from gpsim.errors import DataError

REGISTER_HELP = (
    "read practices from this register CSV (NHS Digital 'Patients Registered at a GP Practice', 2021 CCG_CODE "
    "or post-2022 SUB_ICB_LOCATION_CODE layout, optionally .gz) instead of the bundled January 2021 one; "
    "--region then chooses within it (default england)"
)


def register(subparsers) -> None:
    """Add ``regions`` and give ``run`` a ``--register`` option."""
    p = subparsers.add_parser(
        "regions",
        help="list the areas that can be chosen with --region (practices, population)",
        description="List the areas --region accepts: england, the named regions and (with --ccgs) every CCG "
        "code, with practice counts and registered population.",
    )
    p.add_argument("--ccgs", action="store_true", help="also list every CCG code with its practices and population")
    p.add_argument("--register", metavar="PATH", help="list the areas of this register file instead")
    p.set_defaults(func=cmd_regions)

    run = subparsers.choices.get("run")
    if run is not None:
        run.add_argument("--register", metavar="PATH", help=REGISTER_HELP)
        run.set_defaults(func=functools.partial(_run_with_register, run.get_default("func")))


def region_with_register(region: str | None, path: str) -> str:
    """The region text for ``--region REGION --register PATH``."""
    if region and "@" in region:
        raise DataError(f"--region {region!r} already names a register file; drop --register or the '@PATH'")
    if region and region.strip().lower() == "synthetic":
        raise DataError("--region synthetic does not read a register; drop --register or choose a real region")
    return f"{region or 'england'}@{path}"


@contextlib.contextmanager
def printed_warnings(quiet: bool = False):
    """Show :class:`~gpsim.data.DataWarning` as one ``gpsim: warning:`` line each on stderr."""
    from gpsim.data import DataWarning
    from gpsim.errors import one_line

    def show(message, category, filename, lineno, file=None, line=None):
        if quiet:
            return  # --quiet: nothing but errors
        if issubclass(category, DataWarning):
            print(f"gpsim: warning: {one_line(message)}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        previous = warnings.showwarning
        warnings.simplefilter("always", DataWarning)
        warnings.showwarning = show
        yield


def _run_with_register(original, args: argparse.Namespace) -> int:
    if getattr(args, "register", None):
        given = f"--region {args.region} " if args.region else ""
        args.region = region_with_register(args.region, args.register)
        args._region_flag = f"{given}--register {args.register}"  # how a conflict with --set region names it
    with printed_warnings(quiet=getattr(args, "quiet", False)):
        return original(args)


def cmd_regions(args: argparse.Namespace) -> int:
    from gpsim.data import region_listing

    with printed_warnings():
        listing = region_listing(args.register)
    print(f"Register: {listing['description']}, {listing['layout']} layout")
    print()
    print(f"{'region':30} {'CCGs':>5} {'practices':>9} {'population':>12}")
    for r in listing["regions"]:
        print(f"{r['name']:30} {r['ccgs']:>5} {r['practices']:>9,} {r['population']:>12,}")
        if r["kind"] == "named":
            print(textwrap.indent(textwrap.fill(r["description"], 88), "    "))
    print()
    print("Also: 'synthetic' (generated from the synthetic-region parameters); any CCG codes separated by commas")
    print("(e.g. --region 00L,00N; 'gpsim regions --ccgs' lists them); and REGION@PATH or --register PATH to read")
    print("your own register file.")
    if args.ccgs:
        print()
        print(f"{'CCG':6} {'practices':>9} {'population':>12}  main county")
        for r in listing["ccgs"]:
            print(f"{r['ccg']:6} {r['practices']:>9,} {r['population']:>12,}  {r['area']}")
    return 0
