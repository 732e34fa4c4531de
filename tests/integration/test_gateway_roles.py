"""Deny by default, proven on the real app: every endpoint names its roles, others are refused."""
from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from contracts.campaign import load_default_campaign
from gateway.app import create_app
from gateway.auth.demo import DEMO_ACCOUNTS
from gateway.auth.guards import route_roles
from gateway.auth.principal import Principal
from gateway.auth.roles import STAFF_ROLES, Role
from gateway.auth.tokens import issue
from kit.settings import Settings

pytestmark = pytest.mark.integration

ORG_FOR_ROLE = {Role.UNIT_HANDLER: "org_sch_yanshan_high", Role.SUPERVISOR: "org_education_bureau",
                Role.COUNTY_OFFICE: "org_county_office"}
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
STAFF_CHANNEL_USERS = {  # as issue 8 (hole 7) names them
    "self_inspection": {Role.UNIT_HANDLER},
    **{code: {Role.COUNTY_OFFICE, Role.SUPERVISOR} for code in (
        "questionnaire", "forum", "field_visit", "covert_experience", "covert_patrol", "letter",
        "phone_call")},
    "special_supervisor": {Role.INVITED_SUPERVISOR},
    "partner_conduct_platform": {Role.PARTNER}, "partner_discipline_platform": {Role.PARTNER},
    "media_exposure": {Role.MEDIA},
}


@pytest.fixture(scope="module")
def client(amqp_uri, tmp_path_factory):
    settings = Settings(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("gw"))
    with TestClient(create_app(settings)) as test_client:
        store = test_client.app.state.accounts
        store.hasher = FAST
        made = {role: store.create(f"test-{role.value}".replace("_", "-"),
                                   "long enough password", role, ORG_FOR_ROLE.get(role))
                for role in STAFF_ROLES}
        # the county office gave the partner both partner channels (a partner account
        # enters clues only on the channels it was given)
        test_client.app.state.partners.configure(
            made[Role.PARTNER], [c for c, roles in STAFF_CHANNEL_USERS.items()
                                 if Role.PARTNER in roles], None, None, "test")
        test_client.app.state.test_principals = {r: a.principal() for r, a in made.items()}
        yield test_client


def token_for(role: Role, secret: str, client=None) -> str:
    """A token of a real account of ``role`` (tokens are honoured only while their account is
    active and current); without ``client``, of an account that does not exist."""
    if client is None:
        return issue(Principal("1", f"test-{role.value}", role, ORG_FOR_ROLE.get(role)), secret, 5)
    return issue(client.app.state.test_principals[role], secret, 5)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "ABCD-EFGH-JKLM", path)


def test_every_endpoint_declares_who_may_call_it(client):
    roles = route_roles(client.app)
    assert roles, "no routes found"
    assert all(allowed for allowed in roles.values()), [k for k, v in roles.items() if not v]


def test_every_endpoint_refuses_the_roles_it_does_not_name(client):
    secret = client.app.state.settings.secret_key
    checked = 0
    for (method, path), allowed in route_roles(client.app).items():
        if Role.PUBLIC in allowed:
            continue
        url = concrete(path)
        anonymous = client.request(method, url, json={})
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for role in STAFF_ROLES - allowed:
            refused = client.request(method, url, json={},
                                     headers=bearer(client, role))
            assert refused.status_code == 403, (method, path, role, refused.text)
            checked += 1
    assert checked > 0


def bearer(client, role: Role) -> dict:
    secret = client.app.state.settings.secret_key
    return {"Authorization": f"Bearer {token_for(role, secret, client)}"}


def test_a_forged_token_is_refused(client):
    forged = token_for(Role.COUNTY_OFFICE, "not-the-secret-at-all-not-the-secret")
    reply = client.get("/api/v1/problems", headers={"Authorization": f"Bearer {forged}"})
    assert reply.status_code == 401


def test_demo_accounts_belong_to_organizations_of_the_campaign():
    campaign = load_default_campaign()
    for demo in DEMO_ACCOUNTS:
        if demo.org_code is not None:
            assert campaign.organization(demo.org_code) is not None, demo


def test_the_campaign_is_public_with_codes_and_chinese_names(client):
    body = client.get("/api/v1/campaign").json()
    assert len(body["categories"]) == 9 and len(body["kinds"]) == 3
    assert {k["name_zh"] for k in body["kinds"]} == {"不作为", "乱作为", "慢作为"}
    for section in ("categories", "kinds", "channels", "phases", "organizations"):
        assert all(item["code"] and item["name_zh"] for item in body[section]), section


def test_outside_development_the_default_secret_is_refused():
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValueError, match="CONTACT_KEY"):
        Settings(environment="production", secret_key="p" * 40)


