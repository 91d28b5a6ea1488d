"""The workshop UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Starts ``gpsim ui`` on a free loopback port, blocks every request that does not go to 127.0.0.1 (and fails on
any), then clicks through what a workshop does, misuses it (extreme sliders, a tab closed while playing, 20 tabs
at once) and checks the server's memory comes back. Screenshots go to test-output/ui/. Without /usr/bin/chromium
these tests skip, unless GPSIM_REQUIRE_BROWSER=1 (then they fail).
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from gpsim.params import GROUPS

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
CHART_KEYS = ("share", "relationships", "orgs", "money", "closed", "pressure")
#: A tab that lost its connection is dropped after this (the server's default is 15 minutes).
CULL = "2s"
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
    env = dict(os.environ, GPSIM_UI_DEBUG="1", SOLARA_KERNEL_CULL_TIMEOUT=CULL)
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gpsim.cli", "ui", "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env
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

    def __init__(self, browser, url: str, width: int = 1440, height: int = 1000, wait: bool = True) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.page.goto(url, wait_until="load" if wait else "commit")
        if wait:
            self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector(".gpsim-step", timeout=90_000)
        self.page.wait_for_selector(".gpsim-map-wrap canvas", timeout=60_000)

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

    def wait_stable(self, selector: str, quiet_ms: int = 1000, timeout: float = 60) -> str:
        """Wait until the text of ``selector`` has stopped changing (the server has caught up with the keys)."""
        last, since, t0 = None, time.monotonic(), time.monotonic()
        while time.monotonic() - t0 < timeout:
            text = self.page.locator(selector).inner_text() if self.page.locator(selector).count() else ""
            if text != last:
                last, since = text, time.monotonic()
            elif time.monotonic() - since >= quiet_ms / 1000:
                return text
            self.page.wait_for_timeout(150)
        raise AssertionError(f"{selector} kept changing for {timeout} s")

    def reset(self) -> None:
        """Press Reset and wait for its answer: the new run (no changes pending) or a refusal in words."""
        self.page.click(".gpsim-reset")
        self.page.wait_for_function(
            "() => document.querySelector('.gpsim-error') || !document.querySelector('.gpsim-pending')",
            timeout=60_000,
        )


def rss_mb(proc) -> float:
    return psutil.Process(proc.pid).memory_info().rss / 1e6


def server_holds(browser, url: str) -> tuple[int, int]:
    """(sessions, models) the server holds, counting the probe tab itself (GPSIM_UI_DEBUG=1 shows them)."""
    tab = Tab(browser, url, width=900, height=700)
    counts = (
        int(tab.page.locator(".gpsim-debug-sessions").inner_text()),
        int(tab.page.locator(".gpsim-debug-models").inner_text()),
    )
    tab.check_clean()
    tab.close()
    return counts


def wait_freed(browser, url: str, timeout: float = 45) -> tuple[tuple[int, int], float]:
    """Probe until only the probe's own session and model are left; return the last counts and the wait."""
    t0 = time.monotonic()
    while True:
        counts = server_holds(browser, url)
        if counts == (1, 1) or time.monotonic() - t0 > timeout:
            return counts, time.monotonic() - t0
        time.sleep(1.0)


