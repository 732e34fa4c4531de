"""Headless Chromium for the browser tests: Debian's ``chromium`` and ``chromedriver``, spoken
to in W3C WebDriver over plain HTTP (what Selenium speaks), and the small helpers the browser
tests share (fill, press, shoot, wait_until). The tests fail, not skip, when Chromium is
missing (``make test`` installs it)."""
from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
SHOTS = Path(os.environ.get("PAGES_SCREENSHOT_DIR", tempfile.gettempdir()))
PHONE, DESKTOP = 390, 1280


def chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("the browser tests need headless Chromium: apt-get install chromium "
                    "chromium-driver (or deselect them with -m 'not browser')")
    return found


class Browser:
    """Just enough W3C WebDriver, spoken to chromedriver with httpx. ``execute_script`` and
    ``execute_async_script`` are Selenium's names, so ``axe_selenium_python.Axe`` drives it."""

    ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

    def __init__(self, endpoint: str, session: str):
        self.url = f"{endpoint}/session/{session}"

    def _call(self, method: str, path: str, body: dict | None = None):
        reply = httpx.request(method, self.url + path, json=body, timeout=120)
        value = reply.json().get("value")
        assert reply.status_code == 200, value
        return value

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def js(self, script: str, *args):
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def execute_script(self, script: str, *args):
        return self.js(script, *args)

    def execute_async_script(self, script: str, *args):
        return self._call("POST", "/execute/async", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return self._call("POST", "/element", {"using": "css selector", "value": css})[self.ELEMENT]

    def type(self, css: str, text: str) -> None:
        self._call("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self._call("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return self.js("const e = document.querySelector(arguments[0]);"
                       "return e && !e.closest('[hidden]') ? e.innerText : null;", css)

    def wait(self, script: str, *args, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(script, *args)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"not true in {timeout}s: {script}")

    def wait_text(self, css: str, timeout: float = 20) -> str:
        return self.wait("const e = document.querySelector(arguments[0]);"
                         "return e && !e.closest('[hidden]') && e.innerText.trim();",
                         css, timeout=timeout)

    def resize(self, width: int, height: int = 1800) -> None:
        self._call("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))

    def console_errors(self) -> list[str]:
        """Script errors and CSP refusals; an HTTP error status the page expects is not one."""
        entries = self._call("POST", "/se/log", {"type": "browser"})
        return [e["message"] for e in entries
                if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def browser_session(language: str = "zh-CN"):
    driver = shutil.which("chromedriver")
    if not driver:
        pytest.fail("the browser tests need chromedriver: apt-get install chromium-driver")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{endpoint}/status", timeout=2).json()["value"]["ready"]:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.2)
        options = {"binary": chromium(), "prefs": {"intl.accept_languages": language},
                   "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--lang={language}",
                            "--window-size=1280,1400"]}
        created = httpx.post(f"{endpoint}/session", timeout=60, json={"capabilities": {
            "alwaysMatch": {"goog:chromeOptions": options,
                            "goog:loggingPrefs": {"browser": "ALL"}}}})
        assert created.status_code == 200, created.text
        session = created.json()["value"]["sessionId"]
        try:
            yield Browser(endpoint, session)
        finally:
            httpx.delete(f"{endpoint}/session/{session}", timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def fill(browser: Browser, values: dict) -> None:
    """Set inputs' values by element id (dates, selects) and tell the page they changed."""
    browser.js("for (const [id, v] of Object.entries(arguments[0])) {"
               " const e = document.getElementById(id); e.value = v;"
               " e.dispatchEvent(new Event('change', {bubbles: true})); }", values)


def press(browser: Browser, *keys: str) -> None:
    """Keys pressed on the keyboard (W3C actions), e.g. Tab is \\ue004 and Enter \\ue007."""
    steps = [step for key in keys for step in ({"type": "keyDown", "value": key},
                                               {"type": "keyUp", "value": key})]
    browser._call("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard",
                                                     "actions": steps}]})


def shoot(browser: Browser, name: str) -> None:
    """Screenshots at phone (390 px) and desktop width, kept as artifacts in ``SHOTS``."""
    for width, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        browser.resize(width)
        browser.screenshot(SHOTS / f"workbench-{name}-{label}.png")


def wait_until(probe, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")
