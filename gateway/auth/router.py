"""Sign in (登录) and "who am I". Uses ``app.state.accounts`` and ``app.state.settings``."""
from __future__ import annotations

import json
import logging
from typing import Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gateway.auth import admin, tokens
from gateway.auth.accounts import AccountStore, PasswordChangeRequired, normalize_username
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
               403: {"description": "`password_change_required`: the password is right but "
                                    "was reset (or is a new account's); set a new one with "
                                    "POST /api/v1/auth/change-password"},
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
    (503 with Retry-After when none comes). A new account or a reset password answers 403
    ``password_change_required``: set a new one with ``POST /api/v1/auth/change-password``."""
    username, password = await _read_credentials(request, _guarded_sign_in(request))
    try:
        principal = await _authenticate(request, username, password)
    except PasswordChangeRequired:
        raise password_change_required() from None
    settings = request.app.state.settings
    token = tokens.issue(principal, settings.secret_key, settings.token_ttl_minutes)
    return TokenOut(access_token=token, expires_in=settings.token_ttl_minutes * 60,
                    role=principal.role, org_code=principal.org_code)


def password_change_required():
    return error(403, "password_change_required",
                 "密码已重置或为初始密码，请先通过 POST /api/v1/auth/change-password 设置新密码",
                 "This password was reset (or is a new account's first one): set a new password "
                 "with POST /api/v1/auth/change-password, then sign in",
                 change_password="/api/v1/auth/change-password")


def _guarded_sign_in(request: Request):
    """The sign-in budgets before a body is read; returns the per-username check."""
    throttle = throttle_of(request.app)
    _spend(throttle, "login_per_client", client_key(request.scope))

    def per_account(username: str) -> None:
        account = normalize_username(username)[:64]
        _spend(throttle, "login_per_account", account)
        locked = throttle.locked_for(account)
        if locked is not None:
            raise too_many(locked, "account_locked")
    return per_account


async def _authenticate(request: Request, username: str, password: str):
    """``store.authenticate`` within the hashing slots, counting wrong passwords (lockout)
    and recording the sign-in (``signed_in``/``sign_in_failed`` events)."""
    throttle = throttle_of(request.app)
    account = normalize_username(username)[:64]
    store: AccountStore = request.app.state.accounts
    try:
        async with hashing_slots_of(request.app).slot():
            principal = await run_in_threadpool(store.authenticate, username, password)
    except HashingBusy:
        raise error(503, "busy", "登录人数过多，请稍后再试", "Too many sign-ins at once; "
                    "try again shortly", headers={"Retry-After": "2"}) from None
    except PasswordChangeRequired as exc:
        throttle.signed_in(account)
        await run_in_threadpool(store.record_event, "signed_in", None, account,
                                exc.account.org_code, {"password_change_required": True})
        raise
    if principal is None:  # same answer for unknown user, wrong password, disabled account
        throttle.wrong_password(account)
        await run_in_threadpool(store.record_event, "sign_in_failed", None, account, None, {})
        raise error(401, "invalid_credentials", "用户名或密码错误", "Wrong username or password",
                    headers={"WWW-Authenticate": "Bearer"})
    throttle.signed_in(account)
    await run_in_threadpool(store.record_event, "signed_in", None, principal.username,
                            principal.org_code, {})
    return principal


class ChangePasswordIn(BaseModel):
    username: str
    password: str
    new_password: str


@router.post(
    "/api/v1/auth/change-password", response_model=TokenOut,
    dependencies=[allow(Role.PUBLIC, ignore_bad_token=True)],
    summary="Set a new password (设置新密码), e.g. after a reset; answers with a token",
    responses={401: {"description": "wrong username or password"},
               422: {"description": "the new password breaks a rule (`weak_password`, "
                                    "`password_not_changed`)"},
               429: {"description": "as sign-in: budgets and lockout"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "required": ["username", "password", "new_password"],
                   "properties": {"username": {"type": "string"},
                                  "password": {"type": "string",
                                               "description": "the current (temporary) one"},
                                  "new_password": {"type": "string"}}}}}}},
)
async def change_password(request: Request) -> TokenOut:
    """With the current password (the temporary one after a reset): the new one replaces
    it, every earlier token stops working, and the answer is a fresh token. Sign-in's
    budgets, lockout and hashing slots apply."""
    per_account = _guarded_sign_in(request)
    body = await _read_json(request)
    if not all(isinstance(body.get(k), str) and body[k]
               for k in ("username", "password", "new_password")):
        raise error(422, "invalid_request", "请填写用户名、当前密码和新密码",
                    "username, password and new_password are required")
    username, password, new = body["username"], body["password"], body["new_password"]
    per_account(username)
    refusal = admin.check_new_password(normalize_username(username), password, new)
    if refusal is not None:
        raise error(422, refusal.code, refusal.message_zh, refusal.message,
                    field=refusal.field)
    store: AccountStore = request.app.state.accounts
    try:
        principal = await _authenticate(request, username, password)
    except PasswordChangeRequired as exc:
        principal = exc.account.principal()
    try:
        async with hashing_slots_of(request.app).slot():
            account = await run_in_threadpool(store.change_password, principal.account_id, new)
    except HashingBusy:
        raise error(503, "busy", "登录人数过多，请稍后再试", "Too many sign-ins at once; "
                    "try again shortly", headers={"Retry-After": "2"}) from None
    settings = request.app.state.settings
    token = tokens.issue(account.principal(), settings.secret_key, settings.token_ttl_minutes)
    return TokenOut(access_token=token, expires_in=settings.token_ttl_minutes * 60,
                    role=account.role, org_code=account.org_code)


async def _read_json(request: Request) -> dict:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY_BYTES:
            raise error(413, "too_large", "请求内容过大", "Request body too large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    return data if isinstance(data, dict) else {}


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
    found = await run_in_threadpool(store.get_by_username, username[:64])
    if found is None:
        raise error(404, "unknown_account", "账号不存在", "No such account")
    refusal = admin.may_manage(principal.username, found.username, found.role)
    if refusal is not None:
        raise error(403, refusal.code, refusal.message_zh, refusal.message, field=refusal.field)
    account = await run_in_threadpool(store.deactivate, found.username, principal.username)
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


async def _read_credentials(request: Request, per_account=None) -> tuple[str, str]:
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
    if per_account is not None:
        per_account(data["username"])
    return data["username"], data["password"]