def test_binds_loopback_and_prints_address(server):
    proc, url = server
    port = int(url.rsplit(":", 1)[1].strip("/"))
    assert f"serving on http://127.0.0.1:{port}/" in (OUT / "server.log").read_text()
    listening = [
        c.laddr for c in psutil.Process(proc.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(a.ip == "127.0.0.1" and a.port == port for a in listening), listening


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

    # every slider group is there, and each opens with a plain-language explanation
    assert set(GROUP_NAMES) == set(GROUPS)
    for name in GROUP_NAMES:
        expect(page.locator(".gpsim-group-header", has_text=name)).to_have_count(1)
    for name in GROUP_NAMES:
        tab.open_group(name)
        header = page.locator(".gpsim-group-header", has_text=name)
        guide = page.locator(".gpsim-group", has=header).locator(".gpsim-group-help")
        expect(guide).to_be_visible()
        assert len(guide.inner_text()) > 80
        page.locator(".gpsim-group-header", has_text=name).click()  # close it again
        page.wait_for_timeout(200)
    expect(page.locator(".gpsim-pending")).to_have_count(0)  # showing a slider never changes its setting

    # chart titles and keys sit above the plotting area, never over it
    for key in CHART_KEYS:
        legend = page.locator(f".gpsim-chart-{key} .gpsim-chart-legend").bounding_box()
        canvas = page.locator(f".gpsim-chart-{key} canvas").first.bounding_box()
        assert legend["height"] > 0 and legend["y"] + legend["height"] <= canvas["y"] + 1, key

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
    assert re.fullmatch(r"last update: model \d+ ms, drawing \d+ ms", timing), timing
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


def test_extreme_sliders(server, browser):
    """Every slider to its maximum, then every slider to its minimum: refused in words or run; never a crash."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, url)
    page = tab.page
    for name in GROUP_NAMES:
        tab.open_group(name)
    sliders = page.locator(".gpsim-groups [role=slider]")
    n = sliders.count()
    assert n >= 60
    results = {}
    for key in ("End", "Home"):
        for k in range(n):
            sliders.nth(k).focus()
            sliders.nth(k).press(key)
        banner = tab.wait_stable(".gpsim-pending")
        assert "setting(s) changed" in banner
        tab.reset()
        if page.locator(".gpsim-error").count():  # e.g. 1,000 CCGs for 180 practices
            expect(page.locator(".gpsim-error")).to_contain_text("n_ccgs")
            tab.shot("09-extreme-refused.png")
            thumb = page.locator(".gpsim-param-n_ccgs [role=slider]")
            thumb.focus()
            thumb.press("Home")
            tab.wait_stable(".gpsim-param-n_ccgs .gpsim-param-label", quiet_ms=500)
            tab.reset()
            expect(page.locator(".gpsim-error")).to_have_count(0)
        expect(page.locator(".gpsim-pending")).to_have_count(0)
        tab.wait_month(0)
        tab.step(3)
        results[key] = page.locator(".gpsim-status").inner_text()
        tab.shot(f"10-extreme-{'max' if key == 'End' else 'min'}.png")
    print(f"\nUI extreme sliders ({n} sliders): {results}")
    tab.check_clean()
    tab.close()
    assert proc.poll() is None


def test_england_aggregated(server, browser):
    """All England (6,600 practices): the map draws one circle per CCG and Steps stay quick."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, url)
    page = tab.page
    tab.open_group("Region & time")
    tab.choose(".gpsim-param-region .v-select", "england")
    t = time.perf_counter()
    page.click(".gpsim-reset")
    expect(page.locator(".gpsim-legend", has_text="One circle per CCG")).to_have_count(1, timeout=90_000)
    reset_s = time.perf_counter() - t
    clicks = []
    for _ in range(3):
        t = time.perf_counter()
        tab.step()
        clicks.append(time.perf_counter() - t)
    page.wait_for_timeout(400)
    timing = page.locator(".gpsim-timing").inner_text()
    tab.shot("08-england.png")
    print(
        f"\nUI England: Reset (load 6,600 practices) {reset_s:.1f} s; click-to-update per Step "
        f"{sorted(clicks)[1] * 1000:.0f} ms (median of 3); {timing}"
    )
    assert max(clicks) < 10
    tab.check_clean()
    tab.close()
    assert proc.poll() is None


def test_tab_closed_while_playing(server, browser):
    """A tab closed mid-run (while Play is running): the server keeps serving and frees that session."""
    proc, url = server
    tab = Tab(browser, url)
    tab.choose(".gpsim-speed", "fast")
    tab.page.click(".gpsim-play")
    tab.page.wait_for_function("() => +document.querySelector('.gpsim-month').innerText >= 3", timeout=30_000)
    tab.check_clean()
    tab.close()  # while playing
    other = Tab(browser, url)
    other.step(2)
    other.check_clean()
    other.close()
    counts, waited = wait_freed(browser, url)
    print(f"\nUI: after a tab closed while playing, the server holds {counts} (sessions, models) after {waited:.1f} s")
    assert counts == (1, 1)
    assert proc.poll() is None


def test_twenty_sessions(server, browser):
    """Load: 20 sessions (separate browser contexts) each step 10 times, all at once; then memory comes back."""
    proc, url = server
    n, steps = 20, 10
    held_before, _ = wait_freed(browser, url)
    rss_before = rss_mb(proc)
    t = time.perf_counter()
    tabs: list[Tab] = []
    while len(tabs) < n:  # a few at a time, as people arrive
        batch = [Tab(browser, url, width=1200, height=800, wait=False) for _ in range(min(4, n - len(tabs)))]
        for tab in batch:
            tab.ready()
        tabs += batch
    open_s = time.perf_counter() - t
    rss_peak = rss_mb(proc)
    round_s = []
    for k in range(1, steps + 1):
        t = time.perf_counter()
        for tab in tabs:
            tab.page.click(".gpsim-step", no_wait_after=True)
        for tab in tabs:
            tab.wait_month(k, timeout=60_000)
        round_s.append(time.perf_counter() - t)
        rss_peak = max(rss_peak, rss_mb(proc))
    months = [tab.month() for tab in tabs]
    assert months == [steps] * n  # each session advanced only its own model
    assert proc.poll() is None
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200
    held_peak = server_holds(browser, url)
    for tab in tabs:
        tab.check_clean()
        tab.close()
    held_after, waited = wait_freed(browser, url)
    rss_after = rss_mb(proc)
    total = sum(round_s)
    print(
        f"\nUI load: {n} tabs opened together in {open_s:.1f} s; {n} sessions x {steps} steps in {total:.1f} s; "
        f"a round of {n} simultaneous Steps took "
        f"{total / steps * 1000:.0f} ms on average (max {max(round_s) * 1000:.0f} ms), i.e. "
        f"{total / (n * steps) * 1000:.0f} ms per step"
    )
    print(
        f"UI memory: server RSS {rss_before:.0f} MB before, {rss_peak:.0f} MB at peak with {n} sessions, "
        f"{rss_after:.0f} MB after closing them; (sessions, models) held: {held_before} before, {held_peak} "
        f"at peak, {held_after} after {waited:.1f} s"
    )
    assert held_peak[0] >= n + 1
    assert held_after == (1, 1)  # every closed session and its model freed
    # CPython and the C allocator keep freed memory for reuse rather than hand it back, so RSS stays near the
    # peak; what must not happen is growth after the sessions have gone (the counts above prove they were freed).
    assert rss_after <= rss_peak * 1.05
