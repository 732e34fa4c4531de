"""Accounts and people (issue 9 item 6): the administration rules as plain Python, the store
(schema added to an existing store, append-only events, principal heads with history) and
the API in-process (SQLite, a stand-in broker: no service is involved)."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from contracts.campaign import load_default_campaign
from gateway.app import create_app
from gateway.auth import admin
from gateway.auth.accounts import AccountStore, PasswordChangeRequired
from gateway.auth.roles import STAFF_ROLES, Role
from kit.db import make_engine
from kit.settings import Settings
from tests.support.accounts import account_workbook

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
PASSWORD = "long enough password"
SCHOOL, EDU, COUNTY_ORG = "org_sch_yanshan_high", "org_education_bureau", "org_county_office"
CAMPAIGN = load_default_campaign()


def codes(refusals) -> set[str]:
    return {r.code for r in refusals}


# --- the rules ---------------------------------------------------------------------------------

def test_a_units_handler_needs_a_unit_and_a_supervising_body_a_body():
    assert admin.check_new_account("handler-x", "unit_handler", SCHOOL, "李四", CAMPAIGN) == []
    assert admin.check_new_account("sup-x", "supervisor", EDU, "王五", CAMPAIGN) == []
    assert admin.check_new_account("county-x", "county_office", COUNTY_ORG, "张三",
                                   CAMPAIGN) == []
    missing = admin.check_new_account("handler-x", "unit_handler", None, "李四", CAMPAIGN)
    assert codes(missing) == {"org_required"} and missing[0].field == "org_code"
    wrong = admin.check_new_account("handler-x", "unit_handler", EDU, "李四", CAMPAIGN)
    assert codes(wrong) == {"org_not_for_role"} and "县教育局" in wrong[0].message_zh
    assert codes(admin.check_new_account("sup-x", "supervisor", SCHOOL, "王五", CAMPAIGN)) == {
        "org_not_for_role"}
    assert codes(admin.check_new_account("handler-x", "unit_handler", "org_nowhere", "李四",
                                         CAMPAIGN)) == {"unknown_unit"}
    assert codes(admin.check_new_account("media-x", "media", SCHOOL, "赵六", CAMPAIGN)) == {
        "org_not_for_role"}
    assert admin.check_new_account("media-x", "media", None, "赵六", CAMPAIGN) == []


def test_the_county_office_never_makes_custodian_or_operator_accounts():
    for role in (Role.CUSTODIAN, Role.OPS):
        assert codes(admin.check_new_account("x-y", role, None, "某", CAMPAIGN)) == {
            "role_not_manageable"}
        assert admin.may_manage("county", "someone", role).code == "role_not_manageable"
    assert codes(admin.check_new_account("x-y", "public", None, "某", CAMPAIGN)) == {
        "unknown_role"}
    assert codes(admin.check_new_account("x-y", "king", None, "某", CAMPAIGN)) == {"unknown_role"}


def test_nobody_administers_their_own_account():
    assert admin.may_manage("county", " County ", Role.COUNTY_OFFICE).code == "cannot_manage_self"
    assert admin.may_manage("county", "handler-a", Role.UNIT_HANDLER) is None
    assert admin.may_administer(Role.COUNTY_OFFICE)
    assert not any(admin.may_administer(r) for r in STAFF_ROLES - {Role.COUNTY_OFFICE})


@pytest.mark.parametrize("username", ["a", "Ab cd", "-lead", "名字", "x" * 65, ""])
def test_usernames_follow_the_rule(username):
    assert codes(admin.check_new_account(username, "media", None, "某", CAMPAIGN)) == {
        "invalid_username"}


def test_password_rules_and_a_new_password_must_differ():
    assert admin.check_password("li", "short").code == "weak_password"
    assert admin.check_password("aaaaaaaaaaaa", "aaaaaaaaaaaa").code == "weak_password"
    assert admin.check_password("li", "abababababab").code == "weak_password"
    assert admin.check_password("li", PASSWORD) is None
    assert admin.check_new_password("li", PASSWORD, PASSWORD).code == "password_not_changed"
    assert admin.check_new_password("li", "x", PASSWORD, "other").code == "passwords_differ"
    assert admin.check_new_password("li", "x", PASSWORD, PASSWORD) is None


def test_temporary_passwords_are_random_readable_and_pass_the_rules():
    made = {admin.temporary_password() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        assert admin.check_password("someone", password) is None
        assert len(password) == 14 and password.count("-") == 2
        assert not set(password) & set("01lio")


def test_a_principal_head_needs_a_name_a_title_and_an_account_of_its_unit():
    ok = admin.check_principal_head(SCHOOL, "王校长", "校长", None, None, CAMPAIGN)
    assert ok == []
    assert codes(admin.check_principal_head(SCHOOL, " ", "", None, None, CAMPAIGN)) == {
        "invalid_input"}
    assert codes(admin.check_principal_head("org_none", "王", "校长", None, None, CAMPAIGN)) == {
        "unknown_unit"}
    assert codes(admin.check_principal_head(SCHOOL, "王", "校长", None, "ghost", CAMPAIGN)) == {
        "unknown_account"}
    other = {"org_code": EDU}
    assert codes(admin.check_principal_head(SCHOOL, "王", "校长", other, "sup", CAMPAIGN)) == {
        "account_not_of_org"}


# --- the store ---------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path) -> AccountStore:
    s = AccountStore(make_engine(f"sqlite:///{tmp_path / 'gateway.db'}"), hasher=FAST)
    s.create_schema()
    return s


def test_an_existing_store_gets_the_new_columns_and_tables_and_keeps_its_accounts(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # the accounts table as the first release made it
        conn.execute(text(
            "CREATE TABLE accounts (id VARCHAR(32) PRIMARY KEY, username VARCHAR(64) NOT NULL "
            "UNIQUE, password_hash VARCHAR(255) NOT NULL, role VARCHAR(32) NOT NULL, org_code "
            "VARCHAR(64), display_name VARCHAR(200) NOT NULL, active BOOLEAN NOT NULL, "
            "created_at DATETIME NOT NULL)"))
    old = AccountStore(make_engine(url), hasher=FAST)
    from gateway.auth.passwords import hash_password
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts VALUES ('a1', 'old-handler', :h, "
                          "'unit_handler', :org, '老账号', 1, '2017-01-01 00:00:00')"),
                     {"h": hash_password(PASSWORD, FAST), "org": SCHOOL})
    old.create_schema()
    old.create_schema()  # at every start: nothing changes the second time
    columns = {c["name"] for c in inspect(old.engine).get_columns("accounts")}
    assert {"token_version", "must_change_password", "created_by"} <= columns
    assert {"account_events", "principal_heads"} <= set(inspect(old.engine).get_table_names())
    principal = old.authenticate("old-handler", PASSWORD)
    assert principal is not None and principal.org_code == SCHOOL
    assert old.get_by_username("old-handler").must_change_password is False


def test_a_reset_password_signs_in_only_to_set_a_new_one(store):
    store.create("handler-a", PASSWORD, Role.UNIT_HANDLER, SCHOOL)
    before = store.get_by_username("handler-a").token_version
    store.reset_password("handler-a", "temp-pass-word", actor="county")
    assert store.authenticate("handler-a", PASSWORD) is None
    with pytest.raises(PasswordChangeRequired):
        store.authenticate("handler-a", "temp-pass-word")
    account = store.get_by_username("handler-a")
    assert account.must_change_password and account.token_version == before + 1
    store.change_password(account.id, "my own new password")
    assert store.authenticate("handler-a", "my own new password").username == "handler-a"
    assert store.authenticate("handler-a", "temp-pass-word") is None
    with pytest.raises(ValueError, match="weak"):
        store.change_password(account.id, "short")


def test_events_are_appended_newest_first_and_filtered(store):
    store.create("handler-a", PASSWORD, Role.UNIT_HANDLER, SCHOOL, created_by="county")
    store.create("sup-a", PASSWORD, Role.SUPERVISOR, EDU, created_by="county")
    store.deactivate("handler-a", actor="county")
    store.reactivate("handler-a", actor="county")
    store.record_event("sign_in_failed", None, "handler-a")
    items, total = store.events()
    assert total == 5
    assert [e["kind"] for e in items] == ["sign_in_failed", "reactivated", "deactivated",
                                          "created", "created"]
    assert items[3]["detail"] == {"role": "supervisor"} and items[3]["actor"] == "county"
    assert store.events(account="handler-a")[1] == 4
    assert store.events(org_code=EDU)[1] == 1
    assert store.events(kind="created", limit=1)[0][0]["account"] == "sup-a"
    assert store.events(kind="created", limit=1, offset=1)[0][0]["account"] == "handler-a"
    assert store.events(actor="county")[1] == 4


def test_a_principal_head_changes_keep_the_history(store):
    assert store.principal_head(SCHOOL) is None
    store.set_principal_head(SCHOOL, "王校长", "校长", None, "county")
    store.set_principal_head(SCHOOL, "李校长", "校长", None, "county")
    store.set_principal_head(EDU, "赵局长", "局长", None, "county")
    assert store.principal_head(SCHOOL).name == "李校长"
    assert [h.name for h in store.principal_head_history(SCHOOL)] == ["李校长", "王校长"]
    current = store.principal_heads()
    assert {k: v.name for k, v in current.items()} == {SCHOOL: "李校长", EDU: "赵局长"}
    assert store.events(kind="principal_head_set", org_code=SCHOOL)[1] == 2


def test_accounts_are_listed_with_filters(store):
    store.create("handler-a", PASSWORD, Role.UNIT_HANDLER, SCHOOL, "盐山中学甲")
    store.create("handler-b", PASSWORD, Role.UNIT_HANDLER, "org_gd_public_security", "公安乙")
    store.create("sup-a", PASSWORD, Role.SUPERVISOR, EDU, "教育局丙")
    store.deactivate("handler-b")
    assert store.list_accounts()[1] == 3
    assert [a.username for a in store.list_accounts(role="unit_handler")[0]] == [
        "handler-a", "handler-b"]
    assert [a.username for a in store.list_accounts(active=False)[0]] == ["handler-b"]
    assert [a.username for a in store.list_accounts(org_code=EDU)[0]] == ["sup-a"]
    assert [a.username for a in store.list_accounts(query="公安")[0]] == ["handler-b"]
    assert [a.username for a in store.list_accounts(limit=1, offset=1)[0]] == ["handler-b"]


# --- the API, in-process -------------------------------------------------------------------------

class NoBroker:
    connected = True

    def start(self):
        pass

    def stop(self):
        pass

    async def call(self, *args, **kwargs):
        raise AssertionError("account administration needs no service")


@pytest.fixture
def client(tmp_path):
    settings = Settings(environment="development", secret_key=SECRET, data_dir=tmp_path,
                        demo_accounts=False)
    with TestClient(create_app(settings, broker=NoBroker())) as c:
        store = c.app.state.accounts
        store.hasher = FAST
        for username, role, org in (("county", Role.COUNTY_OFFICE, COUNTY_ORG),
                                    ("supervisor-edu", Role.SUPERVISOR, EDU),
                                    ("handler-school1", Role.UNIT_HANDLER, SCHOOL),
                                    ("spotcheck", Role.SPOT_CHECK, None),
                                    ("custodian", Role.CUSTODIAN, None)):
            store.create(username, PASSWORD, role, org)
        yield c


def sign_in(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def bearer(client, username="county", password=PASSWORD) -> dict:
    reply = sign_in(client, username, password)
    assert reply.status_code == 200, reply.text
    return {"Authorization": "Bearer " + reply.json()["access_token"]}


def test_a_new_account_signs_in_once_to_set_its_own_password(client):
    county = bearer(client)
    made = client.post("/api/v1/accounts", headers=county, json={
        "username": "handler-school2", "display_name": "李四", "role": "unit_handler",
        "org_code": SCHOOL})
    assert made.status_code == 201, made.text
    body = made.json()
    temporary = body["temporary_password"]
    assert body["account"]["must_change_password"] and body["account"]["created_by"] == "county"
    assert body["account"]["org_name_zh"] == "盐山中学"
    refused = sign_in(client, "handler-school2", temporary)
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert detail["code"] == "password_change_required"
    assert "/api/v1/auth/change-password" in detail["message"] and "新密码" in detail["message_zh"]
    same = client.post("/api/v1/auth/change-password", json={
        "username": "handler-school2", "password": temporary, "new_password": temporary})
    assert same.status_code == 422 and same.json()["detail"]["code"] == "password_not_changed"
    wrong = client.post("/api/v1/auth/change-password", json={
        "username": "handler-school2", "password": "not it at all", "new_password": PASSWORD})
    assert wrong.status_code == 401
    changed = client.post("/api/v1/auth/change-password", json={
        "username": "handler-school2", "password": temporary, "new_password": "我的新密码abc123"})
    assert changed.status_code == 200, changed.text
    me = client.get("/api/v1/me", headers={
        "Authorization": "Bearer " + changed.json()["access_token"]})
    assert me.json()["org_code"] == SCHOOL
    assert sign_in(client, "handler-school2", "我的新密码abc123").status_code == 200
    assert sign_in(client, "handler-school2", temporary).status_code == 401


def test_creating_refuses_bad_input_with_bilingual_errors_and_creates_nothing(client):
    county = bearer(client)
    cases = [({"username": "Bad Name", "display_name": "某", "role": "media"}, 422,
              "invalid_username"),
             ({"username": "h-x", "display_name": "某", "role": "unit_handler"}, 422,
              "org_required"),
             ({"username": "h-x", "display_name": "某", "role": "unit_handler",
               "org_code": EDU}, 422, "org_not_for_role"),
             ({"username": "c-x", "display_name": "某", "role": "custodian"}, 403,
              "role_not_manageable"),
             ({"username": "spotcheck", "display_name": "某", "role": "spot_check"}, 409,
              "username_taken")]
    for body, status, code in cases:
        reply = client.post("/api/v1/accounts", headers=county, json=body)
        assert reply.status_code == status, (body, reply.text)
        detail = reply.json()["detail"]
        assert detail["code"] == code and detail["message_zh"] and detail["message"]
    listed = client.get("/api/v1/accounts", headers=county).json()
    assert listed["total"] == 5


def test_a_reset_ends_the_old_password_and_tokens_until_a_new_one_is_set(client):
    county = bearer(client)
    handler = bearer(client, "handler-school1")
    reset = client.post("/api/v1/accounts/handler-school1/reset-password", headers=county)
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert client.get("/api/v1/me", headers=handler).status_code == 401
    assert sign_in(client, "handler-school1").status_code == 401
    assert sign_in(client, "handler-school1", temporary).json()["detail"]["code"] == \
        "password_change_required"
    kinds = [e["kind"] for e in client.get("/api/v1/account-events?account=handler-school1",
                                           headers=county).json()["items"]]
    assert kinds[:3] == ["signed_in", "sign_in_failed", "password_reset"]


def test_deactivate_and_reactivate_are_recorded_with_who_did_it(client):
    county = bearer(client)
    handler = bearer(client, "handler-school1")
    off = client.post("/api/v1/accounts/handler-school1/deactivate", headers=county)
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/api/v1/me", headers=handler).status_code == 401
    on = client.post("/api/v1/accounts/handler-school1/reactivate", headers=county)
    assert on.status_code == 200 and on.json()["active"] is True
    assert client.get("/api/v1/me", headers=handler).status_code == 401  # old token stays dead
    assert sign_in(client, "handler-school1").status_code == 200
    events = client.get("/api/v1/account-events?org=" + SCHOOL, headers=county).json()
    assert [(e["kind"], e["actor"]) for e in events["items"][:3]] == [
        ("signed_in", None), ("reactivated", "county"), ("deactivated", "county")]
    assert events["items"][1]["kind_zh"] == "恢复账号"
    for path in ("deactivate", "reactivate", "reset-password"):
        assert client.post(f"/api/v1/accounts/custodian/{path}", headers=county).json()[
            "detail"]["code"] == "role_not_manageable"
        assert client.post(f"/api/v1/accounts/county/{path}", headers=county).status_code == 409
        assert client.post(f"/api/v1/accounts/nobody/{path}", headers=county).status_code == 404


def test_the_import_refuses_the_file_when_a_row_is_wrong_and_names_the_row(client):
    county = bearer(client)
    data = account_workbook([("h-one", "甲", "单位承办人", "盐山中学"),
                             ("h-two", "乙", "unit_handler", EDU),
                             ("h-one", "丙", "媒体", None)])
    reply = client.post("/api/v1/accounts/import", headers=county,
                        files={"file": ("a.xlsx", data)})
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert detail["code"] == "account_import_refused" and detail["rows"] == 3
    rows = {(e["row"], e["code"]) for e in detail["errors"]}
    assert (4, "org_not_for_role") in rows and (5, "duplicate_username") in rows
    assert (5, "unknown_role") in rows
    assert any(e["message_zh"].startswith("第 4 行“所属单位”") for e in detail["errors"])
    assert client.get("/api/v1/accounts?q=h-", headers=county).json()["total"] == 0


def test_the_valid_rows_import_when_asked_and_a_re_import_creates_nothing_twice(client):
    county = bearer(client)
    data = account_workbook([("h-one", "甲", "单位承办人", "盐山中学"),
                             ("h-two", "乙", "unit_handler", EDU),
                             ("s-three", "丙", "系统分管部门", "县教育局")])
    reply = client.post("/api/v1/accounts/import", headers=county,
                        files={"file": ("a.xlsx", data)}, data={"import_valid_rows": "true"})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert [c["username"] for c in body["created"]] == ["h-one", "s-three"]
    assert [e["row"] for e in body["errors"]] == [4]
    first = body["created"][0]["temporary_password"]
    assert sign_in(client, "h-one", first).json()["detail"]["code"] == "password_change_required"
    again = client.post("/api/v1/accounts/import?import_valid_rows=true", headers=county,
                        content=data).json()
    assert again["created"] == [] and [e["username"] for e in again["existing"]] == [
        "h-one", "s-three"]
    assert client.get("/api/v1/accounts?q=h-", headers=county).json()["total"] == 1
    created = client.get("/api/v1/account-events?kind=created&actor=county", headers=county).json()
    assert created["total"] == 2 and created["items"][0]["detail"]["via"] == "import"


def test_the_import_template_and_a_workbook_that_is_not_it(client):
    county = bearer(client)
    template = client.get("/api/v1/accounts/import-template.xlsx", headers=county)
    assert template.status_code == 200 and template.content.startswith(b"PK")
    from gateway.excel.account_import import read_rows
    assert read_rows(template.content) == []  # titles, codes and hints only
    empty = client.post("/api/v1/accounts/import", headers=county, content=template.content)
    assert empty.status_code == 422 and empty.json()["detail"]["code"] == "account_import_empty"
    junk = client.post("/api/v1/accounts/import", headers=county, content=b"MZ not a workbook")
    assert junk.status_code == 415 and junk.json()["detail"]["code"] == "not_xlsx"


def test_principal_heads_keep_their_history_and_are_read_by_supervisors(client):
    county = bearer(client)
    for name in ("王校长", "李校长"):
        reply = client.post(f"/api/v1/principal-heads/{SCHOOL}", headers=county,
                            json={"name": name, "title": "校长",
                                  "account_username": "handler-school1"})
        assert reply.status_code == 201, reply.text
    history = client.get(f"/api/v1/principal-heads/{SCHOOL}",
                         headers=bearer(client, "supervisor-edu")).json()
    assert history["current"]["name"] == "李校长"
    assert [h["name"] for h in history["history"]] == ["李校长", "王校长"]
    assert history["history"][1]["set_by"] == "county"
    listing = client.get("/api/v1/principal-heads", headers=county).json()
    assert next(o for o in listing if o["org_code"] == SCHOOL)["current"]["name"] == "李校长"
    wrong = client.post(f"/api/v1/principal-heads/{SCHOOL}", headers=county,
                        json={"name": "赵", "title": "校长", "account_username": "supervisor-edu"})
    assert wrong.status_code == 422 and wrong.json()["detail"]["code"] == "account_not_of_org"
    assert client.post("/api/v1/principal-heads/org_nowhere", headers=county,
                       json={"name": "赵", "title": "校长"}).status_code == 404
    assert client.app.state.accounts.principal_head(SCHOOL).name == "李校长"


def test_every_administration_endpoint_refuses_other_roles(client):
    others = {u: bearer(client, u) for u in ("supervisor-edu", "handler-school1", "spotcheck")}
    writes = [("POST", "/api/v1/accounts"), ("POST", "/api/v1/accounts/spotcheck/reactivate"),
              ("POST", "/api/v1/accounts/spotcheck/reset-password"),
              ("POST", "/api/v1/accounts/spotcheck/deactivate"),
              ("POST", "/api/v1/accounts/import"), ("GET", "/api/v1/accounts"),
              ("GET", "/api/v1/accounts/import-template.xlsx"),
              ("GET", "/api/v1/account-events"), ("POST", f"/api/v1/principal-heads/{SCHOOL}")]
    for method, path in writes:
        for who, headers in others.items():
            reply = client.request(method, path, headers=headers, json={})
            assert reply.status_code == 403, (method, path, who)
            assert reply.json()["detail"]["code"] == "forbidden"
        assert client.request(method, path, json={}).status_code == 401
    assert client.get("/api/v1/principal-heads",
                      headers=others["handler-school1"]).status_code == 403
    assert client.get("/api/v1/principal-heads", headers=others["spotcheck"]).status_code == 200
    assert client.get("/api/v1/accounts", headers=bearer(client)).json()["total"] == 5


# --- the CSRF token of a multipart form (asgi-csrf with python-multipart 0.0.34) ----------------

def multipart(*parts: tuple[str, bytes, str | None]) -> tuple[bytes, bytes]:
    boundary = b"----wbBoundary7MA4YWxk"
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename
                                                       else "")
        body += b"--" + boundary + b"\r\nContent-Disposition: " + disposition.encode() + \
            b"\r\n\r\n" + value + b"\r\n"
    return boundary, body + b"--" + boundary + b"--\r\n"


def test_the_csrf_token_of_a_multipart_form_is_found_and_the_body_replayed():
    import asyncio

    import asgi_csrf

    from gateway.workbench.csrf_multipart import find_token

    def run(boundary, body, chunk=7):
        pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)]
        queue = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
                 for i, p in enumerate(pieces)]

        async def receive():
            return queue.pop(0)

        async def go():
            token, replay = await find_token(boundary, receive)
            again = b""
            while True:
                message = await replay()
                again += message.get("body", b"")
                if not message.get("more_body"):
                    return token, again
        return asyncio.run(go())

    boundary, body = multipart(("csrftoken", b"tok-123", None), ("file", b"PK\x03\x04" * 50, "a.xlsx"))
    assert run(boundary, body) == ("tok-123", body)
    boundary, body = multipart(("import_valid_rows", b"true", None), ("csrftoken", b"t2", None))
    assert run(boundary, body, chunk=3)[0] == "t2"
    boundary, body = multipart(("file", b"data", "a.xlsx"), ("csrftoken", b"tok", None))
    with pytest.raises(asgi_csrf.FileBeforeToken):
        run(boundary, body)
    boundary, body = multipart(("other", b"x", None))
    assert run(boundary, body) == (None, body)
    assert asgi_csrf._parse_multipart_form_data is find_token  # installed by the workbench


# --- the operators' command (no demo accounts outside development) -------------------------------

def test_operators_make_the_first_county_office_and_custodian_accounts(store, tmp_path, capsys):
    from gateway.auth.cli import main

    settings = Settings(environment="development", secret_key=SECRET, data_dir=tmp_path)
    assert main(["create", "county-admin", "--role", "county_office", "--org", COUNTY_ORG,
                 "--name", "张三"], settings, store) == 0
    temporary = capsys.readouterr().out.split("temporary password ")[1].split()[0]
    with pytest.raises(PasswordChangeRequired):
        store.authenticate("county-admin", temporary)
    assert main(["create", "custodian-1", "--role", "custodian", "--name", "纪委某"],
                settings, store) == 0
    assert store.get_by_username("custodian-1").must_change_password
    assert main(["create", "custodian-2", "--role", "custodian", "--org", SCHOOL,
                 "--name", "某"], settings, store) == 2
    assert main(["create", "h-x", "--role", "unit_handler", "--name", "某"], settings, store) == 2
    assert "org_code" in capsys.readouterr().err
    assert main(["reset", "custodian-1"], settings, store) == 0
    assert main(["reset", "nobody"], settings, store) == 2
    events = store.events(account="custodian-1")[0]
    assert [e["kind"] for e in events] == ["password_reset", "created"]
    assert events[0]["actor"].startswith("cli:")


# --- the pages, in-process, in English too -----------------------------------------------------

def test_every_account_page_reads_in_english_too(client):
    import re

    def token(path):
        return re.search(r'name="csrftoken" value="([^"]+)"', client.get(path).text).group(1)

    signed = client.post("/workbench/sign-in", follow_redirects=False, data={
        "csrftoken": token("/workbench/sign-in"), "username": "county", "password": PASSWORD})
    assert signed.status_code == 303
    client.post("/workbench/language", data={"csrftoken": token("/workbench"), "lang": "en"})
    client.app.state.accounts.set_principal_head(SCHOOL, "王校长", "校长", None, "county")
    for path, words in (("/workbench/accounts", "Accounts"),
                        ("/workbench/accounts?status=inactive&role=media&q=x", "No accounts match"),
                        ("/workbench/accounts/new", "New account"),
                        ("/workbench/accounts/handler-school1/reset", "Reset the password of"),
                        ("/workbench/accounts/import", "Download the account template"),
                        ("/workbench/principal-heads", "Principal heads"),
                        (f"/workbench/principal-heads/{SCHOOL}", "Record a new principal head"),
                        ("/workbench/activity", "principal head set")):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert words in page.text and '<html lang="en">' in page.text, path
    made = client.post("/workbench/accounts/new", data={
        "csrftoken": token("/workbench/accounts/new"), "username": "Bad Name",
        "display_name": "", "role": "unit_handler", "org_code": ""})
    assert made.status_code == 422
    assert "username must be 2-64 characters" in made.text and "name is required" in made.text
