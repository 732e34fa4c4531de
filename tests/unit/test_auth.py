"""Accounts, tokens and deny-by-default roles of the gateway (in-process, SQLite, no broker)."""
# No `from __future__ import annotations`: FastAPI must see the test-local dependencies.
from datetime import datetime, timedelta, timezone
from typing import Annotated

import jwt
import pytest
from cryptography.fernet import Fernet
from argon2 import PasswordHasher
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from gateway.auth import (
    ANONYMOUS, DEMO_ACCOUNTS, STAFF_ROLES, AccountStore, Principal, PrincipalDep, Role,
    allow, demo_accounts_usable, enforce_declared_roles, route_roles, router,
    seed_demo_accounts,
)
from gateway.auth import accounts as accounts_mod
from gateway.auth import passwords, tokens
from kit.settings import Settings
from kit.db import make_engine

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
COUNTY = Principal("acc-1", "county", Role.COUNTY_OFFICE, "org_county_office")
HANDLER = Principal("acc-2", "handler-a", Role.UNIT_HANDLER, "org_a")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(environment="development", secret_key=SECRET, data_dir=tmp_path,
                           token_ttl_minutes=30)


@pytest.fixture
def store(tmp_path) -> AccountStore:
    s = AccountStore(make_engine(f"sqlite:///{tmp_path / 'gateway.db'}"), hasher=FAST)
    s.create_schema()
    return s


def bearer(principal: Principal, secret: str = SECRET, **kw) -> dict[str, str]:
    return {"Authorization": "Bearer " + tokens.issue(principal, secret, 30, **kw)}


# --- passwords ---------------------------------------------------------------------------------

def test_password_hash_is_argon2id_and_verifies():
    h = passwords.hash_password("correct horse battery", FAST)
    assert h.startswith("$argon2id$")
    assert passwords.verify_password(h, "correct horse battery", FAST)
    assert not passwords.verify_password(h, "correct horse batterY", FAST)


def test_unreadable_hash_never_verifies_and_needs_rehash():
    assert not passwords.verify_password("not-a-hash", "whatever-password", FAST)
    assert passwords.needs_rehash("not-a-hash", FAST)


def test_default_hasher_is_stronger_than_test_hasher():
    h = passwords.hash_password("correct horse battery", FAST)
    assert passwords.needs_rehash(h)  # module default (RFC 9106 profile) wants more
    assert not passwords.needs_rehash(h, FAST)


# --- tokens ------------------------------------------------------------------------------------

def test_token_round_trip_keeps_identity():
    token = tokens.issue(HANDLER, SECRET, 30)
    assert tokens.decode(token, SECRET) == HANDLER
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert {k: claims[k] for k in ("sub", "usr", "role", "org")} == {
        "sub": "acc-2", "usr": "handler-a", "role": "unit_handler", "org": "org_a"}
    assert claims["exp"] - claims["iat"] == 30 * 60


def test_expired_token_is_refused_as_expired():
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    token = tokens.issue(COUNTY, SECRET, 60, now=old)
    with pytest.raises(tokens.TokenExpired):
        tokens.decode(token, SECRET)


def test_token_signed_with_another_secret_is_invalid():
    token = tokens.issue(COUNTY, "another-secret-that-is-also-long-enough-42", 30)
    with pytest.raises(tokens.TokenInvalid):
        tokens.decode(token, SECRET)


@pytest.mark.parametrize("claims", [
    {"sub": "x", "usr": "x", "role": "county_office", "ver": 0, "iat": 1},          # no exp
    {"sub": "x", "usr": "x", "role": "public", "ver": 0, "iat": 1, "exp": 2**40},   # public
    {"sub": "x", "usr": "x", "role": "admin", "ver": 0, "iat": 1, "exp": 2**40},    # unknown
    {"sub": "x", "usr": "x", "role": "ops", "iat": 1, "exp": 2**40},                # no ver
    {"sub": "x", "usr": "x", "role": "ops", "ver": "0", "iat": 1, "exp": 2**40},    # bad ver
])
def test_token_with_missing_or_bad_claims_is_invalid(claims):
    with pytest.raises(tokens.TokenInvalid):
        tokens.decode(jwt.encode(claims, SECRET, algorithm="HS256"), SECRET)


