"""Accounts and people (账号与人员, issue 9 item 6) through the real stack: the county office
creates a unit's handler, who signs in and sets their own password; a reset ends the old
password, tokens and sessions until a new one is set; a deactivation ends a token and a
workbench session; the .xlsx import refuses a file with a bad row (naming it), imports the
valid rows when asked, and creates nothing twice; a principal head set twice keeps the
history; the activity page says who did what; every page refuses other roles; CSRF holds.
"""
from __future__ import annotations

import re
import tempfile

import httpx
import pytest

from gateway.app import create_app
from gateway.auth.guards import route_roles
from gateway.auth.roles import Role
from kit.settings import Settings
from tests.support.browser import SHOTS, browser_session, fill, press
from tests.support.accounts import account_workbook
from tests.support.workbench import ONE_PER_ROLE, PASSWORDS, Staff, api
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SCHOOL, EDU = "org_sch_yanshan_high", "org_education_bureau"
NEW_PASSWORD = "盐山中学新密码2017"
ACCOUNT_PAGES = ("/workbench/accounts", "/workbench/principal-heads", "/workbench/activity")


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"),
                    extra_env={"LOGIN_RATE_PER_ACCOUNT": "100000/minute"})
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


def temporary_of(page: httpx.Response) -> str:
    return re.search(r'id="temporary-password">([^<]+)<', page.text).group(1)


def api_sign_in(stack, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/api/v1/auth/token", timeout=30,
                      json={"username": username, "password": password})


