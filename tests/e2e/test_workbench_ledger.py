"""The ledger's pages on the workbench (台账, 逾期/停滞问题, 工作方案备案) through the real
stack: the filters narrow the list to what the API counts, a unit's handler sees its own unit
whatever it asks for, columns sort, pages page, the overdue and stalled lists show how late,
and the work plans page lists missing and late plans and acknowledges one (with CSRF).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date
from pathlib import Path
from urllib.parse import quote

import axe_selenium_python
import httpx
import pytest

from gateway.auth.roles import STAFF_ROLES, Role
from kit.periods import county_today  # the pages count days by the county's date
from tests.e2e.test_pages import SHOTS, browser_session
from tests.support.workbench import (
    ONE_PER_ROLE, PASSWORDS, POLICE, SCHOOL, Staff, api, dispatch, file_clue, let_days_pass,
    problems_of_clues, workbench_stack,
)

pytestmark = pytest.mark.e2e
SUPERVISING = {Role.COUNTY_OFFICE, Role.SUPERVISOR}
READERS = {Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.UNIT_HANDLER, Role.SPOT_CHECK}
LATE_DAYS = 40
UNIT_NAMES = {SCHOOL: "盐山中学", POLICE: "县公安局"}


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    """A stack of this module's own: its tests count and sort everything on the ledger."""
    yield from workbench_stack(amqp_uri, tmp_path_factory)


@pytest.fixture(scope="module")
def ledger(stack) -> dict:
    """25 problems: 14 about the school (education system), 11 about the police (the
    supervision bureau's); some dispatched; one police problem 40 days late."""
    county = api(stack, "county")
    plan = ([("school", SCHOOL, "inaction")] * 9 + [("school", SCHOOL, "misconduct")] * 5
            + [("police", POLICE, "slowness")] * 11)
    clues = {file_clue(stack, f"台账测试{n:02d}号问题（{who}）", unit=unit, kind=kind): (who, kind)
             for n, (who, unit, kind) in enumerate(plan)}
    ids = problems_of_clues(stack, clues, county)
    school = [ids[c] for c, (who, _) in clues.items() if who == "school"]
    police = [ids[c] for c, (who, _) in clues.items() if who == "police"]
    misconduct = [ids[c] for c, (_, kind) in clues.items() if kind == "misconduct"]
    for pid in school[:4] + police[:3]:
        dispatch(stack, pid, county)
    late = police[0]
    let_days_pass(stack, late, LATE_DAYS)
    return {"school": school, "police": police, "misconduct": misconduct,
            "dispatched": school[:4] + police[:3], "late": late, "county": county}


def listed(page: httpx.Response) -> list[str]:
    """The problem ids of a ledger page's rows, in order."""
    assert page.status_code == 200, page.text
    table = re.search(r'<table[^>]*id="ledger".*?</table>', page.text, re.S)
    return re.findall(r'<td[^>]*><a href="/workbench/problems/(\w+)">', table.group(0)) \
        if table else []


def total_of(page: httpx.Response) -> int:
    return int(re.search(r'id="count" role="status" data-total="(\d+)"', page.text).group(1))


def api_list(stack, headers: dict, **params) -> dict:
    reply = httpx.get(f"{stack.base_url}/api/v1/problems", timeout=10, headers=headers,
                      params={"limit": 200, **params})
    assert reply.status_code == 200, reply.text
    return reply.json()


# --- filters and counts ----------------------------------------------------------------------

