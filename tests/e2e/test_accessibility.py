"""Accessibility (无障碍) of every page, checked with axe-core in headless Chromium.

axe-core comes bundled with ``axe-selenium-python`` (nothing is fetched from the network) and
runs in the page through the same WebDriver the other browser tests speak. Each staff role
signs in (a demo account of each) and the test CRAWLS the workbench from the shell: every
same-origin ``/workbench/...`` link (GET) reachable from the pages, one page per path pattern
(an id in a path does not make a new pattern, nor does a query's filter, sort or page, so a
list of twenty problems is one page, not twenty), up to a cap per role that the test shows
was not reached. A pattern one role checked is not checked again for the next (its links are
still followed), except the shell and the problem pages, whose navigation and forms differ. Pages added to the
workbench later are checked once they are linked. The public pages (/, /receipt, /docs) are
checked too. Every page is checked at desktop width and at 390 px; the test fails listing
every critical or serious violation (rule, page, width, nodes).
"""
from __future__ import annotations

import re
from collections import deque
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from axe_selenium_python import Axe

from gateway.auth.demo import DEMO_ACCOUNTS
from gateway.auth.roles import STAFF_ROLES, Role
from tests.support.browser import DESKTOP, PHONE, SHOTS, Browser, browser_session
from tests.support.stack import Stack
from tests.e2e.test_spot_checks import closed_as_unfounded
from tests.support.workbench import PASSWORDS, api, dispatched_problem, plan_form, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Every staff role (those the workbench names first), each with its first demo account.
FIRST = (Role.UNIT_HANDLER, Role.SUPERVISOR, Role.COUNTY_OFFICE, Role.SPOT_CHECK, Role.MEDIA,
         Role.OPS)
ROLES = (*FIRST, *sorted((r for r in STAFF_ROLES if r not in FIRST), key=lambda r: r.value))
ACCOUNT = {role: next(d.username for d in DEMO_ACCOUNTS if d.role is role) for role in ROLES}
# The public pages, each with what says it has finished drawing itself.
PUBLIC_PAGES = {"/": "return document.querySelectorAll('#subject_unit option').length > 30",
                "/receipt": "return document.readyState === 'complete'",
                "/exposures": "return document.readyState === 'complete'",  # 公开曝光
                "/docs": "return !!document.querySelector('.opblock')"}
MAX_PAGES_PER_ROLE = 120
FAILING = ("critical", "serious")
# Not pages: links that download a file or end the session.
NOT_PAGES = re.compile(r"(\.(xlsx|csv|pdf|json|png|jpe?g)$)|/export|/download|/files/|/sign-out",
                       re.I)
ID_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{8,}$|^[0-9]+$")


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"),
                    extra_env={"LOGIN_RATE_PER_ACCOUNT": "100000/minute"})
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def problems(stack) -> dict[str, str]:
    """Problems in the states where the unit's forms differ: dispatched and rectifying."""
    dispatched = dispatched_problem(stack, "食堂卫生问题（无障碍·已交办）")
    rectifying = dispatched_problem(stack, "食堂卫生问题（无障碍·整改中）")
    body = {k.split(".", 1)[1]: v for k, v in plan_form(date.today() + timedelta(days=30)).items()
            if k.startswith("plan.")}
    verified = httpx.post(f"{stack.base_url}/api/v1/problems/{rectifying}/verify", timeout=30,
                          headers=api(stack, "handler-school1"), json={"plan": body})
    assert verified.status_code == 200, verified.text
    approved = httpx.post(f"{stack.base_url}/api/v1/problems/{rectifying}/approve_plan",
                          timeout=30, headers=api(stack, "supervisor-edu"), json={})
    assert approved.status_code == 200, approved.text
    ladder_cases(stack)
    return {"dispatched": dispatched, "rectifying": rectifying,
            "round": spot_check_round(stack)}


def spot_check_round(stack) -> str:
    """A spot-check round with its sample drawn and assigned: its page, the re-checker's
    queue and form have something on them."""
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


