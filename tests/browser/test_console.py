"""A newcomer's first minutes in the console, in a real headless Chromium against `memos serve`
running as a process: sign in with the password it printed, create and copy a key, add the
guide's dialogue with the official SDK and that key, watch the memories appear, open a
memory's sources, search `国庆去哪玩` in the playground, erase the user. Every page is saved
under tests/artifacts/screenshots (console-*.png)."""

import json
import re
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import phone_window, screenshot
from tests.e2e.process import run_service
from tests.e2e.test_sdk import run_sdk
from tests.stack import GUIDE_MESSAGES

USER = "newcomer"


def css(driver: webdriver.Chrome, selector: str):  # noqa: ANN201 (a WebElement)
    return driver.find_element(By.CSS_SELECTOR, selector)


def wait_for(driver: webdriver.Chrome, condition, timeout: float = 20):  # noqa: ANN001, ANN201
    """The condition's first true value; an element gone because the page changed under it
    (a form's answer loading) is looked for again."""
    return WebDriverWait(
        driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(lambda d: condition(d))


def sign_in(driver: webdriver.Chrome, console: str, password: str) -> None:
    driver.get(console)
    wait_for(driver, lambda d: "/console/login" in d.current_url)
    css(driver, "#password").send_keys(password)
    css(driver, "form button[type=submit]").click()
    wait_for(driver, lambda d: d.current_url.endswith("/console/projects"))


def test_a_newcomer_signs_in_copies_a_key_and_watches_memories_appear(
    tmp_path: Path, browser: webdriver.Chrome, browser_without_js: webdriver.Chrome
) -> None:
    data = tmp_path / "data"
    with run_service("serve", data, LOG_LEVEL="WARNING") as service:
        printed = re.search(
            r"console\s*: (\S+)\s+\(sign in as admin, password: (\S+)\)", service.output()
        )
        assert printed, service.output()[-2000:]
        console, password = printed[1], printed[2]
        driver = browser

        driver.get(console)
        wait_for(driver, lambda d: "/console/login" in d.current_url)
        screenshot(driver, "console-01-sign-in")
        sign_in(driver, console, password)
        assert "default" in css(driver, "main table").text  # the project `make run` made
        screenshot(driver, "console-02-projects")

        css(driver, "main table a").click()
        wait_for(driver, lambda d: d.current_url.endswith("/console/projects/default"))
        css(driver, "#key-name").send_keys("my laptop")
        css(driver, "#create-key").click()
        key = wait_for(driver, lambda d: css(d, "#new-key").text)
        assert key.startswith("mpg-")
        driver.execute_cdp_cmd(
            "Browser.grantPermissions",
            {
                "origin": service.base,
                "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            },
        )
        css(driver, "button[data-copy='#new-key']").click()
        wait_for(driver, lambda d: css(d, "button[data-copy='#new-key']").text == "Copied")
        copied = driver.execute_async_script(
            "const done = arguments[0];"
            "navigator.clipboard.readText().then(done, (e) => done('unreadable: ' + e));"
        )
        assert copied == key
        screenshot(driver, "console-03-key-created")

        added = run_sdk(
            "browser/sdk_add.py",
            service,
            data,
            USER,
            "summer",
            json.dumps(GUIDE_MESSAGES, ensure_ascii=False),
            key=copied,
        )
        assert added["status"] == "completed"

        driver.get(f"{console}/projects/default")
        users = wait_for(driver, lambda d: css(d, "#users").text)
        assert USER in users
        screenshot(driver, "console-04-project")
        driver.find_element(By.LINK_TEXT, USER).click()
        memories = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#memories a.value"))
        assert any("孩子" in m.text or "全家" in m.text for m in memories)
        screenshot(driver, "console-05-user")

        family = next(m for m in memories if "孩子" in m.text or "全家" in m.text)
        family_text = family.text
        family.click()
        wait_for(driver, lambda d: "/memories/" in d.current_url)
        assert css(driver, "#memory-value").text == family_text
        screenshot(driver, "console-06-memory")
        source = css(driver, "#sources a")
        said = source.text
        source.click()
        wait_for(driver, lambda d: "/conversation" in d.current_url and "#m-" in d.current_url)
        target = css(driver, ".message:target")
        assert target.text.split("\n")[-1] in said
        screenshot(driver, "console-07-source")

        driver.get(f"{console}/projects/default/playground")
        css(driver, "input[name=user]").send_keys(USER)
        css(driver, "input[name=query]").send_keys("国庆去哪玩")
        css(driver, "#search").click()
        first = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#memory-results li"))[
            0
        ]
        assert "孩子" in first.text or "全家" in first.text, first.text
        first.find_element(By.CSS_SELECTOR, "summary").click()
        evidence = first.find_element(By.CSS_SELECTOR, ".evidence dl").text
        assert "cosine" in evidence and "conversation_boost" in evidence
        screenshot(driver, "console-08-playground")

        for page, name in (
            ("jobs", "console-09-jobs"),
            ("usage", "console-10-usage"),
            ("webhooks", "console-10-webhooks"),
        ):
            driver.get(f"{console}/projects/default/{page}")
            wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "h1"))
            screenshot(driver, name)

        with phone_window(driver):
            driver.get(f"{console}/projects/default/user?id={USER}")
            wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#memories a.value"))
            width = driver.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390, width  # nothing wider than the phone
            screenshot(driver, "console-11-phone")

        # Reading works with JavaScript off.
        sign_in(browser_without_js, console, password)
        browser_without_js.get(f"{console}/projects/default/user?id={USER}")
        assert wait_for(
            browser_without_js, lambda d: d.find_elements(By.CSS_SELECTOR, "#memories a.value")
        )
        screenshot(browser_without_js, "console-12-no-javascript")

        driver.get(f"{console}/projects/default/user?id={USER}")
        css(driver, "#confirm").send_keys(USER)
        css(driver, "#erase").click()
        wait_for(driver, lambda d: "Erased:" in css(d, "main").text)
        main = css(driver, "main").text
        assert "No memory matches." in main and "No messages." in main
        screenshot(driver, "console-13-erased")
        driver.get(f"{console}/projects/default")
        assert USER not in css(driver, "#users").text
