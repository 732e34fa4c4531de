"""The county office's pages for accounts and people (账号与人员): the account list with
filters, a new account, deactivate / reactivate / reset (each after a confirmation page), the
import from an .xlsx list with its per-row error report, the principal heads (主要负责同志,
第一责任人) and the activity (操作记录). Also the page where a person whose password was
reset sets a new one (设置新密码) before the workbench opens.

The use cases are the API's (``gateway.routes.accounts``); these routes only translate.
"""
from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.auth import admin
from gateway.auth.accounts import Account, AccountStore
from gateway.auth.roles import Role
from gateway.excel import account_import
from gateway.excel.export import MEDIA_TYPES
from gateway.routes import accounts as use
from gateway.workbench import session as sessions
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, local_path, principal_in, render
from gateway.workbench.texts import text

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
ADMINS = tuple(admin.ADMIN_ROLES)
PAGE_SIZE = 20
PENDING = "pwc"               # the session's "must set a new password" marker
PENDING_SECONDS = 10 * 60     # how long after the sign-in the new password may be set
OPS = ("deactivate", "reactivate", "reset")


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _store(request: Request) -> AccountStore:
    return request.app.state.accounts


def _orgs(request: Request) -> list[dict]:
    lang = lang_of(request)
    return [{"code": o.code, "name": o.name_en if lang == "en" else o.name_zh, "type": o.type}
            for o in request.app.state.campaign.organizations]


def _org_names(request: Request) -> dict[str, str]:
    return {o["code"]: o["name"] for o in _orgs(request)}


def _roles() -> list[Role]:
    return [r for r in Role if r is not Role.PUBLIC]


def _errors(refusals: list[admin.Refusal], lang: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for r in refusals:
        message = r.message if lang == "en" else r.message_zh
        found[r.field] = f"{found[r.field]} {message}" if r.field in found else message
    return found


def _flash(request: Request) -> str | None:
    return request.scope["session"].pop("acc_flash", None)


# ── the account list ─────────────────────────────────────────────────────────────────────────

@router.get("/accounts", dependencies=[allow(*ADMINS)])
async def account_list(request: Request, org: str = "", role: str = "", status: str = "",
                       q: str = "", page: int = 1):
    """账号列表 with filters (unit, role, status, name), 20 a page."""
    principal = principal_in(request)
    page = max(1, min(page, 50_000))
    role = role if role in {r.value for r in _roles()} else ""
    status = status if status in ("active", "inactive") else ""
    org, q = org[:64], q.strip()[:64]
    items, total = await run_in_threadpool(lambda: _store(request).list_accounts(
        org_code=org or None, role=role or None,
        active={"active": True, "inactive": False}.get(status), query=q or None,
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE))
    query = "&".join(f"{k}={v}" for k, v in (("org", org), ("role", role), ("status", status),
                                             ("q", q)) if v)
    return render(request, "accounts.html", principal=principal, items=items, total=total,
                  page=page, offset=(page - 1) * PAGE_SIZE, page_size=PAGE_SIZE, org=org,
                  role=role, account_status=status, q=q, query=query, orgs=_orgs(request),
                  org_names=_org_names(request), roles=_roles(),
                  manageable=admin.MANAGEABLE_ROLES, flash=_flash(request))


# ── a new account ────────────────────────────────────────────────────────────────────────────

def _new_form(request: Request, values: dict, errors: dict, status: int = 200):
    return render(request, "account_new.html", status=status, principal=principal_in(request),
                  values=values, errors=errors, orgs=_orgs(request),
                  roles=[r for r in _roles() if r in admin.MANAGEABLE_ROLES])


@router.get("/accounts/new", dependencies=[allow(*ADMINS)])
def new_account_page(request: Request):
    """新建账号: the form."""
    return _new_form(request, {}, {})


@router.post("/accounts/new", dependencies=[allow(*ADMINS)])
async def new_account(request: Request):
    """Create the account; the page shows its temporary password once."""
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()
              for k in ("username", "display_name", "role", "org_code")}
    try:
        account, temporary = await use.create_account(
            request, principal_in(request), values["username"], values["display_name"],
            values["role"], values["org_code"] or None)
    except use.Refused as exc:
        status = min(422, use.as_http(exc).status_code)
        return _new_form(request, values, _errors(exc.refusals, lang_of(request)),
                         status=status)
    return _temporary(request, account, temporary, "created")