@pytest.mark.parametrize("query, api_params", [
    ({}, {}),
    ({"state": "dispatched"}, {"state": "dispatched"}),
    ({"kind": "misconduct"}, {"kind": "misconduct"}),
    ({"unit": "盐山中学"}, {"unit": SCHOOL}),
    ({"unit": "公安"}, {"unit": POLICE}),  # a part of exactly one unit's name
    ({"unit": "Yanshan High School", "state": "registered"},
     {"unit": SCHOOL, "state": "registered"}),
    ({"channel": "public_report_platform", "kind": "slowness"},
     {"channel": "public_report_platform", "kind": "slowness"}),
    ({"outcome": "unfounded"}, {"outcome": "unfounded"}),
    ({"overdue": "1"}, {"overdue": "true"}),
    ({"stalled": "on"}, {"stalled": "true"}),
])
def test_the_filters_narrow_the_list_and_the_counts_match_the_apis(stack, ledger, query,
                                                                   api_params):
    county = Staff(stack, "county")
    page = county.get("/workbench/problems", params={**query, "sort": "newest"})
    answer = api_list(stack, ledger["county"], **api_params)
    assert total_of(page) == answer["total"]
    assert listed(page) == [p["id"] for p in answer["items"]][:20]
    assert 'id="ignored"' not in page.text
    for name, value in query.items():  # the form shows what was asked
        if name in ("state", "kind", "channel", "outcome"):
            assert f'<option value="{value}" selected>' in page.text
        elif name == "unit":  # by its name, whatever was typed
            assert f'value="{UNIT_NAMES[api_params["unit"]]}"' in page.text
        else:
            assert f'id="f-{name}" name="{name}" value="1" checked' in page.text


def test_the_filters_do_narrow(stack, ledger):
    county = Staff(stack, "county")
    everything = total_of(county.get("/workbench/problems"))
    assert everything >= 25
    assert total_of(county.get("/workbench/problems?state=dispatched")) == 7
    assert set(listed(county.get("/workbench/problems?kind=misconduct"))) == set(
        ledger["misconduct"])
    assert set(listed(county.get(f"/workbench/problems?unit={quote('县公安局')}"))) == set(
        ledger["police"])
    both = county.get("/workbench/problems?state=dispatched&unit=" + quote("盐山中学"))
    assert set(listed(both)) == set(ledger["school"][:4])


def test_unknown_filter_values_are_left_out_and_named_in_both_languages(stack, ledger):
    county = Staff(stack, "county")
    everything = total_of(county.get("/workbench/problems"))
    page = county.get("/workbench/problems?state=nonsense&unit=" + quote("不存在的单位")
                      + "&overdue=maybe&sort=sideways&page=0")
    assert page.status_code == 200 and total_of(page) == everything
    notes = re.search(r'id="ignored".*?</div>', page.text, re.S).group(0)
    for words in ("状态“nonsense”无法识别", "找不到名称含“不存在的单位”的单位",
                  "只看逾期“maybe”无法识别", "排序方式“sideways”无法识别", "页码应为"):
        assert words in notes, words
    assert 'href="#f-state"' in notes and 'href="#f-unit"' in notes
    ambiguous = county.get("/workbench/problems?unit=" + quote("盐山"))
    assert "个单位的名称含“盐山”，请从列表中选择一个" in ambiguous.text
    assert total_of(ambiguous) == everything
    english = county.get("/workbench/problems?state=nonsense",
                         headers={"Accept-Language": "en"})
    assert "state &#39;nonsense&#39; is not known" in english.text


def test_a_unit_handler_cannot_see_another_units_problems_through_filters(stack, ledger):
    handler = Staff(stack, "handler-school1")
    own = handler.get("/workbench/problems")
    assert total_of(own) == len(ledger["school"])
    assert set(listed(own)) <= set(ledger["school"])
    assert 'id="f-unit"' not in own.text  # no unit to choose
    for unit in (POLICE, "县公安局", "公安"):
        other = handler.get("/workbench/problems", params={"unit": unit})
        assert total_of(other) == 0 and listed(other) == [], unit
    narrowed = handler.get("/workbench/problems?kind=slowness")  # only police ones are slow
    assert total_of(narrowed) == 0
    exported = handler.get("/workbench/problems.csv", params={"unit": POLICE})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert not any(pid in row for row in rows for pid in ledger["police"])
    supervisor = Staff(stack, "supervisor-edu")
    assert total_of(supervisor.get("/workbench/problems", params={"unit": POLICE})) == 0
    assert total_of(supervisor.get("/workbench/problems")) == len(ledger["school"])


# --- sorting and pages -----------------------------------------------------------------------

