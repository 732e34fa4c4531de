"""Accessibility (无障碍) of the spot-check pages with a round in them: the crawl of
``test_accessibility`` (axe-core in headless Chromium, desktop and 390 px) from the rounds
list, a round's page with its sample, the re-checker's queue and form, and the results, for
the roles that see them. (The whole workbench's crawl has no round to open.)"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from axe_selenium_python import Axe

from gateway.auth.roles import Role
from tests.e2e.test_accessibility import ACCOUNT, crawl, sign_in
from tests.e2e.test_spot_checks import closed_as_unfounded
from tests.support.browser import browser_session
from tests.support.workbench import api, wait_until, workbench_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    yield from workbench_stack(amqp_uri, tmp_path_factory)


@pytest.fixture(scope="module")
def round_id(stack) -> str:
    base = stack.base_url
    post = lambda path, body: httpx.post(  # noqa: E731
        f"{base}{path}", headers=api(stack, "spotcheck"), json=body, timeout=60)
    for i in range(2):
        closed_as_unfounded(stack, f"无障碍抽查问题{i}")
    period = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    wait_until(lambda: httpx.get(f"{base}/api/v1/spot-checks/population?period={period}",
                                 headers=api(stack, "spotcheck"), timeout=30)
               .json()["groups"], timeout=60)
    wait_until(lambda: httpx.get(f"{base}/api/v1/spot-checks/rounds",
                                 headers=api(stack, "spotcheck"), timeout=30)
               .json()["recheckers"], timeout=60)
    opened = post("/api/v1/spot-checks/rounds", {"kind": "spot_check", "period": period})
    assert opened.status_code == 201, opened.text
    rid = opened.json()["round_id"]
    assert post(f"/api/v1/spot-checks/rounds/{rid}/seed",
                {"seed": "01382438112797316654"}).status_code == 200
    assert post(f"/api/v1/spot-checks/rounds/{rid}/assign", {"rechecker": "spotcheck"}
                ).status_code == 200
    return rid


def test_the_spot_check_pages_have_no_critical_or_serious_violation(stack, round_id):
    base = stack.base_url
    found: list[str] = []
    checked: dict[str, list[str]] = {}
    with browser_session("zh-CN") as browser:
        axe = Axe(browser)
        for role in (Role.SPOT_CHECK, Role.COUNTY_OFFICE, Role.UNIT_HANDLER):
            sign_in(browser, base, ACCOUNT[role])
            start = ["/workbench/spot-check-results"]
            if role is not Role.UNIT_HANDLER:
                start += ["/workbench/rounds", f"/workbench/rounds/{round_id}"]
            if role is Role.SPOT_CHECK:
                start.append("/workbench/rechecks")
            pages, problems = crawl(browser, axe, base, role, start)
            checked[role.value] = pages
            found += problems
            browser.open(f"{base}/workbench")
            browser.wait_text("h1")
            browser.click("#sign-out")
            browser.wait("return location.pathname === '/workbench/sign-in'")
    assert not found, "\n".join(["critical or serious accessibility violations:", *found])
    team = checked[Role.SPOT_CHECK.value]
    assert any(p.startswith("/workbench/rechecks/") for p in team), team  # the form
    assert f"/workbench/rounds/{round_id}" in checked[Role.COUNTY_OFFICE.value] + team