def _temporary(request: Request, account: Account, temporary: str, why: str):
    return render(request, "account_temporary.html", status=201 if why == "created" else 200,
                  principal=principal_in(request), account=account, temporary=temporary,
                  why=why, org_names=_org_names(request))


# ── deactivate, reactivate, reset: a confirmation page, then the post ───────────────────────

async def _target(request: Request, username: str) -> Account:
    return await use.managed_account(request, principal_in(request), username)


def _op_routes(op: str) -> None:
    async def confirm(username: str, request: Request):
        try:
            account = await _target(request, username)
        except use.Refused as exc:
            raise use.as_http(exc) from None
        return render(request, "account_confirm.html", principal=principal_in(request),
                      account=account, op=op, org_names=_org_names(request))

    async def act(username: str, request: Request):
        principal = principal_in(request)
        try:
            if op == "reset":
                account, temporary = await use.reset_password(request, principal, username)
                return _temporary(request, account, temporary, "reset")
            account = await use.set_active(request, principal, username, op == "reactivate")
        except use.Refused as exc:
            raise use.as_http(exc) from None
        request.scope["session"]["acc_flash"] = text(f"acc.done.{op}", lang_of(request),
                                                     username=account.username)
        return see_other(f"{PREFIX}/accounts?q={account.username}")

    for endpoint, method in ((confirm, "GET"), (act, "POST")):
        endpoint.__name__ = f"account_{op}_{method.lower()}"
        router.add_api_route(f"/accounts/{{username}}/{op}", endpoint, methods=[method],
                             dependencies=[allow(*ADMINS)])


for _op in OPS:
    _op_routes(_op)


# ── the import ───────────────────────────────────────────────────────────────────────────────

@router.get("/accounts/import", dependencies=[allow(*ADMINS)])
def import_page(request: Request):
    """从表格批量导入: the template to download and the upload form."""
    return render(request, "account_import.html", principal=principal_in(request),
                  result=None, refused=None, message=None)


@router.get("/accounts/import-template.xlsx", dependencies=[allow(*ADMINS)])
async def import_template(request: Request):
    return await use.import_template(request)


@router.post("/accounts/import", dependencies=[allow(*ADMINS)])
async def import_post(request: Request):
    """The import's answer as a page: the per-row error report, or what was created."""
    lang = lang_of(request)
    try:
        data, valid_rows = await use.uploaded_file(request)
        result = await use.import_accounts(request, principal_in(request), data, valid_rows)
    except HTTPException as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        if exc.status_code >= 500 or "message_zh" not in detail:
            raise
        message = detail["message"] if lang == "en" else detail["message_zh"]
        refused = None
        if detail.get("code") == "account_import_refused":
            refused = {"rows": detail["rows"], "errors": detail["errors"],
                       "bad": len({e["row"] for e in detail["errors"]})}
            message = text("imp.refused", lang, rows=refused["rows"], bad=refused["bad"])
        return render(request, "account_import.html", status=exc.status_code,
                      principal=principal_in(request), result=None, refused=refused,
                      message=message)
    return render(request, "account_import.html", status=201, principal=principal_in(request),
                  result=result, refused=None, message=None, org_names=_org_names(request))


# ── principal heads (主要负责同志 / 第一责任人) ─────────────────────────────────────────────────

@router.get("/principal-heads", dependencies=[allow(*ADMINS)])
async def heads_page(request: Request):
    """Every organization with its current principal head."""
    heads = await run_in_threadpool(_store(request).principal_heads)
    return render(request, "heads.html", principal=principal_in(request), orgs=_orgs(request),
                  heads=heads)


def _head_page(request: Request, org: dict, history: list, values: dict, errors: dict,
               status: int = 200, flash: str | None = None):
    return render(request, "head.html", status=status, principal=principal_in(request),
                  org=org, history=history, values=values, errors=errors, flash=flash)


def _org_or_404(request: Request, org_code: str) -> dict:
    org = next((o for o in _orgs(request) if o["code"] == org_code), None)
    if org is None:
        raise HTTPException(404)
    return org


@router.get("/principal-heads/{org_code}", dependencies=[allow(*ADMINS)])
async def head_page(org_code: str, request: Request):
    """One organization's principal head, its history, and the form to record a new one."""
    org = _org_or_404(request, org_code)
    history = await run_in_threadpool(_store(request).principal_head_history, org["code"])
    return _head_page(request, org, history, {}, {},
                      flash=request.scope["session"].pop("acc_flash", None))


