"""The workbench's notices (站内通知): one's inbox with read/unread and links to the problems,
one's notification preferences, and for ops the dead list of deliveries with replay. The
shell's navigation shows the unread count (``InboxBadge``). notify owns the data; every call
is about the signed-in person's own account."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from gateway.auth.roles import STAFF_ROLES, Role
from gateway.routes.notifications import PreferencesIn
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render

log = logging.getLogger("gateway.workbench.notices")
router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
INBOX = f"{PREFIX}/inbox"
DELIVERIES = f"{PREFIX}/ops/deliveries"
PAGE = 30
BADGE_TIMEOUT = 1.0


async def notify(request: Request, method: str, **kwargs):
    return await request.app.state.broker.call("notify", method, **kwargs)


@router.get("/inbox", dependencies=[allow(*STAFF_ROLES)])
async def inbox(request: Request, before: int | None = None, unread_only: str | None = None,
                saved: str | None = None):
    """我的通知: newest first, unread marked, each linking to its problem."""
    principal = principal_in(request)
    only = unread_only == "1"
    before = before if before and before > 0 else None
    box = await notify(request, "inbox", account_id=principal.account_id, limit=PAGE,
                       unread_only=only, before=before)
    prefs = await notify(request, "get_preferences", account_id=principal.account_id)
    older = box["items"][-1]["id"] if len(box["items"]) == PAGE else None
    return render(request, "notices.html", principal=principal, box=box, prefs=prefs,
                  unread_only=only, older=older, saved=saved == "1")


@router.post("/inbox/read", dependencies=[allow(*STAFF_ROLES)])
async def mark_read(request: Request):
    """Mark one notice read (``id``), or all of them."""
    principal = principal_in(request)
    form = await request.form()
    raw = str(form.get("id") or "")
    ids = [int(raw)] if raw.isdigit() else None
    await notify(request, "mark_read", account_id=principal.account_id, ids=ids)
    return RedirectResponse(INBOX, status_code=303)


@router.post("/inbox/preferences", dependencies=[allow(*STAFF_ROLES)])
async def save_preferences(request: Request):
    """Save email, quiet hours and digest (the webhook is set through the API)."""
    principal = principal_in(request)
    form = await request.form()
    address = str(form.get("email_address") or "").strip()
    try:
        body = PreferencesIn(email=form.get("email") == "1", quiet_hours=form.get(
            "quiet_hours") == "1", digest=form.get("digest") == "1",
            **({"email_address": address} if address else {}))
    except ValidationError:
        box = await notify(request, "inbox", account_id=principal.account_id, limit=PAGE)
        prefs = await notify(request, "get_preferences", account_id=principal.account_id)
        lang = lang_of(request)
        return render(request, "error.html", status=422, principal=principal,
                      message=("Enter an email address like name@example.org" if lang == "en"
                               else "请填写正确的电子邮件地址，如 name@example.org"),
                      box=box, prefs=prefs)
    changes = body.model_dump(exclude_unset=True)
    if "email_address" in changes:
        changes["email_address"] = str(changes["email_address"])
    await notify(request, "set_preferences", account_id=principal.account_id, changes=changes)
    return RedirectResponse(f"{INBOX}?saved=1", status_code=303)


@router.get("/ops/deliveries", dependencies=[allow(Role.OPS)])
async def dead_list(request: Request, replayed: int | None = None):
    """投递失败列表: deliveries whose retries are spent."""
    found = await notify(request, "deliveries", states=["dead"], limit=200)
    return render(request, "deliveries.html", principal=principal_in(request),
                  dead=found["items"], replayed=replayed)


@router.post("/ops/deliveries/{delivery_id}/replay", dependencies=[allow(Role.OPS)])
async def replay(request: Request, delivery_id: int):
    await notify(request, "replay", delivery_id=delivery_id)
    return RedirectResponse(f"{DELIVERIES}?replayed={delivery_id}", status_code=303)


class InboxBadge:
    """Puts the signed-in person's unread count where the shell's navigation finds it
    (``scope["state"]["nav_badges"]``), for workbench pages read with GET. Sits inside the
    workbench's session middleware; if notify does not answer soon, the page has no badge."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (scope["type"] == "http" and scope["method"] == "GET"
                and scope["path"].startswith(PREFIX) and not scope["path"].startswith(
                    f"{PREFIX}/sign-in")):
            account = (scope.get("session") or {}).get("aid")
            broker = getattr(scope["app"].state, "broker", None) if "app" in scope else None
            if account and broker is not None:
                try:
                    count = await broker.call("notify", "unread_count", account_id=str(account),
                                              timeout=BADGE_TIMEOUT)
                    scope.setdefault("state", {})["nav_badges"] = {INBOX: int(count)}
                except Exception as exc:  # noqa: BLE001 - a badge is not worth a failed page
                    log.debug("no unread badge: %s", exc)
        await self.app(scope, receive, send)
