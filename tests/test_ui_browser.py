"""The workshop UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Starts ``gpsim ui`` on a free loopback port, blocks every request that does not go to 127.0.0.1 (and fails on
any), then does what a workshop does: plays and pauses at every speed on small and large areas, reloads, uses a
phone, runs a room of ten participants with a facilitator, plays a story, presents on a projector, and measures
click-to-update in the page. Screenshots go to test-output/ui/ (look at them). Without /usr/bin/chromium these tests
skip, unless GPSIM_REQUIRE_BROWSER=1 (then they fail).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import statistics
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import psutil
import pytest
from conftest import free_port, start_ui, stop_ui

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
CHART_KEYS = ("share", "relationships", "orgs", "money", "closed", "pressure")
#: A tab that lost its connection is dropped after this (the server's default is 15 minutes).
CULL = "2s"
STEP_COLUMNS = {"step", "date", "share_practices_in_org", "relationships_per_hospital_mean", "n_orgs"}
#: Click-to-update targets (median, in the page): a ~300-practice area, and all England.
TARGET_MS = {"west-yorkshire": 150, "england": 300}
#: Settings that make organisations run out of money within a year (so the table lists failures).
FAILING = "org_fixed_cost=500000&subscription_per_patient=0&reserves_exhausted_months=1"

#: Click Step and time, in the page, until the month shown has changed and the browser has painted it.
CLICK_TO_UPDATE_JS = """() => new Promise((resolve) => {
  const el = document.querySelector('.gpsim-month');
  const before = el.innerText;
  const obs = new MutationObserver(() => {
    if (el.innerText !== before) {
      obs.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - t0));
    }
  });
  obs.observe(el, {childList: true, characterData: true, subtree: true});
  const t0 = performance.now();
  document.querySelector('.gpsim-step').click();
})"""


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


@pytest.fixture(scope="module")
def server():
    _need_browser()
    port = free_port()
    env = dict(os.environ, GPSIM_UI_DEBUG="1", SOLARA_KERNEL_CULL_TIMEOUT=CULL)
    proc = start_ui(port, OUT / "server.log", env)
    assert "serving on http://127.0.0.1:" in (OUT / "server.log").read_text()
    yield proc, f"http://127.0.0.1:{port}/"
    stop_ui(proc)
    assert proc.poll() is not None


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


OPEN_TABS: list[Tab] = []


@pytest.fixture(autouse=True)
def close_leftover_tabs():
    """A failed test leaves no tab open behind it (an open tab keeps its run on the server)."""
    yield
    while OPEN_TABS:
        OPEN_TABS.pop().close()


class Tab:
    """One browser context + page with the network guard and error collection."""

    def __init__(
        self, browser, url: str, width: int = 1400, height: int = 1000, wait: bool = True, context=None
    ) -> None:
        self.own_context = context is None
        self.context = context or browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        self.page = self.context.new_page()
        OPEN_TABS.append(self)
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
        self.page.wait_for_selector(".gpsim-map canvas", timeout=60_000)
        self.page.wait_for_function("() => document.querySelector('.gpsim-month') !== null", timeout=30_000)

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

    def wait_month_at_least(self, m: int, timeout: float = 60_000) -> None:
        self.page.wait_for_function(f"() => +document.querySelector('.gpsim-month').innerText >= {m}", timeout=timeout)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            before = self.month()
            self.page.click(".gpsim-step")
            self.wait_month(before + 1)

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
        self.page.locator(selector).first.click()
        self.page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()
        self.page.locator(".menuable__content__active").wait_for(state="detached", timeout=10_000)
        self.settle()

    def settle(self) -> None:
        """Wait until the page has drawn the last frame the server sent (instead of sleeping)."""
        self.page.wait_for_function(
            "() => { const el = document.querySelector('.gpsim-live');"
            " return !el || el.dataset.drawn === el.dataset.received; }",
            timeout=30_000,
        )

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
        if self in OPEN_TABS:
            OPEN_TABS.remove(self)
        if self.own_context:
            self.context.close()
        else:
            self.page.close()

    def reset(self, timeout: float = 90_000) -> None:
        """Press Reset and wait for its answer: the new run (no changes pending) or a refusal in words."""
        self.page.click(".gpsim-reset", timeout=timeout)
        self.page.wait_for_function(
            "() => document.querySelector('.gpsim-error') || !document.querySelector('.gpsim-pending')",
            timeout=timeout,
        )
        self.wait_month(0, timeout=timeout)

    def playing(self) -> bool:
        return "Pause" in self.page.locator(".gpsim-play").inner_text().title()

    def click_to_update(self, n: int) -> list[float]:
        return [self.page.evaluate(CLICK_TO_UPDATE_JS) for _ in range(n)]

    def no_horizontal_scroll(self) -> None:
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        view = self.page.viewport_size["width"]
        assert width <= view + 1, f"the page is {width} px wide in a {view} px window"


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
        time.sleep(0.5)


def record(name: str, values: dict) -> None:
    """Keep a measured figure in test-output/ui/measured.json (benchmarks/README.md quotes them)."""
    path = OUT / "measured.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = values
    path.write_text(json.dumps(data, indent=1))


def test_binds_loopback_and_prints_address(server):
    proc, url = server
    port = int(url.rsplit(":", 1)[1].strip("/"))
    assert f"serving on http://127.0.0.1:{port}/" in (OUT / "server.log").read_text()
    listening = [
        c.laddr for c in psutil.Process(proc.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(a.ip == "127.0.0.1" and a.port == port for a in listening), listening


def test_workshop_flow(server, browser):
    """Area and preset as two choices, Basic settings in plain words, Advanced collapsed; run, compare, download."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, url)
    page = tab.page
    tab.shot("laptop-01-loaded.png")
    tab.check_clean()
    assert tab.month() == 0
    expect(page.locator(".gpsim-area")).to_be_visible()
    expect(page.locator(".gpsim-preset")).to_be_visible()
    basic = page.locator(".gpsim-basic .gpsim-param")
    assert 8 <= basic.count() <= 12
    for text in basic.locator(".gpsim-param-label").all_inner_texts():
        assert "_" not in text, text  # labels, not code names
    expect(page.locator(".gpsim-param-distributed_leadership_share .gpsim-param-label")).to_contain_text("%")
    expect(page.locator(".gpsim-param-subscription_per_patient .gpsim-param-label")).to_contain_text("£")
    expect(page.locator(".gpsim-param-subscription_per_patient .gpsim-range")).to_contain_text("from £0")
    expect(page.locator(".gpsim-param-trust_gain_rate")).to_have_count(0)  # Advanced is collapsed
    expect(page.locator(".gpsim-timing")).to_have_count(1)  # the debug switch is on in this server
    for key in CHART_KEYS:  # chart titles and keys sit above the plotting area, never over it
        legend = page.locator(f".gpsim-chart-{key} .gpsim-chart-legend").bounding_box()
        canvas = page.locator(f".gpsim-chart-{key} canvas").first.bounding_box()
        assert legend["height"] > 0 and legend["y"] + legend["height"] <= canvas["y"] + 1, key

    # move a Basic slider: marked, pending, "back to the preset" offered; Reset applies it
    label = tab.nudge("subscription_per_patient", presses=4)
    assert "changed" in label
    expect(page.locator(".gpsim-pending")).to_contain_text("Members' subscription")
    expect(page.locator(".gpsim-param-subscription_per_patient .gpsim-back")).to_be_visible()
    tab.reset()
    expect(page.locator(".gpsim-param-subscription_per_patient .gpsim-param-label")).not_to_contain_text("changed")

    # a preset keeps the chosen area; its text does not describe another area
    tab.choose(".gpsim-area", "West Yorkshire")
    tab.choose(".gpsim-preset", "funding-cliff")
    expect(page.locator(".gpsim-preset-text")).not_to_contain_text("synthetic")
    tab.reset()
    expect(page.locator(".gpsim-area-text")).to_contain_text("West Yorkshire")
    expect(page.locator(".gpsim-area-text")).to_contain_text("funding-cliff")

    # step: the map and charts change
    map_before = tab.shot("laptop-02-map-month0.png", ".gpsim-map-panel")
    tab.step(6)
    tab.settle()
    assert tab.shot("laptop-03-map-month6.png", ".gpsim-map-panel") != map_before
    timing = page.locator(".gpsim-timing").inner_text()
    assert re.match(r"last update: model \d+ ms, frame \d+ ms", timing), timing

    # compare: keep A at month 6, change a setting, run again
    page.click(".gpsim-pin")
    expect(page.locator(".gpsim-chart-key")).to_contain_text("kept at month 6 of 120: its lines stop there")
    tab.nudge("pump_priming_per_patient", presses=6)
    tab.reset()
    tab.step(3)
    text = page.locator(".gpsim-compare-text").inner_text()
    assert text.startswith("What differs from A: One-off money for new organisations: £10 per patient a year in A")
    assert text.count(" in A") == 1  # only the setting that differs
    tab.settle()
    tab.shot("laptop-04-compare.png")

    # take it home: file names say the scenario, area and date; the CSV starts with the settings in words
    with page.expect_download() as info:
        page.get_by_text("Month-by-month table (CSV)").click()
    assert re.fullmatch(r"gpsim-funding-cliff-west-yorkshire-\d{4}-\d\d-\d\d\.csv", info.value.suggested_filename)
    lines = Path(info.value.path()).read_text().splitlines()
    assert any(line.startswith("# One-off money for new organisations") for line in lines)
    table = list(csv.reader(io.StringIO("\n".join(line for line in lines if not line.startswith("#")))))
    assert table[0][:2] == ["Month of the run", "Date"]  # words first, then the names scripts use
    rows = [dict(zip(table[1], r, strict=True)) for r in table[2:]]
    assert set(table[1]) >= STEP_COLUMNS and [int(r["step"]) for r in rows] == [0, 1, 2, 3]
    with page.expect_download() as info:
        page.get_by_text("One-page report (HTML)").click()
    report = Path(info.value.path()).read_text()
    assert "One-off money for new organisations" in report and report.count("data:image/png;base64,") == 2
    (OUT / "downloaded-report.html").write_text(report)
    tab.check_clean()
    tab.close()
    assert proc.poll() is None