def ladder_cases(stack) -> None:
    """The accountability ladder with something on it: a notice confirmed for the school
    (its own page lists it) and a proposal waiting (the county office's forms)."""
    county = api(stack, "county")
    upload = httpx.post(f"{stack.base_url}/api/v1/files", timeout=30, content=b"%PDF-1.4\n"
                        b"1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
                        headers={**county, "X-Filename": "a.pdf"})
    assert upload.status_code == 201, upload.text
    sha = upload.json()["files"][0]["original"]["sha256"]
    made = []
    for findings in ("暗访发现清理工作走过场（无障碍）", "暗访发现台账弄虚作假（无障碍）"):
        reply = httpx.post(f"{stack.base_url}/api/v1/accountability/findings", timeout=30,
                           headers=county, json={"unit": "org_sch_yanshan_high",
                                                 "kind": "perfunctory", "findings": findings,
                                                 "evidence": [sha]})
        assert reply.status_code == 201, reply.text
        made.append(reply.json()["id"])
    confirmed = httpx.post(f"{stack.base_url}/api/v1/accountability/proposals/{made[0]}/confirm",
                           timeout=30, headers=county, json={})
    assert confirmed.status_code == 200, confirmed.text


def pattern(url: str) -> str:
    """A page's pattern: id-like path segments as ``{id}``, and whether it has a query (a
    filtered, sorted or later page of a list is the same page drawn with other rows)."""
    parts = urlsplit(url)
    path = "/".join("{id}" if ID_LIKE.match(s) else s for s in parts.path.split("/"))
    return path + ("?…" if parse_qsl(parts.query, keep_blank_values=True) else "")


def same_page(key: str, other: str) -> bool:
    """Two patterns that differ in one inner path segment only draw the same page for
    different things (``/accounts/media/reset`` and ``/accounts/ops/reset``), within one
    area of the workbench."""
    a, b = key.split("/"), other.split("/")
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return key == other or (len(a) == len(b) and len(differ) == 1
                            and 3 <= differ[0] < len(a) - 1)


def links_of(browser: Browser, base: str) -> list[str]:
    """Same-origin workbench links of the page (anchors are GET), without fragments."""
    hrefs = browser.js("return Array.from(document.querySelectorAll('a[href]'),"
                       " a => a.href.split('#')[0]);")
    return [h[len(base):] for h in hrefs
            if h.startswith(base + "/workbench") and not NOT_PAGES.search(urlsplit(h).path)]


def violations(browser: Browser, axe: Axe, page: str, width: int) -> list[str]:
    browser.resize(width, 1400)
    results = axe.run()
    found = []
    for v in results["violations"]:
        if v.get("impact") not in FAILING:
            continue
        nodes = "; ".join(" ".join(n["target"]) + " → " + (n.get("failureSummary") or "")
                          .replace("\n", " ")[:200] for n in v["nodes"][:5])
        found.append(f"[{v['impact']}] {v['id']} on {page} at {width}px "
                     f"({len(v['nodes'])} nodes): {nodes}")
    return found


def check(browser: Browser, axe: Axe, page: str, name: str) -> list[str]:
    found = []
    axe.inject()   # once a page: resizing does not reload it
    for width in (DESKTOP, PHONE):
        found += violations(browser, axe, page, width)
    browser.resize(DESKTOP, 1400)
    browser.screenshot(SHOTS / f"a11y-{name}.png")
    return found


def sign_in(browser: Browser, base: str, username: str) -> None:
    browser.open(f"{base}/workbench/sign-in")
    browser.wait_text("h1")
    browser.type("#f-username", username)
    browser.type("#f-password", PASSWORDS[username])
    browser.click("#sign-in")
    browser.wait("return location.pathname === '/workbench'")


