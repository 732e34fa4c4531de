"""Deny by default, proven on the real app: every endpoint names its roles, others are refused."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from contracts.campaign import load_default_campaign
from gateway.app import create_app
from gateway.auth.demo import DEMO_ACCOUNTS
from gateway.auth.guards import route_roles
from gateway.auth.principal import Principal
from gateway.auth.roles import STAFF_ROLES, Role
from gateway.auth.tokens import issue
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

ORG_FOR_ROLE = {Role.UNIT_HANDLER: "org_sch_yanshan_high", Role.SUPERVISOR: "org_education_bureau"}


@pytest.fixture(scope="module")
def client(amqp_uri, tmp_path_factory):
    settings = GatewaySettings(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("gw"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def token_for(role: Role, secret: str) -> str:
    return issue(Principal("1", f"test-{role.value}", role, ORG_FOR_ROLE.get(role)), secret, 5)


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
                                     headers={"Authorization": f"Bearer {token_for(role, secret)}"})
            assert refused.status_code == 403, (method, path, role, refused.text)
            checked += 1
    assert checked > 0


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
        GatewaySettings(environment="production")