@pytest.mark.parametrize("area", ["synthetic", "north-east-workshop", "england"])
def test_pause_within_one_update(server, browser, area):
    """Play at every speed (and a year per update at full speed), then Pause: the month stops within one update
    and stays put (no queued frames arrive later)."""
    proc, url = server
    tab = Tab(browser, f"{url}?area={area}")
    page = tab.page
    results = []
    for speed, months in (("fast", 1), ("fast", 12), ("steady", 1), ("slow", 1)):
        tab.choose(".gpsim-speed", speed)
        tab.choose(".gpsim-mpu", str(months))
        start = tab.month()
        page.click(".gpsim-play")
        tab.wait_month_at_least(start + 2 * months)
        at = page.evaluate(
            "() => { const m = +document.querySelector('.gpsim-month').innerText;"
            " document.querySelector('.gpsim-play').click(); return m; }"
        )
        page.wait_for_function("() => document.querySelector('.gpsim-play').innerText.toLowerCase().includes('play')")
        page.wait_for_timeout(300)
        settled = tab.month()
        page.wait_for_timeout(1000)  # long enough for two more updates at every speed, had Pause been ignored
        later = tab.month()
        results.append((speed, months, at, settled, later))
        assert settled - at <= months, f"{area}, {speed}, {months} a step: paused at {at}, went on to {settled}"
        assert later == settled, f"{area}, {speed}: frames kept arriving after Pause ({settled} -> {later})"
        assert later < 120
    print(f"\nUI pause on {area}: (speed, months per update, month at Pause, month after, 1.5 s later) {results}")
    tab.check_clean()
    tab.close()