def crawl(browser: Browser, axe: Axe, base: str, role: Role, start: list[str],
          shared: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Every page pattern reachable from the shell and the ``start`` pages (each visited for
    its links even if its pattern was checked), once per pattern. ``shared``: the patterns
    earlier roles checked (pattern → role); such a page is still visited for its links but
    axe runs on it once for all roles, except the shell and the ``start`` pages, which are
    checked for every role (the navigation and a problem's forms differ by role)."""
    shared = {} if shared is None else shared
    queue = deque([(p, True) for p in ("/workbench", *start)])
    visited, checked, found = set(), {}, []
    while queue and len(checked) < MAX_PAGES_PER_ROLE:
        path, always = queue.popleft()
        key = pattern(path)
        known = any(same_page(key, other) for other in checked)
        if path in visited or (known and not always):
            continue
        visited.add(path)
        browser.open(base + path)
        browser.wait("return document.readyState === 'complete'")
        if browser.js("return document.contentType") != "text/html":
            continue
        if not known:
            checked[key] = path
            if always or not any(same_page(key, other) for other in shared):
                shared.setdefault(key, role.value)
                name = f"{role.value}-{re.sub(r'[^A-Za-z0-9]+', '-', key).strip('-') or 'home'}"
                found += check(browser, axe, f"{path} ({role.value})", name)
        queue.extend((link, False) for link in links_of(browser, base)
                     if not any(same_page(pattern(link), other) for other in checked))
    return list(checked.values()), found


def test_every_page_has_no_critical_or_serious_accessibility_violation(stack, problems):
    base = stack.base_url
    found: list[str] = []
    checked: dict[str, list[str]] = {}
    with browser_session("zh-CN") as browser:
        axe = Axe(browser)
        for path, ready in PUBLIC_PAGES.items():
            browser.open(base + path)
            browser.wait(ready, timeout=30)
            found += check(browser, axe, path, "public" + path.replace("/", "-"))
        browser.open(f"{base}/workbench/sign-in")
        found += check(browser, axe, "/workbench/sign-in", "sign-in")
        browser.click("#sign-in")  # nothing filled in: the page with its error summary
        browser.wait_text("#error-summary")
        found += check(browser, axe, "/workbench/sign-in (errors)", "sign-in-errors")
        start = [f"/workbench/problems/{problems[k]}" for k in ("dispatched", "rectifying")]
        rounds = [f"/workbench/rounds/{problems['round']}", "/workbench/rechecks"]
        shared: dict[str, str] = {}
        for role in ROLES:
            sign_in(browser, base, ACCOUNT[role])
            pages, problems_found = crawl(browser, axe, base, role, [
                *start, *(rounds if role in (Role.SPOT_CHECK, Role.COUNTY_OFFICE) else ())],
                shared)
            assert len(pages) < MAX_PAGES_PER_ROLE, (role, pages)   # the cap cut nothing
            checked[role.value] = pages
            found += problems_found
            if role is Role.UNIT_HANDLER:  # a form sent back with its errors
                browser.open(f"{base}/workbench/problems/{problems['dispatched']}/verify")
                browser.click("#submit")
                browser.wait_text("#error-summary")
                found += check(browser, axe, "verify (errors)", "verify-errors")
            browser.open(f"{base}/workbench")
            assert browser.wait_text("h1"), browser.js("return document.body.innerText")
            browser.click("#sign-out")
            browser.wait("return location.pathname === '/workbench/sign-in'")
    assert not found, "\n".join(["critical or serious accessibility violations:", *found])
    assert any(p.startswith("/workbench/accountability/mine")
               for p in checked[Role.UNIT_HANDLER.value]), checked
    assert any(p.startswith("/workbench/accountability/units/")
               for pages in checked.values() for p in pages), checked
    assert "/workbench/accountability" in checked[Role.COUNTY_OFFICE.value], checked
    team = checked[Role.SPOT_CHECK.value]
    assert any(p.startswith("/workbench/rechecks/") for p in team), team   # the re-check form
    assert f"/workbench/rounds/{problems['round']}" in team + checked[Role.COUNTY_OFFICE.value]
    assert any(p.startswith("/workbench/spot-check-results") for p in team), team
    handler = checked[Role.UNIT_HANDLER.value]
    for form in ("/verify", "/report_unfounded", "/record_progress", "/report_rectified",
                 "/work-plan"):
        assert any(p.endswith(form) for p in handler), (form, checked)  # the crawl found it
