"""Accounts and people (账号与人员): the county office's administration, as an API.

Use cases as plain async functions (``create_account``, ``reset_password`` …) shared by the
API below and the workbench pages (``gateway.workbench.accounts``); the rules are
``gateway.auth.admin``'s, the store ``gateway.auth.accounts``. Every change is recorded in
the store's append-only ``account_events`` (谁在何时做了什么).
"""
from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gateway.auth import admin
from gateway.auth.accounts import Account, AccountStore, PrincipalHead
from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.passwords import HashingBusy
from gateway.auth.principal import Principal
from gateway.auth.roles import ROLE_LABELS_ZH, Role
from gateway.errors import problem
from gateway.excel import account_import
from gateway.excel.export import MEDIA_TYPES
from gateway.excel.routes import uploaded_file
from kit.errors import CODES

router = APIRouter(prefix="/api/v1", tags=["accounts 账号与人员"])
ADMINS = tuple(admin.ADMIN_ROLES)
HEAD_READERS = (Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.SPOT_CHECK)


class Refused(Exception):
    """An account change refused by the rules; one or more reasons."""

    def __init__(self, refusals: list[admin.Refusal]):
        super().__init__("; ".join(r.message for r in refusals))
        self.refusals = refusals


def as_http(exc: Refused) -> HTTPException:
    """The first reason as the error, every reason in ``errors``."""
    first = exc.refusals[0]
    status = CODES.get(first.code, (422,))[0]
    error = problem(status, first.code, first.message, first.message_zh, first.field)
    if len(exc.refusals) > 1:
        error.detail["errors"] = [{"field": r.field, "code": r.code, "message": r.message,
                                   "message_zh": r.message_zh} for r in exc.refusals]
    return error


def store_of(request: Request) -> AccountStore:
    return request.app.state.accounts


async def hashing(request: Request, work, *args):
    """A password hash (argon2, 64 MiB) in the thread pool, within the app's hashing slots."""
    from gateway.auth.router import hashing_slots_of

    try:
        async with hashing_slots_of(request.app).slot():
            return await run_in_threadpool(work, *args)
    except HashingBusy:
        raise problem(503, "busy", "too many password operations at once; try again shortly",
                      "密码处理繁忙,请稍后再试") from None


# ── use cases ────────────────────────────────────────────────────────────────────────────────

async def create_account(request: Request, principal: Principal, username: str,
                         display_name: str, role: str, org_code: str | None,
                         detail: dict | None = None) -> tuple[Account, str]:
    """A new account with a one-time temporary password (returned once, never stored in
    clear): its person sets their own at the first sign-in."""
    campaign = request.app.state.campaign
    org_code = (org_code or "").strip() or None
    refusals = admin.check_new_account(username, role, org_code, display_name, campaign)
    if not (display_name or "").strip():
        refusals.append(admin.Refusal("display_name", "invalid_input", "name is required",
                                      "请填写姓名"))
    if refusals:
        raise Refused(refusals)
    store = store_of(request)
    if await run_in_threadpool(store.get_by_username, username) is not None:
        raise Refused([_taken()])
    temporary = admin.temporary_password()

    def create():
        return store.create(username, temporary, role, org_code, display_name,
                            must_change_password=True, created_by=principal.username,
                            detail=detail)
    try:
        account = await hashing(request, create)
    except ValueError:  # taken meanwhile (the unique index)
        raise Refused([_taken()]) from None
    return account, temporary


def _taken() -> admin.Refusal:
    return admin.Refusal("username", "username_taken", "the username is already taken",
                         "该用户名已被使用")


async def managed_account(request: Request, principal: Principal, username: str) -> Account:
    """The account an administrator means to change, if they may (else 404/403/409)."""
    account = await run_in_threadpool(store_of(request).get_by_username, username[:64])
    if account is None:
        raise problem(404, "unknown_account", "no such account", "账号不存在", "username")
    refusal = admin.may_manage(principal.username, account.username, account.role)
    if refusal is not None:
        raise Refused([refusal])
    return account


async def set_active(request: Request, principal: Principal, username: str,
                     active: bool) -> Account:
    account = await managed_account(request, principal, username)
    store = store_of(request)
    change = store.reactivate if active else store.deactivate
    return await run_in_threadpool(change, account.username, principal.username)


async def reset_password(request: Request, principal: Principal, username: str
                         ) -> tuple[Account, str]:
    """A one-time temporary password; the old one, its tokens and sessions stop at once."""
    account = await managed_account(request, principal, username)
    temporary = admin.temporary_password()
    changed = await hashing(request, store_of(request).reset_password, account.username,
                            temporary, principal.username)
    return changed, temporary