def test_click_to_update(server, browser):
    """Click Step to the month changing on screen, measured in the page: a 300-practice area and all England."""
    proc, url = server
    out = {}
    for area in TARGET_MS:
        tab = Tab(browser, f"{url}?area={area}")
        tab.click_to_update(2)  # warm-up
        ms = tab.click_to_update(12)
        med = statistics.median(ms)
        reg = tab.page.locator(".gpsim-area-text").inner_text()
        out[area] = dict(median_ms=round(med, 1), max_ms=round(max(ms), 1), clicks=len(ms), area=reg)
        print(f"\nUI click-to-update, {reg}: median {med:.0f} ms, max {max(ms):.0f} ms over {len(ms)} clicks")
        tab.check_clean()
        tab.close()
    record("click_to_update", out)
    # The verdict against the targets is benchmarks/README.md's (a quiet machine); a test on a shared machine only
    # guards against the page falling back to redrawing everything (seconds per click).
    for area, target in TARGET_MS.items():
        assert out[area]["median_ms"] <= 5 * target, f"{area}: click-to-update median {out[area]['median_ms']} ms"


def test_reload_and_link_restore_the_run(server, browser):
    """Preset, changed settings, seed and area live in the address; run A is kept for the browser session."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, url)
    page = tab.page
    tab.choose(".gpsim-area", "North East")
    tab.choose(".gpsim-preset", "funding-cliff")
    tab.nudge("difficult_history", presses=4)
    banner = page.locator(".gpsim-pending")
    expect(banner).to_contain_text("setting(s) changed")
    before = int(banner.inner_text().split(" setting(s)")[0])
    seed = page.locator(".gpsim-seed input")
    seed.fill("7")
    seed.press("Enter")
    # the seed reached the server (the banner counts one change more) before Reset is pressed: slow under load
    expect(banner).to_contain_text(f"{before + 1} setting(s) changed", timeout=30_000)
    tab.reset()
    tab.step(2)
    page.click(".gpsim-pin")
    expect(page.locator(".gpsim-chart-key")).to_contain_text("Dashed lines = run A")
    expect(page.locator(".gpsim-area-text")).to_contain_text("Random seed 7")  # the run has the seed...
    page.wait_for_function("() => location.search.includes('seed=7')", timeout=60_000)  # ...and so has the link
    link = page.url
    assert "preset=funding-cliff" in link and "area=north-east-workshop" in link and "difficult_history=" in link
    label = page.locator(".gpsim-param-difficult_history .gpsim-param-label")
    expect(label).not_to_contain_text("applies on Reset")  # Reset has reached the label (slow under load)
    history = label.inner_text()

    page.reload()
    tab.ready()
    expect(page.locator(".gpsim-area-text")).to_contain_text("North East")
    expect(page.locator(".gpsim-area-text")).to_contain_text("funding-cliff")
    expect(page.locator(".gpsim-area-text")).to_contain_text("Random seed 7")
    expect(page.locator(".gpsim-param-difficult_history .gpsim-param-label")).to_have_text(history)
    expect(page.locator(".gpsim-chart-key")).to_contain_text("Dashed lines = run A")  # A survived the reload

    other = Tab(browser, link)  # the same link sent to someone else: the settings, not the pinned run
    expect(other.page.locator(".gpsim-area-text")).to_contain_text("Random seed 7")
    expect(other.page.locator(".gpsim-area-text")).to_contain_text("funding-cliff")
    expect(other.page.locator(".gpsim-chart-key")).to_have_count(0)
    for t in (tab, other):
        t.check_clean()
        t.close()


def type_fast(page, selector: str, text: str, then_reset: bool = False) -> None:
    """Type ``text`` into a box as fast as the browser can (one input event per keystroke, as a keyboard gives),
    leave the box and, if asked, click Reset in the same breath: the page holds a box's value back while the server
    has not answered its previous update, but sends clicks at once (a quick typist, or a busy server)."""
    page.evaluate(
        """([selector, text, reset]) => {
          const el = document.querySelector(selector);
          el.focus();
          for (let i = 1; i <= text.length; i++) {
            el.value = text.slice(0, i);
            el.dispatchEvent(new Event('input', {bubbles: true}));
          }
          el.blur();
          if (reset) document.querySelector('.gpsim-reset').click();
        }""",
        [selector, text, then_reset],
    )


def test_typed_values_win_over_an_immediate_reset(server, browser):
    """A facilitator types a seed (or a number in a settings box) and clicks Reset straight away, without Enter:
    the new run has what was typed, never the old value or the first keystroke; text that is no number is refused
    in words and changes nothing, not even the other pending changes."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, url)
    page = tab.page
    area = page.locator(".gpsim-area-text")
    expect(area).to_contain_text("Random seed 0.")
    page.click(".gpsim-advanced-header")
    region_seed = ".gpsim-param-region_seed input"
    page.wait_for_selector(region_seed)
    type_fast(page, region_seed, "57")
    type_fast(page, ".gpsim-seed input", "4321", then_reset=True)
    page.wait_for_function("() => !document.querySelector('.gpsim-pending')", timeout=60_000)
    expect(area).to_contain_text("Random seed 4321.", timeout=30_000)
    page.wait_for_function("() => location.search.includes('seed=4321')", timeout=30_000)
    assert "region_seed=57" in page.url

    # text that is no number: Reset says so and keeps the run, with none of the other changes applied
    tab.nudge("difficult_history")
    type_fast(page, region_seed, "5x")
    type_fast(page, ".gpsim-seed input", "12x", then_reset=True)
    error = page.locator(".gpsim-error")
    expect(error).to_contain_text("Random seed: '12x' is not a whole number", timeout=30_000)
    expect(error).to_contain_text("'5x' is not a whole number")
    for box in (".gpsim-seed", ".gpsim-param-region_seed"):  # and under each box
        expect(page.locator(f"{box} .v-messages__message")).to_have_text(re.compile("^Not a whole number"))
        expect(page.locator(f"{box} .v-messages__message")).to_be_visible()
    expect(page.locator(".gpsim-pending")).to_contain_text("3 setting(s) changed")
    expect(area).to_contain_text("Random seed 4321.")
    label = page.locator(".gpsim-param-difficult_history .gpsim-param-label")
    expect(label).to_contain_text("applies on Reset")
    assert page.locator(".gpsim-seed input").input_value() == "12x"  # what was typed stays to be corrected

    type_fast(page, region_seed, "58")
    type_fast(page, ".gpsim-seed input", "8", then_reset=True)
    expect(error).to_have_count(0, timeout=60_000)
    expect(area).to_contain_text("Random seed 8.", timeout=30_000)
    expect(label).not_to_contain_text("applies on Reset", timeout=30_000)
    page.wait_for_function("() => location.search.includes('region_seed=58')", timeout=30_000)
    tab.check_clean()
    tab.close()