def test_unsigned_token_is_invalid():
    unsigned = jwt.encode({"sub": "x", "usr": "x", "role": "ops", "iat": 1, "exp": 2**40},
                          None, algorithm="none")
    with pytest.raises(tokens.TokenInvalid):
        tokens.decode(unsigned, SECRET)


def test_no_token_for_the_public_or_without_lifetime():
    with pytest.raises(ValueError):
        tokens.issue(ANONYMOUS, SECRET, 30)
    with pytest.raises(ValueError):
        tokens.issue(COUNTY, SECRET, 0)


# --- account store -----------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["short-1!", "aaaaaaaaaaaa", "Handler-A1"])
def test_store_refuses_weak_passwords(store, password):
    with pytest.raises(ValueError, match="password is too weak"):
        store.create("handler-a1", password, Role.UNIT_HANDLER, "org_a")
    assert store.get_by_username("handler-a1") is None


@pytest.mark.parametrize("role", [Role.UNIT_HANDLER, Role.SUPERVISOR])
def test_store_refuses_org_bound_role_without_org(store, role):
    with pytest.raises(ValueError, match="org_code"):
        store.create("someone", "long enough password", role, None)


def test_store_refuses_public_and_unknown_roles_and_duplicates(store):
    with pytest.raises(ValueError, match="public"):
        store.create("someone", "long enough password", Role.PUBLIC)
    with pytest.raises(ValueError, match="unknown role"):
        store.create("someone", "long enough password", "admin")
    store.create("someone", "long enough password", Role.OPS)
    with pytest.raises(ValueError, match="already taken"):
        store.create("SomeOne", "another long password", Role.OPS)


def test_authenticate_returns_principal_for_right_password(store):
    acc = store.create("Handler-A", "long enough password", "unit_handler", "org_a", "张三")
    principal = store.authenticate(" handler-a ", "long enough password")
    assert principal == Principal(acc.id, "handler-a", Role.UNIT_HANDLER, "org_a")
    assert store.get(acc.id).display_name == "张三"
    assert store.get("missing") is None


def test_authenticate_wrong_password_or_unknown_user_gives_none(store):
    store.create("county", "long enough password", Role.COUNTY_OFFICE)
    assert store.authenticate("county", "long enough passworD") is None
    assert store.authenticate("nobody", "long enough password") is None
    assert store.authenticate("county", "x" * 5000) is None


def test_inactive_account_cannot_sign_in(store):
    acc = store.create("county", "long enough password", Role.COUNTY_OFFICE)
    with store.engine.begin() as conn:
        conn.execute(update(accounts_mod.accounts).values(active=False))
    assert store.authenticate("county", "long enough password") is None
    assert store.get(acc.id).active is False


def test_sign_in_rehashes_when_hash_parameters_change(store):
    store.create("county", "long enough password", Role.COUNTY_OFFICE)
    stronger = AccountStore(store.engine, hasher=PasswordHasher(time_cost=2, memory_cost=16,
                                                                parallelism=1))
    assert stronger.authenticate("county", "long enough password") is not None
    row = stronger._row(accounts_mod.accounts.c.username == "county")
    assert "t=2" in row["password_hash"] and "m=16" in row["password_hash"]
    assert store.authenticate("county", "long enough password") is not None


# --- guards ------------------------------------------------------------------------------------

@pytest.fixture
def staff(store) -> dict[str, Principal]:
    """Real accounts (a token is honoured only while its account is active and current)."""
    return {"county": store.create("county", "long enough password", Role.COUNTY_OFFICE,
                                   "org_county_office").principal(),
            "handler": store.create("handler-a", "long enough password", Role.UNIT_HANDLER,
                                    "org_a").principal(),
            "ops": store.create("ops", "long enough password", Role.OPS).principal()}


def guarded_app(settings, store=None) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    if store is not None:
        app.state.accounts = store
    county = APIRouter(prefix="/county", dependencies=[allow(Role.COUNTY_OFFICE, Role.OPS)])

    @county.get("/ledger")
    def ledger(p: PrincipalDep):
        return {"user": p.username}

    @county.get("/ops-only", dependencies=[allow(Role.OPS)])
    def ops_only():
        return {}

    @app.get("/public")
    def public(p: Annotated[Principal, Depends(allow(Role.PUBLIC))]):
        return {"anonymous": p.is_anonymous, "role": p.role.value}

    @app.get("/unit", dependencies=[allow(Role.UNIT_HANDLER)])
    def unit(p: PrincipalDep):
        return {"org": p.org_code}

    app.include_router(county)
    return app


