"""The county office's pages for partner platforms (协作平台): the list, a new partner (its
API key shown once), a partner's page (channels and webhook), a new key (the old one stops
at once) and disabling or enabling it, each change after a confirmation page.

A partner is an account of role ``partner`` (``gateway.auth.accounts``) with its row in
``gateway.auth.partners``; disabling is the account's deactivation, recorded like any.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from gateway.auth import admin
from gateway.auth.partners import Partner, PartnerStore, check_partner, partner_channels
from gateway.open311.mapping import PREFIX as OPEN311
from gateway.routes import accounts as use
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from gateway.workbench.texts import text

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
ADMINS = tuple(admin.ADMIN_ROLES)
OPS = ("rotate", "disable", "enable")
FIELDS = ("username", "display_name", "webhook_url", "webhook_secret")


def _store(request: Request) -> PartnerStore:
    return request.app.state.partners


def _channels(request: Request) -> list[dict]:
    lang = lang_of(request)
    return [{"code": c.code, "name": c.name_en if lang == "en" else c.name_zh}
            for c in partner_channels(request.app.state.campaign)]


def _errors(refusals: list[admin.Refusal], lang: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for r in refusals:
        message = r.message if lang == "en" else r.message_zh
        found[r.field] = f"{found[r.field]} {message}" if r.field in found else message
    return found


def _values(form) -> tuple[dict, list[str]]:
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    return values, [str(c) for c in form.getlist("channels")]


async def _partner(request: Request, username: str) -> Partner:
    found = await run_in_threadpool(_store(request).get, username[:64])
    if found is None:
        raise HTTPException(404)
    return found


@router.get("/partners", dependencies=[allow(*ADMINS)])
async def partner_list(request: Request):
    """协作平台: every partner with its channels, key and state."""
    partners = await run_in_threadpool(_store(request).list)
    return render(request, "partners.html", principal=principal_in(request), partners=partners,
                  channel_names={c["code"]: c["name"] for c in _channels(request)},
                  open311=OPEN311, flash=request.scope["session"].pop("partner_flash", None))


def _new_form(request: Request, values: dict, chosen: list[str], errors: dict,
              status: int = 200):
    return render(request, "partner_new.html", status=status, principal=principal_in(request),
                  values=values, chosen=chosen, errors=errors, channels=_channels(request))


@router.get("/partners/new", dependencies=[allow(*ADMINS)])
def new_partner_page(request: Request):
    return _new_form(request, {}, [], {})


@router.post("/partners/new", dependencies=[allow(*ADMINS)])
async def new_partner(request: Request):
    """Create the partner; the page shows its API key once."""
    values, chosen = _values(await request.form())
    campaign, lang = request.app.state.campaign, lang_of(request)
    refusals = [r for r in [admin.check_username(values["username"])] if r]
    if not values["display_name"]:
        refusals.append(admin.Refusal("display_name", "invalid_input", "the name is required",
                                      "请填写平台名称"))
    refusals += await run_in_threadpool(  # the URL's host may be looked up
        check_partner, campaign, chosen, values["webhook_url"], values["webhook_secret"],
        webhook_policy=request.app.state.webhook_policy)
    store = _store(request)
    if not refusals and await run_in_threadpool(
            store.accounts.get_by_username, values["username"]) is not None:
        refusals.append(use._taken())
    if refusals:
        return _new_form(request, values, chosen, _errors(refusals, lang), status=422)
    actor = principal_in(request).username
    try:
        partner, key = await use.hashing(
            request, store.create, values["username"], values["display_name"], chosen,
            values["webhook_url"], values["webhook_secret"], actor)
    except ValueError:  # taken meanwhile (the unique index)
        return _new_form(request, values, chosen, _errors([use._taken()], lang), status=422)
    return _key_page(request, partner, key, "created")


def _key_page(request: Request, partner: Partner, key: str, why: str):
    return render(request, "partner_key.html", status=201 if why == "created" else 200,
                  principal=principal_in(request), partner=partner, key=key, why=why,
                  open311=OPEN311, headers={"Cache-Control": "no-store"})


def _page(request: Request, partner: Partner, values: dict, chosen: list[str], errors: dict,
          status: int = 200, flash: str | None = None):
    return render(request, "partner.html", status=status, principal=principal_in(request),
                  partner=partner, values=values, chosen=chosen, errors=errors,
                  channels=_channels(request), flash=flash)


@router.get("/partners/{username}", dependencies=[allow(*ADMINS)])
async def partner_page(username: str, request: Request):
    """A partner: its key (the first characters only), its settings and what may be done."""
    partner = await _partner(request, username)
    return _page(request, partner, {"webhook_url": partner.webhook_url or ""},
                 list(partner.channels), {},
                 flash=request.scope["session"].pop("partner_flash", None))


@router.post("/partners/{username}", dependencies=[allow(*ADMINS)])
async def configure_partner(username: str, request: Request):
    """Its channels and webhook (a blank secret keeps the one stored)."""
    partner = await _partner(request, username)
    values, chosen = _values(await request.form())
    refusals = await run_in_threadpool(
        check_partner, request.app.state.campaign, chosen, values["webhook_url"],
        values["webhook_secret"], webhook_policy=request.app.state.webhook_policy,
        secret_kept=partner.has_webhook_secret)
    if refusals:
        return _page(request, partner, values, chosen, _errors(refusals, lang_of(request)),
                     status=422)
    await run_in_threadpool(_store(request).configure, partner.account, chosen,
                            values["webhook_url"], values["webhook_secret"],
                            principal_in(request).username)
    request.scope["session"]["partner_flash"] = text("partner.saved", lang_of(request))
    return RedirectResponse(f"{PREFIX}/partners/{partner.account.username}", status_code=303)


def _op_routes(op: str) -> None:
    async def confirm(username: str, request: Request):
        partner = await _partner(request, username)
        return render(request, "partner_confirm.html", principal=principal_in(request),
                      partner=partner, op=op)

    async def act(username: str, request: Request):
        partner = await _partner(request, username)
        principal = principal_in(request)
        if op == "rotate":
            changed, key = await run_in_threadpool(_store(request).rotate_key, partner.account,
                                                   principal.username)
            return _key_page(request, changed, key, "rotated")
        try:
            await use.set_active(request, principal, partner.account.username, op == "enable")
        except use.Refused as exc:
            raise use.as_http(exc) from None
        request.scope["session"]["partner_flash"] = text(f"partner.done.{op}", lang_of(request))
        return RedirectResponse(f"{PREFIX}/partners/{partner.account.username}",
                                status_code=303)

    for endpoint, method in ((confirm, "GET"), (act, "POST")):
        endpoint.__name__ = f"partner_{op}_{method.lower()}"
        router.add_api_route(f"/partners/{{username}}/{op}", endpoint, methods=[method],
                             dependencies=[allow(*ADMINS)])


for _op in OPS:
    _op_routes(_op)