def test_slider_moves_win_over_an_immediate_reset(server, browser):
    """Five quick key presses on a slider, then Reset at once: the run uses the value the slider shows (the page
    holds a slider's value back while the server has not answered its previous update, but sends a click at once),
    and nothing is left pending afterwards."""
    from playwright.sync_api import expect

    import gpsim

    proc, url = server
    tab = Tab(browser, url)
    page = tab.page
    name = "difficult_history"
    thumb = page.locator(f".gpsim-param-{name} [role=slider]")
    label = page.locator(f".gpsim-param-{name} .gpsim-param-label")
    for key in ("ArrowRight", "ArrowLeft", "ArrowRight"):
        tab.step()  # month 1: the new run shows as month 0
        before = float(thumb.get_attribute("aria-valuenow"))
        thumb.focus()
        for _ in range(5):
            page.keyboard.press(key)
        page.evaluate("() => document.querySelector('.gpsim-reset').click()")  # in the same breath
        shown = float(thumb.get_attribute("aria-valuenow"))
        assert shown != before  # the presses moved the slider in the page
        tab.wait_month(0, timeout=60_000)
        tab.step()  # a round trip after the slider's own last update, so whatever it sent has arrived
        query = parse_qs(urlsplit(page.url).query)
        run = float(query.get(name, [getattr(gpsim.scenario("baseline"), name)])[0]) * 100  # absent: the preset's
        assert math.isclose(run, shown, abs_tol=1e-6), f"{key} x5: the slider shows {shown}, the run has {run}"
        expect(label).not_to_contain_text("applies on Reset")
        expect(page.locator(".gpsim-pending")).to_have_count(0)

    # a slow drag across the slider: the thumb only ever moves the hand's way (nothing the server sends back
    # pulls it back mid-drag), and the run uses where it was let go
    page.evaluate(
        """(sel) => { window.seen = [];
          new MutationObserver(() => window.seen.push(+document.querySelector(sel).getAttribute('aria-valuenow')))
            .observe(document.querySelector(sel), {attributes: true, attributeFilter: ['aria-valuenow']}); }""",
        f".gpsim-param-{name} [role=slider]",
    )
    track = page.locator(f".gpsim-param-{name} .v-slider").bounding_box()
    start = thumb.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()  # on the thumb, as a hand would
    for i in range(1, 41):
        page.mouse.move(x + (track["x"] + track["width"] * 0.9 - x) * i / 40, y)
        page.wait_for_timeout(25)
    page.mouse.up()
    page.wait_for_timeout(1000)  # whatever the server sends after the drag has arrived
    seen = page.evaluate("() => window.seen")
    assert len(set(seen)) >= 10 and seen == sorted(seen), seen
    shown = float(thumb.get_attribute("aria-valuenow"))
    assert shown == seen[-1]
    expect(label).to_contain_text("applies on Reset")
    tab.shot("slider-after-drag.png", f".gpsim-param-{name}")
    tab.reset()
    tab.step()
    run = float(parse_qs(urlsplit(page.url).query)[name][0]) * 100
    assert math.isclose(run, shown, abs_tol=1e-6), f"dragged to {shown}, the run has {run}"
    tab.check_clean()
    tab.close()