def test_the_columns_sort(stack, ledger):
    county = Staff(stack, "county")
    newest = county.get(f"/workbench/problems?unit={SCHOOL}")
    oldest = county.get(f"/workbench/problems?unit={SCHOOL}&sort=oldest")
    assert listed(oldest) == list(reversed(listed(newest)))
    assert re.search(r'<th scope="col" aria-sort="descending"><a href="[^"]*sort=oldest"'
                     r' id="sort-registered">', newest.text.replace("&amp;", "&"))
    assert 'aria-sort="ascending"><a href="/workbench/problems?unit=' in oldest.text
    due = county.get("/workbench/problems?sort=due&state=dispatched")
    days = re.findall(r'class="wb-due">([\d-]+|—)</td>', due.text)
    assert len(days) == 7 and days == sorted(days)
    assert days[0] < date.today().isoformat()  # the late one comes first
    assert listed(due)[0] == ledger["late"]
    api_due = api_list(stack, ledger["county"], state="dispatched", sort="due")
    assert listed(due) == [p["id"] for p in api_due["items"]]
    refused = httpx.get(f"{stack.base_url}/api/v1/problems", params={"sort": "sideways"},
                        headers=ledger["county"], timeout=10)
    assert refused.status_code == 422 and "message_zh" in refused.text


def test_the_list_pages_with_counts(stack, ledger):
    county = Staff(stack, "county")
    total = total_of(county.get("/workbench/problems"))
    first = county.get("/workbench/problems?sort=oldest")
    assert len(listed(first)) == 20
    assert f"共 {total} 件，第 1–20 件" in first.text and "第 1 页，共 2 页" in first.text
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;",
                                                                                      "&")
    assert "sort=oldest" in next_link and "page=2" in next_link
    second = county.get(next_link)
    assert len(listed(second)) == total - 20 and not set(listed(first)) & set(listed(second))
    api_all = [p["id"] for p in reversed(api_list(stack, ledger["county"])["items"])]
    assert listed(first) + listed(second) == api_all
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    beyond = county.get("/workbench/problems?page=9")
    assert listed(beyond) == [] and "本页之后没有更多问题" in beyond.text


