"""A partner platform's boundaries at the gateway (协作平台), in-process with a stand-in
broker that records what would be published:

* a partner account, however it signs in, enters clues only on its own channels (its
  password through ``/api/v1/clues`` as much as its key through Open311): any other channel
  is a bilingual 403 and nothing is published or kept; it has no door to the media team's
  resumable uploads or exposure cases;
* the county office cannot give a partner a webhook notify would refuse (a private-range
  address, plain http outside this machine): the workbench form says why in the reader's
  language and nothing is created or announced.
"""
from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from contracts.events import AccountChanged, ClueSubmitted
from gateway.app import create_app
from gateway.auth import directory
from gateway.auth.roles import Role
from kit.settings import Settings

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
PASSWORD = "long enough password"
DISCIPLINE, CONDUCT = "partner_discipline_platform", "partner_conduct_platform"
CLUE = {"title": "窗口办事推诿", "description": "多次推诿,不一次性告知所需材料",
        "subject_unit": "org_sch_yanshan_high"}


class Broker:
    """What the gateway would publish; no service answers."""

    connected = True

    def __init__(self):
        self.published = []

    def start(self):
        pass

    def stop(self):
        pass

    async def publish_event(self, event):
        self.published.append(event)

    async def call(self, *args, **kwargs):
        raise AssertionError("no service is needed here")


@pytest.fixture
def broker():
    return Broker()


@pytest.fixture
def client(tmp_path, broker):
    settings = Settings(environment="development", secret_key=SECRET, data_dir=tmp_path,
                        demo_accounts=False)
    with TestClient(create_app(settings, broker=broker)) as c:
        accounts = c.app.state.accounts
        accounts.hasher = FAST
        accounts.create("county", PASSWORD, Role.COUNTY_OFFICE, "org_county_office")
        # a partner account signing in with a password (made through the accounts API),
        # given the discipline channel by the county office
        account = accounts.create("partner-jw", PASSWORD, Role.PARTNER, None, "纪委平台")
        c.app.state.partners.configure(account, [DISCIPLINE], None, None, "county")
        accounts.create("partner-new", PASSWORD, Role.PARTNER, None, "未配置的平台")
        yield c


def bearer(client, username) -> dict:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return {"Authorization": "Bearer " + reply.json()["access_token"]}


def clues_published(broker) -> list[ClueSubmitted]:
    return [e for e in broker.published if isinstance(e, ClueSubmitted)]


@pytest.mark.parametrize("channel", [CONDUCT, "public_report_platform"])
def test_a_password_signed_partner_is_refused_on_a_channel_not_its_own(client, broker,
                                                                        channel):
    reply = client.post("/api/v1/clues", headers={**bearer(client, "partner-jw"),
                                                  "Idempotency-Key": f"k-{channel}"},
                        json={**CLUE, "channel": channel})
    assert reply.status_code == 403, reply.text
    detail = reply.json()["detail"]
    assert detail["code"] == "partner_channel_not_own" and detail["channel"] == channel
    assert "协作平台只能在" in detail["message_zh"] and DISCIPLINE in detail["message"]
    assert clues_published(broker) == []
    # nothing kept either: the same key on its own channel is a fresh clue, not a reuse
    again = client.post("/api/v1/clues", headers={**bearer(client, "partner-jw"),
                                                  "Idempotency-Key": f"k-{channel}"},
                        json={**CLUE, "channel": DISCIPLINE})
    assert again.status_code == 202, again.text


def test_a_partner_posts_on_its_own_channel_as_its_own_request(client, broker):
    reply = client.post("/api/v1/clues", headers=bearer(client, "partner-jw"),
                        json={**CLUE, "channel": DISCIPLINE})
    assert reply.status_code == 202, reply.text
    [event] = clues_published(broker)
    assert event.clue.channel == DISCIPLINE and event.requested_by() == "partner-jw"


def test_a_partner_given_no_channel_yet_may_post_nowhere(client, broker):
    reply = client.post("/api/v1/clues", headers=bearer(client, "partner-new"),
                        json={**CLUE, "channel": DISCIPLINE})
    assert reply.status_code == 403
    assert reply.json()["detail"]["code"] == "partner_channel_not_own"
    assert clues_published(broker) == []