def test_staff_route_without_token_is_401_with_bearer_challenge(settings):
    res = TestClient(guarded_app(settings)).get("/unit")
    assert res.status_code == 401
    assert res.headers["www-authenticate"] == "Bearer"
    assert res.json() == {"detail": {"code": "unauthenticated", "message_zh": "请先登录",
                                     "message": "Sign in first"}}


def test_wrong_role_is_403_naming_the_allowed_roles(settings, store, staff):
    res = TestClient(guarded_app(settings, store)).get("/county/ledger",
                                                       headers=bearer(staff["handler"]))
    assert res.status_code == 403
    detail = res.json()["detail"]
    assert detail["code"] == "forbidden"
    assert detail["allowed_roles"] == ["county_office", "ops"]
    assert "县委办公室" in detail["message_zh"] and "county_office" in detail["message"]


def test_right_role_is_let_through_with_its_principal(settings, store, staff):
    client = TestClient(guarded_app(settings, store))
    assert client.get("/county/ledger",
                      headers=bearer(staff["county"])).json() == {"user": "county"}
    assert client.get("/unit", headers=bearer(staff["handler"])).json() == {"org": "org_a"}


def test_router_and_route_guards_must_both_pass(settings, store, staff):
    client = TestClient(guarded_app(settings, store))
    assert client.get("/county/ops-only", headers=bearer(staff["county"])).status_code == 403
    assert client.get("/county/ops-only", headers=bearer(staff["ops"])).status_code == 200


def test_public_route_works_without_token(settings):
    res = TestClient(guarded_app(settings)).get("/public")
    assert res.status_code == 200
    assert res.json() == {"anonymous": True, "role": "public"}


def test_invalid_or_expired_token_is_401_even_on_public_route(settings, store, staff):
    client = TestClient(guarded_app(settings, store))
    res = client.get("/public", headers={"Authorization": "Bearer not.a.token"})
    assert res.status_code == 401 and res.json()["detail"]["code"] == "invalid_token"
    assert "invalid_token" in res.headers["www-authenticate"]
    forged = bearer(staff["county"], secret="forged-secret-that-is-long-enough-0123456")
    assert client.get("/county/ledger", headers=forged).status_code == 401
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    res = client.get("/unit", headers=bearer(staff["handler"], now=old))
    assert res.status_code == 401 and res.json()["detail"]["code"] == "token_expired"


def test_enforce_declared_roles_names_unguarded_routes(settings):
    app = guarded_app(settings)
    enforce_declared_roles(app)  # all guarded: passes
    inner = APIRouter(prefix="/inner")

    @inner.delete("/forgotten")
    def forgotten():
        return {}

    app.include_router(inner, prefix="/api")
    with pytest.raises(RuntimeError, match="DELETE /api/inner/forgotten"):
        enforce_declared_roles(app)


def test_enforce_declared_roles_refuses_plain_routes_unless_listed_public():
    app = FastAPI()
    app.add_route("/metrics", lambda request: None)
    with pytest.raises(RuntimeError, match="/metrics"):
        enforce_declared_roles(app)
    enforce_declared_roles(app, public_paths=["/metrics"])


def test_guard_nested_in_a_dependency_counts():
    app = FastAPI()

    def unit_scope(p: Annotated[Principal, Depends(allow(Role.UNIT_HANDLER))]) -> str:
        return p.org_code

    @app.get("/inbox")
    def inbox(org: Annotated[str, Depends(unit_scope)]):
        return {}

    enforce_declared_roles(app)
    assert route_roles(app)[("GET", "/inbox")] == frozenset({Role.UNIT_HANDLER})


def test_route_roles_lists_effective_roles(settings):
    roles = route_roles(guarded_app(settings))
    assert roles[("GET", "/county/ledger")] == {Role.COUNTY_OFFICE, Role.OPS}
    assert roles[("GET", "/county/ops-only")] == {Role.OPS}
    assert roles[("GET", "/public")] == frozenset(Role)
    assert roles[("GET", "/unit")] == {Role.UNIT_HANDLER}


