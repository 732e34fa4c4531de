"""The API's documentation reads offline: ``/docs`` (Swagger UI) and ``/redoc`` render in
headless Chromium with every request outside 127.0.0.1 blocked, from the gateway alone."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time

import httpx
import pytest

from tests.e2e.test_pages import CHROMIUM_FLAGS, csp_directives, references
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
OFFLINE = ("--proxy-server=http://127.0.0.1:9",  # anything not on loopback goes nowhere
           "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")


@pytest.fixture(scope="module")
def gateway(amqp_uri, tmp_path_factory):
    """The gateway process on its own: the docs need no service."""
    stack = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("docs"))
    stack.start("gateway")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert stack.procs["gateway"].poll() is None, stack.tail("gateway")
            try:
                if httpx.get(stack.base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield stack
    finally:
        stack.stop_all()


def offline_dom(url: str) -> tuple[str, list[str]]:
    """The rendered DOM, and what the page said on its console."""
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("the browser tests need headless Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, *OFFLINE, f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_a_docs_page_loads_only_files_of_its_own_origin_under_a_strict_policy(gateway, page):
    reply = httpx.get(gateway.base_url + page, timeout=10)
    assert reply.status_code == 200
    csp = csp_directives(reply.headers["content-security-policy"])
    assert csp["default-src"] == csp["script-src"] == csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    html = references(reply.text)
    assert [i for i in html.inline if "style" not in i] == []
    for url in html.urls:
        assert url.startswith("/docs-assets/"), url
        asset = httpx.get(gateway.base_url + url, timeout=10)
        assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff"


@pytest.mark.browser
def test_swagger_ui_renders_every_operation_with_the_network_cut(gateway):
    dom, console = offline_dom(gateway.base_url + "/docs")
    spec = httpx.get(gateway.base_url + "/openapi.json", timeout=10).json()
    rendered = set(re.findall(r'data-path="([^"]+)"', dom))
    assert rendered == set(spec["paths"])
    assert "不作为、乱作为、慢作为问题专项清理" in dom
    assert console == [], console


@pytest.mark.browser
def test_redoc_renders_the_api_with_the_network_cut(gateway):
    dom, console = offline_dom(gateway.base_url + "/redoc")
    assert "不作为、乱作为、慢作为问题专项清理" in dom
    assert "/api/v1/problems/{problem_id}/dispatch" in dom
    assert "Who may call" in dom
    # the one thing that tried to leave (ReDoc's logo on its CDN) was refused by the policy
    assert all("https://cdn.redoc.ly/" in line and "blocked" in line for line in console), console