def test_a_partner_has_no_door_to_resumable_uploads_or_exposure_cases(client, broker):
    partner = bearer(client, "partner-jw")
    upload = client.post("/api/v1/uploads", headers={
        **partner, "Tus-Resumable": "1.0.0", "Upload-Length": "10",
        "Upload-Metadata": "filename ZC5qcGc="})
    assert upload.status_code == 403, upload.text
    case = client.post("/api/v1/exposure-cases", headers=partner, json={
        **CLUE, "place": "县政务中心", "uploads": []})
    assert case.status_code == 403, case.text
    assert clues_published(broker) == []


# --- the workbench: a partner's webhook URL --------------------------------------------------

class Browser:
    def __init__(self, client, username, lang="zh"):
        self.client = client
        self.client.headers["Accept-Language"] = lang
        reply = client.post("/workbench/sign-in", data={
            "csrftoken": self.token("/workbench/sign-in"), "username": username,
            "password": PASSWORD, "next": "/workbench"}, follow_redirects=False)
        assert reply.status_code == 303, reply.text

    def token(self, path="/workbench"):
        page = self.client.get(path)
        return re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)

    def post(self, path, pairs):
        return self.client.post(path, data={"csrftoken": self.token(), **pairs},
                                follow_redirects=False)


NEW = {"display_name": "作风整顿平台", "username": "partner-zf", "channels": CONDUCT,
       "webhook_secret": "zf-platform-shared-secret-2017"}


@pytest.mark.parametrize("url, lang, words", [
    ("https://10.20.30.40/hook", "zh", "回调地址属于内网地址段,未获允许"),
    ("https://169.254.169.254/latest", "en", "the webhook address is in a private range"),
    ("http://203.0.113.9/hook", "zh", "回调地址须使用加密传输"),
])
def test_the_workbench_refuses_a_partner_webhook_notify_would_refuse(client, broker, url,
                                                                      lang, words):
    county = Browser(client, "county", lang)
    page = county.post("/workbench/partners/new", {**NEW, "webhook_url": url})
    assert page.status_code == 422
    assert words in page.text
    assert client.app.state.accounts.get_by_username("partner-zf") is None
    announced = [r["body"] for r in directory.pending(client.app.state.accounts.engine)] + [
        e.to_message() for e in broker.published if isinstance(e, AccountChanged)]
    assert not [m for m in announced if m["username"] == "partner-zf"]


def test_the_workbench_refuses_a_private_webhook_on_a_partners_page_and_keeps_the_old(client):
    county = Browser(client, "county")
    made = county.post("/workbench/partners/new", {**NEW, "webhook_url": "http://127.0.0.1:9/h"})
    assert made.status_code == 201, made.text  # loopback http: development only
    page = county.post("/workbench/partners/partner-zf", {
        "channels": CONDUCT, "webhook_url": "https://192.168.1.20/hook", "webhook_secret": ""})
    assert page.status_code == 422 and "回调地址属于内网地址段" in page.text
    assert client.app.state.partners.get("partner-zf").webhook_url == "http://127.0.0.1:9/h"


def test_the_demo_partner_is_given_its_own_channel(tmp_path):
    settings = Settings(environment="development", secret_key=SECRET, data_dir=tmp_path,
                        demo_accounts=True)
    with TestClient(create_app(settings, broker=Broker())) as c:
        assert c.app.state.partners.get("partner-conduct").channels == (CONDUCT,)


def test_the_partner_webhook_key_is_required_outside_development():
    from cryptography.fernet import Fernet

    from kit.sealing import partner_webhook_fernet

    production = Settings(environment="production", secret_key="p" * 40,
                          contact_key=Fernet.generate_key().decode())
    with pytest.raises(RuntimeError, match="PARTNER_WEBHOOK_KEY"):
        partner_webhook_fernet(production)
    key = Fernet.generate_key().decode()
    sealed = Fernet(key).encrypt(b"whsec_x").decode()
    given = production.model_copy(update={"partner_webhook_key": key})
    assert partner_webhook_fernet(given).decrypt(sealed.encode()) == b"whsec_x"
