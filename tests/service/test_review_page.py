"""The review page end to end in headless Chromium (Debian's `chromium` and `chromium-driver`,
driven by Selenium) at 1400x900: sign in, decide three items with the keyboard, check the audit
trail, look at the dashboard; decide a text once for all its records with the actions in view.
Skipped only when Chromium is missing outside CI (CI=true fails instead).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from iccs.paths import PROJECT_ROOT
from service.app import create_app
from service.config import ReviewSettings
from service.reviews.queue import ReviewQueue
from tests.service.conftest import create_keys, make_settings
from tests.service.test_reviews import TEXTS

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("ICCS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("ICCS_CHROMEDRIVER", "/usr/bin/chromedriver"))
DOCS = PROJECT_ROOT / "docs"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",  # a laptop: the actions must stay in reach
)


def _browser_or_skip() -> Any:
    in_ci = os.environ.get("CI", "").lower() == "true"
    try:
        from selenium import webdriver
    except ImportError:
        if in_ci:
            raise
        pytest.skip("selenium is not installed (make install)")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = f"{CHROMIUM} or {CHROMEDRIVER} missing (make browser installs them)"
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return webdriver


@dataclass
class LiveService:
    url: str
    keys: dict[str, str]

    def api(self, role: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path, tiny_bundle: Path) -> Iterator[LiveService]:
    """The service on a real socket, with a queue of flagged records."""
    settings = make_settings(tmp_path, tiny_bundle)
    keys = create_keys(settings, ("submitter", "analyst", "admin"))
    app = create_app(settings)
    app.state.review_queue = ReviewQueue(
        ReviewSettings(qc_rate=0.0, double_coding_rate=0.0, sync_interval_seconds=0)
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    service = LiveService(f"http://127.0.0.1:{port}", keys)
    with service.api("submitter") as client:
        items = [{"id": str(i), "text": t} for i, t in enumerate(TEXTS)]
        assert client.post("/v1/classify", json={"items": items}).status_code == 200
    try:
        yield service
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    webdriver = _browser_or_skip()
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=DriverService(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # the element may be between two renders
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_analyst_decides_three_items_with_the_keyboard(
    live: LiveService, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    def by_id(element_id: str) -> Any:
        return browser.find_element(By.ID, element_id)

    def press(*keys: str) -> None:
        ActionChains(browser).send_keys(*keys).perform()

    def current_item() -> str:
        return str(by_id("item").get_attribute("data-id"))

    def next_item_after(previous: str) -> str:
        return str(
            wait_for(
                lambda: (
                    by_id("item").is_displayed() and current_item() != previous and current_item()
                ),
                "the next item",
            )
        )

    browser.get(f"{live.url}/review")
    by_id("key-input").send_keys(live.keys["submitter"], Keys.ENTER)  # not an analyst
    wait_for(lambda: "not a valid analyst key" in by_id("signin-error").text, "the refusal")
    by_id("key-input").send_keys(live.keys["analyst"], Keys.ENTER)
    wait_for(lambda: by_id("item").is_displayed(), "the first item")
    assert by_id("analyst-name").text == "test analyst (analyst)"
    pending = int(by_id("queue-pending").text)
    assert pending >= 4
    suggestions = browser.find_elements(By.CSS_SELECTOR, "#suggestions .suggestion")
    assert 1 <= len(suggestions) <= 3
    assert any(s.find_elements(By.CSS_SELECTOR, ".definition") for s in suggestions)

    decided: list[tuple[str, str, str]] = []  # (item id, action, code)
    first = current_item()
    first_code = str(suggestions[0].get_attribute("data-code"))
    press("1")  # accept the first suggestion
    decided.append((first, "accept", first_code))
    second = next_item_after(first)

    press("/")  # search the taxonomy in Spanish, pick with the arrow keys, Enter recodes
    wait_for(lambda: browser.switch_to.active_element == by_id("picker-input"), "the picker")
    press("robo")
    hits = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#picker-results .hit"), "search hits"
    )
    assert len(hits) >= 2
    press(Keys.ARROW_DOWN)
    chosen = str(hits[1].get_attribute("data-code"))
    assert "selected" in str(hits[1].get_attribute("class"))
    press(Keys.ENTER)
    decided.append((second, "recode", chosen))
    third = next_item_after(second)
    wait_for(lambda: by_id("progress-today").text == "2", "own progress")

    save_screenshot(browser, screenshot_path(tmp_path, "review-page.png"))
    # Correct a tag with its select (the model's value is preselected), then decide.
    cyber = Select(by_id("tag-cyber"))
    model_cyber = cyber.first_selected_option.get_attribute("value")
    corrected = "cyber_enabled" if model_cyber != "cyber_enabled" else "not_cyber"
    cyber.select_by_value(corrected)
    browser.execute_script("document.activeElement.blur()")
    press("n")  # not an offence
    decided.append((third, "not_an_offence", "NONE"))
    next_item_after(third)
    wait_for(lambda: by_id("progress-total").text == "3", "own progress")
    assert int(by_id("queue-pending").text) == pending - 3
    recent = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#recent li")]
    assert len(recent) == 3 and recent[0] == "not an offence NONE Not a criminal offence"

    with live.api("admin") as admin:
        trail = admin.get("/v1/reviews/audit").json()
    events = [(e["item_id"], e["action"], e["code"]) for e in reversed(trail["events"])]
    assert events == decided
    assert all(e["actor_name"] == "test analyst" for e in trail["events"])
    assert all(e["after"]["state"] == "decided" for e in trail["events"])
    assert trail["events"][0]["after"]["final_tags"]["cyber"] == corrected

    browser.get(f"{live.url}/dashboard")  # same tab: still signed in
    wait_for(lambda: by_id("tile-backlog").text == str(pending - 3), "the dashboard figures")
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-batches rect")
    assert bars and browser.find_elements(By.CSS_SELECTOR, "#chart-backlog polyline")
    assert by_id("tile-autocoding").text.endswith("%")
    assert by_id("tile-autocoding-n").text == f"n={len(TEXTS)} records"  # every rate with its n
    assert by_id("tile-agreement-n").text == "n=3 items, 3 texts"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#agreement-table tbody tr")) >= 1
    rows = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#counts-body tr"), "the counts table"
    )
    assert rows[-1].find_element(By.CSS_SELECTOR, "td").text == "total"
    save_screenshot(browser, screenshot_path(tmp_path, "dashboard.png"))

    # Drill down: section -> division, and back up by the breadcrumb.
    browser.find_element(By.CSS_SELECTOR, '#legend li[data-code="05"]').click()
    wait_for(lambda: by_id("crumbs").text.endswith("05 Acts against property only"), "05")
    legend = [
        li.get_attribute("data-code") for li in browser.find_elements(By.CSS_SELECTOR, "#legend li")
    ]
    assert "0502" in legend and "02" not in legend
    browser.find_element(By.CSS_SELECTOR, '#legend li[data-code="0502"]').click()
    wait_for(lambda: by_id("crumbs").text.endswith("0502 Theft"), "0502")
    browser.find_element(By.CSS_SELECTOR, "#crumbs button").click()  # All sections
    wait_for(lambda: by_id("crumbs").text == "All sections", "the top")

    # Each chart's table downloads as CSV.
    browser.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    buttons = browser.find_elements(By.CSS_SELECTOR, "button.csv")
    assert sorted(str(b.get_attribute("data-table")) for b in buttons) == sorted(
        ["by_batch", "by_day", "backlog", "autocoding", "agreement"]
    )
    next(b for b in buttons if b.get_attribute("data-table") == "by_day").click()
    saved = wait_for(lambda: list(tmp_path.glob("iccs-by-day-*.csv")), "the CSV download")
    assert saved[0].read_text().startswith("date,code,title,records,day_records")


def in_viewport(browser: Any, element: Any) -> bool:
    """Wholly inside the window, without scrolling."""
    return bool(
        browser.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0"
            " && r.bottom <= window.innerHeight && r.right <= window.innerWidth;",
            element,
        )
    )


def test_a_text_is_decided_once_with_the_actions_in_reach(
    live: LiveService, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    # With TEXTS' "took something", four records of one text.
    spellings = ["took something", "TOOK  something", "Took sométhing", "took SOMETHING"]
    with live.api("submitter") as client:
        items = [{"id": f"dup-{i}", "text": t} for i, t in enumerate(spellings[1:])]
        assert client.post("/v1/classify", json={"items": items}).status_code == 200

    def by_id(element_id: str) -> Any:
        return browser.find_element(By.ID, element_id)

    browser.get(f"{live.url}/review")
    by_id("key-input").send_keys(live.keys["analyst"], "\n")
    wait_for(lambda: by_id("item").is_displayed(), "the first item")
    assert browser.execute_script("return [window.innerWidth, window.innerHeight]")[1] <= 900
    assert by_id("item-text").text in spellings  # the most frequent uncertain text comes first
    assert by_id("item-group").is_displayed() and by_id("group-size").text == "4"
    assert by_id("group-sources").text == "(API 4)"
    pending = int(by_id("queue-pending").text)

    reach = [
        *browser.find_elements(By.CSS_SELECTOR, "[data-action]"),
        *browser.find_elements(By.CSS_SELECTOR, "#suggestions .accept"),
        by_id("picker-input"),
        by_id("comment"),
    ]
    assert len(reach) >= 6
    assert [e.text for e in reach if not in_viewport(browser, e)] == []
    # Long definitions are collapsed to two lines; one opens on demand.
    about = browser.find_elements(By.CSS_SELECTOR, "#suggestions details.about")
    assert about and not any(d.get_attribute("open") for d in about)

    ActionChains(browser).send_keys("/").perform()
    ActionChains(browser).send_keys("robo").perform()
    hits = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#picker-results .hit"), "search hits"
    )
    assert all(in_viewport(browser, hit) for hit in hits[:3])
    save_screenshot(browser, screenshot_path(tmp_path, "review-page-group.png"))
    chosen = str(hits[0].get_attribute("data-code"))
    hits[0].click()  # a mouse pick recodes too
    wait_for(lambda: by_id("item-text").text not in spellings, "the next text")
    assert "for 4 records" in by_id("message").text
    assert int(by_id("queue-pending").text) == pending - 4
    recent = browser.find_elements(By.CSS_SELECTOR, "#recent li")
    assert recent[0].text.startswith(f"recode {chosen}") and recent[0].text.endswith("×4")

    with live.api("admin") as admin:
        trail = admin.get("/v1/reviews/audit").json()["events"]
        decided = admin.get("/v1/reviews", params={"state": "decided"}).json()["items"]
    assert sorted(e["item_id"] for e in trail) == sorted(i["id"] for i in decided)
    assert len(trail) == 4 and all(e["code"] == chosen for e in trail)
    assert sorted(i["text"] for i in decided) == sorted(spellings)


def screenshot_path(tmp_path: Path, name: str) -> Path:
    """docs/NAME in CI, when asked (ICCS_UPDATE_SCREENSHOTS=1) or when missing; otherwise a
    temporary file, so that a local run leaves the work tree clean."""
    update = os.environ.get("ICCS_UPDATE_SCREENSHOTS") == "1" or os.environ.get("CI") == "true"
    if update or not (DOCS / name).exists():
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS / name
    return tmp_path / name


def save_screenshot(browser: Any, path: Path) -> None:
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