def set_new_password(stack, username: str, temporary: str) -> Staff:
    """Sign in to the workbench with a temporary password and set ``NEW_PASSWORD``."""
    person = Staff(stack)
    reply = person.http.post("/workbench/sign-in", data={
        "csrftoken": person.token(), "username": username, "password": temporary,
        "next": "/workbench/problems"})
    assert reply.status_code == 303 and reply.headers["location"] == "/workbench/password"
    page = person.get("/workbench/password")
    assert page.status_code == 200 and "设置新密码" in page.text
    assert person.get("/workbench").status_code == 401  # not signed in before it is set
    weak = person.post("/workbench/password", {"new_password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "密码强度不够" in weak.text
    assert 'id="error-summary"' in weak.text and 'href="#f-new_password"' in weak.text
    differ = person.post("/workbench/password", {"new_password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD + "x"})
    assert differ.status_code == 422 and "两次输入的新密码不一致" in differ.text
    same = person.post("/workbench/password", {"new_password": temporary,
                                               "confirm": temporary})
    assert same.status_code == 422 and "不能与临时密码相同" in same.text
    done = person.post("/workbench/password", {"new_password": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/workbench/problems"
    return person


def test_the_county_office_creates_a_handler_who_signs_in_and_sets_a_password(stack):
    county = Staff(stack, "county")
    home = county.get("/workbench")
    for path in ACCOUNT_PAGES:
        assert f'href="{path}"' in home.text
    form = county.get("/workbench/accounts/new")
    assert form.status_code == 200 and 'for="f-org_code"' in form.text
    wrong = county.post("/workbench/accounts/new", {
        "username": "handler-school2", "display_name": "李四", "role": "unit_handler",
        "org_code": EDU})
    assert wrong.status_code == 422 and 'id="error-summary"' in wrong.text
    assert "不是该角色可隶属的单位类型" in wrong.text and 'aria-invalid="true"' in wrong.text
    made = county.post("/workbench/accounts/new", {
        "username": "handler-school2", "display_name": "李四", "role": "unit_handler",
        "org_code": SCHOOL})
    assert made.status_code == 201, made.text
    temporary = temporary_of(made)
    refused = api_sign_in(stack, "handler-school2", temporary)
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "password_change_required"
    person = set_new_password(stack, "handler-school2", temporary)
    shell = person.get("/workbench")
    assert shell.status_code == 200 and "李四" in shell.text and "盐山中学" in shell.text
    assert person.get("/workbench/accounts").status_code == 403  # a handler administers nothing
    assert api_sign_in(stack, "handler-school2", temporary).status_code == 401
    token = api_sign_in(stack, "handler-school2", NEW_PASSWORD).json()["access_token"]
    me = httpx.get(f"{stack.base_url}/api/v1/me", timeout=10,
                   headers={"Authorization": f"Bearer {token}"}).json()
    assert me["org_code"] == SCHOOL and me["role"] == "unit_handler"
    listed = county.get("/workbench/accounts?org=" + SCHOOL)
    assert 'id="account-handler-school2"' in listed.text and "李四" in listed.text
    again = county.post("/workbench/accounts/new", {
        "username": "handler-school2", "display_name": "李四", "role": "unit_handler",
        "org_code": SCHOOL})
    assert again.status_code == 409 or (again.status_code == 422 and "已被使用" in again.text)


def test_a_reset_refuses_the_old_password_until_a_new_one_is_set(stack):
    county = Staff(stack, "county")
    made = county.post("/workbench/accounts/new", {
        "username": "handler-police2", "display_name": "王五", "role": "unit_handler",
        "org_code": "org_gd_public_security"})
    person = set_new_password(stack, "handler-police2", temporary_of(made))
    token = api_sign_in(stack, "handler-police2", NEW_PASSWORD).json()["access_token"]
    confirm = county.get("/workbench/accounts/handler-police2/reset")
    assert confirm.status_code == 200 and "确认重置“王五”（handler-police2）的密码" in confirm.text
    reset = county.post("/workbench/accounts/handler-police2/reset", {})
    assert reset.status_code == 200 and "只显示这一次" in reset.text
    temporary = temporary_of(reset)
    assert person.get("/workbench").status_code == 401  # the session ended
    assert httpx.get(f"{stack.base_url}/api/v1/me", timeout=10,
                     headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert api_sign_in(stack, "handler-police2", NEW_PASSWORD).status_code == 401
    must = api_sign_in(stack, "handler-police2", temporary)
    assert must.status_code == 403
    assert "/api/v1/auth/change-password" in must.json()["detail"]["message"]
    changed = httpx.post(f"{stack.base_url}/api/v1/auth/change-password", timeout=30, json={
        "username": "handler-police2", "password": temporary,
        "new_password": "another new password 9"})
    assert changed.status_code == 200, changed.text
    assert api_sign_in(stack, "handler-police2", "another new password 9").status_code == 200
    assert api_sign_in(stack, "handler-police2", temporary).status_code == 401


def test_a_deactivated_accounts_token_and_session_are_refused(stack):
    county = Staff(stack, "county")
    made = county.post("/workbench/accounts/new", {
        "username": "media-two", "display_name": "宣传部乙", "role": "media"})
    assert made.status_code == 201, made.text
    person = set_new_password(stack, "media-two", temporary_of(made))
    token = api_sign_in(stack, "media-two", NEW_PASSWORD).json()["access_token"]
    assert person.get("/workbench").status_code == 200
    confirm = county.get("/workbench/accounts/media-two/deactivate")
    assert "确认停用账号“宣传部乙”（media-two）" in confirm.text
    off = county.post("/workbench/accounts/media-two/deactivate", {})
    assert off.status_code == 303
    assert "已停用账号 media-two" in county.get(off.headers["location"]).text
    ended = person.get("/workbench")
    assert ended.status_code == 401 and "登录已失效" in ended.text
    assert httpx.get(f"{stack.base_url}/api/v1/me", timeout=10,
                     headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert api_sign_in(stack, "media-two", NEW_PASSWORD).status_code == 401
    on = county.post("/workbench/accounts/media-two/reactivate", {})
    assert on.status_code == 303
    assert api_sign_in(stack, "media-two", NEW_PASSWORD).status_code == 200
    own = county.get("/workbench/accounts/county/deactivate")
    assert own.status_code == 409 and "不能对自己的账号执行此操作" in own.text
    custodian = county.post("/workbench/accounts/custodian/reset", {})
    assert custodian.status_code == 403 and "运维" in custodian.text


def upload(staff: Staff, data: bytes, valid_rows: bool = False) -> httpx.Response:
    fields = {"csrftoken": staff.token("/workbench/accounts/import")}
    if valid_rows:
        fields["import_valid_rows"] = "true"
    return staff.http.post("/workbench/accounts/import", data=fields, files={
        "file": ("账号.xlsx", data,
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})


def usernames(stack, prefix: str) -> list[str]:
    items = httpx.get(f"{stack.base_url}/api/v1/accounts?q={prefix}&limit=200", timeout=10,
                      headers=api(stack, "county")).json()["items"]
    return [a["username"] for a in items]


def test_an_import_with_a_bad_row_creates_nothing_and_names_the_row(stack):
    county = Staff(stack, "county")
    page = county.get("/workbench/accounts/import")
    assert page.status_code == 200 and 'href="/workbench/accounts/import-template.xlsx"' in page.text
    template = county.get("/workbench/accounts/import-template.xlsx")
    assert template.status_code == 200 and template.content.startswith(b"PK")
    data = account_workbook([("imp-school-a", "甲", "单位承办人", "盐山中学"),
                             ("imp-school-b", "乙", "单位承办人", "县教育局"),
                             ("imp-edu-c", "丙", "系统分管部门", "县教育局")])
    refused = upload(county, data)
    assert refused.status_code == 422, refused.text
    assert "未导入任何账号" in refused.text and 'id="import-errors"' in refused.text
    assert "第 4 行“所属单位”" in refused.text
    assert usernames(stack, "imp-") == []

    imported = upload(county, data, valid_rows=True)
    assert imported.status_code == 201, imported.text
    assert 'id="import-created"' in imported.text and "imp-school-a" in imported.text
    assert "第 4 行" in imported.text  # the skipped row is still named
    assert usernames(stack, "imp-") == ["imp-edu-c", "imp-school-a"]
    temporary = re.search(r"imp-school-a</td>\s*<td[^>]*>甲</td><td[^>]*>([^<]+)</td>",
                          imported.text).group(1)
    assert api_sign_in(stack, "imp-school-a", temporary).json()["detail"]["code"] == \
        "password_change_required"

    again = upload(county, data, valid_rows=True)
    assert again.status_code == 201 and 'id="none-created"' in again.text
    assert 'id="import-existing"' in again.text
    assert usernames(stack, "imp-") == ["imp-edu-c", "imp-school-a"]
    junk = upload(county, b"MZ\x90\x00 not a workbook")
    assert junk.status_code == 415 and "工作簿" in junk.text


def test_a_principal_head_set_twice_keeps_the_history(stack):
    county = Staff(stack, "county")
    listing = county.get("/workbench/principal-heads")
    assert listing.status_code == 200 and f'href="/workbench/principal-heads/{SCHOOL}"' in \
        listing.text
    empty = county.post(f"/workbench/principal-heads/{SCHOOL}", {"name": "", "title": ""})
    assert empty.status_code == 422 and "请填写姓名" in empty.text
    for name in ("王校长", "刘校长"):
        reply = county.post(f"/workbench/principal-heads/{SCHOOL}",
                            {"name": name, "title": "校长", "account_username": ""})
        assert reply.status_code == 303, reply.text
    page = county.get(f"/workbench/principal-heads/{SCHOOL}")
    assert "已记录" in page.text
    current = page.text.split('id="current-head"')[1].split("</dl>")[0]
    assert "刘校长" in current and "王校长" not in current
    history = page.text.split('id="head-history"')[1]
    assert history.index("刘校长") < history.index("王校长")
    api_history = httpx.get(f"{stack.base_url}/api/v1/principal-heads/{SCHOOL}", timeout=10,
                            headers=api(stack, "supervisor-edu")).json()
    assert [h["name"] for h in api_history["history"]] == ["刘校长", "王校长"]


def test_the_activity_page_says_who_did_what(stack):
    county = Staff(stack, "county")
    county.post(f"/workbench/principal-heads/{EDU}", {"name": "赵局长", "title": "局长"})
    api_sign_in(stack, "handler-school1", "not the password")
    page = county.get("/workbench/activity")
    assert page.status_code == 200 and 'id="events"' in page.text
    assert "设置主要负责同志" in page.text and "登录失败" in page.text
    only = county.get("/workbench/activity?kind=sign_in_failed&account=handler-school1")
    assert "登录失败" in only.text and "设置主要负责同志" not in only.text.split('id="events"')[1]
    by_org = county.get(f"/workbench/activity?org={EDU}&kind=principal_head_set")
    assert "赵局长" in by_org.text


def account_routes() -> dict:
    app = create_app(Settings(data_dir=tempfile.mkdtemp()))
    return {k: v for k, v in route_roles(app).items()
            if k[1].startswith(("/workbench/accounts", "/workbench/principal-heads",
                                "/workbench/activity"))}


def test_every_account_page_refuses_other_roles(stack):
    routes = account_routes()
    assert len(routes) >= 14 and all(v == {Role.COUNTY_OFFICE} for v in routes.values())
    people = {role: Staff(stack, username) for role, username in ONE_PER_ROLE.items()
              if role is not Role.COUNTY_OFFICE}
    for (method, path), _ in sorted(routes.items()):
        url = path.replace("{username}", "handler-school1").replace("{org_code}", SCHOOL)
        anonymous = httpx.request(method, stack.base_url + url, timeout=10)
        assert anonymous.status_code == 401, (method, path)
        for role, person in people.items():
            reply = person.get(url) if method == "GET" else person.post(url, {})
            assert reply.status_code == 403, (method, path, role, reply.status_code)
            assert "无权" in reply.text
    for role in people:
        headers = api(stack, ONE_PER_ROLE[role])
        for method, path in (("GET", "/api/v1/accounts"), ("POST", "/api/v1/accounts"),
                             ("GET", "/api/v1/account-events"),
                             ("POST", "/api/v1/accounts/handler-school1/reset-password")):
            reply = httpx.request(method, stack.base_url + path, headers=headers, json={},
                                  timeout=10)
            assert reply.status_code == 403, (method, path, role)
    assert api_sign_in(stack, "handler-school1", PASSWORDS["handler-school1"]).status_code == 200


def test_an_account_form_without_the_csrf_token_is_refused(stack):
    county = Staff(stack, "county")
    body = {"username": "csrf-victim", "display_name": "某", "role": "media"}
    refused = county.post("/workbench/accounts/new", body, csrf=False)
    assert refused.status_code == 403 and "表单已失效" in refused.text
    forged = county.post("/workbench/accounts/handler-school1/reset",
                         {"csrftoken": "forged"}, csrf=False)
    assert forged.status_code == 403
    assert usernames(stack, "csrf-victim") == []
    assert api_sign_in(stack, "handler-school1", PASSWORDS["handler-school1"]).status_code == 200


# --- in headless Chromium: every account page at phone and desktop width ------------------------

def shoot_fitting(browser, name: str) -> None:
    """Screenshots at 390 px and 1280 px (kept as artifacts); at 390 px nothing overflows
    sideways."""
    for width, label in ((390, "phone"), (1280, "desktop")):
        browser._call("POST", "/window/rect", {"width": width, "height": 1800})
        browser.screenshot(SHOTS / f"workbench-{name}-{label}.png")
        if width == 390:
            assert browser.js("return document.documentElement.scrollWidth "
                              "<= window.innerWidth"), f"{name} overflows at 390 px"


@pytest.mark.browser
def test_the_county_office_works_the_account_pages_in_a_browser(stack, tmp_path):
    workbook = tmp_path / "accounts.xlsx"
    workbook.write_bytes(account_workbook([("brw-one", "甲", "单位承办人", "盐山中学"),
                                           ("brw-two", "乙", "单位承办人", "县教育局")]))
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/accounts")
        assert browser.wait_text("h1") == "工作人员登录"
        browser.type("#f-username", "county")
        browser.type("#f-password", PASSWORDS["county"])
        press(browser, "\ue007")
        browser.wait("return location.pathname === '/workbench/accounts'")
        assert "handler-school1" in browser.wait_text("#accounts")
        shoot_fitting(browser, "accounts")
        browser.click("#new-account")
        browser.wait("return !!document.getElementById('f-username')")
        browser.click("#submit")
        summary = browser.wait_text("#error-summary")
        assert "用户名" in summary and "请填写姓名" in summary
        shoot_fitting(browser, "account-new-errors")
        browser.type("#f-username", "brw-handler")
        browser.type("#f-display_name", "浏览器用户")
        fill(browser, {"f-role": "unit_handler", "f-org_code": SCHOOL})
        browser.click("#submit")
        temporary = browser.wait_text("#temporary-password")
        shoot_fitting(browser, "account-temporary")
        browser.open(f"{stack.base_url}/workbench/accounts/brw-handler/deactivate")
        assert "确认停用" in browser.wait_text("#confirm-text")
        shoot_fitting(browser, "account-confirm")
        browser.open(f"{stack.base_url}/workbench/accounts/import")
        browser.wait("return !!document.getElementById('f-file')")
        browser.type("#f-file", str(workbook))
        browser.click("#submit")
        assert "第 4 行" in browser.wait_text("#import-errors")
        shoot_fitting(browser, "account-import-errors")
        browser.open(f"{stack.base_url}/workbench/principal-heads")
        browser.wait_text("#heads")
        shoot_fitting(browser, "principal-heads")
        browser.open(f"{stack.base_url}/workbench/principal-heads/{SCHOOL}")
        browser.type("#f-name", "孙校长")
        browser.type("#f-title", "校长")
        browser.click("#submit")
        assert "已记录" in browser.wait_text("#flash")
        shoot_fitting(browser, "principal-head")
        browser.open(f"{stack.base_url}/workbench/activity")
        assert "创建账号" in browser.wait_text("#events")
        shoot_fitting(browser, "activity")
        assert browser.console_errors() == []
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/sign-in")
        browser.type("#f-username", "brw-handler")
        browser.type("#f-password", temporary)
        press(browser, "\ue007")
        browser.wait("return location.pathname === '/workbench/password'")
        shoot_fitting(browser, "password-change")
        browser.type("#f-new_password", NEW_PASSWORD)
        browser.type("#f-confirm", NEW_PASSWORD)
        browser.click("#submit")
        browser.wait("return location.pathname === '/workbench'")
        assert browser.wait_text("#person-name") == "浏览器用户"
        assert browser.console_errors() == []
