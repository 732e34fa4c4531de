"""The staff workbench (工作台) through the real stack: sign-in, session, CSRF, the role
matrix for every page, a unit's inbox, a problem and its action forms.

The ``browser`` test drives Debian's headless Chromium as the public page tests do, and keeps
screenshots at phone (390 px) and desktop width in ``PAGES_SCREENSHOT_DIR``.
"""
from __future__ import annotations

import base64
import json
import re
import tempfile
import time
from datetime import date, timedelta

import httpx
import pytest
from itsdangerous import TimestampSigner

from gateway.app import create_app
from gateway.auth.guards import route_roles
from gateway.auth.roles import STAFF_ROLES, Role
from kit.settings import DEV_SECRET, Settings
from gateway.workbench.session import SESSION_COOKIE, derived_key
from tests.e2e.test_pages import csp_directives, references
from tests.support.browser import browser_session, fill, press, shoot
from tests.support.workbench import (
    ONE_PER_ROLE, PASSWORDS, SCHOOL, Staff, api, dispatched_problem, plan_form, state_of,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(shared_workbench_stack):
    return shared_workbench_stack


# --- pages, headers, cookies ------------------------------------------------------------------

def test_the_sign_in_page_is_chinese_first_with_the_strict_csp_and_nothing_from_elsewhere(stack):
    reply = httpx.get(f"{stack.base_url}/workbench/sign-in", timeout=10)
    assert reply.status_code == 200
    assert '<html lang="zh-CN">' in reply.text and "工作人员登录" in reply.text
    csp = csp_directives(reply.headers["content-security-policy"])
    for directive in ("default-src", "script-src", "style-src", "img-src", "form-action"):
        assert csp[directive] == ["'self'"], directive
    assert csp["frame-ancestors"] == ["'none'"]
    assert reply.headers["cache-control"] == "no-store"
    page = references(reply.text)
    assert not page.inline, page.inline
    for url in page.urls:
        assert url.startswith(("/", "#")) and not url.startswith("//"), url
        if url.startswith("/static/"):
            assert httpx.get(stack.base_url + url, timeout=10).status_code == 200, url


def test_an_english_browser_gets_english_and_the_switch_is_remembered(stack):
    staff = Staff(stack)
    english = staff.http.get("/workbench/sign-in", headers={"Accept-Language": "en-US,en"})
    assert '<html lang="en">' in english.text and "Staff sign-in" in english.text
    token = re.search(r'name="csrftoken" value="([^"]+)"', english.text).group(1)
    switched = staff.http.post("/workbench/language", data={
        "csrftoken": token, "lang": "zh", "next": "/workbench/sign-in"})
    assert switched.status_code == 303 and switched.headers["location"] == "/workbench/sign-in"
    again = staff.http.get("/workbench/sign-in", headers={"Accept-Language": "en-US,en"})
    assert '<html lang="zh-CN">' in again.text


def test_the_session_is_an_httponly_samesite_cookie_of_the_workbench_only(stack):
    reply = Staff(stack).sign_in("handler-school1")
    cookie = next(v for k, v in reply.headers.multi_items()
                  if k == "set-cookie" and v.startswith(SESSION_COOKIE + "="))
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower() and "path=/workbench" in cookie.lower()


def test_the_shell_shows_the_persons_name_unit_and_role_and_navigation_by_role(stack):
    handler = Staff(stack, "handler-school1").get("/workbench")
    assert handler.status_code == 200
    assert "盐山中学承办人（演示）" in handler.text and '<span id="person-unit">盐山中学</span>' in handler.text
    assert '<span id="person-role">单位承办人</span>' in handler.text
    assert 'href="/workbench/problems"' in handler.text
    ops = Staff(stack, "ops").get("/workbench")
    assert ops.status_code == 200 and "运维" in ops.text
    assert 'href="/workbench/problems"' not in ops.text


# --- CSRF and the session's end --------------------------------------------------------------

def test_a_form_post_without_the_csrf_token_is_refused(stack):
    staff = Staff(stack, "handler-school1")
    refused = staff.post("/workbench/sign-out", {}, csrf=False)
    assert refused.status_code == 403 and "表单已失效" in refused.text
    forged = staff.post("/workbench/sign-out", {"csrftoken": "forged"}, csrf=False)
    assert forged.status_code == 403
    assert staff.get("/workbench").status_code == 200  # nothing happened: still signed in
    fresh = Staff(stack)
    fresh.token()  # has its CSRF cookie, but does not send the field
    login = fresh.http.post("/workbench/sign-in", data={
        "username": "handler-school1", "password": PASSWORDS["handler-school1"]})
    assert login.status_code == 403  # login CSRF: the sign-in form is protected too


def test_a_signed_out_session_is_refused_even_when_its_cookie_is_replayed(stack):
    staff = Staff(stack, "handler-police")
    kept = staff.http.cookies.get(SESSION_COOKIE)
    token = stack.token("handler-police", PASSWORDS["handler-police"])
    out = staff.post("/workbench/sign-out", {})
    assert out.status_code == 303 and "signed_out=1" in out.headers["location"]
    replay = httpx.get(f"{stack.base_url}/workbench", cookies={SESSION_COOKIE: kept}, timeout=10)
    assert replay.status_code == 401 and "登录已失效" in replay.text
    assert 'action="/workbench/sign-in"' in replay.text
    me = httpx.get(f"{stack.base_url}/api/v1/me", timeout=10,
                   headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401  # signing out of the workbench ends the API's tokens too


def forged_session(**changes) -> str:
    """A session cookie signed as the development stack signs it, with ``changes``."""
    now = int(time.time())
    data = {"aid": "x", "usr": "county", "role": "county_office", "org": "org_county_office",
            "ver": 0, "name": "县委办公室", "iat": now, "seen": now, **changes}
    signer = TimestampSigner(derived_key(DEV_SECRET, "session"))
    return signer.sign(base64.b64encode(json.dumps(data).encode())).decode()


def test_an_expired_session_is_refused(stack):
    staff = Staff(stack, "county")
    session = json.loads(base64.b64decode(
        staff.http.cookies.get(SESSION_COOKIE).split(".")[0]))
    assert staff.get("/workbench/problems").status_code == 200
    too_old = session["iat"] - 8 * 60 * 60 - 5  # older than TOKEN_TTL_MINUTES (8 h)
    expired = forged_session(**{**session, "iat": too_old})
    reply = httpx.get(f"{stack.base_url}/workbench/problems", timeout=10,
                      cookies={SESSION_COOKIE: expired})
    assert reply.status_code == 401 and "登录已失效" in reply.text
    idle = forged_session(**{**session, "seen": int(time.time()) - 31 * 60})
    assert httpx.get(f"{stack.base_url}/workbench/problems", timeout=10,
                     cookies={SESSION_COOKIE: idle}).status_code == 401
    same = forged_session(**session)  # the same session, freshly signed, still works
    assert httpx.get(f"{stack.base_url}/workbench/problems", timeout=10,
                     cookies={SESSION_COOKIE: same}).status_code == 200
    wrong_key = TimestampSigner("not the key").sign(b"e30=").decode()
    assert httpx.get(f"{stack.base_url}/workbench", timeout=10,
                     cookies={SESSION_COOKIE: wrong_key}).status_code == 401


# --- the role matrix, for every page ------------------------------------------------------------

def workbench_routes() -> dict[tuple[str, str], frozenset[Role]]:
    app = create_app(Settings(data_dir=tempfile.mkdtemp()))
    return {k: v for k, v in route_roles(app).items() if k[1].startswith("/workbench")}


def test_every_workbench_page_refuses_the_roles_it_does_not_name(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（角色测试）")
    routes = workbench_routes()
    assert len(routes) >= 10 and all(routes.values())
    people = {role: Staff(stack, username) for role, username in ONE_PER_ROLE.items()}
    assert set(people) == set(STAFF_ROLES)
    checked = 0
    for (method, path), allowed in sorted(routes.items()):
        url = path.replace("{problem_id}", pid).replace("{month}", "2017-10")
        if Role.PUBLIC in allowed:
            continue
        anonymous = httpx.request(method, stack.base_url + url, timeout=10)
        assert anonymous.status_code == 401, (method, path)
        for role, person in people.items():
            if method == "GET":
                reply = person.get(url)
            elif role in allowed:
                continue  # posting as an allowed role would act; the flows below do that
            else:
                reply = person.post(url, {})
            if role in allowed:
                assert reply.status_code in (200, 404), (method, path, role, reply.status_code)
            else:
                assert reply.status_code == 403, (method, path, role, reply.status_code)
                assert "无权" in reply.text
            checked += 1
    assert checked >= 60


# --- a unit's inbox, a problem, its forms ------------------------------------------------------

def test_the_inbox_lists_the_units_dispatched_problems_with_deadline_and_light(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（待办）")
    school = Staff(stack, "handler-school1").get("/workbench/problems?state=dispatched")
    assert school.status_code == 200
    row = re.search(rf'<tr>\s*<td[^>]*><a href="/workbench/problems/{pid}">.*?</tr>', school.text,
                    re.S).group(0)
    assert "已交办" in row and re.search(r"\d{4}-\d\d-\d\d", row)
    assert re.search(r"(绿灯|黄灯|红灯)：", row)  # the light in words, not colour alone
    police = Staff(stack, "handler-police").get("/workbench/problems")
    assert pid not in police.text  # another unit's inbox does not hold it
    assert Staff(stack, "handler-police").get(f"/workbench/problems/{pid}").status_code == 404


def test_the_problem_page_shows_clue_timeline_and_what_is_due_and_offers_the_units_actions(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（问题页）")
    page = Staff(stack, "handler-school1").get(f"/workbench/problems/{pid}")
    assert page.status_code == 200
    assert 'id="due-on"' in page.text and "答复期限" in page.text
    assert "公开举报平台" in page.text or "public_report_platform" in page.text
    assert "交办" in page.text and "登记" in page.text  # the timeline
    assert f'href="/workbench/problems/{pid}/verify"' in page.text
    assert f'href="/workbench/problems/{pid}/report_unfounded"' in page.text
    assert "/record_progress" not in page.text  # not in this state


def test_the_verify_form_is_built_from_its_specification(stack):
    from contracts.actions import SPECS
    from contracts.vocabulary import Action

    pid = dispatched_problem(stack, "食堂卫生问题（表单）")
    form = Staff(stack, "handler-school1").get(f"/workbench/problems/{pid}/verify").text
    for name in SPECS[Action.VERIFY].input.model_fields["plan"].annotation.model_fields:
        if name != "milestones":
            assert f'name="plan.{name}' in form, name
    assert 'name="plan.milestones[0].title"' in form
    assert 'name="_add" value="plan.milestones"' in form
    for label in ("整改措施", "整改目标", "整改时限", "牵头领导", "责任单位", "具体责任人",
                  "立行立改", "限时整改", "持续整改"):
        assert label in form, label
    assert 'name="on_behalf_of"' not in form  # the unit's own handler acts for no one
    assert 'id="attachments"' in form
    english = Staff(stack, "handler-school1").http.get(
        f"/workbench/problems/{pid}/verify", headers={"Accept-Language": "en-GB,en"}).text
    for label in ("Measures", "Lead official", "Responsible unit", "Within a time limit"):
        assert label in english, label


def test_a_unit_records_progress_and_reports_rectified_with_evidence_through_its_forms(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（整改）")
    handler = Staff(stack, "handler-school1")
    deadline = date.today() + timedelta(days=40)
    verified = handler.post(f"/workbench/problems/{pid}/verify", plan_form(deadline, **{
        "plan.handling": "long_term", "plan.milestones[0].title": "完成食堂设备更换",
        "plan.milestones[0].due_on": (date.today() + timedelta(days=20)).isoformat()}))
    assert verified.status_code == 303, verified.text
    approved = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/approve_plan", timeout=30,
                          headers=api(stack, "supervisor-edu"), json={})
    assert approved.status_code == 200, approved.text
    page = handler.get(f"/workbench/problems/{pid}").text
    assert f"/workbench/problems/{pid}/record_progress" in page and "/verify" not in page
    not_a_number = handler.post(f"/workbench/problems/{pid}/record_progress", {
        "note": "设备已采购", "milestone_done": "第一"})
    assert not_a_number.status_code == 422 and "应为整数" in not_a_number.text
    progress = handler.post(f"/workbench/problems/{pid}/record_progress", {
        "note": "设备已更换", "milestone_done": "0"})
    assert progress.status_code == 303, progress.text
    unknown_file = handler.post(f"/workbench/problems/{pid}/report_rectified", {
        "evidence[0].description": "整改前后照片", "evidence[0].sha256": "ab" * 32,
        "note": "已全部整改"})  # evidence must name an uploaded file, as through the API
    assert unknown_file.status_code == 422 and "请先上传文件" in unknown_file.text
    assert state_of(stack, pid) == "rectifying"
    rectified = handler.post(f"/workbench/problems/{pid}/report_rectified", {
        "evidence[0].description": "整改前后照片", "evidence[1].description": "验收记录",
        "note": "已全部整改"})
    assert rectified.status_code == 303, rectified.text
    assert state_of(stack, pid) == "rectified"
    timeline = handler.get(f"/workbench/problems/{pid}").text
    assert "报告整改进展" in timeline and "报告整改完成" in timeline and "验收记录" in timeline


def test_a_wrong_plan_comes_back_with_chinese_errors_and_a_right_one_verifies(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（查实）")
    handler = Staff(stack, "handler-school1")
    wrong = handler.post(f"/workbench/problems/{pid}/verify",
                         plan_form(date.today() + timedelta(days=30), **{
                             "plan.target": None, "plan.deadline": "明天",
                             "plan.handling": "long_term"}))
    assert wrong.status_code == 422
    summary = re.search(r'id="error-summary".*?</div>', wrong.text, re.S).group(0)
    assert '<a href="#f-plan-target">整改目标：为必填项</a>' in summary
    assert 'href="#f-plan-deadline"' in summary
    assert 'id="f-plan-target-error"' in wrong.text and 'aria-invalid="true"' in wrong.text
    assert "立即整改食堂卫生" in wrong.text  # what was typed stays
    assert state_of(stack, pid) == "dispatched"
    # a rule only the ledger knows: a long-term plan needs milestones
    ledger_rule = handler.post(f"/workbench/problems/{pid}/verify",
                               plan_form(date.today() + timedelta(days=30),
                                         **{"plan.handling": "long_term"}))
    assert ledger_rule.status_code == 422 and 'id="error-summary"' in ledger_rule.text
    right = handler.post(f"/workbench/problems/{pid}/verify",
                         plan_form(date.today() + timedelta(days=30)))
    assert right.status_code == 303 and right.headers["location"] == f"/workbench/problems/{pid}"
    assert state_of(stack, pid) == "verified"
    after = handler.get(f"/workbench/problems/{pid}")
    assert 'id="flash"' in after.text and 'data-state="verified"' in after.text


def test_the_county_office_acting_for_a_unit_must_name_it_and_say_why(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（代为办理）")
    county = Staff(stack, "county")
    form = county.get(f"/workbench/problems/{pid}/report_unfounded").text
    assert 'name="on_behalf_of"' in form and 'name="reason"' in form and "代为办理" in form
    finding = {"findings": "经查，食堂卫生符合标准", "evidence[0].description": "卫生检查记录"}
    missing = county.post(f"/workbench/problems/{pid}/report_unfounded", {
        **finding, "on_behalf_of": ""})
    assert missing.status_code == 422 and "代为办理时为必填项" in missing.text
    assert 'href="#f-on_behalf_of"' in missing.text and 'href="#f-reason"' in missing.text
    no_evidence = county.post(f"/workbench/problems/{pid}/report_unfounded", {
        "findings": "经查属实", "on_behalf_of": SCHOOL, "reason": "单位承办人外出"})
    assert no_evidence.status_code == 422
    assert '<a href="#f-evidence-0-description">佐证材料：至少需要一项</a>' in no_evidence.text
    done = county.post(f"/workbench/problems/{pid}/report_unfounded", {
        **finding, "on_behalf_of": SCHOOL, "reason": "单位承办人外出，县委办公室代为办理"})
    assert done.status_code == 303
    assert state_of(stack, pid) == "unfounded"


def test_add_another_works_without_script(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（再添加）")
    handler = Staff(stack, "handler-school1")
    more = handler.post(f"/workbench/problems/{pid}/verify", [
        *plan_form(date.today() + timedelta(days=30)).items(),
        ("plan.milestones[0].title", "第一阶段"), ("plan.milestones[0].due_on", "2030-01-01"),
        ("_add", "plan.milestones")])
    assert more.status_code == 200 and 'id="error-summary"' not in more.text
    assert 'name="plan.milestones[1].title"' in more.text and "第一阶段" in more.text
    assert state_of(stack, pid) == "dispatched"


# --- in headless Chromium ------------------------------------------------------------------

@pytest.mark.browser
def test_a_handler_signs_in_fills_the_plan_wrongly_then_rightly_and_the_problem_is_verified(stack):
    pid = dispatched_problem(stack, "学校食堂卫生问题")
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/problems/{pid}")
        assert browser.wait_text("h1") == "工作人员登录"
        shoot(browser, "sign-in")
        press(browser, "\ue004")  # by keyboard alone: the skip link comes first
        assert browser.js("return document.activeElement.className") == "wb-skip"
        press(browser, "\ue007")
        assert browser.js("return document.activeElement.id") == "main"
        browser.click("#sign-in")  # nothing filled in: the summary names both fields
        assert "用户名：请填写此项。" in browser.wait_text("#error-summary")
        assert browser.text("#f-password-error").endswith("请填写此项。")
        browser.type("#f-username", "handler-school1")
        browser.type("#f-password", PASSWORDS["handler-school1"])
        press(browser, "\ue007")  # Enter in the password field signs in
        browser.wait(f"return location.pathname === '/workbench/problems/{pid}'")
        assert browser.wait_text("#problem-title") == "学校食堂卫生问题"
        assert browser.text("#person-unit") == "盐山中学"
        shoot(browser, "problem")
        browser.click("#do-verify")
        browser.wait("return !!document.getElementById('f-plan-measures')")
        browser.type("#f-plan-measures", "立即整改食堂卫生，建立每日检查制度")
        fill(browser, {"f-plan-deadline": "2017-01-01"})
        browser.click("#submit")
        summary = browser.wait_text("#error-summary")
        assert "整改目标：为必填项" in summary and "牵头领导：为必填项" in summary
        assert browser.js("return document.activeElement.id") == "error-summary"
        assert browser.text("#f-plan-target-error").endswith("为必填项")
        assert browser.js("return document.getElementById('f-plan-measures').value") \
            == "立即整改食堂卫生，建立每日检查制度"
        shoot(browser, "verify-errors")
        browser.click("#error-summary a[href='#f-plan-target']")
        assert browser.js("return document.activeElement.id") == "f-plan-target"
        browser.type("#f-plan-target", "食堂卫生达标")
        browser.type("#f-plan-lead_official", "王校长")
        browser.type("#f-plan-responsible_person", "李主任")
        fill(browser, {"f-plan-deadline": (date.today() + timedelta(days=30)).isoformat(),
                       "f-plan-responsible_unit": SCHOOL})
        browser.click("#f-plan-handling-time_limited")
        browser.click("#submit")
        browser.wait("const s = document.getElementById('problem-state');"
                     "return s && s.dataset.state === 'verified'")
        assert "已提交" in browser.wait_text("#flash")
        shoot(browser, "verified")
        browser.open(f"{stack.base_url}/workbench/problems")
        browser.wait_text("#ledger")
        shoot(browser, "inbox")
        assert browser.console_errors() == []
    assert state_of(stack, pid) == "verified"


# --- last: these lock or deactivate demo accounts of the module's stack -----------------------

def test_a_deactivated_accounts_session_is_refused(stack):
    staff = Staff(stack, "invited-supervisor")
    assert staff.get("/workbench").status_code == 200
    reply = httpx.post(f"{stack.base_url}/api/v1/accounts/invited-supervisor/deactivate",
                       headers=api(stack, "county"), timeout=10)
    assert reply.status_code == 200, reply.text
    refused = staff.get("/workbench")
    assert refused.status_code == 401 and "登录已失效" in refused.text
    again = Staff(stack)
    login = again.http.post("/workbench/sign-in", data={
        "csrftoken": again.token(), "username": "invited-supervisor",
        "password": PASSWORDS["invited-supervisor"]})
    assert login.status_code == 401 and "用户名或密码错误" in login.text


def test_sign_in_mistakes_are_shown_in_an_error_summary_and_wrong_passwords_lock_the_account(stack):
    """Last but one: it locks a demo account of the module's stack."""
    staff = Staff(stack)
    empty = staff.http.post("/workbench/sign-in", data={"csrftoken": staff.token()})
    assert empty.status_code == 422
    assert 'id="error-summary"' in empty.text and 'href="#f-username"' in empty.text
    assert "用户名：请填写此项。" in empty.text and 'href="#f-password"' in empty.text
    codes = [staff.http.post("/workbench/sign-in", data={
        "csrftoken": staff.token(), "username": "spotcheck", "password": f"wrong-{i}"}).status_code
        for i in range(10)]
    assert codes.count(401) >= 9 and set(codes) <= {401, 429}
    locked = staff.http.post("/workbench/sign-in", data={
        "csrftoken": staff.token(), "username": "spotcheck",
        "password": PASSWORDS["spotcheck"]})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert "尝试次数过多" in locked.text
    api_locked = httpx.post(f"{stack.base_url}/api/v1/auth/token", timeout=10, json={
        "username": "spotcheck", "password": PASSWORDS["spotcheck"]})
    assert api_locked.status_code == 429  # one budget for the API and the workbench