def test_the_exports_carry_the_pages_filters(stack, ledger):
    county = Staff(stack, "county")
    page = county.get(f"/workbench/problems?state=dispatched&unit={quote('盐山中学')}&sort=due")
    link = re.search(r'href="([^"]+)" id="export-csv"', page.text).group(1).replace("&amp;", "&")
    assert "state=dispatched" in link and f"unit={SCHOOL}" in link and "sort" not in link
    exported = county.get(link)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    ids = {pid for row in rows for pid in ledger["school"] if pid in row}
    assert ids == set(ledger["school"][:4])
    xlsx = county.get(re.search(r'href="([^"]+)" id="export-xlsx"', page.text).group(1)
                      .replace("&amp;", "&"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


# --- overdue and stalled ---------------------------------------------------------------------

def test_the_overdue_list_shows_unit_deadline_and_days_overdue(stack, ledger):
    county = Staff(stack, "county")
    page = county.get("/workbench/overdue")
    assert listed(page) == [ledger["late"]]
    assert total_of(page) == api_list(stack, ledger["county"], overdue="true")["total"] == 1
    row = re.search(rf'<tr>\s*<td[^>]*><a href="/workbench/problems/{ledger["late"]}">.*?</tr>',
                    page.text, re.S).group(0)
    assert "县公安局" in row
    due = re.search(r'class="wb-due">([\d-]+)</td>', row).group(1)
    days = (county_today() - date.fromisoformat(due)).days
    assert days > 0 and f'class="wb-days-overdue">{days} 天</td>' in row
    assert "红灯" in row and '<th scope="col">逾期天数</th>' in page.text
    assert listed(Staff(stack, "supervisor-jc").get("/workbench/overdue")) == [ledger["late"]]
    assert listed(Staff(stack, "supervisor-edu").get("/workbench/overdue")) == []
    assert listed(county.get("/workbench/problems?overdue=1")) == [ledger["late"]]


def test_the_stalled_list_shows_days_since_the_units_last_progress(stack, ledger):
    county = Staff(stack, "county")
    page = county.get("/workbench/stalled")
    assert listed(page) == [ledger["late"]]
    assert total_of(page) == api_list(stack, ledger["county"], stalled="true")["total"]
    row = re.search(r'<tbody>.*?</tbody>', page.text, re.S).group(0)
    last = re.search(r'class="wb-last-progress">([\d-]+)</td>', row).group(1)
    days = (county_today() - date.fromisoformat(last)).days
    assert days >= LATE_DAYS and f'class="wb-days-stalled">{days} 天</td>' in row


def test_the_navigation_offers_the_lists_to_supervisors_and_the_county_office_only(stack):
    for username in ("county", "supervisor-edu"):
        shell = Staff(stack, username).get("/workbench").text
        for path in ("/workbench/overdue", "/workbench/stalled", "/workbench/work-plans"):
            assert f'href="{path}"' in shell, (username, path)
    for username in ("handler-school1", "spotcheck"):
        shell = Staff(stack, username).get("/workbench").text
        assert 'href="/workbench/overdue"' not in shell
        assert 'href="/workbench/work-plans"' not in shell
    current = Staff(stack, "county").get("/workbench/overdue").text
    assert '<a href="/workbench/overdue" aria-current="page">' in current
    assert '<a href="/workbench/problems">问题台账</a>' in current  # the county's ledger
    handler = Staff(stack, "handler-school1").get("/workbench/problems").text
    assert '<a href="/workbench/problems" aria-current="page">待办问题</a>' in handler


# --- work plans ------------------------------------------------------------------------------

def file_plan(stack, username: str, title: str, document: bytes | None = None) -> dict:
    headers = api(stack, username)
    sha = None
    if document is not None:
        up = httpx.post(f"{stack.base_url}/api/v1/files", content=document, timeout=60,
                        headers={**headers, "X-Filename": quote("工作方案.pdf")})
        assert up.status_code == 201, up.text
        sha = up.json()["files"][0]["original"]["sha256"]
    reply = httpx.post(f"{stack.base_url}/api/v1/work-plans", headers=headers, timeout=30,
                       json={"title": title, "summary": "全面清理本单位不作为、乱作为、慢作为问题",
                             "document_sha256": sha})
    assert reply.status_code == 201, reply.text
    return {**reply.json(), "sha256": sha}


def plans_api(stack, username: str) -> list[dict]:
    return httpx.get(f"{stack.base_url}/api/v1/work-plans", headers=api(stack, username),
                     timeout=10).json()["items"]


@pytest.fixture(scope="module")
def school_plan(stack) -> dict:
    document = b"%PDF-1.7\n" + "盐山中学清理工作方案".encode() * 50
    return {**file_plan(stack, "handler-school1", "盐山中学清理工作方案", document),
            "document": document}


def test_the_work_plans_page_lists_units_without_a_plan(stack):
    page = Staff(stack, "county").get("/workbench/work-plans")
    assert page.status_code == 200
    missing = re.search(r'<table[^>]*id="missing".*?</table>', page.text, re.S).group(0)
    answer = httpx.get(f"{stack.base_url}/api/v1/work-plans/missing",
                       headers=api(stack, "county"), timeout=10).json()
    assert re.findall(r'data-unit="(\w+)"', missing) == [u["unit"] for u in answer["missing"]]
    assert "县公安局" in missing and "盐山镇" in missing
    assert f"应报送 {answer['units']} 个单位" in page.text
    edu = Staff(stack, "supervisor-edu").get("/workbench/work-plans").text
    shown = set(re.findall(r'data-unit="(\w+)"', edu))
    assert POLICE not in shown and shown  # its own system only
    assert 'href="/workbench/work-plans/missing.xlsx"' in page.text


def test_a_late_plan_is_listed_late_with_its_document(stack, school_plan):
    supervisor = Staff(stack, "supervisor-edu")
    page = supervisor.get("/workbench/work-plans").text
    late = re.search(r'<table[^>]*id="late".*?</table>', page, re.S).group(0)
    assert f'data-unit="{SCHOOL}"' in late  # the first phase ended in 2017: filed late
    missing = re.search(r'<table[^>]*id="missing".*?</table>', page, re.S)
    assert missing is None or f'data-unit="{SCHOOL}"' not in missing.group(0)
    row = re.search(rf'<tr id="plan-{school_plan["id"]}".*?</tr>', page, re.S).group(0)
    link = f'/workbench/work-plans/documents/{school_plan["sha256"]}'
    assert f'href="{link}"' in row and "盐山中学清理工作方案" in row
    document = supervisor.get(link)
    assert document.status_code == 200
    assert hashlib.sha256(document.content).hexdigest() == school_plan["sha256"]
    assert Staff(stack, "supervisor-jc").get(link).status_code == 404  # not its system's
    assert supervisor.get("/workbench/work-plans/documents/not-a-digest").status_code == 404


def test_a_supervisor_acknowledges_a_plan_and_only_its_own_systems(stack, school_plan):
    plan_id = school_plan["id"]
    stranger = Staff(stack, "supervisor-jc")
    refused = stranger.post(f"/workbench/work-plans/{plan_id}/acknowledge", {})
    assert refused.status_code == 404
    assert next(p for p in plans_api(stack, "county") if p["id"] == plan_id)[
        "acknowledged_at"] is None
    supervisor = Staff(stack, "supervisor-edu")
    page = supervisor.get("/workbench/work-plans").text
    assert f'action="/workbench/work-plans/{plan_id}/acknowledge"' in page
    done = supervisor.post(f"/workbench/work-plans/{plan_id}/acknowledge", {})
    assert done.status_code == 303 and done.headers["location"] == "/workbench/work-plans"
    stored = next(p for p in plans_api(stack, "county") if p["id"] == plan_id)
    assert stored["acknowledged_by"] == "supervisor-edu"
    after = supervisor.get("/workbench/work-plans").text
    assert 'id="flash"' in after and "已确认备案" in after
    assert f'action="/workbench/work-plans/{plan_id}/acknowledge"' not in after
    again = supervisor.post(f"/workbench/work-plans/{plan_id}/acknowledge", {})
    assert again.status_code == 422 and "该工作方案已经确认备案" in again.text


def test_acknowledging_without_the_csrf_token_is_refused_and_changes_nothing(stack):
    plan = file_plan(stack, "handler-police", "县公安局清理工作方案")
    county = Staff(stack, "county")
    for data in ({}, {"csrftoken": "forged"}):
        refused = county.post(f"/workbench/work-plans/{plan['id']}/acknowledge", data,
                              csrf=False)
        assert refused.status_code == 403 and "表单已失效" in refused.text
    stored = next(p for p in plans_api(stack, "county") if p["id"] == plan["id"])
    assert stored["acknowledged_at"] is None


# --- who may open what -----------------------------------------------------------------------

PAGES = {  # (method, path): the roles named
    ("GET", "/workbench/problems"): READERS,
    ("GET", "/workbench/problems.csv"): READERS,
    ("GET", "/workbench/overdue"): SUPERVISING,
    ("GET", "/workbench/stalled"): SUPERVISING,
    ("GET", "/workbench/work-plans"): SUPERVISING,
    ("GET", "/workbench/work-plans.csv"): SUPERVISING,
    ("GET", "/workbench/work-plans/missing.xlsx"): SUPERVISING,
    ("POST", "/workbench/work-plans/0000/acknowledge"): SUPERVISING,
}


def test_every_ledger_page_refuses_the_roles_it_does_not_name(stack, ledger):
    people = {role: Staff(stack, username) for role, username in ONE_PER_ROLE.items()}
    assert set(people) == set(STAFF_ROLES)
    for (method, path), allowed in PAGES.items():
        anonymous = httpx.request(method, stack.base_url + path, timeout=10)
        assert anonymous.status_code == 401, (method, path)
        for role, person in people.items():
            reply = person.get(path) if method == "GET" else person.post(path, {})
            if role in allowed:
                expected = (404,) if method == "POST" else (200,)  # no plan 0000
                assert reply.status_code in expected, (method, path, role, reply.status_code)
            else:
                assert reply.status_code == 403, (method, path, role, reply.status_code)
                assert "无权" in reply.text


# --- in headless Chromium --------------------------------------------------------------------

AXE = Path(axe_selenium_python.__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


def shoot(browser, name: str) -> None:
    """Screenshots at phone and desktop width; at 390 px nothing is wider than the screen."""
    for width, label in ((390, "phone"), (1280, "desktop")):
        browser._call("POST", "/window/rect", {"width": width, "height": 1800})
        browser.screenshot(SHOTS / f"workbench-{name}-{label}.png")
        if width == 390:
            assert browser.js("return document.documentElement.scrollWidth <= "
                              "window.innerWidth"), f"{name} is wider than a phone"


def serious_violations(browser) -> list[str]:
    """axe-core's critical and serious findings on the page (WCAG 2 A and AA)."""
    result = browser._call("POST", "/execute/async", {"args": [AXE.read_text()], "script": """
        const done = arguments[arguments.length - 1];
        if (!window.axe) { (0, eval)(arguments[0]); }
        axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})
           .then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])));"""})
    return [f"{rule} ({impact}, {n})" for rule, impact, n in result
            if impact in ("critical", "serious")]


def press(browser, *keys: str) -> None:
    steps = [step for key in keys for step in ({"type": "keyDown", "value": key},
                                               {"type": "keyUp", "value": key})]
    browser._call("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard",
                                                     "actions": steps}]})