#: Started with every server of the peer-graph test: records each file the server process opens whose path holds
#: one of the watched texts (Python's audit hook sees every open, from any library).
OPEN_SPY = """
import os, sys

_log, _watch = os.environ.get("GPSIM_TEST_OPEN_LOG"), os.environ.get("GPSIM_TEST_OPEN_WATCH", "").split("\\n")
_busy = []


def _spy(event, args):
    if event != "open" or _busy or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    if any(w and w in path for w in _watch):
        _busy.append(1)
        try:
            with open(_log, "a") as fh:
                fh.write(path + "\\n")
        finally:
            _busy.clear()


if _log:
    sys.addaudithook(_spy)
"""


def test_a_peer_graph_from_a_link_is_refused_without_opening_it(tmp_path, browser):
    """``?peer_graph=/etc/passwd`` (or a GraphML file the server was not given) is named in a note and never opened,
    whether it exists or not; the box offers the nearest neighbours and the server's own ``--peer-graph`` file, and
    choosing that file runs with it (the spy sees it opened, so it would have seen the others)."""
    import networkx as nx
    from playwright.sync_api import expect

    import gpsim
    from gpsim.errors import shown

    codes = [str(c) for c in gpsim.region_for(gpsim.scenario("baseline")).practice_code[:4]]
    given, secret = tmp_path / "sharing.graphml", tmp_path / "not-given" / "other.graphml"
    secret.parent.mkdir()
    for path in (given, secret):
        nx.write_graphml(nx.path_graph(codes), path)
    (tmp_path / "spy" / "sitecustomize.py").parent.mkdir()
    (tmp_path / "spy" / "sitecustomize.py").write_text(OPEN_SPY)
    opened = tmp_path / "opened.txt"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(tmp_path / "spy"), *filter(None, [os.environ.get("PYTHONPATH")])]),
        GPSIM_TEST_OPEN_LOG=str(opened),
        GPSIM_TEST_OPEN_WATCH="\n".join(["passwd", "not-given", "sharing.graphml"]),
    )
    port = free_port()
    proc = start_ui(port, OUT / "server-peer-graph.log", env, ("--peer-graph", str(given)))
    url = f"http://127.0.0.1:{port}/"
    try:
        allowed = "this server allows 'nearest' (each practice's nearest neighbours), or a file given when the server "
        allowed += f"was started: '{given}'."
        opened.write_text("")  # what gpsim ui opened at start (checking the given file) is not the page's doing
        for bad in ("/etc/passwd", str(secret), str(tmp_path / "not-given" / "missing.graphml")):
            tab = Tab(browser, url + "?" + urlencode({"peer_graph": bad, "difficult_history": "0.7"}))
            note = tab.page.locator(".gpsim-note", has_text="Relationships between practices")
            expect(note).to_have_text(f"Skipped Relationships between practices: the link had {shown(bad)}; {allowed}")
            expect(tab.page.locator(".gpsim-area-text")).to_be_visible()
            assert "difficult_history=0.7" in tab.page.url  # the rest of the link is used
            tab.check_clean()
            tab.close()
        assert opened.read_text() == ""

        tab = Tab(browser, url)
        page = tab.page
        page.click(".gpsim-advanced-header")
        box = page.locator(".gpsim-param-peer_graph")
        expect(box.locator(".gpsim-peer-graph")).to_contain_text("Nearest neighbours")
        tab.choose(".gpsim-param-peer_graph .gpsim-peer-graph", "The graph in sharing.graphml")
        expect(box.locator(".gpsim-param-label")).to_contain_text("applies on Reset")
        box.scroll_into_view_if_needed()
        tab.shot("peer-graph-choice.png", ".gpsim-param-peer_graph")
        tab.reset()
        page.wait_for_function("() => location.search.includes('peer_graph=')", timeout=30_000)
        assert parse_qs(urlsplit(page.url).query)["peer_graph"] == [str(given)]
        expect(box.locator(".gpsim-param-label")).to_have_text(
            "Relationships between practices: the graph in sharing.graphml"
        )
        tab.check_clean()
        tab.close()
        assert opened.read_text().split() == [str(given)]  # the spy works: the given file, and only it
    finally:
        stop_ui(proc)


