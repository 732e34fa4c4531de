"""Sign-in protection (issue 8, hole 12): rate limits with a bilingual 429 and Retry-After,
lockout after wrong passwords, bounded password hashing, revocable tokens, deactivation and
sign-out, and a loud warning in development. In-process: SQLite, no broker."""
# No `from __future__ import annotations`: FastAPI must see the test-local dependencies.
import asyncio
import logging
import time

import pytest
from cryptography.fernet import Fernet
from argon2 import PasswordHasher
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from gateway.app import create_app
from gateway.auth import AccountStore, Principal, PrincipalDep, Role, allow, router, tokens
from gateway.auth import accounts as accounts_mod
from gateway.auth.environment import warn_if_development
from gateway.auth.passwords import HashingBusy, HashingSlots
from gateway.auth.sessions import SessionCheck
from gateway.limits import Throttle, ThrottleByPath, ThrottlePolicy
from kit.settings import Settings
from kit.db import make_engine

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
PASSWORD = "long enough password"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(environment="development", secret_key=SECRET, data_dir=tmp_path)


@pytest.fixture
def store(tmp_path) -> AccountStore:
    s = AccountStore(make_engine(f"sqlite:///{tmp_path / 'gateway.db'}"), hasher=FAST)
    s.create_schema()
    s.create("county", PASSWORD, Role.COUNTY_OFFICE, "org_county_office")
    s.create("handler-a", PASSWORD, Role.UNIT_HANDLER, "org_a")
    return s


def make_app(settings, store, policy=ThrottlePolicy(), hashing=None) -> FastAPI:
    app = FastAPI()
    app.state.settings, app.state.accounts = settings, store
    app.state.throttle = Throttle(policy)
    app.state.hashing = hashing or HashingSlots(2)
    app.include_router(router)
    ledger = APIRouter(dependencies=[allow(Role.COUNTY_OFFICE, Role.UNIT_HANDLER)])

    @ledger.get("/ledger")
    def read_ledger(p: PrincipalDep):
        return {"user": p.username}

    @app.get("/receipts/{code}", dependencies=[allow(Role.PUBLIC)])
    def receipt(code: str):
        return {"code": code}

    app.include_router(ledger)
    app.add_middleware(ThrottleByPath, throttle=app.state.throttle,
                       budgets={"/receipts": "receipts_per_client"})
    return app


