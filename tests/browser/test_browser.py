"""The browser test setup itself: Debian's headless Chromium drives a small page served from
127.0.0.1, with and without JavaScript, at desktop and phone size."""

import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import PHONE, screenshot

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Browser smoke test</title></head>
<body>
<h1>Greeter</h1>
<p id="mode">server-rendered</p>
<form action="/greet" method="get">
  <label for="name">Name</label> <input id="name" name="name">
  <button id="greet" type="submit">Greet</button>
</form>
<p id="greeting">{greeting}</p>
<script>
document.getElementById("mode").textContent = "scripted";
document.getElementById("greet").addEventListener("click", function (event) {{
  event.preventDefault();
  var name = document.getElementById("name").value;
  document.getElementById("greeting").textContent = "Hello from JS, " + name;
}});
</script>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    """/ serves the page; /greet?name=X serves it with the greeting rendered by the server."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        greeting = ""
        if url.path == "/greet":
            name = parse_qs(url.query).get("name", [""])[0]
            greeting = f"Hello from the server, {html.escape(name)}"
        elif url.path != "/":
            self.send_error(404)
            return
        body = PAGE.format(greeting=greeting).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The page's base URL, on a free port of 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def greet(driver: webdriver.Chrome, name: str) -> None:
    field = driver.find_element(By.ID, "name")
    field.clear()
    field.send_keys(name)
    driver.find_element(By.ID, "greet").click()


def test_script_runs_on_click(browser: webdriver.Chrome, site: str) -> None:
    browser.get(site + "/")
    assert browser.find_element(By.ID, "mode").text == "scripted"
    greet(browser, "Ada")
    WebDriverWait(browser, 10).until(
        ec.text_to_be_present_in_element((By.ID, "greeting"), "Hello from JS, Ada")
    )
    path = screenshot(browser, "smoke-desktop")
    assert path.is_file() and path.stat().st_size > 0


def test_page_works_without_javascript(browser_without_js: webdriver.Chrome, site: str) -> None:
    driver = browser_without_js
    driver.get(site + "/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Greeter"
    assert driver.find_element(By.ID, "mode").text == "server-rendered"
    greet(driver, "Ada")
    WebDriverWait(driver, 10).until(
        ec.text_to_be_present_in_element((By.ID, "greeting"), "Hello from the server, Ada")
    )
    assert "/greet?name=Ada" in driver.current_url
    path = screenshot(driver, "smoke-no-js")
    assert path.is_file() and path.stat().st_size > 0


def test_phone_size(phone: webdriver.Chrome, site: str) -> None:
    phone.get(site + "/")
    viewport = phone.execute_script("return [window.innerWidth, window.innerHeight]")
    assert tuple(viewport) == PHONE
    assert phone.find_element(By.ID, "greet").is_displayed()
    path = screenshot(phone, "smoke-phone")
    assert path.is_file() and path.stat().st_size > 0