def test_phone_width(server, browser):
    """390 px: one column, full-width map and charts, a readable preset, the table inside the screen."""
    proc, url = server
    tab = Tab(browser, f"{url}?area=west-yorkshire&{FAILING}", width=390, height=844)
    page = tab.page
    tab.step(3)
    tab.settle()
    tab.shot("phone-390.png")
    tab.no_horizontal_scroll()
    side = page.locator(".gpsim-side").bounding_box()
    map_box = page.locator(".gpsim-map").bounding_box()
    assert map_box["y"] > side["y"] + side["height"] - 1  # stacked, not side by side
    assert map_box["width"] >= 330, map_box
    for key in CHART_KEYS:
        assert page.locator(f".gpsim-chart-{key}").bounding_box()["width"] >= 330, key
    preset = page.locator(".gpsim-preset .v-select__selection").first
    assert preset.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the preset name is cut off"
    table = page.locator(".gpsim-table-wrap").bounding_box()
    assert table["x"] >= 0 and table["x"] + table["width"] <= 391
    boxes = [b.bounding_box() for b in page.locator(".gpsim-controls > *").all()]
    for i, a in enumerate(boxes):  # no label sits on a button
        for b in boxes[i + 1 :]:
            overlap = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            vertical = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            assert overlap <= 1 or vertical <= 1, (a, b)
    tab.check_clean()
    tab.close()