def sign_in(client, username="county", password=PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_429(reply, code="too_many_requests"):
    assert reply.status_code == 429, reply.text
    assert int(reply.headers["retry-after"]) >= 1
    detail = reply.json()["detail"]
    assert detail["code"] == code and detail["message"] and "秒后再试" in detail["message_zh"]


# --- rate limits and lockout --------------------------------------------------------------------

def test_sign_ins_from_one_client_are_rate_limited_with_a_bilingual_429(settings, store):
    client = TestClient(make_app(settings, store, ThrottlePolicy(login_per_client="3/minute")))
    assert [sign_in(client).status_code for _ in range(3)] == [200, 200, 200]
    assert_429(sign_in(client))
    assert_429(sign_in(client, "handler-a"))  # the client's budget, whatever the account


def test_sign_ins_naming_one_account_are_rate_limited(settings, store):
    client = TestClient(make_app(settings, store, ThrottlePolicy(login_per_account="2/minute")))
    assert [sign_in(client).status_code for _ in range(2)] == [200, 200]
    assert_429(sign_in(client, " COUNTY "))  # the same account, however it is spelled
    assert sign_in(client, "handler-a").status_code == 200


def test_repeated_wrong_passwords_lock_the_account_until_the_window_passes(settings, store):
    policy = ThrottlePolicy(lockout_after="3 per 1 second")
    client = TestClient(make_app(settings, store, policy))
    assert [sign_in(client, password="wrong password!").status_code
            for _ in range(3)] == [401, 401, 401]
    locked = sign_in(client)  # even the right password waits
    assert_429(locked, "account_locked")
    assert "锁定" in locked.json()["detail"]["message_zh"]
    assert sign_in(client, "handler-a").status_code == 200  # other accounts are not locked
    time.sleep(1.1)
    assert sign_in(client).status_code == 200  # the lockout expires


def test_a_right_password_clears_earlier_failures(settings, store):
    client = TestClient(make_app(settings, store, ThrottlePolicy(lockout_after="2/minute")))
    assert sign_in(client, password="wrong password!").status_code == 401
    assert sign_in(client).status_code == 200
    assert sign_in(client, password="wrong password!").status_code == 401
    assert sign_in(client).status_code == 200


def test_receipt_look_ups_are_rate_limited_per_client(settings, store):
    client = TestClient(make_app(settings, store,
                                 ThrottlePolicy(receipts_per_client="5/minute")))
    assert [client.get(f"/receipts/CODE-{i}").status_code for i in range(5)] == [200] * 5
    assert_429(client.get("/receipts/CODE-X"))
    assert client.get("/ledger").status_code == 401  # other paths are not counted


# --- bounded hashing ----------------------------------------------------------------------------

def test_concurrent_password_hashing_is_bounded_by_its_slots():
    slots, running, peak = HashingSlots(2), 0, 0

    async def hash_once():
        nonlocal running, peak
        async with slots.slot():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    async def crowd():
        await asyncio.gather(*(hash_once() for _ in range(12)))

    asyncio.run(crowd())
    assert peak == 2


def test_a_sign_in_that_finds_no_hashing_slot_gets_503_with_retry_after(settings, store):
    async def busy():
        slots = HashingSlots(1, wait_seconds=0.01)
        async with slots.slot():
            with pytest.raises(HashingBusy):
                async with slots.slot():
                    pass

    asyncio.run(busy())
    client = TestClient(make_app(settings, store, hashing=HashingSlots(1, max_waiting=0)))
    reply = sign_in(client)
    assert reply.status_code == 503 and reply.headers["retry-after"]
    assert reply.json()["detail"]["code"] == "busy"


# --- revocable tokens ---------------------------------------------------------------------------

def test_sign_out_revokes_the_token_on_its_next_request(settings, store):
    client = TestClient(make_app(settings, store))
    token = sign_in(client).json()["access_token"]
    assert client.get("/ledger", headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/auth/sign-out", headers=bearer(token)).status_code == 204
    refused = client.get("/ledger", headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["detail"]["code"] == "token_revoked"
    assert "重新登录" in refused.json()["detail"]["message_zh"]
    fresh = sign_in(client).json()["access_token"]
    assert client.get("/ledger", headers=bearer(fresh)).status_code == 200


def test_a_deactivated_account_is_refused_on_its_next_request(settings, store):
    client = TestClient(make_app(settings, store))
    county = sign_in(client).json()["access_token"]
    handler = sign_in(client, "handler-a").json()["access_token"]
    assert client.get("/ledger", headers=bearer(handler)).status_code == 200
    done = client.post("/api/v1/accounts/handler-a/deactivate", headers=bearer(county))
    assert done.status_code == 200 and done.json() == {
        "username": "handler-a", "role": "unit_handler", "active": False}
    assert client.get("/ledger", headers=bearer(handler)).status_code == 401
    assert sign_in(client, "handler-a").status_code == 401
    assert client.get("/ledger", headers=bearer(county)).status_code == 200


def test_only_the_county_office_deactivates_and_never_itself(settings, store):
    client = TestClient(make_app(settings, store))
    county = sign_in(client).json()["access_token"]
    handler = sign_in(client, "handler-a").json()["access_token"]
    assert client.post("/api/v1/accounts/county/deactivate",
                       headers=bearer(handler)).status_code == 403
    assert client.post("/api/v1/accounts/county/deactivate",
                       headers=bearer(county)).status_code == 409
    missing = client.post("/api/v1/accounts/nobody/deactivate", headers=bearer(county))
    assert missing.status_code == 404 and missing.json()["detail"]["message_zh"]


def test_a_deactivation_through_another_gateway_is_seen_within_seconds(settings, store):
    clock = Clock()
    store.sessions = SessionCheck(store.token_state, ttl_seconds=2.0, clock=clock)
    client = TestClient(make_app(settings, store))
    token = sign_in(client, "handler-a").json()["access_token"]
    assert client.get("/ledger", headers=bearer(token)).status_code == 200
    with store.engine.begin() as conn:  # as another gateway process would
        conn.execute(update(accounts_mod.accounts)
                     .where(accounts_mod.accounts.c.username == "handler-a")
                     .values(active=False))
    clock.now += 1.9
    assert client.get("/ledger", headers=bearer(token)).status_code == 200  # cached briefly
    clock.now += 0.2
    assert client.get("/ledger", headers=bearer(token)).status_code == 401


def test_a_token_whose_account_is_gone_or_unknown_is_refused(settings, store):
    client = TestClient(make_app(settings, store))
    stranger = Principal("no-such-account", "ghost", Role.COUNTY_OFFICE, "org_county_office")
    token = tokens.issue(stranger, SECRET, 30)
    assert client.get("/ledger", headers=bearer(token)).status_code == 401


def test_a_request_without_a_token_looks_nothing_up(settings, store):
    reads = []
    store.sessions = SessionCheck(lambda account_id: reads.append(account_id), ttl_seconds=2)
    client = TestClient(make_app(settings, store))
    assert client.get("/receipts/ABCD-EFGH").status_code == 200
    assert client.get("/ledger").status_code == 401
    assert reads == []


def test_the_token_check_is_cached_between_requests(settings, store):
    reads = []
    read = store.token_state
    store.sessions = SessionCheck(lambda a: reads.append(a) or read(a), ttl_seconds=60)
    client = TestClient(make_app(settings, store))
    token = sign_in(client).json()["access_token"]
    for _ in range(5):
        assert client.get("/ledger", headers=bearer(token)).status_code == 200
    assert len(reads) == 1


def test_an_older_store_gets_the_token_version_column(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE accounts (id VARCHAR(32) PRIMARY KEY, username "
                             "VARCHAR(64) UNIQUE NOT NULL, password_hash VARCHAR(255) NOT NULL, "
                             "role VARCHAR(32) NOT NULL, org_code VARCHAR(64), display_name "
                             "VARCHAR(200) NOT NULL, active BOOLEAN NOT NULL, created_at "
                             "DATETIME NOT NULL)")
    store = AccountStore(engine, hasher=FAST)
    store.create_schema()
    account = store.create("county", PASSWORD, Role.COUNTY_OFFICE, "org_county_office")
    assert store.token_state(account.id).version == 0


# --- development warning ------------------------------------------------------------------------

def test_development_is_announced_loudly_at_start(settings, caplog, monkeypatch):
    monkeypatch.delenv("CONTACT_KEY", raising=False)
    with caplog.at_level(logging.WARNING, logger="gateway"):
        create_app(Settings(data_dir=settings.data_dir, demo_accounts=True))
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
    for named in ("ENVIRONMENT=development", "SECRET_KEY", "CONTACT_KEY", "DEMO_ACCOUNTS"):
        assert named in line.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gateway"):
        warn_if_development(Settings(environment="production", secret_key="p" * 40,
                                     contact_key=Fernet.generate_key().decode()))
    assert caplog.records == []