def test_allow_needs_a_role():
    with pytest.raises(ValueError):
        allow()


# --- token endpoint and /me --------------------------------------------------------------------

@pytest.fixture
def client(settings, store) -> TestClient:
    app = FastAPI()
    app.state.settings, app.state.accounts = settings, store
    app.include_router(router)
    enforce_declared_roles(app)
    store.create("supervisor-edu", "long enough password", Role.SUPERVISOR, "org_edu", "县教育局")
    return TestClient(app)


def test_sign_in_with_json_then_me(client):
    res = client.post("/api/v1/auth/token",
                      json={"username": "supervisor-edu", "password": "long enough password"})
    assert res.status_code == 200
    body = res.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    assert body["role"] == "supervisor" and body["org_code"] == "org_edu"
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.status_code == 200
    assert {k: me.json()[k] for k in ("username", "role", "role_zh", "org_code",
                                      "display_name")} == {
        "username": "supervisor-edu", "role": "supervisor", "role_zh": "系统分管部门",
        "org_code": "org_edu", "display_name": "县教育局"}


def test_sign_in_with_oauth2_form(client):
    res = client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": "supervisor-edu",
        "password": "long enough password"})
    assert res.status_code == 200 and res.json()["role"] == "supervisor"


def test_wrong_credentials_get_the_same_401_for_known_and_unknown_users(client):
    wrong = client.post("/api/v1/auth/token",
                        json={"username": "supervisor-edu", "password": "wrong password!"})
    unknown = client.post("/api/v1/auth/token",
                          json={"username": "nobody", "password": "long enough password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"]["message_zh"] == "用户名或密码错误"


def test_sign_in_ignores_a_stale_token_and_rejects_malformed_bodies(client):
    stale = {"Authorization": "Bearer expired.or.garbage"}
    ok = client.post("/api/v1/auth/token", headers=stale,
                     json={"username": "supervisor-edu", "password": "long enough password"})
    assert ok.status_code == 200
    assert client.post("/api/v1/auth/token", json={"username": "x"}).status_code == 422
    assert client.post("/api/v1/auth/token", content=b"{not json",
                       headers={"Content-Type": "application/json"}).status_code == 422
    assert client.post("/api/v1/auth/token", content=b"user=x",
                       headers={"Content-Type": "text/plain"}).status_code == 415
    big = {"username": "x", "password": "p" * 10_000}
    assert client.post("/api/v1/auth/token", json=big).status_code == 413


def test_me_needs_a_staff_token(client):
    assert client.get("/api/v1/me").status_code == 401


# --- demo accounts -----------------------------------------------------------------------------

def test_demo_seeding_is_refused_outside_development(store, tmp_path):
    prod = Settings(environment="production", secret_key="p" * 40, data_dir=tmp_path,
                    contact_key=Fernet.generate_key().decode())
    with pytest.raises(RuntimeError, match="development"):
        seed_demo_accounts(store, prod)
    assert store.get_by_username("county") is None


def test_demo_seeding_covers_every_staff_role_once(store, settings):
    assert {d.role for d in DEMO_ACCOUNTS} == STAFF_ROLES
    created = seed_demo_accounts(store, settings)
    assert created == [d.username for d in DEMO_ACCOUNTS]
    assert seed_demo_accounts(store, settings) == []  # idempotent
    county = store.authenticate("county", "dev-county-2017!")
    assert county is not None and county.role is Role.COUNTY_OFFICE
    assert demo_accounts_usable(store) == created


@pytest.mark.parametrize("header, expected", [
    (None, None), ("", None), ("Bearer", None), ("Bearer ", None), ("Basic dXNlcjpwdw==", None),
    ("Bearer abc.def", "abc.def"), ("bearer abc.def", "abc.def"), ("BEARER x", "x"),
])
def test_bearer_credentials_are_read_as_fastapis_http_bearer_reads_them(header, expected):
    from fastapi.security import HTTPBearer
    from starlette.requests import Request

    from gateway.auth.guards import bearer_credentials

    headers = [] if header is None else [(b"authorization", header.encode())]
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": headers})
    ours = bearer_credentials(request)
    assert (ours.credentials if ours else None) == expected
    import asyncio
    theirs = asyncio.run(HTTPBearer(auto_error=False)(request))
    assert (theirs.credentials if theirs else None) == expected