@pytest.mark.parametrize("width", [1400, 1024])
def test_organisations_table_fits(server, browser, width):
    """Once failures are listed, every column (reserves and trust included) is inside the panel."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, f"{url}?area=west-yorkshire&{FAILING}", width=width, height=900)
    page = tab.page
    tab.choose(".gpsim-mpu", "12")
    tab.choose(".gpsim-speed", "fast")
    page.click(".gpsim-play")
    tab.wait_month_at_least(24)
    page.click(".gpsim-play")
    expect(page.locator(".gpsim-org-row", has_text="failed in month").first).to_be_visible(timeout=20_000)
    tab.settle()
    tab.shot(f"laptop-{width}-organisations.png", ".gpsim-orgs")
    panel = page.locator(".gpsim-orgs").bounding_box()
    for th in page.locator(".gpsim-orgs th").all():
        box = th.bounding_box()
        assert box["x"] + box["width"] <= panel["x"] + panel["width"] + 1, th.inner_text()
    wrap = page.locator(".gpsim-table-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the table scrolls sideways"
    tab.no_horizontal_scroll()
    expect(page.locator(".gpsim-orgs th.gpsim-col-asks")).to_contain_text("hospital asks delivered")
    asks = page.locator(".gpsim-orgs td.gpsim-col-asks").all_inner_texts()
    assert asks and all(re.fullmatch(r"\d+ of \d+", a.strip()) for a in asks), asks
    if width == 1400:  # a failed organisation's story: its money in and out by source, in pounds
        page.locator(".gpsim-org-row", has_text="failed in month").first.click()
        story = page.locator(".gpsim-org-story")
        expect(story).to_contain_text("It failed in month", timeout=20_000)
        expect(story.locator(".gpsim-org-money-text")).to_contain_text("came in (")
        expect(story.locator(".gpsim-org-money-text")).to_contain_text("£")
        expect(story.locator(".gpsim-org-money canvas").first).to_be_visible()
        tab.settle()
        tab.shot("laptop-organisation-story.png", ".gpsim-org-story")
    tab.check_clean()
    tab.close()


def test_england_map_and_png(server, browser):
    """All England: one circle per CCG over the outline of England, small hospital dots; the PNG's title fits."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, f"{url}?area=england")
    page = tab.page
    expect(page.locator(".gpsim-map-legend")).to_contain_text("One circle per CCG")
    tab.step(2)
    tab.settle()
    tab.shot("laptop-england-map.png", ".gpsim-map-panel")
    with page.expect_download() as info:
        page.get_by_text("Map (PNG)").click()
    png = Path(info.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (OUT / "downloaded-england-map.png").write_bytes(png)
    tab.check_clean()
    tab.close()


def test_real_area_map_names(server, browser):
    """A real area shows town names, and practices' names (not only codes) when hovered."""
    proc, url = server
    tab = Tab(browser, f"{url}?area=north-east-workshop")
    page = tab.page
    tab.step(1)
    tab.settle()
    tab.shot("laptop-north-east-map.png", ".gpsim-map-panel")
    canvas = page.locator(".gpsim-map canvas").first.bounding_box()
    found = ""
    for fx in (0.3, 0.4, 0.5, 0.6, 0.7):  # hover around until a practice's tooltip shows
        for fy in (0.3, 0.4, 0.5, 0.6, 0.7):
            page.mouse.move(canvas["x"] + canvas["width"] * fx, canvas["y"] + canvas["height"] * fy)
            page.wait_for_timeout(120)
            tips = [t for t in page.locator(".gpsim-map div").all_inner_texts() if "patients" in t]
            if tips:
                found = tips[0]
                break
        if found:
            break
    assert re.search(r"[A-Za-z]{3,}.*\([A-Z]\d{5}\), [\d,]+ patients", found), found
    tab.check_clean()
    tab.close()


def test_room_with_ten_participants(server, browser):
    """A facilitator's /room and ten participants who join by link, each with a different subscription, and run:
    the room shows every run; a pushed preset reaches everyone; freeze and clear; closed tabs leave."""
    from playwright.sync_api import expect

    proc, url = server
    rss_before = rss_mb(proc)
    room = Tab(browser, f"{url}room", width=1920, height=1080, wait=False)
    room.page.wait_for_selector(".gpsim-room-code", timeout=60_000)
    code = room.page.locator(".gpsim-room-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{4}", code), code
    expect(room.page.locator(".gpsim-room-url")).to_contain_text(f"/?room={code}")
    expect(room.page.locator(".gpsim-room-runs")).to_contain_text("0 runs")
    n = 10
    people: list[Tab] = []
    for k in range(n):
        tab = Tab(browser, f"{url}?room={code}&years=3&subscription_per_patient={0.5 + 0.5 * k}", 1200, 800, False)
        people.append(tab)
    for tab in people:
        tab.ready()
        tab.page.locator(".gpsim-room-bar").wait_for()
    for tab in people:
        tab.choose(".gpsim-mpu", "12")
        tab.choose(".gpsim-speed", "fast")
        tab.page.click(".gpsim-play")
    for tab in people:
        tab.wait_month(36, timeout=90_000)
    rss_peak = rss_mb(proc)
    expect(room.page.locator(".gpsim-room-runs")).to_contain_text(f"{n} runs", timeout=20_000)
    expect(room.page.locator(".gpsim-multiple")).to_have_count(n)
    expect(room.page.locator(".gpsim-room-setting")).to_contain_text("Members' subscription")
    room.page.wait_for_timeout(600)  # the small multiples' charts finish drawing
    room.shot("projector-1920-room.png")

    room.page.click(".gpsim-freeze")
    expect(room.page.locator(".gpsim-room-people")).to_contain_text("frozen")
    expect(people[0].page.locator(".gpsim-room-bar")).to_contain_text("frozen", timeout=10_000)
    room.page.click(".gpsim-freeze")
    room.choose(".gpsim-room-preset", "distributed-leadership")
    room.page.click(".gpsim-push-preset")
    for tab in people:
        expect(tab.page.locator(".gpsim-area-text")).to_contain_text("distributed-leadership", timeout=20_000)
    room.page.click(".gpsim-clear")
    expect(room.page.locator(".gpsim-room-runs")).to_contain_text("0 runs", timeout=10_000)
    people[0].step(1)
    expect(room.page.locator(".gpsim-room-runs")).to_contain_text("1 run", timeout=10_000)

    for tab in people[:3]:
        tab.check_clean()
        tab.close()
    expect(room.page.locator(".gpsim-room-people")).to_contain_text(f"{n - 3} people", timeout=30_000)
    for tab in people[3:]:
        tab.check_clean()
        tab.close()
    expect(room.page.locator(".gpsim-room-people")).to_contain_text("0 people", timeout=30_000)
    room.check_clean()
    room.close()
    per = (rss_peak - rss_before) / n
    print(
        f"\nUI room: server RSS {rss_before:.0f} MB before, {rss_peak:.0f} MB with {n} participants: {per:.1f} MB each"
    )
    record("room_rss", dict(participants=n, before_mb=round(rss_before), peak_mb=round(rss_peak), per_mb=round(per, 1)))
    assert proc.poll() is None


def test_story_and_presenter_mode(server, browser):
    """A guided story end to end (Next, Back), then presenter mode on a projector at 1920x1080 and 1280x720."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, url, width=1920, height=1080)
    page = tab.page
    tab.choose(".gpsim-story-select", "What happens when the money stops?")
    page.click(".gpsim-story-start")
    expect(page.locator(".gpsim-story-head")).to_contain_text("step 1 of 3", timeout=30_000)
    tab.wait_month(24, timeout=60_000)
    expect(page.locator(".gpsim-area-text")).to_contain_text("funding-cliff")
    page.click(".gpsim-story-next")
    expect(page.locator(".gpsim-story-head")).to_contain_text("step 2 of 3", timeout=30_000)
    tab.wait_month(48, timeout=60_000)
    page.click(".gpsim-story-next")
    expect(page.locator(".gpsim-story-head")).to_contain_text("step 3 of 3", timeout=30_000)
    expect(page.locator(".gpsim-chart-key")).to_contain_text("Dashed lines = run A")
    expect(page.locator(".gpsim-area-text")).to_contain_text("recurrent-funding")
    tab.wait_month(48, timeout=60_000)
    expect(page.locator(".gpsim-story-next")).to_be_disabled()
    page.click(".gpsim-presenter-toggle")
    expect(page.locator(".gpsim-presenter")).to_have_count(1)
    expect(page.locator(".gpsim-side")).to_have_count(0)
    page.wait_for_timeout(400)
    tab.shot("projector-1920-story.png")
    size = page.locator(".gpsim-story-text").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 24, size
    page.set_viewport_size({"width": 1280, "height": 720})
    tab.choose(".gpsim-show", "the map")
    page.wait_for_timeout(400)
    tab.shot("projector-1280-map.png")
    box = page.locator(".gpsim-map").bounding_box()
    legend = page.locator(".gpsim-map-legend").bounding_box()
    assert box["height"] >= 450, box
    assert legend["y"] + legend["height"] <= 720 + 1, "the map (and its key) goes below the fold at 1280x720"
    assert box["x"] > page.locator(".gpsim-story").bounding_box()["x"]  # beside the story, not under it
    page.click(".gpsim-presenter-toggle")
    expect(page.locator(".gpsim-side")).to_have_count(1)
    page.locator(".gpsim-story-back").click()
    expect(page.locator(".gpsim-story-head")).to_contain_text("step 2 of 3", timeout=30_000)
    expect(page.locator(".gpsim-chart-key")).to_have_count(0)  # back before A was kept
    tab.wait_month(48, timeout=60_000)
    tab.check_clean()
    tab.close()


def test_extreme_sliders(server, browser):
    """Every slider (Basic and Advanced) to its maximum, then to its minimum: each run starts and steps."""
    from playwright.sync_api import expect

    proc, url = server
    tab = Tab(browser, url)
    page = tab.page
    page.click(".gpsim-advanced-header")
    page.wait_for_selector(".gpsim-param-trust_gain_rate [role=slider]", state="attached")
    sliders = page.locator(".gpsim-side [role=slider]")
    n = sliders.count()
    assert n >= 60
    results = {}
    for key in ("End", "Home"):
        for k in range(n):  # one after another, as a visitor would (the server keeps up, so Reset is not queued
            sliders.nth(k).focus()  # behind a pile of moves)
            sliders.nth(k).press(key)
        tab.reset(timeout=180_000)  # the server takes the slider moves in order, then Reset
        expect(page.locator(".gpsim-error")).to_have_count(0)
        for m in (1, 2):  # the first steps wait behind redrawing all the settings (3,000 practices at the top)
            page.click(".gpsim-step")
            tab.wait_month(m, timeout=90_000)
        results[key] = page.locator(".gpsim-area-text").inner_text()
        tab.shot(f"laptop-extreme-{'max' if key == 'End' else 'min'}.png")
    print(f"\nUI extreme sliders ({n} sliders): {results}")
    tab.check_clean()
    tab.close()
    assert proc.poll() is None


def test_tab_closed_while_playing(server, browser):
    """A tab closed mid-run (while Play is running): the server keeps serving and frees that session."""
    proc, url = server
    tab = Tab(browser, url)
    tab.choose(".gpsim-speed", "fast")
    tab.page.click(".gpsim-play")
    tab.wait_month_at_least(3)
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
