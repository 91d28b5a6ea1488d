"""The workshop UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Starts ``gpsim ui`` on a free loopback port, blocks every request that does not go to 127.0.0.1 (and fails on
any), then clicks through what a workshop does. Screenshots go to test-output/ui/. Without /usr/bin/chromium
these tests skip, unless GPSIM_REQUIRE_BROWSER=1 (then they fail).
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
OUT = Path(__file__).resolve().parent.parent / "test-output" / "ui"
GROUP_NAMES = ("Region & time", "Practices & workload", "Trust", "Money", "Leadership", "Commissioners & hospitals")
STEP_COLUMNS = {"step", "date", "share_practices_in_org", "relationships_per_hospital_mean", "n_orgs"}


def _need_browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("GPSIM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and GPSIM_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        if os.environ.get("GPSIM_REQUIRE_BROWSER") == "1":
            raise
        pytest.skip("playwright is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    _need_browser()
    port = _free_port()
    log = OUT / "server.log"
    OUT.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gpsim.cli", "ui", "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            pytest.fail(f"gpsim ui exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("gpsim ui did not answer within 90 s")
        time.sleep(0.3)
    assert "serving on http://127.0.0.1:" in log.read_text()
    yield proc, url
    os.kill(proc.pid, signal.SIGTERM)  # stop the server by its PID
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    assert proc.poll() is not None


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class Tab:
    """One browser context + page with the network guard and error collection."""

    def __init__(self, browser, url: str, width: int = 1440, height: int = 1000) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.page.goto(url)
        self.page.wait_for_selector(".gpsim-step", timeout=60_000)
        self.page.wait_for_selector(".gpsim-map-wrap canvas", timeout=30_000)

    def _route(self, route) -> None:
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def month(self) -> int:
        return int(self.page.locator(".gpsim-month").inner_text())

    def wait_month(self, m: int, timeout: float = 30_000) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator(".gpsim-month")).to_have_text(str(m), timeout=timeout)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            before = self.month()
            self.page.click(".gpsim-step")
            self.wait_month(before + 1)

    def open_group(self, name: str) -> None:
        header = self.page.locator(".gpsim-group-header", has_text=name)
        if header.get_attribute("aria-expanded") != "true":
            header.click()
        self.page.wait_for_timeout(300)

    def nudge(self, param: str, presses: int = 3) -> str:
        """Move a slider with the keyboard; return the label text afterwards."""
        thumb = self.page.locator(f".gpsim-param-{param} [role=slider]")
        thumb.focus()
        for _ in range(presses):
            thumb.press("ArrowRight")
        label = self.page.locator(f".gpsim-param-{param} .gpsim-param-label")
        self.page.wait_for_function(
            "el => el.innerText.includes('changed')", arg=label.element_handle(), timeout=10_000
        )
        return label.inner_text()

    def choose(self, selector: str, option: str) -> None:
        self.page.locator(selector).click()
        self.page.locator(".v-menu__content .v-list-item", has_text=option).first.click()
        self.page.wait_for_timeout(300)

    def shot(self, name: str, selector: str | None = None) -> bytes:
        OUT.mkdir(parents=True, exist_ok=True)
        if selector:
            return self.page.locator(selector).first.screenshot(path=str(OUT / name))
        return self.page.screenshot(path=str(OUT / name), full_page=True)

    def check_clean(self) -> None:
        assert self.external == [], f"requests left 127.0.0.1: {self.external[:5]}"
        assert self.errors == [], f"page errors: {self.errors[:5]}"
        assert self.failed == [], f"failed responses: {self.failed[:5]}"

    def close(self) -> None:
        self.context.close()


def test_workshop_flow(server, browser):
    from playwright.sync_api import expect

    proc, url = server
    t0 = time.perf_counter()
    tab = Tab(browser, url)
    load_s = time.perf_counter() - t0
    page = tab.page
    tab.page.wait_for_timeout(500)
    tab.shot("01-loaded.png")
    tab.check_clean()
    assert tab.month() == 0
    expect(
        page.get_by_text("Changes apply when you press Reset", exact=False).or_(
            page.get_by_text("Changes apply on Reset", exact=False)
        )
    ).to_be_visible()

    # every slider group is there
    for name in GROUP_NAMES:
        expect(page.locator(".gpsim-group-header", has_text=name)).to_have_count(1)

    # move a slider and Reset
    tab.open_group("Trust")
    label = tab.nudge("trust_gain_rate")
    assert "changed" in label
    expect(page.locator(".gpsim-pending")).to_be_visible()
    tab.shot("02-slider-moved.png")
    page.click(".gpsim-reset")
    expect(page.locator(".gpsim-pending")).to_have_count(0)
    expect(page.locator(".gpsim-param-trust_gain_rate .gpsim-param-label")).not_to_contain_text("changed")

    # step: the charts and the map change
    map_before = tab.shot("03-map-month0.png", ".gpsim-map-wrap")
    chart_before = tab.shot("03-chart-month0.png", ".gpsim-chart-share")
    clicks = []
    for _ in range(6):
        t = time.perf_counter()
        tab.step()
        clicks.append(time.perf_counter() - t)
    page.wait_for_timeout(400)
    map_after = tab.shot("04-map-month6.png", ".gpsim-map-wrap")
    chart_after = tab.shot("04-chart-month6.png", ".gpsim-chart-share")
    assert map_after != map_before
    assert chart_after != chart_before
    tab.shot("05-after-6-steps.png")
    timing = page.locator(".gpsim-timing").inner_text()
    print(
        f"\nUI: page load {load_s:.1f} s; click-to-update per Step {sum(clicks) / len(clicks) * 1000:.0f} ms; {timing}"
    )

    # a preset sets the sliders (they apply on Reset)
    tab.choose(".gpsim-preset", "funding-cliff")
    expect(page.locator(".gpsim-pending")).to_be_visible()
    tab.open_group("Money")
    expect(page.locator(".gpsim-param-pump_priming_per_patient .gpsim-param-label")).to_contain_text("10")
    page.click(".gpsim-reset")
    tab.wait_month(0)
    expect(page.locator(".gpsim-legend", has_text="funding-cliff")).to_have_count(1)

    # compare: pin A, change, run B, see both
    tab.step(4)
    page.click(".gpsim-pin")
    expect(page.locator(".gpsim-chart-key")).to_contain_text("dashed lines = A")
    tab.nudge("pump_priming_per_patient", presses=6)
    page.click(".gpsim-reset")
    tab.wait_month(0)
    tab.step(3)
    expect(page.locator(".gpsim-compare-text")).to_contain_text("Pump priming per patient")
    expect(page.locator(".gpsim-chart-key")).to_contain_text("solid lines = this run")
    page.wait_for_timeout(400)
    tab.shot("06-compare.png")

    # download the steps table
    with page.expect_download() as info:
        page.get_by_text("Steps table (CSV)").click()
    text = Path(info.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(rows[0]) >= STEP_COLUMNS
    assert [int(r["step"]) for r in rows] == [0, 1, 2, 3]
    with page.expect_download() as info:
        page.get_by_text("Charts (PNG)").click()
    png = Path(info.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (OUT / "downloaded-charts.png").write_bytes(png)

    # a second browser context has its own run
    other = Tab(browser, url, width=1280, height=900)
    assert other.month() == 0
    other.step(2)
    assert other.month() == 2
    page.wait_for_timeout(300)
    assert tab.month() == 3
    expect(other.page.locator(".gpsim-legend", has_text="baseline")).to_have_count(1)
    other.shot("07-second-session.png")
    tab.check_clean()
    other.check_clean()
    other.close()
    tab.close()
    assert proc.poll() is None


def test_twenty_sessions(server, browser):
    """Load: 20 sessions (separate browser contexts) each step 10 times, all at once."""
    proc, url = server
    n, steps = 20, 10
    tabs = [Tab(browser, url, width=1200, height=800) for _ in range(n)]
    round_s = []
    for k in range(1, steps + 1):
        t = time.perf_counter()
        for tab in tabs:
            tab.page.click(".gpsim-step", no_wait_after=True)
        for tab in tabs:
            tab.wait_month(k, timeout=60_000)
        round_s.append(time.perf_counter() - t)
    months = [tab.month() for tab in tabs]
    assert months == [steps] * n  # each session advanced only its own model
    assert proc.poll() is None
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200
    for tab in tabs:
        tab.check_clean()
        tab.close()
    total = sum(round_s)
    print(
        f"\nUI load: {n} sessions x {steps} steps in {total:.1f} s; a round of {n} simultaneous Steps took "
        f"{total / steps * 1000:.0f} ms on average (max {max(round_s) * 1000:.0f} ms), i.e. "
        f"{total / (n * steps) * 1000:.0f} ms of server time per step"
    )
