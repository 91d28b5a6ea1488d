"""The workshop server's limits (gpsim/ui/guard.py), tried as a hostile visitor would, without a browser.

Starts ``gpsim ui`` on a free loopback port with a short abandon delay and a small per-computer cap, then opens
raw websocket connections of the kind a script (not a browser) would open: they never show the page.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("solara")
websockets_client = pytest.importorskip("websockets.sync.client")

from conftest import free_port, start_ui, stop_ui  # noqa: E402

from gpsim.ui import guard  # noqa: E402

#: Short limits for the test; the server's own defaults are 5 s and 20 tabs (and a 15-minute reconnect window).
ABANDONED_AFTER = 2.0
MAX_TABS = 5
LOG = Path(__file__).resolve().parent.parent / "test-output" / "ui-server.log"


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = dict(os.environ, GPSIM_UI_ABANDONED_AFTER=f"{ABANDONED_AFTER}s")
    env.pop("SOLARA_KERNEL_CULL_TIMEOUT", None)  # the real 15-minute window: the limits must act without it
    proc = start_ui(port, LOG, env, ("--max-tabs", str(MAX_TABS)), ready="/readyz")
    yield f"127.0.0.1:{port}"
    stop_ui(proc)


def kernels(base: str, which: str = "total") -> int:
    """How many sessions (kernels) the server holds (``which``: or "has_connected"), from /resourcez."""
    with urllib.request.urlopen(f"http://{base}/resourcez", timeout=10) as r:
        return json.load(r)["kernels"][which]


def wait_kernels(base: str, want: int, timeout: float, which: str = "total") -> float:
    """Seconds until the server holds ``want`` sessions; fails after ``timeout``."""
    t0 = time.monotonic()
    while (held := kernels(base, which)) != want:
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"the server still holds {held} sessions after {timeout:.0f} s (expected {want})")
        time.sleep(0.2)
    return time.monotonic() - t0


def fake_tabs(base: str, n: int) -> tuple[list, int]:
    """Open ``n`` raw kernel websockets (new kernel ids, no page shown); return the open ones and the refusals."""
    opened, refused = [], 0
    for _ in range(n):
        url = f"ws://{base}/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()}"
        try:
            opened.append(websockets_client.connect(url, open_timeout=20).__enter__())
        except Exception as err:  # the refusal is the handshake's HTTP 403
            assert "403" in str(err), err
            refused += 1
    return opened, refused


def close_all(sockets: list) -> None:
    for ws in sockets:
        ws.close()


def test_fake_connections_are_capped_and_let_go_within_the_abandon_delay(server):
    assert wait_kernels(server, 0, 30) < 30
    opened, refused = fake_tabs(server, 51)
    try:
        assert (len(opened), refused) == (MAX_TABS, 51 - MAX_TABS)
        wait_kernels(server, MAX_TABS, 10)  # open connections are kept, however many more were tried
        time.sleep(0.5)
        assert kernels(server) == MAX_TABS
    finally:
        close_all(opened)
    took = wait_kernels(server, 0, ABANDONED_AFTER + 15)
    assert took < ABANDONED_AFTER + 15  # not the 15-minute reconnect window


def test_a_new_tab_beyond_the_cap_frees_the_oldest_disconnected_one(server):
    wait_kernels(server, 0, ABANDONED_AFTER + 15)
    first, _ = fake_tabs(server, MAX_TABS)
    wait_kernels(server, MAX_TABS, 10)  # the server has made each one's session (a connection is set up first)
    close_all(first)
    wait_kernels(server, 0, 10, "has_connected")  # the server saw them go; they are let go ABANDONED_AFTER later
    second, refused = fake_tabs(server, MAX_TABS)
    try:
        assert refused == 0
        wait_kernels(server, MAX_TABS, 10)  # the disconnected ones made room; the new ones all hold a session
    finally:
        close_all(second)
    wait_kernels(server, 0, ABANDONED_AFTER + 15)


def session_cookie(base: str) -> str:
    """The session cookie a browser gets with the page (a reconnect must carry it)."""
    with urllib.request.urlopen(f"http://{base}/", timeout=30) as r:
        cookies = [c.split(";")[0] for c in r.headers.get_all("Set-Cookie") or []]
    assert any(c.startswith("solara-session-id=") for c in cookies), cookies
    return "; ".join(cookies)


def show_page(base: str, kernel_id: str, page_id: str, cookie: str) -> None:
    """Do what a browser does: open the kernel's websocket and ask Solara to run the page; wait until it ran."""

    def message(kind: str, content: dict) -> str:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": kind, "session": page_id, "username": "", "version": "5.3"}
        return json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "content": content,
                "channel": "shell",
                "buffers": [],
            }
        )

    url = f"ws://{base}/jupyter/api/kernels/{kernel_id}/channels?session_id={page_id}"
    with websockets_client.connect(url, open_timeout=20, additional_headers={"Cookie": cookie}) as ws:
        comm = uuid.uuid4().hex
        ws.send(message("comm_open", {"comm_id": comm, "target_name": "solara.control", "data": {}}))
        run = {"method": "run", "args": {"path": "", "appName": "__default__"}}
        ws.send(message("comm_msg", {"comm_id": comm, "data": run}))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            reply = ws.recv(timeout=120)
            if isinstance(reply, str) and '"method": "finished"' in reply.replace('":"', '": "'):
                return
        pytest.fail("Solara did not run the page within 120 s")