async def import_accounts(request: Request, principal: Principal, data: bytes,
                          import_valid_rows: bool) -> dict:
    """Accounts from a filled template: nothing is created while any row is refused unless
    ``import_valid_rows``; rows whose account exists alike are skipped (re-import)."""
    store, campaign = store_of(request), request.app.state.campaign
    rows = await asyncio.to_thread(account_import.read_rows, data)
    if not rows:
        raise problem(422, "account_import_empty", "the template holds no account",
                      "模板中没有填写账号", "file")

    def existing_of() -> dict[str, dict]:
        found = {}
        for _, cells in rows:
            account = store.get_by_username(admin.normalize_username(cells.get("username") or ""))
            if account is not None:
                found[account.username] = {"role": account.role.value,
                                           "org_code": account.org_code}
        return found
    existing = await run_in_threadpool(existing_of)
    new, same, errors = account_import.check_rows(rows, campaign, existing)
    refused_rows = len({e["row"] for e in errors})
    if errors and not import_valid_rows:
        exc = problem(422, "account_import_refused",
                      f"{refused_rows} of {len(rows)} rows were refused; nothing was imported",
                      f"共 {len(rows)} 行,其中 {refused_rows} 行有误,未导入任何账号", "file")
        exc.detail.update(rows=len(rows), errors=errors)
        raise exc
    digest = hashlib.sha256(data).hexdigest()
    created, skipped = [], [{"row": r.row, "username": r.username} for r in same]
    for row in new:
        try:
            account, temporary = await create_account(
                request, principal, row.username, row.display_name, row.role, row.org_code,
                detail={"via": "import", "file_sha256": digest, "row": row.row})
        except Refused:  # created meanwhile (the same file imported twice at once)
            skipped.append({"row": row.row, "username": row.username})
            continue
        created.append({"row": row.row, "username": account.username,
                        "display_name": account.display_name, "role": account.role.value,
                        "org_code": account.org_code, "temporary_password": temporary})
    return {"file_sha256": digest, "rows": len(rows), "created": created,
            "existing": sorted(skipped, key=lambda s: s["row"]), "errors": errors,
            "status_zh": f"已创建 {len(created)} 个账号" + (
                f",{len(skipped)} 个已存在未重复创建" if skipped else "") + (
                f",{refused_rows} 行有误未导入" if errors else "")}


async def set_principal_head(request: Request, principal: Principal, org_code: str, name: str,
                             title: str, account_username: str | None) -> PrincipalHead:
    store, campaign = store_of(request), request.app.state.campaign
    account_username = admin.normalize_username(account_username or "") or None
    account = None
    if account_username:
        found = await run_in_threadpool(store.get_by_username, account_username)
        account = {"org_code": found.org_code} if found else None
    refusals = admin.check_principal_head(org_code, name, title, account, account_username,
                                          campaign)
    if refusals:
        raise Refused(refusals)
    return await run_in_threadpool(store.set_principal_head, org_code, name, title,
                                   account_username, principal.username)


# ── the API ──────────────────────────────────────────────────────────────────────────────────

class AccountOut(BaseModel):
    username: str
    display_name: str
    role: Role
    role_zh: str
    org_code: str | None
    org_name_zh: str | None
    active: bool
    must_change_password: bool = Field(description="the person must set a new password at "
                                       "the next sign-in (new account, or after a reset)")
    created_at: datetime
    created_by: str | None


def account_out(request: Request, account: Account) -> AccountOut:
    org = request.app.state.campaign.organization(account.org_code or "")
    return AccountOut(username=account.username, display_name=account.display_name,
                      role=account.role, role_zh=ROLE_LABELS_ZH[account.role],
                      org_code=account.org_code, org_name_zh=org.name_zh if org else None,
                      active=account.active, must_change_password=account.must_change_password,
                      created_at=account.created_at, created_by=account.created_by)


class AccountList(BaseModel):
    items: list[AccountOut]
    total: int
    limit: int
    offset: int


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64, examples=["handler-school2"])
    display_name: str = Field(max_length=200, description="the person's name 姓名")
    role: Role
    org_code: str | None = Field(None, max_length=64, description="required for a unit "
                                 "handler (a unit), a supervising body (a body) and the "
                                 "county office")


class TemporaryPasswordOut(BaseModel):
    account: AccountOut
    temporary_password: str = Field(description="shown this once: hand it to the person, "
                                    "who sets their own at the next sign-in")


class HeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100, description="姓名")
    title: str = Field(max_length=100, description="职务, e.g. 校长, 局长, 党委书记")
    account_username: str | None = Field(None, max_length=64,
                                         description="their account, if they have one")


class HeadOut(BaseModel):
    org_code: str
    name: str
    title: str
    account_username: str | None
    set_by: str
    set_at: datetime


class OrgHeadOut(BaseModel):
    org_code: str
    org_name_zh: str
    org_type: str
    current: HeadOut | None


class HeadHistoryOut(BaseModel):
    org_code: str
    org_name_zh: str
    current: HeadOut | None
    history: list[HeadOut] = Field(description="newest first; nothing is overwritten")


class EventOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    kind_zh: str
    actor: str | None
    account: str | None
    org_code: str | None
    detail: dict


class EventList(BaseModel):
    items: list[EventOut]
    total: int
    limit: int
    offset: int


def head_out(head: PrincipalHead | None) -> HeadOut | None:
    if head is None:
        return None
    return HeadOut(org_code=head.org_code, name=head.name, title=head.title,
                   account_username=head.account_username, set_by=head.set_by,
                   set_at=head.set_at)


REFUSALS = {403: {"description": "not the county office, or a role it may not manage "
                                 "(`role_not_manageable`)"},
            409: {"description": "`cannot_manage_self`, `username_taken`"},
            422: {"description": "a rule refused it; `field` names the input"}}
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Username = Annotated[str, Path(max_length=64)]


@router.get("/accounts", response_model=AccountList, dependencies=[allow(*ADMINS)],
            summary="Accounts (账号列表), filtered by organization, role and active")
async def list_accounts(request: Request, org: Annotated[str | None, Query(max_length=64)] = None,
                        role: Role | None = None, active: bool | None = None,
                        q: Annotated[str | None, Query(max_length=64)] = None,
                        limit: Limit = 50, offset: Offset = 0) -> AccountList:
    items, total = await run_in_threadpool(
        lambda: store_of(request).list_accounts(org_code=org, role=role.value if role else None,
                                                active=active, query=q, limit=limit,
                                                offset=offset))
    return AccountList(items=[account_out(request, a) for a in items], total=total, limit=limit,
                       offset=offset)


@router.post("/accounts", response_model=TemporaryPasswordOut, status_code=201,
             dependencies=[allow(*ADMINS)], responses=REFUSALS,
             summary="Create an account (创建账号) with a one-time temporary password")
async def create(body: AccountIn, request: Request, principal: PrincipalDep
                 ) -> TemporaryPasswordOut:
    """The person signs in with the temporary password once and must set their own
    (`password_change_required`). Units' handlers need a unit, supervising bodies a body."""
    try:
        account, temporary = await create_account(request, principal, body.username,
                                                  body.display_name, body.role.value,
                                                  body.org_code)
    except Refused as exc:
        raise as_http(exc) from None
    return TemporaryPasswordOut(account=account_out(request, account),
                                temporary_password=temporary)


@router.post("/accounts/{username}/reactivate", response_model=AccountOut,
             dependencies=[allow(*ADMINS)], responses={404: {"description": "no such account"},
                                                        **REFUSALS},
             summary="Reactivate an account (恢复账号): it signs in again")
async def reactivate(username: Username, request: Request, principal: PrincipalDep
                     ) -> AccountOut:
    try:
        return account_out(request, await set_active(request, principal, username, True))
    except Refused as exc:
        raise as_http(exc) from None


@router.post("/accounts/{username}/reset-password", response_model=TemporaryPasswordOut,
             dependencies=[allow(*ADMINS)], responses={404: {"description": "no such account"},
                                                        **REFUSALS},
             summary="Reset a password (重置密码): a one-time temporary password; the person "
                     "sets a new one at the next sign-in")
async def reset(username: Username, request: Request, principal: PrincipalDep
                ) -> TemporaryPasswordOut:
    """The old password, every token and every workbench session of the account stop
    working at once."""
    try:
        account, temporary = await reset_password(request, principal, username)
    except Refused as exc:
        raise as_http(exc) from None
    return TemporaryPasswordOut(account=account_out(request, account),
                                temporary_password=temporary)


@router.get("/accounts/import-template.xlsx", dependencies=[allow(*ADMINS)],
            response_class=Response,
            openapi_extra={"responses": {"200": {"content": {MEDIA_TYPES["xlsx"]: {}}}}},
            summary="The account import template (账号导入模板)")