@router.post("/principal-heads/{org_code}", dependencies=[allow(*ADMINS)])
async def set_head(org_code: str, request: Request):
    org = _org_or_404(request, org_code)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("name", "title", "account_username")}
    try:
        await use.set_principal_head(request, principal_in(request), org["code"], values["name"],
                                     values["title"], values["account_username"] or None)
    except use.Refused as exc:
        history = await run_in_threadpool(_store(request).principal_head_history, org["code"])
        return _head_page(request, org, history, values,
                          _errors(exc.refusals, lang_of(request)), status=422)
    request.scope["session"]["acc_flash"] = text("heads.saved", lang_of(request))
    return see_other(f"{PREFIX}/principal-heads/{org['code']}")


# ── activity (操作记录) ────────────────────────────────────────────────────────────────────────

@router.get("/activity", dependencies=[allow(*ADMINS)])
async def activity(request: Request, account: str = "", org: str = "", kind: str = "",
                   page: int = 1):
    """Who did what, newest first, filtered by account, unit and kind; 20 a page."""
    page = max(1, min(page, 50_000))
    account, org = account.strip()[:64], org[:64]
    kind = kind if kind in admin.EVENT_KINDS else ""
    items, total = await run_in_threadpool(lambda: _store(request).events(
        account=account or None, org_code=org or None, kind=kind or None, limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE))
    query = "&".join(f"{k}={v}" for k, v in (("account", account), ("org", org),
                                             ("kind", kind)) if v)
    return render(request, "activity.html", principal=principal_in(request), items=items,
                  total=total, page=page, offset=(page - 1) * PAGE_SIZE, page_size=PAGE_SIZE,
                  account=account, org=org, kind=kind, kinds=admin.EVENT_KINDS, query=query,
                  orgs=_orgs(request), org_names=_org_names(request))


# ── setting a new password after a reset (设置新密码) ────────────────────────────────────────

def begin_password_change(request: Request, account: Account, next_path: str) -> Response:
    """After a sign-in with a temporary password: no session yet, only the right to set a
    new password for a few minutes (``PENDING``); then the workbench opens."""
    session = request.scope["session"]
    sessions.end(session)
    session[PENDING] = {"aid": account.id, "usr": account.username,
                        "ver": account.token_version, "at": int(time.time()),
                        "next": local_path(next_path)}
    return see_other(f"{PREFIX}/password")


def _pending(request: Request) -> dict | None:
    found = request.scope["session"].get(PENDING)
    if not isinstance(found, dict) or time.time() - found.get("at", 0) > PENDING_SECONDS:
        request.scope["session"].pop(PENDING, None)
        return None
    return found


def _password_form(request: Request, errors: dict, status: int = 200):
    return render(request, "password_change.html", status=status, errors=errors,
                  username=_pending(request)["usr"])


@router.get("/password", dependencies=[allow(Role.PUBLIC)])
def password_page(request: Request):
    if _pending(request) is None:
        return see_other(f"{PREFIX}/sign-in")
    return _password_form(request, {})


@router.post("/password", dependencies=[allow(Role.PUBLIC)])
async def set_password(request: Request):
    """The new password replaces the temporary one; the person is then signed in."""
    pending = _pending(request)
    if pending is None:
        return see_other(f"{PREFIX}/sign-in")
    lang = lang_of(request)
    form = await request.form()
    new, confirm = str(form.get("new_password") or ""), str(form.get("confirm") or "")
    refusal = admin.check_new_password(pending["usr"], "", new, confirm)
    if refusal is not None:
        return _password_form(request, _errors([refusal], lang), status=422)
    store = _store(request)
    current = await run_in_threadpool(store.get, pending["aid"])
    if (current is None or not current.active or not current.must_change_password
            or current.token_version != pending["ver"]):  # reset again or deactivated since
        request.scope["session"].pop(PENDING, None)
        return see_other(f"{PREFIX}/sign-in")
    if await use.hashing(request, store.check_password, current.username, new) is not None:
        return _password_form(request, {"new_password": text("pw.same_as_old", lang)},
                              status=422)
    account = await use.hashing(request, store.change_password, current.id, new)
    sessions.begin(request.scope["session"], account.principal(), account.display_name)
    return see_other(pending.get("next") or PREFIX)