def clue(channel: str, subject_unit: str | None = None) -> dict:
    return {"channel": channel, "title": "窗口办事推诿", "description": "多次推诿,不一次性告知所需材料",
            "subject_unit": subject_unit}


@pytest.mark.parametrize("channel", sorted(STAFF_CHANNEL_USERS))
def test_every_staff_role_is_refused_the_staff_channels_that_do_not_name_it(client, channel):
    for role in sorted(STAFF_ROLES, key=lambda r: r.value):
        reply = client.post("/api/v1/clues", headers=bearer(client, role),
                            json=clue(channel, ORG_FOR_ROLE.get(role, "org_gd_public_security")))
        if role in STAFF_CHANNEL_USERS[channel]:
            assert reply.status_code == 202, (role, channel, reply.text)
            continue
        assert reply.status_code == 403, (role, channel, reply.text)
        detail = reply.json()["detail"]
        assert detail["code"] == "channel_not_for_role" and detail["channel"] == channel
        assert channel in detail["message"]
        assert client.app.state.campaign.channel(channel).name_zh in detail["message_zh"]
    anonymous = client.post("/api/v1/clues", json=clue(channel, "org_gd_public_security"))
    assert anonymous.status_code == 422
    assert anonymous.json()["detail"]["code"] == "channel_not_public"


def test_a_unit_files_self_inspection_clues_about_itself_only(client):
    handler = bearer(client, Role.UNIT_HANDLER)
    own = client.post("/api/v1/clues", headers=handler,
                      json=clue("self_inspection", "org_sch_yanshan_high"))
    assert own.status_code == 202, own.text
    other = client.post("/api/v1/clues", headers=handler,
                        json=clue("self_inspection", "org_gd_public_security"))
    assert other.status_code == 403 and other.json()["detail"]["code"] == "not_own_unit"
    assert other.json()["detail"]["field"] == "subject_unit"
    assert "自查" in other.json()["detail"]["message_zh"]
    missing = client.post("/api/v1/clues", headers=handler, json=clue("self_inspection"))
    assert missing.status_code == 422
    assert missing.json()["detail"]["code"] == "own_unit_required"


def test_only_the_custodian_may_open_a_contact_and_only_the_county_office_deactivates(client):
    roles = route_roles(client.app)
    assert roles[("POST", "/api/v1/clues/{clue_id}/contact")] == {Role.CUSTODIAN}
    assert roles[("POST", "/api/v1/accounts/{username}/deactivate")] == {Role.COUNTY_OFFICE}
    for role in STAFF_ROLES - {Role.CUSTODIAN}:
        reply = client.post(f"/api/v1/clues/{'a' * 32}/contact", headers=bearer(client, role),
                            json={"reason": "想看看举报人是谁"})
        assert reply.status_code == 403, (role, reply.text)
        assert "13800000000" not in reply.text


def test_a_token_of_an_account_that_does_not_exist_is_refused(client):
    ghost = token_for(Role.COUNTY_OFFICE, client.app.state.settings.secret_key)
    reply = client.get("/api/v1/problems", headers={"Authorization": f"Bearer {ghost}"})
    assert reply.status_code == 401 and reply.json()["detail"]["code"] == "token_revoked"


def test_demo_accounts_include_the_invited_supervisor_partner_and_custodian():
    roles = {demo.role for demo in DEMO_ACCOUNTS}
    assert {Role.INVITED_SUPERVISOR, Role.PARTNER, Role.CUSTODIAN} <= roles


def test_receipt_look_ups_from_one_client_are_rate_limited_on_the_real_app(client):
    look_up = {"receipt_code": "x"}  # refused at the door (422): no service needed
    codes = [client.post("/api/v1/receipts/lookup", json=look_up).status_code
             for _ in range(60)]
    assert codes == [422] * 60
    refused = client.post("/api/v1/receipts/lookup", json=look_up)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["detail"]["code"] == "too_many_requests"
    assert "请求过于频繁" in refused.json()["detail"]["message_zh"]
    clue = client.post("/api/v1/clues", json={"channel": "public_report_platform",
                                               "title": "窗口办事推诿", "description": "多次推诿扯皮"})
    assert clue.status_code == 202  # the public clue route is not counted


def test_sign_ins_from_one_client_are_rate_limited_on_the_real_app(client):
    def sign_in(username):
        return client.post("/api/v1/auth/token",
                           json={"username": username, "password": "not the password"})
    assert [sign_in(f"guess-{i}").status_code for i in range(20)] == [401] * 20
    refused = sign_in("test-county-office")
    assert refused.status_code == 429 and refused.headers["retry-after"]