def test_a_tab_that_showed_the_page_keeps_its_session_to_reconnect_to(server):
    wait_kernels(server, 0, ABANDONED_AFTER + 15)
    kernel_id, page_id, cookie = str(uuid.uuid4()), str(uuid.uuid4()), session_cookie(server)
    show_page(server, kernel_id, page_id, cookie)  # then the connection drops (a laptop lid shut)
    wait_kernels(server, 0, 10, "has_connected")
    time.sleep(ABANDONED_AFTER + 2)
    assert kernels(server) == 1  # kept for the reconnect window (15 minutes), unlike a never-shown connection
    url = f"ws://{server}/jupyter/api/kernels/{kernel_id}/channels?session_id={page_id}"
    with websockets_client.connect(url, open_timeout=20, additional_headers={"Cookie": cookie}):
        wait_kernels(server, 1, 10, "has_connected")  # the same session, reconnected
        assert kernels(server) == 1


def test_resourcez_answers_this_machine(server):
    with urllib.request.urlopen(f"http://{server}/resourcez?verbose", timeout=10) as r:
        assert "kernels" in json.load(r)


def test_resourcez_is_not_found_for_other_computers():
    import asyncio

    from starlette.requests import Request
    from starlette.responses import JSONResponse

    def figures(request):
        return JSONResponse({"cpu": {"percent": 12.5}})

    def get(host: str):
        scope = {"type": "http", "method": "GET", "path": "/resourcez", "query_string": b"verbose", "headers": []}
        return asyncio.run(guard.this_machine_only(figures)(Request({**scope, "client": (host, 50000)})))

    remote = get("192.168.1.23")
    assert remote.status_code == 404 and b"cpu" not in remote.body
    local = get("127.0.0.1")
    assert local.status_code == 200 and json.loads(local.body)["cpu"]["percent"] == 12.5


@pytest.mark.parametrize(
    "host, local",
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.7", False),
        ("::ffff:10.0.0.7", False),
        ("192.168.1.23", False),
        ("testclient", False),
        ("", False),
        (None, False),
    ],
)
def test_this_machine_means_loopback_only(host, local):
    assert guard.is_this_machine(host) is local


def test_install_is_a_no_op_outside_a_server():
    if "solara.server.starlette" in sys.modules:
        pytest.skip("a Solara server module is loaded in this test process")
    guard.install()
    assert "solara.server.starlette" not in sys.modules