async def import_template(request: Request) -> Response:
    body = await asyncio.to_thread(account_import.template, request.app.state.campaign)
    return Response(body, media_type=MEDIA_TYPES["xlsx"], headers={
        "Content-Disposition": "attachment; filename=\"account-import-template.xlsx\"; "
                               "filename*=UTF-8''%E8%B4%A6%E5%8F%B7%E5%AF%BC%E5%85%A5"
                               "%E6%A8%A1%E6%9D%BF.xlsx",
        "Cache-Control": "no-store"})


@router.post("/accounts/import", dependencies=[allow(*ADMINS)], openapi_extra={
    "requestBody": {"required": True, "content": {
        MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"},
            "import_valid_rows": {"type": "boolean"}}}}}}},
    summary="Import accounts from the .xlsx template (账号批量导入)")
async def import_(request: Request, principal: PrincipalDep,
                  import_valid_rows: bool = False) -> JSONResponse:
    """Each row checked like a new account. Any refused row: 422 `account_import_refused`
    with every refusal (row, column, bilingual message), nothing created, unless
    `import_valid_rows=true`. A row whose account exists with the same role and unit is
    listed in `existing`, not created again. 201 with each new account's temporary
    password (shown this once)."""
    data, asked = await uploaded_file(request)
    result = await import_accounts(request, principal, data, import_valid_rows or asked)
    return JSONResponse(status_code=201, content=result, headers={"Cache-Control": "no-store"})


@router.get("/principal-heads", response_model=list[OrgHeadOut],
            dependencies=[allow(*HEAD_READERS)],
            summary="Principal heads (主要负责同志/第一责任人) of every organization")
async def list_heads(request: Request) -> list[OrgHeadOut]:
    heads = await run_in_threadpool(store_of(request).principal_heads)
    return [OrgHeadOut(org_code=o.code, org_name_zh=o.name_zh, org_type=o.type,
                       current=head_out(heads.get(o.code)))
            for o in request.app.state.campaign.organizations]


def _org(request: Request, org_code: str):
    org = request.app.state.campaign.organization(org_code)
    if org is None:
        raise problem(404, "unknown_unit", "no such organization", "未知的单位", "org_code")
    return org


@router.get("/principal-heads/{org_code}", response_model=HeadHistoryOut,
            dependencies=[allow(*HEAD_READERS)],
            summary="An organization's principal head and every earlier one")
async def head_history(org_code: Annotated[str, Path(max_length=64)], request: Request
                       ) -> HeadHistoryOut:
    org = _org(request, org_code)
    history = await run_in_threadpool(store_of(request).principal_head_history, org.code)
    return HeadHistoryOut(org_code=org.code, org_name_zh=org.name_zh,
                          current=head_out(history[0] if history else None),
                          history=[head_out(h) for h in history])


@router.post("/principal-heads/{org_code}", response_model=HeadOut, status_code=201,
             dependencies=[allow(*ADMINS)], responses=REFUSALS,
             summary="Record an organization's principal head (设置主要负责同志); the one "
                     "before stays in the history")
async def set_head(org_code: Annotated[str, Path(max_length=64)], body: HeadIn,
                   request: Request, principal: PrincipalDep) -> HeadOut:
    _org(request, org_code)
    try:
        head = await set_principal_head(request, principal, org_code, body.name, body.title,
                                        body.account_username)
    except Refused as exc:
        raise as_http(exc) from None
    return head_out(head)


EventKind = Literal[tuple(admin.EVENT_KINDS)]  # type: ignore[valid-type]


@router.get("/account-events", response_model=EventList, dependencies=[allow(*ADMINS)],
            summary="Who did what (账号操作记录): account events, newest first")
async def events(request: Request,
                 account: Annotated[str | None, Query(max_length=64)] = None,
                 actor: Annotated[str | None, Query(max_length=64)] = None,
                 org: Annotated[str | None, Query(max_length=64)] = None,
                 kind: EventKind | None = None, limit: Limit = 50, offset: Offset = 0
                 ) -> EventList:
    """Created, deactivated, reactivated, password reset and changed, principal heads set,
    sign-ins and failed sign-ins. Staff actions on problems are in each problem's timeline
    (the ledger's hash-chained history)."""
    items, total = await run_in_threadpool(
        lambda: store_of(request).events(account=account, actor=actor, org_code=org, kind=kind,
                                         limit=limit, offset=offset))
    return EventList(items=[EventOut(**e, kind_zh=admin.EVENT_KINDS.get(e["kind"], ("", ""))[0])
                            for e in items], total=total, limit=limit, offset=offset)
