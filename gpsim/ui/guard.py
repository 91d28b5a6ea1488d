"""Limits the workshop server keeps, so one visitor cannot tie it up or read about the machine it runs on.

Solara keeps a tab's session (its *kernel*) after the connection drops, so a laptop whose lid was shut picks up
where it left off (``gpsim ui`` keeps it 15 minutes). Without limits anyone who can reach the port could open
connections that never show the page, or hundreds of tabs, and have each held for those 15 minutes. So:

* a connection that never showed the workshop page is let go a few seconds after it closes
  (:data:`ENV_ABANDONED_AFTER`, default :data:`ABANDONED_AFTER` seconds), not after the reconnect window;
* one computer (one client address) holds at most ``gpsim ui --max-tabs`` sessions (:data:`ENV_MAX_TABS`). A new
  tab beyond that first frees that computer's oldest disconnected session; if every one is still open, the new
  connection is refused;
* ``/resourcez`` (Solara's counts of connections, threads and, with ``?verbose``, the machine's CPU and memory)
  answers only to this machine; other visitors get "404 Not Found".

:func:`install` applies these to the Solara server the app runs in (the app module calls it once imported); it
does nothing outside a server, so notebooks and tests can import the app freely.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import sys
import threading

#: Environment variable: how long after it closes a connection that never showed the page is let go ('5s', '1m').
ENV_ABANDONED_AFTER = "GPSIM_UI_ABANDONED_AFTER"
#: Environment variable: sessions one computer (client address) may hold (``gpsim ui --max-tabs``).
ENV_MAX_TABS = "GPSIM_UI_MAX_TABS"
ABANDONED_AFTER = 5.0
MAX_TABS = 20
#: Solara's websocket route for a tab's kernel.
KERNEL_ROUTE = "/jupyter/api/kernels/{kernel_id}/{name}"

logger = logging.getLogger("gpsim.ui")


def install() -> None:
    """Apply the limits to the Solara server of this process (once; a no-op outside a Solara server)."""
    server = sys.modules.get("solara.server.starlette")
    if server is None or getattr(server, "_gpsim_guard", False):
        return
    from starlette.routing import Route, WebSocketRoute

    routes = server.app.router.routes
    for i, route in enumerate(routes):
        path = getattr(route, "path", None)
        if path == "/resourcez" and isinstance(route, Route):
            routes[i] = Route(path, endpoint=this_machine_only(route.endpoint))
        elif path == KERNEL_ROUTE and isinstance(route, WebSocketRoute):
            routes[i] = WebSocketRoute(path, endpoint=TabLimits().wrap(route.endpoint))
    server._gpsim_guard = True


def is_this_machine(host: str | None) -> bool:
    """Whether a client address is this machine's loopback (127.0.0.0/8, ::1, an IPv4-mapped 127.x)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def this_machine_only(endpoint):
    """Wrap an HTTP endpoint so that only a client on this machine reaches it; others get 404."""
    from starlette.responses import PlainTextResponse

    async def guarded(request):
        if not is_this_machine(request.client.host if request.client else None):
            return PlainTextResponse("Not Found", status_code=404)
        result = endpoint(request)
        return await result if hasattr(result, "__await__") else result

    return guarded


def _seconds(name: str, default: float) -> float:
    from solara.util import parse_timedelta  # '5', '5s', '1m' (gpsim ui checks the text at start)

    try:
        value = parse_timedelta(os.environ.get(name, str(default)))
    except ValueError:
        return default
    return value if 0 <= value < float("inf") else default


