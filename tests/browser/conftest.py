"""Debian's Chromium, headless, driven by Selenium through Debian's chromedriver (never
Selenium Manager, which would download a browser). `make browser` installs both; when
either is missing the tests that need them fail, saying so."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.services import IN_CI

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
DESKTOP = (1280, 900)
PHONE = (390, 844)


def missing(what: str) -> None:
    ci = "CI=true and " if IN_CI else ""
    pytest.fail(f"{ci}{what} is not installed; run `make browser`", pytrace=False)


def start_chromium(javascript: bool = True) -> webdriver.Chrome:
    """A headless Chromium at desktop size; with `javascript=False`, one that runs no
    script, as a phone with JavaScript off would show the console."""
    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if chromium is None:
        missing("chromium")
    if chromedriver is None:
        missing("chromedriver")
    assert chromium is not None and chromedriver is not None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        "--disable-gpu",
    ):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    return webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the whole session, at desktop size."""
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def browser_without_js() -> Iterator[webdriver.Chrome]:
    """A headless Chromium with JavaScript disabled: the console must work without it."""
    driver = start_chromium(javascript=False)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def phone_window(driver: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """A phone's viewport (390x844 CSS pixels, mobile: the page's meta viewport applies)
    inside the block, back to desktop after. The window alone would leave the viewport
    shorter than the phone, by the height of the browser's own bars."""
    driver.set_window_size(*PHONE)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        yield driver
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(*DESKTOP)


@pytest.fixture
def phone(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The session's browser at a phone's size for one test."""
    with phone_window(browser) as driver:
        yield driver


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Save the window as tests/artifacts/screenshots/NAME.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if not driver.save_screenshot(str(path)):
        pytest.fail(f"Chromium could not save the screenshot {path}", pytrace=False)
    return path
