"""Sign in (登录) and "who am I". Uses ``app.state.accounts`` and ``app.state.settings``."""
from __future__ import annotations

import json
import logging
from typing import Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gateway.auth import tokens
from gateway.auth.accounts import AccountStore, normalize_username
from gateway.auth.guards import PrincipalDep, allow, error
from gateway.auth.passwords import HashingBusy, HashingSlots
from gateway.auth.roles import ROLE_LABELS_ZH, STAFF_ROLES, Role
from gateway.limits import Throttle, client_key, throttle_of, too_many

MAX_LOGIN_BODY_BYTES = 8 * 1024

router = APIRouter(tags=["auth"])
logger = logging.getLogger("gateway.auth")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: Role
    org_code: str | None


class MeOut(BaseModel):
    account_id: str
    username: str
    role: Role
    role_zh: str
    org_code: str | None
    display_name: str


_CREDENTIALS_SCHEMA = {
    "type": "object", "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"},
                   "grant_type": {"type": "string", "enum": ["password"]}},
}


@router.post(
    "/api/v1/auth/token", response_model=TokenOut,
    # A stale token sent along with a login must not stop the login.
    dependencies=[allow(Role.PUBLIC, ignore_bad_token=True)],
    summary="Sign in with username and password (JSON or OAuth2 form)",
    responses={401: {"description": "wrong username or password (the same for both)"},
               429: {"description": "too many sign-ins from this client or for this "
                                    "username, or the username is locked; see Retry-After"},
               503: {"description": "too many sign-ins at once; see Retry-After"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": _CREDENTIALS_SCHEMA},
        "application/x-www-form-urlencoded": {"schema": _CREDENTIALS_SCHEMA}}}},
)
async def issue_token(request: Request) -> TokenOut:
    """Sign in. Budgets per client and per username (429 with Retry-After); a username with
    too many wrong passwords is locked for a while; password hashing waits for a free slot
    (503 with Retry-After when none comes)."""
    throttle = throttle_of(request.app)
    _spend(throttle, "login_per_client", client_key(request.scope))
    username, password = await _read_credentials(request)
    account = normalize_username(username)[:64]
    _spend(throttle, "login_per_account", account)
    locked = throttle.locked_for(account)
    if locked is not None:
        raise too_many(locked, "account_locked")
    store: AccountStore = request.app.state.accounts
    try:
        async with hashing_slots_of(request.app).slot():
            principal = await run_in_threadpool(store.authenticate, username, password)
    except HashingBusy:
        raise error(503, "busy", "登录人数过多，请稍后再试", "Too many sign-ins at once; "
                    "try again shortly", headers={"Retry-After": "2"}) from None
    if principal is None:  # same answer for unknown user, wrong password, disabled account
        throttle.wrong_password(account)
        raise error(401, "invalid_credentials", "用户名或密码错误", "Wrong username or password",
                    headers={"WWW-Authenticate": "Bearer"})
    throttle.signed_in(account)
    settings = request.app.state.settings
    token = tokens.issue(principal, settings.secret_key, settings.token_ttl_minutes)
    return TokenOut(access_token=token, expires_in=settings.token_ttl_minutes * 60,
                    role=principal.role, org_code=principal.org_code)


def _spend(throttle: Throttle, budget: str, key: str) -> None:
    retry_after = throttle.spend(budget, key)
    if retry_after is not None:
        raise too_many(retry_after)


def hashing_slots_of(app) -> HashingSlots:
    """The app's bound on concurrent password hashing (``app.state.hashing``)."""
    slots = getattr(app.state, "hashing", None)
    if slots is None:
        slots = app.state.hashing = HashingSlots()
    return slots


@router.post("/api/v1/auth/sign-out", status_code=204, dependencies=[allow(*STAFF_ROLES)],
             summary="Sign out (退出登录): every token of this account stops working",
             responses={401: {"description": "no valid token"}})
async def sign_out(request: Request, principal: PrincipalDep) -> Response:
    store: AccountStore = request.app.state.accounts
    await run_in_threadpool(store.revoke_tokens, principal.account_id)
    return Response(status_code=204)


class AccountStatusOut(BaseModel):
    username: str
    role: Role
    active: bool


@router.post("/api/v1/accounts/{username}/deactivate", response_model=AccountStatusOut,
             dependencies=[allow(Role.COUNTY_OFFICE)],
             summary="Deactivate an account (停用账号): it cannot sign in, its tokens stop "
                     "working at once; county office administrator only",
             responses={404: {"description": "no such account"},
                        409: {"description": "an administrator cannot deactivate itself"}})
async def deactivate_account(username: str, request: Request,
                             principal: PrincipalDep) -> AccountStatusOut:
    if normalize_username(username) == principal.username:
        raise error(409, "cannot_deactivate_self", "不能停用自己的账号",
                    "An administrator cannot deactivate their own account")
    store: AccountStore = request.app.state.accounts
    account = await run_in_threadpool(store.deactivate, username)
    if account is None:
        raise error(404, "unknown_account", "账号不存在", "No such account")
    logger.info("account deactivated: %r by %r", account.username, principal.username)
    return AccountStatusOut(username=account.username, role=account.role, active=account.active)


@router.get("/api/v1/me", response_model=MeOut, dependencies=[allow(*STAFF_ROLES)],
            summary="The signed-in account")
def me(request: Request, principal: PrincipalDep) -> MeOut:
    store: AccountStore = request.app.state.accounts
    account = store.get(principal.account_id)
    if account is None or not account.active:
        raise error(401, "account_inactive", "账号已停用，请联系管理员",
                    "This account is no longer active", headers={"WWW-Authenticate": "Bearer"})
    return MeOut(account_id=account.id, username=account.username, role=account.role,
                 role_zh=ROLE_LABELS_ZH[account.role], org_code=account.org_code,
                 display_name=account.display_name)


async def _read_credentials(request: Request) -> tuple[str, str]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY_BYTES:
            raise error(413, "too_large", "请求内容过大", "Request body too large")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            data = json.loads(body)
        elif content_type == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=False, max_num_fields=10)
            data = {k: v[0] for k, v in fields.items()}
        else:
            raise error(415, "unsupported_media_type", "请以 JSON 或表单格式提交用户名和密码",
                        "Send username and password as JSON or as a URL-encoded form")
    except (ValueError, UnicodeDecodeError):
        data = None
    if (not isinstance(data, dict) or not isinstance(data.get("username"), str)
            or not isinstance(data.get("password"), str) or not data["username"]
            or not data["password"] or data.get("grant_type", "password") != "password"):
        raise error(422, "invalid_request", "请填写用户名和密码",
                    "Both username and password are required")
    return data["username"], data["password"]
