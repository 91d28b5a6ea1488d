"""``gpsim ui``: serve the workshop app (Solara) on this machine, with every browser asset served locally."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from gpsim import DEFAULT_SCENARIO
from gpsim.errors import ParameterError
from gpsim.ui.guard import ENV_MAX_TABS, MAX_TABS

UI_HELP = """Serve the workshop app: sliders, a map of the region and charts, one run per browser tab.
Open the address it prints. It binds 127.0.0.1 (this machine only) unless --host says otherwise, e.g.
--host 0.0.0.0 to let a room of laptops on the same network connect. Works with no internet connection."""


#: How long a session whose browser lost its connection is kept for it to come back to.
KEEP_DISCONNECTED = "15m"


def lan_address() -> str | None:
    """This machine's address on the local network (no packet is sent), or None."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # picks the outgoing interface; UDP connect sends nothing
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def register(subparsers) -> None:
    ui = subparsers.add_parser("ui", help="serve the workshop app in a browser", description=UI_HELP)
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    ui.add_argument("--region", help="starting area: synthetic, england, a named region or CCG codes")
    ui.add_argument("--scenario", default=DEFAULT_SCENARIO, help="starting preset (see 'gpsim scenarios')")
    ui.add_argument("--seed", type=int, default=0, help="starting random seed (default 0)")
    ui.add_argument(
        "--peer-graph",
        action="append",
        default=[],
        metavar="FILE",
        help="a GraphML relationship graph between practices (nodes are practice codes, e.g. patient sharing) that "
        "visitors may choose instead of each practice's nearest neighbours; repeat for several. The page offers "
        "only these files",
    )
    ui.add_argument(
        "--max-tabs",
        type=int,
        default=MAX_TABS,
        metavar="N",
        help=f"sessions one computer may hold at once (default {MAX_TABS}); a new tab beyond that frees that "
        "computer's oldest disconnected one",
    )
    ui.add_argument("--dev", action="store_true", help="development mode (auto-reload, error details in the page)")
    ui.set_defaults(func=cmd_ui)


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """Environment for the Solara server: our options, local assets, no telemetry."""
    from gpsim.ui.session import ENV_PEER_GRAPHS, ENV_REGION, ENV_SCENARIO, ENV_SEED  # pandas: only when serving

    env = dict(os.environ)
    env[ENV_SCENARIO] = args.scenario
    env[ENV_SEED] = str(args.seed)
    env[ENV_MAX_TABS] = str(args.max_tabs)
    env[ENV_PEER_GRAPHS] = "\n".join(dict.fromkeys(args.peer_graph))  # as given; the page offers only these
    if args.region:
        env[ENV_REGION] = args.region
    else:
        env.pop(ENV_REGION, None)
    env["SOLARA_ASSETS_PROXY"] = "true"  # the browser loads Solara's JavaScript from this server, not a CDN
    cdn = Path(sys.prefix) / "share" / "solara" / "cdn"
    if cdn.is_dir():
        env.setdefault("SOLARA_PROXY_CACHE_DIR", str(cdn))
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"
    # A closed tab frees its session at once; a tab that only lost its connection (wifi, a laptop lid) keeps its
    # run this long to reconnect to, instead of Solara's default 24 hours (memory would pile up over a workshop).
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", KEEP_DISCONNECTED)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def server_command(args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "solara", "run", "gpsim.ui.app", "--host", args.host, "--port", str(args.port)]
    cmd += ["--no-open"] + ([] if args.dev else ["--production"])
    return cmd


def check_options(args: argparse.Namespace) -> None:
    """Refuse unusable options before the server starts (a server whose every page fails helps nobody)."""
    from gpsim.params import Params, check_seed
    from gpsim.scenarios import scenario

    if not 0 < args.port < 65536:
        raise ParameterError(f"--port {args.port} is not a valid port (1-65535)")
    try:
        check_seed(args.seed)
    except ParameterError as err:
        raise ParameterError(f"--seed: {err}") from None
    if args.max_tabs < 1:
        raise ParameterError(f"--max-tabs {args.max_tabs}: must be a whole number of at least 1")
    check_durations()
    check_listen_address(args.host, args.port)
    p = scenario(args.scenario)  # unknown names raise a one-line error
    if args.region:
        Params.from_mapping({"region": args.region}, p)
        import gpsim

        gpsim.region_for(p.replace(region=args.region))  # unknown regions fail here, before serving
    for path in args.peer_graph:
        check_peer_graph(path)


def check_peer_graph(path: str) -> None:
    """Refuse a ``--peer-graph`` file the model could not read (every visitor choosing it would get an error)."""
    from gpsim.network import read_peer_graph

    if path == "nearest":
        raise ParameterError("--peer-graph nearest: each practice's nearest neighbours are offered anyway; give a file")
    if "\n" in path or not path.strip():
        raise ParameterError(f"--peer-graph {path!r}: not a file name")
    try:
        read_peer_graph(path)
    except ParameterError as err:
        reason = str(err).removeprefix(f"parameter 'peer_graph' = {path!r}: ")
        raise ParameterError(f"--peer-graph {path}: {reason}") from None


def check_durations() -> None:
    """Refuse a reconnect window or abandon delay in the environment the server could not use."""
    import math

    from solara.util import parse_timedelta

    from gpsim.ui.guard import ENV_ABANDONED_AFTER

    for name in ("SOLARA_KERNEL_CULL_TIMEOUT", ENV_ABANDONED_AFTER):
        text = os.environ.get(name)
        if text is None:
            continue
        try:
            seconds = parse_timedelta(text)
        except ValueError:
            seconds = math.nan
        if not 0 <= seconds < math.inf:
            raise ParameterError(f"{name}={text!r}: not a duration (seconds, or e.g. 30s, 15m, 2h)")


def check_listen_address(host: str, port: int) -> None:
    """Refuse a ``--host`` this machine cannot listen on, or a port another program already holds."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise ParameterError(f"--host {host}: not an address of this machine ({reason})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: a just-closed port is free
        try:
            s.bind(address)
        except OSError as err:
            raise ParameterError(f"--host {host} --port {port}: cannot listen there ({err.strerror or err})") from None


def cmd_ui(args: argparse.Namespace) -> int:
    try:
        import solara  # noqa: F401
    except ImportError:
        raise ParameterError(
            "the UI needs solara: pip install 'solara' 'solara-assets' 'ipyvue<2' 'ipyvuetify<2'"
        ) from None
    check_options(args)
    host = f"[{args.host}]" if ":" in args.host else args.host
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else host
    print(f"gpsim ui: serving on http://{shown}:{args.port}/ (listening on {args.host}; Ctrl+C to stop)", flush=True)
    if args.host in ("0.0.0.0", "::"):
        lan = lan_address()
        if lan:
            print(f"gpsim ui: other laptops on this network open http://{lan}:{args.port}/", flush=True)
    cmd = server_command(args)
    if shutil.which(cmd[0]) is None and not os.path.exists(cmd[0]):
        raise ParameterError(f"cannot find the Python interpreter {cmd[0]}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, server_environment(args))  # same PID: stopping gpsim ui stops the server
    return 0  # not reached