def _count(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value >= 1 else default


class TabLimits:
    """Which client address opened each kernel, the per-address cap, and letting go of never-shown kernels."""

    def __init__(self, max_tabs: int | None = None, abandoned_after: float | None = None):
        self.max_tabs = max_tabs if max_tabs is not None else _count(ENV_MAX_TABS, MAX_TABS)
        self.abandoned_after = (
            abandoned_after if abandoned_after is not None else _seconds(ENV_ABANDONED_AFTER, ABANDONED_AFTER)
        )
        self._owner: dict[str, str] = {}  # kernel id -> client address, in the order kernels were made
        self._connecting: dict[str, int] = {}  # kernel id -> connections being served (Solara makes the kernel)
        self._lock = threading.Lock()

    def wrap(self, endpoint):
        """The websocket endpoint with the limits applied around Solara's own."""

        async def limited(ws):
            kernel_id = ws.path_params.get("kernel_id", "")
            client = ws.client.host if ws.client else ""
            if not self.admit(kernel_id, client):
                logger.warning("refused a new session from %s: it already holds %d", client, self.max_tabs)
                await ws.close(code=1008, reason="too many open tabs from this computer")
                return
            try:
                await endpoint(ws)
            finally:
                with self._lock:
                    self._connecting[kernel_id] -= 1
                    if not self._connecting[kernel_id]:
                        del self._connecting[kernel_id]
                self.let_go_later(kernel_id)

        return limited

    def admit(self, kernel_id: str, client: str) -> bool:
        """Whether a connection may go on; a new kernel beyond the cap first frees an old disconnected one."""
        from solara.server import kernel_context

        contexts = kernel_context.contexts
        with self._lock:
            for k in [k for k in self._owner if k not in self._connecting and not _live(contexts.get(k))]:
                del self._owner[k]  # closed or closing (tab closed, culled, let go)
            if kernel_id in contexts or kernel_id in self._connecting:
                self._connecting[kernel_id] = self._connecting.get(kernel_id, 0) + 1
                return True  # a reconnect to a session that exists: never refused
            mine = [k for k, owner in self._owner.items() if owner == client]
            spare = [k for k in mine if _disconnected(contexts.get(k))]
            free = max(len(mine) - self.max_tabs + 1, 0)  # how many to free to make room
            if free > len(spare):
                return False
            for k in spare[:free]:  # oldest first
                del self._owner[k]
            self._owner[kernel_id] = client
            self._connecting[kernel_id] = 1
        loop = asyncio.get_running_loop()
        for k in spare[:free]:  # closing takes the kernel's lock: in the thread pool, not on the event loop
            loop.run_in_executor(None, _close, contexts.get(k))
        return True

    def let_go_later(self, kernel_id: str) -> None:
        """After a connection ends: free its kernel soon if it never showed the page and nothing reconnected."""
        loop = asyncio.get_running_loop()  # called on the server's event loop; the check runs in its thread pool
        loop.call_later(self.abandoned_after, loop.run_in_executor, None, self._let_go_if_abandoned, kernel_id)

    def _let_go_if_abandoned(self, kernel_id: str) -> None:
        from solara.server import kernel_context

        context = kernel_context.contexts.get(kernel_id)
        if context is None or _connected(context) or _shown(context):
            return
        _close(context)


def _connected(context) -> bool:
    from solara.server.kernel_context import PageStatus

    return context is not None and PageStatus.CONNECTED in list(context.page_status.values())


def _live(context) -> bool:
    """Whether a kernel exists and is not being closed."""
    return context is not None and not context.closed_event.is_set() and not getattr(context, "_teardown_done", False)


def _disconnected(context) -> bool:
    """Whether a kernel's pages have all gone (not one that is still making its first connection)."""
    from solara.server.kernel_context import PageStatus

    if context is None:
        return False
    status = list(context.page_status.values())
    return PageStatus.DISCONNECTED in status and PageStatus.CONNECTED not in status


def _shown(context) -> bool:
    """Whether the page ever ran in this kernel (Solara sets the container when it runs the app)."""
    return context.container is not None or context.app_object is not None


def _close(context) -> None:
    if context is None or context.closed_event.is_set():
        return
    try:
        context.close(reason="cull")
    except Exception:  # a close racing Solara's own (tab closed meanwhile) is no error of the visitor's
        logger.exception("could not free session %s", context.id)