@pytest.mark.browser
def test_the_ledger_pages_work_by_keyboard_at_phone_and_desktop_width(stack, ledger):
    plan = file_plan(stack, "handler-police", "县公安局清理工作方案（修订）")
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/sign-in?next=/workbench/problems")
        browser.type("#f-username", "county")
        browser.type("#f-password", PASSWORDS["county"])
        press(browser, "\ue007")
        browser.wait("return location.pathname === '/workbench/problems'")
        assert browser.wait_text("h1") == "问题台账"
        shoot(browser, "ledger")
        assert serious_violations(browser) == []
        browser.click("#f-unit")
        browser.type("#f-unit", "公安")
        browser.js("document.getElementById('f-state').value = 'dispatched'")
        press(browser, "\ue007")  # Enter in the unit field applies the filters
        browser.wait("return location.search.includes('unit=')")
        assert browser.wait_text("#count").startswith("共 3 件")
        units = browser.js("return [...document.querySelectorAll('td.wb-unit')]"
                           ".map(e => e.innerText)")
        assert units == ["县公安局"] * 3
        browser.click("#sort-due")
        browser.wait("return !!document.querySelector('th[aria-sort=\"ascending\"] #sort-due')")
        assert browser.js("return [...document.querySelectorAll('td.wb-due')]"
                          ".map(e => e.innerText)")[0] < date.today().isoformat()
        shoot(browser, "ledger-filtered")
        browser.open(f"{stack.base_url}/workbench/overdue")
        assert browser.wait_text("h1") == "逾期问题"
        assert browser.wait_text("td.wb-days-overdue").endswith(" 天")
        shoot(browser, "overdue")
        assert serious_violations(browser) == []
        browser.open(f"{stack.base_url}/workbench/stalled")
        assert browser.wait_text("td.wb-days-stalled").endswith(" 天")
        shoot(browser, "stalled")
        browser.open(f"{stack.base_url}/workbench/work-plans")
        assert browser.wait_text("h1") == "工作方案备案"
        shoot(browser, "work-plans")
        assert serious_violations(browser) == []
        browser.click(f"#plan-{plan['id']} button")
        assert "已确认备案" in browser.wait_text("#flash")
        assert browser.wait_text(f"#plan-{plan['id']} .wb-acknowledged").startswith("county")
        assert browser.console_errors() == []
    stored = next(p for p in plans_api(stack, "county") if p["id"] == plan["id"])
    assert stored["acknowledged_by"] == "county"
